"""Scenario odds: counting is exact, nothing after the as-of date is used, trailing buckets only.

Counts, sums and the no-look-ahead properties are exact (==). The only statistical checks are the
uniformity of trailing quantile buckets on iid data (±0.03 around 0.2 with ~1,700 dates: the SE of a
bucket share is ≈ 0.01) and ordering checks on bootstrap intervals.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from flows.signals.scenarios import (
    forward_log_returns,
    scenario_odds,
    scenario_table,
    trailing_quantile_buckets,
)

LABELS = np.array(["Neutral", "Capital-led", "Washout"], dtype=object)


def market(n: int = 800, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    dates = np.datetime64("2021-01-04") + np.arange(n)  # a row grid; calendar gaps are irrelevant here
    close = 100 * np.exp(np.cumsum(0.02 * rng.standard_normal(n)))
    # persistent labels: runs of 1-30 rows
    cond = np.empty(n, dtype=object)
    t = 0
    while t < n:
        k = int(rng.integers(1, 31))
        cond[t : t + k] = LABELS[rng.integers(0, 3)]
        t += k
    return dates, close, cond


def test_probabilities_sum_to_one_and_counts_match_a_loop() -> None:
    dates, close, cond = market()
    h = 5
    res = scenario_odds(dates, close, cond, h)
    last = len(dates) - 1
    today = cond[last]
    f = forward_log_returns(close, h)
    lo, hi = res.cutoffs
    manual = {"pessimistic": 0, "baseline": 0, "optimistic": 0}
    for t in range(len(dates)):
        if t + h <= last and cond[t] == today:
            b = "pessimistic" if f[t] < lo else "optimistic" if f[t] >= hi else "baseline"
            manual[b] += 1
    assert res.condition == today
    assert res.count == manual and res.n == sum(manual.values())
    assert sum(res.prob.values()) == pytest.approx(1.0, abs=1e-12)
    assert sum(res.base_prob.values()) == pytest.approx(1.0, abs=1e-12)
    assert res.base_n == last - h + 1  # every date with a complete forward window
    assert res.n_eff == res.n / h
    assert 1 <= res.n_spells < res.n
    for b, (a, c) in res.ci.items():
        assert 0.0 <= a <= c <= 1.0 and a <= res.prob[b] + 0.05 and c >= res.prob[b] - 0.05


def test_vol_scaled_cutoffs_use_trailing_daily_vol() -> None:
    dates, close, cond = market()
    res = scenario_odds(dates, close, cond, 20, n_boot=50)
    sigma = np.std(np.diff(np.log(close))[-252:], ddof=1)
    assert res.sigma_daily == pytest.approx(sigma, rel=1e-12)
    assert res.cutoffs == pytest.approx((-sigma * math.sqrt(20), sigma * math.sqrt(20)), rel=1e-12)
    assert res.cutoffs_simple[1] == pytest.approx(math.expm1(res.cutoffs[1]))


def test_perfect_predictor_gives_certain_optimistic_bucket() -> None:
    dates, close, _ = market(seed=1)
    h = 20
    f = forward_log_returns(close, h)
    up = np.where(f > 0.10, "up", "other").astype(object)  # artificial: the label sees the future
    up[-1] = "up"  # today's condition
    res = scenario_odds(dates, close, up, h, cutoffs=(-0.05, 0.05))
    assert res.n > 10
    assert res.prob == {"pessimistic": 0.0, "baseline": 0.0, "optimistic": 1.0}
    assert res.ci["optimistic"] == (1.0, 1.0)
    # the default vol-scaled cutoffs (±1σ√h ≈ ±0.09) give ≈ 1 as well
    res_v = scenario_odds(dates, close, up, h, n_boot=100)
    assert res_v.prob["optimistic"] == pytest.approx(1.0, abs=0.02)


def test_future_rows_do_not_change_the_result() -> None:
    dates, close, cond = market(n=900, seed=2)
    as_of = dates[700]
    for h in (5, 20):
        base = scenario_odds(dates[:701], close[:701], cond[:701], h)
        close2 = close.copy()
        close2[701:] *= 3.0  # a huge move right after the as-of
        cond2 = cond.copy()
        cond2[701:] = cond[700]
        res = scenario_odds(dates, close2, cond2, h, as_of=as_of)
        assert res == base
        assert res.as_of == as_of


def test_only_windows_that_ended_by_the_as_of_count() -> None:
    dates, close, _ = market(n=300, seed=3)
    h, last = 5, 299
    cond = np.full(300, "x", dtype=object)
    cond[last - h] = "target"  # window ends exactly at the as-of close: counts
    cond[last - h + 1] = "target"  # window ends one row later: does not
    res = scenario_odds(dates, close, cond, h, current="target", n_boot=50)
    assert res.n == 1 and res.n_spells == 1
    f = math.log(close[last] / close[last - h])
    assert res.mean_return == pytest.approx(f)


def test_missing_condition_and_prices() -> None:
    dates, close, cond = market(n=400, seed=4)
    cond[-1] = None
    res = scenario_odds(dates, close, cond, 5, n_boot=50)
    assert res.n == 0 and all(math.isnan(v) for v in res.prob.values())
    assert res.base_n > 0
    # numeric buckets with NaN: NaN never matches, and missing prices drop their windows
    b = trailing_quantile_buckets(np.random.default_rng(5).standard_normal(400), 5, 100)
    close[200] = np.nan
    res = scenario_odds(dates, close, b, 5, n_boot=50)
    f = forward_log_returns(close, 5)
    expect = sum(1 for t in range(395) if b[t] == b[-1] and np.isfinite(f[t]))
    assert res.n == expect and np.isnan(f[195]) and np.isnan(f[200])


def test_fixed_cutoffs_and_custom_buckets() -> None:
    dates, close, cond = market(seed=6)
    res = scenario_odds(dates, close, cond, 5, cutoffs=np.log1p([-0.1, -0.02, 0.02, 0.1]),
                        bucket_names=["crash", "down", "flat", "up", "boom"], n_boot=50)  # fmt: skip
    assert res.buckets == ("crash", "down", "flat", "up", "boom") and math.isnan(res.sigma_daily)
    assert sum(res.count.values()) == res.n
    with pytest.raises(ValueError, match="increasing"):
        scenario_odds(dates, close, cond, 5, cutoffs=(0.1, -0.1))


def test_scenario_table_default_horizons() -> None:
    dates, close, cond = market(seed=7)
    tab = scenario_table(dates, close, cond, n_boot=100)
    assert sorted(tab) == [5, 20]
    assert tab[20].block == 40.0 and tab[5].block == 10.0  # default mean block 2h (≥ h)
    assert tab[20].n_eff == tab[20].n / 20


def test_trailing_quantile_buckets_by_hand_and_no_look_ahead() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0, 2.5, 10.0, np.nan, 0.0])
    b = trailing_quantile_buckets(x, n_buckets=2, window=4)
    # t=4: prior [1,2,3,4], share ≤ 2.5 = 2/4 → floor(2·0.5) = 1; t=5: prior [2,3,4,2.5] all ≤ 10 → 1 (top)
    # t=6: x missing → NaN; t=7: prior [4, 2.5, 10, NaN] has 3 values < min_periods 4 → NaN
    #      (with min_periods 3: none ≤ 0 → bucket 0)
    assert np.isnan(b[:4]).all() and b[4] == 1 and b[5] == 1 and np.isnan(b[6]) and np.isnan(b[7])
    assert trailing_quantile_buckets(x, 2, 4, min_periods=3)[7] == 0
    rng = np.random.default_rng(8)
    s = rng.standard_normal(2000)
    bb = trailing_quantile_buckets(s, 5, 252)
    s2 = s.copy()
    s2[1500:] += 100.0
    np.testing.assert_array_equal(bb[:1500], trailing_quantile_buckets(s2, 5, 252)[:1500])
    shares = np.bincount(bb[252:].astype(int), minlength=5) / bb[252:].size
    np.testing.assert_allclose(shares, 0.2, atol=0.03)
