"""Live clients (CFTC Socrata + annual zip, Cboe daily JSON) on recorded payloads through respx.

The payloads under ``tests/fixtures/recorded/`` are written in the publishers' formats:
- ``cftc_tff_gpe5-46if_offset{0,2,4}.json``: Socrata pages of dataset gpe5-46if (numbers as
  strings, lower-case names, ``asset_mgr_positions_long`` without ``_all``);
- ``FinFut26.txt``: the annual TFF text (87 quoted header columns), zipped here as the
  ``fut_fin_txt_2026.zip`` fallback;
- ``cboe_2026-08-04_daily_options.json``: a Cboe daily statistics JSON;
- ``cboe_s3_access_denied_403.xml``: the S3 body Cboe's CDN answers for a day not published.
No sleeping (sleep and clock are injected) and no network (respx answers everything).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import polars as pl
import pytest
import respx

from flows.config import BROWSER_USER_AGENT, get_settings
from flows.errors import FetchError, PayloadError
from flows.http import Fetcher, RetryPolicy, make_client
from flows.sources.base import Payload
from flows.sources.cboe import client as cboe
from flows.sources.cboe import put_call
from flows.sources.cftc import client as cftc
from flows.sources.cftc import tff

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "recorded"
JSON_HEADERS = {"Content-Type": "application/json;charset=utf-8"}
CODES = ["13874+", "13874A", "13874U", "209742", "209747"]
START = date(2026, 7, 1)


def recorded(name: str) -> bytes:
    return (RECORDED / name).read_bytes()


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
def fake() -> FakeTime:
    return FakeTime()


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    for var in ("FLOWSCOPE_USER_AGENT", "CFTC_APP_TOKEN", "FLOWSCOPE_CONFIG_DIR"):
        monkeypatch.delenv(var, raising=False)
    return get_settings()


@pytest.fixture
def cftc_fetcher(settings, fake) -> Iterator[Fetcher]:  # type: ignore[no-untyped-def]
    with make_client(settings) as http:
        yield Fetcher(
            http,
            dataset="cftc_tff",
            policy=RetryPolicy(attempts=2, base_s=1.0),
            sleep=fake.sleep,
            clock=fake.clock,
            rng=lambda: 0.0,
        )


@pytest.fixture
def cboe_fetcher(settings, fake) -> Iterator[Fetcher]:  # type: ignore[no-untyped-def]
    with make_client(settings) as http:
        yield Fetcher(http, dataset="cboe_putcall", min_interval_s=1.0, sleep=fake.sleep, clock=fake.clock)


# ================================ CFTC =========================================================


def test_build_api_params_is_exact():
    params = cftc.build_api_params(["13874A", "209742"], date(2026, 5, 12), offset=100, limit=50)
    assert params == {
        "$where": "cftc_contract_market_code in('13874A','209742') AND report_date_as_yyyy_mm_dd >= '2026-05-12'",
        "$order": "report_date_as_yyyy_mm_dd,cftc_contract_market_code",
        "$limit": "50",
        "$offset": "100",
    }


def test_build_api_params_defaults_to_the_50k_page():
    params = cftc.build_api_params(["13874+"], date(2006, 1, 1), offset=0)
    assert params["$limit"] == "50000"
    assert params["$offset"] == "0"
    assert "in('13874+')" in params["$where"]


@pytest.mark.parametrize("bad", ["13874a", "", "209", "1387'); DROP TABLE x; --", "13874A OR 1=1", "ES", "123456789"])
def test_build_api_params_rejects_bad_codes(bad):
    with pytest.raises(ValueError, match="not CFTC contract codes") as err:
        cftc.build_api_params(["13874A", bad], START, offset=0)
    assert repr(bad) in str(err.value)
    assert "'13874A'" not in str(err.value).split(":", 1)[1]  # only the bad one is named


def _socrata_pages(request: httpx.Request) -> httpx.Response:
    offset = request.url.params["$offset"]
    return httpx.Response(200, headers=JSON_HEADERS, content=recorded(f"cftc_tff_gpe5-46if_offset{offset}.json"))


def test_fetch_api_pages_until_a_short_page(router, cftc_fetcher):
    route = router.get(url__startswith=tff.API_URL).mock(side_effect=_socrata_pages)
    payloads = cftc.fetch_api(cftc_fetcher, CODES, START, page_size=2)

    assert route.call_count == 3
    sent = [c.request.url.params for c in route.calls]
    assert [p["$offset"] for p in sent] == ["0", "2", "4"]
    assert {p["$limit"] for p in sent} == {"2"}
    assert all(p["$where"] == sent[0]["$where"] for p in sent)
    assert all(p["$order"] == "report_date_as_yyyy_mm_dd,cftc_contract_market_code" for p in sent)
    assert "report_date_as_yyyy_mm_dd >= '2026-07-01'" in sent[0]["$where"]

    assert len(payloads) == 3
    assert all(p.live and p.dataset == "cftc_tff" for p in payloads)
    assert [p.content for p in payloads] == [recorded(f"cftc_tff_gpe5-46if_offset{o}.json") for o in (0, 2, 4)]
    assert all(p.origin.startswith(tff.API_URL + "?") for p in payloads)
    assert "%24offset=4" in payloads[2].origin or "$offset=4" in payloads[2].origin


def test_fetch_api_exact_multiple_ends_on_an_empty_page(router, cftc_fetcher):
    pages = [recorded("cftc_tff_gpe5-46if_offset0.json"), recorded("cftc_tff_gpe5-46if_offset2.json"), b"[]"]
    route = router.get(url__startswith=tff.API_URL).mock(
        side_effect=[httpx.Response(200, headers=JSON_HEADERS, content=c) for c in pages]
    )
    payloads = cftc.fetch_api(cftc_fetcher, CODES, START, page_size=2)
    assert route.call_count == 3
    assert len(payloads) == 2  # the trailing empty page is not kept as a payload


def test_socrata_pages_parse_into_rows(router, cftc_fetcher):
    router.get(url__startswith=tff.API_URL).mock(side_effect=_socrata_pages)
    payloads = cftc.fetch_api(cftc_fetcher, CODES, START, page_size=2)
    frame = pl.concat([tff.parse(p).frame for p in payloads])

    assert frame.height == 5
    assert frame["contract_code"].to_list() == ["13874+", "13874A", "13874U", "209742", "209747"]
    assert set(frame["report_date"].to_list()) == {date(2026, 8, 4)}
    es = frame.filter(pl.col("contract_code") == "13874A").row(0, named=True)
    assert es["open_interest_contracts"] == 2117840
    assert es["dealer_long_contracts"] == 286014
    assert es["asset_mgr_long_contracts"] == 1021557  # from asset_mgr_positions_long (no _all)
    assert es["lev_funds_long_contracts"] == 236778  # from lev_money_positions_long
    assert es["lev_funds_short_contracts"] == 441019
    assert es["market_name"] == "E-MINI S&P 500 - CHICAGO MERCANTILE EXCHANGE"
    assert es["rule_available_at"] is not None


def test_fetch_api_sends_the_app_token_only_when_given(router, cftc_fetcher):
    route = router.get(url__startswith=tff.API_URL).mock(side_effect=_socrata_pages)

    cftc.fetch_api(cftc_fetcher, CODES, START, app_token="s3cr3t-token", page_size=50)
    with_token = route.calls.last.request
    assert with_token.headers["X-App-Token"] == "s3cr3t-token"
    assert with_token.headers["Accept"] == "application/json"
    assert "s3cr3t-token" not in str(with_token.url)  # a header, never a query parameter

    cftc.fetch_api(cftc_fetcher, CODES, START, app_token=None, page_size=50)
    without = route.calls.last.request
    assert "X-App-Token" not in without.headers
    assert without.headers["Accept"] == "application/json"

    cftc.fetch_api(cftc_fetcher, CODES, START, app_token="", page_size=50)
    assert "X-App-Token" not in route.calls.last.request.headers
    assert route.call_count == 3


def test_fetch_api_rejects_an_html_maintenance_page(router, cftc_fetcher):
    page = (
        b"<!DOCTYPE html><html><head><title>Scheduled Maintenance</title></head>"
        b"<body><h1>publicreporting.cftc.gov is down for maintenance</h1></body></html>"
    )
    router.get(url__startswith=tff.API_URL).mock(
        return_value=httpx.Response(200, headers={"Content-Type": "text/html; charset=utf-8"}, content=page)
    )
    with pytest.raises(PayloadError, match=r"cftc_tff: .*gpe5-46if\.json.*expected JSON, got text/html"):
        cftc.fetch_api(cftc_fetcher, CODES, START)


def test_fetch_api_rejects_truncated_json(router, cftc_fetcher):
    cut = recorded("cftc_tff_gpe5-46if_offset0.json")[:300]
    router.get(url__startswith=tff.API_URL).mock(return_value=httpx.Response(200, headers=JSON_HEADERS, content=cut))
    with pytest.raises(PayloadError, match="truncated or invalid JSON"):
        cftc.fetch_api(cftc_fetcher, CODES, START)


def _zip_of(name: str, content: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, content)
    return buf.getvalue()


ZIP_HEADERS = {"Content-Type": "application/x-zip-compressed"}


def test_fetch_uses_the_api_when_it_works(router, cftc_fetcher):
    api = router.get(url__startswith=tff.API_URL).mock(side_effect=_socrata_pages)
    zips = router.get(url__regex=r"https://www\.cftc\.gov/files/dea/history/.*").mock(return_value=httpx.Response(500))
    payloads, notes = cftc.fetch(cftc_fetcher, CODES, START, date(2026, 8, 7))
    assert api.call_count == 1  # 5 rows < 50,000: one page
    assert zips.call_count == 0
    assert notes == []
    assert len(payloads) == 1


def test_fetch_falls_back_to_the_annual_zip_after_503s(router, cftc_fetcher, fake):
    api = router.get(url__startswith=tff.API_URL).mock(return_value=httpx.Response(503))
    zipped = _zip_of("FinFut26.txt", recorded("FinFut26.txt"))
    zip_route = router.get(cftc.ZIP_URL.format(year=2026)).mock(
        return_value=httpx.Response(200, headers=ZIP_HEADERS, content=zipped)
    )

    payloads, notes = cftc.fetch(cftc_fetcher, CODES, START, date(2026, 8, 7))

    assert api.call_count == 2  # the policy's two attempts, then give up
    assert fake.sleeps == [0.5]  # one backoff wait, injected (rng=0 -> half of 1 s)
    assert zip_route.call_count == 1
    assert len(notes) == 1
    assert notes[0].startswith("API failed (cftc_tff: GET https://publicreporting.cftc.gov/")
    assert "HTTP 503 after 2 attempts" in notes[0]
    assert "falling back to the annual zip" in notes[0]

    assert len(payloads) == 1
    zp = payloads[0]
    assert zp.origin == "https://www.cftc.gov/files/dea/history/fut_fin_txt_2026.zip"
    assert zp.live is True
    assert zp.content == zipped

    frame = tff.parse(zp).frame
    assert frame.height == 2
    assert frame["contract_code"].to_list() == ["13874A", "209742"]
    assert set(frame["report_date"].to_list()) == {date(2026, 7, 28)}
    nq = frame.filter(pl.col("contract_code") == "209742").row(0, named=True)
    assert nq["open_interest_contracts"] == 259900
    assert nq["asset_mgr_long_contracts"] == 119876
    assert nq["lev_funds_short_contracts"] == 87700
    assert nq["market_name"] == "NASDAQ MINI - CHICAGO MERCANTILE EXCHANGE"


def test_fetch_falls_back_on_a_non_json_api_answer_too(router, cftc_fetcher):
    router.get(url__startswith=tff.API_URL).mock(
        return_value=httpx.Response(200, headers={"Content-Type": "text/html"}, content=b"<html></html>")
    )
    router.get(cftc.ZIP_URL.format(year=2026)).mock(
        return_value=httpx.Response(200, headers=ZIP_HEADERS, content=_zip_of("FinFut26.txt", recorded("FinFut26.txt")))
    )
    payloads, notes = cftc.fetch(cftc_fetcher, CODES, START, date(2026, 8, 7))
    assert len(payloads) == 1
    assert "expected JSON" in notes[0]


def test_fetch_fallback_spans_years_and_tolerates_a_missing_january_zip(router, cftc_fetcher):
    router.get(url__startswith=tff.API_URL).mock(return_value=httpx.Response(503))
    zipped = _zip_of("FinFut25.txt", recorded("FinFut26.txt"))
    y2025 = router.get(cftc.ZIP_URL.format(year=2025)).mock(
        return_value=httpx.Response(200, headers=ZIP_HEADERS, content=zipped)
    )
    y2026 = router.get(cftc.ZIP_URL.format(year=2026)).mock(return_value=httpx.Response(404))

    payloads, notes = cftc.fetch(cftc_fetcher, CODES, date(2025, 10, 1), date(2026, 1, 9))

    assert y2025.call_count == 1 and y2026.call_count == 1
    assert [p.origin for p in payloads] == [cftc.ZIP_URL.format(year=2025)]
    assert len(notes) == 2
    assert notes[1].startswith("no 2026 zip yet (")
    assert "HTTP 404" in notes[1]


def test_fetch_fallback_missing_zip_outside_january_is_an_error(router, cftc_fetcher):
    router.get(url__startswith=tff.API_URL).mock(return_value=httpx.Response(503))
    router.get(cftc.ZIP_URL.format(year=2026)).mock(return_value=httpx.Response(404))
    with pytest.raises(FetchError, match=r"fut_fin_txt_2026\.zip: HTTP 404"):
        cftc.fetch(cftc_fetcher, CODES, START, date(2026, 8, 7))


def test_fetch_annual_zip_rejects_a_page_that_is_not_a_zip(router, cftc_fetcher):
    router.get(cftc.ZIP_URL.format(year=2026)).mock(
        return_value=httpx.Response(200, headers={"Content-Type": "text/html"}, content=b"<html>Not Found</html>")
    )
    with pytest.raises(PayloadError, match="not a zip"):
        cftc.fetch_annual_zip(cftc_fetcher, 2026)


def test_fetch_bad_codes_are_not_hidden_by_the_fallback(router, cftc_fetcher):
    api = router.get(url__startswith=tff.API_URL).mock(side_effect=_socrata_pages)
    with pytest.raises(ValueError, match="not CFTC contract codes"):
        cftc.fetch(cftc_fetcher, ["13874A", "es"], START, date(2026, 8, 7))
    assert api.call_count == 0


# ================================ Cboe =========================================================

CBOE_URL = re.compile(
    r"https://cdn\.cboe\.com/data/us/options/market_statistics/daily/(?P<day>\d{4}-\d{2}-\d{2})_daily_options$"
)
DAILY_JSON = "cboe_2026-08-04_daily_options.json"


def cboe_site(published: set[str], not_found: set[str] = frozenset()):  # type: ignore[assignment]
    """A side effect answering like the CDN: the recorded JSON, S3 AccessDenied 403, or 404."""

    def answer(request: httpx.Request, day: str) -> httpx.Response:  # respx passes the named group
        if day in published:
            return httpx.Response(200, headers={"Content-Type": "application/json"}, content=recorded(DAILY_JSON))
        if day in not_found:
            return httpx.Response(404, headers={"Content-Type": "text/html"}, content=b"<html>404</html>")
        return httpx.Response(
            403, headers={"Content-Type": "application/xml"}, content=recorded("cboe_s3_access_denied_403.xml")
        )

    return answer


def weekdays(*isodays: str) -> list[date]:
    return [date.fromisoformat(d) for d in isodays]


def requested_days(route: respx.Route) -> list[str]:
    return [CBOE_URL.match(str(c.request.url))["day"] for c in route.calls]  # type: ignore[index]


def test_cboe_sends_browser_user_agent_and_accept_json(router, cboe_fetcher, fake):
    route = router.get(url__regex=CBOE_URL.pattern).mock(side_effect=cboe_site({"2026-08-04", "2026-08-05"}))
    payloads, missing = cboe.fetch_days(cboe_fetcher, weekdays("2026-08-04", "2026-08-05"))

    assert route.call_count == 2
    for call in route.calls:
        assert call.request.headers["User-Agent"] == BROWSER_USER_AGENT
        assert call.request.headers["User-Agent"].startswith("Mozilla/5.0")
        assert call.request.headers["Accept"] == "application/json"
    assert missing == []
    assert len(payloads) == 2
    assert fake.sleeps == [1.0]  # paced at one request a second, without really sleeping


def test_cboe_skips_403_and_404_days_as_missing(router, cboe_fetcher):
    days = weekdays("2026-08-03", "2026-08-04", "2026-08-05", "2026-08-06")
    route = router.get(url__regex=CBOE_URL.pattern).mock(
        side_effect=cboe_site({"2026-08-03", "2026-08-06"}, not_found={"2026-08-05"})
    )
    payloads, missing = cboe.fetch_days(cboe_fetcher, days)

    assert route.call_count == 4  # 403/404 are answers, not retried
    assert requested_days(route) == [d.isoformat() for d in days]
    assert missing == weekdays("2026-08-04", "2026-08-05")
    assert [p.hints for p in payloads] == [{"trade_date": "2026-08-03"}, {"trade_date": "2026-08-06"}]
    assert all(p.live and p.dataset == "cboe_putcall" for p in payloads)
    assert payloads[0].origin == "https://cdn.cboe.com/data/us/options/market_statistics/daily/2026-08-03_daily_options"


def test_cboe_empty_200_body_is_missing(router, cboe_fetcher):
    router.get(url__regex=CBOE_URL.pattern).mock(return_value=httpx.Response(200, content=b"  \n"))
    payloads, missing = cboe.fetch_days(cboe_fetcher, weekdays("2026-08-04"))
    assert payloads == []
    assert missing == weekdays("2026-08-04")


def test_cboe_five_missing_trading_days_in_a_row_is_an_error(router, cboe_fetcher):
    days = weekdays("2026-07-31", "2026-08-03", "2026-08-04", "2026-08-05", "2026-08-06", "2026-08-07", "2026-08-10")
    route = router.get(url__regex=CBOE_URL.pattern).mock(side_effect=cboe_site({"2026-07-31", "2026-08-10"}))
    with pytest.raises(FetchError) as err:
        cboe.fetch_days(cboe_fetcher, days)
    msg = str(err.value)
    assert route.call_count == 6  # stops at the fifth miss; 2026-08-10 is never asked for
    assert "2026-08-10" not in requested_days(route)
    assert msg.startswith("cboe_putcall: no daily file for 5 trading days in a row up to 2026-08-07")
    assert "HTTP 403" in msg
    assert "2026-08-07_daily_options" in msg
    assert "\n" not in msg


def test_cboe_a_published_day_resets_the_streak(router, cboe_fetcher):
    days = weekdays(
        "2026-07-27",
        "2026-07-28",
        "2026-07-29",
        "2026-07-30",  # 4 missing
        "2026-07-31",  # published
        "2026-08-03",
        "2026-08-04",
        "2026-08-05",
        "2026-08-06",  # 4 missing again
    )
    route = router.get(url__regex=CBOE_URL.pattern).mock(side_effect=cboe_site({"2026-07-31"}))
    payloads, missing = cboe.fetch_days(cboe_fetcher, days)
    assert route.call_count == 9
    assert [p.hints["trade_date"] for p in payloads] == ["2026-07-31"]
    assert len(missing) == 8


def test_cboe_missing_limit_is_a_parameter(router, cboe_fetcher):
    router.get(url__regex=CBOE_URL.pattern).mock(side_effect=cboe_site(set()))
    with pytest.raises(FetchError, match="for 2 trading days in a row"):
        cboe.fetch_days(cboe_fetcher, weekdays("2026-08-03", "2026-08-04", "2026-08-05"), missing_limit=2)


def test_cboe_5xx_is_retried_before_the_day_counts(router, cboe_fetcher, fake):
    route = router.get(url__regex=CBOE_URL.pattern).mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(200, headers={"Content-Type": "application/json"}, content=recorded(DAILY_JSON)),
        ]
    )
    payloads, missing = cboe.fetch_days(cboe_fetcher, weekdays("2026-08-04"))
    assert route.call_count == 2
    assert len(payloads) == 1 and missing == []


def test_cboe_payload_parses_into_six_segments(router, cboe_fetcher):
    router.get(url__regex=CBOE_URL.pattern).mock(side_effect=cboe_site({"2026-08-04"}))
    payloads, _ = cboe.fetch_days(cboe_fetcher, weekdays("2026-08-04"))
    frame = put_call.parse(payloads[0]).frame.sort("segment")

    doc = json.loads(recorded(DAILY_JSON))
    assert frame.height == 6
    assert frame["segment"].to_list() == sorted(["total", "equity", "index", "etp", "vix", "spx"])
    assert set(frame["trade_date"].to_list()) == {date(2026, 8, 4)}
    assert set(frame["series_source"].to_list()) == {"cboe_daily_json"}
    assert set(frame["source_era"].to_list()) == {"all_cboe"}

    rows = {r["segment"]: r for r in frame.iter_rows(named=True)}
    total = rows["total"]
    assert total["put_call_ratio"] == 0.86
    assert total["call_volume_contracts"] == 10412377
    assert total["put_volume_contracts"] == 8954644
    assert total["total_volume_contracts"] == 19367021
    assert total["call_open_interest_contracts"] == 412551230
    assert total["put_open_interest_contracts"] == 389004117
    assert rows["equity"]["put_call_ratio"] == 0.68
    assert rows["vix"]["put_call_ratio"] == 0.40
    assert rows["spx"]["put_volume_contracts"] == 1566003

    # every segment matches its section and ratio in the recorded JSON
    ratios = {r["name"]: float(r["value"]) for r in doc["ratios"]}
    for seg, (section, ratio_name) in put_call.JSON_SECTIONS.items():
        vol = next(r for r in doc[section] if r["name"] == "VOLUME")
        assert rows[seg]["put_call_ratio"] == ratios[ratio_name]
        assert (rows[seg]["call_volume_contracts"], rows[seg]["put_volume_contracts"]) == (vol["call"], vol["put"])


def test_cboe_trade_date_comes_from_the_hint():
    payload = Payload(
        "cboe_putcall",
        recorded(DAILY_JSON),
        "https://cdn.cboe.com/some/renamed/object",
        fetched_at=datetime(2026, 8, 4, 23, 0, tzinfo=UTC),
        live=True,
        hints={"trade_date": "2026-08-04"},
    )
    assert put_call.parse(payload).frame["trade_date"].unique().to_list() == [date(2026, 8, 4)]


def test_cboe_403_body_is_not_data():
    with pytest.raises(PayloadError, match="HTML/XML page"):
        put_call.parse(
            Payload(
                "cboe_putcall",
                recorded("cboe_s3_access_denied_403.xml"),
                "x_daily_options",
                fetched_at=datetime(2026, 8, 4, tzinfo=UTC),
                hints={"trade_date": "2026-08-04"},
            )
        )
