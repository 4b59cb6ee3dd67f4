"""Trailing normalisation: hand-computed values, and nothing after t reaches the value at t."""

from __future__ import annotations

import math

import numpy as np
import pytest

from flows.signals.normalise import composite, minmax, percentile_rank, robust_zscore, warmup_mask, zscore


def test_zscore_uses_the_previous_window_only() -> None:
    x = np.array([1.0, 2.0, 3.0, 10.0, 4.0])
    z = zscore(x, 3, clip=99)
    # t=3: window [1,2,3] mean 2 sd 1 -> (10-2)/1 = 8; t=4: window [2,3,10] mean 5 sd sqrt(19) -> -1/sqrt(19)
    assert math.isnan(z[2])
    assert z[3] == pytest.approx(8.0) and z[4] == pytest.approx(-1 / math.sqrt(19))
    assert zscore(x, 3)[3] == 3.0  # clipped at +3 by default


def test_zscore_expands_from_min_periods_and_flags_warmup() -> None:
    x = np.array([1.0, 3.0, 2.0, 4.0, 6.0])
    z = zscore(x, 4, min_periods=2, clip=99)
    assert math.isnan(z[1]) and z[2] == pytest.approx((2 - 2) / math.sqrt(2))
    assert list(warmup_mask(x, 4)) == [True, True, True, True, False]


def test_future_values_do_not_change_past_scores() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal(400)
    y = x.copy()
    y[300:] += 50.0  # a shock after t = 299
    for f in (lambda a: zscore(a, 252, 126), lambda a: robust_zscore(a, 252, 126),
              lambda a: percentile_rank(a, 252, 126), lambda a: minmax(a, 252, 126)):  # fmt: skip
        np.testing.assert_array_equal(f(x)[:300], f(y)[:300])


def test_missing_values_stay_missing_and_are_skipped() -> None:
    x = np.array([1.0, np.nan, 3.0, 5.0, np.nan, 7.0])
    z = zscore(x, 3, min_periods=2, clip=99)
    assert math.isnan(z[1]) and math.isnan(z[4])
    # t=5: window [3, 5, nan] -> mean 4, sd sqrt(2) -> (7-4)/sqrt(2)
    assert z[5] == pytest.approx(3 / math.sqrt(2))


def test_percentile_rank_and_minmax_by_hand() -> None:
    x = np.array([5.0, 1.0, 3.0, 4.0])
    pr = percentile_rank(x, 3)
    assert math.isnan(pr[1]) and pr[2] == pytest.approx(100 * 2 / 3) and pr[3] == pytest.approx(100.0)
    mm = minmax(x, 3)
    assert mm[2] == pytest.approx(100 * (3 - 1) / (5 - 1)) and mm[3] == pytest.approx(100.0)


def test_robust_zscore_ignores_a_single_outlier_in_the_window() -> None:
    x = np.array([1.0, 2.0, 3.0, 1000.0, 2.0, 2.5])
    rz = robust_zscore(x, 4, clip=99)
    # t=5: window [2, 3, 1000, 2]: median 2.5, MAD median(|.-2.5|)=0.5 -> (2.5-2.5)/(1.4826*0.5) = 0
    assert rz[5] == pytest.approx(0.0)
    assert zscore(x, 4, clip=99)[5] < 0  # the plain z-score is dragged by the outlier


def test_composite_requires_a_minimum_of_components() -> None:
    a = np.array([1.0, np.nan, np.nan])
    b = np.array([3.0, 2.0, np.nan])
    c = np.array([np.nan, 4.0, np.nan])
    out = composite([a, b, c], min_present=2)
    assert out[0] == pytest.approx(2.0) and out[1] == pytest.approx(3.0) and math.isnan(out[2])
