"""iShares fund workbook: SpreadsheetML 2003 XML, worksheet ``Historical`` (SOURCES.md §4.2).

``GET https://www.ishares.com/us/products/{product_id}/{slug}/1521942788811.ajax?fileType=xls&fileName={TICKER}_fund&dataType=fund``
(served as ``application/vnd.ms-excel`` but it is XML, not binary xls; the same workbook comes from
BlackRock's ``get-fund-document`` API). Full daily history back to inception, newest first.

Layout read here: ``<ss:Workbook>`` > ``<ss:Worksheet ss:Name="Historical">`` > ``<ss:Table>`` >
``<ss:Row>`` > ``<ss:Cell [ss:Index="n"]>`` > ``<ss:Data ss:Type="String|Number">``. Header row
``As Of | NAV per Share | Ex-Dividends | Shares Outstanding [| Non-FV NAV]``; dates like
``Jan 05, 2024``; numbers plain or with thousands separators; ``--`` = not published.

The real file is not well-formed XML (unescaped ``&`` and HTML inside cells of other sheets), so
the Historical worksheet is cut out and read with tolerant regular expressions (a "recovering"
read), never with a strict XML parser. It may be UTF-16 (with or without BOM) or carry a UTF-8 BOM.
"""

from __future__ import annotations

import html
import re

from flows.errors import PayloadError, SchemaDriftError, ValidationError
from flows.sources.etf.providers import Read, ShareRow, number, parse_date_text, share_count
from flows.sources.textio import decode_text, normalise_name

SOURCE = "ishares"
AJAX_URL = (
    "https://www.ishares.com/us/products/{product_id}/{slug}/1521942788811.ajax"
    "?fileType=xls&fileName={ticker}_fund&dataType=fund"
)
PRODUCT_PAGE = "https://www.ishares.com/us/products/{product_id}/{slug}"
BLACKROCK_URL = "https://www.blackrock.com/varnish-api/blk-one01-product-data/product-data/api/v1/get-fund-document"
# Smaller bodies are error pages or empty templates (SOURCES.md §4.2: "reject bodies under ~50 KB").
MIN_BYTES = 50_000

