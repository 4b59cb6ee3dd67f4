"""iShares holdings CSV (``{TICKER}_holdings.csv``, the product page's "Detailed Holdings" download).

Layout (PROVENANCE §13, SOURCES §4.2): a preamble (fund name on line 1; ``Fund Holdings as of,"Oct 24,
2023"``; inception date; ``Shares Outstanding``; Stock/Bond/Cash/Other lines; a blank line, which
is a non-breaking space plus commas in the 2023 file), then the header ``Ticker,Name,Sector,Asset
Class,Market Value,Weight (%),Notional Value,Shares|Quantity,Price,...``, the rows, and an optional
blank line plus a multi-line quoted BlackRock disclaimer. UTF-8 with BOM and CRLF (2023) or ASCII
with LF and every field quoted (2026). Weights in percent (``8.47``, ``4``, ``-0.01``); thousands
separators in quoted numbers. Asset classes: Equity, Money Market, Cash, Cash Collateral and
Margins, Futures (weight 0, notional only).

A date without a file is served as an HTTP 200 template whose as-of line reads
``Fund Holdings as of,"-"``: that is "not published", not data (``EmptyDataError``).
"""

from __future__ import annotations

import csv
import io

from flows.errors import EmptyDataError, PayloadError, SchemaDriftError
from flows.sources.base import Payload
from flows.sources.etf.holdings_formats.common import (
    Snapshot,
    asset_class_of,
    holding,
    parse_us_date,
    percent_to_frac,
    resolve_etf,
)
from flows.sources.textio import ends_mid_line

AS_OF_LABEL = "fund holdings as of"
REQUIRED = ("Ticker", "Name", "Asset Class", "Weight (%)")


def _rows(text: str) -> list[tuple[int, list[str]]]:
    """Every CSV row with the physical line it ends on; blank rows kept (they end the table)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    out = []
    try:
        for row in reader:
            out.append((reader.line_num, [f.strip() for f in row]))
    except csv.Error as exc:
        raise PayloadError(f"not a readable CSV: {exc}") from exc
    return out


def looks_like(text: str) -> bool:
    head = text[:4096].lower()
    return AS_OF_LABEL in head or ("ticker," in head and "asset class" in head and "weight (%)" in head)


def read(text: str, payload: Payload) -> Snapshot:
    rows = _rows(text)
    as_of_cell = next((r[1] for _, r in rows[:20] if r and r[0].lower().startswith(AS_OF_LABEL) and len(r) > 1), None)
    if as_of_cell is None:
        raise SchemaDriftError("no 'Fund Holdings as of' line in the preamble")
    if as_of_cell.strip() in ("-", ""):
        raise EmptyDataError("iShares template with 'Fund Holdings as of,\"-\"': no holdings published for that date")
    as_of = parse_us_date(as_of_cell, ("%b %d, %Y", "%B %d, %Y", "%m/%d/%Y"), "'Fund Holdings as of' date")
    hi = next((i for i, (_, r) in enumerate(rows) if r and r[0] == "Ticker"), None)
    if hi is None:
        raise SchemaDriftError("no header row starting with 'Ticker'")
    header = rows[hi][1]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise SchemaDriftError(f"header lacks {missing} (renamed?); header is {header}")
    col = {c: header.index(c) for c in REQUIRED}
    fund_name = rows[0][1][0] if rows and rows[0][1] else None
    snap = Snapshot(resolve_etf(payload, fund_name=fund_name), as_of, "ishares_csv", "issuer")
    body = rows[hi + 1 :]
    for k, (line, r) in enumerate(body):
        if not any(r):
            break  # the blank line before the disclaimer
        if len(r) < len(header):
            last = k == len(body) - 1
            raise PayloadError(
                f"line {line} has {len(r)} of {len(header)} fields"
                + (" (the file ends mid-row: truncated download?)" if last else "")
            )
        where = f"line {line}"
        snap.holdings.append(
            holding(
                r[col["Ticker"]],
                r[col["Name"]],
                asset_class_of(r[col["Asset Class"]], where),
                percent_to_frac(r[col["Weight (%)"]], "Weight (%)", where),
                where,
            )
        )
    else:
        if body and ends_mid_line(text):
            raise PayloadError("the file ends mid-line inside the holdings table (truncated download?)")
    return snap
