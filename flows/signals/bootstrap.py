"""Block bootstrap of time-ordered rows (METHODS.md §6.3 items 3 and 9), pure numpy.

Serially dependent samples (overlapping forward windows, persistent regressors) must be resampled in
blocks of consecutive rows, not row by row, or the intervals come out too narrow.

- ``method="stationary"`` (default): Politis & Romano (1994). Blocks start at uniform random rows and
  have geometric lengths with mean ``block`` (a new block starts with probability 1/block at every
  step); the series wraps around circularly, so every row has the same chance of being drawn and the
  resampled series is stationary.
- ``method="moving"``: Künsch (1989) moving blocks of exactly ``block`` rows, starts uniform on
  ``[0, n − block]`` (no wrap), concatenated and cut to n rows.

``block`` is in rows (weeks for weekly data, trading days for daily data). Callers choose it at least
as long as the dependence they need to keep (≥ h for h-period overlapping windows).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

METHODS = ("stationary", "moving")


def block_bootstrap_indices(
    n: int, block: float, n_boot: int, seed: int | np.random.Generator | None = 0, method: str = "stationary"
) -> np.ndarray:
    """``(n_boot, n)`` int array of resampled row positions in ``[0, n)``; each row is one bootstrap sample."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if n < 1 or n_boot < 1:
        raise ValueError("n and n_boot must be positive")
    if block < 1:
        raise ValueError("block must be >= 1 row")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    t = np.arange(n)
    if method == "stationary":
        starts = rng.integers(0, n, size=(n_boot, n))
        new = rng.random((n_boot, n)) < 1.0 / block
        new[:, 0] = True
        # position (within the sample) where the current block began, carried forward
        began = np.maximum.accumulate(np.where(new, t, 0), axis=1)
        first = np.take_along_axis(starts, began, axis=1)
        return (first + (t - began)) % n
    length = min(math.ceil(block), n)
    n_blocks = math.ceil(n / length)
    starts = rng.integers(0, n - length + 1, size=(n_boot, n_blocks))
    idx = (starts[:, :, None] + np.arange(length)[None, None, :]).reshape(n_boot, n_blocks * length)
    return idx[:, :n]


def percentile_interval(draws: np.ndarray, level: float = 0.95, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed percentile interval over ``axis``, ignoring NaN draws (degenerate resamples)."""
    if not 0 < level < 1:
        raise ValueError("level must be in (0, 1)")
    a = np.asarray(draws, dtype=float)
    alpha = (1 - level) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column gives NaN, quietly
        return np.nanquantile(a, alpha, axis=axis), np.nanquantile(a, 1 - alpha, axis=axis)