_NS = r"(?:[\w-]+:)?"
_WORKBOOK = re.compile(rf"<{_NS}Workbook\b", re.IGNORECASE)
_WORKBOOK_END = re.compile(rf"</{_NS}Workbook\s*>\s*$", re.IGNORECASE)
_SHEET_OPEN = re.compile(rf"<{_NS}Worksheet\b([^>]*)>", re.IGNORECASE)
_SHEET_END = re.compile(rf"</{_NS}Worksheet\s*>", re.IGNORECASE)
_NAME = re.compile(rf"{_NS}Name\s*=\s*\"([^\"]*)\"", re.IGNORECASE)
_ROW = re.compile(rf"<{_NS}Row\b[^>]*?(?:/>|>(.*?)</{_NS}Row\s*>)", re.IGNORECASE | re.DOTALL)
_CELL = re.compile(rf"<{_NS}Cell\b([^>]*?)(?:/>|>(.*?)</{_NS}Cell\s*>)", re.IGNORECASE | re.DOTALL)
_INDEX = re.compile(rf"{_NS}Index\s*=\s*\"(\d+)\"", re.IGNORECASE)
_DATA = re.compile(rf"<{_NS}Data\b[^>]*>(.*?)</{_NS}Data\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_FILE_TICKER = re.compile(r"(?:^|[/=_-])([A-Za-z]{2,6})_fund\b")

REQUIRED = {"as_of": "As Of", "nav_per_share": "NAV per Share", "shares_outstanding": "Shares Outstanding"}
KNOWN = {*REQUIRED, "ex_dividends", "non_fv_nav"}


def decode(content: bytes) -> str:
    """UTF-16 without BOM (``<\\x00?\\x00xml``) is common in these downloads; the rest as ``decode_text``."""
    head = content[:4]
    if head.startswith(b"<\x00") and not content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return content.decode("utf-16-le")
    if head.startswith(b"\x00<"):
        return content.decode("utf-16-be")
    return decode_text(content)


def looks_like(text: str) -> bool:
    """A SpreadsheetML workbook (``<ss:Workbook`` or the spreadsheet namespace in the first 4 KB)."""
    head = text[:4096]
    return bool(_WORKBOOK.search(head)) or "urn:schemas-microsoft-com:office:spreadsheet" in head


def ticker_from_origin(origin: str) -> str | None:
    """``SOXX_fund.xls`` or a URL with ``fileName=SOXX_fund``."""
    m = _FILE_TICKER.search(origin.rsplit("/", 1)[-1]) or _FILE_TICKER.search(origin)
    return m.group(1).upper() if m else None


def _cells(row_xml: str) -> list[str]:
    out: list[str] = []
    for attrs, inner in _CELL.findall(row_xml):
        idx = _INDEX.search(attrs)
        if idx:  # sparse row: ss:Index is the 1-based column of this cell
            while len(out) < int(idx.group(1)) - 1:
                out.append("")
        data = _DATA.search(inner or "")
        text = data.group(1) if data else ""
        out.append(html.unescape(_TAG.sub("", text)).strip())
    return out


def historical_sheet(text: str) -> str:
    """The inner XML of the ``Historical`` worksheet; clear errors for truncated or other workbooks."""
    if not looks_like(text):
        raise SchemaDriftError("not an iShares SpreadsheetML workbook (no <ss:Workbook>)")
    names = []
    for m in _SHEET_OPEN.finditer(text):
        name = _NAME.search(m.group(1))
        names.append(name.group(1) if name else "?")
        if name and name.group(1).strip().lower() == "historical":
            end = _SHEET_END.search(text, m.end())
            if end is None:
                raise PayloadError("worksheet 'Historical' has no closing tag (truncated download?)")
            if not _WORKBOOK_END.search(text):
                raise PayloadError("the workbook has no closing </ss:Workbook> (truncated download?)")
            return text[m.end() : end.start()]
    raise SchemaDriftError(f"no worksheet 'Historical' in the workbook (worksheets: {', '.join(names) or 'none'})")


def read(content: bytes, symbol: str) -> Read:
    """Rows of the Historical worksheet for fund ``symbol``."""
    sheet = historical_sheet(decode(content))
    rows = [_cells(inner or "") for inner in _ROW.findall(sheet)]
    hi = next((i for i, r in enumerate(rows) if r and normalise_name(r[0]) == "as_of"), None)
    if hi is None:
        raise SchemaDriftError("worksheet 'Historical' has no header row starting with 'As Of'")
    header = [normalise_name(h) for h in rows[hi]]
    idx = {h: i for i, h in enumerate(header) if h}
    missing = [label for key, label in REQUIRED.items() if key not in idx]
    if missing:
        raise SchemaDriftError(
            f"worksheet 'Historical' lacks column(s) {missing} (header: {rows[hi]}); renamed by the publisher?"
        )
    out = Read([])
    unknown = [rows[hi][i] for i, h in enumerate(header) if h and h not in KNOWN]
    if unknown:
        out.warnings.append(f"unknown extra columns {unknown} in 'Historical' (loaded, ignored)")
    for n, r in enumerate(rows[hi + 1 :], start=hi + 2):
        where = f"Historical row {n}"
        cell = r[idx["as_of"]] if len(r) > idx["as_of"] else ""
        if cell.strip().lower() in ("", "-", "--"):
            out.drop("template rows without a date")
            continue
        d = parse_date_text(cell)
        if d is None:
            raise ValidationError(f"unreadable date {cell!r} in column 'As Of' ({where})")

        def get(key: str, r: list[str] = r) -> str | None:
            i = idx[key]
            return r[i] if i < len(r) else None

        row = ShareRow(
            date=d,
            symbol=symbol,
            source=SOURCE,
            shares_outstanding=share_count(get("shares_outstanding"), "Shares Outstanding", where, out.warnings),
            nav_usd=number(get("nav_per_share"), "NAV per Share", where),
        )
        if row.has_values():
            out.rows.append(row)
        else:
            out.drop("rows with '--' for both NAV and shares (not published)")
    return out
