"""Benchmark: a full signals rebuild vs a straightforward pandas reference, and a one-day increment.

1. Builds a synthetic universe (``benchmarks/synthetic_universe.py``: ``--tickers`` names + SMH,
   SOXX, QQQ, XLK + SPY, ``--years`` of daily prices, weekly COT, daily put/call, bi-monthly short
   interest, ETF shares and holdings, quarterly fundamentals) in a temporary warehouse and config.
2. Times ``publish(as_of=E-1, full=True)`` (the full rebuild: inputs, every score of every day,
   persistence, scenarios, the write) and then ``publish(as_of=E)`` (one new trading day, the
   daily increment), E the last trading day of the universe.
3. Runs ``benchmarks/pandas_reference.py`` (per decision day: filter rows public by 16:00 New York,
   latest versions, recompute with pandas) on ``--pandas-days`` decision days spread evenly over
   the history (plus E-1 and E). The reference costs about the same per day whatever the history
   length, so the pandas time for the whole history is estimated as sample time x days / sampled
   days (the printed output says so). ``--pandas-days all`` runs it on every day, no estimate.
4. Asserts equality of the outputs (values and z within 1e-9 absolute + 1e-9 relative, the same
   nulls, age_days, warm-up flags, windows; percentiles up to float-noise ties, see below):
   - on the sampled days: every native component (fut, pcs, scp, pm, fm; efp value and age),
     computed by pandas from the raw rows;
   - with ``--pandas-days all``: every score column and every regime, end to end from pandas;
   - otherwise, on every written day: the derived scores (efp z, cps, pfd, market_positioning, all
     percentiles, regimes) recomputed by pandas from the component readings ``flows.signals``
     wrote (whose correctness the sampled days check).
   Percentiles: values equal to 12 significant digits count as ties; a stored percentile anywhere
   between "strictly below + itself" and "at or below" passes, and rows where float noise broke a
   tie are counted (``percentile_tie_noise_rows``).
5. Apples to apples: times ``flows.signals`` (load_inputs + compute) on the same sampled days.

The reference reproduces the known deviations of ``flows.signals`` from METHODS
(``pandas_reference.Conventions``, listed in the output); ``--methods-strict`` follows METHODS
instead and reports the mismatches without failing.

Usage (``./run bench`` runs every ``benchmarks/bench_*.py`` with the defaults):

    .venv/bin/python benchmarks/bench_signals.py [--tickers 50 --years 20] [--pandas-days 60|all]
    .venv/bin/python benchmarks/bench_signals.py --tickers 3 --years 2 --pandas-days 12   # ~30 s
    .venv/bin/python benchmarks/bench_signals.py --tickers 3 --years 2 --pandas-days all  # full pandas
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

TOL = 1e-9
NATIVE = ["fut", "pcs", "scp", "pm", "fm", "efp"]
PAD_DAYS = 260  # trading days of readings before the first written day (a 252-day window behind it)


@dataclass
class Check:
    """Mismatch counts per (score, column) with a few examples."""

    compared: int = 0
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    tie_noise: dict[str, int] = field(default_factory=dict)

    def add(self, score: str, col: str, bad: pd.DataFrame, cols: list[str]) -> None:
        if len(bad) == 0:
            return
        self.counts[(score, col)] = self.counts.get((score, col), 0) + len(bad)
        if sum(1 for e in self.examples if e.startswith(f"{score}.{col}")) < 3:
            r = bad.iloc[0]
            self.examples.append(f"{score}.{col}: " + ", ".join(f"{c}={r[c]}" for c in cols))

    @property
    def ok(self) -> bool:
        return not self.counts

    def summary(self) -> str:
        if self.ok:
            return "OK"
        return "; ".join(f"{s}.{c}: {n}" for (s, c), n in sorted(self.counts.items()))


def _close(a: pd.Series, b: pd.Series) -> np.ndarray:
    x, y = a.astype(float).to_numpy(), b.astype(float).to_numpy()
    both_nan = np.isnan(x) & np.isnan(y)
    with np.errstate(invalid="ignore"):
        near = np.abs(x - y) <= TOL + TOL * np.abs(y)
    return both_nan | near


def compare_scores(got: pd.DataFrame, ref: pd.DataFrame, cols: list[str], check: Check,
                   scores: list[str] | None = None) -> None:  # fmt: skip
    """Compare flows.signals rows (``got``) with reference rows on the reference's (date, symbol, score)."""
    key = ["date", "symbol", "score"]
    if scores is not None:
        got, ref = got[got["score"].isin(scores)], ref[ref["score"].isin(scores)]
    got = got[got["date"].isin(set(ref["date"]))]
    m = got.merge(ref, on=key, how="outer", suffixes=("_s", "_r"), indicator=True)
    missing = m[m["_merge"] != "both"]
    for score, g in missing.groupby("score"):
        check.add(str(score), "row_presence", g, ["date", "symbol", "_merge"])
    m = m[m["_merge"] == "both"]
    check.compared += len(m)
    for col in cols:
        for score, g in m.groupby("score"):
            a, b = g[f"{col}_s"], g[f"{col}_r"]
            if col in ("value", "z"):
                bad = g[~_close(a, b)]
            elif col == "percentile":
                lo = g["percentile_lo"].astype(float).to_numpy()
                x, hi = a.astype(float).to_numpy(), b.astype(float).to_numpy()
                with np.errstate(invalid="ignore"):
                    inside = (np.isnan(x) & np.isnan(hi)) | ((x >= lo - TOL) & (x <= hi + TOL))
                    noisy = int(np.sum(inside & ~np.isnan(x) & (np.abs(x - hi) > TOL)))
                if noisy:
                    check.tie_noise[str(score)] = check.tie_noise.get(str(score), 0) + noisy
                bad = g[~inside]
            elif col == "age_days":
                x, y = a.astype(float), b.astype(float)
                bad = g[~((x.isna() & y.isna()) | (x == y))]
            else:
                bad = g[a.astype(str).to_numpy() != b.astype(str).to_numpy()]
            check.add(str(score), col, bad, ["date", "symbol", f"{col}_s", f"{col}_r"])


