"""Point-in-time rules shared by ``etf_shares`` and ``etf_flows``: trading-day columns and ``available_at``.

- Rows dated on a day the NYSE was closed (weekends, holidays: scrapers carry the previous value
  forward on them) describe no trading day: they are dropped and counted, never stored as data.
- ``prev_trading_date`` / ``next_trading_date`` (NYSE calendar, ``flows.calendar``) are stored with
  every row: the flow view uses them to compute flows only between consecutive trading days of a
  series (no flow across a gap) and to date a flow ``L`` trading days after its observation.
- Rule ``available_at`` (``config/calendar.yaml``, sections ``etf_shares`` / ``etf_flows``): data for
  day T is public the evening of T or the next morning; conservatively the ``release_trading_days_after``-th
  NYSE trading day after T (default 1) at ``release_time`` New York (default 09:00).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl

from flows.calendar import add_business_days, is_trading_day, previous_trading_day
from flows.pit import ny_time_to_utc

NON_TRADING = "rows dated on NYSE non-trading days (weekend/holiday carry-forwards)"


def release_at(d: date, cal: dict[str, Any]) -> datetime:
    """When data for trading day ``d`` is public by rule (UTC)."""
    day = add_business_days(d, int(cal.get("release_trading_days_after", 1)), federal=False)
    return ny_time_to_utc(day, str(cal.get("release_time", "09:00")))


def add_trading_columns(frame: pl.DataFrame, cal: dict[str, Any], date_col: str = "date") -> tuple[pl.DataFrame, int]:
    """Drop non-trading-day rows; add ``prev_trading_date``, ``next_trading_date`` and
    ``rule_available_at``. Returns the frame and the number of rows dropped."""
    days = frame[date_col].unique().to_list()
    open_days = [d for d in days if is_trading_day(d)]
    kept = frame.filter(pl.col(date_col).is_in(open_days))
    prev = {d: previous_trading_day(d) for d in open_days}
    nxt = {d: add_business_days(d, 1, federal=False) for d in open_days}
    rule = {d: release_at(d, cal) for d in open_days}
    col = pl.col(date_col)
    kept = kept.with_columns(
        col.replace_strict(prev, return_dtype=pl.Date).alias("prev_trading_date"),
        col.replace_strict(nxt, return_dtype=pl.Date).alias("next_trading_date"),
        col.replace_strict(rule, return_dtype=pl.Datetime("us", "UTC")).alias("rule_available_at"),
    )
    return kept, frame.height - kept.height
