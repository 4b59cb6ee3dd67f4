"""The only warehouse writer: keep raw, parse, check, gate, and merge versions in one transaction.

For each dataset load (one payload, or several pages fetched together):

1. every payload is saved to the raw store before anything else (kept even when it is bad);
2. payloads already loaded (same dataset and sha256) are skipped: loading twice changes nothing;
3. ``spec.parse`` reads each payload; generic checks refuse null keys, the same key twice with
   different values and dates after the load date; ``available_at`` is resolved per row
   (``flows.pit``); the dataset's expectation suite (``expectations/raw/``) gates the batch;
4. a refused payload goes to quarantine with its reason, and nothing of the load is written
   (the other payloads of the same load are reported "not loaded");
5. otherwise, in ONE transaction: rows whose key is new become version 1; rows whose values differ
   from every stored version of their key become version max+1 (the old ones are kept); identical
   rows are counted as unchanged. ``meta.loads``, ``meta.validations`` and ``meta.ingest_state``
   move in the same transaction.

A crash anywhere before COMMIT leaves every table as it was (DuckDB's WAL discards the open
transaction); ``crashpoint`` marks the steps the crash test kills the process at.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl

from flows.errors import FlowscopeError, PayloadError, QualityGateError, ValidationError
from flows.quarantine import quarantine
from flows.raw_store import save_raw
from flows.sources.base import DatasetSpec, LoadResult, Payload

log = logging.getLogger(__name__)

_crash_counter = 0


def crashpoint(step: str) -> None:
    """Test hook: with FLOWSCOPE_CRASH_AT=N the process SIGKILLs itself at the N-th step reached."""
    global _crash_counter
    target = os.environ.get("FLOWSCOPE_CRASH_AT")
    if not target:
        return
    _crash_counter += 1
    if _crash_counter == int(target):
        log.warning("crashpoint %d: %s", _crash_counter, step)
        os.kill(os.getpid(), signal.SIGKILL)


def new_load_id(dataset: str) -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{dataset}-{uuid.uuid4().hex[:8]}"


def already_loaded(con: duckdb.DuckDBPyConnection, dataset: str, sha256: str) -> bool:
    row = con.execute(
        "select count(*) from meta.loads where dataset = ? and sha256 = ? and outcome in ('loaded', 'unchanged')",
        [dataset, sha256],
    ).fetchone()
    return bool(row and row[0])


def check_batch(spec: DatasetSpec, frame: pl.DataFrame, load_date: date) -> pl.DataFrame:
    """Generic checks every dataset gets; returns the frame with exact duplicates removed."""
    keys = list(spec.key)
    null_keys = frame.filter(pl.any_horizontal(pl.col(k).is_null() for k in keys))
    if null_keys.height:
        raise ValidationError(f"{null_keys.height} rows with an empty key {keys}")
    frame = frame.unique(subset=[*keys, *spec.values], keep="first", maintain_order=True)
    dup = frame.filter(pl.struct(keys).is_duplicated())
    if dup.height:
        first = dup.sort(keys).row(0, named=True)
        shown = ", ".join(f"{k}={first[k]}" for k in keys)
        raise ValidationError(
            f"the same key appears with different values ({dup.height} rows, first {shown}); refusing the batch"
        )
    future = frame.filter(pl.col(spec.date_column) > load_date)
    if future.height:
        raise ValidationError(
            f"{future.height} rows dated after the load date {load_date} (first {future[spec.date_column].min()})"
        )
    return frame


def _parse_one(spec: DatasetSpec, p: Payload, load_date: date) -> tuple[pl.DataFrame, list[str]]:
    batch = spec.parse(p)
    missing = [c for c in (*spec.columns, "rule_available_at") if c not in batch.frame.columns]
    if missing:
        raise FlowscopeError(f"parser for {spec.name} did not produce columns {missing}")
    frame = batch.frame.select(*spec.columns, "rule_available_at").with_columns(
        pl.lit(p.sha256).alias("_raw_sha256"),
        pl.lit(p.origin).alias("_origin"),
        pl.lit(p.fetched_at).cast(pl.Datetime("us", "UTC")).alias("_fetched_at"),
        pl.lit(p.live).alias("_live"),
    )
    frame = _resolve_available_at(spec, check_batch(spec, frame, load_date))
    warnings = list(batch.warnings) + [f"skipped {n} rows ({why})" for why, n in batch.dropped.items()]
    return frame, warnings


def _resolve_available_at(spec: DatasetSpec, frame: pl.DataFrame) -> pl.DataFrame:
    on_time = pl.col("_live") & (pl.col("_fetched_at") <= pl.col("rule_available_at") + spec.observed_grace)
    return frame.with_columns(
        pl.when(on_time).then(pl.col("_fetched_at")).otherwise(pl.col("rule_available_at")).alias("available_at"),
        pl.when(on_time).then(pl.lit("observed")).otherwise(pl.lit("rule")).alias("available_at_source"),
    ).drop("rule_available_at")


def _gate(spec: DatasetSpec, frame: pl.DataFrame, load_date: date):  # type: ignore[no-untyped-def]
    from flows.quality.gate import validate_frame

    report = validate_frame(spec.suite, frame.select(*spec.columns, "available_at"), load_date=load_date)
    if not report.success:
        raise QualityGateError(report.reason(), report)
    return report


def _merge(con: duckdb.DuckDBPyConnection, spec: DatasetSpec, frame: pl.DataFrame, load_id: str) -> dict[str, dict]:
    """Insert new rows and new versions; return counts per payload sha256."""
    keys = ", ".join(spec.key)
    hash_expr = (
        "md5(concat_ws('|', " + ", ".join(f"coalesce(cast({c} as varchar), '<null>')" for c in spec.values) + "))"
    )
    con.register("_batch", frame.to_arrow())
    try:
        con.execute(f"create or replace temp table _incoming as select *, {hash_expr} as _row_hash from _batch")
    finally:
        con.unregister("_batch")
    crashpoint("incoming staged")
    con.execute(
        f"""
        create or replace temp table _plan as
        select i.*, e.max_version, h._row_hash is not null as is_known
        from _incoming as i
        left join (
            select {keys}, max(version) as max_version
            from {spec.table} semi join _incoming using ({keys})
            group by {keys}
        ) as e using ({keys})
        left join (
            select distinct {keys}, _row_hash
            from {spec.table} semi join _incoming using ({keys})
        ) as h using ({keys}, _row_hash)
        """
    )
    crashpoint("plan built")
    cols = ", ".join(spec.columns)
    con.execute(
        f"""
        insert into {spec.table} by name
        select {cols},
            coalesce(max_version, 0) + 1 as version,
            case when max_version is null then available_at
                 else greatest(available_at, _fetched_at) end as available_at,
            case when max_version is null then available_at_source
                 else 'observed' end as available_at_source,
            _row_hash, '{load_id}' as _load_id, _raw_sha256, _origin, _fetched_at
        from _plan where not is_known
        """
    )
    crashpoint("rows inserted")
    counts = con.execute(
        f"""
        select _raw_sha256,
            count(*) filter (where max_version is null and not is_known),
            count(*) filter (where max_version is not null and not is_known),
            count(*) filter (where is_known),
            min({spec.date_column}), max({spec.date_column})
        from _plan group by _raw_sha256
        """
    ).fetchall()
    con.execute("drop table _plan")
    con.execute("drop table _incoming")
    return {sha: {"new": n, "revised": r, "unchanged": u, "min": lo, "max": hi} for sha, n, r, u, lo, hi in counts}


def _log(con: duckdb.DuckDBPyConnection, res: LoadResult, p: Payload, started: datetime) -> None:
    con.execute(
        "insert into meta.loads values (?, ?, ?, ?, ?, ?, ?, ?, now(), ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            res.load_id,
            res.dataset,
            res.origin,
            res.sha256,
            len(p.content),
            p.fetched_at,
            p.live,
            started,
            res.rows_in,
            res.rows_new,
            res.rows_revised,
            res.rows_unchanged,
            res.min_date,
            res.max_date,
            res.outcome,
            res.message,
            res.raw_path,
        ],
    )


def _log_validation(con: duckdb.DuckDBPyConnection, load_id: str, target: str, report) -> None:  # type: ignore[no-untyped-def]
    con.execute(
        "insert into meta.validations values (?, now(), ?, ?, ?, ?, ?, ?)",
        [
            load_id,
            report.suite,
            target,
            report.success,
            report.evaluated,
            report.passed,
            json.dumps([f.__dict__ for f in report.failures], default=str),
        ],
    )


def ingest(
    con: duckdb.DuckDBPyConnection,
    spec: DatasetSpec,
    payloads: Sequence[Payload],
    raw_dir: Path,
    *,
    load_date: date | None = None,
    quarantine_dir: Path | None = None,
    gate: bool = True,
) -> list[LoadResult]:
    """Load payloads of one dataset atomically (all or nothing). See the module docstring."""
    started = datetime.now(UTC)
    # "no row dated after the load's own date": by default the day each payload was received
    # (a replay of an old payload is judged by the day it was fetched, not by today or an as-of)
    quarantine_dir = quarantine_dir or raw_dir.parent / "quarantine"
    load_id = new_load_id(spec.name)
    raw_paths = {}
    for p in payloads:
        raw_paths[p.sha256] = str(save_raw(raw_dir, p))
        crashpoint("raw saved")
    todo, results = [], []
    for p in payloads:
        crashpoint("checking for duplicates")
        if already_loaded(con, spec.name, p.sha256) or p.sha256 in {t.sha256 for t in todo}:
            results.append(LoadResult(spec.name, p.origin, p.sha256, "duplicate", raw_path=raw_paths[p.sha256]))
        else:
            todo.append(p)
    if not todo:
        return results

    frames, warnings, reports, refused = [], [], [], {}
    for p in todo:
        try:
            day = load_date or p.fetched_at.astimezone(UTC).date()
            frame, warns = _parse_one(spec, p, day)
            crashpoint("parsed")
            if gate:
                reports.append((p, _gate(spec, frame, day)))
                crashpoint("gated")
            frames.append(frame)
            warnings += [f"{p.name}: {w}" for w in warns]
        except PayloadError as exc:
            refused[p.sha256] = exc
    if refused:
        return results + _refuse(con, spec, todo, refused, raw_paths, quarantine_dir, load_id, started)

    frame = pl.concat(frames, how="vertical_relaxed")
    rows_in = dict(frame.group_by("_raw_sha256").len().iter_rows())
    if len(frames) > 1:  # the same key in two payloads of one load (pages that overlap)
        frame = frame.unique(subset=[*spec.key, *spec.values], keep="first", maintain_order=True)
        clash = frame.filter(pl.struct(list(spec.key)).is_duplicated())
        if clash.height:
            first = clash.sort(list(spec.key)).row(0, named=True)
            shown = ", ".join(f"{k}={first[k]}" for k in spec.key)
            err = ValidationError(f"two payloads of one load give different values for the same key ({shown})")
            bad = {sha: err for sha in clash["_raw_sha256"].unique().to_list()}
            return results + _refuse(con, spec, todo, bad, raw_paths, quarantine_dir, load_id, started)
    try:
        con.execute("begin")
        crashpoint("transaction begun")
        try:
            counts = _merge(con, spec, frame, load_id)
            for p in todo:
                c = counts.get(p.sha256, {"new": 0, "revised": 0, "unchanged": 0, "min": None, "max": None})
                res = LoadResult(
                    spec.name,
                    p.origin,
                    p.sha256,
                    "loaded" if c["new"] + c["revised"] else "unchanged",
                    rows_in=rows_in.get(p.sha256, 0),
                    rows_new=c["new"],
                    rows_revised=c["revised"],
                    rows_unchanged=c["unchanged"],
                    min_date=c["min"],
                    max_date=c["max"],
                    message="; ".join(warnings),
                    load_id=load_id,
                    raw_path=raw_paths[p.sha256],
                    warnings=tuple(warnings),
                )
                _log(con, res, p, started)
                crashpoint("load logged")
                results.append(res)
            for p, report in reports:
                _log_validation(con, load_id, p.origin, report)
                crashpoint("validation logged")
            con.execute(
                f"insert or replace into meta.ingest_state"
                f" select ?, max({spec.date_column}), ?, now() from {spec.table}",
                [spec.name, load_id],
            )
            crashpoint("state moved")
            con.execute("commit")
            crashpoint("committed")
        except BaseException:
            con.execute("rollback")
            raise
    except (FlowscopeError, duckdb.Error, OSError) as exc:
        msg = str(exc) if isinstance(exc, FlowscopeError) else f"{type(exc).__name__}: {exc}"
        failed = [
            LoadResult(
                spec.name, p.origin, p.sha256, "failed", message=msg, load_id=load_id, raw_path=raw_paths[p.sha256]
            )
            for p in todo
        ]
        con.execute("begin")
        for res, p in zip(failed, todo, strict=True):
            _log(con, res, p, started)
        con.execute("commit")
        results = [r for r in results if r.outcome == "duplicate"] + failed
    return results


def _refuse(
    con: duckdb.DuckDBPyConnection,
    spec: DatasetSpec,
    todo: list[Payload],
    refused: dict[str, Exception],
    raw_paths: dict[str, str],
    quarantine_dir: Path,
    load_id: str,
    started: datetime,
) -> list[LoadResult]:
    """Quarantine refused payloads, log them, and report the rest of the load as not loaded."""
    out = []
    first_bad = next(p for p in todo if p.sha256 in refused)
    con.execute("begin")
    for p in todo:
        exc = refused.get(p.sha256)
        if exc is None:
            res = LoadResult(
                spec.name,
                p.origin,
                p.sha256,
                "failed",
                load_id=load_id,
                raw_path=raw_paths[p.sha256],
                message=f"not loaded: {first_bad.name} in the same load was refused",
            )
        else:
            report = getattr(exc, "report", None)
            qpath = quarantine(quarantine_dir, p, str(exc), report.to_json() if report else None)
            res = LoadResult(
                spec.name,
                p.origin,
                p.sha256,
                "quarantined",
                load_id=load_id,
                raw_path=raw_paths[p.sha256],
                message=f"{exc} (quarantined: {qpath})",
            )
            if report is not None:
                _log_validation(con, load_id, p.origin, report)
        _log(con, res, p, started)
        out.append(res)
    con.execute("commit")
    return out


def refuse_payloads(
    con: duckdb.DuckDBPyConnection,
    spec: DatasetSpec,
    payloads: Sequence[Payload],
    raw_dir: Path,
    quarantine_dir: Path,
    reason: str = "refused by the live client",
) -> list[Path]:
    """Keep bodies refused before parsing (HTML page, empty or truncated answer): raw + quarantine + log."""
    started = datetime.now(UTC)
    load_id = new_load_id(spec.name)
    paths = []
    con.execute("begin")
    for p in payloads:
        raw = str(save_raw(raw_dir, p))
        qpath = quarantine(quarantine_dir, p, reason)
        paths.append(qpath)
        _log(
            con,
            LoadResult(
                spec.name,
                p.origin,
                p.sha256,
                "quarantined",
                load_id=load_id,
                raw_path=raw,
                message=f"{reason} (quarantined: {qpath})",
            ),
            p,
            started,
        )
    con.execute("commit")
    return paths
