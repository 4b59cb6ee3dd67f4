"""``flowscope status``: what each dataset holds, when it last loaded, and whether it is stale."""

from __future__ import annotations

from datetime import date

import duckdb

from flows.sources import DATASETS


def dataset_status(con: duckdb.DuckDBPyConnection, today: date) -> list[dict[str, object]]:
    """One row per dataset: rows (latest versions), first/last date, newest available_at (UTC),
    last load time and outcome, payloads refused and not loaded since (with the latest reason),
    and staleness against the dataset's cadence."""
    out = []
    for spec in DATASETS.values():
        rows, first, last, newest = con.execute(
            f"select count(*), min({spec.date_column}), max({spec.date_column}), max(available_at) from {spec.view}"
        ).fetchone()
        load = con.execute(
            "select finished_at, outcome, origin, message from meta.loads where dataset = ?"
            " order by finished_at desc limit 1",
            [spec.name],
        ).fetchone()
        problem = con.execute(
            "select count(distinct sha256), arg_max(message, finished_at) from meta.loads"
            " where dataset = ? and outcome in ('failed', 'quarantined') and sha256 not in"
            " (select sha256 from meta.loads where dataset = ? and outcome in ('loaded', 'unchanged'))",
            [spec.name, spec.name],
        ).fetchone()
        age = (today - last).days if last else None
        stale = "no data" if last is None else ("STALE" if age > spec.stale_after.days else "fresh")
        out.append(
            {
                "dataset": spec.name,
                "rows": rows,
                "first_date": first,
                "last_date": last,
                "newest_available_at": newest.strftime("%Y-%m-%d %H:%M UTC") if newest else None,
                "last_load": load[0].strftime("%Y-%m-%d %H:%M UTC") if load else None,
                "last_outcome": load[1] if load else None,
                "quarantined": problem[0],
                "last_problem": (problem[1] or "")[:120],
                "freshness": f"{stale} ({age} d old, limit {spec.stale_after.days} d)" if last else stale,
            }
        )
    return out
