"""``flowscope serve``: the Prefect deployment of the daily flow carries its cron schedule."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from flows.cli import app


def test_the_deployment_carries_the_configured_schedule() -> None:
    from flows.deploy import deployment

    dep = deployment()
    assert dep.flow_name == "flowscope-daily" and dep.name == "flowscope-daily"
    assert dep.entrypoint == "flows/daily.py:daily"
    [sched] = dep.schedules
    assert sched.active
    assert sched.schedule.cron == "30 18 * * 1-5"
    assert sched.schedule.timezone == "America/New_York"
    assert dep.parameters == {"offline": False}


def test_schedule_comes_from_config_and_the_command_line_overrides_it(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from flows.deploy import deployment

    repo_cfg = Path(__file__).resolve().parents[2] / "config"
    for p in repo_cfg.glob("*.yaml"):
        (tmp_path / p.name).write_text(p.read_text())
    charts = yaml.safe_load((tmp_path / "charts.yaml").read_text())
    charts["schedule"] = {"cron": "0 7 * * 2-6", "timezone": "Europe/London", "deployment_name": "morning"}
    (tmp_path / "charts.yaml").write_text(yaml.safe_dump(charts))
    monkeypatch.setenv("FLOWSCOPE_CONFIG_DIR", str(tmp_path))
    dep = deployment()
    assert dep.name == "morning"
    assert (dep.schedules[0].schedule.cron, dep.schedules[0].schedule.timezone) == ("0 7 * * 2-6", "Europe/London")
    dep = deployment(cron="15 19 * * 1-5", timezone="America/Chicago", offline=True)
    assert (dep.schedules[0].schedule.cron, dep.schedules[0].schedule.timezone) == ("15 19 * * 1-5", "America/Chicago")
    assert dep.parameters == {"offline": True}


def test_serve_help_explains_the_schedule_and_the_server() -> None:
    res = CliRunner().invoke(app, ["serve", "--help"], terminal_width=200)
    assert res.exit_code == 0
    text = " ".join(res.stdout.split())
    for needle in ("prefect server start", "PREFECT_API_URL", "weekdays at 18:30 America/New_York", "--cron",
                   "schedule.cron"):  # fmt: skip
        assert needle in text, needle


def test_serve_dry_run_prints_the_schedule_and_serve_without_a_server_says_what_to_do(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    res = CliRunner().invoke(app, ["serve", "--dry-run"])
    assert res.exit_code == 0
    assert "cron '30 18 * * 1-5' in America/New_York (active)" in res.stdout
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    res = CliRunner().invoke(app, ["serve"])
    assert res.exit_code == 2
    assert "prefect server start" in res.stderr and "Traceback" not in res.output


@pytest.mark.parametrize("cmd", ["charts", "serve"])
def test_new_commands_say_what_they_read_and_write(cmd: str) -> None:
    res = CliRunner().invoke(app, [cmd, "--help"], terminal_width=200)
    text = " ".join(res.stdout.split())
    assert "Reads" in text or "Reads/writes" in text
