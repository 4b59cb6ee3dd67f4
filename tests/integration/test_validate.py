"""`flowscope validate`: every suite on the warehouse, a readable summary, an offline report."""

from __future__ import annotations

import json
import re

import duckdb
from typer.testing import CliRunner

from flows.cli import app
from tests.helpers import tff_line, tff_text

runner = CliRunner()


def seed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "FinFut26.txt"
    f.write_bytes(tff_text([tff_line("209742", "2026-07-28", 294781), tff_line("209742", "2026-08-04", 303624)]))
    p = tmp_path / "put_call.csv"
    p.write_text("date,segment,put_call_ratio,call_volume,put_volume\n2026-08-06,equity,0.61,1000,610\n")
    assert runner.invoke(app, ["import", "cftc_tff", str(f)]).exit_code == 0
    assert runner.invoke(app, ["import", "cboe_putcall", str(p)]).exit_code == 0


def test_validate_passes_on_clean_data_and_writes_an_offline_report(warehouse, tmp_path):  # type: ignore[no-untyped-def]
    seed(tmp_path)
    page = tmp_path / "report.html"
    res = runner.invoke(app, ["validate", "--as-of", "2026-08-10", "--html", str(page), "-f", "json"])
    assert res.exit_code == 0, res.stdout
    rows = {r["suite"]: r for r in json.loads(res.stdout)}
    ran = {"raw__cftc__tff", "analytics__cot_positioning", "raw__cboe__put_call", "analytics__put_call",
           "meta__loads", "meta__ingest_state"}  # fmt: skip
    assert ran <= set(rows)
    assert all(rows[s]["result"] == "PASS" and rows[s]["failed"] == 0 for s in ran)
    others = [r for s, r in rows.items() if s not in ran]  # datasets never loaded here: skipped, not failed
    assert all(r["result"] == "SKIP" and "never loaded" in r["first_problem"] for r in others)
    html = page.read_text()
    assert "PASS" in html and not re.search(r"(src|href)=['\"]?(https?:)?//", html)
    con = duckdb.connect(str(warehouse.warehouse_path), read_only=True)
    recorded = con.execute(
        "select count(*), bool_and(success) from meta.validations where run_id like 'validate-%'"
    ).fetchone()
    con.close()
    assert recorded == (6, True)


def test_validate_names_the_failing_suite_and_first_values(warehouse, tmp_path):  # type: ignore[no-untyped-def]
    seed(tmp_path)
    con = duckdb.connect(str(warehouse.warehouse_path))
    con.execute("update raw.cboe__put_call set put_call_ratio = 12.5")  # corrupted behind the loader's back
    con.close()
    res = runner.invoke(app, ["validate", "--as-of", "2026-08-10", "-f", "json"])
    assert res.exit_code == 1
    rows = {r["suite"]: r for r in json.loads(res.stdout)}
    bad = rows["raw__cboe__put_call"]
    assert bad["result"] == "FAIL" and bad["failed"] == 1
    assert bad["first_problem"] == "expect_column_values_to_be_between(put_call_ratio): 1 unexpected, e.g. [12.5]"
    assert rows["analytics__put_call"]["result"] == "FAIL"
    assert rows["raw__cftc__tff"]["result"] == "PASS"


def test_staleness_is_reported_as_a_warning_not_a_failure(warehouse, tmp_path):  # type: ignore[no-untyped-def]
    seed(tmp_path)
    res = runner.invoke(app, ["validate", "--as-of", "2026-10-01", "-f", "json"])
    assert res.exit_code == 0
    rows = {r["suite"]: r for r in json.loads(res.stdout)}
    assert rows["analytics__cot_positioning"]["warnings"] == 1
    assert rows["analytics__cot_positioning"]["first_problem"].startswith("stale: newest report_date is 2026-08-04")


def test_expectations_check_passes_on_the_committed_suites():  # type: ignore[no-untyped-def]
    res = runner.invoke(app, ["expectations"])
    assert res.exit_code == 0 and "matches" in res.stdout
