"""SSGA (SPDR) daily holdings workbook ``holdings-daily-us-en-{ticker}.xlsx``.

Layout (sheet ``holdings``): ``Fund Name:`` | name; ``Ticker Symbol:`` | ``XLK``; ``Holdings:`` |
``As of 18-Nov-2025`` (the holdings date, normally the business day before the download); a blank
row; the header ``Name, Ticker, Identifier, SEDOL, Weight, Sector, Shares Held, Local Currency``;
the rows; blank rows and disclaimer paragraphs. ``Weight`` is in percent (6 dp, a number cell).
Cash lines have ticker ``-`` (``SSI US GOV MONEY MARKET CLASS``, ``US DOLLAR``); the index future
is listed by its contract ticker (``IXTZ5``). The file has no asset-class column: a ``-`` or empty
ticker is cash when the name says so (money market, dollar, cash), ``other`` otherwise; a futures
contract ticker is a future; every other line is an equity.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime
from typing import Any

from flows.errors import PayloadError, SchemaDriftError
from flows.sources.base import Payload
from flows.sources.etf.holdings_formats.common import (
    FUTURE_TICKER,
    Snapshot,
    clean_symbol,
    holding,
    parse_us_date,
    percent_to_frac,
    resolve_etf,
)

XLSX_MAGIC = b"PK\x03\x04"
REQUIRED = ("name", "ticker", "weight")
_CASH_NAME = re.compile(r"money market|dollar|cash|currency|treasury bill|repo", re.IGNORECASE)
_AS_OF = re.compile(r"as of\s+(.+)$", re.IGNORECASE)


def _cell(v: Any) -> Any:
    return v.strip() if isinstance(v, str) else v


def _label(v: Any) -> str:
    return str(v).strip().lower().rstrip(":") if isinstance(v, str) else ""


def _workbook_rows(content: bytes) -> list[list[Any]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise PayloadError(f"not a readable xlsx workbook (truncated download?): {type(exc).__name__}: {exc}") from None
    try:
        sheet = next((ws for ws in wb.worksheets if ws.title.strip().lower() == "holdings"), wb.worksheets[0])
        return [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        wb.close()


def _as_of(value: Any) -> date:
    if isinstance(value, (datetime, date)):
        return parse_us_date(value, (), "Holdings: date")
    m = _AS_OF.search(str(value or "").strip())
    return parse_us_date(m.group(1) if m else value, ("%d-%b-%Y", "%m/%d/%Y", "%b %d, %Y"), "'Holdings: As of' date")


def read(content: bytes, payload: Payload) -> Snapshot:
    rows = _workbook_rows(content)
    meta: dict[str, Any] = {}
    hi = None
    for i, r in enumerate(rows):
        if not r:
            continue
        first = _label(r[0])
        if first in ("fund name", "ticker symbol", "holdings"):
            meta[first] = next((v for v in r[1:] if v not in (None, "")), None)
        elif first == "name" and "weight" in [_label(v) for v in r]:
            hi = i
            break
    if hi is None:
        raise SchemaDriftError("SSGA workbook: no header row starting with 'Name' and holding 'Weight'")
    header = [_label(v) for v in rows[hi]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise SchemaDriftError(f"SSGA workbook header lacks {missing} (renamed?); header is {rows[hi]}")
    if meta.get("holdings") is None:
        raise SchemaDriftError("SSGA workbook: no 'Holdings: As of ...' line above the table")
    col = {c: header.index(c) for c in REQUIRED}
    etf = resolve_etf(payload, from_content=str(meta.get("ticker symbol") or ""))
    snap = Snapshot(etf, _as_of(meta["holdings"]), "ssga_xlsx", "issuer")
    for n, r in enumerate(rows[hi + 1 :], start=hi + 2):
        values = [r[col[c]] if col[c] < len(r) else None for c in REQUIRED]
        if all(v in (None, "") for v in values):
            break  # blank row before the disclaimer
        name, ticker, weight = values
        where = f"row {n}"
        sym = clean_symbol(ticker)
        if not sym:
            kind = "cash" if _CASH_NAME.search(str(name or "")) else "other"
        elif FUTURE_TICKER.match(sym):
            kind = "future"
        else:
            kind = "equity"
        snap.holdings.append(holding(sym, name, kind, percent_to_frac(weight, "Weight", where), where))
    return snap
