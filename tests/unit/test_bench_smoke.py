"""Smoke test of the signals benchmark (benchmarks/bench_signals.py) at a tiny size.

3 tickers x 2 years, pandas on 6 decision days: the run must pass its own equality assertion
(flows.signals vs the pandas reference) and print the lines the issue asks for.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINES = [
    "scores_rebuild_seconds",
    "scores_rebuild_speedup_vs_pandas",
    "increment_seconds",
    "increment_cost_frac_of_rebuild",
    "rows_scores",
]


@pytest.mark.slow
def test_bench_signals_tiny(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWSCOPE_")}
    args = ["--tickers", "3", "--years", "2", "--pandas-days", "6", "--no-subset", "--keep", str(tmp_path / "b")]
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_signals.py"), *args],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    for key in LINES:
        m = re.search(rf"^{key}: ([0-9.]+)$", out, re.M)
        assert m, f"{key} line missing:\n{out}"
        assert float(m.group(1)) > 0
    assert re.search(r"^equality_native: \d+ rows on \d+ days: OK$", out, re.M), out
    assert re.search(r"^equality_derived: \d+ rows .*: OK$", out, re.M), out
    assert re.search(r"^equality: OK$", out, re.M), out
