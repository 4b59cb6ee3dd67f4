"""FINRA consolidated short interest (equities, twice monthly): parse (SOURCES.md §3.1).

Source: FINRA Query API ``POST https://api.finra.org/data/group/otcMarket/name/consolidatedShortInterest``
(and the bi-monthly file ``https://cdn.finra.org/equity/otcmarket/biweekly/shrt{YYYYMMDD}.csv``).
Grain: settlement date x symbol (FINRA ``symbolCode``, class shares without separator: ``BRKB``)
x ``series_source``. Key: ``(settlement_date, symbol, series_source)``.

Units: ``short_interest_shares`` = open short positions at settlement, shares;
``avg_daily_volume_shares`` = FINRA's average daily volume over the reporting period, shares;
``days_to_cover`` = short interest / average daily volume, days (2 dp as published; FINRA prints
a 999.99 cap when the volume is ~0). ``previous_short_interest_shares`` (shares) and the flags are
stored as attributes, not versioned.

Formats read (detected from the content):
- the Query API JSON: an array of records (``settlementDate``, ``symbolCode``,
  ``currentShortPositionQuantity``, ``averageDailyVolumeQuantity``, ``daysToCoverQuantity`` as
  float or int, ``revisionFlag``, ``stockSplitFlag``, ...); numbers may arrive as strings;
- the bi-monthly file: the same fields, ``|``-delimited with a header line and no quoting (issue
  names may hold a literal ``"``); an optional trailing record-count line is checked when present;
- the bring-your-own CSV ``settlement_date,symbol,short_interest_shares[,avg_daily_volume_shares,
  days_to_cover]`` (``series_source = 'user_csv'``, kept beside FINRA's own rows, never a revision
  of them: third-party values are often rounded).

Timing: settlement dates are the 15th and the month end (or the settlement day before); FINRA
disseminates on the 7th NYSE trading day after the settlement date; rule ``available_at`` = that
day 18:00 ET (``config/calendar.yaml`` ``finra_short_interest``, with explicit overrides).
Revisions: FINRA corrects rows in place and sets ``revisionFlag``; the live client re-pulls the
last five settlement dates, and a changed number is stored as a new version (a flag-only change
is not a new version: flags are attributes).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from flows.calendar import add_business_days, is_trading_day
from flows.config import calendar_config
from flows.errors import EmptyDataError, PayloadError, SchemaDriftError, ValidationError
from flows.pit import ny_time_to_utc
from flows.sources.base import DatasetSpec, ParsedBatch, Payload
from flows.sources.textio import decode_text, ends_mid_line, normalise_name, read_csv_rows, reject_error_pages

API_URL = "https://api.finra.org/data/group/otcMarket/name/consolidatedShortInterest"
PARTITIONS_URL = "https://api.finra.org/partitions/group/otcMarket/name/consolidatedShortInterest"
FILE_URL = "https://cdn.finra.org/equity/otcmarket/biweekly/shrt{day}.csv"
SERIES = ("finra", "user_csv")

KEY = ("settlement_date", "symbol", "series_source")
VALUES = ("short_interest_shares", "avg_daily_volume_shares", "days_to_cover")
ATTRIBUTES = ("previous_short_interest_shares", "issue_name", "market_class_code", "revision_flag", "stock_split_flag")
COLUMNS: dict[str, pl.DataType] = {
    "settlement_date": pl.Date(),
    "symbol": pl.Utf8(),
    "series_source": pl.Utf8(),
    "short_interest_shares": pl.Int64(),
    "avg_daily_volume_shares": pl.Int64(),
    "days_to_cover": pl.Float64(),
    "previous_short_interest_shares": pl.Int64(),
    "issue_name": pl.Utf8(),
    "market_class_code": pl.Utf8(),
    "revision_flag": pl.Utf8(),
    "stock_split_flag": pl.Utf8(),
}

# our column -> FINRA field (as published, camelCase) for the API JSON and the pipe file
FINRA_FIELDS: dict[str, str] = {
    "settlement_date": "settlementDate",
    "symbol": "symbolCode",
    "short_interest_shares": "currentShortPositionQuantity",
    "avg_daily_volume_shares": "averageDailyVolumeQuantity",
    "days_to_cover": "daysToCoverQuantity",
    "previous_short_interest_shares": "previousShortPositionQuantity",
    "issue_name": "issueName",
    "market_class_code": "marketClassCode",
    "revision_flag": "revisionFlag",
    "stock_split_flag": "stockSplitFlag",
}
FINRA_REQUIRED = ("settlement_date", "symbol", "short_interest_shares", "avg_daily_volume_shares", "days_to_cover")
# Published fields we know and do not store (derivable, or FINRA bookkeeping).
FINRA_KNOWN = {"accountingYearMonthNumber", "issuerServicesGroupExchangeCode", "changePercent", "changePreviousNumber"}
CANONICAL_FIELDS = ("settlement_date", "symbol", "short_interest_shares", "avg_daily_volume_shares", "days_to_cover")
CANONICAL_REQUIRED = CANONICAL_FIELDS[:3]

Source = dict[str, str]  # our column -> the source's field name


def _where(kind: str, n: int) -> str:
    return f"{kind} {n}"


def _int(value: Any, name: str, where: str, *, whole: bool = True) -> int | None:
    """A share count: int, integral float, or numeric text (``1,234`` allowed); None when empty.
    ``whole=False`` rounds a fractional value (averages) instead of refusing it."""
    if value is None or isinstance(value, bool):
        if isinstance(value, bool):
            raise ValidationError(f"text where a number belongs: {name}={value!r} ({where})")
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        f = value
    else:
        s = str(value).strip().replace(",", "")
        if s == "":
            return None
        try:
            return int(s)
        except ValueError:
            try:
                f = float(s)
            except ValueError:
                raise ValidationError(f"text where a number belongs: {name}={value!r} ({where})") from None
    if not math.isfinite(f):
        raise ValidationError(f"not a finite number: {name}={value!r} ({where})")
    if not f.is_integer():
        if whole:
            raise ValidationError(f"a share count with a fraction: {name}={value!r} ({where})")
        return round(f)
    return int(f)


def _float(value: Any, name: str, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValidationError(f"text where a number belongs: {name}={value!r} ({where})")
    if isinstance(value, (int, float)):
        f = float(value)
    else:
        s = str(value).strip().replace(",", "")
        if s == "":
            return None
        try:
            f = float(s)
        except ValueError:
            raise ValidationError(f"text where a number belongs: {name}={value!r} ({where})") from None
    if not math.isfinite(f):
        raise ValidationError(f"not a finite number: {name}={value!r} ({where})")
    return f


def _date(value: Any, name: str, where: str) -> date:
    s = "" if value is None else str(value).strip()
    try:
        if len(s) == 8 and s.isdigit():
            return date(int(s[:4]), int(s[4:6]), int(s[6:]))
        return date.fromisoformat(s[:10])
    except ValueError:
        raise ValidationError(f"unreadable settlement date {name}={value!r} ({where}; expected YYYY-MM-DD)") from None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def _records_to_frame(
    records: Iterable[tuple[int, dict[str, Any]]], source: Source, series: str, kind: str
) -> pl.DataFrame:
    """(number, record) pairs -> typed columns; every value checked with its line/record in errors."""
    out: dict[str, list[Any]] = {c: [] for c in (*COLUMNS, "_n")}

    def get(rec: dict[str, Any], col: str) -> Any:
        return rec.get(source[col]) if col in source else None

    for n, rec in records:
        where = _where(kind, n)
        symbol = _text(get(rec, "symbol"))
        if symbol is None:
            raise ValidationError(f"empty {source['symbol']} ({where})")
        symbol = symbol.upper()
        out["_n"].append(n)
        out["settlement_date"].append(_date(get(rec, "settlement_date"), source["settlement_date"], where))
        out["symbol"].append(symbol)
        out["series_source"].append(series)
        short = _int(get(rec, "short_interest_shares"), source["short_interest_shares"], where)
        if short is None:
            raise ValidationError(f"empty {source['short_interest_shares']} for {symbol} ({where})")
        out["short_interest_shares"].append(short)
        out["avg_daily_volume_shares"].append(
            _int(get(rec, "avg_daily_volume_shares"), source.get("avg_daily_volume_shares", ""), where, whole=False)
        )
        out["days_to_cover"].append(_float(get(rec, "days_to_cover"), source.get("days_to_cover", ""), where))
        out["previous_short_interest_shares"].append(
            _int(get(rec, "previous_short_interest_shares"), source.get("previous_short_interest_shares", ""), where)
        )
        for col in ("issue_name", "market_class_code", "revision_flag", "stock_split_flag"):
            out[col].append(_text(get(rec, col)))
        for col in (
            "short_interest_shares",
            "avg_daily_volume_shares",
            "days_to_cover",
            "previous_short_interest_shares",
        ):
            v = out[col][-1]
            if v is not None and v < 0:
                raise ValidationError(f"negative {source[col]}={v} for {symbol} ({where})")
    return pl.DataFrame(out, schema={**COLUMNS, "_n": pl.Int64()})


def _finra_source(names: Iterable[str]) -> tuple[Source, list[str]]:
    """Map FINRA's field names (case-insensitive) to our columns; raise on missing required ones."""
    by_norm = {normalise_name(n): n for n in names}
    source = {ours: by_norm[normalise_name(f)] for ours, f in FINRA_FIELDS.items() if normalise_name(f) in by_norm}
    missing = [FINRA_FIELDS[c] for c in FINRA_REQUIRED if c not in source]
    if missing:
        raise SchemaDriftError(f"missing required FINRA fields {missing} (renamed or dropped by the publisher?)")
    known = {normalise_name(f) for f in (*FINRA_FIELDS.values(), *FINRA_KNOWN)}
    unknown = sorted(n for n in names if normalise_name(n) not in known)
    return source, ([f"unknown extra columns {unknown} (loaded, ignored)"] if unknown else [])


