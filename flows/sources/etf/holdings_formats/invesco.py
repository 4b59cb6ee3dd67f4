"""Invesco holdings: the ``dng-api`` JSON and the website's CSV download.

JSON (``dng-api.invesco.com/cache/v1/accounts/en_US/shareclasses/{id}/holdings/fund``):
``{cusip, effectiveDate, effectiveBusinessDate, totalNumberOfHoldings, holdings: [{ticker,
issuerName, units, percentageOfTotalNetAssets, securityTypeName, securityTypeCode, ...}]}``.
The as-of date is ``effectiveBusinessDate``: ``effectiveDate`` can be a non-trading day (Labor Day
2026-09-07 for holdings of Friday 2026-09-04), so a file without ``effectiveBusinessDate`` is
refused rather than misdated. Weights are JSON numbers in percent; ``null`` for ``USDPDV`` (pending
dividends, 0 units). The collateral line has ``ticker: null``; the index future ``NQU6`` and its
contra ``NQU6_`` (``Synthetic Cash``) cancel out. ``issuerName`` carries HTML entities
(``CASH &amp; EQUIVALENTS``). ``totalNumberOfHoldings`` is the full count: fewer rows than that is a
cut-down list (e.g. a "top 10" extract).

CSV (2020 layout): ``Fund Ticker,Security Identifier,Holding Ticker,Shares/Par Value,MarketValue,
Weight,Name,Class of Shares,Sector,Date``; ``Holding Ticker`` has a trailing space, numbers carry
thousands separators in quotes, ``Weight`` is percent (3 dp), ``Date`` is ``MM/DD/YYYY``.
"""

from __future__ import annotations

import html
from typing import Any

from flows.errors import PayloadError, SchemaDriftError
from flows.sources.base import Payload
from flows.sources.etf.holdings_formats.common import (
    Snapshot,
    asset_class_of,
    holding,
    holdings_sources,
    parse_us_date,
    percent_to_frac,
    resolve_etf,
)
from flows.sources.textio import ends_mid_line, normalise_name, read_csv_rows

JSON_ROW_KEYS = ("ticker", "percentageOfTotalNetAssets")
CSV_REQUIRED = ("fund_ticker", "holding_ticker", "weight", "class_of_shares", "date")


def looks_like_json(doc: Any) -> bool:
    return isinstance(doc, dict) and "holdings" in doc and any(k.startswith("effective") for k in doc)


def _fund_from_id(value: Any) -> str | None:
    """The JSON's top-level ``cusip`` echoes the id asked for: a ticker (``QQQ``) or a CUSIP."""
    s = str(value or "").strip().upper()
    for etf, src in holdings_sources().items():
        if s and s in (etf, str(src.get("cusip", "")).upper()):
            return etf
    return None


def read_json(doc: dict[str, Any], payload: Payload) -> Snapshot:
    if "effectiveBusinessDate" not in doc:
        raise SchemaDriftError(
            "Invesco JSON without 'effectiveBusinessDate' (keys "
            f"{list(doc)[:6]}); 'effectiveDate' can be a holiday and is not the holdings date"
        )
    rows = doc.get("holdings")
    if not isinstance(rows, list):
        raise SchemaDriftError("Invesco JSON: 'holdings' is not a list")
    as_of = parse_us_date(doc["effectiveBusinessDate"], ("%m/%d/%Y",), "effectiveBusinessDate")
    declared = doc.get("totalNumberOfHoldings")
    snap = Snapshot(
        resolve_etf(payload, from_content=_fund_from_id(doc.get("cusip"))),
        as_of,
        "invesco_json",
        "issuer",
        declared_rows=int(declared) if isinstance(declared, (int, float)) else None,
    )
    for i, r in enumerate(rows):
        where = f"holdings[{i}]"
        if not isinstance(r, dict):
            raise SchemaDriftError(f"Invesco JSON: {where} is not an object")
        missing = [k for k in JSON_ROW_KEYS if k not in r]
        kind = r.get("securityTypeName") or r.get("securityTypeCode")
        if missing or kind is None:
            raise SchemaDriftError(f"Invesco JSON: {where} lacks {missing or ['securityTypeName']} (renamed?)")
        snap.holdings.append(
            holding(
                r["ticker"],
                html.unescape(str(r.get("issuerName") or "")),
                asset_class_of(str(kind), where),
                percent_to_frac(r["percentageOfTotalNetAssets"], "percentageOfTotalNetAssets", where),
                where,
            )
        )
    return snap


def looks_like_csv(text: str) -> bool:
    first = normalise_name(text.lstrip().split("\n", 1)[0])
    return first.startswith("fund_ticker") and "holding_ticker" in first


def read_csv(text: str, payload: Payload) -> list[Snapshot]:
    rows = read_csv_rows(text)
    header = [normalise_name(h) for h in rows[0]]
    missing = [c for c in CSV_REQUIRED if c not in header]
    if missing:
        raise SchemaDriftError(f"Invesco CSV header lacks {missing} (renamed?); header is {rows[0]}")
    col = {c: i for i, c in reversed(list(enumerate(header)))}
    snaps: dict[tuple[str, Any], Snapshot] = {}
    body = rows[1:]
    for n, r in enumerate(body, start=2):
        if len(r) != len(header):
            last = n == len(body) + 1
            raise PayloadError(
                f"line {n} has {len(r)} of {len(header)} fields"
                + (" (the file ends mid-row: truncated download?)" if last and ends_mid_line(text) else "")
            )
        where = f"line {n}"
        as_of = parse_us_date(r[col["date"]], ("%m/%d/%Y",), f"Date ({where})")
        etf = resolve_etf(payload, from_content=r[col["fund_ticker"]])
        snap = snaps.setdefault((etf, as_of), Snapshot(etf, as_of, "invesco_csv", "issuer"))
        snap.holdings.append(
            holding(
                r[col["holding_ticker"]],
                r[col["name"]] if "name" in col else "",
                asset_class_of(r[col["class_of_shares"]], where),
                percent_to_frac(r[col["weight"]], "Weight", where),
                where,
            )
        )
    return list(snaps.values())
