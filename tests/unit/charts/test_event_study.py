"""Event study: market-model abnormal returns, CAR, abnormal flows and the catalysts file, by hand."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from flows.calendar import trading_days
from flows.charts.event_study import CatalystFileError, average_event_path, event_study, read_catalysts

DAYS = list(trading_days(date(2024, 1, 2), date(2025, 6, 30)))


def market_returns(n: int = len(DAYS), seed: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0005, 0.01, n)


def frame(symbol: str, rets: np.ndarray, days: list[date] = DAYS) -> pl.DataFrame:
    return pl.DataFrame({"date": days[: len(rets)], "symbol": [symbol] * len(rets), "ret": rets}, nan_to_null=True)


def events(*items: tuple[date, str]) -> pl.DataFrame:
    return pl.DataFrame([{"date": d, "label": lab} for d, lab in items], schema={"date": pl.Date, "label": pl.String})


def test_beta_two_stock_has_zero_abnormal_return_except_the_event_jump() -> None:
    rm = market_returns()
    t0 = 300
    rs = 2.0 * rm
    rs[t0] += 0.05  # the catalyst's own move
    res = event_study(pl.concat([frame("SPY", rm), frame("NVDA", rs)]), events((DAYS[t0], "earnings")), pre=10, post=20)
    nv = res.filter(pl.col("symbol") == "NVDA").sort("rel_day")
    assert nv["rel_day"].to_list() == list(range(-10, 21))
    assert nv["date"][10] == DAYS[t0]
    assert nv["beta"][0] == pytest.approx(2.0, abs=1e-9)
    assert nv["beta_method"][0] == "ols_240d"  # returns on days -250..-11
    np.testing.assert_allclose(nv["car"].to_numpy()[:10], 0.0, atol=1e-12)
    np.testing.assert_allclose(nv["car"].to_numpy()[10:], 0.05, atol=1e-12)
    spy = res.filter(pl.col("symbol") == "SPY")
    np.testing.assert_allclose(spy["car"].to_numpy(), 0.0, atol=1e-12)


def test_short_history_falls_back_to_market_adjusted_and_says_so() -> None:
    rm = market_returns()
    t0 = 40  # only 30 estimation returns: beta = 1
    rs = rm.copy()
    rs[t0 - 10 : t0 + 21] = 0.01  # the stock earns 1% a day in the window
    res = event_study(pl.concat([frame("SPY", rm), frame("AMD", rs)]), events((DAYS[t0], "x")), pre=10, post=20)
    amd = res.filter(pl.col("symbol") == "AMD").sort("rel_day")
    assert set(amd["beta_method"]) == {"market_adjusted"} and set(amd["beta"]) == {1.0}
    ar = 0.01 - rm[t0 - 10 : t0 + 21]
    np.testing.assert_allclose(amd["ar"].to_numpy(), ar, atol=1e-12)
    np.testing.assert_allclose(amd["car"].to_numpy(), np.cumsum(ar), atol=1e-12)


def test_a_missing_return_makes_the_car_null_from_there_on_never_zero() -> None:
    rm = market_returns()
    rs = rm * 1.5
    t0 = 300
    rs[t0 + 3] = np.nan
    res = event_study(pl.concat([frame("SPY", rm), frame("MU", rs)]), events((DAYS[t0], "x")), pre=10, post=20)
    mu = res.filter(pl.col("symbol") == "MU").sort("rel_day")
    assert mu.filter(pl.col("rel_day") == 3)["ar"].to_list() == [None]
    assert mu.filter(pl.col("rel_day") == 4)["ar"][0] == pytest.approx(0.0, abs=1e-12)
    assert mu.filter(pl.col("rel_day") >= 3)["car"].null_count() == 18
    assert mu.filter(pl.col("rel_day") < 3)["car"].null_count() == 0


def test_a_weekend_event_starts_on_the_next_trading_day_and_too_early_events_give_no_rows() -> None:
    rm = market_returns()
    sat = next(d for d in (DAYS[300] + timedelta(days=i) for i in range(7)) if d.weekday() == 5)
    res = event_study(
        pl.concat([frame("SPY", rm), frame("AVGO", rm)]),
        events((sat, "weekend"), (DAYS[5], "before the history"), (DAYS[-1] + timedelta(days=3), "future")),
        pre=10,
        post=20,
    )
    assert set(res["label"]) == {"weekend"}
    day0 = res.filter((pl.col("rel_day") == 0) & (pl.col("symbol") == "AVGO"))["date"][0]
    assert day0 == min(d for d in DAYS if d > sat)


def test_an_event_near_the_end_has_a_shorter_window_not_a_padded_one() -> None:
    rm = market_returns()
    res = event_study(pl.concat([frame("SPY", rm), frame("LRCX", rm)]), events((DAYS[-5], "late")), pre=10, post=20)
    assert res.filter(pl.col("symbol") == "LRCX")["rel_day"].to_list() == list(range(-10, 5))


def test_abnormal_flow_is_flow_less_its_estimation_mean() -> None:
    rm = market_returns()
    t0 = 300
    flow = np.full(len(DAYS), 0.001)
    flow[t0 + 1] = 0.011
    flows = pl.DataFrame({"date": DAYS, "symbol": "SMH", "flow_frac": flow})
    res = event_study(
        pl.concat([frame("SPY", rm), frame("SMH", rm * 1.2)]),
        events((DAYS[t0], "x")),
        pre=10,
        post=20,
        flows=flows,
    )
    smh = res.filter(pl.col("symbol") == "SMH").sort("rel_day")
    af = smh["abnormal_flow"].to_numpy()
    assert af[11] == pytest.approx(0.01) and np.abs(np.delete(af, 11)).max() == pytest.approx(0.0, abs=1e-15)
    assert smh["cum_abnormal_flow"][-1] == pytest.approx(0.01)
    spy = res.filter(pl.col("symbol") == "SPY")  # no flows for it: null, not zero
    assert spy["abnormal_flow"].null_count() == spy.height


def test_average_path_skips_nulls_and_counts_events() -> None:
    res = pl.DataFrame(
        {
            "symbol": ["NVDA"] * 4,
            "rel_day": [0, 1, 0, 1],
            "car": [0.02, 0.04, 0.06, None],
            "cum_abnormal_flow": [None, None, None, None],
        },
        schema_overrides={"cum_abnormal_flow": pl.Float64},
    )
    avg = average_event_path(res)
    assert avg.rows() == [("NVDA", 0, pytest.approx(0.04), None, 2), ("NVDA", 1, pytest.approx(0.04), None, 1)]


def test_read_catalysts_sorts_drops_duplicates_and_allows_comments(tmp_path: Path) -> None:
    p = tmp_path / "c.csv"
    p.write_text(
        "\ufeffdate,label\n# NVDA earnings\n2025-02-26,NVDA FQ4\n2024-05-22, NVDA FQ1 \n\n2025-02-26,NVDA FQ4\n",
        encoding="utf-8",
    )
    cat = read_catalysts(p)
    assert cat.rows() == [(date(2024, 5, 22), "NVDA FQ1"), (date(2025, 2, 26), "NVDA FQ4")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("day,label\n2024-01-02,x\n", "header must start with date,label"),
        ("date,label\n2024-01-02,x\n02/01/2024,y\n", ":3: '02/01/2024' is not an ISO date"),
        ("date,label\n2024-01-02\n", ":2: expected date,label"),
    ],
)
def test_read_catalysts_names_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "c.csv"
    p.write_text(text)
    with pytest.raises(CatalystFileError, match=message.replace(".", r"\.")) as err:
        read_catalysts(p)
    assert str(p) in str(err.value)


def test_missing_catalysts_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CatalystFileError, match="not found"):
        read_catalysts(tmp_path / "nope.csv")
