"""Persistence profile rows: the measures METHODS §1.7 allows, with their stats and p-values."""

from __future__ import annotations

import numpy as np
import pytest

from flows.signals import measures as m
from flows.signals.persistence import driver_profile, return_profile


def by_measure(rows):  # type: ignore[no-untyped-def]
    return {r.measure: r for r in rows}


def test_driver_profile_matches_the_measures() -> None:
    x = np.random.default_rng(1).standard_normal(150)
    rows = by_measure(driver_profile("cot_net_change", x))
    assert rows["autocorr_1"].value == pytest.approx(m.autocorr(x).rho)
    assert rows["vr_4"].stat == pytest.approx(m.variance_ratio(x, 4).z_star)
    st = m.streak(x)
    assert rows["streak"].value == st.length * st.sign and rows["streak"].p_value == pytest.approx(st.tail_prob)
    assert all(r.series == "cot_net_change" and r.n == 150 for r in rows.values() if r.measure != "same_sign_13")


def test_trending_returns_look_persistent_and_noise_does_not() -> None:
    rng = np.random.default_rng(2)
    noise = by_measure(return_profile(rng.standard_normal(504) * 0.01, n_shuffles=50))
    u = rng.standard_normal(504) * 0.01
    ar = np.empty_like(u)
    ar[0] = u[0]
    for t in range(1, u.size):
        ar[t] = 0.4 * ar[t - 1] + u[t]
    trend = by_measure(return_profile(ar, n_shuffles=50))
    assert noise["vr_5"].p_value > 0.01 and trend["vr_5"].p_value < 0.001
    assert trend["vr_5"].value > 1.3 and trend["autocorr_1"].stat > 5
    assert trend["dfa_alpha"].value > noise["dfa_alpha"].value
    assert set(noise) >= {"vr_2", "vr_5", "vr_10", "dfa_alpha", "efficiency_ratio_20", "trend_21", "trend_252", "runs"}


def test_missing_values_are_dropped_not_zeroed() -> None:
    x = np.array([1.0, np.nan, 2.0, -1.0, np.nan, 3.0] * 10)
    rows = by_measure(driver_profile("flows", x))
    assert rows["autocorr_1"].n == 40
