"""CFTC Commitments of Traders, Traders in Financial Futures (TFF), futures only: parse.

Source: https://www.cftc.gov/MarketReports/CommitmentsofTraders (SOURCES.md §2).
Grain: one contract (``contract_code`` = CFTC contract market code, e.g. ``209742`` E-mini
Nasdaq-100) x one report date (positions at Tuesday's close; Monday in some holiday weeks).
Units: positions and open interest in contracts. Cadence weekly; released Friday 15:30 ET
(next federal business day after holidays; shutdown backlogs in ``config/calendar.yaml``).
Revisions: CFTC republishes corrected weeks; a changed value is stored as a new version.

Formats read (detected from content, never from the file name):
- annual text ``FinFutYY.txt`` (87 columns, quoted header, space padding, ``.`` = missing);
- annual zip ``fut_fin_txt_YYYY.zip`` (checked for the ``PK`` signature) holding that text;
- weekly ``FinFutWk.txt``: same 87 columns, no header;
- Socrata JSON of dataset ``gpe5-46if`` (numbers as strings, lower-case field names).
Rows are keyed on the contract code, never the market name (names changed in 2022).
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, timedelta
from typing import Any

import polars as pl

from flows.config import calendar_config
from flows.errors import PayloadError, SchemaDriftError, ValidationError
from flows.pit import cftc_available_at
from flows.sources.base import DatasetSpec, ParsedBatch, Payload
from flows.sources.textio import (
    decode_text,
    ends_mid_line,
    normalise_name,
    read_csv_rows,
    reject_error_pages,
)

SOCRATA_DATASET = "gpe5-46if"
API_URL = f"https://publicreporting.cftc.gov/resource/{SOCRATA_DATASET}.json"

# The 87 columns of the TFF futures-only text files, in order (headerless weekly file uses it).
TEXT_COLUMNS: tuple[str, ...] = tuple(
    [
        "Market_and_Exchange_Names",
        "As_of_Date_In_Form_YYMMDD",
        "Report_Date_as_YYYY-MM-DD",
        "CFTC_Contract_Market_Code",
        "CFTC_Market_Code",
        "CFTC_Region_Code",
        "CFTC_Commodity_Code",
        "Open_Interest_All",
        "Dealer_Positions_Long_All",
        "Dealer_Positions_Short_All",
        "Dealer_Positions_Spread_All",
        "Asset_Mgr_Positions_Long_All",
        "Asset_Mgr_Positions_Short_All",
        "Asset_Mgr_Positions_Spread_All",
        "Lev_Money_Positions_Long_All",
        "Lev_Money_Positions_Short_All",
        "Lev_Money_Positions_Spread_All",
        "Other_Rept_Positions_Long_All",
        "Other_Rept_Positions_Short_All",
        "Other_Rept_Positions_Spread_All",
        "Tot_Rept_Positions_Long_All",
        "Tot_Rept_Positions_Short_All",
        "NonRept_Positions_Long_All",
        "NonRept_Positions_Short_All",
        "Change_in_Open_Interest_All",
        "Change_in_Dealer_Long_All",
        "Change_in_Dealer_Short_All",
        "Change_in_Dealer_Spread_All",
        "Change_in_Asset_Mgr_Long_All",
        "Change_in_Asset_Mgr_Short_All",
        "Change_in_Asset_Mgr_Spread_All",
        "Change_in_Lev_Money_Long_All",
        "Change_in_Lev_Money_Short_All",
        "Change_in_Lev_Money_Spread_All",
        "Change_in_Other_Rept_Long_All",
        "Change_in_Other_Rept_Short_All",
        "Change_in_Other_Rept_Spread_All",
        "Change_in_Tot_Rept_Long_All",
        "Change_in_Tot_Rept_Short_All",
        "Change_in_NonRept_Long_All",
        "Change_in_NonRept_Short_All",
        "Pct_of_Open_Interest_All",
        "Pct_of_OI_Dealer_Long_All",
        "Pct_of_OI_Dealer_Short_All",
        "Pct_of_OI_Dealer_Spread_All",
        "Pct_of_OI_Asset_Mgr_Long_All",
        "Pct_of_OI_Asset_Mgr_Short_All",
        "Pct_of_OI_Asset_Mgr_Spread_All",
        "Pct_of_OI_Lev_Money_Long_All",
        "Pct_of_OI_Lev_Money_Short_All",
        "Pct_of_OI_Lev_Money_Spread_All",
        "Pct_of_OI_Other_Rept_Long_All",
        "Pct_of_OI_Other_Rept_Short_All",
        "Pct_of_OI_Other_Rept_Spread_All",
        "Pct_of_OI_Tot_Rept_Long_All",
        "Pct_of_OI_Tot_Rept_Short_All",
        "Pct_of_OI_NonRept_Long_All",
        "Pct_of_OI_NonRept_Short_All",
        "Traders_Tot_All",
        "Traders_Dealer_Long_All",
        "Traders_Dealer_Short_All",
        "Traders_Dealer_Spread_All",
        "Traders_Asset_Mgr_Long_All",
        "Traders_Asset_Mgr_Short_All",
        "Traders_Asset_Mgr_Spread_All",
        "Traders_Lev_Money_Long_All",
        "Traders_Lev_Money_Short_All",
        "Traders_Lev_Money_Spread_All",
        "Traders_Other_Rept_Long_All",
        "Traders_Other_Rept_Short_All",
        "Traders_Other_Rept_Spread_All",
        "Traders_Tot_Rept_Long_All",
        "Traders_Tot_Rept_Short_All",
        "Conc_Gross_LE_4_TDR_Long_All",
        "Conc_Gross_LE_4_TDR_Short_All",
        "Conc_Gross_LE_8_TDR_Long_All",
        "Conc_Gross_LE_8_TDR_Short_All",
        "Conc_Net_LE_4_TDR_Long_All",
        "Conc_Net_LE_4_TDR_Short_All",
        "Conc_Net_LE_8_TDR_Long_All",
        "Conc_Net_LE_8_TDR_Short_All",
        "Contract_Units",
        "CFTC_Contract_Market_Code_Quotes",
        "CFTC_Market_Code_Quotes",
        "CFTC_Commodity_Code_Quotes",
        "CFTC_SubGroup_Code",
        "FutOnly_or_Combined",
    ]
)
_KNOWN = {normalise_name(c) for c in TEXT_COLUMNS}

# Our column -> accepted source names (normalised). Socrata drops `_all` on some fields.
POSITIONS: dict[str, tuple[str, ...]] = {
    "open_interest_contracts": ("open_interest_all",),
    "dealer_long_contracts": ("dealer_positions_long_all",),
    "dealer_short_contracts": ("dealer_positions_short_all",),
    "dealer_spread_contracts": ("dealer_positions_spread_all",),
    "asset_mgr_long_contracts": ("asset_mgr_positions_long_all", "asset_mgr_positions_long"),
    "asset_mgr_short_contracts": ("asset_mgr_positions_short_all", "asset_mgr_positions_short"),
    "asset_mgr_spread_contracts": ("asset_mgr_positions_spread_all", "asset_mgr_positions_spread"),
    "lev_funds_long_contracts": ("lev_money_positions_long_all", "lev_money_positions_long"),
    "lev_funds_short_contracts": ("lev_money_positions_short_all", "lev_money_positions_short"),
    "lev_funds_spread_contracts": ("lev_money_positions_spread_all", "lev_money_positions_spread"),
    "other_rept_long_contracts": ("other_rept_positions_long_all", "other_rept_positions_long"),
    "other_rept_short_contracts": ("other_rept_positions_short_all", "other_rept_positions_short"),
    "other_rept_spread_contracts": ("other_rept_positions_spread_all", "other_rept_positions_spread"),
    "tot_rept_long_contracts": ("tot_rept_positions_long_all", "tot_rept_positions_long"),
    "tot_rept_short_contracts": ("tot_rept_positions_short_all", "tot_rept_positions_short"),
    "nonrept_long_contracts": ("nonrept_positions_long_all", "nonrept_positions_long"),
    "nonrept_short_contracts": ("nonrept_positions_short_all", "nonrept_positions_short"),
}
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "market_name": ("market_and_exchange_names",),
    "cftc_market_code": ("cftc_market_code",),
    "cftc_region_code": ("cftc_region_code",),
    "cftc_commodity_code": ("cftc_commodity_code",),
    "cftc_subgroup_code": ("cftc_subgroup_code", "commodity_subgroup_code"),
    "contract_units": ("contract_units",),
    "futonly_or_combined": ("futonly_or_combined",),
}
KEY: dict[str, tuple[str, ...]] = {
    "contract_code": ("cftc_contract_market_code",),
    "report_date": ("report_date_as_yyyy_mm_dd",),
}
REQUIRED = (
    *KEY,
    "open_interest_contracts",
    "dealer_long_contracts",
    "dealer_short_contracts",
    "asset_mgr_long_contracts",
    "asset_mgr_short_contracts",
    "lev_funds_long_contracts",
    "lev_funds_short_contracts",
    "market_name",
)
OPTIONAL_ATTRS = ("cftc_subgroup_code", "contract_units", "futonly_or_combined")


def _resolve_columns(names: list[str]) -> dict[str, int | str]:
    """Map our columns to positions/keys in the source header; raise on missing required ones."""
    norm = {normalise_name(n): n for n in names}
    out: dict[str, Any] = {}
    for ours, aliases in {**KEY, **POSITIONS, **ATTRIBUTES}.items():
        hit = next((norm[a] for a in aliases if a in norm), None)
        if hit is not None:
            out[ours] = hit
    missing = [c for c in REQUIRED if c not in out]
    if missing:
        sources = {**KEY, **POSITIONS, **ATTRIBUTES}
        named = "; ".join(f"{c} (source column {' or '.join(sources[c])})" for c in missing)
        raise SchemaDriftError(f"missing required columns: {named} (renamed or dropped by the publisher?)")
    return out


def _to_int(value: Any, column: str, line: int) -> int | None:
    if value is None:
        return None
    s = str(value).strip()
    if s in ("", "."):
        return None
    try:
        return int(s)
    except ValueError:
        try:
            f = float(s)
        except ValueError:
            raise ValidationError(f"text where a number belongs: {column}={s!r} (row {line})") from None
        if not f.is_integer():
            raise ValidationError(f"non-integer contract count {column}={s!r} (row {line})") from None
        return int(f)


def _to_date(value: Any, line: int) -> date:
    s = str(value).strip()[:10]
    try:
        return date.fromisoformat(s)
    except ValueError:
        raise ValidationError(f"unreadable report date {value!r} (row {line})") from None


def _records_to_frame(records: list[dict[str, Any]], colmap: dict[str, Any]) -> pl.DataFrame:
    out: dict[str, list[Any]] = {c: [] for c in (*KEY, *POSITIONS, *ATTRIBUTES)}
    for i, rec in enumerate(records, start=1):
        out["contract_code"].append(str(rec[colmap["contract_code"]] or "").strip() or None)
        out["report_date"].append(_to_date(rec[colmap["report_date"]], i))
        for col in POSITIONS:
            out[col].append(_to_int(rec.get(colmap[col]), col, i) if col in colmap else None)
        for col in ATTRIBUTES:
            raw = rec.get(colmap[col]) if col in colmap else None
            out[col].append(str(raw).strip() or None if raw is not None else None)
    schema = {c: pl.Int64 for c in POSITIONS} | {c: pl.Utf8 for c in ATTRIBUTES}
    schema |= {"contract_code": pl.Utf8, "report_date": pl.Date}
    return pl.DataFrame(out, schema=schema)


def _last_line_whole(header: list[str], row: list[str]) -> bool:
    """For a text without a final line break: is its last line whole? A cut inside the last
    field keeps the field count, so check that the FutOnly_or_Combined flag reads in full."""
    flags = [v for h, v in zip(header, row, strict=True) if normalise_name(h) == "futonly_or_combined"]
    return bool(flags) and flags[0].strip().lower() in ("futonly", "combined")


def _parse_text(text: str, origin: str) -> tuple[pl.DataFrame, list[str]]:
    rows = read_csv_rows(text)
    if not rows:
        raise PayloadError("no rows")
    warnings: list[str] = []
    # Any known column name marks a header, so a renamed first column is reported as schema
    # drift instead of the header line being read as data.
    header_present = any(normalise_name(f) in _KNOWN for f in rows[0])
    header = rows[0] if header_present else list(TEXT_COLUMNS)
    body = rows[1:] if header_present else rows
    if not header_present and len(rows[0]) != len(TEXT_COLUMNS):
        raise SchemaDriftError(
            f"not a TFF text file: no header and {len(rows[0])} fields per line "
            f"(the weekly file has {len(TEXT_COLUMNS)})"
        )
    width = len(header)
    for n, row in enumerate(body, start=2 if header_present else 1):
        if len(row) != width:
            cut = " (file cut mid-line: truncated download?)" if n == len(body) + header_present else ""
            raise PayloadError(f"line {n} has {len(row)} fields, expected {width}{cut}")
    if ends_mid_line(text) and body and not _last_line_whole(header, body[-1]):
        raise PayloadError("the file ends mid-line (truncated download?)")
    unknown = [h for h in header if normalise_name(h) not in _KNOWN]
    if unknown:
        warnings.append(f"unknown extra columns {unknown} (loaded, ignored)")
    colmap = _resolve_columns(header)
    idx = {h: i for i, h in enumerate(header)}
    records = [{h: row[idx[h]] for h in header} for row in body]
    return _records_to_frame(records, colmap), warnings


def _parse_json(content: bytes) -> tuple[pl.DataFrame, list[str]]:
    try:
        data = json.loads(decode_text(content))
    except json.JSONDecodeError as exc:
        raise PayloadError(f"not valid JSON (truncated?): {exc}") from None
    if isinstance(data, dict):
        msg = data.get("message") or data.get("error") or list(data)[:5]
        raise PayloadError(f"Socrata answered an error object, not rows: {msg}")
    if not isinstance(data, list):
        raise PayloadError("Socrata JSON must be an array of rows")
    if not data:
        return _records_to_frame([], {}), []
    names = sorted({k for rec in data for k in rec})
    colmap = _resolve_columns(names)
    return _records_to_frame(data, colmap), []


def _unzip(content: bytes) -> str:
    try:
        zf = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as exc:
        raise PayloadError(f"a corrupt or truncated zip: {exc}") from None
    members = [n for n in zf.namelist() if n.lower().endswith(".txt")]
    if len(members) != 1:
        raise PayloadError(f"expected one .txt inside the zip, found {zf.namelist()}")
    return decode_text(zf.read(members[0]))


def parse(payload: Payload) -> ParsedBatch:
    """Read any of the four TFF formats into rows of ``raw.cftc__tff`` (see module docstring)."""
    content = payload.content
    if content.startswith(b"PK\x03\x04"):
        frame, warnings = _parse_text(_unzip(content), payload.origin)
    else:
        if payload.origin.lower().endswith(".zip"):
            raise PayloadError(f"named .zip but not a zip (starts with {content[:12]!r})")
        reject_error_pages(content)
        stripped = content.lstrip(b"\xef\xbb\xbf \t\r\n")
        if stripped.startswith((b"[", b"{")):
            frame, warnings = _parse_json(content)
        else:
            frame, warnings = _parse_text(decode_text(content), payload.origin)
    combined = frame.filter(pl.col("futonly_or_combined").str.to_lowercase().str.contains("comb"))
    if combined.height:
        raise ValidationError("this is a futures-and-options combined report; cftc_tff takes futures only")
    cal = calendar_config()["cftc_tff"]
    releases = {d: cftc_available_at(d, cal) for d in frame["report_date"].unique().to_list()}
    frame = frame.with_columns(
        pl.col("report_date").replace_strict(releases, return_dtype=pl.Datetime("us", "UTC")).alias("rule_available_at")
    )
    return ParsedBatch(frame, warnings)


SPEC = DatasetSpec(
    name="cftc_tff",
    source="cftc",
    table="raw.cftc__tff",
    view="analytics.cot_positioning",
    key=tuple(KEY),
    values=tuple(POSITIONS),
    attributes=tuple(ATTRIBUTES),
    date_column="report_date",
    cadence=timedelta(days=7),
    stale_after=timedelta(days=10),
    observed_grace=timedelta(days=3),
    parse=parse,
    description="CFTC Traders in Financial Futures, futures only (weekly, Tuesday positions)",
    source_url=API_URL,
    units={c: "contracts" for c in POSITIONS},
    live="flows.sources.cftc.client:live",
)
