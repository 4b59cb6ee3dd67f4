"""METHODS.md §7 synthetic acceptance results (items 1-9 and 17), seeded, with Monte Carlo tolerances.

Tolerances: a rejection rate over R = 1000 replications has binomial SE sqrt(p(1-p)/R) ≈ 0.0069 at
p = 0.05, so "about 4-7%" is checked as [2.9%, 7.1%] (±3 SE). Point estimates at T = 100,000 use
±3 SE of the statistic (for VR(q), SE = sqrt(φ(q))).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from flows.signals import measures as m
from flows.signals.normalise import composite, zscore

R = 1000


def rejection_rates(samples: np.ndarray, q: int = 5) -> tuple[float, float]:
    res = [m.variance_ratio(s, q) for s in samples]
    return float(np.mean([r.p_z < 0.05 for r in res])), float(np.mean([r.p_z_star < 0.05 for r in res]))


def garch(n_rep: int, t: int, omega: float = 1e-6, alpha: float = 0.1, beta: float = 0.85, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    burn = 500
    z = rng.standard_normal((n_rep, t + burn))
    h = np.full(n_rep, omega / (1 - alpha - beta))
    x = np.empty((n_rep, t + burn))
    for i in range(t + burn):
        x[:, i] = math.sqrt(1.0) * np.sqrt(h) * z[:, i]
        h = omega + alpha * x[:, i] ** 2 + beta * h
    return x[:, burn:]


# 1. random walk VR ------------------------------------------------------------------------------


@pytest.mark.parametrize("q", [2, 5, 10, 20])
def test_1_random_walk_vr_is_one_within_three_se(q: int) -> None:
    x = np.random.default_rng(11).standard_normal(100_000)
    vr = m.variance_ratio(x, q)
    assert abs(vr.vr - 1) <= 0.05 and abs(vr.vr - 1) <= 3 * math.sqrt(vr.phi)


def test_1_z_and_z_star_have_size_near_five_percent() -> None:
    samples = np.random.default_rng(12).standard_normal((R, 756))
    rz, rzs = rejection_rates(samples)
    assert 0.029 <= rz <= 0.071 and 0.029 <= rzs <= 0.071, (rz, rzs)


# 2. AR(1) ---------------------------------------------------------------------------------------


def test_2_ar1_vr_matches_theory_and_rho() -> None:
    rng = np.random.default_rng(13)
    u = rng.standard_normal(100_000)
    x = np.empty_like(u)
    x[0] = u[0]
    for t in range(1, u.size):
        x[t] = 0.2 * x[t - 1] + u[t]
    for q in (2, 5, 10):
        vr = m.variance_ratio(x, q)
        assert vr.vr == pytest.approx(m.vr_expected_ar1(0.2, q), abs=3 * math.sqrt(vr.phi) * 1.5)
    assert m.variance_ratio(x, 2).vr == pytest.approx(1.20, abs=0.015)
    assert m.autocorr(x).rho == pytest.approx(0.20, abs=3 / math.sqrt(100_000))


# 3. GARCH: z over-rejects, z* keeps its size ----------------------------------------------------


def test_3_garch_z_over_rejects_and_z_star_keeps_size() -> None:
    rz, rzs = rejection_rates(garch(R, 756))
    assert 0.029 <= rzs <= 0.071, rzs
    assert rz > 0.071 and rz > rzs + 0.02, (rz, rzs)  # METHODS' own check: 9.5% vs 4.8%


def test_3_theta_is_close_to_phi_on_iid_data() -> None:
    x = np.random.default_rng(14).standard_normal(20_000)
    for q in (2, 5, 10):
        vr = m.variance_ratio(x, q)
        assert vr.theta == pytest.approx(vr.phi, rel=0.1)


def test_vr_minus_one_approximates_rho_one() -> None:
    x = np.random.default_rng(15).standard_normal(5000)
    assert m.variance_ratio(x, 2).vr - 1 == pytest.approx(m.autocorr(x).rho, abs=0.003)


# 4. robust ACF standard error -------------------------------------------------------------------


def test_4_robust_acf_se_is_sqrt_delta_and_near_iid_se() -> None:
    x = np.random.default_rng(16).standard_normal(5000)
    ac = m.autocorr(x)
    assert ac.se_robust == pytest.approx(math.sqrt(m.delta(x, 1)), rel=1e-12)
    assert ac.se_robust == pytest.approx(1 / math.sqrt(5000), rel=0.1)
    het = garch(1, 5000, seed=17)[0]
    assert m.autocorr(het).se_robust > 1.1 / math.sqrt(5000)  # clustering widens the honest SE


# 5. DFA -----------------------------------------------------------------------------------------


def test_5_dfa_white_noise_cumsum_and_antipersistent() -> None:
    rng = np.random.default_rng(18)
    assert 0.42 <= m.dfa_alpha(rng.standard_normal(10_000)) <= 0.58
    assert 1.35 <= m.dfa_alpha(np.cumsum(rng.standard_normal(10_000))) <= 1.6  # fed a price path by mistake
    alternating = np.tile([1.0, -1.0], 2500) + 0.1 * rng.standard_normal(5000)
    assert m.dfa_alpha(alternating) < 0.3


def test_5_dfa_band_at_504_covers_most_white_noise() -> None:
    rng = np.random.default_rng(19)
    alphas = np.array([m.dfa_alpha(rng.standard_normal(504)) for _ in range(300)])
    inside = np.mean((alphas >= 0.39) & (alphas <= 0.60))
    assert inside >= 0.90, inside  # METHODS: ~95%; 3 SE of a proportion over 300 reps ≈ 0.038


def test_5_dfa_shuffle_band_flags_persistence_only_when_present() -> None:
    rng = np.random.default_rng(20)
    noise = m.dfa(rng.standard_normal(1000), n_shuffles=100)
    assert noise.band_low < 0.5 < noise.band_high
    u = rng.standard_normal(1000)
    persistent = np.convolve(u, np.ones(20) / 20, mode="same")  # strongly autocorrelated increments
    assert m.dfa(persistent, n_shuffles=100).outside_band


# 6. R/S -----------------------------------------------------------------------------------------


def test_6_rs_raw_h_biased_up_and_anis_lloyd_removes_it() -> None:
    rng = np.random.default_rng(21)
    res = [m.rescaled_range(rng.standard_normal(256)) for _ in range(200)]
    assert np.mean([r.hurst for r in res]) > 0.5
    assert abs(np.mean([r.excess for r in res])) < 0.02


def test_6_lo_modified_rs_acceptance_region() -> None:
    rng = np.random.default_rng(22)
    inside = np.mean([0.809 <= m.lo_modified_rs(rng.standard_normal(756)) <= 1.862 for _ in range(R)])
    assert 0.915 <= inside <= 0.965, inside  # METHODS' check at T = 756: 93.6%


def test_anis_lloyd_large_n_uses_log_gamma_consistently() -> None:
    assert m.anis_lloyd(340) == pytest.approx(m.anis_lloyd(341) * m.anis_lloyd(340) / m.anis_lloyd(341))
    assert math.isfinite(m.anis_lloyd(5000)) and m.anis_lloyd(5000) > m.anis_lloyd(1000)


# 7. efficiency ratio ----------------------------------------------------------------------------


def test_7_efficiency_ratio_line_and_random_walk() -> None:
    assert m.efficiency_ratio(np.linspace(10, 20, 50), 10)[-1] == pytest.approx(1.0)
    rng = np.random.default_rng(23)
    ers = [m.efficiency_ratio(np.cumsum(rng.standard_normal(11)), 10)[-1] for _ in range(20_000)]
    assert np.mean(ers) == pytest.approx(1 / math.sqrt(10), rel=0.05)


# 8. runs test -----------------------------------------------------------------------------------


def test_8_runs_test_iid_is_standard_normal_and_blocks_are_persistent() -> None:
    rng = np.random.default_rng(24)
    zs = np.array([m.runs_test(rng.standard_normal(500)).z for _ in range(R)])
    assert abs(zs.mean()) < 3 / math.sqrt(R) and abs(zs.std() - 1) < 0.07
    blocks = np.tile(np.r_[np.ones(10), -np.ones(10)], 20)
    assert m.runs_test(blocks).z < -10


def test_streak_tail_probability_is_geometric() -> None:
    s = m.streak([1, -2, 3, 4, 5, 6])  # five ups of six; the last four are a streak
    assert (s.length, s.sign) == (4, 1)
    assert s.p_same == pytest.approx(5 / 6) and s.tail_prob == pytest.approx((5 / 6) ** 3)


# 9. MOP volatility -------------------------------------------------------------------------------


def test_9_mop_vol_converges_and_uses_only_past_data() -> None:
    rng = np.random.default_rng(25)
    r = rng.standard_normal(20_000) * 0.01
    vol = m.ewma_vol(r)
    assert np.mean(vol[-5000:]) == pytest.approx(0.01 * math.sqrt(261), rel=0.02)
    bumped = r.copy()
    bumped[1000] = 0.5
    vb = m.ewma_vol(bumped)
    assert vb[1000] == vol[1000] and vb[1001] > vol[1001]  # r_t enters the vol for t+1, not t


def test_trend_stat_is_standard_normal_under_iid() -> None:
    rng = np.random.default_rng(26)
    r = rng.standard_normal(60_000) * 0.01
    ts = m.trend_stat(r, 21)[1000::21]  # non-overlapping windows
    assert abs(np.nanmean(ts)) < 0.05 and np.nanstd(ts) == pytest.approx(1.0, abs=0.05)


# 17. composite mechanics ------------------------------------------------------------------------


def test_17_equal_weight_composite_of_fifties_is_fifty() -> None:
    assert np.all(composite([np.full(30, 50.0)] * 7) == 50.0)


def test_17_z_composite_of_identical_components_equals_the_component() -> None:
    x = np.random.default_rng(27).standard_normal(600)
    z = zscore(x, 252, min_periods=126)
    comp = composite([z, z, z])
    assert np.array_equal(np.isnan(comp), np.isnan(z))
    np.testing.assert_allclose(comp[~np.isnan(z)], z[~np.isnan(z)])


def test_trend_stat_needs_a_full_window_of_returns() -> None:
    r = np.random.default_rng(28).standard_normal(300) * 0.01
    r[0] = np.nan  # the first return of a price series does not exist
    ts = m.trend_stat(r, 126)
    assert np.isnan(ts[125]) and np.isfinite(ts[126])
    r[200] = np.nan
    assert np.all(np.isnan(m.trend_stat(r, 126)[200:326]))
