"""Live etf_shares client on recorded payloads through ``httpx.MockTransport`` (no network, no sleeping).

Recorded payloads (tests/fixtures/etf/recorded/, written in the publishers' formats):
- ishares_SOXX_fund.xls: an 85 KB SOXX fund workbook (UTF-8 BOM, CRLF): Holdings, Historical with
  the 250 trading days of 2023 newest first (first data row ``Dec 29, 2023 | 598.61 | -- |
  19950000``), Performance;
- ishares_akamai_access_denied.html: the Akamai "Access Denied" page www.ishares.com serves bots;
- invesco_QQQ_navs.json: Invesco NAV history (3 days, 2026-08-05..07);
- vaneck_smh_page.html: the SMH fund page (NAV $614.02, 121,013,874 shares, as of August 7, 2026);
- vaneck_cloudflare_challenge.html, ssga_soft_404.html: error pages served with HTTP 200.
SSGA workbooks are built with openpyxl (tests.etf_builders.ssga_navhist).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path

import httpx
import pytest

from flows.config import BROWSER_USER_AGENT, get_settings
from flows.errors import ConfigError, FetchError
from flows.http import Fetcher, RetryPolicy, make_client
from flows.sources.etf import shares, shares_client
from flows.sources.live import LiveContext
from tests.etf_builders import ssga_navhist

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "etf" / "recorded"
ISHARES_URL = "https://www.ishares.com/us/products/239705/ishares-semiconductor-etf/1521942788811.ajax"
SSGA_XLK = "https://www.ssga.com/library-content/products/fund-data/etfs/us/navhist-us-en-xlk.xlsx"
SSGA_SPY = "https://www.ssga.com/library-content/products/fund-data/etfs/us/navhist-us-en-spy.xlsx"
INVESCO_URL = "https://dng-api.invesco.com/cache/v1/accounts/en_US/shareclasses/QQQ/navs"
VANECK_URL = "https://www.vaneck.com/us/en/investments/semiconductor-etf-smh/"
BLACKROCK = "https://www.blackrock.com/varnish-api/blk-one01-product-data/product-data/api/v1/get-fund-document"
UNIVERSE = {
    "SOXX": {"provider": "ishares", "product_id": "239705", "slug": "ishares-semiconductor-etf"},
    "XLK": {"provider": "ssga"},
    "QQQ": {"provider": "invesco", "id": "QQQ", "id_type": "ticker"},
    "SMH": {"provider": "vaneck", "slug": "semiconductor-etf-smh"},
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def recorded(name: str) -> bytes:
    return (RECORDED / name).read_bytes()


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s

    def clock(self) -> float:
        return self.now


def ok_routes() -> dict[str, httpx.Response]:
    xlk = ssga_navhist([("08-Mar-2024", 212.34, 340_210_000, 72_240_000_000.0)], ticker="XLK")
    return {
        ISHARES_URL: httpx.Response(200, content=recorded("ishares_SOXX_fund.xls"),
                                    headers={"Content-Type": "application/vnd.ms-excel"}),
        SSGA_XLK: httpx.Response(200, content=xlk, headers={"Content-Type": XLSX}),
        INVESCO_URL: httpx.Response(200, content=recorded("invesco_QQQ_navs.json"),
                                    headers={"Content-Type": "application/json"}),
        VANECK_URL: httpx.Response(200, content=recorded("vaneck_smh_page.html"),
                                   headers={"Content-Type": "text/html"}),
    }  # fmt: skip


class Server:
    """Answers by URL (without query); records every request."""

    def __init__(self, routes: dict[str, httpx.Response | list[httpx.Response]]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = str(request.url.copy_with(query=None))
        answer = self.routes.get(key, httpx.Response(404, text="not found"))
        if isinstance(answer, list):
            answer = answer.pop(0) if len(answer) > 1 else answer[0]
        return answer


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    for var in ("FLOWSCOPE_USER_AGENT", "FLOWSCOPE_CONFIG_DIR"):
        monkeypatch.delenv(var, raising=False)
    return get_settings()


def fetcher_for(server: Server, settings, fake: FakeTime, pace: float = shares_client.PACE_S) -> Fetcher:  # type: ignore[no-untyped-def]
    client = make_client(settings, transport=httpx.MockTransport(server))
    policy = RetryPolicy(attempts=3, base_s=1.0)
    return Fetcher(client, dataset="etf_shares", policy=policy, min_interval_s=pace, sleep=fake.sleep,
                   clock=fake.clock, rng=lambda: 0.0)  # fmt: skip


def test_every_provider_is_fetched_with_its_url_headers_and_hints(settings, fake) -> None:  # type: ignore[no-untyped-def]
    server = Server(ok_routes())
    rejected: list = []
    payloads, notes = shares_client.fetch(fetcher_for(server, settings, fake), list(UNIVERSE.items()), rejected)
    assert notes == [] and rejected == []
    assert [(p.hints["symbol"], p.hints["provider"], p.live) for p in payloads] == [
        ("SOXX", "ishares", True), ("XLK", "ssga", True), ("QQQ", "invesco", True), ("SMH", "vaneck", True),
    ]  # fmt: skip
    ish, ssga, inv, van = server.requests
    assert ish.url.params["fileType"] == "xls" and ish.url.params["fileName"] == "SOXX_fund"
    assert ish.headers["Referer"] == "https://www.ishares.com/us/products/239705/ishares-semiconductor-etf"
    assert ish.headers["User-Agent"] == BROWSER_USER_AGENT
    assert str(ssga.url) == SSGA_XLK  # ticker in lower case
    assert dict(inv.url.params) == {"idType": "ticker", "productType": "ETF"}
    assert str(van.url) == VANECK_URL


def test_funds_are_paced_one_second_apart(settings, fake) -> None:  # type: ignore[no-untyped-def]
    server = Server(ok_routes())
    shares_client.fetch(fetcher_for(server, settings, fake), list(UNIVERSE.items()), [])
    assert fake.sleeps == [1.0, 1.0, 1.0]


def test_fetched_payloads_parse_into_rows(settings, fake) -> None:  # type: ignore[no-untyped-def]
    payloads, _ = shares_client.fetch(fetcher_for(Server(ok_routes()), settings, fake), list(UNIVERSE.items()), [])
    frames = {p.hints["symbol"]: shares.parse(p).frame for p in payloads}
    soxx = frames["SOXX"].sort("date", descending=True)
    assert soxx.height == 250 and soxx.row(0, named=True)["date"] == date(2023, 12, 29)
    assert (soxx["shares_outstanding"][0], soxx["nav_usd"][0]) == (19_950_000, 598.61)
    assert frames["XLK"].select("date", "shares_outstanding").rows() == [(date(2024, 3, 8), 340_210_000)]
    assert frames["QQQ"]["nav_usd"].to_list() == [574.6318, 573.4866, 577.499]
    assert frames["SMH"].select("date", "shares_outstanding", "nav_usd").rows() == [
        (date(2026, 8, 7), 121_013_874, 614.02)
    ]


def test_ishares_blocked_by_akamai_falls_back_to_blackrock(settings, fake) -> None:  # type: ignore[no-untyped-def]
    routes = ok_routes()
    routes[ISHARES_URL] = httpx.Response(403, content=recorded("ishares_akamai_access_denied.html"))
    routes[BLACKROCK] = httpx.Response(200, content=recorded("ishares_SOXX_fund.xls"))
    server = Server(routes)
    [p], notes = shares_client.fetch(fetcher_for(server, settings, fake), [("SOXX", UNIVERSE["SOXX"])], [])
    assert notes == [] and p.origin.startswith(BLACKROCK)
    assert server.requests[1].url.params["portfolioId"] == "239705"
    assert server.requests[1].url.params["component"] == "fundDownload"


def test_ishares_error_page_on_both_hosts_is_refused_and_kept(settings, fake) -> None:  # type: ignore[no-untyped-def]
    page = recorded("ishares_akamai_access_denied.html")
    routes = ok_routes()
    routes[ISHARES_URL] = httpx.Response(200, content=page, headers={"Content-Type": "text/html"})
    routes[BLACKROCK] = httpx.Response(200, content=page, headers={"Content-Type": "text/html"})
    rejected: list = []
    payloads, notes = shares_client.fetch(fetcher_for(Server(routes), settings, fake), list(UNIVERSE.items()), rejected)
    assert [p.hints["symbol"] for p in payloads] == ["XLK", "QQQ", "SMH"]  # the other funds go on
    assert [p.content for p in rejected] == [page]
    assert len(notes) == 1 and notes[0].startswith("refused: SOXX (ishares): ") and f"{len(page)} bytes" in notes[0]


def test_ishares_error_page_is_kept_even_when_the_fallback_host_is_down(settings, fake) -> None:  # type: ignore[no-untyped-def]
    page = recorded("ishares_akamai_access_denied.html")
    routes = {ISHARES_URL: httpx.Response(200, content=page), BLACKROCK: httpx.Response(404)}
    rejected: list = []
    with pytest.raises(FetchError, match=r"no fund could be fetched: refused: SOXX \(ishares\): .*bytes.*HTTP 404"):
        shares_client.fetch(fetcher_for(Server(routes), settings, fake), [("SOXX", UNIVERSE["SOXX"])], rejected)
    assert [p.content for p in rejected] == [page]


def test_ishares_body_under_the_size_floor_is_refused(settings, fake) -> None:  # type: ignore[no-untyped-def]
    small = (RECORDED.parent / "SOXX_fund.xls").read_bytes()  # a valid 4 KB workbook, but no history
    routes = {ISHARES_URL: httpx.Response(200, content=small), BLACKROCK: httpx.Response(200, content=small)}
    rejected: list = []
    with pytest.raises(FetchError, match="no fund could be fetched"):
        shares_client.fetch(fetcher_for(Server(routes), settings, fake), [("SOXX", UNIVERSE["SOXX"])], rejected)
    assert len(rejected) == 1
    payloads, _ = shares_client.fetch(
        fetcher_for(Server(routes), settings, fake), [("SOXX", UNIVERSE["SOXX"])], [], min_bytes=1000
    )
    assert len(payloads) == 1


@pytest.mark.parametrize(
    ("symbol", "url", "body", "why"),
    [
        ("XLK", SSGA_XLK, "ssga_soft_404.html", "not an xlsx"),
        ("SMH", VANECK_URL, "vaneck_cloudflare_challenge.html", "no NAV/Shares Outstanding items"),
        ("QQQ", INVESCO_URL, "ssga_soft_404.html", "not a NAV history JSON"),
    ],
)
def test_html_served_with_200_is_refused_per_provider(settings, fake, symbol, url, body, why) -> None:  # type: ignore[no-untyped-def]
    routes = ok_routes()
    routes[url] = httpx.Response(200, content=recorded(body), headers={"Content-Type": "text/html"})
    rejected: list = []
    payloads, notes = shares_client.fetch(fetcher_for(Server(routes), settings, fake), list(UNIVERSE.items()), rejected)
    assert symbol not in [p.hints["symbol"] for p in payloads] and len(payloads) == 3
    assert len(rejected) == 1 and why in notes[0]


def test_server_errors_are_retried_then_succeed(settings, fake) -> None:  # type: ignore[no-untyped-def]
    routes = ok_routes()
    routes[SSGA_XLK] = [httpx.Response(503), routes[SSGA_XLK]]
    server = Server(routes)
    payloads, notes = shares_client.fetch(fetcher_for(server, settings, fake, pace=0), [("XLK", UNIVERSE["XLK"])], [])
    assert len(payloads) == 1 and notes == [] and len(server.requests) == 2
    assert fake.sleeps == [0.5]  # one backoff: base 1.0 s with "equal jitter" at its minimum (half)


def test_a_failing_fund_is_a_note_and_all_failing_is_an_error(settings, fake) -> None:  # type: ignore[no-untyped-def]
    routes = ok_routes()
    routes[SSGA_XLK] = httpx.Response(404)
    payloads, notes = shares_client.fetch(fetcher_for(Server(routes), settings, fake), list(UNIVERSE.items()), [])
    assert len(payloads) == 3 and notes == [f"failed: etf_shares: GET {SSGA_XLK}: HTTP 404 Not Found"]
    with pytest.raises(FetchError, match=r"no fund could be fetched: failed: .*HTTP 404"):
        shares_client.fetch(fetcher_for(Server({}), settings, fake), [("XLK", UNIVERSE["XLK"])], [])


def test_funds_come_from_the_universe(settings) -> None:  # type: ignore[no-untyped-def]
    selected, notes = shares_client.funds(settings)
    assert [s for s, _ in selected] == ["SMH", "SOXX", "QQQ", "XLK", "SPY"]  # etfs, then the market ETF
    assert dict(selected)["SOXX"] == {
        "provider": "ishares",
        "product_id": "239705",
        "slug": "ishares-semiconductor-etf",
    }
    assert notes == []


def test_unknown_provider_and_unmapped_etf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "universe.yaml").write_text(
        yaml.safe_dump({"etfs": ["SMH", "IGV"], "etf_share_sources": {"SMH": {"provider": "blackrock"}}})
    )
    monkeypatch.setenv("FLOWSCOPE_CONFIG_DIR", str(cfg))
    with pytest.raises(ConfigError, match=r"etf_share_sources\.SMH\.provider must be one of"):
        shares_client.funds()
    (cfg / "universe.yaml").write_text(yaml.safe_dump({"etfs": ["IGV"], "etf_share_sources": {}}))
    assert shares_client.funds() == ([], ["IGV: no provider in etf_share_sources (config/universe.yaml), skipped"])


def test_live_context_runs_every_configured_fund(settings, fake, warehouse) -> None:  # type: ignore[no-untyped-def]
    from flows.warehouse import connect_write

    routes = ok_routes()
    routes[SSGA_SPY] = httpx.Response(
        200, content=ssga_navhist([("08-Mar-2024", 510.0, 1_000_000, 5.1e8)], ticker="SPY")
    )
    server = Server(routes)
    make: Callable[..., httpx.Client] = lambda s, headers=None: make_client(  # noqa: E731
        s, headers=headers, transport=httpx.MockTransport(server)
    )
    con = connect_write(warehouse)
    try:
        ctx = LiveContext(shares.SPEC, con, date(2026, 8, 10), settings, make,
                          partial(Fetcher, sleep=fake.sleep, clock=fake.clock))  # fmt: skip
        payloads, notes = shares_client.live(ctx)
    finally:
        con.close()
    assert [p.hints["symbol"] for p in payloads] == ["SMH", "SOXX", "QQQ", "XLK", "SPY"] and notes == []
    assert fake.sleeps == [shares_client.PACE_S] * 4
