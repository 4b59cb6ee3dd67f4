"""Live FINRA short interest client on recorded payloads (respx): partitions, the POST body,
paging on ``Record-Total``, HTTP 204, refused bodies, the revision window, and a daily run.

Recorded payloads (``tests/fixtures/finra/``): ``partitions_consolidatedShortInterest.json``
(the partitions answer, newest first), ``consolidatedShortInterest_page_offset{0,2}.json`` (two
pages of a 3-record answer, unordered as the API serves them), ``consolidatedShortInterest_2026-07.json``
(a one-page answer), ``finra_maintenance.html``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
import respx

from flows import pipeline
from flows.config import get_settings
from flows.errors import FetchError, PayloadError
from flows.http import Fetcher, RetryPolicy, make_client
from flows.sources.finra import short_interest_client as client
from flows.sources.finra.short_interest import API_URL, PARTITIONS_URL
from flows.warehouse import connect_read
from tests.conftest import REPO, fixture_bytes

PARTITIONS = fixture_bytes("finra", "partitions_consolidatedShortInterest.json")
PAGE0 = fixture_bytes("finra", "consolidatedShortInterest_page_offset0.json")
PAGE2 = fixture_bytes("finra", "consolidatedShortInterest_page_offset2.json")
ONE_PAGE = fixture_bytes("finra", "consolidatedShortInterest_2026-07.json")
HTML = fixture_bytes("finra", "finra_maintenance.html")
JSON_CT = {"Content-Type": "application/json"}
SYMBOLS = ["AMD", "NVDA", "SMH"]


def page(content: bytes, total: int | None) -> httpx.Response:
    headers = dict(JSON_CT)
    if total is not None:
        headers["Record-Total"] = str(total)
    return httpx.Response(200, content=content, headers=headers)


def sent(call) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return json.loads(call.request.content)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as r:
        yield r


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with make_client(get_settings(), headers=client.JSON_HEADERS) as http:
        yield Fetcher(
            http, dataset="finra_short_interest", policy=RetryPolicy(attempts=2, base_s=0.0), sleep=lambda s: None
        )


# ---- pure pieces -------------------------------------------------------------------------------


def test_body_filters_symbols_and_settlement_dates_and_pages():
    body = client.build_body(["AMD", "NVDA"], date(2026, 6, 15), date(2026, 7, 31), offset=5000)
    assert body == {
        "fields": client.FIELDS,
        "domainFilters": [{"fieldName": "symbolCode", "values": ["AMD", "NVDA"]}],
        "dateRangeFilters": [{"fieldName": "settlementDate", "startDate": "2026-06-15", "endDate": "2026-07-31"}],
        "limit": 5000,
        "offset": 5000,
    }
    assert {"settlementDate", "symbolCode", "currentShortPositionQuantity", "daysToCoverQuantity",
            "revisionFlag", "stockSplitFlag", "averageDailyVolumeQuantity"} <= set(client.FIELDS)  # fmt: skip


def test_universe_symbols_are_tickers_and_etfs_as_finra_codes():
    cfg = {"tickers": ["NVDA", "brk.b", "BF-B"], "etfs": ["SMH", "QQQ"], "market": "SPY"}
    assert client.universe_symbols(cfg) == ["BFB", "BRKB", "NVDA", "QQQ", "SMH"]


def test_universe_symbols_refuse_injection():
    with pytest.raises(ValueError, match="not symbols"):
        client.universe_symbols({"tickers": ['NVDA"]}'], "etfs": []})


def test_partitions_are_read_and_sorted():
    got = client.parse_partitions(PARTITIONS)
    assert got[0] == date(2026, 4, 15) and got[-1] == date(2026, 7, 31) and len(got) == 8


def test_dates_to_fetch_repulls_the_last_five_stored_and_adds_newer():
    parts = client.parse_partitions(PARTITIONS)
    got = client.dates_to_fetch(parts, last_stored=date(2026, 6, 30), as_of=date(2026, 8, 20))
    assert got == [date(2026, 4, 30), date(2026, 5, 15), date(2026, 5, 29), date(2026, 6, 15), date(2026, 6, 30),
                   date(2026, 7, 15), date(2026, 7, 31)]  # fmt: skip


def test_dates_to_fetch_ignores_dates_after_as_of_and_backfills_an_empty_warehouse():
    parts = client.parse_partitions(PARTITIONS)
    assert client.dates_to_fetch(parts, None, as_of=date(2026, 7, 20))[-1] == date(2026, 7, 15)
    assert client.dates_to_fetch(parts, None, as_of=date(2026, 8, 20)) == parts  # fewer than 120 published


# ---- fetching ---------------------------------------------------------------------------------


def test_fetch_partitions_refuses_an_html_page_and_keeps_it(router, fetcher):
    router.get(PARTITIONS_URL).respond(200, content=HTML, headers={"Content-Type": "text/html"})
    with pytest.raises(PayloadError, match="partitions: not JSON") as err:
        client.fetch_partitions(fetcher)
    assert err.value.payload.content == HTML  # type: ignore[attr-defined]


def test_pages_follow_record_total(router, fetcher):
    route = router.post(API_URL).mock(side_effect=[page(PAGE0, 3), page(PAGE2, 3)])
    payloads, records = client.fetch_rows(fetcher, SYMBOLS, date(2026, 7, 15), date(2026, 7, 31), page_size=2)
    assert records == 3 and [p.content for p in payloads] == [PAGE0, PAGE2]
    assert [sent(c)["offset"] for c in route.calls] == [0, 2]
    assert all(sent(c)["limit"] == 2 for c in route.calls)
    assert sent(route.calls[0])["domainFilters"] == [{"fieldName": "symbolCode", "values": SYMBOLS}]
    req = route.calls[0].request
    assert req.headers["Accept"] == "application/json" and req.headers["Content-Type"] == "application/json"
    assert "offset 2" in payloads[1].origin and payloads[1].live


def test_a_page_cut_short_by_the_size_cap_does_not_end_the_paging(router, fetcher):
    # FINRA caps a page at 5000 records or 3 MB: a short page with Record-Total beyond it goes on
    route = router.post(API_URL).mock(side_effect=[page(PAGE2, 3), page(PAGE0, 3)])
    payloads, records = client.fetch_rows(fetcher, SYMBOLS, date(2026, 7, 15), date(2026, 7, 31), page_size=2)
    assert records == 3 and len(payloads) == 2
    assert [sent(c)["offset"] for c in route.calls] == [0, 1]  # moved by the records received


def test_without_record_total_a_short_page_is_the_last(router, fetcher):
    route = router.post(API_URL).mock(side_effect=[page(PAGE0, None), page(PAGE2, None)])
    payloads, records = client.fetch_rows(fetcher, SYMBOLS, date(2026, 7, 15), date(2026, 7, 31), page_size=2)
    assert records == 3 and len(payloads) == 2 and len(route.calls) == 2


def test_http_204_means_no_rows(router, fetcher):
    router.post(API_URL).respond(204)
    assert client.fetch_rows(fetcher, SYMBOLS, date(2026, 7, 15), date(2026, 7, 31)) == ([], 0)


def test_pages_that_repeat_records_are_an_error(router, fetcher):
    router.post(API_URL).mock(side_effect=[page(PAGE0, 4), page(PAGE0, 4)])
    with pytest.raises(FetchError, match="repeats 2 records of an earlier page"):
        client.fetch_rows(fetcher, SYMBOLS, date(2026, 7, 15), date(2026, 7, 31), page_size=2)


def test_an_html_answer_is_refused_and_kept(router, fetcher):
    router.post(API_URL).respond(200, content=HTML, headers={"Content-Type": "text/html; charset=utf-8"})
    with pytest.raises(PayloadError, match="expected JSON, got text/html") as err:
        client.fetch_rows(fetcher, SYMBOLS, date(2026, 7, 15), date(2026, 7, 31))
    assert err.value.payload.content == HTML  # type: ignore[attr-defined]


def test_an_error_object_is_refused(router, fetcher):
    router.post(API_URL).respond(200, json={"statusCode": 400, "message": "limit too large"})
    with pytest.raises(PayloadError, match=r"an error object, not records.*limit too large"):
        client.fetch_rows(fetcher, SYMBOLS, date(2026, 7, 15), date(2026, 7, 31))


def test_truncated_json_is_refused(router, fetcher):
    router.post(API_URL).respond(200, content=ONE_PAGE[:300], headers=JSON_CT)
    with pytest.raises(PayloadError, match="truncated or invalid JSON"):
        client.fetch_rows(fetcher, SYMBOLS, date(2026, 7, 15), date(2026, 7, 31))


def test_http_400_is_a_fetch_error_naming_the_url(router, fetcher):
    router.post(API_URL).respond(400, json={"message": "bad field"})
    with pytest.raises(FetchError, match=r"finra_short_interest: POST https://api.finra.org/.*HTTP 400"):
        client.fetch_rows(fetcher, SYMBOLS, date(2026, 7, 15), date(2026, 7, 31))


# ---- the daily run ----------------------------------------------------------------------------


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The pipeline's client and fetcher through a MockTransport; answers set per test."""
    state: dict[str, object] = {"data": [page(ONE_PAGE, 6)], "requests": []}

    def handler(request: httpx.Request) -> httpx.Response:
        state["requests"].append(request)  # type: ignore[union-attr]
        if request.method == "GET" and str(request.url) == PARTITIONS_URL:
            return httpx.Response(200, content=PARTITIONS, headers=JSON_CT)
        if request.method == "POST" and str(request.url) == API_URL:
            return state["data"].pop(0)  # type: ignore[union-attr]
        return httpx.Response(404)

    def make(settings=None, *, headers=None, transport=None):  # type: ignore[no-untyped-def]
        return make_client(settings, headers=headers, transport=httpx.MockTransport(handler))

    def fetcher(http, **kw):  # type: ignore[no-untyped-def]
        kw["min_interval_s"] = 0.0
        return Fetcher(http, policy=RetryPolicy(attempts=2, base_s=0.0), sleep=lambda s: None, **kw)

    monkeypatch.setattr(pipeline, "make_client", make)
    monkeypatch.setattr(pipeline, "Fetcher", fetcher)
    return state


