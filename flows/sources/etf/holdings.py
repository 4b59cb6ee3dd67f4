"""ETF holdings weights: parse (SOURCES.md §4, PROVENANCE §13). ETF flows become pressure on a stock
through the weight each fund holds in it ($1bn into SMH at a 19.27% NVDA weight = ~$193m of NVDA).

Sources (detected from the content; the ``etf`` hint, the iShares fund name or the file name say
which fund when the content does not):
- iShares holdings CSV (``1467271812596.ajax?fileType=csv&fileName={T}_holdings&dataType=fund
  &asOfDate=YYYYMMDD``): preamble with ``Fund Holdings as of``, ``Weight (%)``, BOM, thousands
  separators; a ``Fund Holdings as of,"-"`` template = no file for that date (refused, empty);
- VanEck HoldingsBlock JSON (``AsOfDate``, ``Holdings[].Label``, ``Weight``);
- Invesco dng-api holdings JSON (as-of = ``effectiveBusinessDate``, not ``effectiveDate``;
  ``percentageOfTotalNetAssets``) and the Invesco CSV download;
- SSGA ``holdings-daily-us-en-{t}.xlsx``;
- the bring-your-own CSV ``as_of_date,etf,symbol,weight_frac[,source][,asset_class]``.

Grain: ETF x as-of date x symbol x ``series_source``. Key ``(etf, as_of_date, symbol,
series_source)``. ``series_source``: ``issuer`` (an issuer file, live or imported), ``user_csv``
(the bring-your-own CSV), ``nport`` (weights from SEC N-PORT-P filings). A fund's snapshot from an
issuer file and the same snapshot re-expressed in a CSV are kept side by side, not as revisions; the
view takes one publication per (etf, as_of_date): issuer > user_csv > nport.

Units: ``weight_frac`` = fraction of the fund's total net assets (``19.27`` percent -> ``0.1927``).
``asset_class``: equity | cash | future | other. Non-equity lines are **summed into one row per
class** with a reserved symbol so the weights of a snapshot still sum to ~1 and every stock symbol
appears once: ``_CASH`` (cash, negative USD cash, money market funds, cash collateral and margins,
pending dividends, VanEck's `` -- `` Other/Cash residual, Invesco's null-ticker collateral),
``_FUTURES`` (net weight of futures lines: iShares lists them at 0 with a notional only; Invesco's
``NQU6`` and its contra ``NQU6_`` cancel out), ``_OTHER`` (swaps, forwards, rights, bonds). Their
``name`` lists the lines summed. Equity weights must lie in [0, 1]; a snapshot's weights must sum to
1 within 2% (``WEIGHT_SUM_TOLERANCE``): a cut-down list (Invesco "top 10", truncated download) is
refused, it cannot stand in for the fund between snapshots.

Point in time: ``as_of_date`` is the holdings date the file states. ``available_at`` (rule, UTC):
issuer files -> 09:30 New York on the first NYSE session after ``as_of_date``; N-PORT weights ->
``as_of_date`` (report period end) + 60 days, 09:30 New York (``config/calendar.yaml``
``etf_holdings``). A live fetch within ``observed_grace`` of the rule records when we saw it.
Revisions (an issuer re-posting a date with other weights) become version 2. Cadence: daily files
going forward; history is sparse (a handful of snapshots): weights are held constant between
snapshots, never interpolated (``analytics.etf_weights_asof``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from flows.calendar import add_business_days
from flows.config import calendar_config
from flows.errors import EmptyDataError, PayloadError, SchemaDriftError, ValidationError
from flows.pit import ny_time_to_utc
from flows.sources.base import DatasetSpec, ParsedBatch, Payload
from flows.sources.etf.holdings_formats import invesco, ishares, ssga, user_csv, vaneck
from flows.sources.etf.holdings_formats.common import Snapshot
from flows.sources.textio import decode_text, reject_error_pages

WEIGHT_SUM_TOLERANCE = 0.02  # |sum of a snapshot's weights - 1|; real files: 0.9984 (SOXX) .. 1.0056 (XLK N-PORT)
BUCKETS = {"cash": "_CASH", "future": "_FUTURES", "other": "_OTHER"}
SERIES_RANK = ("issuer", "user_csv", "nport")

COLUMNS = {
    "etf": pl.Utf8,
    "as_of_date": pl.Date,
    "symbol": pl.Utf8,
    "series_source": pl.Utf8,
    "weight_frac": pl.Float64,
    "asset_class": pl.Utf8,
    "name": pl.Utf8,
    "source_format": pl.Utf8,
}


def rule_available_at(as_of: date, series_source: str, cal: dict[str, Any]) -> datetime:
    """When a snapshot became public by the publisher's schedule (UTC): see the module docstring."""
    if series_source == "nport":
        day = as_of + timedelta(days=int(cal.get("nport_lag_days", 60)))
        return ny_time_to_utc(day, str(cal.get("nport_release_time", "09:30")))
    return ny_time_to_utc(add_business_days(as_of, 1, federal=False), str(cal.get("issuer_release_time", "09:30")))


