"""Momentum-persistence measures (METHODS.md §1), pure numpy, one function per measure.

Inputs are 1-d float arrays of *increments* on their native grid (daily log returns, weekly
changes in net futures positioning, bi-monthly changes in days to cover, daily ETF flows); never a
forward-filled grid (it manufactures autocorrelation, METHODS §1.8). NaNs are dropped where a
measure needs a gap-free sample (the caller decides the window). Every function returns plain
floats or small dataclasses; nothing here looks at dates, so point-in-time discipline belongs to
the caller, which passes only the trailing window that was public at the decision time.

Conventions (and the two pitfalls METHODS warns about):
- Variance ratio: overlapping, bias-adjusted ``m = q (T − q + 1)(1 − q/T)``; ``δ(j)`` WITHOUT the
  extra factor T, so ``θ(q)`` and ``φ(q)`` are both O(1/T) and ``z* = (VR − 1)/sqrt(θ)``. Self-check:
  on iid data ``θ(q) ≈ φ(q)``.
- DFA is fed increments (returns), not levels: a random-walk *price* path gives α ≈ 1.5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

TRADING_DAYS_MOP = 261  # Moskowitz-Ooi-Pedersen annualisation (not 252)


def _clean(x: ArrayLike) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    return a[np.isfinite(a)]


# ---- 1.1 autocorrelation ------------------------------------------------------------------------


@dataclass(frozen=True)
class Autocorr:
    rho: float  # lag-k autocorrelation
    se_iid: float  # 1/sqrt(T)
    se_robust: float  # heteroskedasticity-robust, = sqrt(delta(k))
    t_robust: float
    p_value: float  # two-sided, robust
    n: int


def autocorr(x: ArrayLike, k: int = 1) -> Autocorr:
    """Lag-k autocorrelation with iid and heteroskedasticity-robust standard errors (METHODS §1.1)."""
    e = _clean(x)
    e = e - e.mean()
    n = e.size
    if n <= k + 2:
        return Autocorr(math.nan, math.nan, math.nan, math.nan, math.nan, n)
    den = float(np.sum(e * e))
    rho = float(np.sum(e[k:] * e[:-k]) / den)
    se_r = float(math.sqrt(np.sum(e[k:] ** 2 * e[:-k] ** 2)) / den)
    t = rho / se_r if se_r > 0 else math.nan
    return Autocorr(rho, 1 / math.sqrt(n), se_r, t, float(2 * stats.norm.sf(abs(t))), n)


def delta(x: ArrayLike, j: int) -> float:
    """δ(j) of Lo-MacKinlay (METHODS §1.2), without the extra factor T."""
    e = _clean(x)
    e = e - e.mean()
    den = float(np.sum(e * e)) ** 2
    return float(np.sum(e[j:] ** 2 * e[:-j] ** 2) / den)


# ---- 1.2 variance ratio -------------------------------------------------------------------------


@dataclass(frozen=True)
class VarianceRatio:
    q: int
    vr: float
    z: float  # iid (homoskedastic) null
    z_star: float  # heteroskedasticity-robust null
    p_z: float
    p_z_star: float
    phi: float
    theta: float
    n: int


def variance_ratio(x: ArrayLike, q: int) -> VarianceRatio:
    """Lo-MacKinlay overlapping, bias-adjusted VR(q) with z and robust z* (METHODS §1.2)."""
    a = _clean(x)
    n = a.size
    if q < 2 or n < 2 * q:
        nan = math.nan
        return VarianceRatio(q, nan, nan, nan, nan, nan, nan, nan, n)
    mu = a.mean()
    e = a - mu
    sigma_a = float(np.sum(e * e)) / (n - 1)
    csum = np.concatenate(([0.0], np.cumsum(a)))
    agg = csum[q:] - csum[:-q] - q * mu  # T - q + 1 overlapping q-sums
    m = q * (n - q + 1) * (1 - q / n)
    sigma_c = float(np.sum(agg * agg)) / m
    vr = sigma_c / sigma_a
    phi = 2 * (2 * q - 1) * (q - 1) / (3 * q * n)
    e2 = e * e
    den = float(np.sum(e2)) ** 2
    theta = float(sum((2 * (q - j) / q) ** 2 * np.sum(e2[j:] * e2[:-j]) / den for j in range(1, q)))
    z = (vr - 1) / math.sqrt(phi)
    zs = (vr - 1) / math.sqrt(theta) if theta > 0 else math.nan
    return VarianceRatio(
        q, vr, z, zs, float(2 * stats.norm.sf(abs(z))), float(2 * stats.norm.sf(abs(zs))), phi, theta, n
    )


def vr_expected_ar1(phi_ar: float, q: int) -> float:
    """Population VR(q) of an AR(1) with coefficient φ: 1 + 2 Σ_{k<q} (1 − k/q) φ^k."""
    return 1 + 2 * sum((1 - k / q) * phi_ar**k for k in range(1, q))


# ---- 1.3 DFA ----------------------------------------------------------------------------------


def _dfa_fluctuation(profile: np.ndarray, s: int) -> float:
    n_boxes = profile.size // s
    if n_boxes < 1:
        return math.nan
    fwd = profile[: n_boxes * s].reshape(n_boxes, s)
    bwd = profile[profile.size - n_boxes * s :].reshape(n_boxes, s)
    boxes = np.vstack([fwd, bwd])  # 2 floor(T/s) boxes, forward and backward
    t = np.arange(s, dtype=float)
    tc = t - t.mean()
    slope = (boxes - boxes.mean(axis=1, keepdims=True)) @ tc / float(tc @ tc)
    fit = boxes.mean(axis=1, keepdims=True) + slope[:, None] * tc[None, :]
    return float(math.sqrt(np.mean((boxes - fit) ** 2)))


def dfa_scales(n: int, min_scale: int = 10, count: int = 12) -> np.ndarray:
    """Log-spaced box sizes in [min_scale, n/4]."""
    hi = max(min_scale + 1, n // 4)
    return np.unique(np.round(np.geomspace(min_scale, hi, count)).astype(int))


def dfa_alpha(x: ArrayLike, scales: ArrayLike | None = None) -> float:
    """DFA-1 exponent α of an increment series (≈ H for stationary input; 0.5 = uncorrelated)."""
    a = _clean(x)
    if a.size < 40:
        return math.nan
    profile = np.cumsum(a - a.mean())
    sc = np.asarray(scales if scales is not None else dfa_scales(a.size))
    f = np.array([_dfa_fluctuation(profile, int(s)) for s in sc])
    ok = np.isfinite(f) & (f > 0)
    if ok.sum() < 3:
        return math.nan
    return float(np.polyfit(np.log(sc[ok]), np.log(f[ok]), 1)[0])


def dfa_alpha_batch(rows: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """``dfa_alpha`` of every row of a (m x T) matrix of clean series at once (the shuffled band)."""
    prof = np.cumsum(rows - rows.mean(axis=1, keepdims=True), axis=1)
    m, size = prof.shape
    f = np.full((m, len(scales)), math.nan)
    for j, s in enumerate(int(x) for x in scales):
        n_boxes = size // s
        if n_boxes < 1:
            continue
        boxes = np.concatenate(
            [prof[:, : n_boxes * s].reshape(m, n_boxes, s), prof[:, size - n_boxes * s :].reshape(m, n_boxes, s)],
            axis=1,
        )
        tc = np.arange(s, dtype=float) - (s - 1) / 2.0
        mean = boxes.mean(axis=2, keepdims=True)
        slope = ((boxes - mean) @ tc) / float(tc @ tc)
        resid = boxes - mean - slope[:, :, None] * tc
        f[:, j] = np.sqrt(np.mean(resid**2, axis=(1, 2)))
    logs = np.log(np.asarray(scales, dtype=float))
    out = np.full(m, math.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        logf = np.log(f)
    ok = np.isfinite(logf) & (f > 0)
    for i in range(m):
        if ok[i].sum() >= 3:
            x, y = logs[ok[i]], logf[i, ok[i]]
            xc = x - x.mean()
            out[i] = float(xc @ (y - y.mean()) / (xc @ xc))
    return out


@dataclass(frozen=True)
class DfaResult:
    alpha: float
    band_low: float  # 2.5% of α over shuffled copies (the iid benchmark for this sample)
    band_high: float  # 97.5%
    n: int

    @property
    def outside_band(self) -> bool:
        return not (self.band_low <= self.alpha <= self.band_high)


def dfa(x: ArrayLike, n_shuffles: int = 200, seed: int = 0) -> DfaResult:
    """DFA α with a shuffled-returns Monte Carlo band (METHODS §1.3: display only, never a signal)."""
    a = _clean(x)
    alpha = dfa_alpha(a)
    rng = np.random.default_rng(seed)
    sc = dfa_scales(a.size)
    sims = dfa_alpha_batch(np.vstack([rng.permutation(a) for _ in range(n_shuffles)]), sc) if a.size >= 40 else []
    lo, hi = np.nanpercentile(sims, [2.5, 97.5]) if len(sims) else (math.nan, math.nan)
    return DfaResult(alpha, float(lo), float(hi), a.size)


# ---- 1.4 time-series momentum -------------------------------------------------------------------


def ewma_vol(returns: ArrayLike, com: float = 60.0, annualise: int = TRADING_DAYS_MOP) -> np.ndarray:
    """Ex-ante volatility σ_t (annualised) from returns through t−1 only (METHODS §1.4).

    σ²_t = annualise · Σ_i w_i (r_{t−1−i} − r̄_t)², w ∝ δ^i with δ/(1−δ) = com (δ = 60/61), weights
    normalised over the data available (pandas ``ewm(com=60, adjust=True)``); r̄_t the EWMA mean
    with the same weights. Element t uses r_0..r_{t−1}; element 0 is NaN. NaN returns are skipped.
    """
    from scipy.signal import lfilter

    r = np.asarray(returns, dtype=float)
    d = com / (1 + com)
    out = np.full(r.size, math.nan)
    if r.size < 2:
        return out
    ok = np.isfinite(r)
    x = np.where(ok, r, 0.0)
    # running sums S_t = d·S_{t−1} + x_t (the same recurrence as a loop, in C)
    s_w, s_wr, s_wr2 = (lfilter([1.0], [1.0, -d], v) for v in (ok.astype(float), x, x * x))
    prev_w, prev_wr, prev_wr2 = s_w[:-1], s_wr[:-1], s_wr2[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = prev_wr / prev_w
        var = np.maximum(prev_wr2 / prev_w - mean * mean, 0.0)
        vol = np.sqrt(annualise * var)
    out[1:] = np.where(prev_w > 0, vol, math.nan)
    return out


def trend_stat(returns: ArrayLike, window: int, com: float = 60.0) -> np.ndarray:
    """TS_W,t = Σ_{j<W} r_{t−j} / (σ_t^daily · √W): a vol-normalised trend t-statistic, N(0,1)
    under an iid null (METHODS §1.4). σ^daily is the ex-ante EWMA vol (data through t−1), so the
    statistic at t uses returns through t and a volatility estimated before them."""
    r = np.asarray(returns, dtype=float)
    vol_daily = ewma_vol(r, com, annualise=1)
    ok = np.isfinite(r)
    csum = np.concatenate(([0.0], np.cumsum(np.where(ok, r, 0.0))))
    cnt = np.concatenate(([0], np.cumsum(ok)))
    out = np.full(r.size, math.nan)
    if r.size >= window:
        sums = csum[window:] - csum[:-window]
        full = (cnt[window:] - cnt[:-window]) == window  # a missing return is never a zero return
        out[window - 1 :] = np.where(full, sums / (vol_daily[window - 1 :] * math.sqrt(window)), math.nan)
    return out


# ---- 1.5 efficiency ratio -----------------------------------------------------------------------


def efficiency_ratio(prices: ArrayLike, n: int = 10) -> np.ndarray:
    """Kaufman ER_t(n) = |P_t − P_{t−n}| / Σ_{j<n} |P_{t−j} − P_{t−j−1}| ∈ [0, 1] (NaN before n)."""
    p = np.asarray(prices, dtype=float)
    out = np.full(p.size, math.nan)
    if p.size <= n:
        return out
    step = np.abs(np.diff(p))
    csum = np.concatenate(([0.0], np.cumsum(step)))
    path = csum[n:] - csum[:-n]
    net = np.abs(p[n:] - p[:-n])
    with np.errstate(invalid="ignore", divide="ignore"):
        out[n:] = np.where(path > 0, net / path, math.nan)
    return out


# ---- 1.6 runs and streaks ----------------------------------------------------------------------


@dataclass(frozen=True)
class RunsTest:
    runs: int
    expected: float
    z: float  # < 0: fewer, longer runs than chance (persistence)
    p_value: float
    n_pos: int
    n_neg: int


def runs_test(x: ArrayLike) -> RunsTest:
    """Wald-Wolfowitz runs test on the signs of x (zeros dropped), METHODS §1.6."""
    a = _clean(x)
    s = np.sign(a[a != 0])
    n_pos, n_neg = int((s > 0).sum()), int((s < 0).sum())
    n = n_pos + n_neg
    if n_pos == 0 or n_neg == 0:
        return RunsTest(int(n > 0), math.nan, math.nan, math.nan, n_pos, n_neg)
    runs = int(1 + np.sum(s[1:] != s[:-1]))
    e = 1 + 2 * n_pos * n_neg / n
    v = 2 * n_pos * n_neg * (2 * n_pos * n_neg - n) / (n * n * (n - 1))
    z = (runs - e) / math.sqrt(v) if v > 0 else math.nan
    return RunsTest(runs, e, z, float(2 * stats.norm.sf(abs(z))), n_pos, n_neg)


@dataclass(frozen=True)
class Streak:
    length: int  # current run of same-signed values at the end of the series
    sign: int  # +1 / -1 (0 when empty)
    p_same: float  # share of that sign in the sample (the geometric null's p)
    tail_prob: float  # p^(L-1): chance a run this long under independence


def streak(x: ArrayLike) -> Streak:
    """Current streak and its tail probability under a geometric null (METHODS §1.6)."""
    a = _clean(x)
    s = np.sign(a[a != 0])
    if s.size == 0:
        return Streak(0, 0, math.nan, math.nan)
    last = s[-1]
    length = int(np.argmax(s[::-1] != last)) if np.any(s != last) else int(s.size)
    p = float((s == last).mean())
    return Streak(length, int(last), p, p ** (length - 1))


# ---- 1.3 rescaled range (for the record: METHODS says never use raw R/S H as a signal) ----------


def _rs(a: np.ndarray) -> float:
    y = np.cumsum(a - a.mean())
    s = a.std()
    return float((y.max() - y.min()) / s) if s > 0 else math.nan


def anis_lloyd(n: int) -> float:
    """Expected R/S of n iid normal summands (Anis-Lloyd), with Peters' (n − ½)/n correction."""
    i = np.arange(1, n)
    if n <= 340:
        lead = math.gamma((n - 1) / 2) / (math.sqrt(math.pi) * math.gamma(n / 2))
    else:
        lead = math.exp(math.lgamma((n - 1) / 2) - math.lgamma(n / 2)) / math.sqrt(math.pi)
    return float((n - 0.5) / n * lead * np.sum(np.sqrt((n - i) / i)))


