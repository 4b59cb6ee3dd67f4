"""Capital Share of Explained Variance, CSEV (METHODS.md §4.4 score 3), pure numpy.

Weekly model (Friday close, inputs public by then), rolling 104 weeks:

    r_w = a + β_m r_{m,w} + γ_F ΔF_w + γ_C' C_w + ε_w,      C = [EFP, ΔDTC, ΔFUT, ΔPCS]

R² of the OLS fit (intercept included) is split across the regressors by LMG (Lindeman, Merenda &
Gold 1980; Grömping 2006, R package relaimpo ``type = "lmg"``): each regressor gets its R² increment
averaged over all p! orderings. It is computed exactly, not sampled, from the 2^p subset R²s with the
Shapley weights w(|S|) = |S|! (p − |S| − 1)! / p!:

    LMG_j = Σ_{S ⊆ P∖{j}} w(|S|) · (R²(S ∪ {j}) − R²(S)),        R²(S) = r_S' R_SS⁺ r_S,   R²(∅) = 0

with R the correlation matrix of the regressors, r their correlations with y and ⁺ the Moore–Penrose
inverse. The LMGs sum to R² exactly (the sum telescopes). Group values are SUMS of their members'
LMGs (not relaimpo's ``groups=`` option, which plays a Shapley game over whole groups; the two agree
when groups are uncorrelated with each other). Shares: CSEV = LMG(capital)/R², FSEV =
LMG(fundamental)/R², MSEV = LMG(market)/R²; they sum to 1 when the groups cover every regressor.

Data handling (say it next to every number shown):
- Rows with any non-finite value in y or a used regressor are dropped (listwise), window by window.
- A regressor with zero variance in the sample gets LMG = 0 and does not change R² (a constant is
  absorbed by the intercept). "Zero" = centred sum of squares ≤ 1e-12 × uncentred sum of squares.
- Rank deficiency: R_SS⁺ drops eigenvalues below 1e-10 (condition number > 1e10 is treated as exact
  collinearity), so R²(S) is the R² of the projection on the span of S; exactly collinear regressors
  split their common contribution equally (Shapley symmetry). ``LmgResult.rank`` reports the rank.
- y with zero variance, or fewer than p + 2 complete rows: everything NaN.
- In-sample R² is biased up: with n rows, p regressors and pure noise E[R²] = p/(n − 1) (≈ 0.06 for
  n = 104, p = 6), and part of it is credited to each group. Read CSEV against its own history (§4.2).

Contemporaneous C is attribution only (flows also chase returns, §2.7); ``lag_regressors`` builds
C_{w−1} so the same functions give the predictive version. ``block_bootstrap_lmg`` gives block-bootstrap
percentile intervals for the latest window (§6.3 item 3). Rows are positions on a gap-free weekly grid;
nothing here looks at dates, so point-in-time alignment of the inputs belongs to the caller (§4.5).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike

from flows.signals.bootstrap import block_bootstrap_indices, percentile_interval

MARKET, FUNDAMENTAL, CAPITAL = "market", "fundamental", "capital"
CAPITAL_COLUMNS = ("EFP", "dDTC", "dFUT", "dPCS")
DEFAULT_GROUPS: dict[str, list[str]] = {MARKET: ["r_m"], FUNDAMENTAL: ["dF"], CAPITAL: list(CAPITAL_COLUMNS)}
WINDOW = 104  # weeks
MAX_REGRESSORS = 12  # 2^p subsets: 4096 at p = 12
ZERO_VAR_RTOL = 1e-12
EIG_RTOL = 1e-10
_CHUNK = 1024  # rolling windows per batch (bounds memory at chunk · window · (p + 1) floats)


# ---- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LmgResult:
    """One-sample LMG decomposition. ``lmg`` sums to ``r2``; ``share`` = ``group`` / ``r2``."""

    r2: float
    names: tuple[str, ...]  # regressors, in design order
    lmg: dict[str, float]  # per regressor, in R² units
    group: dict[str, float]  # per group, sum of member LMGs, in R² units
    share: dict[str, float]  # per group, fraction of R² (CSEV = share["capital"])
    n: int  # complete rows used
    n_dropped: int  # rows dropped for a non-finite value
    zero_variance: tuple[str, ...]  # regressors with zero variance in the sample (LMG = 0)
    rank: int  # numerical rank of the regressors' correlation matrix (non-constant ones)

    @property
    def csev(self) -> float:
        return self.share.get(CAPITAL, math.nan)

    @property
    def fsev(self) -> float:
        return self.share.get(FUNDAMENTAL, math.nan)

    @property
    def msev(self) -> float:
        return self.share.get(MARKET, math.nan)


@dataclass(frozen=True)
class RollingLmg:
    """Trailing-window LMG per row: the value at row w uses rows w − window + 1 .. w only."""

    names: tuple[str, ...]
    r2: np.ndarray  # (T,)
    lmg: np.ndarray  # (T, p), columns in ``names`` order
    group: dict[str, np.ndarray]  # (T,) each, R² units
    share: dict[str, np.ndarray]  # (T,) each, fraction of R²
    n: np.ndarray  # (T,) complete rows in the window (< window = warm-up or gaps)
    window: int
    min_obs: int

    @property
    def csev(self) -> np.ndarray:
        return self.share[CAPITAL]


@dataclass(frozen=True)
class LmgBootstrap:
    """Block-bootstrap percentile intervals for the latest window."""

    estimate: LmgResult  # point estimate on the same rows
    level: float
    block: float  # rows (mean block length for the stationary bootstrap)
    method: str
    n_boot: int
    n_valid: int  # draws with a defined R² (y not constant in the resample)
    r2_ci: tuple[float, float]
    group_ci: dict[str, tuple[float, float]]
    share_ci: dict[str, tuple[float, float]]
    r2_draws: np.ndarray  # (n_boot,)
    share_draws: dict[str, np.ndarray]  # (n_boot,) each


# ---- design -------------------------------------------------------------------------------------


def _design(
    y: ArrayLike, X: Mapping[str, ArrayLike] | np.ndarray, groups: Mapping[str, Sequence[str]] | None, names
) -> tuple[np.ndarray, tuple[str, ...], dict[str, list[int]]]:
    """Stack [y, regressors] as a (T, p + 1) float matrix; resolve groups to column positions."""
    if isinstance(X, np.ndarray) or not (isinstance(X, Mapping) or hasattr(X, "columns")):
        a = np.asarray(X, dtype=float)
        a = a[:, None] if a.ndim == 1 else a
        cols = list(names) if names is not None else [f"x{j}" for j in range(a.shape[1])]
        if len(cols) != a.shape[1]:
            raise ValueError(f"{len(cols)} names for {a.shape[1]} columns")
        table = {c: a[:, j] for j, c in enumerate(cols)}
    else:
        cols = list(names) if names is not None else list(X.columns if hasattr(X, "columns") else X.keys())
        table = {c: np.asarray(X[c], dtype=float) for c in cols}
    if groups is None:
        groups = {c: [c] for c in cols}
    used: list[str] = [c for members in groups.values() for c in members]
    if len(set(used)) != len(used):
        raise ValueError("a regressor appears in more than one group")
    missing = [c for c in used if c not in table]
    if missing:
        raise ValueError(f"groups name regressors not in X: {missing}")
    if not used:
        raise ValueError("no regressors")
    if len(used) > MAX_REGRESSORS:
        raise ValueError(f"exact LMG enumerates 2^p subsets; p = {len(used)} > {MAX_REGRESSORS}")
    yv = np.asarray(y, dtype=float).ravel()
    Z = np.column_stack([yv] + [table[c].ravel() for c in used])
    pos = {c: j for j, c in enumerate(used)}
    return Z, tuple(used), {g: [pos[c] for c in members] for g, members in groups.items()}


def lag_regressors(
    X: Mapping[str, ArrayLike], columns: Iterable[str] = CAPITAL_COLUMNS, lag: int = 1
) -> dict[str, np.ndarray]:
    """Copy of X whose ``columns`` are shifted down ``lag`` rows: row w holds C_{w−lag} (NaN in the first rows).

    Same names, so the same ``groups`` give the predictive regression r_w on C_{w−1}; other columns
    (r_m, ΔF) stay contemporaneous. Rows must be a gap-free weekly grid.
    """
    if lag < 0:
        raise ValueError("lag must be >= 0 (a negative lag would use the future)")
    keys = list(X.columns) if hasattr(X, "columns") else list(X.keys())
    lagged = set(columns)
    unknown = lagged.difference(keys)
    if unknown:
        raise ValueError(f"columns not in X: {sorted(unknown)}")
    out: dict[str, np.ndarray] = {}
    for c in keys:
        a = np.asarray(X[c], dtype=float).copy()
        if c in lagged and lag:
            a = np.concatenate((np.full(min(lag, a.size), math.nan), a[: max(a.size - lag, 0)]))
        out[c] = a
    return out


# ---- core: correlations -> subset R² -> LMG ---------------------------------------------------


def _corr(Z: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Correlation matrices of stacked samples Z (..., n, q) over the rows where ``valid``.

    Returns (C, count, constant): zero-variance columns get zero correlations and a unit diagonal.
    """
    v = valid[..., None]
    Zm = np.where(v, Z, 0.0)
    count = valid.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = Zm.sum(axis=-2) / count[..., None]
    D = np.where(v, Z - mean[..., None, :], 0.0)
    S = np.swapaxes(D, -1, -2) @ D
    var = np.diagonal(S, axis1=-2, axis2=-1)
    const = ~(var > ZERO_VAR_RTOL * np.sum(Zm * Zm, axis=-2))  # also catches NaN (empty windows)
    sd = np.sqrt(np.where(const, 1.0, var))
    C = S / (sd[..., :, None] * sd[..., None, :])
    C = np.where(const[..., :, None] | const[..., None, :], 0.0, C)
    q = Z.shape[-1]
    C[..., np.arange(q), np.arange(q)] = 1.0
    return C, count, const


