"""The scheduled deployment of the daily flow (``flowscope serve``).

``deployment()`` builds a Prefect ``RunnerDeployment`` of ``flows.daily.daily`` with a cron schedule
from ``config/charts.yaml`` (``schedule.cron``, ``schedule.timezone``; weekdays 18:30 New York by
default: after the close and the evening publications). Each scheduled run computes its own as-of
day (today in New York), so a run late by a few minutes still describes the right day.

Schedules need a real Prefect server (``prefect server start``); the temporary in-process API that
``flowscope daily`` uses cannot schedule (STACK.md §2.8).
"""

from __future__ import annotations

from typing import Any

from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from flows.config import Settings, load_config


def schedule_config(settings: Settings | None = None) -> dict[str, Any]:
    cfg = load_config("charts", settings).get("schedule", {})
    return {"cron": cfg.get("cron", "30 18 * * 1-5"), "timezone": cfg.get("timezone", "America/New_York"),
            "deployment_name": cfg.get("deployment_name", "flowscope-daily")}  # fmt: skip


def deployment(cron: str | None = None, timezone: str | None = None, offline: bool = False,
               settings: Settings | None = None) -> RunnerDeployment:  # fmt: skip
    """The daily flow as a deployment on a cron schedule (config defaults, overridable)."""
    from flows.daily import daily

    cfg = schedule_config(settings)
    cron, tz = cron or cfg["cron"], timezone or cfg["timezone"]
    return daily.to_deployment(
        name=cfg["deployment_name"],
        schedule=Cron(cron, timezone=tz),
        parameters={"offline": offline},
        description=f"flowscope daily pipeline (ingest, scores, charts), cron '{cron}' {tz}",
        tags=["flowscope"],
    )


def describe(dep: RunnerDeployment) -> str:
    lines = [f"deployment {dep.flow_name}/{dep.name} (entrypoint {dep.entrypoint})"]
    for s in dep.schedules or []:
        sch = s.schedule
        lines.append(f"  schedule: cron '{getattr(sch, 'cron', sch)}' in {getattr(sch, 'timezone', '?')}"
                     f" ({'active' if s.active else 'paused'})")  # fmt: skip
    lines.append(f"  parameters: {dep.parameters}")
    return "\n".join(lines)
