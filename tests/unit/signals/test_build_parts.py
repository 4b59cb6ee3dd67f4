"""CSEV and the EPS/multiple decomposition as the build writes them."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import polars as pl
import pytest

from flows.calendar import trading_days
from flows.signals.build import csev_rows, decomposition_rows, weekly_positions


def test_weekly_grid_is_the_last_trading_day_of_each_week() -> None:
    days = list(trading_days(date(2026, 6, 29), date(2026, 7, 8)))  # July 3 (Fri) is a holiday
    picked = [days[i] for i in weekly_positions(days)]
    assert picked == [date(2026, 7, 2)]  # Thursday before the holiday; the week of Jul 6 is not over


def test_capital_driven_returns_give_a_high_capital_share() -> None:
    rng = np.random.default_rng(3)
    days = list(trading_days(date(2022, 1, 3), date(2026, 6, 26)))
    n = len(days)
    wk = weekly_positions(days)
    efp = np.full(n, np.nan)
    efp[wk] = rng.standard_normal(len(wk))
    pcs = np.cumsum(rng.standard_normal(n)) * 0.01
    fut = np.cumsum(rng.standard_normal(n)) * 0.01
    weekly_ret = np.zeros(n)
    weekly_ret[wk] = 0.03 * efp[wk] + 0.002 * rng.standard_normal(len(wk))
    close = 100 * np.exp(np.cumsum(weekly_ret))
    market = 100 * np.exp(np.cumsum(rng.normal(0, 0.005, n)))
    rows = csev_rows("TEST", days, close, market, np.full(n, np.nan),
                     {"efp": efp, "scp": np.full(n, np.nan), "fut": fut, "pcs": pcs}, 104, True)  # fmt: skip
    frame = pl.concat(rows)
    last = {r["score"]: r["value"] for r in frame.filter(pl.col("date") == frame["date"].max()).iter_rows(named=True)}
    assert last["csev"] > 0.9
    assert last["csev_ci_low"] > 0.8 and last["csev_ci_high"] <= 1.0 + 1e-9
    assert last["csev_lagged"] < 0.5  # last week's capital does not explain this week's return here


def test_decomposition_by_hand() -> None:
    days = list(trading_days(date(2026, 1, 2), date(2026, 3, 31)))
    n = len(days)
    close = np.linspace(100, 130, n)
    eps = np.where(np.arange(n) < 30, 2.0, 2.4)  # a filing on day 30 lifts TTM EPS by 20%
    frames = pl.concat(decomposition_rows("X", days, close, eps, horizons=(21,)))
    day = days[40]
    got = {r["score"]: r["value"] for r in frames.filter(pl.col("date") == day).iter_rows(named=True)}
    dp = math.log(close[40] / close[19])
    assert got["dlog_price_21d"] == pytest.approx(dp)
    assert got["dlog_eps_21d"] == pytest.approx(math.log(1.2))
    assert got["dlog_pe_21d"] == pytest.approx(dp - math.log(1.2))
    assert got["multiple_share_21d"] == pytest.approx(1 - math.log(1.2) / dp)
