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


def socrata_rows(dates: tuple[str, ...] = ("2026-07-28", "2026-08-04"), code: str = "209742") -> list[dict[str, str]]:
    """Socrata gpe5-46if rows in the real shape: numbers as strings, some fields without `_all`.

    Values are those of the 2026-08-04 NASDAQ MINI line of the CFTC file (consistent positions)."""
    base = {
        "market_and_exchange_names": "NASDAQ MINI - CHICAGO MERCANTILE EXCHANGE",
        "cftc_contract_market_code": code,
        "cftc_market_code": "CME",
        "cftc_region_code": "00",
        "cftc_commodity_code": "209",
        "open_interest_all": "303624",
        "dealer_positions_long_all": "71439",
        "dealer_positions_short_all": "62690",
        "dealer_positions_spread_all": "5740",
        "asset_mgr_positions_long": "99819",
        "asset_mgr_positions_short": "35460",
        "asset_mgr_positions_spread": "5041",
        "lev_money_positions_long": "57097",
        "lev_money_positions_short": "135430",
        "lev_money_positions_spread": "10951",
        "other_rept_positions_long": "13715",
        "other_rept_positions_short": "7687",
        "other_rept_positions_spread": "57",
        "tot_rept_positions_long_all": "263859",
        "tot_rept_positions_short": "263056",
        "nonrept_positions_long_all": "39765",
        "nonrept_positions_short_all": "40568",
        "futonly_or_combined": "FutOnly",
    }
    return [base | {"report_date_as_yyyy_mm_dd": f"{d}T00:00:00.000"} for d in dates]


def cboe_day_json(calls: int = 10000, puts: int = 9000) -> dict[str, object]:
    """A Cboe daily statistics JSON in the real shape (`ratios` + per-product sections)."""
    sections = {
        "SUM OF ALL PRODUCTS": (calls, puts),
        "INDEX OPTIONS": (1000, 1200),
        "EXCHANGE TRADED PRODUCTS": (3000, 4000),
        "EQUITY OPTIONS": (5000, 3000),
        "CBOE VOLATILITY INDEX (VIX)": (700, 300),
        "SPX + SPXW": (900, 1100),
    }
    doc: dict[str, object] = {
        k: [
            {"name": "VOLUME", "call": c, "put": p, "total": c + p},
            {"name": "OPEN INTEREST", "call": c * 10, "put": p * 10, "total": (c + p) * 10},
        ]
        for k, (c, p) in sections.items()
    }
    doc["ratios"] = [
        {"name": "TOTAL PUT/CALL RATIO", "value": f"{puts / calls:.2f}"},
        {"name": "EQUITY PUT/CALL RATIO", "value": "0.60"},
    ]
    return doc


def hold_writer_lock(warehouse_path: str):  # type: ignore[no-untyped-def]
    """Start another process that holds the warehouse writer lock; returns the Popen (kill it)."""
    import subprocess
    import sys

    code = (
        "import os, sys, time\n"
        "os.environ['FLOWSCOPE_WAREHOUSE'] = sys.argv[1]\n"
        "from flows.warehouse import writer_lock\n"
        "with writer_lock():\n"
        "    print('held', flush=True)\n"
        "    time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, warehouse_path], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc
