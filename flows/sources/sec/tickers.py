"""SEC ticker-to-CIK map: parse (SOURCES.md §6.1).

Source: ``https://www.sec.gov/files/company_tickers.json`` -> ``{"0": {"cik_str": 320193, "ticker":
"AAPL", "title": "Apple Inc."}, ...}`` (keys are list positions, roughly by market value), or
``company_tickers_exchange.json`` -> ``{"fields": ["cik", "name", "ticker", "exchange"], "data":
[[...], ...]}``. Current listings only: delisted names vanish from the file (rows are never deleted
here, so an old ticker keeps its last known CIK).

Grain/key: one ``ticker`` (upper case, class shares with ``-``: ``BRK-B``). Values (a change is a new
version): ``cik`` (10-digit zero-padded text), ``title``. Attributes: ``exchange`` (exchange file
only), ``listing_rank`` (position in the file; breaks ties when one CIK has several tickers, e.g.
GOOGL before GOOG), ``snapshot_date`` (New York date of the snapshot: the ``snapshot_date`` hint of a
live fetch, else the day the file was read; the batch's date column).

Why a dataset of its own: companyfacts are keyed by CIK and carry no ticker; the fundamentals mart
maps each CIK to a symbol with this table (a universe ticker first, else the lowest
``listing_rank``). The map is an identifier lookup, not information about a company's results, so
the mart does not gate it by ``available_at``; ``rule_available_at`` is simply when we read it.
Cadence: SEC refreshes the file daily.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl

from flows.errors import EmptyDataError, SchemaDriftError, ValidationError
from flows.pit import NEW_YORK
from flows.sources.base import DatasetSpec, ParsedBatch, Payload
from flows.sources.sec.facts import load_json, normalise_cik

TICKERS_URL = "https://www.sec.gov/files/company_tickers.json"

SCHEMA: dict[str, Any] = {
    "ticker": pl.Utf8,
    "cik": pl.Utf8,
    "title": pl.Utf8,
    "exchange": pl.Utf8,
    "listing_rank": pl.Int64,
    "snapshot_date": pl.Date,
}


def _records(doc: Any) -> list[tuple[int, dict[str, Any]]]:
    """(rank, {cik, ticker, title, exchange}) from either layout."""
    if isinstance(doc, dict) and "fields" in doc and "data" in doc:
        fields = [str(f).strip().lower() for f in doc["fields"]]
        missing = [f for f in ("cik", "ticker") if f not in fields]
        if missing:
            raise SchemaDriftError(f"company_tickers_exchange.json without {missing} in 'fields' {fields}")
        out = []
        for i, row in enumerate(doc["data"]):
            if not isinstance(row, list) or len(row) != len(fields):
                raise SchemaDriftError(f"data row {i} does not have the {len(fields)} fields {fields}")
            rec = dict(zip(fields, row, strict=True))
            out.append((i, {"cik": rec["cik"], "ticker": rec["ticker"], "title": rec.get("name"),
                            "exchange": rec.get("exchange")}))  # fmt: skip
        return out
    if isinstance(doc, dict) and doc and all(isinstance(v, dict) for v in doc.values()):
        out = []
        for k, v in doc.items():
            missing = [f for f in ("cik_str", "ticker") if f not in v]
            if missing:
                raise SchemaDriftError(f"entry {k!r} lacks {missing} (fields {sorted(v)})")
            try:
                rank = int(k)
            except ValueError:
                raise SchemaDriftError(f"entry key {k!r} is not a list position") from None
            out.append((rank, {"cik": v["cik_str"], "ticker": v["ticker"], "title": v.get("title"), "exchange": None}))
        return out
    if isinstance(doc, dict) and "facts" in doc:
        raise SchemaDriftError("this is a companyfacts JSON: import it as dataset sec_facts")
    what = f"keys {list(doc)[:5]}" if isinstance(doc, dict) else f"a JSON {type(doc).__name__}"
    raise SchemaDriftError(f"not an SEC ticker map ({what}; expected {{'0': {{cik_str, ticker, title}}}})")


def parse(payload: Payload) -> ParsedBatch:
    """Read ``company_tickers.json`` (or the ``_exchange`` variant) into ``raw.sec__tickers`` rows."""
    doc = load_json(payload.content)
    records = _records(doc)
    if not records:
        raise EmptyDataError("the ticker map holds no entries")
    hint = payload.hints.get("snapshot_date")
    snapshot = date.fromisoformat(hint) if hint else payload.fetched_at.astimezone(NEW_YORK).date()
    rows: dict[str, dict[str, Any]] = {}
    warnings = []
    for rank, rec in sorted(records, key=lambda r: r[0]):
        ticker = str(rec["ticker"] or "").strip().upper()
        if not ticker:
            raise ValidationError(f"entry {rank} has an empty ticker")
        try:
            cik = normalise_cik(rec["cik"])
        except ValidationError as exc:
            raise ValidationError(f"{exc} (ticker {ticker}, entry {rank})") from None
        if ticker in rows:
            if rows[ticker]["cik"] != cik:
                warnings.append(f"ticker {ticker} listed for CIK {rows[ticker]['cik']} and {cik}; kept the first")
            continue
        rows[ticker] = {
            "ticker": ticker,
            "cik": cik,
            "title": str(rec["title"]).strip() if rec["title"] is not None else None,
            "exchange": str(rec["exchange"]).strip() if rec["exchange"] not in (None, "") else None,
            "listing_rank": rank,
            "snapshot_date": snapshot,
        }
    frame = pl.DataFrame(list(rows.values()), schema=SCHEMA).with_columns(
        pl.lit(payload.fetched_at).cast(pl.Datetime("us", "UTC")).alias("rule_available_at")
    )
    return ParsedBatch(frame, warnings)


def _rebuild_fundamentals(con: Any) -> str:
    from flows.sources.sec.fundamentals import rebuild

    return rebuild(con)


SPEC = DatasetSpec(
    name="sec_tickers",
    source="sec",
    table="raw.sec__tickers",
    view="analytics.sec_tickers",
    key=("ticker",),
    values=("cik", "title"),
    attributes=("exchange", "listing_rank", "snapshot_date"),
    date_column="snapshot_date",
    cadence=timedelta(days=1),
    stale_after=timedelta(days=30),
    observed_grace=timedelta(0),
    parse=parse,
    description="SEC ticker-to-CIK map (company_tickers.json); maps companyfacts to symbols",
    source_url=TICKERS_URL,
    units={"cik": "10-digit zero-padded CIK (text)"},
    live="flows.sources.sec.client:live_tickers",
    after_load=_rebuild_fundamentals,
)
