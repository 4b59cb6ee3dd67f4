"""FINRA Reg SHO daily short-sale volume, consolidated (CNMS) files: parse (SOURCES.md §3.2).

Source: ``https://cdn.finra.org/equity/regsho/daily/CNMSshvol{YYYYMMDD}.txt``, one file per trading
day (~10,000 symbols), consolidated over every FINRA facility (TRF Carteret/Chicago, NYSE TRF, ADF,
ORF). Grain: trade date x symbol. Key: ``(trade_date, symbol)``.

Units: ``*_volume_shares`` in shares, stored as double: since 2023-2024 FINRA reports fractional
shares (``6373542.318262``), older files hold whole shares. ``short_volume_shares`` includes the
short-exempt volume; all are off-exchange, media-reported, regular-hours trades only, so
short / total is the "short share of off-exchange volume", not a measure of short interest.
``market`` lists the contributing facilities as published (``B,Q,N``).

Format (detected from the content): pipe-delimited, header
``Date|Symbol|ShortVolume|ShortExemptVolume|TotalVolume|Market`` (files before ~2012 lack
``ShortExemptVolume``: columns are mapped by header name), ``Date`` as ``YYYYMMDD``, symbols may
hold ``/`` (``RDS/A``), and a last line holding the record count. A missing footer or a count
that differs from the rows read means the file was cut (truncated download): refused.

Timing: published the evening of the trade date; rule ``available_at`` = trade date 18:00 ET
(``config/calendar.yaml`` ``finra_short_volume``). Revisions: none announced; a changed re-import
would be stored as a new version. Cadence: NYSE trading days.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import polars as pl

from flows.calendar import is_trading_day
from flows.config import calendar_config
from flows.errors import EmptyDataError, PayloadError, SchemaDriftError, ValidationError
from flows.pit import ny_time_to_utc
from flows.sources.base import DatasetSpec, ParsedBatch, Payload
from flows.sources.textio import decode_text, normalise_name, reject_error_pages

FILE_URL = "https://cdn.finra.org/equity/regsho/daily/CNMSshvol{day}.txt"

# normalised header name -> our column
FIELDS: dict[str, str] = {
    "date": "trade_date",
    "symbol": "symbol",
    "shortvolume": "short_volume_shares",
    "shortexemptvolume": "short_exempt_volume_shares",
    "totalvolume": "total_volume_shares",
    "market": "market",
}
REQUIRED = ("date", "symbol", "shortvolume", "totalvolume", "market")
VOLUMES = ("short_volume_shares", "short_exempt_volume_shares", "total_volume_shares")
SOURCE_NAME = {
    "trade_date": "Date",
    "short_volume_shares": "ShortVolume",
    "short_exempt_volume_shares": "ShortExemptVolume",
    "total_volume_shares": "TotalVolume",
}
COLUMNS: dict[str, pl.DataType] = {
    "trade_date": pl.Date(),
    "symbol": pl.Utf8(),
    "short_volume_shares": pl.Float64(),
    "short_exempt_volume_shares": pl.Float64(),
    "total_volume_shares": pl.Float64(),
    "market": pl.Utf8(),
}
_FACILITY = re.compile(r"(?:^|[^A-Za-z])([A-Z]{4})shvol(\d{8})", re.IGNORECASE)


def _check_facility(origin: str) -> date | None:
    """A per-facility file (FNSQ, FNYX, ...) holds a part of the volume: never mix it with CNMS.
    Returns the date the file name carries, if any."""
    m = _FACILITY.search(origin.rsplit("/", 1)[-1])
    if not m:
        return None
    if m.group(1).upper() != "CNMS":
        raise ValidationError(
            f"a {m.group(1).upper()} facility file: finra_short_volume takes the consolidated CNMSshvol files only"
        )
    try:
        return date(int(m.group(2)[:4]), int(m.group(2)[4:6]), int(m.group(2)[6:]))
    except ValueError:
        return None


def _split(text: str) -> tuple[list[str], list[list[str]], list[int], int]:
    """Header, data rows (split on ``|``), their 1-based line numbers, and the footer count."""
    lines = text.splitlines()
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    if not end:
        raise EmptyDataError("no lines")
    header = [h.strip() for h in lines[0].split("|")]
    if len(header) < 3:
        raise SchemaDriftError(f"not a pipe-delimited Reg SHO file: first line {lines[0][:80]!r}")
    if end == 1:
        raise EmptyDataError("a header and nothing else (no rows, no record-count footer)")
    footer = lines[end - 1].strip()
    if "|" in footer:
        raise PayloadError(
            f"no record-count footer: the file ends with a data line (line {end}: {footer[:60]!r}); truncated download?"
        )
    if not footer.isdigit():
        raise PayloadError(f"the last line {footer[:40]!r} (line {end}) is not the record-count footer (truncated?)")
    rows, numbers = [], []
    for n in range(1, end - 1):
        line = lines[n]
        if line.strip():
            rows.append(line.split("|"))
            numbers.append(n + 1)
    if int(footer) != len(rows):
        raise PayloadError(
            f"the footer says {int(footer)} records but the file holds {len(rows)} (truncated or corrupted file)"
        )
    width = len(header)
    bad = next((i for i, r in enumerate(rows) if len(r) != width), None)
    if bad is not None:
        raise PayloadError(
            f"line {numbers[bad]} has {len(rows[bad])} fields, expected {width}: {'|'.join(rows[bad])!r}"
        )
    return header, rows, numbers, int(footer)


def _first_bad(frame: pl.DataFrame, mask: pl.Expr) -> dict[str, object] | None:
    hit = frame.filter(mask)
    return hit.row(0, named=True) if hit.height else None


def _typed(header: list[str], rows: list[list[str]], numbers: list[int]) -> pl.DataFrame:
    norm = [normalise_name(h) for h in header]
    idx = {n: i for i, n in enumerate(norm)}
    missing = [f for f in REQUIRED if f not in idx]
    if missing:
        names = ", ".join(SOURCE_NAME.get(FIELDS[f], FIELDS[f].title()) for f in missing)
        raise SchemaDriftError(
            f"header {'|'.join(header)!r} lacks the {names} column(s) (renamed or dropped by the publisher?)"
        )
    raw = pl.DataFrame(
        {
            "_line": numbers,
            **{FIELDS[f]: [r[idx[f]] for r in rows] for f in FIELDS if f in idx},
        },
        schema={"_line": pl.Int64, **{FIELDS[f]: pl.Utf8 for f in FIELDS if f in idx}},
    ).with_columns(pl.exclude("_line").str.strip_chars())
    if "short_exempt_volume_shares" not in raw.columns:
        raw = raw.with_columns(pl.lit(None, pl.Utf8).alias("short_exempt_volume_shares"))
    typed = raw.with_columns(
        pl.col("trade_date").str.to_date("%Y%m%d", strict=False).alias("_d"),
        *[pl.col(c).cast(pl.Float64, strict=False).alias(f"_{c}") for c in VOLUMES],
    )
    bad = _first_bad(typed, pl.col("_d").is_null())
    if bad:
        raise ValidationError(f"unreadable Date {bad['trade_date']!r} (line {bad['_line']}; expected YYYYMMDD)")
    for c in VOLUMES:
        if c == "short_exempt_volume_shares" and "shortexemptvolume" not in idx:
            continue
        src = SOURCE_NAME[c]
        bad = _first_bad(typed, pl.col(f"_{c}").is_null() & (pl.col(c) != ""))
        if bad:
            raise ValidationError(f"text where a number belongs: {src}={bad[c]!r} (line {bad['_line']})")
        bad = _first_bad(typed, pl.col(c) == "")
        if bad:
            raise ValidationError(f"empty {src} for {bad['symbol']} (line {bad['_line']})")
        bad = _first_bad(typed, pl.col(f"_{c}").is_nan() | pl.col(f"_{c}").is_infinite())
        if bad:
            raise ValidationError(f"not a finite number: {src}={bad[c]!r} (line {bad['_line']})")
        bad = _first_bad(typed, pl.col(f"_{c}") < 0)
        if bad:
            raise ValidationError(f"negative share volume {src}={bad[c]} for {bad['symbol']} (line {bad['_line']})")
    bad = _first_bad(typed, pl.col("symbol") == "")
    if bad:
        raise ValidationError(f"empty Symbol (line {bad['_line']})")
    return typed.select(
        "_line",
        pl.col("_d").alias("trade_date"),
        "symbol",
        *[pl.col(f"_{c}").alias(c) for c in VOLUMES],
        pl.when(pl.col("market") == "").then(None).otherwise(pl.col("market")).alias("market"),
    )


def _duplicates(frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """The same symbol twice in one day's file: identical lines are dropped (counted), lines that
    disagree are refused with both line numbers."""
    dup = frame.filter(pl.col("symbol").is_duplicated())
    if not dup.height:
        return frame, 0
    values = ["symbol", *VOLUMES, "market"]
    conflicting = dup.group_by("symbol").agg(
        pl.struct(values).n_unique().alias("_versions"), pl.col("_line").sort().alias("_lines")
    )
    conflicting = conflicting.filter(pl.col("_versions") > 1).sort("_lines")
    if conflicting.height:
        r = conflicting.row(0, named=True)
        raise ValidationError(
            f"symbol {r['symbol']} appears on lines {', '.join(map(str, r['_lines']))} with different volumes "
            f"({conflicting.height} such symbols); refusing the file"
        )
    deduped = frame.unique(subset=values, keep="first", maintain_order=True)
    return deduped, frame.height - deduped.height


def parse(payload: Payload) -> ParsedBatch:
    """Read one Reg SHO daily file into ``raw.finra__short_volume`` rows (see module docstring)."""
    reject_error_pages(payload.content)
    name_date = _check_facility(payload.origin)
    header, rows, numbers, _ = _split(decode_text(payload.content))
    if not rows:
        raise EmptyDataError("no data rows (the footer says 0 records)")
    unknown = [h for h in header if normalise_name(h) not in FIELDS]
    warnings = [f"unknown extra columns {unknown} (loaded, ignored)"] if unknown else []
    frame = _typed(header, rows, numbers)
    days = frame["trade_date"].unique().sort().to_list()
    if len(days) > 1:
        second = frame.filter(pl.col("trade_date") != frame["trade_date"][0]).row(0, named=True)
        raise ValidationError(
            f"a daily file holds one trade date; this one holds {len(days)} ({days[0]}..{days[-1]}; "
            f"line {second['_line']} is dated {second['trade_date']})"
        )
    day = days[0]
    if name_date and name_date != day:
        warnings.append(f"the file name says {name_date} but its rows are dated {day}")
    if not is_trading_day(day):
        warnings.append(f"{day} is not an NYSE trading day")
    frame, dropped = _duplicates(frame)
    cal = calendar_config()["finra_short_volume"]
    released = ny_time_to_utc(day, str(cal.get("release_time", "18:00")))
    frame = frame.drop("_line").with_columns(pl.lit(released).cast(pl.Datetime("us", "UTC")).alias("rule_available_at"))
    return ParsedBatch(frame, warnings, {"identical duplicate lines": dropped} if dropped else {})


SPEC = DatasetSpec(
    name="finra_short_volume",
    source="finra",
    table="raw.finra__short_volume",
    view="analytics.short_volume",
    key=("trade_date", "symbol"),
    values=VOLUMES,
    attributes=("market",),
    date_column="trade_date",
    cadence=timedelta(days=1),
    stale_after=timedelta(days=5),
    observed_grace=timedelta(days=1),
    parse=parse,
    description="FINRA Reg SHO daily short-sale volume, consolidated CNMS files (off-exchange, per symbol)",
    source_url=FILE_URL,
    units={c: "shares" for c in VOLUMES},
    live="flows.sources.finra.short_volume_client:live",
)
