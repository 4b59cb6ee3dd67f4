"""Score components (METHODS.md §4.4), each from point-in-time driver rows to a daily z-score.

Every function takes the driver's rows with ``available_at`` (all versions) and the decision days,
and returns a daily frame ``(date, value, z, age_days, warmup)``: ``value`` the raw component as
known at the decision time, ``z`` its trailing z-score (window excluding the current value, clipped
±3), ``age_days`` the age of the newest input behind it, ``warmup`` True while fewer than the full
window of observations back the z-score. Sign conventions follow METHODS: positive = more capital
support / crowding (options crowding is −z of ln PCR_5d; short covering is −ΔDTC).

Each component is computed on its driver's native grid (weekly COT, bi-monthly short interest,
daily put/call) as known at each publication (``flows.signals.timeline``), then carried to the
decision days; nothing is forward-filled before a statistic is computed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import numpy as np
import polars as pl

from flows.signals import measures
from flows.signals.normalise import warmup_mask, zscore
from flows.signals.timeline import last_of, on_events, to_daily

DAILY_SCHEMA = {"date": pl.Date, "value": pl.Float64, "z": pl.Float64, "age_days": pl.Int64, "warmup": pl.Boolean}
Transform = Callable[[np.ndarray], np.ndarray]  # raw driver values (by key date) -> component values


def component(
    frame: pl.DataFrame,
    key: str,
    value: pl.Expr,
    days: Sequence[date],
    transform: Transform,
    window: int,
    min_periods: int,
    max_age: int,
    sign: float = 1.0,
) -> pl.DataFrame:
    """Generic component: transform the driver series as known at each publication, z-score it on
    its own trailing history (``sign`` flips the z), and carry both to the decision days."""
    cols = [pl.col(key).alias("key_date"), value.cast(pl.Float64).alias("value"), pl.col("available_at")]
    rows = frame.select([*cols, *(["version"] if "version" in frame.columns else [])])

    def comp(vals: np.ndarray, dates: np.ndarray) -> np.ndarray:
        return transform(vals)

    def z(vals: np.ndarray, dates: np.ndarray) -> np.ndarray:
        return sign * zscore(transform(vals), window, min_periods)

    def warm(vals: np.ndarray, dates: np.ndarray) -> np.ndarray:
        return warmup_mask(transform(vals), window).astype(float)

    ev = on_events(rows, z, last_of(z)).drop("value")
    ev = ev.join(on_events(rows, comp, last_of(comp)).select("event_at", pl.col("stat").alias("value")), on="event_at")
    ev = ev.join(on_events(rows, warm, last_of(warm)).select("event_at", pl.col("stat").alias("w")), on="event_at")
    daily = to_daily(ev.select("event_at", "key_date", "value", "stat"), days, max_age_days=max_age)
    flags = to_daily(ev.select("event_at", "key_date", "value", pl.col("w").alias("stat")), days)
    out = daily.rename({"stat": "z"}).join(
        flags.select("date", (pl.col("stat") > 0).alias("warmup")), on="date", how="left"
    )
    out = out.with_columns(pl.col("value").fill_nan(None), pl.col("z").fill_nan(None))  # missing is null, never 0
    return out.select(list(DAILY_SCHEMA)).cast(DAILY_SCHEMA)


def identity(vals: np.ndarray) -> np.ndarray:
    return vals


def futures_positioning(cot: pl.DataFrame, days: Sequence[date], window: int = 156, min_periods: int = 52,
                        max_age: int = 21) -> pl.DataFrame:  # fmt: skip
    """FUT = Z_156w((Net_AM + Net_LF) / OI) of one contract (weekly, METHODS §4.4d).

    ``cot``: report_date, available_at, [version], asset_mgr_net_contracts, lev_funds_net_contracts,
    open_interest_contracts (one contract code). ``value`` = net fraction of open interest."""
    net = (pl.col("asset_mgr_net_contracts") + pl.col("lev_funds_net_contracts")) / pl.col("open_interest_contracts")
    return component(cot, "report_date", net, days, identity, window, min_periods, max_age)


def options_crowding(pc: pl.DataFrame, days: Sequence[date], window: int = 252, min_periods: int = 126,
                     avg_days: int = 5, max_age: int = 10) -> pl.DataFrame:  # fmt: skip
    """PCS = −Z_252(ln PCR_5d) (METHODS §3.1). ``pc``: trade_date, available_at, [version],
    put_call_ratio of one segment. ``value`` = ln PCR_5d (mean of the last five published days)."""

    def ln_avg(vals: np.ndarray) -> np.ndarray:
        avg = np.convolve(vals, np.ones(avg_days) / avg_days, mode="full")[: vals.size]
        avg[: avg_days - 1] = np.nan
        return np.log(avg)

    return component(pc, "trade_date", pl.col("put_call_ratio"), days, ln_avg, window, min_periods, max_age, -1.0)


def short_covering(si: pl.DataFrame, days: Sequence[date], window: int = 48, min_periods: int = 12,
                   max_age: int = 45) -> pl.DataFrame:  # fmt: skip
    """SCP = −(DTC_τ − DTC_τ−1) at the latest published settlement τ, z over 48 settlements (§4.4b).
    ``si``: settlement_date, available_at, [version], days_to_cover (one symbol)."""

    def neg_change(vals: np.ndarray) -> np.ndarray:
        return -np.concatenate(([np.nan], np.diff(vals)))

    return component(si, "settlement_date", pl.col("days_to_cover"), days, neg_change, window, min_periods, max_age)


def price_momentum(prices: pl.DataFrame, days: Sequence[date], trend_days: int = 126, window: int = 252,
                   min_periods: int = 126, max_age: int = 7) -> pl.DataFrame:  # fmt: skip
    """PM = TS_126, the vol-normalised trend statistic of daily log returns (METHODS §1.4); z =
    Z_252(PM). ``prices``: date, available_at, [version], close (adjusted), one symbol."""

    def ts(vals: np.ndarray) -> np.ndarray:
        return measures.trend_stat(np.concatenate(([np.nan], np.diff(np.log(vals)))), trend_days)

    return component(prices, "date", pl.col("close"), days, ts, window, min_periods, max_age)


def sue(eps: np.ndarray, lookback: int = 8) -> np.ndarray:
    """SUE_q = (EPS_q − EPS_{q−4}) / sd of that difference over the prior ``lookback`` quarters."""
    diff = np.full(eps.size, np.nan)
    diff[4:] = eps[4:] - eps[:-4]
    out = np.full(eps.size, np.nan)
    for i in range(eps.size):
        prior = diff[max(0, i - lookback) : i]
        prior = prior[np.isfinite(prior)]
        if prior.size >= 4 and np.isfinite(diff[i]):
            sd = prior.std(ddof=1)
            out[i] = diff[i] / sd if sd > 0 else np.nan
    return out


def revenue_acceleration(revenue: np.ndarray) -> np.ndarray:
    """Change in YoY log revenue growth: g_q − g_{q−1}, g_q = ln(Rev_q / Rev_{q−4})."""
    with np.errstate(invalid="ignore", divide="ignore"):
        lr = np.log(np.where(revenue > 0, revenue, np.nan))
    g = np.full(revenue.size, np.nan)
    g[4:] = lr[4:] - lr[:-4]
    return np.concatenate(([np.nan], np.diff(g)))


def fundamental_momentum(quarters: pl.DataFrame, days: Sequence[date], window: int = 12, min_periods: int = 8,
                         max_age: int = 200) -> pl.DataFrame:  # fmt: skip
    """Z(FM) from filings (METHODS §4.4 score 2, filings-only variant): the mean of Z_12q(SUE_q) and
    Z_12q(YoY revenue-growth acceleration), each on the quarterly grid as first filed.

    ``quarters``: fiscal_period_end, available_at, eps_diluted_usd, revenue_usd (one symbol, quarters
    only). Deviation from METHODS, written down: no NTM consensus EPS is available from public data,
    so FM uses reported quarters (labelled TTM/filings); it lags an analyst-based FM by a quarter."""
    q = quarters.sort("fiscal_period_end")
    z_sue = component(q, "fiscal_period_end", pl.col("eps_diluted_usd"), days, sue, window, min_periods, max_age)
    z_acc = component(q, "fiscal_period_end", pl.col("revenue_usd"), days, revenue_acceleration, window,
                      min_periods, max_age)  # fmt: skip
    both = z_sue.join(z_acc, on="date", suffix="_acc")
    zs = pl.concat_list(pl.col("z"), pl.col("z_acc")).list.drop_nulls()
    return both.select(
        "date",
        pl.col("value").alias("value"),  # SUE of the latest quarter
        pl.when(zs.list.len() > 0).then(zs.list.mean()).otherwise(None).alias("z"),
        "age_days",
        (pl.col("warmup") | pl.col("warmup_acc")).alias("warmup"),
    ).cast(DAILY_SCHEMA)
