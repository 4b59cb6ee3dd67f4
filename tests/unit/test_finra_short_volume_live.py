"""Live Reg SHO client on recorded payloads (respx): trading days only, 403/404 = not published,
five in a row = error, the browser User-Agent, and a daily run through ``pipeline.run_dataset``.

Recorded payloads (``tests/fixtures/finra/``): ``CNMSshvol20260804.txt`` (a day's file),
``regsho_403_access_denied.xml`` (the CDN's answer for a day not published),
``finra_maintenance.html`` (an HTML page served with 200).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import httpx
import pytest
import respx

from flows import pipeline
from flows.config import BROWSER_USER_AGENT, get_settings
from flows.errors import FetchError
from flows.http import Fetcher, RetryPolicy, make_client
from flows.sources.finra import short_volume_client as client
from flows.warehouse import connect_read
from tests.conftest import fixture_bytes

CDN = "https://cdn.finra.org/equity/regsho/daily/"
DAY = fixture_bytes("finra", "CNMSshvol20260804.txt")
DENIED = fixture_bytes("finra", "regsho_403_access_denied.xml")


def day_file(d: date) -> bytes:
    """The recorded 2026-08-04 file re-dated to ``d`` (same symbols and volumes)."""
    return DAY.replace(b"20260804|", f"{d:%Y%m%d}|".encode())


def url(d: date) -> str:
    return f"{CDN}CNMSshvol{d:%Y%m%d}.txt"


class Sleeps(list):  # type: ignore[type-arg]
    def __call__(self, s: float) -> None:
        self.append(s)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as r:
        yield r


@pytest.fixture
def fetcher(monkeypatch: pytest.MonkeyPatch) -> Iterator[Fetcher]:
    monkeypatch.delenv("FLOWSCOPE_USER_AGENT", raising=False)
    with make_client(get_settings()) as http:
        yield Fetcher(http, dataset="finra_short_volume", policy=RetryPolicy(attempts=3, base_s=0.01), sleep=Sleeps())


def test_each_day_is_fetched_once_and_403_404_days_are_not_published(router, fetcher):
    days = [date(2026, 8, 3), date(2026, 8, 4), date(2026, 8, 5), date(2026, 8, 6)]
    router.get(url(days[0])).respond(200, content=day_file(days[0]))
    router.get(url(days[1])).respond(200, content=day_file(days[1]))
    router.get(url(days[2])).respond(403, content=DENIED, headers={"Content-Type": "application/xml"})
    router.get(url(days[3])).respond(404)
    payloads, missing = client.fetch_days(fetcher, days)
    assert [p.origin for p in payloads] == [url(days[0]), url(days[1])]
    assert all(p.live and p.dataset == "finra_short_volume" for p in payloads)
    assert payloads[0].content == day_file(days[0])
    assert missing == [days[2], days[3]]
    assert len(router.calls) == 4


def test_the_request_carries_the_browser_user_agent(router, fetcher):
    route = router.get(url(date(2026, 8, 4))).respond(200, content=DAY)
    client.fetch_days(fetcher, [date(2026, 8, 4)])
    assert route.calls.last.request.headers["User-Agent"] == BROWSER_USER_AGENT


def test_an_empty_200_body_counts_as_not_published(router, fetcher):
    router.get(url(date(2026, 8, 4))).respond(200, content=b"")
    payloads, missing = client.fetch_days(fetcher, [date(2026, 8, 4)])
    assert payloads == [] and missing == [date(2026, 8, 4)]


def test_five_unpublished_trading_days_in_a_row_is_an_error_naming_the_url(router, fetcher):
    router.get(url__startswith=CDN).respond(403, content=DENIED)
    days = [date(2026, 8, d) for d in (3, 4, 5, 6, 7)]
    with pytest.raises(FetchError, match=r"no daily file for 5 trading days in a row up to 2026-08-07") as err:
        client.fetch_days(fetcher, days)
    assert "HTTP 403 at https://cdn.finra.org/equity/regsho/daily/CNMSshvol20260807.txt" in str(err.value)


def test_a_published_day_resets_the_streak(router, fetcher):
    days = [date(2026, 8, d) for d in (3, 4, 5, 6, 7, 10, 11, 12)]
    router.get(url(date(2026, 8, 7))).respond(200, content=day_file(date(2026, 8, 7)))
    router.get(url__startswith=CDN).respond(404)
    payloads, missing = client.fetch_days(fetcher, days)  # 4 missing, 1 found, 3 missing: never 5 in a row
    assert len(payloads) == 1 and len(missing) == 7


def test_503_is_retried_then_the_file_loads(router, fetcher):
    router.get(url(date(2026, 8, 4))).mock(side_effect=[httpx.Response(503), httpx.Response(200, content=DAY)])
    payloads, missing = client.fetch_days(fetcher, [date(2026, 8, 4)])
    assert len(payloads) == 1 and missing == [] and len(fetcher.sleep) == 1  # type: ignore[arg-type]


# ---- the daily run: live(ctx) through pipeline.run_dataset --------------------------------------


@pytest.fixture
def net(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Route the pipeline's client and fetcher through a MockTransport (no waiting)."""
    seen: list[httpx.Request] = []
    answers: dict[str, httpx.Response] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.get(str(request.url), httpx.Response(403, content=DENIED))

    def make(settings=None, *, headers=None, transport=None):  # type: ignore[no-untyped-def]
        return make_client(settings, headers=headers, transport=httpx.MockTransport(handler))

    def fetcher(http, **kw):  # type: ignore[no-untyped-def]
        kw["min_interval_s"] = 0.0
        return Fetcher(http, policy=RetryPolicy(attempts=2, base_s=0.0), sleep=lambda s: None, **kw)

    monkeypatch.setattr(pipeline, "make_client", make)
    monkeypatch.setattr(pipeline, "Fetcher", fetcher)
    return seen, answers