def test_daily_run_asks_the_universe_for_the_published_dates_and_loads(warehouse, api, tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.mkdir()
    shutil.copy(REPO / "config" / "calendar.yaml", config / "calendar.yaml")
    (config / "universe.yaml").write_text("tickers: [NVDA, AMD, BRK.B]\netfs: [SMH]\nmarket: SPY\n")
    monkeypatch.setenv("FLOWSCOPE_CONFIG_DIR", str(config))
    res = pipeline.run_dataset("finra_short_interest", date(2026, 8, 20), offline=False)
    assert res.outcome == "ok" and res.rows_new == 6, res.message
    post = next(r for r in api["requests"] if r.method == "POST")
    body = json.loads(post.content)
    assert body["domainFilters"][0]["values"] == ["AMD", "BRKB", "NVDA", "SMH"]  # tickers + ETFs, FINRA codes
    assert body["dateRangeFilters"][0] == {"fieldName": "settlementDate", "startDate": "2026-04-15",
                                           "endDate": "2026-07-31"}  # fmt: skip
    con = connect_read()
    try:
        row = con.execute(
            "select available_at_source, short_interest_shares, days_to_cover from analytics.short_interest"
            " where symbol = 'NVDA' and settlement_date = '2026-07-31'"
        ).fetchone()
    finally:
        con.close()
    assert row == ("rule", 240001250, 1.6)  # fetched long after 2026-08-11 18:00 ET: the rule stands


def test_daily_run_with_a_204_answer_is_unchanged(warehouse, api):
    api["data"] = [httpx.Response(204)]
    res = pipeline.run_dataset("finra_short_interest", date(2026, 8, 20), offline=False)
    assert res.outcome == "unchanged" and "no records (HTTP 204)" in res.message


def test_daily_run_keeps_an_html_answer_in_quarantine(warehouse, api):
    api["data"] = [httpx.Response(200, content=HTML, headers={"Content-Type": "text/html"})]
    res = pipeline.run_dataset("finra_short_interest", date(2026, 8, 20), offline=False)
    assert res.outcome == "failed" and "expected JSON, got text/html" in res.message
    assert "kept the refused body" in res.message
    settings = get_settings()
    assert list((settings.quarantine_dir / "finra_short_interest").iterdir())
