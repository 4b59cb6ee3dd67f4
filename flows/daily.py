"""The daily Prefect flow: every dataset independently, then a summary table artifact.

``daily(as_of, datasets, offline)`` takes the warehouse writer lock (a second run at once fails
with "already running (pid N)"), then for each dataset runs one task: fetch live, or replay
``warehouse/raw`` with ``offline=True``; keep raw; parse; check; load in one transaction. A failing
dataset is reported and the others go on. The summary (dataset, rows new/revised, latest date,
outcome) is returned and published as the ``daily-summary`` table artifact. With ``signals`` the
scores are built for ``as_of`` and the days since the last build; with ``charts`` (the last step)
the chart snapshots and the report page are written under ``exports/<as_of>/``
(``flows.charts.build``) and linked from a ``daily-report`` markdown artifact.

Runs in Prefect's local mode: no server to start (an ephemeral API is started in-process).
"""

from __future__ import annotations

import traceback
from datetime import date, datetime
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows.config import get_settings
from flows.errors import FlowscopeError
from flows.pipeline import DatasetSummary, run_dataset
from flows.sources import DATASETS
from flows.warehouse import writer_lock


@task(name="ingest-dataset", cache_policy=NO_CACHE)
def ingest_dataset(name: str, as_of: date, offline: bool) -> dict[str, object]:
    """Fetch (or replay), keep raw, parse, check and load one dataset; returns its summary row."""
    try:
        summary = run_dataset(name, as_of, offline=offline)
    except FlowscopeError as exc:
        summary = DatasetSummary(name, "failed", message=str(exc))
    return summary.row()


@task(name="publish-signals", cache_policy=NO_CACHE)
def publish_signals(as_of: date) -> dict[str, object]:
    """Scores, regimes, persistence and scenario odds for ``as_of`` and the days since the last build."""
    from flows.signals.publish import publish
    from flows.warehouse import connect_write

    con = connect_write()
    try:
        res = publish(con, as_of)
    except FlowscopeError as exc:
        return {"dataset": "signals", "outcome": "failed", "payloads": 0, "rows_new": 0, "rows_revised": 0,
                "latest_date": str(as_of), "message": str(exc)}  # fmt: skip
    finally:
        con.close()
    return {"dataset": "signals", "outcome": "ok" if res.days else "unchanged", "payloads": 0,
            "rows_new": res.scores, "rows_revised": 0, "latest_date": str(as_of), "message": res.line()}  # fmt: skip


@task(name="export-charts", cache_policy=NO_CACHE)
def export_charts(as_of: date) -> dict[str, object]:
    """PNG/SVG/JSON of every chart and the self-contained index.html for ``as_of`` (read-only)."""
    from flows.charts.build import build_charts
    from flows.warehouse import connect_read

    row: dict[str, object] = {"dataset": "charts", "payloads": 0, "rows_new": 0, "rows_revised": 0,
                              "latest_date": str(as_of)}  # fmt: skip
    try:
        con = connect_read()
        try:
            res = build_charts(con, as_of)
        finally:
            con.close()
    except Exception as exc:  # the data are loaded and scored: a chart failure is reported, not fatal
        get_run_logger().error("charts for %s failed:\n%s", as_of, traceback.format_exc())
        return {**row, "outcome": "failed", "message": f"charts: {type(exc).__name__}: {exc}"}
    create_markdown_artifact(
        key="daily-report",
        markdown=f"# flowscope {as_of}\n\n{len(res.charts)} charts; report page: `{res.index}`\n\n"
        + "\n".join(f"- {n}" for n in res.notes),
    )
    return {**row, "outcome": "ok", "rows_new": len(res.charts), "message": res.line()}


@flow(name="flowscope-daily", log_prints=True)
def daily(
    as_of: date | None = None,
    datasets: list[str] | None = None,
    offline: bool = False,
    signals: bool = True,
    charts: bool = True,
) -> list[dict[str, object]]:
    """The daily pipeline for ``as_of`` (default today in New York). Returns one summary row per dataset."""
    as_of = as_of or datetime.now(ZoneInfo("America/New_York")).date()
    names = list(datasets or DATASETS)
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        raise FlowscopeError(f"unknown datasets {unknown}; known: {', '.join(DATASETS)}")
    rows: list[dict[str, object]] = []
    with writer_lock(get_settings()):
        for name in names:
            rows.append(ingest_dataset(name, as_of, offline))
        if signals:
            rows.append(publish_signals(as_of))
        if charts:
            rows.append(export_charts(as_of))
    create_table_artifact(
        key="daily-summary",
        table=rows,
        description=f"flowscope daily {'(offline) ' if offline else ''}as of {as_of}",
    )
    return rows
