"""Persistence profile (METHODS.md §1.7-§1.8): the measures usable with 1-3 years of data, for
price returns and for each driver on its native grid, as rows of ``analytics.persistence``.

Row: (series, measure, value, stat, p_value, n). Conventions per measure:

| measure | value | stat | p_value |
| --- | --- | --- | --- |
| autocorr_1 | ρ_1 | robust t | two-sided, robust |
| vr_q | VR(q) | z* (robust) | two-sided on z* |
| dfa_alpha | α (returns only; display) | α − median shuffled α | share of shuffles ≥ α |
| efficiency_ratio_n | ER_n of the level series | percentile of ER_n among shuffled paths (0-100) | null |
| trend_w | TS_W (vol-normalised) | TS_W | two-sided N(0,1) |
| runs | number of runs | Wald-Wolfowitz Z (< 0 = persistence) | two-sided |
| streak | current streak length (signed by direction) | share of that sign | tail prob p^(L−1) |
| same_sign_13 | share of the last 13 periods with the latest sign | — | null |

Inputs are increments on the native grid (log returns, weekly net-position changes, bi-monthly
ΔDTC, daily flows), already restricted by the caller to what was public at the decision time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from flows.signals import measures as m


@dataclass(frozen=True)
class PersistenceRow:
    series: str
    measure: str
    value: float | None
    stat: float | None
    p_value: float | None
    n: int


def _f(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else float(x)


def _row(series: str, measure: str, value: float | None, stat: float | None, p: float | None, n: int) -> PersistenceRow:
    return PersistenceRow(series, measure, _f(value), _f(stat), _f(p), n)


def driver_profile(series: str, increments: np.ndarray, vr_q: int = 4) -> list[PersistenceRow]:
    """AR(1) with robust SE, VR(q) (q = 4 on weekly data), runs, streak, same-sign share of 13."""
    x = increments[np.isfinite(increments)]
    n = x.size
    ac = m.autocorr(x)
    vr = m.variance_ratio(x, vr_q)
    runs = m.runs_test(x)
    st = m.streak(x)
    last13 = np.sign(x[-13:])
    same = float(np.mean(last13 == np.sign(x[-1]))) if n else math.nan
    return [
        _row(series, "autocorr_1", ac.rho, ac.t_robust, ac.p_value, n),
        _row(series, f"vr_{vr_q}", vr.vr, vr.z_star, vr.p_z_star, n),
        _row(series, "runs", runs.runs, runs.z, runs.p_value, n),
        _row(series, "streak", st.length * st.sign, st.p_same, st.tail_prob, n),
        _row(series, "same_sign_13", same, None, None, min(n, 13)),
    ]


def return_profile(log_returns: np.ndarray, seed: int = 0, n_shuffles: int = 200) -> list[PersistenceRow]:
    """Price-return persistence: ρ_1, VR(2/5/10), DFA α with shuffled band, ER_20 vs shuffled
    paths, TS_21/63/126/252, runs and streak."""
    r = log_returns[np.isfinite(log_returns)]
    n = r.size
    rows = driver_profile("returns", r, vr_q=5)
    for q in (2, 10):
        vr = m.variance_ratio(r, q)
        rows.append(_row("returns", f"vr_{q}", vr.vr, vr.z_star, vr.p_z_star, n))
    rng = np.random.default_rng(seed)
    if n >= 100:
        d = m.dfa(r, n_shuffles=n_shuffles, seed=seed)
        sims = m.dfa_alpha_batch(np.vstack([rng.permutation(r) for _ in range(50)]), m.dfa_scales(r.size))
        rows.append(_row("returns", "dfa_alpha", d.alpha, d.alpha - float(np.nanmedian(sims)),
                         float(np.mean(sims >= d.alpha)), n))  # fmt: skip
    if n > 21:
        level = np.concatenate(([0.0], np.cumsum(r)))
        er = m.efficiency_ratio(level, 20)[-1]
        paths = [m.efficiency_ratio(np.concatenate(([0.0], np.cumsum(rng.permutation(r)))), 20)[-1] for _ in range(200)]
        pct = 100.0 * float(np.mean(np.array(paths) <= er))
        rows.append(_row("returns", "efficiency_ratio_20", er, pct, None, n))
    for w in (21, 63, 126, 252):
        ts = m.trend_stat(r, w)[-1] if n >= w else math.nan
        rows.append(_row("returns", f"trend_{w}", ts, ts, 2 * stats.norm.sf(abs(ts)) if math.isfinite(ts) else None, n))
    return rows