@dataclass(frozen=True)
class RescaledRange:
    hurst: float  # raw R/S slope (biased upward in short samples)
    hurst_expected: float  # the Anis-Lloyd slope over the same sub-window sizes
    excess: float  # hurst - hurst_expected: ≈ 0 for iid data


def rescaled_range(x: ArrayLike, min_n: int = 10) -> RescaledRange:
    """Classical R/S Hurst slope across sub-window sizes, and its Anis-Lloyd-expected counterpart."""
    a = _clean(x)
    sizes = np.unique(np.round(np.geomspace(min_n, max(min_n + 1, a.size // 2), 10)).astype(int))
    obs, exp = [], []
    for n in sizes:
        k = a.size // n
        vals = [_rs(a[j * n : (j + 1) * n]) for j in range(k)]
        obs.append(np.nanmean(vals))
        exp.append(anis_lloyd(int(n)))
    ln = np.log(sizes)
    h = float(np.polyfit(ln, np.log(obs), 1)[0])
    he = float(np.polyfit(ln, np.log(exp), 1)[0])
    return RescaledRange(h, he, h - he)


def lo_modified_rs(x: ArrayLike, q: int | None = None) -> float:
    """Lo (1991) V_n = Q_n/√n with the Newey-West long-run SD; 95% iid acceptance ≈ [0.809, 1.862].

    ``q`` defaults to Andrews' (1991) AR(1) plug-in rule, floor((3n/2)^(1/3) (2ρ/(1−ρ²))^(2/3))."""
    a = _clean(x)
    n = a.size
    e = a - a.mean()
    if q is None:
        rho = float(np.sum(e[1:] * e[:-1]) / np.sum(e * e))
        rho = min(abs(rho), 0.99)
        q = math.floor((1.5 * n) ** (1 / 3) * (2 * rho / (1 - rho * rho)) ** (2 / 3)) if rho > 0 else 0
    var = float(np.mean(e * e))
    for j in range(1, q + 1):
        var += 2 * (1 - j / (q + 1)) * float(np.sum(e[j:] * e[:-j]) / n)
    y = np.cumsum(e)
    return float((y.max() - y.min()) / math.sqrt(var) / math.sqrt(n))
