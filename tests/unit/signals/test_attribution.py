"""CSEV / LMG attribution (METHODS §4.4 score 3): exactness against brute force, invariances, rolling = plain.

Tolerances: identities that hold exactly in arithmetic (shares sum to R², LMG = average over orderings,
rolling = plain, invariance) are checked to 1e-9 (float noise from eigendecompositions of ≤ 6×6
correlation matrices is ~1e-14). Statistical checks use the known null distribution (pure noise:
R² ~ Beta(p/2, (n − p − 1)/2)) or a wide margin around a population value, with fixed seeds.
"""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest
from scipy import stats

from flows.signals.attribution import (
    CAPITAL_COLUMNS,
    DEFAULT_GROUPS,
    block_bootstrap_lmg,
    lag_regressors,
    lmg,
    rolling_lmg,
)
from flows.signals.bootstrap import block_bootstrap_indices, percentile_interval

NAMES = ("r_m", "dF", *CAPITAL_COLUMNS)


def r2_lstsq(y: np.ndarray, cols: list[np.ndarray]) -> float:
    """Plain OLS R² with intercept, the textbook way (reference for the correlation-matrix formula)."""
    A = np.column_stack([np.ones(y.size), *cols])
    beta = np.linalg.lstsq(A, y, rcond=None)[0]
    e = y - A @ beta
    d = y - y.mean()
    return float(1 - e @ e / (d @ d))