def compare_regimes(got: pd.DataFrame, ref: pd.DataFrame, check: Check) -> None:
    got = got[got["date"].isin(set(ref["date"]))]
    m = got.merge(ref, on=["date", "symbol"], how="outer", suffixes=("_s", "_r"), indicator=True)
    check.add("regimes", "row_presence", m[m["_merge"] != "both"], ["date", "symbol", "_merge"])
    m = m[m["_merge"] == "both"]
    check.compared += len(m)
    for col in ("regime", "rule"):
        check.add("regimes", col, m[m[f"{col}_s"] != m[f"{col}_r"]], ["date", "symbol", f"{col}_s", f"{col}_r"])
    for col in ("cps", "pfd", "z_fm", "z_pm"):
        check.add("regimes", col, m[~_close(m[f"{col}_s"], m[f"{col}_r"])], ["date", "symbol", f"{col}_s", f"{col}_r"])


def sample_days(days: list[date], n: int | None) -> list[date]:
    """``n`` decision days spread evenly over ``days``, always with the last two (E-1 and E)."""
    if n is None or n >= len(days):
        return list(days)
    spread = np.linspace(0, len(days) - 3, max(n - 2, 1)).round().astype(int).tolist()
    return [days[i] for i in sorted({*spread, len(days) - 2, len(days) - 1})]