def test_daily_run_asks_only_trading_days_after_the_newest_stored_day(warehouse, net):
    seen, answers = net
    pipeline.import_paths(
        "finra_short_volume", [pipeline.Path(__file__).parents[1] / "fixtures/finra/CNMSshvol20260804.txt"]
    )
    for d in (date(2026, 8, 5), date(2026, 8, 6), date(2026, 8, 7), date(2026, 8, 10)):
        answers[url(d)] = httpx.Response(200, content=day_file(d))
    res = pipeline.run_dataset("finra_short_volume", date(2026, 8, 11), offline=False)
    asked = [r.url.path.rsplit("/", 1)[-1] for r in seen]
    assert asked == [f"CNMSshvol2026080{d}.txt" for d in (5, 6, 7)] + ["CNMSshvol20260810.txt", "CNMSshvol20260811.txt"]
    assert res.outcome == "ok" and res.rows_new == 4 * 7
    assert "not published yet: 2026-08-11" in res.message
    con = connect_read()
    try:
        got = con.execute(
            "select trade_date, short_volume_shares, short_frac from analytics.short_volume"
            " where symbol = 'NVDA' order by trade_date"
        ).fetchall()
    finally:
        con.close()
    assert [g[0] for g in got] == [date(2026, 8, d) for d in (4, 5, 6, 7, 10)]
    assert got[-1][1] == 30518420.874270
    assert got[-1][2] == pytest.approx(30518420.874270 / 61092551.905343)


def test_daily_run_on_an_empty_warehouse_starts_two_weeks_back(warehouse, net):
    seen, _ = net
    res = pipeline.run_dataset("finra_short_volume", date(2026, 8, 11), offline=False)
    assert res.outcome == "failed" and "5 trading days in a row" in res.message
    assert seen[0].url.path.endswith("CNMSshvol20260728.txt")  # 2026-08-11 - 14 days = 07-28 (a Tuesday)


def test_an_html_page_served_with_200_is_quarantined_and_the_warehouse_unchanged(warehouse, net):
    _, answers = net
    answers[url(date(2026, 8, 10))] = httpx.Response(200, content=fixture_bytes("finra", "finra_maintenance.html"))
    answers[url(date(2026, 8, 11))] = httpx.Response(200, content=day_file(date(2026, 8, 11)))
    pipeline.import_paths(
        "finra_short_volume", [pipeline.Path(__file__).parents[1] / "fixtures/finra/CNMSshvol20260804.txt"]
    )
    for d in (5, 6, 7):
        answers[url(date(2026, 8, d))] = httpx.Response(200, content=day_file(date(2026, 8, d)))
    res = pipeline.run_dataset("finra_short_volume", date(2026, 8, 11), offline=False)
    assert res.outcome == "quarantined"
    assert "finra_short_volume" in res.message and "CNMSshvol20260810.txt" in res.message
    assert "HTML/XML page" in res.message
    con = connect_read()
    try:
        days = con.execute("select distinct trade_date from raw.finra__short_volume").fetchall()
    finally:
        con.close()
    assert days == [(date(2026, 8, 4),)]  # the run's other days were not loaded either: one load, all or nothing
