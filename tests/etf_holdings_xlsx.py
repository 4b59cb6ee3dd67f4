"""An SSGA ``holdings-daily-us-en-xlk.xlsx`` built with openpyxl in the published layout.

Sheet ``holdings``: ``Fund Name:`` / ``Ticker Symbol:`` / ``Holdings:`` (``As of 18-Nov-2025``),
a blank row, the header ``Name, Ticker, Identifier, SEDOL, Weight, Sector, Shares Held, Local
Currency``, rows with the weight as a number in percent (6 dp), the two cash lines with ticker
``-``, the index future by its contract ticker, then blank rows and a disclaimer paragraph (as in
the MitchellRLayton conversion of the real file, PROVENANCE §13). No SSGA workbook is in
shared/data, so the tests build one.
"""

from __future__ import annotations

import io
from typing import Any

HEADER = ["Name", "Ticker", "Identifier", "SEDOL", "Weight", "Sector", "Shares Held", "Local Currency"]

# name, ticker, identifier, SEDOL, weight (%), sector, shares held, currency
ROWS: list[list[Any]] = [
    ["NVIDIA CORP", "NVDA", "67066G104", "2379504", 14.59997, "-", 70123456, "USD"],
    ["APPLE INC", "AAPL", "037833100", "2046251", 13.094606, "-", 45678901, "USD"],
    ["MICROSOFT CORP", "MSFT", "594918104", "2588173", 12.109779, "-", 21098765, "USD"],
    ["BROADCOM INC", "AVGO", "11135F101", "BDZ78H9", 5.28, "-", 12345678, "USD"],
    ["ORACLE CORP", "ORCL", "68389X105", "2661568", 54.833614, "-", 98765432, "USD"],
    ["SSI US GOV MONEY MARKET CLASS", "-", "857492888", "-", 0.075949, "-", 61234567, "USD"],
    ["US DOLLAR", "-", "-", "-", 0.003074, "-", 2481234, "USD"],
    ["XAK TECHNOLOGY    DEC25", "IXTZ5", "IXTZ5", "-", 0.00206, "-", 112, "USD"],
]
DISCLAIMER = (
    "Portfolio holdings, allocations and weightings are as of the date indicated, are subject to change and "
    "should not be considered a recommendation to buy individual securities. For most recent information "
    "visit www.ssga.com."
)


def ssga_holdings_xlsx(
    ticker: str = "XLK",
    as_of: str = "As of 18-Nov-2025",
    rows: list[list[Any]] | None = None,
    header: list[str] | None = None,
) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "holdings"
    ws.append(["Fund Name:", "The Technology Select Sector SPDR\u00ae Fund"])
    ws.append(["Ticker Symbol:", ticker])
    ws.append(["Holdings:", as_of])
    ws.append([])
    ws.append(header or HEADER)
    for r in ROWS if rows is None else rows:
        ws.append(r)
    ws.append([])
    ws.append([])
    ws.append([DISCLAIMER])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
