"""Cboe put/call ratios and volumes: parse (SOURCES.md §1).

Grain: trade date x segment (``total``, ``equity``, ``index``, ``etp``, ``vix``, ``spx``) x
``series_source``. Units: volumes and open interest in contracts; ratio = puts / calls,
dimensionless, 2 dp as published. Cadence: trading days; public the evening of the trade date
(rule: 18:00 ET, ``config/calendar.yaml``).

Formats (detected from content):
- Cboe archive CSVs as published (``totalpc.csv``, ``equitypc.csv``, ``indexpc.csv``, ...):
  optional preamble lines (a disclaimer, ``, PRODUCT:INDEX,,EXCHANGE: Cboe,``), mixed ``M/D/YYYY``
  and 2-digit years, leading spaces, ``CALL``/``CALLS`` and ``P/C Ratio``/``Ratio`` header variants.
  The segment comes from the ``PRODUCT:`` preamble, the header words, the file name
  (``equitypc``...) or the ``segment`` hint (``flowscope import --segment``), in that order.
- The daily statistics JSON (``{YYYY-MM-DD}_daily_options``), one trading day per file; the date
  comes from the ``trade_date`` hint (live fetch) or the file name.
- The bring-your-own CSV ``date,segment,put_call_ratio[,call_volume,put_volume]``.

Definitions differ by era (``source_era``): the archive covers the Cboe Options Exchange only and
ends 2019-10-04; the JSON sums all Cboe options exchanges from 2019-10-07, and its SPX is SPX+SPXW.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from flows.config import calendar_config
from flows.errors import EmptyDataError, PayloadError, SchemaDriftError, ValidationError
from flows.pit import cboe_available_at
from flows.sources.base import DatasetSpec, ParsedBatch, Payload
from flows.sources.textio import decode_text, ends_mid_line, normalise_name, read_csv_rows, reject_error_pages

SEGMENTS = ("total", "equity", "index", "etp", "vix", "spx")
JSON_ERA_START = date(2019, 10, 7)
DAILY_JSON_URL = "https://cdn.cboe.com/data/us/options/market_statistics/daily/{day}_daily_options"

# segment -> (section of the daily JSON, ratio name in its `ratios` list)
JSON_SECTIONS: dict[str, tuple[str, str]] = {
    "total": ("SUM OF ALL PRODUCTS", "TOTAL PUT/CALL RATIO"),
    "index": ("INDEX OPTIONS", "INDEX PUT/CALL RATIO"),
    "etp": ("EXCHANGE TRADED PRODUCTS", "EXCHANGE TRADED PRODUCTS PUT/CALL RATIO"),
    "equity": ("EQUITY OPTIONS", "EQUITY PUT/CALL RATIO"),
    "vix": ("CBOE VOLATILITY INDEX (VIX)", "CBOE VOLATILITY INDEX (VIX) PUT/CALL RATIO"),
    "spx": ("SPX + SPXW", "SPX + SPXW PUT/CALL RATIO"),
}
_PRODUCT = re.compile(r"PRODUCT:\s*([A-Z ]+)", re.IGNORECASE)
_FILE_SEGMENT = re.compile(r"(total|equity|index|etp|vix|spx)pc", re.IGNORECASE)
_FILE_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})_daily_options")
_PRODUCT_WORDS = {
    "TOTAL": "total",
    "INDEX": "index",
    "EQUITY": "equity",
    "ETP": "etp",
    "EXCHANGE TRADED": "etp",
    "VIX": "vix",
    "SPX": "spx",
}
MAX_RATIO = 10.0

COLUMNS = {
    "trade_date": pl.Date,
    "segment": pl.Utf8,
    "series_source": pl.Utf8,
    "put_call_ratio": pl.Float64,
    "call_volume_contracts": pl.Int64,
    "put_volume_contracts": pl.Int64,
    "total_volume_contracts": pl.Int64,
    "call_open_interest_contracts": pl.Int64,
    "put_open_interest_contracts": pl.Int64,
    "source_era": pl.Utf8,
}


def parse_date(text: str) -> date | None:
    """``M/D/YYYY``, ``MM/DD/YY`` or ISO (``2003-10-17 00:00:00``); None when not a date."""
    s = text.strip()
    for fmt in ("%m/%d/%Y", "%m/%d/%y"):
        try:
            return datetime.strptime(s, fmt).date()
        except ValueError:
            pass
    try:
        return date.fromisoformat(s[:10])
    except ValueError:
        return None


def _num(value: Any, column: str, where: str, integer: bool) -> float | int | None:
    if value is None:
        return None
    s = str(value).strip().replace(",", "")
    if s in ("", ".", "-", "N/A"):
        return None
    try:
        return int(float(s)) if integer else float(s)
    except ValueError:
        raise ValidationError(f"text where a number belongs: {column}={value!r} ({where})") from None


def _era(d: date) -> str:
    return "all_cboe" if d >= JSON_ERA_START else "exchange_only"


def _segment_of_archive(preamble: list[list[str]], header: list[str], payload: Payload) -> str:
    if payload.hints.get("segment"):
        return _check_segment(payload.hints["segment"])
    for row in preamble:
        m = _PRODUCT.search(",".join(row))
        if m:
            word = m.group(1).strip().upper()
            for k, v in _PRODUCT_WORDS.items():
                if word.startswith(k):
                    return v
    words = " ".join(header[1:]).upper()
    for k in ("EQUITY", "SPX", "VIX", "INDEX", "ETP"):
        if words.startswith(k) or f" {k} " in f" {words} ":
            return _PRODUCT_WORDS[k]
    m = _FILE_SEGMENT.search(payload.origin.rsplit("/", 1)[-1])
    if m:
        return m.group(1).lower()
    raise PayloadError(
        "cannot tell which segment (total/equity/index/etp/vix/spx) this archive holds: "
        "name the file like equitypc.csv or pass --segment"
    )


def _check_segment(seg: str) -> str:
    s = seg.strip().lower()
    if s not in SEGMENTS:
        raise ValidationError(f"unknown segment {seg!r} (expected one of {', '.join(SEGMENTS)})")
    return s


def _archive_columns(header: list[str]) -> dict[str, int]:
    cols: dict[str, int] = {}
    for i, h in enumerate(header[1:], start=1):
        u = h.upper()
        if "RATIO" in u:
            cols.setdefault("ratio", i)
        elif "TOTAL" in u:
            cols.setdefault("total", i)
        elif "CALL" in u:
            cols.setdefault("call", i)
        elif "PUT" in u:
            cols.setdefault("put", i)
    missing = [c for c in ("call", "put", "ratio") if c not in cols]
    if missing:
        raise SchemaDriftError(f"archive header {header} lacks the {missing} column(s)")
    return cols


def _parse_archive(text: str, payload: Payload) -> ParsedBatch:
    rows = read_csv_rows(text)
    hi = next((i for i, r in enumerate(rows) if r and normalise_name(r[0]) in ("date", "trade_date")), None)
    if hi is None:
        raise SchemaDriftError("no header row starting with DATE / Date / Trade_date")
    header = rows[hi]
    cols = _archive_columns(header)
    segment = _segment_of_archive(rows[:hi], header, payload)
    standard = [normalise_name(h) for h in header[:5]] in (
        ["date", "call", "put", "total", "p_c_ratio"],
        ["date", "calls", "puts", "total", "p_c_ratio"],
        ["date", "call", "put", "total", "ratio"],
        ["date", "calls", "puts", "total", "ratio"],
    )
    series = "cboe_archive" if standard or segment == "spx" else "cboe_archive_old"
    out: list[dict[str, Any]] = []
    notes = 0
    body = rows[hi + 1 :]
    for n, r in enumerate(body, start=hi + 2):
        d = parse_date(r[0])
        if d is None:
            notes += 1
            continue
        if len(r) < len(header):
            last = n == hi + 1 + len(body)
            raise PayloadError(
                f"line {n} has {len(r)} of {len(header)} fields" + (" (file cut mid-line: truncated?)" if last else "")
            )
        where = f"line {n}"
        out.append(
            {
                "trade_date": d,
                "segment": segment,
                "series_source": series,
                "put_call_ratio": _num(r[cols["ratio"]], "ratio", where, False),
                "call_volume_contracts": _num(r[cols["call"]], "call volume", where, True),
                "put_volume_contracts": _num(r[cols["put"]], "put volume", where, True),
                "total_volume_contracts": _num(r[cols["total"]], "total volume", where, True)
                if "total" in cols
                else None,
                "call_open_interest_contracts": None,
                "put_open_interest_contracts": None,
                "source_era": "exchange_only",
            }
        )
    if out and ends_mid_line(text) and parse_date(body[-1][0]) and _last_row_cut(out[-1], "total" in cols):
        raise PayloadError(
            f"the file ends mid-line and its last line {','.join(body[-1])!r} is incomplete "
            "or inconsistent (truncated download?)"
        )
    dropped = {"note lines without a date": notes} if notes else {}
    return ParsedBatch(pl.DataFrame(out, schema=COLUMNS), dropped=dropped)


def _last_row_cut(row: dict[str, Any], has_total: bool) -> bool:
    """For a text without a final line break: does its last row look cut short? A cut inside the
    last field keeps the field count; but the archives' ratio is puts / calls rounded to 2 dp and
    their total is calls + puts, so lost digits show up as an inconsistency."""
    call, put = row["call_volume_contracts"], row["put_volume_contracts"]
    ratio, total = row["put_call_ratio"], row["total_volume_contracts"]
    if ratio is None or call is None or put is None or (has_total and total is None):
        return True
    if has_total and total != call + put:
        return True
    return bool(call) and abs(put / call - ratio) > 0.006


def _parse_canonical(text: str) -> ParsedBatch:
    rows = read_csv_rows(text)
    header = [normalise_name(h) for h in rows[0]]
    idx = {h: i for i, h in enumerate(header)}
    out = []
    for n, r in enumerate(rows[1:], start=2):
        if len(r) != len(header):
            raise PayloadError(f"line {n} has {len(r)} of {len(header)} fields (truncated?)")
        d = parse_date(r[idx["date"]])
        if d is None:
            raise ValidationError(f"unreadable date {r[idx['date']]!r} (line {n})")
        where = f"line {n}"
        out.append(
            {
                "trade_date": d,
                "segment": _check_segment(r[idx["segment"]]),
                "series_source": "user_csv",
                "put_call_ratio": _num(r[idx["put_call_ratio"]], "put_call_ratio", where, False),
                "call_volume_contracts": _num(r[idx["call_volume"]], "call_volume", where, True)
                if "call_volume" in idx
                else None,
                "put_volume_contracts": _num(r[idx["put_volume"]], "put_volume", where, True)
                if "put_volume" in idx
                else None,
                "total_volume_contracts": None,
                "call_open_interest_contracts": None,
                "put_open_interest_contracts": None,
                "source_era": _era(d),
            }
        )
    unknown = [h for h in header if h not in ("date", "segment", "put_call_ratio", "call_volume", "put_volume")]
    warnings = [f"unknown extra columns {unknown} (loaded, ignored)"] if unknown else []
    return ParsedBatch(pl.DataFrame(out, schema=COLUMNS), warnings=warnings)


def _json_trade_date(doc: dict[str, Any], payload: Payload) -> date:
    if payload.hints.get("trade_date"):
        return date.fromisoformat(payload.hints["trade_date"])
    for key in ("date", "tradeDate", "trade_date", "dt"):
        if isinstance(doc.get(key), str) and parse_date(doc[key]):
            return parse_date(doc[key])  # type: ignore[return-value]
    m = _FILE_DATE.search(payload.origin)
    if m:
        return date.fromisoformat(m.group(1))
    raise PayloadError("cannot tell the trade date: name the file YYYY-MM-DD_daily_options[.json]")


def _parse_daily_json(text: str, payload: Payload) -> ParsedBatch:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PayloadError(f"not valid JSON (truncated?): {exc}") from None
    if not isinstance(doc, dict) or "ratios" not in doc:
        keys = list(doc)[:6] if isinstance(doc, dict) else type(doc).__name__
        raise SchemaDriftError(f"not a Cboe daily statistics JSON (no 'ratios'; keys {keys})")
    d = _json_trade_date(doc, payload)
    upper = {str(k).strip().upper(): v for k, v in doc.items()}
    ratios = {str(r.get("name", "")).strip().upper(): r.get("value") for r in doc.get("ratios") or []}
    out = []
    warnings = []
    for seg, (section, ratio_name) in JSON_SECTIONS.items():
        rows = upper.get(section)
        if not isinstance(rows, list):
            continue
        by_name = {str(r.get("name", "")).strip().upper(): r for r in rows if isinstance(r, dict)}
        vol, oi = by_name.get("VOLUME", {}), by_name.get("OPEN INTEREST", {})
        where = f"{section}"
        ratio = _num(ratios.get(ratio_name), ratio_name, where, False)
        calls = _num(vol.get("call"), "call volume", where, True)
        if ratio == 0 and not calls:
            # Cboe prints 0.00 for a segment that did not trade (e.g. equity on 2025-01-09):
            # puts / no calls has no value, it is not a ratio out of range.
            ratio = None
            warnings.append(f"{seg}: ratio 0.00 with no call volume (no trading), stored as missing")
        out.append(
            {
                "trade_date": d,
                "segment": seg,
                "series_source": "cboe_daily_json",
                "put_call_ratio": ratio,
                "call_volume_contracts": calls,
                "put_volume_contracts": _num(vol.get("put"), "put volume", where, True),
                "total_volume_contracts": _num(vol.get("total"), "total volume", where, True),
                "call_open_interest_contracts": _num(oi.get("call"), "call open interest", where, True),
                "put_open_interest_contracts": _num(oi.get("put"), "put open interest", where, True),
                "source_era": _era(d),
            }
        )
    if not any(r["segment"] == "total" for r in out):
        raise SchemaDriftError("daily JSON has no 'SUM OF ALL PRODUCTS' section")
    return ParsedBatch(pl.DataFrame(out, schema=COLUMNS), warnings=warnings)


def check_ranges(frame: pl.DataFrame) -> None:
    """Ratios must lie in (0, 10); volumes must not be negative."""
    bad = frame.filter((pl.col("put_call_ratio") <= 0) | (pl.col("put_call_ratio") >= MAX_RATIO))
    if bad.height:
        r = bad.row(0, named=True)
        raise ValidationError(
            f"{bad.height} put/call ratios outside (0, {MAX_RATIO:g}), first {r['put_call_ratio']} "
            f"on {r['trade_date']} ({r['segment']})"
        )
    vols = ("call_volume_contracts", "put_volume_contracts", "total_volume_contracts")
    neg = frame.filter(pl.any_horizontal(pl.col(c) < 0 for c in vols))
    if neg.height:
        raise ValidationError(f"{neg.height} rows with negative volumes")


def parse(payload: Payload) -> ParsedBatch:
    """Read an archive CSV, a daily JSON or the bring-your-own CSV into ``raw.cboe__put_call`` rows."""
    reject_error_pages(payload.content)
    text = decode_text(payload.content)
    stripped = text.lstrip()
    if stripped.startswith("{"):
        batch = _parse_daily_json(stripped, payload)
    elif normalise_name(stripped.split("\n", 1)[0]).startswith("date_segment_put_call_ratio"):
        batch = _parse_canonical(text)
    else:
        batch = _parse_archive(text, payload)
    if batch.frame.is_empty():
        raise EmptyDataError("no data rows")
    check_ranges(batch.frame)
    cal = calendar_config()["cboe_putcall"]
    releases = {d: cboe_available_at(d, cal) for d in batch.frame["trade_date"].unique().to_list()}
    batch.frame = batch.frame.with_columns(
        pl.col("trade_date").replace_strict(releases, return_dtype=pl.Datetime("us", "UTC")).alias("rule_available_at")
    )
    return batch


SPEC = DatasetSpec(
    name="cboe_putcall",
    source="cboe",
    table="raw.cboe__put_call",
    view="analytics.put_call",
    key=("trade_date", "segment", "series_source"),
    values=(
        "put_call_ratio",
        "call_volume_contracts",
        "put_volume_contracts",
        "total_volume_contracts",
        "call_open_interest_contracts",
        "put_open_interest_contracts",
    ),
    attributes=("source_era",),
    date_column="trade_date",
    cadence=timedelta(days=1),
    stale_after=timedelta(days=5),
    observed_grace=timedelta(days=1),
    parse=parse,
    description="Cboe put/call ratios and volumes (daily; total, equity, index, etp, vix, spx)",
    source_url=DAILY_JSON_URL,
    units={"put_call_ratio": "ratio", "call_volume_contracts": "contracts", "put_volume_contracts": "contracts"},
    live="flows.sources.cboe.client:live",
)
