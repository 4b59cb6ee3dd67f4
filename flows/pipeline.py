"""Library entry points shared by the CLI and the Prefect flow: import files, run one dataset.

``import_paths`` loads files (each file in its own transaction: a bad file loads nothing and the
others go on). ``run_dataset`` does one dataset of the daily run: fetch live (or replay the raw
store when offline), then load everything fetched in one transaction.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from flows.config import Settings, get_settings
from flows.errors import FlowscopeError
from flows.http import Fetcher, make_client
from flows.loader import ingest
from flows.quarantine import quarantined
from flows.raw_store import iter_raw, read_raw
from flows.sources import get_spec
from flows.sources.base import DatasetSpec, LoadResult, Payload
from flows.sources.live import LiveContext
from flows.warehouse import connect_write, writer_lock

log = logging.getLogger(__name__)


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given, folders expanded to their files (recursively, sorted), hidden files skipped."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
        elif p.is_file():
            out.append(p)
        else:
            raise FlowscopeError(f"no such file or folder: {p}")
    return out


def import_paths(
    dataset: str,
    paths: Sequence[Path],
    *,
    hints: dict[str, str] | None = None,
    load_date: date | None = None,
    settings: Settings | None = None,
    on_result: Callable[[LoadResult], None] | None = None,
) -> list[LoadResult]:
    """Import files of one dataset; each file is its own all-or-nothing load."""
    settings = settings or get_settings()
    spec = get_spec(dataset)
    files = expand_paths(paths)
    results: list[LoadResult] = []
    with writer_lock(settings, wait_s=30):
        con = connect_write(settings)
        try:
            for f in files:
                payload = Payload(
                    dataset, f.read_bytes(), str(f.resolve()), datetime.now(UTC), False, dict(hints or {})
                )
                for res in ingest(con, spec, [payload], settings.raw_dir, load_date=load_date):
                    results.append(res)
                    if on_result:
                        on_result(res)
            note = after_load(con, spec, results)
            if note:
                log.info("%s: %s", dataset, note)
        finally:
            con.close()
    return results


def after_load(con: duckdb.DuckDBPyConnection, spec: DatasetSpec, results: Sequence[LoadResult]) -> str:
    """Run ``spec.after_load`` (e.g. rebuild a mart) when a load added or revised rows; returns a note.
    A failure is reported in the note: the loads themselves are already committed."""
    if spec.after_load is None or not any(r.rows_new or r.rows_revised for r in results):
        return ""
    try:
        return spec.after_load(con) or ""
    except FlowscopeError as exc:
        return f"after-load step failed: {exc}"


@dataclass
class DatasetSummary:
    """One line of the daily summary table."""

    dataset: str
    outcome: str  # ok | unchanged | failed | empty
    payloads: int = 0
    rows_new: int = 0
    rows_revised: int = 0
    latest_date: date | None = None
    message: str = ""
    results: list[LoadResult] = field(default_factory=list, repr=False)

    def row(self) -> dict[str, object]:
        d = asdict(self)
        d.pop("results")
        d["latest_date"] = str(self.latest_date or "")
        return d


def _latest(con: duckdb.DuckDBPyConnection, spec: DatasetSpec, where: str = "true") -> date | None:
    row = con.execute(f"select max({spec.date_column}) from {spec.table} where {where}").fetchone()
    return row[0] if row else None


def _live_payloads(
    spec: DatasetSpec, con: duckdb.DuckDBPyConnection, as_of: date, settings: Settings, rejected: list[Payload]
) -> tuple[list[Payload], list[str]]:
    """Run the dataset's live client (``spec.live``, "module:function")."""
    if not spec.live:
        raise FlowscopeError(f"{spec.name}: no live client; import files with `flowscope import {spec.name}`")
    module, func = spec.live.split(":")
    ctx = LiveContext(spec, con, as_of, settings, make_client, Fetcher, rejected)
    return getattr(importlib.import_module(module), func)(ctx)


def refuse(con: duckdb.DuckDBPyConnection, spec: DatasetSpec, rejected: list[Payload], settings: Settings) -> str:
    """Keep bodies a live client refused (raw store + quarantine + load log); returns a note."""
    if not rejected:
        return ""
    from flows.loader import refuse_payloads

    paths = refuse_payloads(con, spec, rejected, settings.raw_dir, settings.quarantine_dir)
    return f"; kept the refused body in {paths[0].parent}" if len(paths) == 1 else f"; kept {len(paths)} refused bodies"


def _summarise(spec: DatasetSpec, results: list[LoadResult], notes: list[str], latest: date | None) -> DatasetSummary:
    failed = [r for r in results if not r.ok]
    if failed:
        outcome = "quarantined" if any(r.outcome == "quarantined" for r in failed) else "failed"
    else:
        outcome = "ok" if any(r.rows_new or r.rows_revised for r in results) else "unchanged"
    msgs = [r.summary() for r in failed] + notes
    return DatasetSummary(
        spec.name,
        outcome,
        len(results),
        sum(r.rows_new for r in results),
        sum(r.rows_revised for r in results),
        latest,
        " | ".join(msgs),
        results,
    )


def run_dataset(name: str, as_of: date, *, offline: bool, settings: Settings | None = None) -> DatasetSummary:
    """One dataset of the daily run. Never raises for data problems: they go in the summary."""
    settings = settings or get_settings()
    spec = get_spec(name)
    con = connect_write(settings)
    try:
        if offline:
            stored = list(iter_raw(settings.raw_dir, name))
            if not stored:
                return DatasetSummary(
                    name, "empty", message="nothing in the raw store to replay", latest_date=_latest(con, spec)
                )
            bad = quarantined(settings.quarantine_dir, name)
            results: list[LoadResult] = []
            skipped = 0
            for path in stored:
                if path.name.removesuffix(".gz") in bad:
                    skipped += 1
                    continue
                results += ingest(con, spec, [read_raw(path)], settings.raw_dir)
            notes = (
                [f"skipped {skipped} quarantined payloads (see {settings.quarantine_dir / name})"] if skipped else []
            )
            notes += [n for n in [after_load(con, spec, results)] if n]
            return _summarise(spec, results, notes, _latest(con, spec))
        if not spec.live:
            return DatasetSummary(
                name, "skipped", message=f"no live source: import files with `flowscope import {name}`",
                latest_date=_latest(con, spec),
            )  # fmt: skip
        rejected: list[Payload] = []
        try:
            payloads, notes = _live_payloads(spec, con, as_of, settings, rejected)
        except FlowscopeError as exc:
            if getattr(exc, "payload", None) is not None:
                rejected.append(exc.payload)  # type: ignore[attr-defined]
            kept = refuse(con, spec, rejected, settings)
            return DatasetSummary(name, "failed", message=str(exc) + kept, latest_date=_latest(con, spec))
        notes.append(refuse(con, spec, rejected, settings).strip(" ;"))
        notes = [n for n in notes if n]
        if not payloads:
            return DatasetSummary(
                name, "unchanged", message=" | ".join(notes) or "nothing new", latest_date=_latest(con, spec)
            )
        results = ingest(con, spec, payloads, settings.raw_dir)
        notes += [n for n in [after_load(con, spec, results)] if n]
        return _summarise(spec, results, notes, _latest(con, spec))
    finally:
        con.close()
