"""Builders for ETF issuer payloads in their published layouts (used by the etf_* tests).

- ``ssga_navhist``: an SSGA ``navhist-us-en-{ticker}.xlsx`` workbook built with openpyxl: sheet
  ``navhist``, a preamble (``Fund Name:``, ``Ticker Symbol:``, a blank line), the header row
  ``Date | NAV | Shares Outstanding | Total Net Assets``, rows newest first (dates as Excel dates,
  serial numbers or text, ``-`` placeholders), then a footnote line.
- ``ishares_workbook``: a SpreadsheetML 2003 fund workbook (Holdings with an unescaped ``&`` and an
  HTML ``<br>`` as in the real file, then Historical, then Performance).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from flows.sources.base import Payload

SSGA_HEADER = ("Date", "NAV", "Shares Outstanding", "Total Net Assets")
ISHARES_HEADER = ("As Of", "NAV per Share", "Ex-Dividends", "Shares Outstanding", "Non-FV NAV")


def ssga_navhist(
    rows: Sequence[Sequence[Any]],
    *,
    ticker: str | None = "XLK",
    header: Sequence[str] = SSGA_HEADER,
    sheet: str = "navhist",
    footnote: str | None = "Past performance is not a reliable indicator of future performance.",
) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(["Fund Name:", "The Technology Select Sector SPDR\u00ae Fund"])
    if ticker is not None:
        ws.append(["Ticker Symbol:", ticker])
    ws.append([])
    ws.append(list(header))
    for r in rows:
        ws.append(list(r))
        if isinstance(r[0], datetime):
            ws.cell(row=ws.max_row, column=1).number_format = "dd-mmm-yyyy"
    if footnote:
        ws.append([])
        ws.append([footnote])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _row(cells: Sequence[tuple[str, str]]) -> str:
    return (
        "<ss:Row>" + "".join(f'<ss:Cell><ss:Data ss:Type="{t}">{v}</ss:Data></ss:Cell>' for t, v in cells) + "</ss:Row>"
    )


def ishares_workbook(
    rows: Sequence[Sequence[str]], *, header: Sequence[str] = ISHARES_HEADER, close: bool = True
) -> str:
    """Text of a fund workbook; each data row is (as_of, nav, ex_div, shares, non_fv_nav) as printed."""
    parts = [
        '<?xml version="1.0"?>',
        '<ss:Workbook xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">',
        '<ss:Worksheet ss:Name="Holdings"><ss:Table>',
        _row([("String", "Ticker"), ("String", "Name")]),
        _row([("String", "XTSLA"), ("String", "BLK CSH FND TREASURY SL AGENCY & CASH")]),
        _row([("String", "Holdings are subject to change.<br>See the prospectus.")]),
        "</ss:Table></ss:Worksheet>",
        '<ss:Worksheet ss:Name="Historical"><ss:Table>',
        _row([("String", h) for h in header]),
    ]
    for r in rows:
        parts.append(_row([("String" if i in (0, 2) or v in ("--", "") else "Number", v) for i, v in enumerate(r)]))
    parts.append("</ss:Table></ss:Worksheet>")
    parts.append('<ss:Worksheet ss:Name="Performance"><ss:Table></ss:Table></ss:Worksheet>')
    if close:
        parts.append("</ss:Workbook>")
    return "\n".join(parts) + "\n"


def etf_payload(
    dataset: str, content: bytes, origin: str, *, live: bool = False, fetched_at: datetime | None = None, **hints: str
) -> Payload:
    return Payload(dataset, content, origin, fetched_at or datetime(2026, 9, 30, 12, tzinfo=UTC), live, dict(hints))