def run(args: argparse.Namespace) -> dict[str, float]:
    import pandas_reference as ref
    from synthetic_universe import UniverseSpec, build_universe

    out: dict[str, float] = {}

    def say(key: str, value: object) -> None:
        print(f"{key}: {value}", flush=True)

    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="flowscope-bench-signals-"))
    try:
        t0 = time.perf_counter()
        spec = UniverseSpec(tickers=args.tickers, years=args.years, revisions=not args.no_revisions)
        uni = build_universe(workdir, spec)
        phases = {"universe": time.perf_counter() - t0}
        counts = ", ".join(f"{k.split('.')[-1]} {v}" for k, v in uni.rows.items())
        say("universe", f"{len(uni.symbols)} symbols ({args.tickers} tickers + 4 ETFs + SPY) x {len(uni.days)} "
            f"trading days {uni.days[0]}..{uni.days[-1]}; rows: {counts}")  # fmt: skip

        from flows.calendar import trading_days
        from flows.config import load_config, universe
        from flows.signals.build import compute
        from flows.signals.inputs import load_inputs
        from flows.signals.publish import publish
        from flows.signals.timeline import decision_time
        from flows.warehouse import connect_write

        con = connect_write()
        last, prev = uni.days[-1], uni.days[-2]
        t = time.perf_counter()
        full = publish(con, prev, full=True)
        rebuild_s = phases["rebuild"] = time.perf_counter() - t
        t = time.perf_counter()
        inc = publish(con, last)
        inc_s = phases["increment"] = time.perf_counter() - t
        assert inc.mode == "increment" and inc.days == 1, inc.line()
        out.update(scores_rebuild_seconds=rebuild_s, increment_seconds=inc_s, rows_scores=full.scores)
        say("scores_rebuild_seconds", f"{rebuild_s:.2f}")
        say("rows_scores", full.scores)
        say("increment_seconds", f"{inc_s:.2f}")
        say("increment_cost_frac_of_rebuild", f"{inc_s / rebuild_s:.3f}")
        out["increment_cost_frac_of_rebuild"] = inc_s / rebuild_s
        say("note", f"rebuild = publish(as_of={prev}, full=True): {full.line()}")
        say("note", f"increment = publish(as_of={last}) after it: {inc.line()}")

        t = time.perf_counter()
        covered = ", ".join(f"'{s}'" for s in ref.COVERED)
        got = con.sql(f"select * exclude (computed_at) from signals.scores where score in ({covered})").df()
        got["date"] = pd.to_datetime(got["date"])
        sql = f"select score, count(*) from signals.scores where score not in ({covered}) group by 1"
        other = con.sql(sql).fetchall()
        if other:
            names = sorted({re.sub(r"_\d+d$", "", s) for s, _ in other})
            say("note", f"not covered by the pandas reference ({sum(n for _, n in other)} rows): {', '.join(names)}")
        got_reg = con.sql("select * exclude (computed_at) from signals.regimes").df()
        got_reg["date"] = pd.to_datetime(got_reg["date"])
        written = sorted({d.date() for d in got["date"]})
        phases["read_outputs"] = time.perf_counter() - t

        # ---- the pandas reference ------------------------------------------------------------------
        cfg_dir = Path(os.environ["FLOWSCOPE_CONFIG_DIR"])
        conv = ref.Conventions.methods() if args.methods_strict else ref.Conventions()
        every_day = args.pandas_days == "all"
        sample = sample_days(written, None if every_day else int(args.pandas_days))
        pad = list(trading_days(date(written[0].year - 2, 1, 1), written[0]))[-PAD_DAYS - 1 : -1]
        grid = [*pad, *written]
        t = time.perf_counter()
        raw = ref.load_raw(con)
        cfg, uni_cfg = ref.load_config(cfg_dir)
        reference = ref.Reference(raw, cfg, uni_cfg, conv, grid)
        setup_s = phases["pandas_load"] = time.perf_counter() - t
        days_run = grid if every_day else sample
        t = time.perf_counter()
        readings = reference.stage1(days_run)
        sample_s = phases["pandas_days"] = time.perf_counter() - t
        native_check, derived_check = Check(), Check()
        if every_day:
            t = time.perf_counter()
            ref_scores, ref_reg = reference.scores(readings, grid)
            derived_s = phases["pandas_derived"] = time.perf_counter() - t
            t = time.perf_counter()
            ref_scores = ref_scores[ref_scores["date"] >= pd.Timestamp(written[0])]
            ref_reg = ref_reg[ref_reg["date"] >= pd.Timestamp(written[0])]
            cols = ["value", "z", "percentile", "age_days", "warmup", "window"]
            compare_scores(got, ref_scores, cols, derived_check)
            compare_regimes(got_reg, ref_reg, derived_check)
            phases["compare"] = time.perf_counter() - t
            pandas_full_s = setup_s + sample_s + derived_s
            say("pandas_days", f"{len(days_run)} decision days ({len(written)} written + {len(pad)} before them for "
                f"the trailing windows): every day, no estimate")  # fmt: skip
        else:
            t = time.perf_counter()
            nat, _ = reference.scores(readings, sample, derived=False)
            compare_scores(got, nat, ["value", "age_days", "window"], native_check, NATIVE)
            # efp's z and warm-up are derived (a 252-day window of daily efp values): checked below
            compare_scores(got, nat, ["z", "warmup"], native_check, [s for s in NATIVE if s != "efp"])
            native_pr = [] if conv.percentile_daily_grid else ["fut", "scp", "fm"]  # ranked on their native grids
            if native_pr:
                compare_scores(got, nat, ["percentile"], native_check, native_pr)
            # derived scores on every written day, recomputed from flows.signals' component readings
            t = time.perf_counter()
            phases["compare"] = time.perf_counter() - t
            t = time.perf_counter()
            ref_scores, ref_reg = reference.scores(ref.readings_from_scores(got), written)
            derived_s = phases["pandas_derived"] = time.perf_counter() - t
            t = time.perf_counter()
            # fm has readings before the first written day (filings predate prices), which the warehouse
            # does not store: its percentile is compared once a full window of written days is behind it
            full_window = pd.Timestamp(written[min(251, len(written) - 1)])
            ref_scores.loc[(ref_scores["score"] == "fm") & (ref_scores["date"] < full_window),
                           ["percentile", "percentile_lo"]] = math.nan  # fmt: skip
            got_cmp = got.copy()
            got_cmp.loc[(got_cmp["score"] == "fm") & (got_cmp["date"] < full_window), "percentile"] = math.nan
            derived = ["efp", "cps", "pfd", "market_positioning"]
            compare_scores(got_cmp, ref_scores, ["value", "z", "warmup", "age_days", "window"], derived_check, derived)
            daily_pr = sorted(set(got_cmp["score"]) - set(native_pr))
            compare_scores(got_cmp, ref_scores, ["percentile"], derived_check, daily_pr)
            compare_regimes(got_reg, ref_reg, derived_check)
            phases["compare"] += time.perf_counter() - t
            pandas_full_s = setup_s + sample_s * len(written) / len(sample) + derived_s
            say("pandas_days", f"{len(sample)} of {len(written)} decision days (evenly spaced + the last two): "
                f"pandas time for all days ESTIMATED as {sample_s:.1f} s x {len(written)}/{len(sample)}")  # fmt: skip
        say("pandas_sample_seconds", f"{sample_s:.2f}")
        say("pandas_full_estimate_seconds" if not every_day else "pandas_full_seconds", f"{pandas_full_s:.1f}")
        speedup = pandas_full_s / rebuild_s
        out.update(pandas_full_seconds=pandas_full_s, scores_rebuild_speedup_vs_pandas=speedup)
        say("scores_rebuild_speedup_vs_pandas", f"{speedup:.1f}")
        say("note", "speedup = pandas (load + per-day components + derived scores) / publish(full=True) "
            "(which also computes persistence profiles and scenario odds and writes the rows)")  # fmt: skip

        # ---- apples to apples: flows.signals on the same sampled days ---------------------------------
        if not args.no_subset and not every_day:
            cfg_sig, uni_sig = load_config("signals"), universe()
            codes = [c["emini"] for c in uni_sig["cot_contracts"].values()]
            t = time.perf_counter()
            inputs, _ = load_inputs(con, decision_time(last, cfg_sig["decision_time"]), codes)
            built = compute(inputs, sample, cfg_sig, uni_sig)
            subset_s = phases["signals_subset"] = time.perf_counter() - t
            sub = built.scores.to_pandas()
            sub["date"] = pd.to_datetime(sub["date"])
            same = Check()
            mine = got[got["date"].isin(set(sub["date"]))]
            compare_scores(sub, mine, ["value", "age_days"], same, NATIVE)
            compare_scores(sub, mine, ["z"], same, [s for s in NATIVE if s != "efp"])
            say("signals_subset_seconds", f"{subset_s:.2f}")
            say("subset_speedup_vs_pandas", f"{sample_s / subset_s:.1f}")
            say("note", f"subset = flows.signals load_inputs + compute on the same {len(sample)} days vs pandas on "
                f"them; its native components equal the full rebuild's: {same.summary()}")  # fmt: skip
            out["subset_speedup_vs_pandas"] = sample_s / subset_s

        # ---- equality ---------------------------------------------------------------------------------
        say("conventions", "METHODS (strict)" if args.methods_strict else
            "reproducing flows.signals deviations: " + ", ".join(conv.active()))  # fmt: skip
        if not every_day:
            say("equality_native", f"{native_check.compared} rows on {len(sample)} days: {native_check.summary()}")
        label = "end to end" if every_day else f"from flows.signals' components, {len(written)} days"
        say("equality_derived", f"{derived_check.compared} rows ({label}): {derived_check.summary()}")
        ties = derived_check.tie_noise
        detail = f" ({', '.join(f'{k} {v}' for k, v in sorted(ties.items()))})" if ties else ""
        say("percentile_tie_noise_rows", f"{sum(ties.values())}{detail}")
        for e in (native_check.examples + derived_check.examples)[:20]:
            say("mismatch", e)
        phases["total"] = time.perf_counter() - t0
        say("phase_seconds", ", ".join(f"{k} {v:.1f}" for k, v in phases.items()))
        ok = native_check.ok and derived_check.ok
        out["equal"] = float(ok)
        say("equality", "OK" if ok else "MISMATCH")
        con.close()
        if not ok and not args.methods_strict:
            raise AssertionError("the pandas reference and flows.signals disagree (see the mismatch lines)")
        return out
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickers", type=int, default=50)
    ap.add_argument("--years", type=float, default=20)
    ap.add_argument("--pandas-days", default="60", help="decision days timed for pandas (an integer, or 'all')")
    ap.add_argument("--methods-strict", action="store_true", help="reference follows METHODS; report, do not assert")
    ap.add_argument("--no-subset", action="store_true", help="skip the apples-to-apples flows.signals subset run")
    ap.add_argument("--no-revisions", action="store_true", help="no COT / short-interest revisions in the universe")
    ap.add_argument("--keep", default=None, help="build in this folder and keep it (default: a temporary one)")
    return run(ap.parse_args(argv))


if __name__ == "__main__":
    main()