@cache
def _subsets(p: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray, np.ndarray, np.ndarray]:
    """Subset bookkeeping for p regressors (bitmask m, bit j = regressor j).

    Returns per size k the (masks, member positions) pairs, and for the LMG sum the arrays
    without_j (p, 2^{p−1}), with_j = without_j | 2^j, and their Shapley weights.
    """
    masks = np.arange(1 << p)
    bits = (masks[:, None] >> np.arange(p)[None, :]) & 1
    size = bits.sum(axis=1)
    by_size = []
    for k in range(1, p + 1):
        mk = masks[size == k]
        members = np.array([np.flatnonzero(bits[m]) for m in mk])
        by_size.append((mk, members))
    without = np.array([masks[bits[:, j] == 0] for j in range(p)])
    with_ = without | (1 << np.arange(p))[:, None]
    fact = [math.factorial(i) for i in range(p + 1)]
    weight = np.array([[fact[k] * fact[p - k - 1] / fact[p] for k in size[w]] for w in without])
    return by_size, without, with_, weight


def _lmg_from_corr(C: np.ndarray, const: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R² (...,) and LMG (..., p) from correlation stacks C (..., p + 1, p + 1), y first.

    ``const`` (..., p + 1) marks zero-variance columns; their LMG is set to exactly 0 (it is 0 up to
    rounding anyway, their correlations being 0).
    """
    p = C.shape[-1] - 1
    R, r = C[..., 1:, 1:], C[..., 1:, 0]
    by_size, without, with_, weight = _subsets(p)
    r2s = np.zeros((*C.shape[:-2], 1 << p))
    for mk, members in by_size:
        sub = R[..., members[:, :, None], members[:, None, :]]  # (..., m_k, k, k)
        rs = r[..., members]  # (..., m_k, k)
        w, V = np.linalg.eigh(sub)
        proj = np.einsum("...ij,...i->...j", V, rs)  # V' r_S
        keep = w > EIG_RTOL * members.shape[1]
        r2s[..., mk] = np.sum(np.where(keep, proj * proj / np.where(keep, w, 1.0), 0.0), axis=-1)
    lmg = np.sum((r2s[..., with_] - r2s[..., without]) * weight, axis=-1)
    return r2s[..., -1], np.where(const[..., 1:], 0.0, lmg)


def _summarise(r2: np.ndarray, lmg: np.ndarray, gpos: dict[str, list[int]]):
    group = {g: lmg[..., pos].sum(axis=-1) for g, pos in gpos.items()}
    with np.errstate(invalid="ignore", divide="ignore"):
        share = {g: np.where(r2 > 0, v / r2, math.nan) for g, v in group.items()}
    return group, share


# ---- public API ---------------------------------------------------------------------------------


def lmg(
    y: ArrayLike,
    X: Mapping[str, ArrayLike] | np.ndarray,
    groups: Mapping[str, Sequence[str]] | None = None,
    *,
    names: Sequence[str] | None = None,
) -> LmgResult:
    """R² of OLS y on X (with intercept) and its exact LMG / Shapley split, per regressor and per group.

    X: mapping name -> column (dict or polars DataFrame) or a 2-d array with ``names``. With ``groups``
    only the regressors named there enter the regression (extra columns of X are ignored); without,
    every column is its own group. Incomplete rows are dropped.
    """
    Z, used, gpos = _design(y, X, groups, names)
    valid = np.all(np.isfinite(Z), axis=1)
    n = int(valid.sum())
    Zc = Z[valid]
    p = len(used)
    nan = math.nan
    if n < p + 2:
        return LmgResult(nan, used, dict.fromkeys(used, nan), dict.fromkeys(gpos, nan), dict.fromkeys(gpos, nan),
                         n, Z.shape[0] - n, (), 0)  # fmt: skip
    C, _, const = _corr(Zc, np.ones(n, dtype=bool))
    zero_var = tuple(c for c, k in zip(used, const[1:], strict=True) if k)
    live = ~const[1:]
    rank = int(np.linalg.matrix_rank(C[1:, 1:][np.ix_(live, live)], tol=EIG_RTOL * p)) if live.any() else 0
    if const[0]:
        r2, lm = nan, np.full(p, nan)
    else:
        r2, lm = _lmg_from_corr(C, const)
        r2 = float(r2)
    group, share = _summarise(np.asarray(r2), np.asarray(lm), gpos)
    return LmgResult(
        r2=float(r2),
        names=used,
        lmg={c: float(v) for c, v in zip(used, lm, strict=True)},
        group={g: float(v) for g, v in group.items()},
        share={g: float(v) for g, v in share.items()},
        n=n,
        n_dropped=Z.shape[0] - n,
        zero_variance=zero_var,
        rank=rank,
    )


def rolling_lmg(
    y: ArrayLike,
    X: Mapping[str, ArrayLike] | np.ndarray,
    groups: Mapping[str, Sequence[str]] | None = None,
    window: int = WINDOW,
    min_obs: int | None = None,
    *,
    names: Sequence[str] | None = None,
) -> RollingLmg:
    """LMG on every trailing window (rows w − window + 1 .. w), vectorised over windows and subsets.

    ``min_obs`` (default ``window``: full windows only) = complete rows needed for a value; pass e.g.
    52 for an expanding warm-up and flag rows with ``n < window``. Never fewer than p + 2.
    """
    Z, used, gpos = _design(y, X, groups, names)
    T, q = Z.shape
    p = q - 1
    min_obs = max(window if min_obs is None else int(min_obs), p + 2)
    if window < p + 2:
        raise ValueError(f"window {window} too short for {p} regressors")
    pad = np.concatenate((np.full((window - 1, q), math.nan), Z))
    wins = sliding_window_view(pad, window, axis=0)  # (T, q, window): row w = rows w-window+1..w
    r2 = np.full(T, math.nan)
    lm = np.full((T, p), math.nan)
    n = np.zeros(T, dtype=int)
    for a in range(0, T, _CHUNK):
        Zw = np.swapaxes(wins[a : a + _CHUNK], 1, 2)  # (chunk, window, q)
        valid = np.all(np.isfinite(Zw), axis=2)
        C, count, const = _corr(Zw, valid)
        n[a : a + _CHUNK] = count
        ok = (count >= min_obs) & ~const[:, 0]
        if ok.any():
            r2_c, lm_c = _lmg_from_corr(C[ok], const[ok])
            idx = np.flatnonzero(ok) + a
            r2[idx], lm[idx] = r2_c, lm_c
    group, share = _summarise(r2, lm, gpos)
    return RollingLmg(used, r2, lm, group, share, n, window, min_obs)


def block_bootstrap_lmg(
    y: ArrayLike,
    X: Mapping[str, ArrayLike] | np.ndarray,
    groups: Mapping[str, Sequence[str]] | None = None,
    *,
    window: int | None = WINDOW,
    block: float | None = None,
    n_boot: int = 999,
    level: float = 0.95,
    method: str = "stationary",
    seed: int | np.random.Generator | None = 0,
    names: Sequence[str] | None = None,
) -> LmgBootstrap:
    """Block-bootstrap percentile intervals for R², group LMGs and shares of the latest window.

    Uses the last ``window`` rows (None = all rows), drops incomplete rows, then resamples rows in
    blocks (Politis–Romano stationary bootstrap by default; ``method="moving"`` for fixed blocks).
    ``block`` default: max(4, ceil(n^{1/3})) weeks (5 for n = 104): long enough for the short-lived
    autocorrelation of weekly changes. Percentile intervals; the R² interval inherits R²'s upward
    small-sample bias (and adds some), the share intervals are the ones to read.
    """
    Z, used, gpos = _design(y, X, groups, names)
    if window is not None:
        Z = Z[-window:]
    Zc = Z[np.all(np.isfinite(Z), axis=1)]
    m = Zc.shape[0]
    if m < len(used) + 2:
        raise ValueError(f"{m} complete rows: too few for {len(used)} regressors")
    cols = {c: Zc[:, j + 1] for j, c in enumerate(used)}
    est = lmg(Zc[:, 0], cols, {g: [used[j] for j in pos] for g, pos in gpos.items()})
    block = max(4.0, math.ceil(m ** (1 / 3))) if block is None else float(block)
    idx = block_bootstrap_indices(m, block, n_boot, seed, method)
    C, _, const = _corr(Zc[idx], np.ones(idx.shape, dtype=bool))
    r2 = np.full(n_boot, math.nan)
    lm = np.full((n_boot, len(used)), math.nan)
    ok = ~const[:, 0]
    r2[ok], lm[ok] = _lmg_from_corr(C[ok], const[ok])
    group, share = _summarise(r2, lm, gpos)

    def ci(a: np.ndarray) -> tuple[float, float]:
        lo, hi = percentile_interval(a, level)
        return float(lo), float(hi)

    return LmgBootstrap(
        estimate=est,
        level=level,
        block=block,
        method=method,
        n_boot=n_boot,
        n_valid=int(ok.sum()),
        r2_ci=ci(r2),
        group_ci={g: ci(v) for g, v in group.items()},
        share_ci={g: ci(v) for g, v in share.items()},
        r2_draws=r2,
        share_draws=share,
    )
