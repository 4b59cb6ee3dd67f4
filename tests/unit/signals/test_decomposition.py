"""EPS / multiple decomposition: the identity holds, degenerate cases report no shares."""

from __future__ import annotations

import math

import pytest

from flows.signals.decomposition import decompose


def test_identity_and_shares_by_hand() -> None:
    d = decompose(100.0, 150.0, 2.0, 2.4, sigma_h=0.1)
    assert d.dlog_price == pytest.approx(math.log(1.5))
    assert d.dlog_eps == pytest.approx(math.log(1.2))
    assert d.dlog_eps + d.dlog_pe == pytest.approx(d.dlog_price)
    assert d.fundamental_share == pytest.approx(math.log(1.2) / math.log(1.5))  # 0.4497
    assert d.multiple_share == pytest.approx(1 - math.log(1.2) / math.log(1.5))


def test_negative_eps_and_small_moves_report_no_shares() -> None:
    loss = decompose(10.0, 12.0, -0.5, 0.3, sigma_h=0.1)
    assert loss.fundamental_share is None and loss.dlog_eps is None and "not positive" in loss.note
    flat = decompose(100.0, 101.0, 2.0, 2.2, sigma_h=0.1)  # |ln 1.01| < 0.05
    assert flat.fundamental_share is None and flat.dlog_eps == pytest.approx(math.log(1.1))
