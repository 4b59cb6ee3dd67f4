"""``flowscope validate``: every suite on the warehouse as it stands, and an offline HTML report.

Targets: the latest version of every key of each raw table (the load-gate suites), the analytics
views (publish suites, with freshness against each dataset's cadence as a warning), and the
meta tables. Results go to ``meta.validations`` and to a self-contained HTML page (no CDN, no
external logo: GX's own data docs fetch both, STACK.md §3.7).
"""

from __future__ import annotations

import html
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from flows.quality.gate import SuiteReport, validate_frame
from flows.sources import DATASETS


@dataclass(frozen=True)
class Target:
    suite: str
    relation: str
    sql: str
    stale_after: timedelta | None = None
    dataset: str | None = None  # the dataset behind the relation (None for meta tables)


def targets() -> list[Target]:
    out = []
    for spec in DATASETS.values():
        keys = ", ".join(spec.key)
        cols = ", ".join((*spec.columns, "available_at", "version"))
        out.append(
            Target(
                spec.suite,
                f"{spec.table} (latest versions)",
                f"select {cols} from {spec.table} qualify row_number() over "
                f"(partition by {keys} order by version desc) = 1",
                dataset=spec.name,
            )
        )
        view_suite = spec.view.replace(".", "__")
        out.append(Target(view_suite, spec.view, f"select * from {spec.view}", spec.stale_after, dataset=spec.name))
    out.append(Target("meta__loads", "meta.loads", "select * from meta.loads"))
    out.append(Target("meta__ingest_state", "meta.ingest_state", "select * from meta.ingest_state"))
    return out


def read_frames(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    return {t.suite: con.sql(t.sql).pl() for t in targets()}


def loaded_datasets(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Datasets that have ever had rows loaded (a never-loaded dataset's suites are skipped, not failed)."""
    rows = con.execute("select distinct dataset from meta.loads where outcome in ('loaded', 'unchanged')").fetchall()
    return {r[0] for r in rows}


def validate_all(frames: dict[str, pl.DataFrame], as_of: date,
                 loaded: set[str] | None = None) -> list[tuple[Target, SuiteReport]]:  # fmt: skip
    out = []
    for t in targets():
        if loaded is not None and t.dataset is not None and t.dataset not in loaded:
            out.append((t, SuiteReport(t.suite, 0, 0, skipped=f"{t.dataset} was never loaded")))
            continue
        frame = frames[t.suite]
        if t.suite.startswith("raw__"):
            frame = frame.drop("version")
        fresh = as_of - t.stale_after if t.stale_after else None
        out.append((t, validate_frame(t.suite, frame, load_date=as_of, fresh_since=fresh)))
    return out


def record(con: duckdb.DuckDBPyConnection, results: list[tuple[Target, SuiteReport]]) -> str:
    run_id = f"validate-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    con.execute("begin")
    for t, r in results:
        if r.skipped:
            continue
        con.execute(
            "insert into meta.validations values (?, now(), ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                r.suite,
                t.relation,
                r.success,
                r.evaluated,
                r.passed,
                json.dumps([f.__dict__ for f in r.failures], default=str),
            ],
        )
    con.execute("commit")
    return run_id


def summary_rows(results: list[tuple[Target, SuiteReport]]) -> list[dict[str, object]]:
    rows = []
    for t, r in results:
        crit = [f for f in r.failures if f.severity == "critical"]
        rows.append(
            {
                "suite": r.suite,
                "target": t.relation,
                "passed": r.passed,
                "failed": len(crit),
                "warnings": len(r.warnings),
                "result": "SKIP" if r.skipped else ("PASS" if r.success else "FAIL"),
                "first_problem": r.skipped or ((crit or r.warnings)[0].line()[:110] if r.failures else ""),
            }
        )
    return rows


def render_html(results: list[tuple[Target, SuiteReport]], as_of: date, path: Path) -> Path:
    """A self-contained validation page: one section per suite, failures with examples."""
    ok = all(r.success for _, r in results)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>flowscope validation</title><style>",
        "body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0}",
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}.PASS{color:#1a7f37}.FAIL{color:#cf222e}",
        ".warning{color:#9a6700}</style></head><body>",
        f"<h1>flowscope validation <span class='{'PASS' if ok else 'FAIL'}'>{'PASS' if ok else 'FAIL'}</span></h1>",
        f"<p>As of {as_of}; generated {datetime.now(UTC):%Y-%m-%d %H:%M UTC}.</p><table><tr>",
        "".join(f"<th>{h}</th>" for h in ("suite", "target", "passed", "failed", "warnings", "result")),
        "</tr>",
    ]
    for row in summary_rows(results):
        parts.append(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(row[k]))}</td>" for k in ("suite", "target", "passed", "failed", "warnings")
            )
            + f"<td class='{row['result']}'>{row['result']}</td></tr>"
        )
    parts.append("</table>")
    for _t, r in results:
        if not r.failures:
            continue
        parts.append(
            f"<h2>{html.escape(r.suite)}</h2><table><tr><th>severity</th><th>expectation</th>"
            "<th>column</th><th>unexpected</th><th>examples / observed</th></tr>"
        )
        for f in r.failures:
            ex = f.examples or f.observed
            parts.append(
                f"<tr class='{f.severity}'><td>{f.severity}</td><td>{html.escape(f.expectation)}</td>"
                f"<td>{html.escape(f.column)}</td><td>{f.unexpected_count or ''}</td>"
                f"<td>{html.escape(str(ex))}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
