"""FRED interest-rate series (DGS10, the 10-year Treasury constant-maturity yield): parse (SOURCES.md §7).

Source: Board of Governors H.15 via FRED, ``https://fred.stlouisfed.org/graph/fredgraph.csv?id=DGS10``
(keyless) or the FRED API ``https://api.stlouisfed.org/fred/series/observations`` (key).
Grain: series x observation date (bond-market days). Key: ``(series_id, date)``.
Units: ``yield_frac`` is a fraction: FRED publishes percent, ``4.25`` is stored as ``0.0425``.
Cadence: bond-market days; not published on bond-market holidays that are equity trading days
(Columbus Day, Veterans Day).

Missing values: FRED writes ``.`` (older files, the API) or leaves the value empty (newer
fredgraph files) for a date it lists without a value (a bond-market holiday). Such dates are
stored as rows with ``yield_frac`` null (FRED said "no value for this date", which is not the same
as a date we never saw); ``analytics.rates`` leaves them out. A file that omits holidays simply has
no row for them: nothing is written, nothing is removed.

available_at (rule): observation date + 1 calendar day, 09:00 New York (``config/calendar.yaml``
``fred_rates``; SOURCES §7: FRED posts day t in the afternoon of t [verify]). A live fetch that
sees the value before the rule time is evidence of earlier publication and wins (``observed``);
``observed_grace`` = 0, so a fetch after the rule time never moves ``available_at`` later.

Revisions: H.15 values are rarely revised; a changed value for a stored date (from any of the
formats, all published by FRED) is a new version. Vintage queries of the API (ALFRED: several
``realtime_start`` per date) keep the latest vintage of each date.

Formats (detected from content):
- fredgraph CSV, header ``observation_date,DGS10`` (current) or ``DATE,DGS10`` (older); several
  series columns (``?id=DGS10,DGS2``) give one series each;
- FRED API JSON ``{observations: [{realtime_start, realtime_end, date, value}]}``; the series id
  comes from the ``series_id`` hint (live client), ``series_id=`` in the origin URL, or the file
  name (``DGS10.json``, ``fred_DGS10_2026.json``).
"""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from flows.config import calendar_config
from flows.errors import ConfigError, EmptyDataError, PayloadError, SchemaDriftError, ValidationError
from flows.pit import ny_time_to_utc
from flows.sources.base import DatasetSpec, ParsedBatch, Payload
from flows.sources.textio import decode_text, ends_mid_line, normalise_name, read_csv_rows, reject_error_pages

CSV_URL = "https://fred.stlouisfed.org/graph/fredgraph.csv"
API_URL = "https://api.stlouisfed.org/fred/series/observations"
# Plausible range of a rate in percent; outside it the value is an error, not a rate.
MIN_PCT, MAX_PCT = -5.0, 30.0

COLUMNS = {"series_id": pl.Utf8, "date": pl.Date, "yield_frac": pl.Float64}
_SERIES = re.compile(r"^[A-Z0-9][A-Z0-9_]{1,29}$")
_MISSING = {"", "."}
_ORIGIN_ID = re.compile(r"series_id=([A-Za-z0-9_]+)")
_NAME_ID = re.compile(r"(?:^|[_\-.])([A-Z][A-Z0-9]{2,29})(?=[_\-.]|$)")


