"""Normalisation toolkit (METHODS.md §4.3), strictly trailing: nothing after t enters the value at t.

- ``zscore``: (x_t − mean(x_{t−W..t−1})) / sd(x_{t−W..t−1}), clipped to ±3. The window EXCLUDES t.
  Before W observations exist the window expands from ``min_periods`` (those values are warm-up:
  see ``warmup_mask``); before ``min_periods`` the value is null.
- ``robust_zscore``: median / (1.4826 · MAD) over the same trailing window, clipped to ±3.
- ``percentile_rank``: 100 · share of the last W values (t included) that are ≤ x_t.
- ``percentile_rank_w``: METHODS §4.3 as written, 100 · (1/W) · #{s in [t−W+1, t]: x_s ≤ x_t} (a
  fixed denominator W: used on the native grids of weekly and bi-monthly drivers).
- ``minmax``: 100 · (x_t − min_W) / (max_W − min_W), "COT index" style, t included.
- ``composite``: equal-weighted mean of component z-scores with a minimum number present.
Windows: daily W = 252 (min 126), weekly W = 156, bi-monthly short interest W = 48.
Missing values stay missing (never zero) and are skipped by the windows.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike

CLIP = 3.0


def _windows(a: np.ndarray, w: int) -> np.ndarray:
    """Row t = the w values a[t−w..t−1] (padded with NaN before the start)."""
    pad = np.concatenate((np.full(w, math.nan), a))
    return sliding_window_view(pad[:-1], w)


def zscore(x: ArrayLike, window: int, min_periods: int | None = None, clip: float = CLIP) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    min_periods = min_periods or window
    win = _windows(a, window)
    count = np.sum(np.isfinite(win), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = _nanmean(win)
        sd = _nanstd(win)
        z = (a - mean) / sd
    z[(count < min_periods) | ~np.isfinite(a) | ~(sd > 0)] = math.nan
    return np.clip(z, -clip, clip)


def _nanmean(win: np.ndarray) -> np.ndarray:
    ok = np.isfinite(win)
    n = ok.sum(axis=1)
    s = np.where(ok, win, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return s / n


def _nanstd(win: np.ndarray) -> np.ndarray:
    ok = np.isfinite(win)
    n = ok.sum(axis=1)
    m = _nanmean(win)
    dev = np.where(ok, win - m[:, None], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt((dev * dev).sum(axis=1) / (n - 1))


def robust_zscore(x: ArrayLike, window: int, min_periods: int | None = None, clip: float = CLIP) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    min_periods = min_periods or window
    win = _windows(a, window)
    count = np.sum(np.isfinite(win), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"), _quiet():
        med = np.nanmedian(win, axis=1)
        mad = np.nanmedian(np.abs(win - med[:, None]), axis=1)
        z = (a - med) / (1.4826 * mad)
    z[(count < min_periods) | ~np.isfinite(a) | ~(mad > 0)] = math.nan
    return np.clip(z, -clip, clip)


def percentile_rank(x: ArrayLike, window: int, min_periods: int | None = None) -> np.ndarray:
    """100 · #{s in [t−W+1, t] : x_s ≤ x_t} / (values present in the window)."""
    a = np.asarray(x, dtype=float)
    min_periods = min_periods or window
    pad = np.concatenate((np.full(window - 1, math.nan), a))
    win = sliding_window_view(pad, window)
    ok = np.isfinite(win)
    n = ok.sum(axis=1)
    le = np.sum(ok & (win <= a[:, None]), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pr = 100.0 * le / n
    pr[(n < min_periods) | ~np.isfinite(a)] = math.nan
    return pr


def percentile_rank_w(x: ArrayLike, window: int) -> np.ndarray:
    """100 · (1/W) · #{s in [t−W+1, t] : x_s ≤ x_t} (METHODS §4.3); NaN where x_t is missing."""
    a = np.asarray(x, dtype=float)
    pad = np.concatenate((np.full(window - 1, math.nan), a))
    win = sliding_window_view(pad, window)
    le = np.sum(np.isfinite(win) & (win <= a[:, None]), axis=1)
    pr = 100.0 * le / window
    pr[~np.isfinite(a)] = math.nan
    return pr


def minmax(x: ArrayLike, window: int, min_periods: int | None = None) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    min_periods = min_periods or window
    pad = np.concatenate((np.full(window - 1, math.nan), a))
    win = sliding_window_view(pad, window)
    n = np.isfinite(win).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"), _quiet():
        lo, hi = np.nanmin(win, axis=1), np.nanmax(win, axis=1)
        out = 100.0 * (a - lo) / (hi - lo)
    out[(n < min_periods) | ~np.isfinite(a) | ~(hi > lo)] = math.nan
    return out


def warmup_mask(x: ArrayLike, window: int) -> np.ndarray:
    """True where fewer than ``window`` trailing observations back the value (expanding window)."""
    a = np.asarray(x, dtype=float)
    return np.nansum(_windows(np.isfinite(a).astype(float), window), axis=1) < window


def composite(components: list[np.ndarray], min_present: int = 2) -> np.ndarray:
    """Equal-weighted mean of aligned component scores; null where fewer than ``min_present``."""
    stack = np.vstack([np.asarray(c, dtype=float) for c in components])
    ok = np.isfinite(stack)
    n = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(ok, stack, 0.0).sum(axis=0) / n
    out[n < min_present] = math.nan
    return out


class _quiet:
    """Silence numpy's 'all-NaN slice' RuntimeWarnings inside a block."""

    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)
