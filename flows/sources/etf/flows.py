"""Vendor daily ETF fund flows (``etf_flows``): parse the bring-your-own CSV (SOURCES.md §4).

Layout: ``date,symbol,flow_usd[,aum_usd]`` (e.g. ``canonical/etf_flows.csv``: Bloomberg exports,
PROVENANCE.md §12). Grain: trading day x fund; key ``(date, symbol)``; a later file with other
values for a key is a revision (new version). Units: ``flow_usd`` in USD, net creations minus
redemptions on the vendor's date (positive = creations; vendors date a flow on the day the share
count changed); ``aum_usd`` = the fund's total assets that day, USD (optional). An empty cell is
missing (NULL), never 0; ``0`` is a day without creations or redemptions. Rows dated on NYSE closed
days are dropped (counted). No live source: vendors sell these files; import them with
``flowscope import etf_flows FILE``.

Timing: rule ``available_at`` = next NYSE trading day 09:00 New York after the flow date
(``config/calendar.yaml`` section ``etf_flows``), like the issuer data the vendor derives them from.

The analytics view ``analytics.etf_flows`` (``sql/analytics/etf_flows.sql``) combines these vendor
flows with flows computed from ``raw.etf__shares``: ``flow_t = (SO_{t-L} - SO_{t-L-1}) * NAV_{t-L}``
with the lag ``L`` (trading days) of ``config/calendar.yaml`` ``etf_flows.lag_trading_days``; the
warehouse connection passes it as the DuckDB variable ``etf_flow_lag_days`` (``set_flow_lag``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import duckdb
import polars as pl

from flows.config import Settings, calendar_config
from flows.errors import ConfigError, EmptyDataError, PayloadError, SchemaDriftError, ValidationError
from flows.sources.base import DatasetSpec, ParsedBatch, Payload
from flows.sources.etf.pit_rules import NON_TRADING, add_trading_columns
from flows.sources.etf.providers import check_ticker, number, parse_date_text
from flows.sources.textio import decode_text, ends_mid_line, normalise_name, read_csv_rows, reject_error_pages

REQUIRED = ("date", "symbol", "flow_usd")
OPTIONAL = ("aum_usd",)
SUPPORTED_LAGS = (0, 1)
LAG_VARIABLE = "etf_flow_lag_days"
DEFAULT_LAG = 1

COLUMNS = {"date": pl.Date, "symbol": pl.Utf8, "flow_usd": pl.Float64, "aum_usd": pl.Float64}


def configured_lag(cal: dict[str, Any] | None = None) -> int:
    """``etf_flows.lag_trading_days`` of ``config/calendar.yaml`` (0 or 1; default 1)."""
    section = (cal if cal is not None else calendar_config()).get("etf_flows") or {}
    lag = section.get("lag_trading_days", DEFAULT_LAG)
    if isinstance(lag, bool) or lag not in SUPPORTED_LAGS:
        raise ConfigError(f"etf_flows.lag_trading_days must be one of {SUPPORTED_LAGS}, not {lag!r}")
    return int(lag)


def set_flow_lag(con: duckdb.DuckDBPyConnection, lag: int | None = None, settings: Settings | None = None) -> int:
    """Set the DuckDB variable ``etf_flow_lag_days`` that ``analytics.etf_flows`` reads (the
    configured lag unless ``lag`` is given). Unset, the view falls back to ``DEFAULT_LAG``."""
    value = configured_lag(calendar_config(settings)) if lag is None else lag
    if value not in SUPPORTED_LAGS:
        raise ConfigError(f"{LAG_VARIABLE} must be one of {SUPPORTED_LAGS}, not {value!r}")
    con.execute(f"set variable {LAG_VARIABLE} = {int(value)}")
    return int(value)


def _read_csv(text: str) -> tuple[pl.DataFrame, list[str], dict[str, int]]:
    rows = read_csv_rows(text)
    header = [normalise_name(h) for h in rows[0]]
    idx = {h: i for i, h in enumerate(header)}
    missing = [c for c in REQUIRED if c not in idx]
    if missing:
        raise SchemaDriftError(f"CSV header {rows[0]} lacks {missing} (expected date,symbol,flow_usd[,aum_usd])")
    warnings = []
    unknown = [rows[0][i] for i, h in enumerate(header) if h not in (*REQUIRED, *OPTIONAL)]
    if unknown:
        warnings.append(f"unknown extra columns {unknown} (loaded, ignored)")
    body = rows[1:]
    dates, symbols, flows, aums = [], [], [], []
    i_date, i_sym, i_flow, i_aum = idx["date"], idx["symbol"], idx["flow_usd"], idx.get("aum_usd")
    seen_dates: dict[str, Any] = {}
    for n, r in enumerate(body, start=2):
        if len(r) < len(header):
            cut = n == len(body) + 1 and ends_mid_line(text)
            raise PayloadError(f"line {n} has {len(r)} of {len(header)} fields" + (" (truncated file?)" if cut else ""))
        where = f"line {n}"
        raw_date = r[i_date]
        d = seen_dates.get(raw_date)
        if d is None:
            d = parse_date_text(raw_date)
            if d is None:
                raise ValidationError(f"unreadable date {raw_date!r} ({where})")
            seen_dates[raw_date] = d
        dates.append(d)
        symbols.append(check_ticker(r[i_sym], where))
        flows.append(number(r[i_flow], "flow_usd", where))
        aums.append(number(r[i_aum], "aum_usd", where) if i_aum is not None else None)
    if ends_mid_line(text) and body:
        warnings.append("the file does not end with a line break: check its last line is complete")
    frame = pl.DataFrame({"date": dates, "symbol": symbols, "flow_usd": flows, "aum_usd": aums}, schema=COLUMNS)
    return frame, warnings, {}


def parse(payload: Payload) -> ParsedBatch:
    """Read the vendor CSV into ``raw.etf__vendor_flows`` rows."""
    reject_error_pages(payload.content)
    text = decode_text(payload.content)
    first = text.lstrip().split("\n", 1)[0]
    if not normalise_name(first).startswith("date_symbol"):
        raise SchemaDriftError(f"not the vendor flows CSV date,symbol,flow_usd[,aum_usd]; starts with {first[:60]!r}")
    frame, warnings, dropped = _read_csv(text)
    if frame.is_empty():
        raise EmptyDataError("no data rows")
    neg = frame.filter(pl.col("aum_usd") < 0)
    if neg.height:
        r = neg.row(0, named=True)
        raise ValidationError(
            f"{neg.height} rows with negative aum_usd, first {r['aum_usd']} on {r['date']} ({r['symbol']})"
        )
    frame, closed = add_trading_columns(frame, calendar_config()["etf_flows"])
    if closed:
        dropped[NON_TRADING] = closed
    if frame.is_empty():
        raise EmptyDataError("no rows dated on an NYSE trading day")
    return ParsedBatch(frame, warnings=warnings, dropped=dropped)


SPEC = DatasetSpec(
    name="etf_flows",
    source="etf",
    table="raw.etf__vendor_flows",
    view="analytics.etf_flows",
    key=("date", "symbol"),
    values=("flow_usd", "aum_usd"),
    attributes=("prev_trading_date", "next_trading_date"),
    date_column="date",
    cadence=timedelta(days=1),
    stale_after=timedelta(days=5),
    observed_grace=timedelta(days=1),
    parse=parse,
    description=(
        "ETF daily fund flows: vendor CSV (date,symbol,flow_usd[,aum_usd]; no live source, import files) "
        "combined in analytics.etf_flows with flows computed from etf_shares"
    ),
    source_url="file: vendor export date,symbol,flow_usd[,aum_usd] (no public live source)",
    units={"flow_usd": "USD (positive = creations)", "aum_usd": "USD"},
    live="",
)
