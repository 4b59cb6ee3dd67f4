"""``flowscope evaluate --data FILE.csv``: the generic predictive-regression mode, as a researcher runs it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.signals import evaluate as ev
from tests.unit.test_evaluate import ar1, rrz_reference

runner = CliRunner()


def synthetic_monthly(seed: int = 1973, n: int = 504) -> tuple[list[str], np.ndarray, np.ndarray]:
    """RRZ-shaped monthly sample from 1973:01: x AR(1) ρ = 0.9, r_{t+1} = 0.005 + 0.009 x_t + 0.045 e."""
    rng = np.random.default_rng(seed)
    x = ar1(rng, n, 0.9)
    r = np.r_[0.005, 0.005 + 0.009 * x[:-1] + 0.045 * rng.standard_normal(n - 1)]
    months = [f"{1973 + i // 12}{i % 12 + 1:02d}" for i in range(n)]  # YYYYMM, as many monthly files have
    return months, r, x


@pytest.fixture
def monthly_csv(tmp_path: Path) -> Path:
    months, r, x = synthetic_monthly()
    path = tmp_path / "rrz_synthetic.csv"
    pl.DataFrame({"yyyymm": months, "ret": r, "sii": x}).write_csv(path)
    return path


@pytest.fixture
def daily_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(8)
    n = 800
    dates = pl.date_range(pl.date(2020, 1, 1), pl.date(2030, 1, 1), "1d", eager=True)[:n]
    x = ar1(rng, n, 0.8)
    y = np.r_[0.0, 0.002 * x[:-1]] + 0.01 * rng.standard_normal(n)
    path = tmp_path / "daily.csv"
    pl.DataFrame({"date": dates, "ret": y, "score": x}).write_csv(path)
    return path


def run_json(*args: str) -> dict[str, object]:
    res = runner.invoke(app, ["evaluate", *args, "--format", "json"])
    assert res.exit_code == 0, res.stderr + res.stdout
    return json.loads(res.stdout)


def test_json_carries_the_documented_keys_and_matches_the_library(daily_csv):
    out = run_json("--data", str(daily_csv), "--y", "ret", "--x", "score", "--horizon", "5")
    frame = pl.read_csv(daily_csv)
    y, x = frame["ret"].to_numpy(), frame["score"].to_numpy()
    reg = ev.predictive_regression(x, ev.forward_mean(y, 5), 5)
    for key in ("beta", "t_nw", "r2", "n_obs", "effective_n", "nw_lags", "se_nw", "t_nonoverlap", "n_nonoverlap"):
        assert out[key] == pytest.approx(getattr(reg, key), rel=1e-12), key
    assert out["n_obs"] == 795 and out["effective_n"] == 159.0 and out["nw_lags"] == 6  # floor(4·7.95^(2/9)) = 6
    assert 0 <= out["r2"] < 1  # a fraction
    assert out["first_date"] == "2020-01-01" and out["last_date"] == "2022-03-05"  # last x with a full target
    assert "r2_oos" not in out and "clark_west" not in out


def test_oos_keys_and_the_rrz_conventions_through_the_cli(monthly_csv):
    """RRZ setup: h = 12, NW lags = h, forecasts of returns from 1990:01 (origin 1989:12), prevailing-mean
    benchmark. The CLI must equal the naive restatement of the conventions (tests/unit/test_evaluate.py)."""
    out = run_json(
        "--data", str(monthly_csv), "--date-col", "yyyymm", "--y", "ret", "--x", "sii",
        "--horizon", "12", "--nw-lags", "12", "--oos-start", "1989-12-01",
    )  # fmt: skip
    _, r, x = synthetic_monthly()
    ref = rrz_reference(x, r, 12, 203)
    assert out["n_obs"] == 492 and out["nw_lags"] == 12 and out["effective_n"] == 41.0
    for key in ("beta", "t_nw", "r2", "r2_oos", "clark_west"):
        assert out[key] == pytest.approx(ref[key], rel=1e-9), key
    assert out["n_oos"] == 289 and out["n_train_first"] == 192
    assert out["oos_start"] == "1989-12-01" and out["oos_last_date"] == "2013-12-01"
    assert out["clark_west_p"] == pytest.approx(0.5 * math.erfc(out["clark_west"] / math.sqrt(2)), rel=1e-9)


def test_end_cuts_before_alignment_so_later_data_cannot_leak(tmp_path, daily_csv):
    frame = pl.read_csv(daily_csv)
    changed = frame.with_columns(
        pl.when(pl.col("date") > "2021-06-30").then(pl.col("ret") * 50 + 1).otherwise(pl.col("ret")).alias("ret")
    )
    other = tmp_path / "changed.csv"
    changed.write_csv(other)
    args = ["--y", "ret", "--x", "score", "--horizon", "5", "--end", "2021-06-30", "--oos-start", "2020-09-01"]
    a, b = run_json("--data", str(daily_csv), *args), run_json("--data", str(other), *args)
    assert a == b
    assert a["last_date"] == "2021-06-25"  # the last x whose 5-row target ends on --end


def test_table_output_explains_units(daily_csv):
    args = ["--y", "ret", "--x", "score", "--horizon", "5", "--oos-start", "2021-01-01"]
    res = runner.invoke(app, ["evaluate", "--data", str(daily_csv), *args])
    assert res.exit_code == 0
    for word in ("beta", "t_nw", "effective_n", "T/H", "fraction", "r2_oos", "clark_west", "one-sided p"):
        assert word in res.stdout, word


def test_help_teaches_what_it_reads_writes_and_how_long():
    res = runner.invoke(app, ["evaluate", "--help"])
    text = " ".join(res.stdout.split())
    assert res.exit_code == 0
    for phrase in ("Reads:", "Writes: nothing", "Time:", "t+1..t+H", "--oos-start", "Clark-West", "signals.scores"):
        assert phrase in text, phrase


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "in.csv"
    p.write_text(text)
    return p


def series_text(n: int, bad_line: int | None = None, bad: str = "abc") -> str:
    lines = ["date,ret,score"]
    for i in range(n):
        score = bad if bad_line is not None and i + 2 == bad_line else f"{math.sin(i):.6f}"
        lines.append(f"2024-{1 + i // 28:02d}-{1 + i % 28:02d},{math.cos(3 * i) / 100:.6f},{score}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "args", "message"),
    [
        (series_text(40), ["--x", "signal"], "no column 'signal' (columns: date, ret, score)"),
        (series_text(40, bad_line=7), [], "column 'score' is not numeric: line 7 has 'abc'"),
        (series_text(40, bad_line=9, bad="inf"), [], "column 'score' is not finite: line 9"),
        (
            series_text(12),
            [],
            "too few observations: 7 rows have both x and a complete 5-row target (need at least 10)",
        ),
        (series_text(40).replace("2024-01-03", "03/01/2024"), [], "column 'date' is not a date"),
        (series_text(40).replace("2024-01-03", "2024-01-02"), [], "date 2024-01-02 appears more than once"),
        (series_text(40), ["--oos-start", "2024-01-05"], "too few observations before the out-of-sample start"),
        (series_text(40), ["--start", "2025-01-01"], "too few observations: no rows between --start and --end"),
    ],
)
def test_clear_one_line_errors(tmp_path, text, args, message):
    path = write(tmp_path, text)
    x = [] if "--x" in args else ["--x", "score"]
    res = runner.invoke(app, ["evaluate", "--data", str(path), "--y", "ret", "--horizon", "5", *x, *args])
    assert res.exit_code == 1, res.stdout
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert "Traceback" not in res.stdout + res.stderr


def test_without_data_on_an_empty_warehouse_says_to_build_scores_first(warehouse):
    res = runner.invoke(app, ["evaluate"])
    assert res.exit_code == 1 and "no scores to evaluate" in res.stderr and "Traceback" not in res.stderr


def test_usage_errors_exit_2(tmp_path, daily_csv):
    res = runner.invoke(app, ["evaluate", "--data", str(daily_csv), "--y", "ret", "--x", "score"])
    assert res.exit_code == 2 and "--data needs --horizon" in res.stderr
    res = runner.invoke(app, ["evaluate", "--data", str(daily_csv), "--y", "ret", "--x", "score", "--horizon", "0"])
    assert res.exit_code == 2 and "--horizon must be >= 1" in res.stderr
    res = runner.invoke(
        app,
        ["evaluate", "--data", str(daily_csv), "--y", "ret", "--x", "score", "--horizon", "5", "--end", "2021/06/30"],
    )
    assert res.exit_code == 2 and "YYYY-MM-DD" in res.stderr
    res = runner.invoke(
        app, ["evaluate", "--data", str(tmp_path / "none.csv"), "--y", "a", "--x", "b", "--horizon", "1"]
    )
    assert res.exit_code == 1 and "no such file" in res.stderr
