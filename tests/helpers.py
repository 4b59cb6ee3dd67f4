"""Builders for small payloads in the real formats, used by integration tests."""

from __future__ import annotations

from datetime import UTC, datetime

from flows.sources.base import Payload
from flows.sources.cftc.tff import TEXT_COLUMNS

NQ_NAME = "NASDAQ MINI - CHICAGO MERCANTILE EXCHANGE"


def tff_line(
    code: str,
    report_date: str,
    oi: int,
    am_long: int = 100,
    am_short: int = 40,
    lev_long: int = 50,
    lev_short: int = 90,
    name: str = NQ_NAME,
) -> str:
    """One TFF futures-only text line: 87 fields, space-padded numbers, padded codes.

    Positions are consistent as the report defines them: reportable long = sum of category longs
    and spreads, open interest = reportable + non-reportable (on each side)."""
    yymmdd = report_date[2:].replace("-", "")
    values = {c: "       0" for c in TEXT_COLUMNS}
    values.update(
        {
            "Market_and_Exchange_Names": f'"{name}"',
            "As_of_Date_In_Form_YYMMDD": yymmdd,
            "Report_Date_as_YYYY-MM-DD": report_date,
            "CFTC_Contract_Market_Code": code,
            "CFTC_Market_Code": "CME ",
            "CFTC_Region_Code": "00",
            "CFTC_Commodity_Code": "209 ",
            "Open_Interest_All": f"{oi:>9}",
            "Asset_Mgr_Positions_Long_All": f"{am_long:>9}",
            "Asset_Mgr_Positions_Short_All": f"{am_short:>9}",
            "Lev_Money_Positions_Long_All": f"{lev_long:>9}",
            "Lev_Money_Positions_Short_All": f"{lev_short:>9}",
            "Tot_Rept_Positions_Long_All": f"{am_long + lev_long:>9}",
            "Tot_Rept_Positions_Short_All": f"{am_short + lev_short:>9}",
            "NonRept_Positions_Long_All": f"{oi - am_long - lev_long:>9}",
            "NonRept_Positions_Short_All": f"{oi - am_short - lev_short:>9}",
            "Change_in_Open_Interest_All": ".",
            "Contract_Units": '"(NASDAQ 100 INDEX X $20)"',
            "CFTC_SubGroup_Code": "F10",
            "FutOnly_or_Combined": "FutOnly",
        }
    )
    return ",".join(values[c] for c in TEXT_COLUMNS)


def tff_text(lines: list[str], header: bool = True, eol: str = "\n") -> bytes:
    head = [",".join(f'"{c}"' for c in TEXT_COLUMNS)] if header else []
    return (eol.join(head + lines) + eol).encode("latin-1")


def payload(
    dataset: str,
    content: bytes,
    origin: str = "test.txt",
    live: bool = False,
    fetched_at: datetime | None = None,
    **hints: str,
) -> Payload:
    return Payload(dataset, content, origin, fetched_at or datetime.now(UTC), live, dict(hints))
