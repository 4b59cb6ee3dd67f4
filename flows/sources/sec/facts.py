"""SEC EDGAR XBRL company facts: parse (SOURCES.md §6).

Source: ``https://data.sec.gov/api/xbrl/companyfacts/CIK##########.json`` (one company per file;
live client in ``flows.sources.sec.client``). Layout: ``{cik, entityName, facts: {taxonomy: {tag:
{label, description, units: {unit: [{start?, end, val, accn, fy, fp, form, filed, frame?}]}}}}}``.

Grain: one fact row as SEC lists it = one value of one concept for one period in one filing.
Every row is kept (the original filing, later comparatives, amendments, recast 8-Ks): the same
period repeats once per filing that reports it, sometimes with a different (restated) value, and
the point-in-time rules of the fundamentals mart (``flows.sources.sec.fundamentals``) need them all.

Key: ``(cik, taxonomy, tag, unit, period_start, period_end, accn)``. Facts are immutable filing
events: a changed ``value`` under the same key (SEC re-processing a filing) is a revision, stored as
a new version. Instants (balance-sheet items, cover-page share counts) have no ``start``: they are
stored with ``period_start = period_end`` and ``period_type = 'instant'`` (a concept is either
instant or duration, so this cannot collide with a duration).

Columns and units:
- ``cik``: 10-digit zero-padded Central Index Key (text); ``taxonomy`` (``us-gaap``, ``dei``,
  ``ifrs-full``, ``srt``...); ``tag`` (the concept, e.g. ``Revenues``); ``unit`` as SEC names it
  (``USD``, ``shares``, ``USD/shares``, ``pure``...); ``period_start``/``period_end`` dates;
  ``accn`` accession number of the filing.
- ``value``: the fact's value in ``unit`` (double; exact for integers below 2**53).
- attributes (stored, not versioned): ``entity_name``; ``ticker`` (the ``ticker`` hint of a live
  fetch or the file's own ``ticker`` field, else null); ``period_type`` (``duration``/``instant``);
  ``fy``, ``fp`` (fiscal year/period *of the filing*, not of the fact: never use them to classify a
  period), ``form`` (``10-K``, ``10-Q``, ``8-K``, ``10-K/A``, ...), ``filed_date`` (date only),
  ``frame`` (SEC's calendar-frame label; SEC moves it between facts over time, hence not versioned).

Dates: ``filed_date`` is the batch's date column (a filing date after the load date is impossible;
period ends of forward-dated facts are not). ``rule_available_at`` = ``filed_date`` at 22:00 ET
(``config/calendar.yaml`` ``sec_facts``): EDGAR accepts filings until 22:00 ET and nothing accepted
later carries that filing date, so it is the latest moment the fact can have become public. We do
not use the earlier 16:00 ET ("that day's close") suggested in SOURCES §6.4: every NVDA and MSFT
10-Q/10-K of 2019-2025 in the submissions files was accepted after 16:00 ET (16:01-20:44 on its
filing date, three NVDA ones the evening before), so 16:00 would be look-ahead. The exact
``acceptanceDateTime`` (submissions JSON) is not ingested: at daily resolution the rule equals
METHODS §4.5's "next session" for after-close filings, which they almost all are. A live fetch
that saw the fact before the rule time wins (``observed``; ``observed_grace`` 0: a later
observation adds nothing to the rule).

Cadence: per filing (quarterly per company, plus 8-Ks and amendments).

Formats (from content): the companyfacts JSON as served (also gzip-compressed), including trimmed
files that keep whole fact rows for fewer concepts (extra top-level fields such as ``ticker``,
``fetched`` are read or ignored). Refused: HTML/XML error pages, truncated JSON, a JSON without
``facts`` (the ticker map and the submissions JSON are recognised and named), rows without
``end``/``val``/``accn``/``filed``/``form``, text where a number belongs, unreadable dates, a start
after the end. The same key listed twice with different values (not seen in the real files) keeps
the first as SEC lists it, with a warning, rather than refusing the whole company.
"""

from __future__ import annotations

import gzip
import json
import math
import zlib
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from flows.config import calendar_config
from flows.errors import EmptyDataError, PayloadError, SchemaDriftError, ValidationError
from flows.pit import ny_time_to_utc
from flows.sources.base import DatasetSpec, ParsedBatch, Payload
from flows.sources.textio import decode_text, reject_error_pages

COMPANYFACTS_URL = "https://data.sec.gov/api/xbrl/companyfacts/CIK{cik}.json"

