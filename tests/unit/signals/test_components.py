"""Components on hand-made driver rows: values, signs, z-scores by hand, staleness, point in time."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from flows.signals import components as c
from flows.signals.normalise import zscore


def cot_rows(nets: list[float], start: date = date(2024, 1, 2)) -> pl.DataFrame:
    rows = []
    for i, n in enumerate(nets):
        kd = start + timedelta(weeks=i)
        released = datetime.combine(kd + timedelta(days=3), datetime.min.time(), UTC) + timedelta(hours=19, minutes=30)
        rows.append((kd, released, int(n * 1000), 0, 1000))
    return pl.DataFrame(rows, schema=["report_date", "available_at", "asset_mgr_net_contracts",
                                      "lev_funds_net_contracts", "open_interest_contracts"], orient="row")  # fmt: skip


def test_futures_positioning_is_the_trailing_z_of_net_fraction_of_oi() -> None:
    nets = [0.1, 0.2, 0.1, 0.3, 0.2, 0.6]
    day = date(2024, 2, 9)  # Friday after the 6th report (Tuesday 2024-02-06, out 15:30 ET Friday)
    out = c.futures_positioning(cot_rows(nets), [day], window=4, min_periods=3)
    row = out.row(0, named=True)
    expected = zscore(np.array(nets), 4, 3)[-1]  # (0.6 - mean(.2,.1,.3,.2)) / sd = 2.5980...
    assert row["value"] == pytest.approx(0.6) and row["z"] == pytest.approx(expected)
    assert row["age_days"] == 3 and row["warmup"] is False


def test_futures_positioning_before_release_uses_the_previous_week() -> None:
    out = c.futures_positioning(cot_rows([0.1, 0.2, 0.1, 0.3, 0.2, 0.6]), [date(2024, 2, 8)], window=4, min_periods=3)
    assert out["value"][0] == pytest.approx(0.2)  # the 2024-02-06 week is not public on Thursday


def test_options_crowding_is_minus_z_of_log_five_day_average() -> None:
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(12)]
    pcr = [0.6, 0.7, 0.65, 0.8, 0.7, 0.9, 0.6, 0.5, 0.55, 0.6, 0.62, 1.2]
    pc = pl.DataFrame({
        "trade_date": days, "put_call_ratio": pcr,
        "available_at": [datetime.combine(d, datetime.min.time(), UTC) + timedelta(hours=22) for d in days],
    })  # fmt: skip
    out = c.options_crowding(pc, [days[-1] + timedelta(days=1)], window=5, min_periods=3, avg_days=5)
    ln5 = np.log(np.convolve(pcr, np.ones(5) / 5, mode="valid"))
    assert out["value"][0] == pytest.approx(ln5[-1])
    assert out["z"][0] == pytest.approx(-zscore(ln5, 5, 3)[-1])
    assert out["z"][0] < 0  # a put-heavy spike is de-risking, not crowding


def test_short_covering_sign_and_staleness() -> None:
    settle = [date(2024, 1, 12), date(2024, 1, 31), date(2024, 2, 15), date(2024, 2, 29)]
    si = pl.DataFrame({
        "settlement_date": settle, "days_to_cover": [3.0, 2.5, 2.2, 4.0],
        "available_at": [datetime.combine(d + timedelta(days=10), datetime.min.time(), UTC) for d in settle],
    })  # fmt: skip
    out = c.short_covering(si, [date(2024, 3, 12), date(2024, 6, 1)], window=3, min_periods=2, max_age=45)
    first = out.row(0, named=True)
    assert first["value"] == pytest.approx(-1.8)  # DTC rose by 1.8: shorts added, negative pressure
    assert first["z"] < 0 and first["warmup"] is True
    assert out["z"][1] is None and out["value"][1] is None  # three months later the reading is stale


def test_price_momentum_uses_only_prices_through_the_close() -> None:
    rng = np.random.default_rng(3)
    n = 400
    dts = [date(2023, 1, 2) + timedelta(days=i) for i in range(n)]
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    px = pl.DataFrame(
        {
            "date": dts,
            "close": close,
            "available_at": [datetime.combine(d, datetime.min.time(), UTC) + timedelta(hours=20) for d in dts],
        }
    )
    day = dts[300]
    base = c.price_momentum(px, [day], trend_days=20, window=100, min_periods=50)
    shocked = px.with_columns(
        pl.when(pl.col("date") > day).then(pl.col("close") * 2).otherwise(pl.col("close")).alias("close")
    )
    assert c.price_momentum(shocked, [day], trend_days=20, window=100, min_periods=50).equals(base)
    assert not math.isnan(base["z"][0])


def test_sue_by_hand() -> None:
    eps = np.array([1.0, 1.1, 1.2, 1.3, 1.1, 1.3, 1.2, 1.6, 1.5])
    s = c.sue(eps)
    diffs = eps[4:] - eps[:-4]  # 0.1, 0.2, 0.0, 0.3, 0.4
    assert math.isnan(s[7])  # only three prior differences
    assert s[8] == pytest.approx(0.4 / np.std(diffs[:4], ddof=1))


def test_revenue_acceleration_by_hand() -> None:
    rev = np.array([100, 100, 100, 100, 110, 121, 100, 100], dtype=float)
    acc = c.revenue_acceleration(rev)
    assert acc[5] == pytest.approx(math.log(1.21) - math.log(1.10))
    assert acc[6] == pytest.approx(0.0 - math.log(1.21))


def test_fundamental_momentum_waits_for_the_filing() -> None:
    ends = [date(2021, 1, 31) + timedelta(days=91 * i) for i in range(16)]
    rng = np.random.default_rng(9)
    q = pl.DataFrame({
        "fiscal_period_end": ends,
        "eps_diluted_usd": np.cumsum(rng.normal(0.1, 0.2, 16)) + 2,
        "revenue_usd": 1e9 * np.exp(np.cumsum(rng.normal(0.03, 0.05, 16))),
        "available_at": [datetime.combine(e + timedelta(days=30), datetime.min.time(), UTC) for e in ends],
    })  # fmt: skip
    last_end = ends[-1]
    before = c.fundamental_momentum(q, [last_end + timedelta(days=29)], window=6, min_periods=4)
    after = c.fundamental_momentum(q, [last_end + timedelta(days=31)], window=6, min_periods=4)
    assert before["age_days"][0] > 90 and after["age_days"][0] == 31
    assert before["z"][0] != after["z"][0]
    # percentile: PR_W of SUE on the quarterly grid as known (1/W: 6 quarters back, the newest included)
    s_all = c.sue(q["eps_diluted_usd"].to_numpy())
    expected = 100.0 * float(np.sum(s_all[-6:] <= s_all[-1])) / 6
    assert np.isfinite(s_all[-6:]).all() and after["percentile"][0] == pytest.approx(expected)
    known = s_all[:-1]
    assert before["percentile"][0] == pytest.approx(100.0 * float(np.sum(known[-6:] <= known[-1])) / 6)


def _utc(d: date, hour: int) -> datetime:
    return datetime.combine(d, datetime.min.time(), UTC) + timedelta(hours=hour)


def test_etf_flow_pressure_by_hand() -> None:
    from flows.calendar import trading_days

    tdays = list(trading_days(date(2026, 6, 1), date(2026, 7, 31)))
    flows = pl.concat([
        pl.DataFrame({"date": tdays, "symbol": k, "flow_usd": f, "flow_frac_aum": f / 1e10,
                      "available_at": [_utc(d + timedelta(days=1), 13) for d in tdays]})
        for k, f in (("SMH", 1e8), ("SOXX", -5e7))
    ])  # fmt: skip
    weights = pl.DataFrame({
        "as_of_date": [date(2026, 5, 29), date(2026, 5, 29), date(2026, 7, 1)],
        "etf": ["SMH", "SOXX", "SMH"], "symbol": "NVDA", "weight_frac": [0.20, 0.10, 0.25],
        "available_at": [_utc(date(2026, 6, 1), 13), _utc(date(2026, 6, 1), 13), _utc(date(2026, 7, 2), 13)],
    })  # fmt: skip
    prices = pl.DataFrame({"date": tdays, "symbol": "NVDA", "close": 100.0, "volume": 1e6,
                           "available_at": [_utc(d, 20) for d in tdays]})  # fmt: skip
    day = date(2026, 7, 1)  # the 0.25 SMH weight is public only from 2026-07-02
    out = c.etf_flow_pressure(flows, weights, prices, "NVDA", [day, date(2026, 7, 2)], is_etf=False,
                              window=5, min_periods=2)  # fmt: skip
    dv20 = 20 * 100.0 * 1e6  # dollar volume of the 20 trading days through the close
    f20 = {"SMH": 20 * 1e8, "SOXX": 20 * -5e7}  # flows known by the close: dated up to the previous day
    assert out["value"][0] == pytest.approx((0.20 * f20["SMH"] + 0.10 * f20["SOXX"]) / dv20)
    assert out["value"][1] == pytest.approx((0.25 * f20["SMH"] + 0.10 * f20["SOXX"]) / dv20)
    assert out["age_days"][0] == 33  # the May 29 holdings snapshot is the oldest input on July 1
    etf = c.etf_flow_pressure(flows, weights, prices, "SMH", [day], is_etf=True, window=5, min_periods=2)
    assert etf["value"][0] == pytest.approx(20 * 1e8 / 1e10)


def test_a_stock_dropped_from_an_etf_file_has_weight_zero_and_a_revision_counts_from_its_publication() -> None:
    snap = pl.DataFrame({
        "as_of_date": [date(2026, 5, 29)] * 2 + [date(2026, 6, 30)] * 2 + [date(2026, 6, 30)],
        "symbol": ["NVDA", "AMD", "AMD", "MU", "NVDA"],
        "weight_frac": [0.20, 0.05, 0.06, 0.04, 0.18],
        "version": [1, 1, 1, 1, 2],
        "available_at": [_utc(date(2026, 6, 1), 13)] * 2 + [_utc(date(2026, 7, 1), 13)] * 2
        + [_utc(date(2026, 7, 8), 13)],
    })  # fmt: skip
    days = [date(2026, 5, 29), date(2026, 6, 1), date(2026, 6, 30), date(2026, 7, 1), date(2026, 7, 8)]
    w = c.etf_weight_daily(snap, "NVDA", days)
    # nothing public on 05-29; the May file from 06-01; the June file (no NVDA line) from 07-01;
    # a corrected June file listing NVDA at 18% published 07-08
    assert w["w"].to_list() == [None, 0.20, 0.20, 0.0, 0.18]
    assert w["age_w"].to_list() == [None, 3, 32, 1, 8]
    mu = c.etf_weight_daily(snap, "MU", days)  # first listed in the June file: null before it
    assert mu["w"].to_list() == [None, None, None, 0.04, 0.04]
    assert c.etf_weight_daily(snap, "AAPL", days)["w"].null_count() == len(days)


def test_efp_dollar_volume_uses_the_traded_close_not_the_adjusted_one() -> None:
    from flows.calendar import trading_days

    tdays = list(trading_days(date(2026, 6, 1), date(2026, 7, 31)))
    flows = pl.DataFrame({"date": tdays, "symbol": "SMH", "flow_usd": 1e8, "flow_frac_aum": 0.01,
                          "available_at": [_utc(d + timedelta(days=1), 13) for d in tdays]})  # fmt: skip
    weights = pl.DataFrame({"as_of_date": [date(2026, 5, 29)], "etf": ["SMH"], "symbol": ["NVDA"],
                            "weight_frac": [0.2], "available_at": [_utc(date(2026, 6, 1), 13)]})  # fmt: skip
    prices = pl.DataFrame({"date": tdays, "symbol": "NVDA", "close": 80.0, "close_traded": 100.0, "volume": 1e6,
                           "available_at": [_utc(d, 20) for d in tdays]})  # fmt: skip
    out = c.etf_flow_pressure(flows, weights, prices, "NVDA", [date(2026, 7, 1)], is_etf=False, window=5,
                              min_periods=2)  # fmt: skip
    assert out["value"][0] == pytest.approx(0.2 * 20 * 1e8 / (20 * 100.0 * 1e6))


def test_etf_own_pressure_is_window_flow_over_assets_before_the_window() -> None:
    from flows.calendar import trading_days

    tdays = list(trading_days(date(2026, 6, 1), date(2026, 7, 31)))
    # assets grow 2% a day with the flows: AUM_t-1 = 1e9 * 1.02^i, flow_t = 2% of it
    aum = [1e9 * 1.02**i for i in range(len(tdays))]
    flows = pl.DataFrame({"date": tdays, "symbol": "SMH", "flow_usd": [0.02 * a for a in aum],
                          "flow_frac_aum": 0.02, "assets_before_usd": aum,
                          "available_at": [_utc(d + timedelta(days=1), 13) for d in tdays]})  # fmt: skip
    day = date(2026, 7, 1)  # flows known through 06-30: the 20 trading days 06-02..06-30
    i_end = tdays.index(date(2026, 6, 30))
    window = range(i_end - 19, i_end + 1)
    expected = sum(0.02 * aum[i] for i in window) / aum[i_end - 19]  # = 1.02^20 - 1
    out = c.etf_flow_pressure(flows, pl.DataFrame(), pl.DataFrame(), "SMH", [day], is_etf=True, window=5,
                              min_periods=2)  # fmt: skip
    assert out["value"][0] == pytest.approx(expected) and expected == pytest.approx(1.02**20 - 1)
    # the sum of daily fractions (0.40) understates it (0.4859) once flows compound
    frac_only = c.etf_flow_pressure(flows.drop("assets_before_usd"), pl.DataFrame(), pl.DataFrame(), "SMH", [day],
                                    is_etf=True, window=5, min_periods=2)  # fmt: skip
    assert frac_only["value"][0] == pytest.approx(0.40)


def test_rolling_trading_sum_needs_enough_days_and_never_zero_fills() -> None:
    from flows.calendar import trading_days

    tdays = np.array(list(trading_days(date(2026, 6, 1), date(2026, 6, 30))), dtype="datetime64[D]")
    vals = np.ones(tdays.size)
    assert c.rolling_trading_sum(vals, tdays, 5, 4)[-1] == 5
    holes = np.delete(np.arange(tdays.size), [-2, -3])  # two of the last five days missing
    assert np.isnan(c.rolling_trading_sum(vals[holes], tdays[holes], 5, 4)[-1])
    assert c.rolling_trading_sum(vals[holes], tdays[holes], 5, 3)[-1] == 3


def test_futures_change_is_the_four_week_change_of_the_fut_z() -> None:
    nets = [0.01 * ((i * 7) % 11) for i in range(30)]
    rows = cot_rows(nets)
    days = [r + timedelta(days=4) for r in rows["report_date"].to_list()]  # each report's release Saturday
    fut = c.futures_positioning(rows, days, window=8, min_periods=4)
    chg = c.futures_change(rows, days, weeks=4, window=8, min_periods=4)
    z = zscore(np.array(nets), 8, 4)
    expected = z[4:] - z[:-4]
    got = chg["value"].to_numpy()[4:]
    np.testing.assert_allclose(got[np.isfinite(expected)], expected[np.isfinite(expected)])
    assert chg["value"][:4].null_count() == 4  # no week four weeks back yet
    assert fut["z"][10] - fut["z"][6] == pytest.approx(chg["value"][10])
    assert chg["z"].null_count() == chg.height
