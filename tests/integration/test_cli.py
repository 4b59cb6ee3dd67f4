"""The flowscope command as a user runs it: import, sql (read-only), status, concurrency."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.errors import WarehouseBusyError
from flows.warehouse import connect_read, writer_lock
from tests.helpers import hold_writer_lock, tff_line, tff_text

runner = CliRunner()


@pytest.fixture
def files(tmp_path):  # type: ignore[no-untyped-def]
    good = tmp_path / "FinFut26.txt"
    good.write_bytes(tff_text([tff_line("209742", "2026-07-28", 294781), tff_line("13874A", "2026-07-28", 1984408)]))
    bad = tmp_path / "broken.txt"
    bad.write_bytes(b"<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head></html>")
    return good, bad


def test_import_loads_good_files_and_names_the_bad_one(warehouse, files):  # type: ignore[no-untyped-def]
    good, bad = files
    res = runner.invoke(app, ["import", "cftc_tff", str(good), str(bad)])
    assert res.exit_code == 1
    assert "2 rows (2 new, 0 revised, 0 unchanged)" in res.stdout
    err = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and "broken.txt" in err[0] and "HTML" in err[0] and "503 Service Unavailable" in err[0]
    out = runner.invoke(
        app,
        [
            "sql",
            "select contract_code, open_interest_contracts from analytics.cot_positioning order by 1",
            "-f",
            "json",
        ],
    )
    assert out.exit_code == 0
    assert json.loads(out.stdout) == [
        {"contract_code": "13874A", "open_interest_contracts": 1984408},
        {"contract_code": "209742", "open_interest_contracts": 294781},
    ]


def test_import_again_reports_nothing_changed(warehouse, files):  # type: ignore[no-untyped-def]
    good, _ = files
    runner.invoke(app, ["import", "cftc_tff", str(good)])
    res = runner.invoke(app, ["import", "cftc_tff", str(good)])
    assert res.exit_code == 0 and "already loaded" in res.stdout


def test_sql_refuses_writes_clearly(warehouse, files):  # type: ignore[no-untyped-def]
    runner.invoke(app, ["import", "cftc_tff", str(files[0])])
    for stmt in (
        "delete from raw.cftc__tff",
        "drop table raw.cftc__tff",
        "insert into meta.loads select * from meta.loads",
        "select 1; delete from raw.cftc__tff",
    ):
        res = runner.invoke(app, ["sql", stmt])
        assert res.exit_code == 2, stmt
        assert "read-only" in res.stderr and "Traceback" not in res.stderr + res.stdout
    count = runner.invoke(app, ["sql", "select count(*) as n from raw.cftc__tff", "-f", "csv"])
    assert count.stdout.strip().splitlines() == ["n", "2"]


def test_sql_as_of_answers_what_was_known_then(warehouse, files):  # type: ignore[no-untyped-def]
    runner.invoke(app, ["import", "cftc_tff", str(files[0])])
    # 2026-07-28 positions are public Friday 2026-07-31 19:30 UTC
    before = runner.invoke(
        app, ["sql", "select count(*) as n from analytics.cot_positioning", "--as-of", "2026-07-31T19:00", "-f", "csv"]
    )
    after = runner.invoke(
        app, ["sql", "select count(*) as n from analytics.cot_positioning", "--as-of", "2026-07-31T20:00", "-f", "csv"]
    )
    assert before.stdout.split() == ["n", "0"] and after.stdout.split() == ["n", "2"]


def test_status_lists_every_dataset_with_freshness(warehouse, files):  # type: ignore[no-untyped-def]
    from flows.sources import DATASETS

    runner.invoke(app, ["import", "cftc_tff", str(files[0]), str(files[1])])
    res = runner.invoke(app, ["status", "-f", "json", "--today", "2026-08-03"])
    rows = {r["dataset"]: r for r in json.loads(res.stdout)}
    assert set(rows) == set(DATASETS) and {"cftc_tff", "cboe_putcall"} <= set(rows)
    assert rows["cftc_tff"]["rows"] == 2 and rows["cftc_tff"]["last_date"] == "2026-07-28"
    assert rows["cftc_tff"]["freshness"].startswith("fresh") and rows["cftc_tff"]["quarantined"] == 1
    assert "HTML" in rows["cftc_tff"]["last_problem"]
    assert rows["cboe_putcall"]["freshness"] == "no data"
    late = json.loads(runner.invoke(app, ["status", "-f", "json", "--today", "2026-09-01"]).stdout)
    assert next(r for r in late if r["dataset"] == "cftc_tff")["freshness"].startswith("STALE")


def test_second_writer_fails_at_once_with_the_pid(warehouse):  # type: ignore[no-untyped-def]
    holder = hold_writer_lock(str(warehouse.warehouse_path))
    try:
        t0 = time.monotonic()
        with pytest.raises(WarehouseBusyError, match=rf"already running \(pid {holder.pid}\)"), writer_lock(warehouse):
            pass
        assert time.monotonic() - t0 < 2
    finally:
        holder.kill()
        holder.wait()
    with writer_lock(warehouse):  # free again once the other process is gone
        pass


def test_sql_during_a_load_asks_to_retry_without_traceback(warehouse, files):  # type: ignore[no-untyped-def]
    runner.invoke(app, ["import", "cftc_tff", str(files[0])])
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(20)",
            str(warehouse.warehouse_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(WarehouseBusyError, match=r"being written by pid \d+; retry in a moment"):
            connect_read(warehouse, wait_s=0.5)
    finally:
        holder.kill()
        holder.wait()
    con = connect_read(warehouse, wait_s=5)  # the writer is gone: the committed state answers
    assert con.execute("select count(*) from raw.cftc__tff").fetchone() == (2,)
    con.close()


def test_help_teaches_reads_writes_and_time():  # type: ignore[no-untyped-def]
    for cmd in ("import", "daily", "sql", "status"):
        res = runner.invoke(app, [cmd, "--help"])
        text = " ".join(res.stdout.split())
        assert res.exit_code == 0
        assert "Reads" in text and "Writes" in text and "Time" in text, cmd
