"""State Street SPDR NAV history workbook ``navhist-us-en-{ticker}.xlsx`` (SOURCES.md §4.3).

``GET https://www.ssga.com/library-content/products/fund-data/etfs/us/navhist-us-en-{ticker}.xlsx``
(ticker lower case). A real xlsx (zip, ``PK`` signature), sheet ``navhist``: a short preamble
(``Fund Name:``, ``Ticker Symbol:`` ...), then the header row whose first cell is ``Date`` with
columns ``Date, NAV, Shares Outstanding, Total Net Assets``; daily since inception (XLK from
2003-12-01). Dates may be Excel dates, Excel serial numbers or text (``09-Jul-2026``); ``-``
placeholders stand for missing values (shares and assets), never zero. Footnotes below the table
(no date, no values) are skipped.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from flows.errors import PayloadError, SchemaDriftError, ValidationError
from flows.sources.etf.providers import Read, ShareRow, cell_date, check_ticker, number, share_count
from flows.sources.textio import normalise_name

SOURCE = "ssga"
NAVHIST_URL = "https://www.ssga.com/library-content/products/fund-data/etfs/us/navhist-us-en-{ticker}.xlsx"
SHEET = "navhist"
_FILE_TICKER = re.compile(r"navhist-us-en-([a-z0-9]{1,6})", re.IGNORECASE)
REQUIRED = {"date": "Date", "nav": "NAV", "shares_outstanding": "Shares Outstanding"}
KNOWN = {*REQUIRED, "total_net_assets"}


def ticker_from_origin(origin: str) -> str | None:
    m = _FILE_TICKER.search(origin)
    return m.group(1).upper() if m else None


def _rows(content: bytes) -> list[tuple[Any, ...]]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise PayloadError(f"not a readable xlsx workbook (truncated download?): {exc}") from None
    try:
        sheet = next((ws for ws in wb.worksheets if ws.title.strip().lower() == SHEET), None)
        if sheet is None:
            raise SchemaDriftError(f"no sheet '{SHEET}' in the workbook (sheets: {wb.sheetnames})")
        return [tuple(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        wb.close()


def _text(v: Any) -> str:
    return "" if v is None else str(v).strip()


def read(content: bytes, symbol: str | None) -> Read:
    """Rows of the ``navhist`` sheet; the ticker comes from ``Ticker Symbol:`` when ``symbol`` is None."""
    rows = _rows(content)
    hi = next((i for i, r in enumerate(rows) if r and normalise_name(_text(r[0])) == "date"), None)
    if hi is None:
        raise SchemaDriftError(f"sheet '{SHEET}' has no header row whose first cell is 'Date'")
    for r in rows[:hi]:
        if r and normalise_name(_text(r[0])) in ("ticker_symbol", "ticker") and len(r) > 1 and _text(r[1]):
            found = check_ticker(_text(r[1]), f"sheet '{SHEET}' preamble")
            if symbol and found != symbol:
                raise ValidationError(f"the workbook is for {found}, not {symbol}")
            symbol = found
    if not symbol:
        raise PayloadError("cannot tell the fund: no 'Ticker Symbol:' line; name the file navhist-us-en-<ticker>.xlsx")
    header = [normalise_name(_text(h)) for h in rows[hi]]
    idx = {h: i for i, h in enumerate(header) if h}
    missing = [label for key, label in REQUIRED.items() if key not in idx]
    if missing:
        raise SchemaDriftError(
            f"sheet '{SHEET}' lacks column(s) {missing} (header: {[_text(h) for h in rows[hi] if h is not None]})"
        )
    out = Read([])
    unknown = [_text(rows[hi][i]) for i, h in enumerate(header) if h and h not in KNOWN]
    if unknown:
        out.warnings.append(f"unknown extra columns {unknown} in '{SHEET}' (loaded, ignored)")

    def get(r: tuple[Any, ...], key: str) -> Any:
        i = idx.get(key)
        return r[i] if i is not None and i < len(r) else None

    for n, r in enumerate(rows[hi + 1 :], start=hi + 2):
        if all(_text(v) == "" for v in r):
            continue  # blank line
        where = f"{SHEET} row {n}"
        first = get(r, "date")
        values = [get(r, k) for k in ("nav", "shares_outstanding", "total_net_assets")]
        d = cell_date(first)
        if d is None:
            if all(number_or_none(v) is None for v in values):
                out.drop("note lines without a date")
                continue
            raise ValidationError(f"unreadable date {first!r} in column 'Date' ({where})")
        row = ShareRow(
            date=d,
            symbol=symbol,
            source=SOURCE,
            shares_outstanding=share_count(get(r, "shares_outstanding"), "Shares Outstanding", where, out.warnings),
            nav_usd=number(get(r, "nav"), "NAV", where),
            total_net_assets_usd=number(get(r, "total_net_assets"), "Total Net Assets", where),
        )
        if row.has_values():
            out.rows.append(row)
        else:
            out.drop("rows with '-' placeholders only")
    return out


def number_or_none(v: Any) -> float | None:
    """For telling footnotes from data: a value that does not read as a number counts as absent."""
    try:
        return number(v, "", "")
    except ValidationError:
        return None
