"""The event calendar the time-series charts mark: expiries, data releases and SEC filings.

One frame, grain (date, event, symbol): ``date`` (a New York calendar date), ``event`` (type, one of
``flows.charts.common.EVENT_COLORS``), ``symbol`` (null = market-wide) and ``label`` (tooltip text).

- ``monthly_opex`` / ``triple_witching``: the third Friday of each month (Mar/Jun/Sep/Dec = quarterly
  triple witching); when that Friday is an NYSE holiday the expiry moves to the previous trading day
  (Good Friday 2025-04-18 -> Thursday 2025-04-17; Juneteenth 2026-06-19 -> 2026-06-18), as OCC does.
- ``cot_release``: the day the CFTC published the COT report of each Tuesday (``flows.pit``: Friday,
  pushed by federal holidays, shutdown backlogs released together on the clearing day).
- ``finra_si_release``: FINRA's dissemination day of each short-interest settlement (7th NYSE trading
  day after it, ``config/calendar.yaml``), SOURCES.md §3.
- ``earnings_filing``: the day a quarter's or year's numbers were first filed with the SEC (10-Q/10-K,
  from ``marts.fundamentals``). Point-in-time: only filings public by the as-of day are listed. The
  earnings press release (8-K) usually precedes it; XBRL company facts do not carry it.

The schedules are rules, so they are exact for the past; the chart of day D shows events up to D.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import duckdb
import polars as pl

from flows.calendar import is_trading_day, previous_trading_day
from flows.charts.frames import finra_settlements
from flows.pit import cftc_release_date
from flows.signals.timeline import decision_time
from flows.sources.finra.short_interest import release_date as finra_release_date

SCHEMA = {"date": pl.Date, "event": pl.String, "symbol": pl.String, "label": pl.String}
QUARTERLY = (3, 6, 9, 12)


def third_friday(year: int, month: int) -> date:
    """The third Friday of the month (a calendar date, holiday or not)."""
    first = date(year, month, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7 + 14)


def option_expiries(start: date, end: date) -> pl.DataFrame:
    """Monthly equity-option expiries in [start, end]: the third Friday, or the trading day before it
    when the exchange is closed that Friday. Quarterly months are ``triple_witching``."""
    rows = []
    y, m = start.year, start.month
    while date(y, m, 1) <= end:
        d = third_friday(y, m)
        if not is_trading_day(d):
            d = previous_trading_day(d)
        if start <= d <= end:
            kind = "triple_witching" if m in QUARTERLY else "monthly_opex"
            what = "quarterly triple witching" if m in QUARTERLY else "monthly option expiry"
            rows.append({"date": d, "event": kind, "symbol": None, "label": f"{what} ({d:%b %Y})"})
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return pl.DataFrame(rows, schema=SCHEMA)


def cot_releases(start: date, end: date, cal: dict[str, Any]) -> pl.DataFrame:
    """COT publication days in [start, end], one row per day (a backlog day lists its reports)."""
    by_day: dict[date, list[date]] = {}
    # positions as of Tuesdays; a release may come up to ~4 months later in a shutdown backlog
    t = start - timedelta(days=130)
    t += timedelta(days=(1 - t.weekday()) % 7)
    while t <= end:
        rel = cftc_release_date(t, cal)
        if start <= rel <= end:
            by_day.setdefault(rel, []).append(t)
        t += timedelta(days=7)
    rows = []
    for rel, tuesdays in sorted(by_day.items()):
        what = (
            f"positions of {tuesdays[0]}"
            if len(tuesdays) == 1
            else f"{len(tuesdays)} reports ({tuesdays[0]}..{tuesdays[-1]})"
        )
        rows.append({"date": rel, "event": "cot_release", "symbol": None, "label": f"COT release: {what}"})
    return pl.DataFrame(rows, schema=SCHEMA)


def finra_si_releases(start: date, end: date, cal: dict[str, Any]) -> pl.DataFrame:
    """FINRA short-interest dissemination days in [start, end] with the settlement each reports."""
    rows = []
    for s in finra_settlements(start - timedelta(days=31), end):
        rel = finra_release_date(s, cal)
        if start <= rel <= end:
            rows.append(
                {"date": rel, "event": "finra_si_release", "symbol": None, "label": f"FINRA short interest: {s}"}
            )
    return pl.DataFrame(rows, schema=SCHEMA)


def filing_dates(
    con: duckdb.DuckDBPyConnection, start: date, end: date, as_of: date, tickers: Sequence[str]
) -> pl.DataFrame:
    """The first SEC filing of each fiscal period's numbers per ticker, filed in [start, end] and public
    by the as-of day's close (``marts.fundamentals``, SEC rows only; empty when no fundamentals)."""
    has = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'marts' and table_name = 'fundamentals'"
    ).fetchall()[0][0]
    if not has:
        return pl.DataFrame(schema=SCHEMA)
    first = con.sql(
        """select symbol, fiscal_period_end, period_kind, min(filed_date) as filed
             from marts.fundamentals
            where source = 'sec' and symbol in (select unnest(?::varchar[]))
              and available_at <= ?::timestamptz and filed_date is not null
            group by all""",
        params=[list(tickers), decision_time(as_of, "23:59").isoformat()],
    ).pl()
    if first.height == 0:
        return pl.DataFrame(schema=SCHEMA)
    first = first.filter(pl.col("filed").is_between(start, end))
    # a 10-K carries the fourth quarter and the year: one event per filing day and symbol
    out = (
        first.sort("period_kind")
        .group_by(["symbol", "filed"], maintain_order=True)
        .agg(pl.col("fiscal_period_end").max(), pl.col("period_kind").first())
        .select(
            pl.col("filed").alias("date"),
            pl.lit("earnings_filing").alias("event"),
            "symbol",
            pl.format("{} files numbers for the period ending {}", "symbol", "fiscal_period_end").alias("label"),
        )
    )
    return out.cast(SCHEMA).sort(["date", "symbol"])


def event_calendar(
    con: duckdb.DuckDBPyConnection,
    start: date,
    end: date,
    as_of: date,
    tickers: Sequence[str],
    cal: dict[str, Any],
) -> pl.DataFrame:
    """Every event in [start, min(end, as_of)]: expiries, COT and FINRA releases (market-wide) and
    the tickers' SEC filings. ``cal`` is ``flows.config.calendar_config()`` (all datasets)."""
    end = min(end, as_of)
    parts = [
        option_expiries(start, end),
        cot_releases(start, end, cal.get("cftc_tff", {})),
        finra_si_releases(start, end, cal.get("finra_short_interest", {})),
        filing_dates(con, start, end, as_of, tickers),
    ]
    return pl.concat(parts).unique(maintain_order=True).sort(["date", "event"], nulls_last=True)