def _fmt_pct(w: Decimal) -> str:
    return f"{float(w) * 100:.4g}%"


def _snapshot_rows(snap: Snapshot) -> tuple[list[dict[str, Any]], list[str]]:
    """Check one snapshot and turn it into rows: equities one per symbol, non-equity lines summed
    per class. Raises ``ValidationError`` naming the row for anything a consumer cannot use."""
    what = f"{snap.etf} {snap.as_of_date}"
    warnings: list[str] = []
    if not snap.holdings:
        raise EmptyDataError(f"{what}: no holdings rows")
    out: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    buckets: dict[str, list[Any]] = defaultdict(lambda: [Decimal(0), []])
    nulls = 0
    for h in snap.holdings:
        if h.asset_class == "equity":
            if not h.symbol:
                raise ValidationError(f"{what}: an equity line without a ticker ({h.where}: {h.name!r})")
            if h.symbol in seen:
                raise ValidationError(f"{what}: duplicate symbol {h.symbol} ({seen[h.symbol]} and {h.where})")
            if h.weight is None:
                raise ValidationError(f"{what}: no weight for {h.symbol} ({h.where})")
            if not 0 <= h.weight <= 1:
                raise ValidationError(
                    f"{what}: weight {_fmt_pct(h.weight)} of {h.symbol} outside [0%, 100%] ({h.where})"
                )
            seen[h.symbol] = h.where
            out.append(_row(snap, h.symbol, h.weight, "equity", h.name))
            continue
        if h.weight is None:
            nulls += 1  # Invesco's USDPDV (pending dividends, 0 units) has a null weight
        elif not -1 <= h.weight <= 1:
            raise ValidationError(
                f"{what}: weight {_fmt_pct(h.weight)} of a {h.asset_class} line outside ±100% ({h.where})"
            )
        b = buckets[h.asset_class]
        b[0] += h.weight or 0
        b[1].append(h.symbol or h.name or "?")
    for cls, (weight, names) in buckets.items():
        out.append(_row(snap, BUCKETS[cls], weight, cls, "; ".join(dict.fromkeys(names))))
    if nulls:
        warnings.append(f"{what}: {nulls} non-equity lines without a weight counted as 0")
    total = sum((Decimal(str(r["weight_frac"])) for r in out), Decimal(0))
    if abs(float(total) - 1) > WEIGHT_SUM_TOLERANCE:
        cut = (
            f" ({len(snap.holdings)} rows of the {snap.declared_rows} the file announces)"
            if snap.declared_rows and snap.declared_rows > len(snap.holdings)
            else ""
        )
        raise ValidationError(
            f"{what}: weights sum to {_fmt_pct(total)}, not 100% ± {WEIGHT_SUM_TOLERANCE:.0%}: "
            f"a partial or truncated holdings list{cut}?"
        )
    if snap.declared_rows and snap.declared_rows != len(snap.holdings):
        warnings.append(f"{what}: {len(snap.holdings)} rows, the file announces {snap.declared_rows}")
    return out, warnings


