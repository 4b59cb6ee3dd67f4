"""Vendor quarterly fundamentals, bring-your-own CSV: parse.

Layout (header required, any column order, names case-insensitive):
``symbol,fiscal_period_end,filed_date,revenue_usd,eps_diluted_usd[,net_income_usd]``.

Grain/key: one ``(symbol, fiscal_period_end)`` = one fiscal quarter of one company, as the vendor
labels it (vendors often normalise period ends to the month end: 2020-07-31 for a quarter that
ended 2020-07-26; the fundamentals mart snaps them to SEC's period end within 10 days).
Values (a change is a new version): ``filed_date`` (the SEC filing date the vendor gives),
``revenue_usd`` and ``net_income_usd`` in US dollars, ``eps_diluted_usd`` in US dollars per share,
used as supplied (assumed on the vendor's current split basis; it cannot be checked here).
Dates: ISO ``YYYY-MM-DD`` or ``M/D/YYYY``. Empty cells are missing values.

``rule_available_at`` = ``filed_date`` at 22:00 ET, the same rule as SEC facts (``sec_facts`` in
``config/calendar.yaml``): a vendor's copy of a filing is not public before the filing.
In ``analytics.fundamentals`` these rows rank below SEC: a vendor quarter shows only where no SEC
row for that period is known as of the query time (``source = 'vendor'``).

Refused: a missing required column (``SchemaDriftError``), text where a number belongs, unreadable
dates, a filed date before the period end (``ValidationError``), a line with too few fields
(truncated download). Unknown extra columns load with a warning. There is no publisher to fetch
from: the daily run reports "bring-your-own" and loads nothing (``flowscope import`` loads files).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from flows.errors import EmptyDataError, PayloadError, SchemaDriftError, ValidationError
from flows.sources.base import DatasetSpec, ParsedBatch, Payload
from flows.sources.live import LiveContext
from flows.sources.sec.facts import with_rule_available_at
from flows.sources.textio import decode_text, ends_mid_line, normalise_name, read_csv_rows, reject_error_pages

REQUIRED = ("symbol", "fiscal_period_end", "filed_date", "revenue_usd", "eps_diluted_usd")
OPTIONAL = ("net_income_usd",)
SCHEMA: dict[str, Any] = {
    "symbol": pl.Utf8,
    "fiscal_period_end": pl.Date,
    "filed_date": pl.Date,
    "revenue_usd": pl.Float64,
    "eps_diluted_usd": pl.Float64,
    "net_income_usd": pl.Float64,
}


def _date(text: str, column: str, line: int) -> date:
    s = text.strip()
    try:
        return date.fromisoformat(s[:10])
    except ValueError:
        pass
    try:
        return datetime.strptime(s, "%m/%d/%Y").date()
    except ValueError:
        raise ValidationError(f"unreadable date {column}={text!r} (line {line})") from None


def _number(text: str, column: str, line: int) -> float | None:
    s = text.strip().replace(",", "")
    if s in ("", "NA", "N/A", "None", "null", "-"):
        return None
    try:
        return float(s)
    except ValueError:
        raise ValidationError(f"text where a number belongs: {column}={text!r} (line {line})") from None


def parse(payload: Payload) -> ParsedBatch:
    """Read the vendor CSV into rows of ``raw.vendor__fundamentals`` (see module docstring)."""
    reject_error_pages(payload.content)
    text = decode_text(payload.content)
    rows = read_csv_rows(text)
    if not rows:
        raise EmptyDataError("no lines")
    header = [normalise_name(h) for h in rows[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise SchemaDriftError(
            f"missing required columns {missing} (header {rows[0]}; expected "
            "symbol,fiscal_period_end,filed_date,revenue_usd,eps_diluted_usd[,net_income_usd])"
        )
    idx = {h: i for i, h in enumerate(header)}
    body = rows[1:]
    if not body:
        raise EmptyDataError("a header without data rows")
    out: list[dict[str, Any]] = []
    for n, r in enumerate(body, start=2):
        if len(r) < len(header):
            cut = " (file cut mid-line: truncated download?)" if n == len(rows) and ends_mid_line(text) else ""
            raise PayloadError(f"line {n} has {len(r)} of {len(header)} fields{cut}")
        symbol = r[idx["symbol"]].strip().upper()
        if not symbol:
            raise ValidationError(f"empty symbol (line {n})")
        end = _date(r[idx["fiscal_period_end"]], "fiscal_period_end", n)
        filed = _date(r[idx["filed_date"]], "filed_date", n)
        if filed < end:
            raise ValidationError(f"filed_date {filed} before fiscal_period_end {end} for {symbol} (line {n})")
        out.append(
            {
                "symbol": symbol,
                "fiscal_period_end": end,
                "filed_date": filed,
                "revenue_usd": _number(r[idx["revenue_usd"]], "revenue_usd", n),
                "eps_diluted_usd": _number(r[idx["eps_diluted_usd"]], "eps_diluted_usd", n),
                "net_income_usd": _number(r[idx["net_income_usd"]], "net_income_usd", n)
                if "net_income_usd" in idx
                else None,
            }
        )
    unknown = [h for h in header if h not in (*REQUIRED, *OPTIONAL)]
    warnings = [f"unknown extra columns {unknown} (loaded, ignored)"] if unknown else []
    if ends_mid_line(text):
        warnings.append("the file does not end with a line break; its last line was read as complete")
    frame = with_rule_available_at(pl.DataFrame(out, schema=SCHEMA))
    return ParsedBatch(frame, warnings)


def live(ctx: LiveContext) -> tuple[list[Payload], list[str]]:
    """No publisher to fetch from: the daily run loads nothing and says how to supply files."""
    return [], ["bring-your-own dataset: load files with `flowscope import vendor_fundamentals FILE.csv`"]


def _rebuild_fundamentals(con: Any) -> str:
    from flows.sources.sec.fundamentals import rebuild

    return rebuild(con)


SPEC = DatasetSpec(
    name="vendor_fundamentals",
    source="vendor",
    table="raw.vendor__fundamentals",
    view="analytics.vendor_fundamentals",
    key=("symbol", "fiscal_period_end"),
    values=("filed_date", "revenue_usd", "eps_diluted_usd", "net_income_usd"),
    attributes=(),
    date_column="fiscal_period_end",
    cadence=timedelta(days=91),
    stale_after=timedelta(days=200),
    observed_grace=timedelta(0),
    parse=parse,
    description="Vendor quarterly fundamentals (bring-your-own CSV); ranked below SEC in analytics.fundamentals",
    source_url="",
    units={"revenue_usd": "USD", "net_income_usd": "USD", "eps_diluted_usd": "USD per share"},
    live="flows.sources.vendor.fundamentals:live",
    after_load=_rebuild_fundamentals,
)
