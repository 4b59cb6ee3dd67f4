"""``analytics.etf_weights_asof(d)`` and ``analytics.etf_holdings`` on a small warehouse.

Snapshots loaded (bring-your-own CSV, weights by hand):
- SMH 2026-10-01 (Thu, public Fri 10-02 09:30 EDT): NVDA 0.19, AMD 0.81
- SMH 2026-10-08 (Thu, public Fri 10-09 09:30 EDT): NVDA 0.20, AMD 0.80
- XLK 2023-06-30 and 2023-09-30 (quarter ends: N-PORT, public 60 days later, 09:30 New York):
  NVDA 0.047 / 0.045, MSFT the rest.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from flows.loader import ingest
from flows.sources.base import Payload
from flows.sources.etf.holdings import SPEC
from flows.warehouse import connect_write
from tests.conftest import fixture_bytes

LOAD = date(2026, 11, 21)
SNAPSHOTS = """as_of_date,etf,symbol,weight_frac
2026-10-01,SMH,NVDA,0.19
2026-10-01,SMH,AMD,0.81
2026-10-08,SMH,NVDA,0.20
2026-10-08,SMH,AMD,0.80
2023-06-30,XLK,NVDA,0.047
2023-06-30,XLK,MSFT,0.953
2023-09-30,XLK,NVDA,0.045
2023-09-30,XLK,MSFT,0.955
"""


class Warehouse:
    """A read-write connection plus the raw store the loader writes to."""

    def __init__(self, settings) -> None:  # type: ignore[no-untyped-def]
        self.con = connect_write(settings)
        self.raw_dir = settings.raw_dir

    def execute(self, sql: str, params: list | None = None):  # type: ignore[no-untyped-def]
        return self.con.execute(sql, params or [])


def load(wh, content: bytes, origin: str, fetched_at: datetime | None = None, live: bool = False, **hints):  # type: ignore[no-untyped-def]
    p = Payload("etf_holdings", content, origin, fetched_at or datetime(2026, 11, 21, tzinfo=UTC), live, hints)
    results = ingest(wh.con, SPEC, [p], wh.raw_dir, load_date=LOAD)
    assert [r.outcome for r in results] == ["loaded"], [r.message for r in results]


@pytest.fixture
def con(warehouse):  # type: ignore[no-untyped-def]
    wh = Warehouse(warehouse)
    load(wh, SNAPSHOTS.encode(), "snapshots.csv")
    yield wh
    wh.con.close()


def weights_on(con, d: str, etf: str, symbol: str = "NVDA"):  # type: ignore[no-untyped-def]
    return con.execute(
        f"select weight_frac, as_of_date, age_days, series_source, version"
        f" from analytics.etf_weights_asof(date '{d}') where etf = ? and symbol = ?",
        [etf, symbol],
    ).fetchall()


def test_nothing_before_the_first_snapshot_is_public(con):
    assert weights_on(con, "2026-09-30", "SMH") == []
    assert weights_on(con, "2026-10-01", "SMH") == []  # dated 10-01, public only at the 10-02 open


def test_weights_are_held_constant_between_snapshots_with_their_age(con):
    rows = {d: weights_on(con, d, "SMH") for d in ("2026-10-02", "2026-10-05", "2026-10-08", "2026-10-09")}
    oct1, oct8 = date(2026, 10, 1), date(2026, 10, 8)
    assert rows == {
        "2026-10-02": [(0.19, oct1, 1, "user_csv", 1)],
        "2026-10-05": [(0.19, oct1, 4, "user_csv", 1)],
        "2026-10-08": [(0.19, oct1, 7, "user_csv", 1)],  # never interpolated towards 0.20
        "2026-10-09": [(0.20, oct8, 1, "user_csv", 1)],
    }


def test_every_symbol_of_the_latest_snapshot_comes_with_the_same_age(con):
    rows = con.execute(
        "select etf, symbol, weight_frac, age_days, weights_date from analytics.etf_weights_asof(date '2026-10-06')"
        " order by etf, symbol"
    ).fetchall()
    assert rows == [
        ("SMH", "AMD", 0.81, 5, date(2026, 10, 6)),
        ("SMH", "NVDA", 0.19, 5, date(2026, 10, 6)),
        ("XLK", "MSFT", 0.955, 1102, date(2026, 10, 6)),
        ("XLK", "NVDA", 0.045, 1102, date(2026, 10, 6)),
    ]


def test_nport_weights_count_only_60_days_after_the_quarter_end(con):
    # 2023-09-30 + 60 days = 2023-11-29: the day before, the June quarter is still the latest public
    assert weights_on(con, "2023-11-28", "XLK") == [(0.047, date(2023, 6, 30), 151, "nport", 1)]
    assert weights_on(con, "2023-11-29", "XLK") == [(0.045, date(2023, 9, 30), 60, "nport", 1)]
    assert weights_on(con, "2023-08-28", "XLK") == []  # 2023-06-30 + 60 days = 2023-08-29


def test_the_as_of_variable_bounds_what_the_helper_knows(con):
    con.execute("set variable as_of = timestamptz '2026-10-05 12:00:00+00'")
    try:
        assert weights_on(con, "2026-10-09", "SMH") == [(0.19, date(2026, 10, 1), 8, "user_csv", 1)]
    finally:
        con.execute("reset variable as_of")


def test_a_revision_is_used_only_from_when_it_was_seen(con):
    revised = b"as_of_date,etf,symbol,weight_frac\n2026-10-08,SMH,NVDA,0.21\n2026-10-08,SMH,AMD,0.79\n"
    load(con, revised, "revised.csv", fetched_at=datetime(2026, 10, 12, 15, 0, tzinfo=UTC))
    assert weights_on(con, "2026-10-12", "SMH") == [(0.20, date(2026, 10, 8), 4, "user_csv", 1)]
    assert weights_on(con, "2026-10-13", "SMH") == [(0.21, date(2026, 10, 8), 5, "user_csv", 2)]


def test_an_issuer_file_wins_over_the_same_snapshot_from_a_csv(con):
    vaneck = fixture_bytes("etf_holdings", "SMH_vaneck_holdings.json")  # SMH 2026-11-19, NVDA 40.00%
    load(con, vaneck, "GetDataset.json")
    load(con, b"as_of_date,etf,symbol,weight_frac\n2026-11-19,SMH,NVDA,0.5\n2026-11-19,SMH,INTC,0.5\n", "mine.csv")
    assert weights_on(con, "2026-11-20", "SMH") == [(0.40, date(2026, 11, 19), 1, "issuer", 1)]
    assert weights_on(con, "2026-11-20", "SMH", "INTC") == []  # never mixes two publications
    view = con.execute(
        "select symbol, weight_frac, series_source, source_format from analytics.etf_holdings"
        " where etf = 'SMH' and as_of_date = '2026-11-19' order by symbol"
    ).fetchall()
    assert view == [
        ("AMD", 0.15, "issuer", "vaneck_json"),
        ("MU", 0.1494, "issuer", "vaneck_json"),
        ("NVDA", 0.40, "issuer", "vaneck_json"),
        ("SKHY", 0.10, "issuer", "vaneck_json"),
        ("TSM", 0.20, "issuer", "vaneck_json"),
        ("_CASH", pytest.approx(0.0006), "issuer", "vaneck_json"),
    ]


def test_view_shows_only_snapshots_public_at_the_as_of_variable(con):
    con.execute("set variable as_of = timestamptz '2026-10-02 13:29:00+00'")
    try:
        dates = con.execute("select distinct etf, as_of_date from analytics.etf_holdings order by 1, 2").fetchall()
    finally:
        con.execute("reset variable as_of")
    assert dates == [("XLK", date(2023, 6, 30)), ("XLK", date(2023, 9, 30))]


def test_a_live_fetch_seen_before_the_next_open_counts_from_when_it_was_seen(con):
    vaneck = fixture_bytes("etf_holdings", "SMH_vaneck_holdings.json")  # as of Thu 2026-11-19
    seen = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)  # 06:00 EST, before the 09:30 rule
    load(con, vaneck, "https://www.vaneck.com/Main/HoldingsBlock/GetDataset/", fetched_at=seen, live=True, etf="SMH")
    row = con.execute(
        "select available_at, available_at_source from analytics.etf_holdings where etf = 'SMH' and symbol = 'NVDA'"
        " and as_of_date = '2026-11-19'"
    ).fetchone()
    assert row == (seen, "observed")


def test_a_file_seen_the_evening_of_its_date_serves_the_next_session_not_that_day(con):
    vaneck = fixture_bytes("etf_holdings", "SMH_vaneck_holdings.json")  # as of Thu 2026-11-19
    seen = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # 23:00 EST on 11-19, after that day's open
    load(con, vaneck, "https://www.vaneck.com/Main/HoldingsBlock/GetDataset/", fetched_at=seen, live=True, etf="SMH")
    assert weights_on(con, "2026-11-19", "SMH") == [(0.20, date(2026, 10, 8), 42, "user_csv", 1)]
    assert weights_on(con, "2026-11-20", "SMH") == [(0.40, date(2026, 11, 19), 1, "issuer", 1)]