def _row(snap: Snapshot, symbol: str, weight: Decimal, asset_class: str, name: str) -> dict[str, Any]:
    return {
        "etf": snap.etf,
        "as_of_date": snap.as_of_date,
        "symbol": symbol,
        "series_source": snap.series_source,
        "weight_frac": float(weight) + 0.0,  # -0.00 in VanEck files -> 0.0
        "asset_class": asset_class,
        "name": name,
        "source_format": snap.source_format,
    }


def build_frame(snapshots: list[Snapshot]) -> tuple[pl.DataFrame, list[str]]:
    """Rows of every snapshot plus ``rule_available_at``; a (etf, date, series) given twice is refused."""
    rows: list[dict[str, Any]] = []
    warnings: list[str] = []
    seen: set[tuple[str, date, str]] = set()
    cal = calendar_config().get("etf_holdings") or {}
    for snap in snapshots:
        key = (snap.etf, snap.as_of_date, snap.series_source)
        if key in seen:
            raise ValidationError(f"{snap.etf} {snap.as_of_date} appears twice in the file")
        seen.add(key)
        more, warns = _snapshot_rows(snap)
        at = rule_available_at(snap.as_of_date, snap.series_source, cal)
        rows += [r | {"rule_available_at": at} for r in more]
        warnings += warns
    schema = COLUMNS | {"rule_available_at": pl.Datetime("us", "UTC")}
    return pl.DataFrame(rows, schema=schema), warnings


def _read_json(text: str, payload: Payload) -> list[Snapshot]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PayloadError(f"not valid JSON (truncated download?): {exc}") from None
    if vaneck.looks_like(doc):
        return [vaneck.read(doc, payload)]
    if invesco.looks_like_json(doc):
        return [invesco.read_json(doc, payload)]
    keys = list(doc)[:6] if isinstance(doc, dict) else type(doc).__name__
    raise SchemaDriftError(f"not a VanEck or Invesco holdings JSON (keys {keys})")


def parse(payload: Payload) -> ParsedBatch:
    """Read any supported holdings layout into ``raw.etf__holdings`` rows (see the module docstring)."""
    reject_error_pages(payload.content)
    warnings: list[str] = []
    if payload.content.startswith(ssga.XLSX_MAGIC):
        snapshots = [ssga.read(payload.content, payload)]
    else:
        text = decode_text(payload.content)
        stripped = text.lstrip()
        if stripped.startswith(("{", "[")):
            snapshots = _read_json(stripped, payload)
        elif user_csv.looks_like(stripped):
            snapshots, warnings = user_csv.read(stripped)
        elif invesco.looks_like_csv(stripped):
            snapshots = invesco.read_csv(stripped, payload)
        elif ishares.looks_like(text):
            snapshots = [ishares.read(text, payload)]
        else:
            first = stripped.split("\n", 1)[0][:80]
            raise SchemaDriftError(f"not a known holdings layout (first line {first!r})")
    if not snapshots:
        raise EmptyDataError("no holdings rows")
    frame, more = build_frame(snapshots)
    hint = payload.hints.get("requested_as_of")
    dates = sorted({s.as_of_date.isoformat() for s in snapshots})
    if hint and dates != [hint]:
        more.append(f"asked for holdings of {hint}, the file is dated {', '.join(dates)}")
    return ParsedBatch(frame, warnings=warnings + more)


SPEC = DatasetSpec(
    name="etf_holdings",
    source="etf",
    table="raw.etf__holdings",
    view="analytics.etf_holdings",
    key=("etf", "as_of_date", "symbol", "series_source"),
    values=("weight_frac",),
    attributes=("asset_class", "name", "source_format"),
    date_column="as_of_date",
    cadence=timedelta(days=1),
    stale_after=timedelta(days=7),
    observed_grace=timedelta(days=1),
    parse=parse,
    description="ETF holdings weights (iShares, VanEck, Invesco, SSGA files; N-PORT-derived; per fund and date)",
    source_url="https://www.ishares.com/us/products/{product_id}/fund/1467271812596.ajax?fileType=csv",
    units={"weight_frac": "fraction of fund net assets"},
    live="flows.sources.etf.holdings_client:live",
)
