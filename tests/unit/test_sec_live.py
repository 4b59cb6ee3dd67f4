"""Live SEC client (flows.sources.sec.client) on recorded payloads through respx.

Bodies come from ``tests/fixtures/sec/``: companyfacts JSONs in SEC's structure, ``company_tickers.json``,
``sec_403_rate_limit.html`` (the page SEC serves with HTTP 403 "Request Rate Threshold Exceeded" /
"Undeclared Automated Tool"), ``sec_404_nosuchkey.xml`` (data.sec.gov's answer for a CIK without
XBRL facts) and an HTML maintenance page served with 200. No sleeping: clock and sleep are injected.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import date

import pytest
import respx

from flows.config import BROWSER_USER_AGENT, REPO_ROOT, get_settings
from flows.errors import ConfigError, FetchError
from flows.http import Fetcher, make_client
from flows.sources.sec import client, facts
from tests.conftest import fixture_bytes

CONTACT = "flowscope research contact@example.org"
FACTS_URL = "https://data.sec.gov/api/xbrl/companyfacts/CIK{}.json"
JSON = {"Content-Type": "application/json"}


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as r:
        yield r


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    for var in ("FLOWSCOPE_USER_AGENT", client.UA_ENV, "FLOWSCOPE_CONFIG_DIR"):
        monkeypatch.delenv(var, raising=False)
    return get_settings()


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@pytest.fixture
def fetcher(settings, fake) -> Iterator[Fetcher]:  # type: ignore[no-untyped-def]
    with make_client(settings, headers=client.sec_headers(settings)) as http:
        yield Fetcher(
            http, dataset="sec_facts", min_interval_s=client.MIN_INTERVAL_S, sleep=fake.sleep, clock=fake.clock
        )


def test_user_agent_is_the_declared_contact_and_the_environment_overrides_it(settings, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    assert client.sec_user_agent(settings) == CONTACT
    monkeypatch.setenv(client.UA_ENV, "Acme Research ops@acme.example")
    assert client.sec_user_agent(settings) == "Acme Research ops@acme.example"
    monkeypatch.delenv(client.UA_ENV)
    (tmp_path / "universe.yaml").write_text("tickers: [NVDA]\n")
    monkeypatch.setenv("FLOWSCOPE_CONFIG_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="declared User-Agent with a contact e-mail"):
        client.sec_user_agent(get_settings())
    monkeypatch.setenv(client.UA_ENV, "flowscope")  # no address
    with pytest.raises(ConfigError, match="got 'flowscope'"):
        client.sec_user_agent(get_settings())


def test_requests_carry_the_declared_user_agent_and_ask_for_gzip(router, fetcher) -> None:  # type: ignore[no-untyped-def]
    route = router.get(FACTS_URL.format("0001045810")).respond(
        200, content=fixture_bytes("sec", "companyfacts_CIK0001045810_nvidia_trimmed.json"), headers=JSON
    )
    payloads, notes = client.fetch_companyfacts(fetcher, {"NVDA": "1045810"})
    sent = route.calls.last.request.headers
    assert sent["User-Agent"] == CONTACT and sent["User-Agent"] != BROWSER_USER_AGENT
    assert "gzip" in sent["Accept-Encoding"]
    assert notes == [] and [p.hints for p in payloads] == [{"ticker": "NVDA", "cik": "0001045810"}]
    assert payloads[0].live and payloads[0].origin == FACTS_URL.format("0001045810")


def test_a_gzip_encoded_answer_is_decoded_before_parsing(router, fetcher) -> None:  # type: ignore[no-untyped-def]
    body = fixture_bytes("sec", "companyfacts_CIK0000320193_apple_excerpt.json")
    router.get(FACTS_URL.format("0000320193")).respond(
        200, content=gzip.compress(body), headers={**JSON, "Content-Encoding": "gzip"}
    )
    payloads, _ = client.fetch_companyfacts(fetcher, {"AAPL": "320193"})
    assert payloads[0].content == body
    assert facts.parse(payloads[0]).frame["ticker"].unique().to_list() == ["AAPL"]


def test_requests_are_paced_below_ten_a_second(router, fetcher, fake) -> None:  # type: ignore[no-untyped-def]
    body = fixture_bytes("sec", "companyfacts_CIK0001045810_nvidia_trimmed.json")
    router.get(url__regex=r"https://data\.sec\.gov/api/xbrl/companyfacts/CIK\d{10}\.json").respond(
        200, content=body, headers=JSON
    )
    payloads, _ = client.fetch_companyfacts(fetcher, {"A": "1", "B": "2", "C": "3", "D": "4"})
    assert len(payloads) == 4 and len(router.calls) == 4
    assert fake.sleeps == pytest.approx([client.MIN_INTERVAL_S] * 3)  # 4 requests take >= 0.36 s
    assert client.MIN_INTERVAL_S >= 0.1


def test_sec_403_rate_limit_page_stops_the_run_with_a_clear_error(router, fetcher, fake) -> None:  # type: ignore[no-untyped-def]
    limited = router.get(FACTS_URL.format("0000002488")).respond(
        403, content=fixture_bytes("sec", "sec_403_rate_limit.html"), headers={"Content-Type": "text/html"}
    )
    other = router.get(FACTS_URL.format("0001045810")).respond(200, content=b"{}", headers=JSON)
    with pytest.raises(FetchError, match=r"SEC rate limiting.*403 'Request Rate Threshold Exceeded'.*10 minutes"):
        client.fetch_companyfacts(fetcher, {"AMD": "2488", "NVDA": "1045810"})
    assert limited.call_count == 1 and other.call_count == 0  # no retry, nothing after it
    assert fake.sleeps == []


def test_any_other_403_is_reported_with_the_user_agent_sent(router, fetcher) -> None:  # type: ignore[no-untyped-def]
    router.get(FACTS_URL.format("0000002488")).respond(403, content=b"<html><body>Forbidden</body></html>")
    with pytest.raises(FetchError, match=rf"HTTP 403 Forbidden.*sent User-Agent '{CONTACT}'"):
        client.fetch_companyfacts(fetcher, {"AMD": "2488"})


def test_a_company_without_facts_is_a_note_and_the_others_go_on(router, fetcher) -> None:  # type: ignore[no-untyped-def]
    router.get(FACTS_URL.format("0001513845")).respond(
        404, content=fixture_bytes("sec", "sec_404_nosuchkey.xml"), headers={"Content-Type": "application/xml"}
    )
    router.get(FACTS_URL.format("0001045810")).respond(
        200, content=fixture_bytes("sec", "companyfacts_CIK0001045810_nvidia_trimmed.json"), headers=JSON
    )
    payloads, notes = client.fetch_companyfacts(fetcher, {"NBIS": "1513845", "NVDA": "1045810"})
    assert [p.hints["ticker"] for p in payloads] == ["NVDA"]
    assert notes == ["NBIS (CIK 0001513845): no XBRL company facts at SEC (HTTP 404)"]


def test_an_html_page_served_with_200_is_refused_and_kept(router, fetcher) -> None:  # type: ignore[no-untyped-def]
    router.get(FACTS_URL.format("0000789019")).respond(
        200, content=fixture_bytes("sec", "maintenance_page.html"), headers={"Content-Type": "text/html"}
    )
    rejected: list = []
    payloads, notes = client.fetch_companyfacts(fetcher, {"MSFT": "789019"}, rejected)
    assert payloads == [] and len(rejected) == 1 and rejected[0].dataset == "sec_facts"
    assert notes[0].startswith("MSFT (CIK 0000789019): refused a non-JSON answer (text/html")


def test_ciks_come_from_the_warehouse_first_then_from_the_ticker_map(router, fetcher) -> None:  # type: ignore[no-untyped-def]
    tickers = router.get(client.TICKERS_URL).respond(
        200, content=fixture_bytes("sec", "company_tickers.json"), headers=JSON
    )
    ciks, notes = client.resolve_ciks(fetcher, ["NVDA"], {"NVDA": "0001045810"})
    assert ciks == {"NVDA": "0001045810"} and tickers.call_count == 0
    ciks, notes = client.resolve_ciks(fetcher, ["nvda", "ORCL", "CRWV"], {"NVDA": "0001045810"})
    assert ciks == {"NVDA": "0001045810", "ORCL": "0001341439"} and tickers.call_count == 1
    assert notes == ["not in SEC's ticker map (no SEC filer under that ticker): CRWV"]


def test_daily_run_fetches_the_universe_and_rebuilds_the_mart(router, warehouse, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from flows.pipeline import run_dataset
    from flows.warehouse import connect_read

    cfg = tmp_path / "config"
    cfg.mkdir()
    (cfg / "universe.yaml").write_text(f'tickers: [NVDA, ORCL, AMD, CRWV]\nsec_contact: "{CONTACT}"\n')
    (cfg / "calendar.yaml").write_text((REPO_ROOT / "config" / "calendar.yaml").read_text())
    monkeypatch.setenv("FLOWSCOPE_CONFIG_DIR", str(cfg))
    router.get(client.TICKERS_URL).respond(200, content=fixture_bytes("sec", "company_tickers.json"), headers=JSON)
    for cik, name in (("0001045810", "nvidia_trimmed"), ("0001341439", "oracle_tags")):
        body = fixture_bytes("sec", f"companyfacts_CIK{cik}_{name}.json")
        router.get(FACTS_URL.format(cik)).respond(200, content=body, headers=JSON)
    router.get(FACTS_URL.format("0000002488")).respond(404, content=fixture_bytes("sec", "sec_404_nosuchkey.xml"))

    tick = run_dataset("sec_tickers", date(2026, 7, 24), offline=False)
    summary = run_dataset("sec_facts", date(2026, 7, 24), offline=False)
    assert tick.outcome == "ok" and summary.outcome == "ok" and summary.payloads == 2
    assert "not in SEC's ticker map (no SEC filer under that ticker): CRWV" in summary.message
    assert "AMD (CIK 0000002488): no XBRL company facts at SEC (HTTP 404)" in summary.message
    assert "rebuilt marts.fundamentals" in summary.message
    con = connect_read(get_settings())
    try:
        mart = con.sql("select symbol, count(*) as n from analytics.fundamentals group by symbol").pl()
        avail = con.sql("select distinct available_at_source from raw.sec__facts").fetchall()
    finally:
        con.close()
    counts = dict(mart.iter_rows())
    assert set(counts) == {"NVDA", "ORCL"} and min(counts.values()) >= 5
    assert avail == [("rule",)]  # fetched long after the filings: the filing-date rule stands
