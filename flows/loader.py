"""The only warehouse writer: keep raw, parse, check, and merge versions in one transaction.

For each dataset load (one payload, or several pages fetched together):

1. every payload is saved to the raw store before anything else (kept even when it is bad);
2. payloads already loaded (same dataset and sha256) are skipped: loading twice changes nothing;
3. ``spec.parse`` reads each payload; generic checks refuse null keys, the same key twice with
   different values, and dates after the load date;
4. ``available_at`` is resolved per row (``flows.pit``);
5. in ONE transaction: rows whose key is new become version 1; rows whose values differ from
   every stored version of their key become version max+1 (the old ones are kept); identical rows
   are counted as unchanged. ``meta.loads`` and ``meta.ingest_state`` move in the same transaction.

A failure anywhere rolls the whole load back, then the failure is logged in its own transaction.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl

from flows.errors import FlowscopeError, ValidationError
from flows.raw_store import save_raw
from flows.sources.base import DatasetSpec, LoadResult, Payload

log = logging.getLogger(__name__)

_PROVENANCE = ("_raw_sha256", "_origin", "_fetched_at", "_live")


def new_load_id(dataset: str) -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{dataset}-{uuid.uuid4().hex[:8]}"


def already_loaded(con: duckdb.DuckDBPyConnection, dataset: str, sha256: str) -> bool:
    row = con.execute(
        "select count(*) from meta.loads where dataset = ? and sha256 = ?"
        " and outcome in ('loaded', 'unchanged')",
        [dataset, sha256],
    ).fetchone()
    return bool(row and row[0])


def _parse_all(spec: DatasetSpec, payloads: Sequence[Payload]) -> tuple[pl.DataFrame, list[str]]:
    frames, warnings = [], []
    for p in payloads:
        batch = spec.parse(p)
        frame = batch.frame
        missing = [c for c in (*spec.columns, "rule_available_at") if c not in frame.columns]
        if missing:
            raise FlowscopeError(f"parser for {spec.name} did not produce columns {missing}")
        frames.append(
            frame.select(*spec.columns, "rule_available_at").with_columns(
                pl.lit(p.sha256).alias("_raw_sha256"),
                pl.lit(p.origin).alias("_origin"),
                pl.lit(p.fetched_at).cast(pl.Datetime("us", "UTC")).alias("_fetched_at"),
                pl.lit(p.live).alias("_live"),
            )
        )
        warnings += [f"{p.name}: {w}" for w in batch.warnings]
        warnings += [f"{p.name}: skipped {n} rows ({why})" for why, n in batch.dropped.items()]
    return pl.concat(frames, how="vertical_relaxed"), warnings


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
            "the same key appears with different values "
            f"({dup.height} rows, first {shown}); refusing the batch"
        )
    future = frame.filter(pl.col(spec.date_column) > load_date)
    if future.height:
        raise ValidationError(
            f"{future.height} rows dated after the load date {load_date} "
            f"(first {future[spec.date_column].min()})"
        )
    return frame


def _resolve_available_at(spec: DatasetSpec, frame: pl.DataFrame) -> pl.DataFrame:
    on_time = pl.col("_live") & (pl.col("_fetched_at") <= pl.col("rule_available_at") + spec.observed_grace)
    return frame.with_columns(
        pl.when(on_time).then(pl.col("_fetched_at")).otherwise(pl.col("rule_available_at"))
        .alias("available_at"),
        pl.when(on_time).then(pl.lit("observed")).otherwise(pl.lit("rule")).alias("available_at_source"),
    ).drop("rule_available_at")


def _merge(con: duckdb.DuckDBPyConnection, spec: DatasetSpec, frame: pl.DataFrame, load_id: str) -> dict[str, dict[str, int]]:
    """Insert new rows and new versions; return counts per payload sha256."""
    keys = ", ".join(spec.key)
    hash_expr = "md5(concat_ws('|', " + ", ".join(
        f"coalesce(cast({c} as varchar), '<null>')" for c in spec.values
    ) + "))"
    con.register("_batch", frame.to_arrow())
    try:
        con.execute(f"create or replace temp table _incoming as select *, {hash_expr} as _row_hash from _batch")
    finally:
        con.unregister("_batch")
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
    return {
        sha: {"new": n, "revised": r, "unchanged": u, "min": lo, "max": hi}
        for sha, n, r, u, lo, hi in counts
    }


def _log(con: duckdb.DuckDBPyConnection, res: LoadResult, p: Payload, started: datetime) -> None:
    con.execute(
        "insert into meta.loads values (?, ?, ?, ?, ?, ?, ?, ?, now(), ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            res.load_id, res.dataset, res.origin, res.sha256, len(p.content), p.fetched_at, p.live,
            started, res.rows_in, res.rows_new, res.rows_revised, res.rows_unchanged,
            res.min_date, res.max_date, res.outcome, res.message, res.raw_path,
        ],
    )


def ingest(
    con: duckdb.DuckDBPyConnection,
    spec: DatasetSpec,
    payloads: Sequence[Payload],
    raw_dir: Path,
    *,
    load_date: date | None = None,
) -> list[LoadResult]:
    """Load payloads of one dataset atomically (all or nothing). See the module docstring."""
    started = datetime.now(UTC)
    load_date = load_date or started.date()
    load_id = new_load_id(spec.name)
    raw_paths = {p.sha256: str(save_raw(raw_dir, p)) for p in payloads}
    todo, results = [], []
    for p in payloads:
        if already_loaded(con, spec.name, p.sha256) or p.sha256 in {t.sha256 for t in todo}:
            results.append(LoadResult(spec.name, p.origin, p.sha256, "duplicate", raw_path=raw_paths[p.sha256]))
        else:
            todo.append(p)
    if not todo:
        return results
    try:
        frame, warnings = _parse_all(spec, todo)
        rows_in = {sha: n for sha, n in frame.group_by("_raw_sha256").len().iter_rows()}
        frame = check_batch(spec, frame, load_date)
        frame = _resolve_available_at(spec, frame)
        con.execute("begin")
        try:
            counts = _merge(con, spec, frame, load_id)
            for p in todo:
                c = counts.get(p.sha256, {"new": 0, "revised": 0, "unchanged": 0, "min": None, "max": None})
                changed = c["new"] + c["revised"]
                res = LoadResult(
                    spec.name, p.origin, p.sha256, "loaded" if changed else "unchanged",
                    rows_in=rows_in.get(p.sha256, 0), rows_new=c["new"], rows_revised=c["revised"],
                    rows_unchanged=c["unchanged"], min_date=c["min"], max_date=c["max"],
                    message="; ".join(warnings), load_id=load_id, raw_path=raw_paths[p.sha256],
                    warnings=tuple(warnings),
                )
                _log(con, res, p, started)
                results.append(res)
            con.execute(
                f"""
                insert or replace into meta.ingest_state
                select ?, max({spec.date_column}), ?, now() from {spec.table}
                """,
                [spec.name, load_id],
            )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    except (FlowscopeError, duckdb.Error, pl.exceptions.PolarsError, ValueError, OSError) as exc:
        msg = str(exc) if isinstance(exc, FlowscopeError) else f"{type(exc).__name__}: {exc}"
        failed = []
        for p in todo:
            res = LoadResult(spec.name, p.origin, p.sha256, "failed", message=msg,
                             load_id=load_id, raw_path=raw_paths[p.sha256])
            failed.append(res)
        con.execute("begin")
        for res, p in zip(failed, todo, strict=True):
            _log(con, res, p, started)
        con.execute("commit")
        results.extend(failed)
    return results