def _parse_json(text: str) -> tuple[pl.DataFrame, list[str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PayloadError(f"not valid JSON (truncated?): {exc}") from None
    if isinstance(data, dict):
        msg = data.get("message") or data.get("error") or data.get("errors") or list(data)[:5]
        raise PayloadError(f"the API answered an object, not an array of records: {str(msg)[:160]}")
    if not isinstance(data, list):
        raise PayloadError(f"expected a JSON array of records, got {type(data).__name__}")
    if not data:
        raise EmptyDataError("an empty array (no records)")
    bad = next((i for i, r in enumerate(data, start=1) if not isinstance(r, dict)), None)
    if bad is not None:
        raise PayloadError(f"record {bad} is not an object: {str(data[bad - 1])[:60]!r}")
    source, warnings = _finra_source(sorted({k for rec in data for k in rec}))
    return _records_to_frame(enumerate(data, start=1), source, "finra", "record"), warnings


def _parse_pipe(text: str) -> tuple[pl.DataFrame, list[str]]:
    """FINRA's bi-monthly file: ``|``-delimited, header line, no quoting, optional count footer."""
    lines = text.splitlines()
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    header = [h.strip() for h in lines[0].split("|")]
    source, warnings = _finra_source(header)
    footer = lines[end - 1].strip() if end > 1 else ""
    body_end = end - 1 if footer.isdigit() else end
    rows = [(n + 1, lines[n].split("|")) for n in range(1, body_end) if lines[n].strip()]
    if footer.isdigit() and int(footer) != len(rows):
        raise PayloadError(f"the footer says {int(footer)} records but the file holds {len(rows)} (truncated?)")
    if not rows:
        raise EmptyDataError("a header and no rows")
    width = len(header)
    for n, r in rows:
        if len(r) != width:
            cut = " (file cut mid-line: truncated download?)" if n == rows[-1][0] else ""
            raise PayloadError(f"line {n} has {len(r)} fields, expected {width}{cut}")
    if ends_mid_line(text) and not footer.isdigit():
        last = dict(zip(header, rows[-1][1], strict=True))
        try:
            _date(last.get(source["settlement_date"]), "settlementDate", "")
        except ValidationError:
            raise PayloadError(f"the file ends mid-line (line {rows[-1][0]}): truncated download?") from None
    records = ((n, dict(zip(header, (v.strip() for v in r), strict=True))) for n, r in rows)
    return _records_to_frame(records, source, "finra", "line"), warnings


def _parse_canonical(text: str) -> tuple[pl.DataFrame, list[str]]:
    rows = read_csv_rows(text)
    header = [normalise_name(h) for h in rows[0]]
    missing = [c for c in CANONICAL_REQUIRED if c not in header]
    if missing:
        raise SchemaDriftError(
            f"header {rows[0]} lacks {missing}: expected settlement_date,symbol,short_interest_shares"
            "[,avg_daily_volume_shares,days_to_cover]"
        )
    if len(rows) < 2:
        raise EmptyDataError("a header and no rows")
    for n, r in enumerate(rows[1:], start=2):
        if len(r) != len(header):
            raise PayloadError(f"line {n} has {len(r)} of {len(header)} fields (truncated?)")
    unknown = [h for h, raw in zip(header, rows[0], strict=True) if h not in CANONICAL_FIELDS and raw]
    warnings = [f"unknown extra columns {unknown} (loaded, ignored)"] if unknown else []
    if ends_mid_line(text):
        warnings.append("the file does not end with a line break: check that its last row is complete")
    source = {c: c for c in CANONICAL_FIELDS if c in header}
    records = ((n, dict(zip(header, r, strict=True))) for n, r in enumerate(rows[1:], start=2))
    return _records_to_frame(records, source, "user_csv", "line"), warnings


def _duplicates(frame: pl.DataFrame, kind: str) -> tuple[pl.DataFrame, int]:
    """The same symbol twice for one settlement date: identical rows are dropped (counted), rows
    that disagree are refused, naming both."""
    keys = ["settlement_date", "symbol"]
    dup = frame.filter(pl.struct(keys).is_duplicated())
    if not dup.height:
        return frame, 0
    values = [*keys, *VALUES]
    conflicts = (
        dup.group_by(keys)
        .agg(pl.struct(values).n_unique().alias("_versions"), pl.col("_n").sort().alias("_where"))
        .filter(pl.col("_versions") > 1)
        .sort("_where")
    )
    if conflicts.height:
        r = conflicts.row(0, named=True)
        raise ValidationError(
            f"{r['symbol']} on {r['settlement_date']} appears twice with different values "
            f"({kind}s {', '.join(map(str, r['_where']))}; {conflicts.height} such keys); refusing the batch"
        )
    deduped = frame.unique(subset=values, keep="first", maintain_order=True)
    return deduped, frame.height - deduped.height


def release_date(settlement: date, cal: dict[str, Any]) -> date:
    """FINRA's dissemination date for a settlement date: an explicit override, else the n-th NYSE
    trading day after it (n = ``business_days_after_settlement``, 7)."""
    overrides = {
        date.fromisoformat(str(k)): date.fromisoformat(str(v)) for k, v in (cal.get("release_overrides") or {}).items()
    }
    if settlement in overrides:
        return overrides[settlement]
    return add_business_days(settlement, int(cal.get("business_days_after_settlement", 7)), federal=False)


def available_at(settlement: date, cal: dict[str, Any]) -> datetime:
    return ny_time_to_utc(release_date(settlement, cal), str(cal.get("release_time", "18:00")))


def parse(payload: Payload) -> ParsedBatch:
    """Read the API JSON, the bi-monthly pipe file or the bring-your-own CSV into
    ``raw.finra__short_interest`` rows (see the module docstring)."""
    reject_error_pages(payload.content)
    text = decode_text(payload.content)
    stripped = text.lstrip()
    first = stripped.split("\n", 1)[0]
    if stripped.startswith(("[", "{")):
        frame, warnings = _parse_json(stripped)
        kind = "record"
    elif "|" in first:
        frame, warnings = _parse_pipe(stripped)
        kind = "line"
    elif "," in first and "settlement_date" in normalise_name(first):
        frame, warnings = _parse_canonical(stripped)
        kind = "line"
    else:
        raise SchemaDriftError(
            f"unrecognised first line {first[:80]!r}: expected FINRA's JSON array, its |-delimited file "
            "(settlementDate|symbolCode|...) or settlement_date,symbol,short_interest_shares"
        )
    frame, dropped = _duplicates(frame, kind)
    odd = sorted(d for d in frame["settlement_date"].unique().to_list() if not is_trading_day(d))
    if odd:
        warnings.append(f"settlement dates that are not NYSE trading days: {', '.join(map(str, odd[:5]))}")
    cal = calendar_config()["finra_short_interest"]
    releases = {d: available_at(d, cal) for d in frame["settlement_date"].unique().to_list()}
    frame = frame.drop("_n").with_columns(
        pl.col("settlement_date")
        .replace_strict(releases, return_dtype=pl.Datetime("us", "UTC"))
        .alias("rule_available_at")
    )
    return ParsedBatch(frame, warnings, {"identical duplicate rows": dropped} if dropped else {})


SPEC = DatasetSpec(
    name="finra_short_interest",
    source="finra",
    table="raw.finra__short_interest",
    view="analytics.short_interest",
    key=KEY,
    values=VALUES,
    attributes=ATTRIBUTES,
    date_column="settlement_date",
    cadence=timedelta(days=15),
    stale_after=timedelta(days=30),
    observed_grace=timedelta(days=2),
    parse=parse,
    description="FINRA consolidated short interest (twice monthly, per symbol; API JSON, bi-monthly file, CSV)",
    source_url=API_URL,
    units={
        "short_interest_shares": "shares",
        "avg_daily_volume_shares": "shares",
        "days_to_cover": "days",
        "previous_short_interest_shares": "shares",
    },
    live="flows.sources.finra.short_interest_client:live",
)
