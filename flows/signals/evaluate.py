"""Signal evaluation (METHODS.md §6; acceptance tests §7 items 10 and 11): pure numpy/scipy/polars.

Conventions (read these before quoting a number)
-----------------------------------------------
- **Rows, not days.** Inputs are in time order; a horizon ``h`` counts rows (trading days, weeks or
  months, whatever one row is), never calendar days.
- **Forward target (Rapach–Ringgenberg–Zhou 2016, METHODS §3.2).** The row at t pairs the predictor
  ``x_t`` with ``y_{t→t+h} = (1/h) Σ_{j=1..h} y_{t+j}``: the MEAN of the next h values of y. ``y_t``
  itself is excluded (it is known at t). Units: those of y (e.g. log return per row, so the target is
  a per-row average and ``beta`` is per row; multiply by h for the h-row total). The last h rows, and
  any row whose window holds a missing y, have no target (NaN). See :func:`forward_mean`.
- **Cross-sectional forward return (panel functions).** ``ln(P_{t+h} / P_t)``: the h-row log return,
  a SUM of the next h daily log returns (= h × the forward mean). See :func:`forward_log_return` and
  :func:`add_forward_returns`. Spearman IC is the same for the sum and the mean.
- **Fractions, not percent.** ``r2 = 0.0123`` is 1.23%; so are ``r2_oos`` and IC values (−1..1).
- **Overlap.** With h > 1 consecutive targets share h − 1 values, so residuals are MA(h − 1) and a
  plain t-stat is inflated by about √h. Every regression t-stat here uses Newey–West (Bartlett) standard
  errors and is repeated on non-overlapping rows (every h-th row, plain OLS SEs); the effective sample
  size ``T/h`` is reported beside ``T``.
- **Newey–West lags.** Default ``L = max(h − 1, floor(4 (T/100)^(2/9)))`` (METHODS §6.3: at least h − 1
  lags, the automatic rule as a floor), capped at T − 1; Rapach et al. use ``L = h`` (pass it). No
  small-sample (n/(n−k)) correction, as in Newey & West (1987) and the ``GabboCg/rrz2016`` code.
- **No look-ahead out of sample.** The target of row s is complete at the close of row s + h, so the
  forecast made at row t (for the target t→t+h) is fitted only on rows s with ``s + h ≤ t``, and the
  benchmark is a recursive mean of data known at t. Forecasts are bitwise unchanged if anything after
  row t changes (tested).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import polars as pl
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike
from scipy import stats

MIN_OBS = 10
DEFAULT_HORIZONS = (1, 5, 10, 20)
FEW_ASSETS = 20  # below this many assets per date, at most 3 quantiles (METHODS §6.2)
MAX_QUANTILES_FEW_ASSETS = 3
NW_LAG_RULE = "max(h-1, floor(4*(T/100)^(2/9))), capped at T-1"


class EvaluationError(ValueError):
    """A one-line, user-facing problem with the inputs (too few observations, constant predictor, ...)."""


# --------------------------------------------------------------------------------------------------
# Forward targets
# --------------------------------------------------------------------------------------------------


def forward_mean(y: ArrayLike, horizon: int) -> np.ndarray:
    """Row t → mean of ``y[t+1 .. t+horizon]`` (y_t excluded); NaN where the window is incomplete.

    Units: those of y. Length: that of y. A NaN inside the window makes that target NaN (incomplete),
    never a mean of fewer values. Example, h = 2: ``[1, 2, 3, 4, 5, 6] → [2.5, 3.5, 4.5, 5.5, nan, nan]``.
    """
    h = _check_horizon(horizon)
    a = np.asarray(y, dtype=float)
    out = np.full(a.shape, math.nan)
    if a.size > h:
        out[: a.size - h] = sliding_window_view(a[1:], h).mean(axis=1)
    return out


def forward_log_return(prices: ArrayLike, horizon: int) -> np.ndarray:
    """Row t → ``ln(P[t+h] / P[t])``, the h-row log return (a sum of h daily log returns); NaN at the end.

    Prices must be positive (split/dividend adjusted for return work); NaN prices give NaN.
    """
    h = _check_horizon(horizon)
    p = np.asarray(prices, dtype=float)
    if np.any(p[np.isfinite(p)] <= 0):
        raise EvaluationError("prices must be positive to take log returns")
    out = np.full(p.shape, math.nan)
    if p.size > h:
        out[: p.size - h] = np.log(p[h:] / p[:-h])
    return out


def log_returns(prices: ArrayLike) -> np.ndarray:
    """Row t → ``ln(P[t] / P[t-1])`` (NaN at row 0): the per-row series whose forward mean is a target."""
    p = np.asarray(prices, dtype=float)
    if np.any(p[np.isfinite(p)] <= 0):
        raise EvaluationError("prices must be positive to take log returns")
    out = np.full(p.shape, math.nan)
    out[1:] = np.log(p[1:] / p[:-1])
    return out


def prevailing_mean(y: ArrayLike) -> np.ndarray:
    """Row t → mean of the finite values of ``y[0..t]``: the recursive historical-mean forecast known at t.

    This is the Rapach et al. / Goyal–Welch benchmark for a mean-of-future-y target (it uses y_t, which
    is public at t). NaN until the first finite value.
    """
    a = np.asarray(y, dtype=float)
    ok = np.isfinite(a)
    n = np.cumsum(ok)
    s = np.cumsum(np.where(ok, a, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), math.nan)


# --------------------------------------------------------------------------------------------------
# Predictive regression with Newey–West standard errors
# --------------------------------------------------------------------------------------------------


def default_nw_lags(n_obs: int, horizon: int) -> int:
    """``max(h − 1, floor(4 (T/100)^(2/9)))`` capped at T − 1 (METHODS §6.3)."""
    auto = math.floor(4.0 * (max(n_obs, 0) / 100.0) ** (2.0 / 9.0))
    return int(max(0, min(max(horizon - 1, auto), n_obs - 1)))


def newey_west_cov(X: np.ndarray, resid: np.ndarray, lags: int) -> np.ndarray:
    """Newey–West (Bartlett kernel) covariance of OLS coefficients, no small-sample correction.

    ``V = (X'X)^-1 S (X'X)^-1`` with ``S = Σ_t u_t² x_t x_t' + Σ_{l=1..L} (1 − l/(L+1)) (Γ_l + Γ_l')``,
    ``Γ_l = Σ_{t>l} u_t u_{t−l} x_t x_{t−l}'``. ``lags = 0`` is White's heteroskedasticity-robust matrix.
    """
    X = np.asarray(X, dtype=float)
    u = np.asarray(resid, dtype=float)
    n = X.shape[0]
    lags = int(min(max(lags, 0), n - 1))
    xu = X * u[:, None]
    s = xu.T @ xu
    for lag in range(1, lags + 1):
        g = xu[lag:].T @ xu[:-lag]
        s += (1.0 - lag / (lags + 1.0)) * (g + g.T)
    xtx_inv = np.linalg.inv(X.T @ X)
    return xtx_inv @ s @ xtx_inv


def nw_mean_se(v: ArrayLike, lags: int) -> float:
    """Newey–West (Bartlett) standard error of the sample mean of ``v`` (finite values, in order)."""
    a = np.asarray(v, dtype=float)
    a = a[np.isfinite(a)]
    n = a.size
    if n < 2:
        return math.nan
    d = a - a.mean()
    lags = int(min(max(lags, 0), n - 1))
    lrv = d @ d / n
    for lag in range(1, lags + 1):
        lrv += 2.0 * (1.0 - lag / (lags + 1.0)) * (d[lag:] @ d[:-lag]) / n
    return math.sqrt(lrv / n) if lrv > 0 else math.nan


@dataclass(frozen=True)
class PredictiveRegression:
    """``y_{t→t+h} = alpha + beta · x_t + e``. Units: beta in target units per unit of x; r2 a fraction.

    ``effective_n = n_obs / horizon`` (roughly independent observations). ``p_nw`` is two-sided
    (normal). The ``*_nonoverlap`` fields repeat the regression on every h-th usable row (no two targets
    share a value) with plain OLS standard errors: if they disagree with the NW answer, trust neither.
    """

    horizon: int
    n_obs: int
    effective_n: float
    nw_lags: int
    alpha: float
    beta: float
    se_nw: float
    t_nw: float
    p_nw: float
    r2: float
    n_nonoverlap: int
    beta_nonoverlap: float
    se_ols_nonoverlap: float
    t_nonoverlap: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _ols(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = np.column_stack((np.ones_like(x), x))
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    return X, coef, y - X @ coef


def nonoverlapping_rows(valid: np.ndarray, horizon: int) -> np.ndarray:
    """Indices of usable rows at least ``horizon`` rows apart, greedily from the first usable row."""
    picked: list[int] = []
    nxt = -1
    for i in np.flatnonzero(valid):
        if i >= nxt:
            picked.append(int(i))
            nxt = i + horizon
    return np.asarray(picked, dtype=int)


def predictive_regression(
    x: ArrayLike, y_fwd: ArrayLike, horizon: int, *, nw_lags: int | None = None, min_obs: int = MIN_OBS
) -> PredictiveRegression:
    """OLS of the aligned target on the predictor, with Newey–West SEs and a non-overlapping check.

    ``y_fwd[t]`` must be the target whose window is rows t+1..t+h (e.g. ``forward_mean(y, h)``, or a
    panel's ``fwd_ret_h``); ``x[t]`` must be known at t. Rows where either is NaN are dropped.
    ``nw_lags=None`` uses :func:`default_nw_lags` on the number of usable rows. Raises
    :class:`EvaluationError` with fewer than ``min_obs`` usable rows or a constant predictor.
    """
    h = _check_horizon(horizon)
    xa, ya = _pair(x, y_fwd)
    valid = np.isfinite(xa) & np.isfinite(ya)
    n = int(valid.sum())
    if n < max(min_obs, 3):
        raise EvaluationError(
            f"too few observations: {n} rows have both x and a complete {h}-row target "
            f"(need at least {max(min_obs, 3)})"
        )
    xv, yv = xa[valid], ya[valid]
    if np.ptp(xv) == 0:
        raise EvaluationError("the predictor is constant over the sample: no regression possible")
    X, coef, u = _ols(yv, xv)
    lags = default_nw_lags(n, h) if nw_lags is None else int(min(max(nw_lags, 0), n - 1))
    se = math.sqrt(newey_west_cov(X, u, lags)[1, 1])
    sst = float(((yv - yv.mean()) ** 2).sum())
    r2 = 1.0 - float(u @ u) / sst if sst > 0 else math.nan
    t = coef[1] / se if se > 0 else math.nan

    rows = nonoverlapping_rows(valid, h)
    b_no = se_no = t_no = math.nan
    if rows.size >= 3 and np.ptp(xa[rows]) > 0:
        Xn, cn, un = _ols(ya[rows], xa[rows])
        s2 = float(un @ un) / (rows.size - 2)
        se_no = math.sqrt(s2 * np.linalg.inv(Xn.T @ Xn)[1, 1]) if rows.size > 2 else math.nan
        b_no = float(cn[1])
        t_no = b_no / se_no if se_no > 0 else math.nan
    return PredictiveRegression(
        horizon=h,
        n_obs=n,
        effective_n=n / h,
        nw_lags=lags,
        alpha=float(coef[0]),
        beta=float(coef[1]),
        se_nw=se,
        t_nw=float(t),
        p_nw=float(2.0 * stats.norm.sf(abs(t))) if math.isfinite(t) else math.nan,
        r2=r2,
        n_nonoverlap=int(rows.size),
        beta_nonoverlap=b_no,
        se_ols_nonoverlap=se_no,
        t_nonoverlap=t_no,
    )


# --------------------------------------------------------------------------------------------------
# Out of sample: Campbell–Thompson R²_OS and Clark–West
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class OutOfSample:
    """Recursive (expanding-window) forecasts from row ``oos_start`` and their evaluation.

    ``r2_oos = 1 − Σ(y − ŷ)² / Σ(y − ȳ)²`` (fraction; > 0 means the predictor beats the benchmark).
    ``clark_west`` is the t-stat of ``f = (y − ȳ)² − [(y − ŷ)² − (ȳ − ŷ)²]`` with NW (Bartlett,
    ``nw_lags``) SEs; ``clark_west_p`` its one-sided p-value (standard normal, H1: the model is better).
    ``forecast`` / ``benchmark`` are full-length arrays (NaN before ``oos_start`` or where undefined);
    ``evaluated`` flags the rows that enter the statistics (forecast, benchmark and target all finite).
    """

    horizon: int
    oos_start: int
    n_forecasts: int
    n_train_first: int
    nw_lags: int
    r2_oos: float
    clark_west: float
    clark_west_p: float
    msfe_model: float
    msfe_benchmark: float
    forecast: np.ndarray = field(repr=False)
    benchmark: np.ndarray = field(repr=False)
    evaluated: np.ndarray = field(repr=False)

    def as_dict(self) -> dict[str, float | int]:
        d = asdict(self)
        for k in ("forecast", "benchmark", "evaluated"):
            d.pop(k)
        return d


def recursive_forecasts(x: ArrayLike, y_fwd: ArrayLike, horizon: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every row t: OLS fitted on rows s with ``s + h ≤ t`` (targets complete by t), forecast at ``x_t``.

    Returns ``(forecast, target_mean, n_train)``: ``target_mean[t]`` is the mean of the same training
    targets (the default benchmark). Prefix sums make it O(T); cumulative sums are sequential, so a
    change after row t leaves every value at rows ≤ t bitwise unchanged. Where the training predictor
    is constant the slope is undefined and the forecast is NaN; with no training rows both are NaN.
    """
    h = _check_horizon(horizon)
    xa, ya = _pair(x, y_fwd)
    T = xa.size
    valid = np.isfinite(xa) & np.isfinite(ya)
    forecast = np.full(T, math.nan)
    tmean = np.full(T, math.nan)
    n_train = np.zeros(T, dtype=int)
    if not valid.any() or h >= T:
        return forecast, tmean, n_train
    first = int(np.flatnonzero(valid)[0])
    x0, y0 = xa[first], ya[first]  # a constant shift for numerical stability; OLS is shift-invariant
    xs = np.where(valid, xa - x0, 0.0)
    ys = np.where(valid, ya - y0, 0.0)
    cn = np.cumsum(valid)
    cx, cy = np.cumsum(xs), np.cumsum(ys)
    cxx, cxy = np.cumsum(xs * xs), np.cumsum(xs * ys)
    k = np.arange(T) - h  # last training row for origin t
    ok = k >= 0
    kk = np.where(ok, k, 0)
    n = np.where(ok, cn[kk], 0)
    n_train[:] = n
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = cx[kk] / n
        my = cy[kk] / n
        sxx = cxx[kk] - n * mx * mx
        sxy = cxy[kk] - n * mx * my
        b = sxy / sxx
        fc = y0 + my + b * (xa - x0 - mx)
    has = n > 0
    tmean[has] = y0 + my[has]
    good = (n >= 2) & (sxx > 1e-12 * np.maximum(cxx[kk], 1e-300)) & np.isfinite(xa)
    forecast[good] = fc[good]
    return forecast, tmean, n_train


def out_of_sample(
    x: ArrayLike,
    y_fwd: ArrayLike,
    horizon: int,
    oos_start: int,
    *,
    benchmark: ArrayLike | None = None,
    nw_lags: int | None = None,
    min_obs: int = MIN_OBS,
) -> OutOfSample:
    """Campbell–Thompson R²_OS and the Clark–West (2007) MSFE-adjusted statistic.

    ``oos_start`` is the row index of the first forecast origin. Each forecast at row t uses OLS on rows
    s with ``s + h ≤ t`` only (see :func:`recursive_forecasts`). ``benchmark=None`` uses the recursive
    mean of those same known targets; pass e.g. ``prevailing_mean(y)`` for the Rapach et al. benchmark
    (mean of the per-row series through t). A supplied benchmark must itself be known at row t.
    ``nw_lags=None`` uses :func:`default_nw_lags` on the number of forecasts evaluated. Raises
    :class:`EvaluationError` if the first origin has fewer than ``min_obs`` training rows or fewer than
    ``min_obs`` forecasts can be evaluated.
    """
    h = _check_horizon(horizon)
    xa, ya = _pair(x, y_fwd)
    T = xa.size
    if not 0 <= oos_start < T:
        raise EvaluationError(f"out-of-sample start (row {oos_start}) is outside the {T} rows")
    fc, tmean, n_train = recursive_forecasts(xa, ya, h)
    if benchmark is None:
        bench = tmean
    else:
        bench = np.asarray(benchmark, dtype=float)
        if bench.shape != xa.shape:
            raise EvaluationError("benchmark must have one value per row")
    n0 = int(n_train[oos_start])
    if n0 < max(min_obs, 3):
        raise EvaluationError(
            f"too few observations before the out-of-sample start: {n0} training rows with a target complete "
            f"by the first forecast (need at least {max(min_obs, 3)})"
        )
    idx = np.arange(T)
    ev = (idx >= oos_start) & np.isfinite(fc) & np.isfinite(bench) & np.isfinite(ya)
    n = int(ev.sum())
    if n < max(min_obs, 3):
        raise EvaluationError(f"too few out-of-sample forecasts: {n} (need at least {max(min_obs, 3)})")
    yv, fv, bv = ya[ev], fc[ev], bench[ev]
    e_model = yv - fv
    e_bench = yv - bv
    msfe_m = float(np.mean(e_model**2))
    msfe_b = float(np.mean(e_bench**2))
    r2 = 1.0 - msfe_m / msfe_b if msfe_b > 0 else math.nan
    f = e_bench**2 - (e_model**2 - (bv - fv) ** 2)
    lags = default_nw_lags(n, h) if nw_lags is None else int(min(max(nw_lags, 0), n - 1))
    se = nw_mean_se(f, lags)
    cw = float(f.mean() / se) if se > 0 else math.nan
    return OutOfSample(
        horizon=h,
        oos_start=int(oos_start),
        n_forecasts=n,
        n_train_first=n0,
        nw_lags=lags,
        r2_oos=r2,
        clark_west=cw,
        clark_west_p=float(stats.norm.sf(cw)) if math.isfinite(cw) else math.nan,
        msfe_model=msfe_m,
        msfe_benchmark=msfe_b,
        forecast=np.where(idx >= oos_start, fc, math.nan),
        benchmark=np.where(idx >= oos_start, bench, math.nan),
        evaluated=ev,
    )


# --------------------------------------------------------------------------------------------------
# Cross-section: Spearman IC per date, quantile returns, the per-horizon loop
# --------------------------------------------------------------------------------------------------


def add_forward_returns(
    frame: pl.DataFrame,
    *,
    price_col: str = "close",
    horizons: Sequence[int] = DEFAULT_HORIZONS,
    date_col: str = "date",
    symbol_col: str = "symbol",
    name: str = "fwd_ret_{h}",
) -> pl.DataFrame:
    """Add ``fwd_ret_{h} = ln(P_{t+h} / P_t)`` per symbol (rows sorted by date; h counts that symbol's rows).

    A long frame (date, symbol, price, ...) in; the same rows sorted by (symbol, date) out, with one column
    per horizon, null for the last h rows of each symbol. Prices must be positive (adjusted closes).
    """
    bad = frame.filter(pl.col(price_col).is_not_null() & (pl.col(price_col) <= 0))
    if bad.height:
        raise EvaluationError(f"column {price_col!r} has non-positive prices ({bad.height} rows)")
    out = frame.sort(symbol_col, date_col)
    p = pl.col(price_col).cast(pl.Float64)
    return out.with_columns(
        [(p.shift(-_check_horizon(h)).over(symbol_col) / p).log().alias(name.format(h=h)) for h in horizons]
    )


def _clean_panel(frame: pl.DataFrame, date_col: str, cols: Sequence[str]) -> pl.DataFrame:
    missing = [c for c in (date_col, *cols) if c not in frame.columns]
    if missing:
        raise EvaluationError(f"missing column(s): {', '.join(missing)} (have: {', '.join(frame.columns)})")
    cols = list(dict.fromkeys(cols))  # a factor may be the return itself (the IC = 1 tripwire)
    f = frame.select(pl.col(date_col), *[pl.col(c).cast(pl.Float64) for c in cols])
    return f.filter(pl.all_horizontal([pl.col(c).is_not_null() & pl.col(c).is_finite() for c in cols]))


def information_coefficient(
    frame: pl.DataFrame,
    *,
    factor_col: str = "score",
    return_col: str = "fwd_ret",
    date_col: str = "date",
    min_assets: int = 3,
) -> pl.DataFrame:
    """Per date: Spearman rank correlation across assets between the factor and the forward return.

    Long frame in (one row per date and asset). Out: ``date, ic, n_assets``, one row per date present in
    the input (sorted), ``ic`` null where fewer than ``min_assets`` assets have both values or either side
    is constant. Spearman = Pearson correlation of average ranks (ties share their mean rank). Under no
    relation the SD of one date's IC is 1/√(N − 1) (≈ 0.35 for N = 9).
    """
    f = _clean_panel(frame, date_col, (factor_col, return_col))
    ranked = f.with_columns(
        pl.col(factor_col).rank("average").over(date_col).alias("_rf"),
        pl.col(return_col).rank("average").over(date_col).alias("_rr"),
    )
    per = ranked.group_by(date_col).agg(pl.corr("_rf", "_rr").alias("ic"), pl.len().cast(pl.Int64).alias("n_assets"))
    per = per.with_columns(
        pl.when(pl.col("n_assets") >= min_assets).then(pl.col("ic").fill_nan(None)).otherwise(None).alias("ic")
    )
    dates = frame.select(pl.col(date_col)).unique()
    return (
        dates.join(per, on=date_col, how="left")
        .with_columns(pl.col("n_assets").fill_null(0))
        .sort(date_col)
        .select(date_col, "ic", "n_assets")
    )


def _series_summary(v: np.ndarray, horizon: int, lags: int | None = None) -> dict[str, float | int]:
    """Mean, SD, naive t, NW t and the non-overlapping t (every h-th position, offset 0) of a time series."""
    h = _check_horizon(horizon)
    ok = np.isfinite(v)
    vals = v[ok]
    n = int(vals.size)
    mean = float(vals.mean()) if n else math.nan
    sd = float(vals.std(ddof=1)) if n > 1 else math.nan
    t_naive = mean / (sd / math.sqrt(n)) if n > 1 and sd > 0 else math.nan
    nl = default_nw_lags(n, h) if lags is None else lags
    se_nw = nw_mean_se(vals, nl)
    sub = v[::h]
    sub = sub[np.isfinite(sub)]
    n_no = int(sub.size)
    mean_no = float(sub.mean()) if n_no else math.nan
    sd_no = float(sub.std(ddof=1)) if n_no > 1 else math.nan
    t_no = mean_no / (sd_no / math.sqrt(n_no)) if n_no > 1 and sd_no > 0 else math.nan
    return {
        "n_dates": n,
        "effective_n": n / h,
        "mean": mean,
        "sd": sd,
        "t_naive": t_naive,
        "nw_lags": nl,
        "t_nw": mean / se_nw if se_nw > 0 else math.nan,
        "n_nonoverlap": n_no,
        "mean_nonoverlap": mean_no,
        "t_nonoverlap": t_no,
    }


def ic_summary(ic: pl.DataFrame, horizon: int, *, ic_col: str = "ic") -> dict[str, float | int]:
    """Time-series summary of a per-date IC frame (as :func:`information_coefficient` returns, date-sorted).

    Keys: ``n_dates`` (dates with an IC), ``effective_n`` (n_dates / h), ``mean``, ``sd``, ``ir``
    (mean/sd), ``t_naive`` (mean / (sd/√n): treats dates as independent, inflated ≈ √h for overlapping
    h-day returns; alphalens' number), ``t_nw`` (NW, default lags), ``t_nonoverlap`` / ``n_nonoverlap`` /
    ``mean_nonoverlap`` (every h-th date of the frame, offset 0 — the honest one), and ``null_sd``: the
    mean of 1/√(N_d − 1), the per-date IC SD expected with no relation, to compare ``sd`` with.
    """
    v = ic[ic_col].cast(pl.Float64).fill_null(math.nan).to_numpy()
    out = _series_summary(v, horizon)
    out["ir"] = out["mean"] / out["sd"] if out["sd"] and out["sd"] > 0 else math.nan
    if "n_assets" in ic.columns:
        n_assets = ic["n_assets"].to_numpy()[np.isfinite(v)]
        out["null_sd"] = float(np.mean(1.0 / np.sqrt(n_assets - 1.0))) if n_assets.size else math.nan
    return out


def assign_quantiles(
    frame: pl.DataFrame,
    *,
    factor_col: str = "score",
    date_col: str = "date",
    quantiles: int = 3,
) -> pl.DataFrame:
    """Add ``quantile`` (1 = lowest factor .. Q) per date: ``ceil(rank · Q / N)`` on average ranks.

    With N = 9 and Q = 3: ranks 1–3 → 1, 4–6 → 2, 7–9 → 3; tied names share a quantile. Rows with a null
    factor and dates with fewer than Q assets get no quantile (null). With fewer than 20 assets per date
    (median) at most 3 quantiles are allowed (METHODS §6.2): more raises :class:`EvaluationError`.
    """
    if quantiles < 2:
        raise EvaluationError("quantiles must be at least 2")
    ok = pl.col(factor_col).is_not_null() & pl.col(factor_col).cast(pl.Float64).is_finite()
    counts = frame.filter(ok).group_by(date_col).len()
    median_n = float(counts["len"].median() or 0) if counts.height else 0.0
    if median_n < FEW_ASSETS and quantiles > MAX_QUANTILES_FEW_ASSETS:
        raise EvaluationError(
            f"{quantiles} quantiles with a median of {median_n:g} assets per date: use at most "
            f"{MAX_QUANTILES_FEW_ASSETS} with fewer than {FEW_ASSETS} assets (METHODS §6.2)"
        )
    r = pl.when(ok).then(pl.col(factor_col)).otherwise(None).rank("average").over(date_col)
    n = ok.sum().over(date_col)
    q = (r * quantiles / n).ceil().clip(1, quantiles).cast(pl.Int64)
    return frame.with_columns(pl.when(ok & (n >= quantiles)).then(q).otherwise(None).alias("quantile"))


def quantile_returns(
    frame: pl.DataFrame,
    *,
    factor_col: str = "score",
    return_col: str = "fwd_ret",
    date_col: str = "date",
    quantiles: int = 3,
    demean: bool = True,
    horizon: int = 1,
) -> tuple[pl.DataFrame, dict[str, float | int]]:
    """Mean forward return per factor quantile, and the top-minus-bottom spread.

    Per date the return of a quantile is the mean over its assets, minus (``demean``) the date's mean over
    all assets with both values; then averaged over dates. Returns ``(table, spread)``: ``table`` has
    ``quantile, mean_return, sd, n_dates, se`` (se = sd/√n_dates: overlap caveat for h > 1, see ``spread``);
    ``spread`` is the :func:`ic_summary`-style dict of the per-date top − bottom series (``mean``,
    ``t_naive``, ``t_nonoverlap`` on every h-th date, ...). Units: those of the return column.
    """
    f = _clean_panel(frame, date_col, (factor_col, return_col))
    f = assign_quantiles(f, factor_col=factor_col, date_col=date_col, quantiles=quantiles)
    f = f.filter(pl.col("quantile").is_not_null())
    if demean:
        f = f.with_columns((pl.col(return_col) - pl.col(return_col).mean().over(date_col)).alias(return_col))
    per = f.group_by(date_col, "quantile").agg(pl.col(return_col).mean().alias("r"))
    table = (
        per.group_by("quantile")
        .agg(
            pl.col("r").mean().alias("mean_return"),
            pl.col("r").std().alias("sd"),
            pl.len().cast(pl.Int64).alias("n_dates"),
        )
        .with_columns((pl.col("sd") / pl.col("n_dates").sqrt()).alias("se"))
        .sort("quantile")
    )
    wide = per.pivot(on="quantile", index=date_col, values="r").sort(date_col)
    all_dates = frame.select(pl.col(date_col)).unique().sort(date_col)
    wide = all_dates.join(wide, on=date_col, how="left")
    top, bottom = str(quantiles), "1"
    if top in wide.columns and bottom in wide.columns:
        spread = (wide[top] - wide[bottom]).cast(pl.Float64).fill_null(math.nan).to_numpy()
    else:
        spread = np.full(all_dates.height, math.nan)
    return table, _series_summary(spread, horizon)


def evaluate_horizons(
    frame: pl.DataFrame,
    *,
    factor_col: str = "score",
    return_col: str = "fwd_ret_{h}",
    horizons: Sequence[int] = DEFAULT_HORIZONS,
    date_col: str = "date",
    quantiles: int = 3,
    min_assets: int = 3,
) -> pl.DataFrame:
    """IC decay and quantile spreads for each horizon: one row per h (the signals module's summary).

    ``frame`` is long (date, symbol, factor, ``fwd_ret_{h}`` for each h, e.g. from
    :func:`add_forward_returns`). Columns: ``horizon, n_dates, effective_n, mean_assets, ic_mean, ic_sd,
    ic_ir, ic_t_naive, ic_t_nw, ic_t_nonoverlap, ic_n_nonoverlap, null_sd, q1_mean .. qQ_mean,
    spread_mean, spread_t_nonoverlap``. Read the non-overlapping t-stats; the naive ones are inflated.
    """
    rows = []
    for h in horizons:
        col = return_col.format(h=h)
        ic = information_coefficient(
            frame, factor_col=factor_col, return_col=col, date_col=date_col, min_assets=min_assets
        )
        s = ic_summary(ic, h)
        table, spread = quantile_returns(
            frame, factor_col=factor_col, return_col=col, date_col=date_col, quantiles=quantiles, horizon=h
        )
        qmeans = dict(zip(table["quantile"].to_list(), table["mean_return"].to_list(), strict=True))
        used = ic.filter(pl.col("ic").is_not_null())
        row: dict[str, float | int] = {
            "horizon": int(h),
            "n_dates": s["n_dates"],
            "effective_n": s["effective_n"],
            "mean_assets": float(used["n_assets"].mean()) if used.height else math.nan,  # type: ignore[arg-type]
            "ic_mean": s["mean"],
            "ic_sd": s["sd"],
            "ic_ir": s["ir"],
            "ic_t_naive": s["t_naive"],
            "ic_t_nw": s["t_nw"],
            "ic_t_nonoverlap": s["t_nonoverlap"],
            "ic_n_nonoverlap": s["n_nonoverlap"],
            "null_sd": s.get("null_sd", math.nan),
        }
        for q in range(1, quantiles + 1):
            row[f"q{q}_mean"] = qmeans.get(q, math.nan)
        row["spread_mean"] = spread["mean"]
        row["spread_t_nonoverlap"] = spread["t_nonoverlap"]
        rows.append(row)
    return pl.DataFrame(rows)


# --------------------------------------------------------------------------------------------------


def _check_horizon(horizon: int) -> int:
    h = int(horizon)
    if h < 1 or h != horizon:
        raise EvaluationError(f"horizon must be a whole number of rows >= 1 (got {horizon})")
    return h


def _pair(x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    xa = np.asarray(x, dtype=float).ravel()
    ya = np.asarray(y, dtype=float).ravel()
    if xa.shape != ya.shape:
        raise EvaluationError(f"x and y must have the same length ({xa.size} vs {ya.size})")
    return xa, ya