KEY = ("cik", "taxonomy", "tag", "unit", "period_start", "period_end", "accn")
VALUES = ("value",)
ATTRIBUTES = ("entity_name", "ticker", "period_type", "fy", "fp", "form", "filed_date", "frame")
SCHEMA: dict[str, Any] = {
    "cik": pl.Utf8,
    "taxonomy": pl.Utf8,
    "tag": pl.Utf8,
    "unit": pl.Utf8,
    "period_start": pl.Date,
    "period_end": pl.Date,
    "accn": pl.Utf8,
    "value": pl.Float64,
    "entity_name": pl.Utf8,
    "ticker": pl.Utf8,
    "period_type": pl.Utf8,
    "fy": pl.Int64,
    "fp": pl.Utf8,
    "form": pl.Utf8,
    "filed_date": pl.Date,
    "frame": pl.Utf8,
}
REQUIRED_FIELDS = ("end", "val", "accn", "filed", "form")
KNOWN_FIELDS = frozenset({"start", "end", "val", "accn", "fy", "fp", "form", "filed", "frame"})


def normalise_cik(value: Any) -> str:
    """``320193``, ``"0000320193"`` or ``"CIK0000320193"`` -> ``"0000320193"``."""
    s = str(value).strip().upper().removeprefix("CIK")
    if not s.isdigit() or len(s) > 10:
        raise ValidationError(f"not a CIK: {value!r}")
    return s.zfill(10)


def sec_available_at(filed: date, cal: dict[str, Any] | None = None) -> datetime:
    """The latest moment a filing with filing date ``filed`` was public: ``filed`` at the
    configured time (22:00 ET, when EDGAR stops accepting filings for that date), in UTC."""
    cal = calendar_config()["sec_facts"] if cal is None else cal
    return ny_time_to_utc(filed, str(cal.get("release_time", "22:00")))


def load_json(content: bytes) -> Any:
    """Bytes as served (plain or gzip) -> parsed JSON; clear errors for pages and truncation."""
    if content[:2] == b"\x1f\x8b":
        try:
            content = gzip.decompress(content)
        except (EOFError, OSError, zlib.error) as exc:
            raise PayloadError(f"a corrupt or truncated gzip file: {exc}") from None
    reject_error_pages(content)
    text = decode_text(content)
    head = text.lstrip()[:1]
    if head not in ("{", "["):
        raise PayloadError(f"not a JSON document (it starts with {text.lstrip()[:40]!r})")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PayloadError(
            f"not valid JSON (truncated download?): {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def _not_companyfacts(doc: Any) -> SchemaDriftError:
    if isinstance(doc, dict) and doc and all(isinstance(v, dict) and "cik_str" in v for v in list(doc.values())[:5]):
        return SchemaDriftError("this is the SEC ticker map (company_tickers.json): import it as dataset sec_tickers")
    if isinstance(doc, dict) and "filings" in doc:
        return SchemaDriftError("this is an EDGAR submissions JSON, not companyfacts (no 'facts' object)")
    keys = list(doc)[:6] if isinstance(doc, dict) else f"a JSON {type(doc).__name__}"
    return SchemaDriftError(f"no 'facts' object: not a companyfacts JSON (top level: {keys})")


def _date(value: Any, field: str, where: str) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ValidationError(f"unreadable date {field}={value!r} ({where})") from None


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"text where a number belongs: val={value!r} ({where})")
    if not math.isfinite(value):
        raise ValidationError(f"val={value!r} is not a finite number ({where})")
    return float(value)


