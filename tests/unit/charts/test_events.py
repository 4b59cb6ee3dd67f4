"""Event calendar: option expiries with holiday moves, COT and FINRA release days, SEC filing days."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pytest

from flows.charts.events import (
    cot_releases,
    event_calendar,
    filing_dates,
    finra_si_releases,
    option_expiries,
    third_friday,
)
from flows.config import calendar_config


@pytest.fixture(scope="module")
def cal() -> dict:  # type: ignore[type-arg]
    return calendar_config()


def test_third_friday() -> None:
    assert third_friday(2025, 4) == date(2025, 4, 18)
    assert third_friday(2026, 5) == date(2026, 5, 15)  # May 1 2026 is a Friday
    assert third_friday(2026, 6) == date(2026, 6, 19)


def test_expiry_on_a_holiday_moves_to_the_trading_day_before() -> None:
    april = option_expiries(date(2025, 4, 1), date(2025, 4, 30))
    assert april.rows() == [(date(2025, 4, 17), "monthly_opex", None, "monthly option expiry (Apr 2025)")]
    june = option_expiries(date(2026, 6, 1), date(2026, 6, 30))  # Juneteenth falls on the third Friday
    assert june["date"].to_list() == [date(2026, 6, 18)]
    assert june["event"].to_list() == ["triple_witching"]


def test_a_year_has_twelve_expiries_four_of_them_triple_witching() -> None:
    year = option_expiries(date(2024, 1, 1), date(2024, 12, 31))
    assert year.height == 12
    assert year.filter(pl.col("event") == "triple_witching")["date"].to_list() == [
        date(2024, 3, 15),
        date(2024, 6, 21),
        date(2024, 9, 20),
        date(2024, 12, 20),
    ]


def test_cot_release_is_friday_and_holidays_push_it(cal: dict) -> None:  # type: ignore[type-arg]
    june = cot_releases(date(2024, 6, 1), date(2024, 6, 30), cal["cftc_tff"])
    # Tue 2024-06-18 positions: Juneteenth (Wed) pushes the release to Monday 2024-06-24
    assert june["date"].to_list() == [date(2024, 6, 7), date(2024, 6, 14), date(2024, 6, 24), date(2024, 6, 28)]
    assert june["label"][2] == "COT release: positions of 2024-06-18"


def test_a_shutdown_backlog_is_one_release_day_listing_its_reports(cal: dict) -> None:  # type: ignore[type-arg]
    day = cot_releases(date(2026, 1, 23), date(2026, 1, 23), cal["cftc_tff"])
    # Tuesdays 2025-10-07..2026-01-13 (15) less 2025-12-09, which has its own catch-up date, plus the
    # regular report of Tuesday 2026-01-20 released that Friday
    assert day.height == 1 and day["label"][0] == "COT release: 15 reports (2025-10-07..2026-01-20)"


def test_finra_release_is_the_seventh_trading_day_after_settlement(cal: dict) -> None:  # type: ignore[type-arg]
    may = finra_si_releases(date(2026, 5, 16), date(2026, 6, 10), cal["finra_short_interest"])
    # settlement 2026-05-15: 18,19,20,21,22, (Memorial Day 25), 26, 27
    assert may.row(0) == (date(2026, 5, 27), "finra_si_release", None, "FINRA short interest: 2026-05-15")
    # settlement 2026-05-29 (last trading day of May): 7 trading days later = 2026-06-09
    assert may["date"].to_list() == [date(2026, 5, 27), date(2026, 6, 9)]


@pytest.fixture()
def facts() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(
        """create table marts.fundamentals (symbol varchar, fiscal_period_end date, period_kind varchar,
           filed_date date, available_at timestamptz, source varchar, version integer)"""
    )
    rows = [
        # 10-Q, then a later version of the same quarter (an amended input): the first filing counts
        ("NVDA", "2024-04-28", "quarter", "2024-05-29", "2024-05-30 02:00", "sec", 1),
        ("NVDA", "2024-04-28", "quarter", "2024-06-20", "2024-06-21 02:00", "sec", 2),
        # 10-K: the fourth quarter and the year on the same day are one event
        ("NVDA", "2025-01-26", "quarter", "2025-02-26", "2025-02-27 03:00", "sec", 1),
        ("NVDA", "2025-01-26", "year", "2025-02-26", "2025-02-27 03:00", "sec", 1),
        # vendor rows are not SEC filings
        ("AMD", "2024-06-29", "quarter", "2024-07-31", "2024-08-01 02:00", "vendor", 1),
        # not public by the as-of day
        ("AMD", "2025-03-29", "quarter", "2025-05-07", "2025-05-08 02:00", "sec", 1),
        # not in the universe
        ("AAPL", "2024-06-29", "quarter", "2024-08-02", "2024-08-03 02:00", "sec", 1),
    ]
    for r in rows:
        con.execute("insert into marts.fundamentals values (?, ?, ?, ?, ?::timestamptz, ?, ?)", list(r))
    return con


def test_filing_dates_are_first_sec_filings_public_by_the_as_of_day(facts: duckdb.DuckDBPyConnection) -> None:
    ev = filing_dates(facts, date(2024, 1, 1), date(2025, 3, 31), date(2025, 3, 31), ["NVDA", "AMD"])
    assert ev.rows() == [
        (date(2024, 5, 29), "earnings_filing", "NVDA", "NVDA files numbers for the period ending 2024-04-28"),
        (date(2025, 2, 26), "earnings_filing", "NVDA", "NVDA files numbers for the period ending 2025-01-26"),
    ]
    later = filing_dates(facts, date(2024, 1, 1), date(2025, 6, 30), date(2025, 6, 30), ["AMD"])
    assert later["date"].to_list() == [date(2025, 5, 7)]


def test_filing_dates_without_fundamentals_is_empty() -> None:
    ev = filing_dates(duckdb.connect(), date(2024, 1, 1), date(2024, 12, 31), date(2024, 12, 31), ["NVDA"])
    assert ev.height == 0 and ev.columns == ["date", "event", "symbol", "label"]


def test_event_calendar_stops_at_the_as_of_day(facts: duckdb.DuckDBPyConnection, cal: dict) -> None:  # type: ignore[type-arg]
    ev = event_calendar(facts, date(2024, 5, 1), date(2024, 12, 31), date(2024, 6, 14), ["NVDA"], cal)
    assert ev["date"].max() == date(2024, 6, 14)
    assert set(ev["event"].unique()) == {"monthly_opex", "cot_release", "finra_si_release", "earnings_filing"}
    assert ev.filter(pl.col("event") == "earnings_filing")["symbol"].to_list() == ["NVDA"]
    assert ev.filter(pl.col("event") != "earnings_filing")["symbol"].null_count() == ev.height - 1
    assert ev["date"].is_sorted()
