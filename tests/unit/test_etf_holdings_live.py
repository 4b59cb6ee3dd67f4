"""Live ETF holdings fetchers on recorded payloads through ``httpx.MockTransport`` (no network).

Recorded bodies (written in the issuers' formats, tests/fixtures/etf_holdings/):
- ``SOXX_holdings_2023_layout.csv`` as iShares' answer for ``asOfDate=20261119``;
  ``SOXX_holdings_template_not_available.csv`` as its HTTP 200 answer for a date without a file;
- ``SMH_vaneck_holdings.json`` (VanEck GetDataset), ``QQQ_invesco_holdings.json`` (dng-api);
- the SSGA workbook from ``tests.etf_holdings_xlsx``;
- ``AKAMAI_PAGE`` / ``VANECK_PAGE`` below: the HTML pages blocked or cookie-less clients get.
No sleeping: the fetcher's sleep and clock are fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import duckdb
import httpx
import pytest

from flows.config import get_settings
from flows.errors import FetchError, PayloadError
from flows.http import Fetcher, RetryPolicy, make_client
from flows.loader import ingest
from flows.sources.etf import holdings_client as hc
from flows.sources.etf.holdings import SPEC
from flows.sources.live import LiveContext
from flows.warehouse import connect_write
from tests.conftest import fixture_bytes
from tests.etf_holdings_xlsx import ssga_holdings_xlsx

ISHARES_FILE = fixture_bytes("etf_holdings", "SOXX_holdings_2023_layout.csv")
ISHARES_TEMPLATE = fixture_bytes("etf_holdings", "SOXX_holdings_template_not_available.csv")
VANECK = fixture_bytes("etf_holdings", "SMH_vaneck_holdings.json")
INVESCO = fixture_bytes("etf_holdings", "QQQ_invesco_holdings.json")
SSGA = ssga_holdings_xlsx()
AKAMAI_PAGE = b"<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\nReference&#32;&#35;18.1c</BODY>\n</HTML>\n"
VANECK_PAGE = b"<!DOCTYPE html>\n<html lang='en'><head><title>Cookies disabled | VanEck</title></head></html>"
SOXX = {"issuer": "ishares", "product_id": "239705", "slug": "fund"}
AS_OF = date(2026, 11, 20)


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s

    def clock(self) -> float:
        return self.now


class Server:
    """Routes requests to recorded bodies; keeps every request for assertions."""

    def __init__(self, routes: dict[str, Callable[[httpx.Request], httpx.Response]]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for host, handler in self.routes.items():
            if request.url.host == host:
                return handler(request)
        return httpx.Response(404, text="not found")


def ishares_by_date(files: dict[str, bytes]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        body = files.get(request.url.params["asOfDate"], ISHARES_TEMPLATE)
        return httpx.Response(200, content=body, headers={"Content-Type": "text/csv"})

    return handler


def ok(body: bytes, ctype: str = "application/json") -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(200, content=body, headers={"Content-Type": ctype})


ALL_ISSUERS = {
    "www.ishares.com": ishares_by_date({"20261119": ISHARES_FILE}),
    "www.vaneck.com": ok(VANECK),
    "dng-api.invesco.com": ok(INVESCO),
    "www.ssga.com": ok(SSGA, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def fetcher_for(server: Server, fake: FakeTime, attempts: int = 2) -> Fetcher:
    http = make_client(get_settings(), transport=httpx.MockTransport(server))
    return Fetcher(
        http,
        dataset="etf_holdings",
        policy=RetryPolicy(attempts=attempts, base_s=1.0),
        min_interval_s=1.0,
        sleep=fake.sleep,
        clock=fake.clock,
        rng=lambda: 0.0,
    )


def context(con: duckdb.DuckDBPyConnection, server: Server, fake: FakeTime) -> LiveContext:
    def client(settings, **kw):  # type: ignore[no-untyped-def]
        return make_client(settings, transport=httpx.MockTransport(server), **kw)

    def fetcher(http, **kw):  # type: ignore[no-untyped-def]
        return Fetcher(http, policy=RetryPolicy(attempts=2), sleep=fake.sleep, clock=fake.clock, **kw)

    return LiveContext(SPEC, con, AS_OF, get_settings(), client, fetcher)


# --- iShares ------------------------------------------------------------------------------------


def test_ishares_params_are_exact():
    assert hc.ishares_params("SOXX", date(2026, 11, 19)) == {
        "fileType": "csv", "fileName": "SOXX_holdings", "dataType": "fund", "asOfDate": "20261119",
    }  # fmt: skip


def test_ishares_template_is_recognised_and_a_file_is_not():
    assert hc.is_ishares_template(ISHARES_TEMPLATE)
    assert not hc.is_ishares_template(ISHARES_FILE)


def test_ishares_fetch_skips_dates_without_a_file_and_keeps_the_others(fake):
    server = Server({"www.ishares.com": ishares_by_date({"20261119": ISHARES_FILE})})
    days = [date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20)]
    payloads, missing = hc.fetch_ishares(fetcher_for(server, fake), "SOXX", SOXX, days)
    assert missing == [date(2026, 11, 18), date(2026, 11, 20)]
    assert [p.content for p in payloads] == [ISHARES_FILE]
    assert payloads[0].live and payloads[0].hints == {
        "etf": "SOXX",
        "issuer": "ishares",
        "requested_as_of": "2026-11-19",
    }
    req = server.requests[1]
    assert str(req.url) == (
        "https://www.ishares.com/us/products/239705/fund/1467271812596.ajax"
        "?fileType=csv&fileName=SOXX_holdings&dataType=fund&asOfDate=20261119"
    )
    assert req.headers["Referer"] == "https://www.ishares.com/us/products/239705/fund"
    assert req.headers["User-Agent"].startswith("Mozilla/5.0")
    assert fake.sleeps == [1.0, 1.0]  # one request a second


def test_ishares_five_trading_days_in_a_row_without_a_file_is_an_error(fake):
    server = Server({"www.ishares.com": ishares_by_date({})})
    days = [date(2026, 11, d) for d in (16, 17, 18, 19, 20)]
    with pytest.raises(
        FetchError, match=r"SOXX: no iShares holdings file for 5 trading days in a row up to 2026-11-20"
    ):
        hc.fetch_ishares(fetcher_for(server, fake), "SOXX", SOXX, days)


def test_ishares_akamai_block_page_is_refused_with_its_body(fake):
    server = Server({"www.ishares.com": ok(AKAMAI_PAGE, "text/html")})
    with pytest.raises(PayloadError, match=r"HTML/XML page, not data .'Access Denied'") as err:
        hc.fetch_ishares(fetcher_for(server, fake), "SOXX", SOXX, [date(2026, 11, 19)])
    assert err.value.payload.content == AKAMAI_PAGE  # type: ignore[attr-defined]


def test_ishares_days_follow_the_newest_stored_file():
    assert hc.ishares_days(date(2026, 11, 17), AS_OF) == [date(2026, 11, 18), date(2026, 11, 19), AS_OF]
    assert hc.ishares_days(None, AS_OF) == [date(2026, 11, d) for d in (13, 16, 17, 18, 19, 20)]
    # an old import does not start a backfill from 2023: two weeks back at most, ten requests at most
    old = hc.ishares_days(date(2023, 10, 24), AS_OF)
    assert len(old) == 10 and old[0] == date(2026, 11, 9) and old[-1] == AS_OF
    # Thanksgiving week: the holiday is never asked for
    assert hc.ishares_days(date(2026, 11, 24), date(2026, 11, 27)) == [date(2026, 11, 25), date(2026, 11, 27)]


# --- VanEck, Invesco, SSGA ----------------------------------------------------------------------


def test_vaneck_request_carries_block_page_and_ticker(fake):
    server = Server({"www.vaneck.com": ok(VANECK)})
    p = hc.fetch_vaneck(fetcher_for(server, fake), "SMH", {"block_id": "144458", "page_id": "233107"})
    assert str(server.requests[0].url) == (
        "https://www.vaneck.com/Main/HoldingsBlock/GetDataset/?blockId=144458&pageId=233107&ticker=SMH"
    )
    assert server.requests[0].headers["Accept"] == "application/json"
    assert p.content == VANECK and p.hints == {"etf": "SMH", "issuer": "vaneck"}


def test_vaneck_html_page_instead_of_json_is_refused(fake):
    server = Server({"www.vaneck.com": ok(VANECK_PAGE, "text/html")})
    with pytest.raises(PayloadError, match="Cookies disabled") as err:
        hc.fetch_vaneck(fetcher_for(server, fake), "SMH", {"block_id": "144458", "page_id": "233107"})
    assert err.value.payload.content == VANECK_PAGE  # type: ignore[attr-defined]


def test_invesco_asks_by_cusip_when_configured_else_by_ticker(fake):
    server = Server({"dng-api.invesco.com": ok(INVESCO)})
    f = fetcher_for(server, fake)
    hc.fetch_invesco(f, "QQQ", {"cusip": "46090E103"})
    hc.fetch_invesco(f, "QQQ", {})
    assert [str(r.url) for r in server.requests] == [
        "https://dng-api.invesco.com/cache/v1/accounts/en_US/shareclasses/46090E103/holdings/fund"
        "?idType=cusip&productType=ETF",
        "https://dng-api.invesco.com/cache/v1/accounts/en_US/shareclasses/QQQ/holdings/fund"
        "?idType=ticker&productType=ETF",
    ]


def test_invesco_retries_a_503_then_gets_the_file(fake):
    answers = iter([httpx.Response(503, headers={"Retry-After": "7"}), httpx.Response(200, content=INVESCO)])
    server = Server({"dng-api.invesco.com": lambda request: next(answers)})
    p = hc.fetch_invesco(fetcher_for(server, fake), "QQQ", {"cusip": "46090E103"})
    assert p.content == INVESCO and len(server.requests) == 2 and 7.0 in fake.sleeps


def test_ssga_url_is_lower_case_and_a_non_workbook_is_refused(fake):
    server = Server({"www.ssga.com": ok(SSGA)})
    p = hc.fetch_ssga(fetcher_for(server, fake), "XLK", {})
    assert str(server.requests[0].url) == (
        "https://www.ssga.com/library-content/products/fund-data/etfs/us/holdings-daily-us-en-xlk.xlsx"
    )
    assert p.content == SSGA
    bad = Server({"www.ssga.com": ok(b"Name,Ticker\nAPPLE,AAPL\n", "text/csv")})
    with pytest.raises(PayloadError, match=r"expected an xlsx workbook \(zip\)"):
        hc.fetch_ssga(fetcher_for(bad, fake), "XLK", {})


# --- the daily run ------------------------------------------------------------------------------


def test_live_fetches_every_universe_etf_and_the_payloads_load(warehouse, fake):
    con = connect_write(warehouse)
    try:
        server = Server(ALL_ISSUERS)
        ctx = context(con, server, fake)
        payloads, notes = hc.live(ctx)
        assert sorted(p.hints["etf"] for p in payloads) == ["QQQ", "SMH", "SOXX", "XLK"]
        assert notes == ["SOXX: no iShares file yet for 2026-11-13, 2026-11-16, 2026-11-17, 2026-11-18, 2026-11-20"]
        results = ingest(con, SPEC, payloads, warehouse.raw_dir, load_date=AS_OF)
        assert {r.outcome for r in results} == {"loaded"}, [r.message for r in results]
        got = con.execute(
            "select etf, as_of_date, weight_frac from analytics.etf_holdings where symbol = 'NVDA' order by etf"
        ).fetchall()
        assert got == [
            ("QQQ", date(2026, 9, 4), 0.40),
            ("SMH", date(2026, 11, 19), 0.40),
            ("SOXX", date(2026, 11, 19), 0.30),
            ("XLK", date(2025, 11, 18), 0.1459997),
        ]
        # the next run asks iShares only for the days after the stored 2026-11-19 file
        server.requests.clear()
        hc.live(ctx)
        asked = [r.url.params["asOfDate"] for r in server.requests if r.url.host == "www.ishares.com"]
        assert asked == ["20261120"]
    finally:
        con.close()


def test_one_issuer_failing_is_a_note_and_its_body_is_kept(warehouse, fake):
    con = connect_write(warehouse)
    try:
        ctx = context(con, Server(ALL_ISSUERS | {"www.vaneck.com": ok(VANECK_PAGE, "text/html")}), fake)
        payloads, notes = hc.live(ctx)
        assert sorted(p.hints["etf"] for p in payloads) == ["QQQ", "SOXX", "XLK"]
        assert any(
            n.startswith("failed: etf_holdings: https://www.vaneck.com/") and "Cookies disabled" in n for n in notes
        )
        assert [p.content for p in ctx.rejected] == [VANECK_PAGE]
    finally:
        con.close()


def test_every_issuer_failing_fails_the_dataset(warehouse, fake):
    con = connect_write(warehouse)
    try:
        down = {host: (lambda request: httpx.Response(500)) for host in ALL_ISSUERS}
        with pytest.raises(FetchError, match=r"HTTP 500 after 2 attempts.*HTTP 500 after 2 attempts"):
            hc.live(context(con, Server(down), fake))
    finally:
        con.close()