def _date(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(f"unreadable date {text!r} ({where})") from None


def _pct_to_frac(value: Any, series_id: str, where: str) -> float | None:
    """FRED percent text -> fraction; ``.``/empty -> None."""
    s = "" if value is None else str(value).strip()
    if s in _MISSING:
        return None
    try:
        pct = float(s)
    except ValueError:
        raise ValidationError(f"text where a number belongs: {series_id}={value!r} ({where})") from None
    if not math.isfinite(pct) or not MIN_PCT <= pct <= MAX_PCT:
        raise ValidationError(f"{series_id}={value!r} percent is outside [{MIN_PCT:g}, {MAX_PCT:g}] ({where})")
    return round(pct / 100.0, 10)


def _parse_csv(text: str, payload: Payload) -> ParsedBatch:
    rows = read_csv_rows(text)
    if not rows:
        raise EmptyDataError("no lines")
    header = rows[0]
    if normalise_name(header[0]) not in ("observation_date", "date"):
        raise SchemaDriftError(f"fredgraph CSV header {header[:4]} does not start with observation_date or DATE")
    if len(header) < 2:
        raise SchemaDriftError(f"fredgraph CSV header {header} has no series column")
    series = [h.strip() for h in header[1:]]
    bad = [s for s in series if not _SERIES.match(s)]
    if bad:
        raise SchemaDriftError(f"fredgraph CSV columns {bad} are not FRED series ids (renamed header?)")
    hint = payload.hints.get("series_id")
    if hint and hint.strip().upper() not in series:
        raise ValidationError(f"the file holds {series} but the series_id hint says {hint}")
    out = []
    for n, r in enumerate(rows[1:], start=2):
        where = f"line {n}"
        if len(r) < len(header):
            last = n == len(rows)
            raise PayloadError(
                f"line {n} has {len(r)} of {len(header)} fields" + (" (file cut mid-line: truncated?)" if last else "")
            )
        d = _date(r[0], where)
        for i, sid in enumerate(series, start=1):
            out.append({"series_id": sid, "date": d, "yield_frac": _pct_to_frac(r[i], sid, where)})
    if ends_mid_line(text) and len(rows) > 3 and _looks_cut(rows):
        raise PayloadError(
            f"the file ends mid-line and its last line {','.join(rows[-1])!r} looks cut (truncated download?)"
        )
    return ParsedBatch(pl.DataFrame(out, schema=COLUMNS))


def _looks_cut(rows: list[list[str]]) -> bool:
    """FRED writes every rate with the same number of decimals (2): a last value with fewer, or an
    empty last field, in a text without a final line break is a cut."""

    def decimals(v: str) -> int | None:
        v = v.strip()
        return None if v in _MISSING else len(v.partition(".")[2])

    last = rows[-1][-1].strip()
    if last in _MISSING:
        return True
    before = [d for r in rows[max(1, len(rows) - 21) : -1] if (d := decimals(r[-1])) is not None]
    return bool(before) and decimals(last) < min(before)  # type: ignore[operator]


def _series_of_json(payload: Payload) -> str:
    if payload.hints.get("series_id"):
        sid = payload.hints["series_id"].strip().upper()
    elif m := _ORIGIN_ID.search(payload.origin):
        sid = m.group(1).upper()
    elif m := _NAME_ID.search(payload.origin.rsplit("/", 1)[-1].rsplit(".", 1)[0]):
        sid = m.group(1)
    else:
        raise PayloadError(
            "cannot tell which FRED series this API answer holds: name the file like DGS10.json "
            "(the JSON does not carry the series id)"
        )
    if not _SERIES.match(sid):
        raise PayloadError(f"{sid!r} is not a FRED series id")
    return sid


def _parse_json(text: str, payload: Payload) -> ParsedBatch:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PayloadError(f"not valid JSON (truncated?): {exc}") from None
    if isinstance(doc, dict) and "error_code" in doc:
        raise PayloadError(f"FRED API error {doc.get('error_code')}: {str(doc.get('error_message', ''))[:200]}")
    if not isinstance(doc, dict) or not isinstance(doc.get("observations"), list):
        keys = list(doc)[:6] if isinstance(doc, dict) else type(doc).__name__
        raise SchemaDriftError(f"not a FRED API observations answer (no 'observations' list; keys {keys})")
    units = doc.get("units")
    if units not in (None, "lin"):
        raise ValidationError(f"FRED API answer in units {units!r}: levels ('lin') expected, not a transformation")
    sid = _series_of_json(payload)
    latest: dict[date, tuple[str, float | None]] = {}
    older = 0
    for n, obs in enumerate(doc["observations"]):
        where = f"observations[{n}]"
        if not isinstance(obs, dict) or "date" not in obs or "value" not in obs:
            raise SchemaDriftError(f"{where} lacks date/value: {str(obs)[:80]}")
        d = _date(str(obs["date"]), where)
        value = _pct_to_frac(obs["value"], sid, where)
        vintage = str(obs.get("realtime_start", ""))
        if d in latest:
            older += 1
            if vintage <= latest[d][0]:
                continue
        latest[d] = (vintage, value)
    out = [{"series_id": sid, "date": d, "yield_frac": v} for d, (_, v) in sorted(latest.items())]
    dropped = {"older vintages of the same date (ALFRED)": older} if older else {}
    return ParsedBatch(pl.DataFrame(out, schema=COLUMNS), dropped=dropped)


def _calendar() -> dict[str, Any]:
    cal = calendar_config().get("fred_rates")
    if not isinstance(cal, dict):
        raise ConfigError("config/calendar.yaml has no 'fred_rates' section (release rule of FRED rates)")
    return cal


def release_at(d: date, cal: dict[str, Any] | None = None) -> datetime:
    """Rule available_at of observation date ``d``: ``d + days_after`` at ``release_time`` New York, as UTC."""
    cal = cal if cal is not None else _calendar()
    return ny_time_to_utc(d + timedelta(days=int(cal.get("days_after", 1))), str(cal.get("release_time", "09:00")))


def parse(payload: Payload) -> ParsedBatch:
    """Read a fredgraph CSV or a FRED API JSON into ``raw.fred__rates`` rows (see the module docstring)."""
    reject_error_pages(payload.content)
    text = decode_text(payload.content)
    stripped = text.lstrip()
    batch = _parse_json(stripped, payload) if stripped.startswith(("{", "[")) else _parse_csv(text, payload)
    if batch.frame.is_empty():
        raise EmptyDataError("no observations")
    if batch.frame["yield_frac"].is_null().all():
        raise EmptyDataError(f"{batch.frame.height} observations, none with a value")
    cal = _calendar()
    releases = {d: release_at(d, cal) for d in batch.frame["date"].unique().to_list()}
    batch.frame = batch.frame.with_columns(
        pl.col("date").replace_strict(releases, return_dtype=pl.Datetime("us", "UTC")).alias("rule_available_at")
    )
    return batch


SPEC = DatasetSpec(
    name="rates",
    source="fred",
    table="raw.fred__rates",
    view="analytics.rates",
    key=("series_id", "date"),
    values=("yield_frac",),
    attributes=(),
    date_column="date",
    cadence=timedelta(days=1),
    stale_after=timedelta(days=7),
    observed_grace=timedelta(0),
    parse=parse,
    description="FRED rates (DGS10 10-year Treasury yield), daily, as fractions",
    source_url=f"{CSV_URL}?id=DGS10",
    units={"yield_frac": "fraction (0.0425 = 4.25%)"},
    live="flows.sources.fred.client:live",
)
