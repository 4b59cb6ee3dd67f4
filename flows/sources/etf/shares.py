"""ETF shares outstanding and NAV per fund and day (``etf_shares``): parse (SOURCES.md §4).

Grain: trading day x fund (``symbol``, the exchange ticker) x publisher (``source``: ``ishares``,
``ssga``, ``invesco``, ``vaneck``, ``user_csv``). Key ``(date, symbol, source)``: overlapping
publishers are kept side by side, never as revisions of each other; ``analytics.etf_shares`` ranks
them (issuer files first). Units: ``shares_outstanding`` in shares; ``nav_usd`` and ``close_usd``
in USD per share; ``total_net_assets_usd`` in USD. Missing stays NULL, never 0.

Cadence: trading days. ``date`` is the issuer's as-of date; the data for T is public the evening
of T or the next morning: rule ``available_at`` = next NYSE trading day 09:00 New York
(``config/calendar.yaml`` section ``etf_shares``). A live fetch that sees a row on time records
when it saw it (``observed``). Revisions: issuers re-serve their full history every day; a changed
value is stored as a new version. Rows dated on NYSE closed days are dropped (counted).

Formats (detected from the content; the fund from the content, the ``symbol`` hint or the file name):
- iShares fund workbook (SpreadsheetML 2003 XML, worksheet ``Historical``): ``providers.ishares``;
- SSGA ``navhist-us-en-{ticker}.xlsx`` (sheet ``navhist``): ``providers.ssga``;
- Invesco NAV history JSON (``effectiveDate``, ``netAssetValue``; NAV only): ``providers.invesco``;
- VanEck fund page snapshot (NAV, shares outstanding): ``providers.vaneck``;
- the bring-your-own CSV ``date,symbol,shares_outstanding[,nav_usd][,close_usd][,total_net_assets_usd]``
  (ISO dates; ``close_usd`` = market close, used for flows only when no NAV exists, and labelled).
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from flows.config import calendar_config
from flows.errors import EmptyDataError, PayloadError, SchemaDriftError, ValidationError
from flows.sources.base import DatasetSpec, ParsedBatch, Payload
from flows.sources.etf.pit_rules import NON_TRADING, add_trading_columns
from flows.sources.etf.providers import (
    Read,
    ShareRow,
    check_ticker,
    invesco,
    ishares,
    number,
    parse_date_text,
    share_count,
    ssga,
    vaneck,
)
from flows.sources.textio import ends_mid_line, normalise_name, read_csv_rows, reject_error_pages

SOURCES = ("ishares", "ssga", "vaneck", "invesco", "user_csv")  # also the rank order of the views
USER_REQUIRED = ("date", "symbol", "shares_outstanding")
USER_OPTIONAL = ("nav_usd", "close_usd", "total_net_assets_usd")

NON_NEGATIVE = ("shares_outstanding", "total_net_assets_usd")

COLUMNS = {
    "date": pl.Date,
    "symbol": pl.Utf8,
    "source": pl.Utf8,
    "shares_outstanding": pl.Int64,
    "nav_usd": pl.Float64,
    "close_usd": pl.Float64,
    "total_net_assets_usd": pl.Float64,
}


def _read_user_csv(text: str) -> Read:
    rows = read_csv_rows(text)
    header = [normalise_name(h) for h in rows[0]]
    idx = {h: i for i, h in enumerate(header)}
    missing = [c for c in USER_REQUIRED if c not in idx]
    if missing:
        raise SchemaDriftError(f"CSV header {rows[0]} lacks {missing} (expected {','.join(USER_REQUIRED)}[,...])")
    out = Read([])
    unknown = [rows[0][i] for i, h in enumerate(header) if h not in (*USER_REQUIRED, *USER_OPTIONAL)]
    if unknown:
        out.warnings.append(f"unknown extra columns {unknown} (loaded, ignored)")
    body = rows[1:]
    for n, r in enumerate(body, start=2):
        if len(r) < len(header):
            cut = n == len(body) + 1 and ends_mid_line(text)
            raise PayloadError(f"line {n} has {len(r)} of {len(header)} fields" + (" (truncated file?)" if cut else ""))
        where = f"line {n}"
        d = parse_date_text(r[idx["date"]])
        if d is None:
            raise ValidationError(f"unreadable date {r[idx['date']]!r} ({where})")

        def opt(col: str, r: list[str] = r, where: str = where) -> float | None:
            return number(r[idx[col]], col, where) if col in idx else None

        row = ShareRow(
            date=d,
            symbol=check_ticker(r[idx["symbol"]], where),
            source="user_csv",
            shares_outstanding=share_count(r[idx["shares_outstanding"]], "shares_outstanding", where, out.warnings),
            nav_usd=opt("nav_usd"),
            close_usd=opt("close_usd"),
            total_net_assets_usd=opt("total_net_assets_usd"),
        )
        if row.has_values():
            out.rows.append(row)
        else:
            out.drop("rows without any value")
    if ends_mid_line(text) and body:
        out.warnings.append("the file does not end with a line break: check its last line is complete")
    return out


def _symbol(payload: Payload, from_origin: str | None, fmt: str, example: str) -> str:
    sym = payload.hints.get("symbol") or from_origin
    if not sym:
        raise PayloadError(f"cannot tell which fund this {fmt} holds: keep the issuer's file name ({example})")
    return check_ticker(sym, "symbol hint / file name")


def read_payload(payload: Payload) -> Read:
    """Detect the format from the content and read it (no checks, no calendar yet)."""
    content = payload.content
    hint = check_ticker(payload.hints["symbol"], "symbol hint") if payload.hints.get("symbol") else None
    if content.startswith(b"PK\x03\x04"):
        return ssga.read(content, hint or ssga.ticker_from_origin(payload.origin))
    if vaneck.looks_like(content):
        sym = _symbol(payload, vaneck.ticker_from_origin(payload.origin), "VanEck page", "...-etf-smh.html")
        return vaneck.read(content, sym)
    reject_error_pages(content)
    text = ishares.decode(content)
    if ishares.looks_like(text):
        sym = _symbol(payload, ishares.ticker_from_origin(payload.origin), "iShares workbook", "SOXX_fund.xls")
        return ishares.read(content, sym)
    if invesco.looks_like(text):
        return invesco.read(text, hint or invesco.ticker_from_origin(payload.origin))
    first = text.lstrip("\ufeff").lstrip().split("\n", 1)[0]
    if normalise_name(first).startswith("date_symbol"):
        return _read_user_csv(text)
    raise SchemaDriftError(
        f"not a known ETF shares format (iShares workbook, SSGA navhist xlsx, Invesco NAV JSON, VanEck page, "
        f"or CSV date,symbol,shares_outstanding,...); starts with {first[:60]!r}"
    )


def check_ranges(frame: pl.DataFrame) -> None:
    """Shares and assets >= 0; NAV and close > 0."""
    for col, bad in (
        ("shares_outstanding", pl.col("shares_outstanding") < 0),
        ("total_net_assets_usd", pl.col("total_net_assets_usd") < 0),
        ("nav_usd", pl.col("nav_usd") <= 0),
        ("close_usd", pl.col("close_usd") <= 0),
    ):
        rows = frame.filter(bad)
        if rows.height:
            r = rows.row(0, named=True)
            raise ValidationError(
                f"{rows.height} rows with {'negative' if col in NON_NEGATIVE else 'non-positive'} {col}, "
                f"first {r[col]} on {r['date']} ({r['symbol']}, {r['source']})"
            )


def parse(payload: Payload) -> ParsedBatch:
    """Read an issuer file or the bring-your-own CSV into ``raw.etf__shares`` rows."""
    read = read_payload(payload)
    frame = pl.DataFrame([r.__dict__ for r in read.rows], schema=COLUMNS) if read.rows else None
    if frame is None or frame.is_empty():
        what = f" ({', '.join(f'{n} {why}' for why, n in read.dropped.items())})" if read.dropped else ""
        raise EmptyDataError(f"no data rows{what}")
    check_ranges(frame)
    frame, closed = add_trading_columns(frame, calendar_config()["etf_shares"])
    if closed:
        read.drop(NON_TRADING, closed)
    if frame.is_empty():
        raise EmptyDataError("no rows dated on an NYSE trading day")
    return ParsedBatch(frame, warnings=read.warnings, dropped=read.dropped)


SPEC = DatasetSpec(
    name="etf_shares",
    source="etf",
    table="raw.etf__shares",
    view="analytics.etf_shares",
    key=("date", "symbol", "source"),
    values=("shares_outstanding", "nav_usd", "close_usd", "total_net_assets_usd"),
    attributes=("prev_trading_date", "next_trading_date"),
    date_column="date",
    cadence=timedelta(days=1),
    stale_after=timedelta(days=5),
    observed_grace=timedelta(days=1),
    parse=parse,
    description="ETF shares outstanding and NAV per fund and trading day (iShares, SSGA, Invesco, VanEck, CSV)",
    source_url=ishares.AJAX_URL,
    units={
        "shares_outstanding": "shares",
        "nav_usd": "USD per share",
        "close_usd": "USD per share",
        "total_net_assets_usd": "USD",
    },
    live="flows.sources.etf.shares_client:live",
)