def capital_dgp(n: int, seed: int, lagged: bool = False) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Weekly-like DGP: AR(1) capital regressors carry most of y's variance.

    Population (contemporaneous): var parts market 0.09, fundamental 0.04, capital 0.64 + 0.36 + 0.25 +
    0.16 = 1.41, noise 0.25 → R² ≈ 0.86, CSEV ≈ 1.41 / 1.54 ≈ 0.92 (regressors independent, unit variance).
    """
    rng = np.random.default_rng(seed)
    X = {c: rng.standard_normal(n) for c in NAMES}
    for c in CAPITAL_COLUMNS:  # persistent, unit variance
        u, a = X[c], np.empty(n)
        a[0] = u[0]
        for t in range(1, n):
            a[t] = 0.5 * a[t - 1] + math.sqrt(1 - 0.25) * u[t]
        X[c] = a
    gamma = dict(zip(CAPITAL_COLUMNS, (0.8, 0.6, 0.5, 0.4), strict=True))
    cap = sum(g * (np.concatenate(([0.0], X[c][:-1])) if lagged else X[c]) for c, g in gamma.items())
    y = 0.3 * X["r_m"] + 0.2 * X["dF"] + cap + 0.5 * rng.standard_normal(n)
    return y, X


# ---- exactness ----------------------------------------------------------------------------------


def test_orthogonal_regressors_get_their_own_r2() -> None:
    rng = np.random.default_rng(0)
    n = 200
    A = rng.standard_normal((n, 2))
    Q, _ = np.linalg.qr(A - A.mean(axis=0))  # centred orthonormal columns: sample correlation exactly 0
    x1, x2 = Q[:, 0] * 3.0, Q[:, 1] * 0.5
    y = 0.7 * x1 / 3 + 0.4 * x2 / 0.5 + 0.05 * rng.standard_normal(n)
    res = lmg(y, {"a": x1, "b": x2})
    assert abs(np.corrcoef(x1, x2)[0, 1]) < 1e-12
    assert res.lmg["a"] == pytest.approx(r2_lstsq(y, [x1]), abs=1e-12)
    assert res.lmg["b"] == pytest.approx(r2_lstsq(y, [x2]), abs=1e-12)
    assert res.r2 == pytest.approx(r2_lstsq(y, [x1, x2]), abs=1e-12)


def test_shares_sum_exactly_to_r2_and_groups_to_one() -> None:
    y, X = capital_dgp(300, seed=1)
    X["EFP"] = X["EFP"] + 0.6 * X["r_m"]  # correlated across groups
    res = lmg(y, X, DEFAULT_GROUPS)
    assert res.r2 == pytest.approx(r2_lstsq(y, [X[c] for c in res.names]), abs=1e-12)
    assert sum(res.lmg.values()) == pytest.approx(res.r2, abs=1e-12)
    assert sum(res.group.values()) == pytest.approx(res.r2, abs=1e-12)
    assert sum(res.share.values()) == pytest.approx(1.0, abs=1e-12)
    assert res.csev == res.share["capital"] and res.msev == res.share["market"] and res.fsev == res.share["fundamental"]
    assert all(v >= 0 for v in res.lmg.values())  # LMG is non-negative (R² increments are)


def test_two_correlated_regressors_by_hand() -> None:
    rng = np.random.default_rng(2)
    n = 150
    x1 = rng.standard_normal(n)
    x2 = 0.7 * x1 + 0.5 * rng.standard_normal(n)
    y = 1.0 * x1 - 0.5 * x2 + rng.standard_normal(n)
    r1, r2_, r12 = r2_lstsq(y, [x1]), r2_lstsq(y, [x2]), r2_lstsq(y, [x1, x2])
    # two orderings: (x1, x2) gives x1 r1; (x2, x1) gives x1 r12 - r2. LMG = their average.
    expect1 = 0.5 * (r1 + (r12 - r2_))
    expect2 = 0.5 * (r2_ + (r12 - r1))
    res = lmg(y, np.column_stack([x1, x2]), names=["x1", "x2"])
    assert res.lmg["x1"] == pytest.approx(expect1, abs=1e-12)
    assert res.lmg["x2"] == pytest.approx(expect2, abs=1e-12)


def test_equals_average_over_all_orderings_brute_force() -> None:
    """p = 4: the subset-weight formula equals the literal mean over 24 orderings of lstsq R² increments."""
    rng = np.random.default_rng(3)
    n = 120
    base = rng.standard_normal((n, 4)) @ np.array([[1, 0.5, 0, 0.3], [0, 1, 0.4, 0], [0, 0, 1, 0.6], [0, 0, 0, 1]])
    y = base @ np.array([0.5, -0.3, 0.2, 0.4]) + rng.standard_normal(n)
    cols = [base[:, j] for j in range(4)]
    total = np.zeros(4)
    orders = list(itertools.permutations(range(4)))
    for order in orders:
        prev = 0.0
        for k, j in enumerate(order):
            cur = r2_lstsq(y, [cols[i] for i in order[: k + 1]])
            total[j] += cur - prev
            prev = cur
    res = lmg(y, base, names=list("abcd"))
    np.testing.assert_allclose([res.lmg[c] for c in "abcd"], total / len(orders), atol=1e-12)


def test_invariant_to_order_scale_and_shift() -> None:
    y, X = capital_dgp(200, seed=4)
    X["dDTC"] = X["dDTC"] + 0.5 * X["EFP"]
    ref = lmg(y, X, DEFAULT_GROUPS)
    scale = dict(zip(NAMES, (-3.0, 1e3, 0.01, 7.0, -1e-2, 2.5), strict=True))
    X2 = {c: scale[c] * X[c] + 100.0 for c in reversed(NAMES)}  # reversed order, rescaled, shifted
    groups2 = {"capital": list(reversed(CAPITAL_COLUMNS)), "fundamental": ["dF"], "market": ["r_m"]}
    res = lmg(-50.0 * y + 3.0, X2, groups2)
    assert res.r2 == pytest.approx(ref.r2, abs=1e-9)
    for c in NAMES:
        assert res.lmg[c] == pytest.approx(ref.lmg[c], abs=1e-9)
    for g in ref.share:
        assert res.share[g] == pytest.approx(ref.share[g], abs=1e-9)


# ---- degenerate data ----------------------------------------------------------------------------


def test_nan_rows_are_dropped_and_counted() -> None:
    y, X = capital_dgp(150, seed=5)
    X["EFP"][[3, 40]] = np.nan
    y[77] = np.nan
    res = lmg(y, X, DEFAULT_GROUPS)
    keep = np.ones(150, dtype=bool)
    keep[[3, 40, 77]] = False
    clean = lmg(y[keep], {c: v[keep] for c, v in X.items()}, DEFAULT_GROUPS)
    assert (res.n, res.n_dropped) == (147, 3)
    assert res.r2 == pytest.approx(clean.r2, abs=1e-12) and res.csev == pytest.approx(clean.csev, abs=1e-12)


def test_constant_regressor_gets_zero_and_changes_nothing() -> None:
    y, X = capital_dgp(120, seed=6)
    X["dPCS"] = np.full(120, 0.37)
    res = lmg(y, X, DEFAULT_GROUPS)
    assert res.zero_variance == ("dPCS",)
    assert res.lmg["dPCS"] == 0.0
    assert res.r2 == pytest.approx(r2_lstsq(y, [X[c] for c in NAMES[:-1]]), abs=1e-12)
    assert res.rank == 5


def test_exact_collinearity_splits_the_common_part_equally() -> None:
    y, X = capital_dgp(120, seed=7)
    X["dFUT"] = 2.0 * X["EFP"]  # exact duplicate up to scale
    res = lmg(y, X, DEFAULT_GROUPS)
    assert res.rank == 5
    assert res.r2 == pytest.approx(r2_lstsq(y, [X[c] for c in NAMES if c != "dFUT"]), abs=1e-10)
    assert res.lmg["dFUT"] == pytest.approx(res.lmg["EFP"], abs=1e-10)
    assert sum(res.lmg.values()) == pytest.approx(res.r2, abs=1e-12)


def test_too_few_rows_or_constant_y_give_nan() -> None:
    y, X = capital_dgp(7, seed=8)
    assert math.isnan(lmg(y, X, DEFAULT_GROUPS).r2)  # 7 rows < p + 2 = 8
    y, X = capital_dgp(50, seed=8)
    res = lmg(np.ones(50), X, DEFAULT_GROUPS)
    assert math.isnan(res.r2) and math.isnan(res.csev)


def test_bad_groups_are_rejected() -> None:
    y, X = capital_dgp(50, seed=9)
    with pytest.raises(ValueError, match="not in X"):
        lmg(y, X, {"capital": ["nope"]})
    with pytest.raises(ValueError, match="more than one group"):
        lmg(y, X, {"a": ["EFP"], "b": ["EFP"]})


# ---- statistics ---------------------------------------------------------------------------------


def test_pure_noise_has_small_r2() -> None:
    """y independent of X: R² ~ Beta(p/2, (n−p−1)/2), mean p/(n−1) ≈ 0.058 at n = 104; bound = 99.9% quantile."""
    n, p = 104, 6
    rng = np.random.default_rng(10)
    _, X = capital_dgp(n, seed=11)
    res = lmg(rng.standard_normal(n), X, DEFAULT_GROUPS)
    assert res.r2 < stats.beta.ppf(0.999, p / 2, (n - p - 1) / 2)  # ≈ 0.21
    # across 900 rolling windows the median sits near the Beta median (≈ 0.052); ±0.03 is several SEs
    _, X = capital_dgp(1000, seed=12)
    ro = rolling_lmg(rng.standard_normal(1000), X, DEFAULT_GROUPS)
    assert np.nanmedian(ro.r2) == pytest.approx(stats.beta.median(p / 2, (n - p - 1) / 2), abs=0.03)


def test_capital_dominated_dgp_has_high_csev_and_a_tight_interval() -> None:
    """Population CSEV ≈ 0.92 (see capital_dgp); with 104 weeks the 95% block-bootstrap interval excludes 0.5."""
    y, X = capital_dgp(300, seed=13)
    bb = block_bootstrap_lmg(y, X, DEFAULT_GROUPS, window=104, n_boot=499, seed=14)
    assert bb.estimate.n == 104 and bb.block == 5.0
    assert bb.estimate.csev > 0.8
    lo, hi = bb.share_ci["capital"]
    assert 0.5 < lo <= bb.estimate.csev <= hi <= 1.0
    assert bb.n_valid == 499 and bb.share_draws["capital"].shape == (499,)
    # the market's small share (population 0.06) is not mistaken for a large one
    assert bb.share_ci["market"][1] < 0.3


def test_lagged_capital_gives_the_predictive_version() -> None:
    """y_w loads on C_{w−1}: the lagged regression explains far more through capital than the contemporaneous one."""
    y, X = capital_dgp(400, seed=15, lagged=True)
    L = lag_regressors(X)
    assert np.isnan(L["EFP"][0]) and np.array_equal(L["EFP"][1:], X["EFP"][:-1])
    assert np.array_equal(L["r_m"], X["r_m"])  # market and fundamental stay contemporaneous
    pred, contemp = lmg(y, L, DEFAULT_GROUPS), lmg(y, X, DEFAULT_GROUPS)
    assert pred.n_dropped == 1
    # population: capital LMG ≈ 1.41 / 1.79 ≈ 0.79 lagged; contemporaneously only the AR(1) echo,
    # correlations halved (φ = 0.5) → capital R² ≈ 0.25 · 1.41 / 1.79 ≈ 0.2
    assert pred.group["capital"] > 0.6 and contemp.group["capital"] < 0.35
    assert pred.csev > 0.8
    with pytest.raises(ValueError):
        lag_regressors(X, lag=-1)


# ---- rolling ------------------------------------------------------------------------------------


def test_rolling_matches_plain_at_several_dates() -> None:
    y, X = capital_dgp(400, seed=16)
    X["EFP"][[50, 51, 220]] = np.nan  # gaps inside some windows
    ro = rolling_lmg(y, X, DEFAULT_GROUPS, window=104, min_obs=60)
    assert np.all(np.isnan(ro.r2[:61]))  # fewer than 60 complete rows (rows 50, 51 are incomplete)
    assert ro.n[61] == 60 and np.isfinite(ro.r2[61])
    for w in (61, 103, 150, 230, 399):
        lo = max(0, w - 103)
        ref = lmg(y[lo : w + 1], {c: v[lo : w + 1] for c, v in X.items()}, DEFAULT_GROUPS)
        assert ro.n[w] == ref.n
        assert ro.r2[w] == pytest.approx(ref.r2, abs=1e-10)
        np.testing.assert_allclose(ro.lmg[w], [ref.lmg[c] for c in ro.names], atol=1e-10)
        for g in ref.share:
            assert ro.share[g][w] == pytest.approx(ref.share[g], abs=1e-10)


def test_rolling_is_trailing_and_defaults_to_full_windows() -> None:
    y, X = capital_dgp(300, seed=17)
    ro = rolling_lmg(y, X, DEFAULT_GROUPS)
    assert np.all(np.isnan(ro.r2[:103])) and np.isfinite(ro.r2[103]) and ro.min_obs == 104
    y2 = y.copy()
    y2[200:] += 10 * np.random.default_rng(0).standard_normal(100)  # change the future only
    ro2 = rolling_lmg(y2, X, DEFAULT_GROUPS)
    np.testing.assert_array_equal(ro.r2[:200], ro2.r2[:200])
    assert not np.allclose(ro.r2[200:], ro2.r2[200:])


def test_rolling_is_fast() -> None:
    """1000 weeks × 6 regressors (63 subsets per window): about 0.1 s here; 2 s leaves room for a busy CI."""
    y, X = capital_dgp(1000, seed=18)
    rolling_lmg(y[:200], {c: v[:200] for c, v in X.items()}, DEFAULT_GROUPS)  # warm caches
    t0 = time.perf_counter()
    ro = rolling_lmg(y, X, DEFAULT_GROUPS)
    assert time.perf_counter() - t0 < 2.0
    assert np.isfinite(ro.csev[103:]).all()


# ---- bootstrap indices --------------------------------------------------------------------------


def test_block_bootstrap_indices() -> None:
    n = 500
    mv = block_bootstrap_indices(n, 8, 50, seed=0, method="moving")
    assert mv.shape == (50, n) and mv.min() >= 0 and mv.max() < n
    blocks = mv[:, :496].reshape(50, 62, 8)  # fixed blocks of 8 consecutive rows
    assert np.all(np.diff(blocks, axis=2) == 1)
    st = block_bootstrap_indices(n, 8, 200, seed=1)
    assert st.shape == (200, n) and st.min() >= 0 and st.max() < n
    breaks = np.mean(np.diff(st, axis=1) % n != 1)  # new block with prob 1/8 (a restart may land on +1: tiny)
    assert breaks == pytest.approx(1 / 8, abs=0.01)
    lo, hi = percentile_interval(np.array([[1.0, np.nan], [2.0, np.nan], [3.0, np.nan]]), 0.5)
    assert lo[0] == pytest.approx(1.5) and hi[0] == pytest.approx(2.5) and np.isnan(lo[1])