def _fy(value: Any, where: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError(f"text where a fiscal year belongs: fy={value!r} ({where})") from None


def parse_companyfacts(doc: Any, payload: Payload) -> ParsedBatch:
    """A parsed companyfacts object -> one row per fact (see module docstring)."""
    if not isinstance(doc, dict) or "facts" not in doc:
        raise _not_companyfacts(doc)
    facts = doc["facts"]
    if not isinstance(facts, dict):
        raise SchemaDriftError(f"'facts' must be an object of taxonomies, got {type(facts).__name__}")
    cik_raw = doc.get("cik") if doc.get("cik") not in (None, "") else payload.hints.get("cik")
    if cik_raw in (None, ""):
        raise SchemaDriftError("no 'cik' in the companyfacts JSON (and no cik hint)")
    cik = normalise_cik(cik_raw)
    entity = str(doc.get("entityName") or "").strip() or None
    ticker = (payload.hints.get("ticker") or str(doc.get("ticker") or "")).strip().upper() or None

    seen: dict[tuple[Any, ...], float] = {}
    cols: dict[str, list[Any]] = {c: [] for c in SCHEMA}
    unknown: set[str] = set()
    conflicts: list[str] = []
    for taxonomy, concepts in facts.items():
        if not isinstance(concepts, dict):
            raise SchemaDriftError(f"facts.{taxonomy} must be an object of concepts")
        for tag, concept in concepts.items():
            units = concept.get("units") if isinstance(concept, dict) else None
            if not isinstance(units, dict):
                raise SchemaDriftError(f"{taxonomy}:{tag} has no 'units' object")
            for unit, rows in units.items():
                if not isinstance(rows, list):
                    raise SchemaDriftError(f"{taxonomy}:{tag} [{unit}] must be a list of fact rows")
                for i, r in enumerate(rows, start=1):
                    where = f"{taxonomy}:{tag} [{unit}] row {i}"
                    if not isinstance(r, dict):
                        raise SchemaDriftError(f"{where} is not an object")
                    missing = [f for f in REQUIRED_FIELDS if r.get(f) in (None, "")]
                    if missing:
                        raise SchemaDriftError(f"{where} lacks {missing} (fields {sorted(r)})")
                    unknown.update(set(r) - KNOWN_FIELDS)
                    end = _date(r["end"], "end", where)
                    has_start = r.get("start") not in (None, "")
                    start = _date(r["start"], "start", where) if has_start else end
                    if start > end:
                        raise ValidationError(f"start {start} after end {end} ({where})")
                    value = _number(r["val"], where)
                    accn = str(r["accn"]).strip()
                    key = (taxonomy, tag, unit, start, end, accn)
                    if key in seen:
                        if seen[key] != value:
                            what = f"{value:.15g} vs {seen[key]:.15g} kept"
                            conflicts.append(f"{where} ({start}..{end}, accn {accn}): {what}")
                        continue
                    seen[key] = value
                    cols["cik"].append(cik)
                    cols["taxonomy"].append(taxonomy)
                    cols["tag"].append(tag)
                    cols["unit"].append(unit)
                    cols["period_start"].append(start)
                    cols["period_end"].append(end)
                    cols["accn"].append(accn)
                    cols["value"].append(value)
                    cols["entity_name"].append(entity)
                    cols["ticker"].append(ticker)
                    cols["period_type"].append("duration" if has_start else "instant")
                    cols["fy"].append(_fy(r.get("fy"), where))
                    fp = r.get("fp")
                    cols["fp"].append(str(fp).strip() if fp not in (None, "") else None)
                    cols["form"].append(str(r["form"]).strip())
                    cols["filed_date"].append(_date(r["filed"], "filed", where))
                    frame = r.get("frame")
                    cols["frame"].append(str(frame).strip() if frame not in (None, "") else None)
    frame_ = pl.DataFrame(cols, schema=SCHEMA)
    if frame_.is_empty():
        raise EmptyDataError(f"companyfacts for CIK {cik} holds no fact rows")
    warnings = []
    if unknown:
        warnings.append(f"unknown fields in fact rows {sorted(unknown)} (ignored)")
    if conflicts:
        warnings.append(
            f"{len(conflicts)} facts listed twice under the same key with different values; kept the first "
            f"(first: {conflicts[0]})"
        )
    return ParsedBatch(frame_, warnings, {"conflicting duplicate facts": len(conflicts)} if conflicts else {})


def with_rule_available_at(frame: pl.DataFrame, column: str = "filed_date") -> pl.DataFrame:
    """Add ``rule_available_at`` = ``column`` (a filing date) at the ``sec_facts`` release time."""
    cal = calendar_config()["sec_facts"]
    releases = {d: sec_available_at(d, cal) for d in frame[column].unique().to_list() if d is not None}
    return frame.with_columns(
        pl.col(column).replace_strict(releases, return_dtype=pl.Datetime("us", "UTC")).alias("rule_available_at")
    )


def parse(payload: Payload) -> ParsedBatch:
    """Read one companyfacts JSON into rows of ``raw.sec__facts`` (see module docstring)."""
    batch = parse_companyfacts(load_json(payload.content), payload)
    batch.frame = with_rule_available_at(batch.frame)
    return batch


def _rebuild_fundamentals(con: Any) -> str:
    from flows.sources.sec.fundamentals import rebuild

    return rebuild(con)


SPEC = DatasetSpec(
    name="sec_facts",
    source="sec",
    table="raw.sec__facts",
    view="analytics.fundamentals",
    key=KEY,
    values=VALUES,
    attributes=ATTRIBUTES,
    date_column="filed_date",
    cadence=timedelta(days=91),
    stale_after=timedelta(days=100),
    observed_grace=timedelta(0),
    parse=parse,
    description="SEC EDGAR XBRL company facts (every fact row of every filing); feeds analytics.fundamentals",
    source_url=COMPANYFACTS_URL,
    units={"value": "the row's `unit` (USD, shares, USD/shares, pure, ...)"},
    live="flows.sources.sec.client:live_facts",
    after_load=_rebuild_fundamentals,
)
