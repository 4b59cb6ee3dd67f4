"""EPS / multiple decomposition of a price move (METHODS.md §4.1), point in time.

ln(P_t / P_{t−h}) = ln(EPS_t / EPS_{t−h}) + ln(PE_t / PE_{t−h}), PE = P / EPS, with EPS the TTM
diluted EPS *as known at* each end (first-filed, split-adjusted to today's basis: labelled TTM).
Fundamental share FS = Δ ln EPS / Δ ln P and multiple share MS = 1 − FS are reported only when
both EPS are positive and |Δ ln P| ≥ 0.5 σ_h (σ_h = h-day return volatility); otherwise the two
log components are reported side by side and the shares are null (METHODS' degenerate cases).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Decomposition:
    dlog_price: float
    dlog_eps: float | None
    dlog_pe: float | None
    fundamental_share: float | None
    multiple_share: float | None
    note: str


def decompose(p0: float, p1: float, eps0: float | None, eps1: float | None, sigma_h: float | None) -> Decomposition:
    """Split ln(p1/p0) into EPS and P/E parts; shares only where METHODS allows them."""
    dp = math.log(p1 / p0)
    if eps0 is None or eps1 is None or eps0 <= 0 or eps1 <= 0:
        return Decomposition(dp, None, None, None, None, "EPS not positive at both ends: no P/E split")
    de = math.log(eps1 / eps0)
    dpe = dp - de
    if sigma_h is not None and abs(dp) < 0.5 * sigma_h:
        return Decomposition(dp, de, dpe, None, None, "price move under 0.5 sigma: shares not reported")
    fs = de / dp
    return Decomposition(dp, de, dpe, fs, 1 - fs, "")
