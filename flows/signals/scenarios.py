"""Scenario odds: what happened over the next h days after past days in today's condition (pure numpy).

Inputs are one asset's daily rows on its trading grid: dates (increasing), split-adjusted closes, and a
condition per date — a regime label (METHODS.md §4.4: "Capital-led", "Washout", …) or a score bucket
(``trailing_quantile_buckets``). The condition at t must be computable at the close of t (point-in-time
inputs, §4.5); this module does not check that, it only guarantees that no PRICE after the as-of date
is used.

Conventions:
- Forward return: LOG return close t → close t + h rows, f_t = ln(P_{t+h} / P_t); additive over
  horizons and symmetric for ±σ cutoffs. Simple-return equivalents: exp(c) − 1 (``cutoffs_simple``).
- Buckets: cutoffs c_1 < … < c_m split returns into m + 1 buckets, bucket i = {c_i ≤ f < c_{i+1}}
  (c_0 = −∞, c_{m+1} = +∞). Default m = 2: pessimistic f < c_1, baseline, optimistic f ≥ c_2.
- Default cutoffs are volatility-scaled, today's terms: c = k · σ_d · √h with k = (−1, +1) and σ_d the
  sample SD of daily log returns over the ``vol_window`` = 252 rows ending at the as-of date (at least
  half of them present). The same cutoffs (a fixed % move) apply to every past date. Pass ``cutoffs``
  for fixed log-return thresholds instead (e.g. np.log1p([−0.05, 0.05])).
- No look-ahead: rows after the as-of date are discarded first; a past date t counts only if its
  forward window has ENDED by the as-of close (t + h ≤ as-of row: the as-of close is known at the
  as-of), its forward return is finite and its condition is present.
- n = matching dates; n_eff = n / h (forward windows overlap, so n overstates the information);
  n_spells = separate runs of the condition among the counted dates (few spells = few independent
  events, §6.3 item 9: read the intervals, not the point estimate).
- Intervals: block bootstrap over time (§6.3 item 3) of the eligible history (matching and
  non-matching dates, so the number of matches varies too), stationary (Politis–Romano) with mean
  block 2h by default (≥ h keeps the overlap of forward windows inside blocks, the extra h some of the
  condition's own persistence); percentile intervals. A draw with no matching date is dropped.
- If σ_d cannot be computed (too few prices), nothing is eligible: n = 0 and probabilities are NaN.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike

from flows.signals.bootstrap import block_bootstrap_indices, percentile_interval

HORIZONS = (5, 20)
SIGMA_MULTIPLES = (-1.0, 1.0)
BUCKETS_3 = ("pessimistic", "baseline", "optimistic")
VOL_WINDOW = 252


@dataclass(frozen=True)
class ScenarioOdds:
    as_of: object  # the last date used (≤ the requested as-of)
    horizon: int  # h, rows (trading days)
    condition: object  # today's condition (the one conditioned on)
    buckets: tuple[str, ...]
    cutoffs: tuple[float, ...]  # log-return cutoffs between buckets
    sigma_daily: float  # trailing daily log-return SD at the as-of (NaN with fixed cutoffs)
    prob: dict[str, float]  # P(bucket | condition), sums to 1 (NaN if n = 0)
    ci: dict[str, tuple[float, float]]  # block-bootstrap percentile interval per bucket
    count: dict[str, int]  # matching dates per bucket, sums to n
    n: int
    n_eff: float  # n / h
    n_spells: int
    mean_return: float  # mean forward log return over the matching dates
    median_return: float
    base_prob: dict[str, float]  # unconditional: all eligible dates
    base_n: int
    level: float
    block: float
    n_boot: int
    n_valid_boot: int  # draws with at least one matching date

    @property
    def cutoffs_simple(self) -> tuple[float, ...]:
        return tuple(math.expm1(c) for c in self.cutoffs)


def forward_log_returns(close: ArrayLike, horizon: int) -> np.ndarray:
    """f_t = ln(P_{t+h} / P_t), NaN for the last h rows and where a price is missing or ≤ 0."""
    p = np.asarray(close, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        lp = np.where(p > 0, np.log(p), math.nan)
    out = np.full(p.size, math.nan)
    if horizon < p.size:
        out[: p.size - horizon] = lp[horizon:] - lp[:-horizon]
    return out


def trailing_quantile_buckets(
    score: ArrayLike, n_buckets: int = 5, window: int = VOL_WINDOW, min_periods: int | None = None
) -> np.ndarray:
    """Quantile bucket 0 .. n_buckets − 1 of each score against its OWN PREVIOUS ``window`` values only.

    bucket_t = min(n − 1, floor(n · F_{t−1}(x_t))), F_{t−1} = share of the present values in
    x_{t−window} .. x_{t−1} that are ≤ x_t (t excluded, as in ``normalise.zscore``). Float array with
    NaN where x_t is missing or fewer than ``min_periods`` (default ``window``) values back it.
    """
    a = np.asarray(score, dtype=float)
    min_periods = min_periods or window
    pad = np.concatenate((np.full(window, math.nan), a))
    win = sliding_window_view(pad[:-1], window)  # row t = a[t-window .. t-1]
    ok = np.isfinite(win)
    cnt = ok.sum(axis=1)
    le = np.sum(ok & (win <= a[:, None]), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        b = np.minimum(np.floor(n_buckets * le / cnt), n_buckets - 1)
    b[(cnt < min_periods) | ~np.isfinite(a)] = math.nan
    return b


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float | np.floating) and math.isnan(v))


def scenario_odds(
    dates: ArrayLike,
    close: ArrayLike,
    condition: ArrayLike,
    horizon: int,
    *,
    as_of: object | None = None,
    current: object | None = None,
    cutoffs: Sequence[float] | None = None,
    sigma_multiples: Sequence[float] = SIGMA_MULTIPLES,
    vol_window: int = VOL_WINDOW,
    bucket_names: Sequence[str] | None = None,
    n_boot: int = 999,
    block: float | None = None,
    level: float = 0.90,
    method: str = "stationary",
    seed: int | np.random.Generator | None = 0,
) -> ScenarioOdds:
    """Empirical distribution of the h-day forward log return after past dates in today's condition.

    ``as_of`` (default: last date) and ``current`` (default: the condition on the as-of row) select what
    is conditioned on. Either fixed log ``cutoffs`` or ``sigma_multiples`` × σ_d × √h. Returns counts,
    probabilities, bootstrap intervals, n, n/h and the unconditional base rates.
    """
    if horizon < 1:
        raise ValueError("horizon must be >= 1 row")
    d = np.asarray(dates)
    px = np.asarray(close, dtype=float)
    cond = np.asarray(condition, dtype=object)
    if not (d.shape == px.shape == cond.shape) or d.ndim != 1:
        raise ValueError("dates, close and condition must be 1-d and aligned")
    if d.size > 1 and not np.all(d[1:] > d[:-1]):
        raise ValueError("dates must be strictly increasing")
    if as_of is not None:
        keep = int(np.searchsorted(d, np.asarray(as_of, dtype=d.dtype), side="right"))
        d, px, cond = d[:keep], px[:keep], cond[:keep]
    if d.size == 0:
        raise ValueError("no rows on or before as_of")
    last = d.size - 1
    today = cond[last] if current is None else current

    sigma = math.nan
    if cutoffs is None:
        with np.errstate(invalid="ignore", divide="ignore"):
            lr = np.diff(np.where(px > 0, np.log(px), math.nan))[-vol_window:]
        lr = lr[np.isfinite(lr)]
        if lr.size >= max(2, vol_window // 2):
            sigma = float(np.std(lr, ddof=1))
        cuts = tuple(float(k) * sigma * math.sqrt(horizon) for k in sigma_multiples)
    else:
        cuts = tuple(float(c) for c in cutoffs)
    if all(map(math.isfinite, cuts)) and any(b <= a for a, b in itertools.pairwise(cuts)):
        raise ValueError(f"cutoffs must be strictly increasing: {cuts}")
    names = tuple(bucket_names) if bucket_names is not None else (
        BUCKETS_3 if len(cuts) == 2 else tuple(f"b{i}" for i in range(len(cuts) + 1)))  # fmt: skip
    if len(names) != len(cuts) + 1:
        raise ValueError(f"{len(names)} bucket names for {len(cuts) + 1} buckets")
    k = len(names)

    # pool: dates whose forward window ended by the as-of close (t + h <= last)
    pool = max(last - horizon + 1, 0)
    f = forward_log_returns(px, horizon)[:pool]
    present = np.array([not _missing(v) for v in cond[:pool]], dtype=bool)
    eligible = np.isfinite(f) & present
    match = eligible & (np.zeros(pool, dtype=bool) if _missing(today) else _equal(cond[:pool], today))
    bucket = np.searchsorted(np.asarray(cuts), np.where(np.isfinite(f), f, 0.0), side="right")
    if not all(map(math.isfinite, cuts)):
        eligible = match = np.zeros(pool, dtype=bool)

    def probs(mask: np.ndarray) -> tuple[dict[str, int], dict[str, float], int]:
        cnt = np.bincount(bucket[mask], minlength=k)
        tot = int(cnt.sum())
        return ({b: int(c) for b, c in zip(names, cnt, strict=True)},
                {b: (float(c / tot) if tot else math.nan) for b, c in zip(names, cnt, strict=True)}, tot)  # fmt: skip

    count, prob, n = probs(match)
    _, base_prob, base_n = probs(eligible)
    spells = int(np.sum(match & ~np.concatenate(([False], match[:-1])))) if pool else 0

    block = 2.0 * horizon if block is None else float(block)
    nan_ci = (math.nan, math.nan)
    ci = dict.fromkeys(names, nan_ci)
    n_valid = 0
    if n > 0:
        idx = block_bootstrap_indices(pool, block, n_boot, seed, method)
        mb = match[idx]
        tot = mb.sum(axis=1)
        n_valid = int(np.sum(tot > 0))
        with np.errstate(invalid="ignore", divide="ignore"):
            draws = np.stack([np.sum(mb & (bucket[idx] == i), axis=1) / tot for i in range(k)], axis=1)
        lo, hi = percentile_interval(np.where(tot[:, None] > 0, draws, math.nan), level)
        ci = {b: (float(a), float(c)) for b, a, c in zip(names, lo, hi, strict=True)}

    fm = f[match]
    return ScenarioOdds(
        as_of=d[last],
        horizon=horizon,
        condition=today,
        buckets=names,
        cutoffs=cuts,
        sigma_daily=sigma,
        prob=prob,
        ci=ci,
        count=count,
        n=n,
        n_eff=n / horizon,
        n_spells=spells,
        mean_return=float(fm.mean()) if n else math.nan,
        median_return=float(np.median(fm)) if n else math.nan,
        base_prob=base_prob,
        base_n=base_n,
        level=level,
        block=block,
        n_boot=n_boot,
        n_valid_boot=n_valid,
    )


def _equal(values: np.ndarray, target: object) -> np.ndarray:
    """Element-wise ``values == target`` for an object array (labels or numeric buckets)."""
    return np.array([(not _missing(v)) and v == target for v in values], dtype=bool)


def scenario_table(
    dates: ArrayLike, close: ArrayLike, condition: ArrayLike, horizons: Sequence[int] = HORIZONS, **kwargs
) -> dict[int, ScenarioOdds]:
    """``scenario_odds`` for each horizon (default h = 5 and 20 trading days), same as-of and condition."""
    return {h: scenario_odds(dates, close, condition, h, **kwargs) for h in horizons}
