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
from functools import lru_cache

import numpy as np
import polars as pl

from flows.signals import measures
from flows.signals.normalise import percentile_rank_w, warmup_mask, zscore
from flows.signals.timeline import on_events, on_events_many, to_daily

DAILY_SCHEMA = {"date": pl.Date, "value": pl.Float64, "z": pl.Float64, "age_days": pl.Int64, "warmup": pl.Boolean}
Transform = Callable[[np.ndarray], np.ndarray]  # raw driver values (by key date) -> component values
# (asset managers + leveraged funds net) / open interest of one COT contract (a fraction)
NET_OI = (pl.col("asset_mgr_net_contracts") + pl.col("lev_funds_net_contracts")) / pl.col("open_interest_contracts")


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
    native_pr: int | None = None,
) -> pl.DataFrame:
    """Generic component: transform the driver series as known at each publication, z-score it on
    its own trailing history (``sign`` flips the z), and carry both to the decision days. With
    ``native_pr`` = W the frame also has ``percentile``: PR_W of the component on its native grid as
    known at each publication (METHODS §4.3 and §1.8: never ranked on the forward-filled daily grid)."""
    cols = [pl.col(key).alias("key_date"), value.cast(pl.Float64).alias("value"), pl.col("available_at")]
    rows = frame.select([*cols, *(["version"] if "version" in frame.columns else [])])

    def comp(vals: np.ndarray, dates: np.ndarray) -> np.ndarray:
        return transform(vals)

    def z(vals: np.ndarray, dates: np.ndarray) -> np.ndarray:
        return sign * zscore(transform(vals), window, min_periods)

    def warm(vals: np.ndarray, dates: np.ndarray) -> np.ndarray:
        return warmup_mask(transform(vals), window).astype(float)

    stats = {"stat": z, "comp": comp, "w": warm}
    if native_pr:
        stats["pr"] = lambda vals, dates: percentile_rank_w(transform(vals), native_pr)
    ev = on_events_many(rows, stats).drop("value").rename({"comp": "value"})
    daily = to_daily(ev.select("event_at", "key_date", "value", "stat"), days, max_age_days=max_age)
    flags = to_daily(ev.select("event_at", "key_date", "value", pl.col("w").alias("stat")), days)
    out = daily.rename({"stat": "z"}).join(
        flags.select("date", (pl.col("stat") > 0).alias("warmup")), on="date", how="left"
    )
    out = out.with_columns(pl.col("value").fill_nan(None), pl.col("z").fill_nan(None))  # missing is null, never 0
    if native_pr:
        pr = to_daily(
            ev.select("event_at", "key_date", "value", pl.col("pr").alias("stat")), days, max_age_days=max_age
        )
        out = out.join(pr.select("date", pl.col("stat").fill_nan(None).alias("percentile")), on="date", how="left")
        return out.select(*DAILY_SCHEMA, "percentile").cast({**DAILY_SCHEMA, "percentile": pl.Float64})
    return out.select(list(DAILY_SCHEMA)).cast(DAILY_SCHEMA)


def identity(vals: np.ndarray) -> np.ndarray:
    return vals


def futures_positioning(cot: pl.DataFrame, days: Sequence[date], window: int = 156, min_periods: int = 52,
                        max_age: int = 21) -> pl.DataFrame:  # fmt: skip
    """FUT = Z_156w((Net_AM + Net_LF) / OI) of one contract (weekly, METHODS §4.4d).

    ``cot``: report_date, available_at, [version], asset_mgr_net_contracts, lev_funds_net_contracts,
    open_interest_contracts (one contract code). ``value`` = net fraction of open interest."""
    return component(cot, "report_date", NET_OI, days, identity, window, min_periods, max_age, native_pr=window)


def futures_change(cot: pl.DataFrame, days: Sequence[date], weeks: int = 4, window: int = 156,
                   min_periods: int = 52, max_age: int = 21) -> pl.DataFrame:  # fmt: skip
    """The 4-week change of FUT (METHODS §4.4d: "FUT_t and its 4-week change"): FUT_w − FUT_{w−4}
    on the weekly report grid as known at each publication, in z units (``value``; ``z`` null: it is
    already a difference of z-scores; ``percentile`` ranks it on the weekly grid). Null when either
    week has no FUT."""

    def change(vals: np.ndarray) -> np.ndarray:
        z = zscore(vals, window, min_periods)
        out = np.full(z.size, np.nan)
        out[weeks:] = z[weeks:] - z[:-weeks]
        return out

    frame = component(cot, "report_date", NET_OI, days, change, window, min_periods, max_age, native_pr=window)
    return frame.with_columns(pl.lit(None, pl.Float64).alias("z"))


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

    return component(
        si, "settlement_date", pl.col("days_to_cover"), days, neg_change, window, min_periods, max_age, native_pr=window
    )


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
    Z_12q(YoY revenue-growth acceleration), each on the quarterly grid as known at each filing
    (every version, ``flows.signals.timeline``). ``percentile``: PR_12q of SUE on that grid.

    ``quarters``: fiscal_period_end, available_at, eps_diluted_usd, revenue_usd (one symbol, quarters
    only). Deviation from METHODS, written down: no NTM consensus EPS is available from public data,
    so FM uses reported quarters (labelled TTM/filings); it lags an analyst-based FM by a quarter."""
    q = quarters.sort("fiscal_period_end")
    z_sue = component(
        q, "fiscal_period_end", pl.col("eps_diluted_usd"), days, sue, window, min_periods, max_age, native_pr=window
    )
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
        "percentile",  # PR_12q of SUE on the quarterly grid as known
    ).cast({**DAILY_SCHEMA, "percentile": pl.Float64})


@lru_cache(maxsize=8)
def _nyse_calendar(first_year: int, last_year: int) -> np.ndarray:
    from flows.calendar import trading_days

    days = trading_days(date(first_year, 1, 1), date(last_year, 12, 31))
    return np.array(list(days), dtype="datetime64[D]")


def trading_index(dates: np.ndarray) -> np.ndarray:
    """Position of each date on the NYSE trading calendar (consecutive trading days differ by 1; a
    non-trading date takes the position of the next trading day)."""
    ds = dates.astype("datetime64[D]")
    lo, hi = ds.min().astype(object), ds.max().astype(object)
    cal = _nyse_calendar(lo.year, hi.year)
    idx = np.searchsorted(cal, ds)
    return idx.astype(float)


def rolling_trading_sum(vals: np.ndarray, dates: np.ndarray, days: int = 20, min_days: int = 15) -> np.ndarray:
    """Sum of the values dated within the last ``days`` trading days (inclusive of each row's own
    day), NaN unless at least ``min_days`` of them are present: missing days are never zeros."""
    if vals.size == 0:
        return vals
    ti = trading_index(dates)
    ok = np.isfinite(vals)
    csum = np.concatenate(([0.0], np.cumsum(np.where(ok, vals, 0.0))))
    ccnt = np.concatenate(([0], np.cumsum(ok)))
    start = np.searchsorted(ti, ti - days + 1, side="left")
    end = np.arange(1, vals.size + 1)
    total, count = csum[end] - csum[start], ccnt[end] - ccnt[start]
    return np.where(count >= min_days, total, np.nan)


def rolling_on_days(frame: pl.DataFrame, key: str, value: pl.Expr, days: Sequence[date], n: int = 20,
                    min_days: int = 15, max_age: int = 10) -> pl.DataFrame:  # fmt: skip
    """The trailing n-trading-day sum of a daily driver as known at each decision day
    (date, key_date, value=sum, age_days)."""
    cols = [pl.col(key).alias("key_date"), value.cast(pl.Float64).alias("value"), pl.col("available_at")]
    rows = frame.select([*cols, *(["version"] if "version" in frame.columns else [])])

    def stat(vals: np.ndarray, dates: np.ndarray) -> np.ndarray:
        return rolling_trading_sum(vals, dates, n, min_days)

    ev = on_events(rows, stat)
    # a window with too few days is NaN from numpy: make it null, so it is not counted as present
    return to_daily(ev, days, max_age_days=max_age).select(
        "date", "key_date", pl.col("stat").fill_nan(None).alias("value"), "age_days"
    )


def window_start_value(vals: np.ndarray, dates: np.ndarray, days: int = 20) -> np.ndarray:
    """The value of the first row within the last ``days`` trading days of each row (the row that
    opens its window, as ``rolling_trading_sum`` counts it)."""
    if vals.size == 0:
        return vals
    ti = trading_index(dates)
    return vals[np.searchsorted(ti, ti - days + 1, side="left")]


def etf_own_pressure(flows: pl.DataFrame, days: Sequence[date], n: int = 20, min_days: int = 15,
                     max_age: int = 10) -> pl.DataFrame:  # fmt: skip
    """ETF k's own EFP = Σ_20d F / AUM_{t−20} (METHODS §4.4a), as known at each decision day: the
    trailing n-trading-day dollar flow over the assets before the window's first flow day
    (``assets_before_usd``). ``flows``: date, available_at, [version], flow_usd, assets_before_usd
    (one ETF). Returns date, key_date, value (fraction of AUM), age_days."""
    base = [pl.col("date").alias("key_date"), pl.col("available_at")]
    base += [pl.col("version")] if "version" in flows.columns else []
    usd = flows.select(*base, pl.col("flow_usd").cast(pl.Float64).alias("value"))
    # same rows as the dollar flows (a missing AUM is NaN, not a dropped row), so the windows align
    aum = flows.filter(pl.col("flow_usd").is_not_null()).select(
        *base, pl.col("assets_before_usd").cast(pl.Float64).fill_null(float("nan")).alias("value")
    )
    s = on_events_many(usd, {"sum": lambda v, d: rolling_trading_sum(v, d, n, min_days)})
    a = on_events_many(aum, {"aum": lambda v, d: window_start_value(v, d, n)})
    ev = s.join(a.select("event_at", "aum"), on="event_at", how="left").with_columns(
        (pl.col("sum") / pl.col("aum")).alias("stat")
    )
    return to_daily(ev.select("event_at", "key_date", "value", "stat"), days, max_age_days=max_age).select(
        "date", "key_date", pl.col("stat").fill_nan(None).alias("value"), "age_days"
    )


def etf_weight_daily(snapshots: pl.DataFrame, symbol: str, days: Sequence[date]) -> pl.DataFrame:
    """date, w, age_w: the stock's weight in one ETF's latest holdings file public at each decision
    (METHODS §4.4a): 0 when the file does not list the stock, null before the stock first appears
    in a public file of the ETF. ``snapshots``: as_of_date, available_at, [version], symbol,
    weight_frac, every row of the ETF's files (all symbols, all versions). age_w = days from the
    file's date to the decision day."""
    grid = pl.DataFrame({"date": list(days)}, schema={"date": pl.Date})
    mine = snapshots.filter(pl.col("symbol") == symbol)
    if mine.height == 0:
        return grid.with_columns(pl.lit(None, pl.Float64).alias("w"), pl.lit(None, pl.Int64).alias("age_w"))
    first_seen = mine["available_at"].min()
    ver = pl.col("version") if "version" in snapshots.columns else pl.lit(1)
    # each publication event of the ETF's files, with the newest file date known by then
    events = (
        snapshots.group_by("available_at")
        .agg(pl.col("as_of_date").max())
        .sort("available_at")
        .with_columns(pl.col("as_of_date").cum_max().alias("newest"))
        .filter(pl.col("available_at") >= first_seen)
        .select(pl.col("available_at").alias("event_at"), "newest")
    )
    # the stock's line in that file, latest version published by the event (none = not held: 0)
    lines = mine.select(pl.col("as_of_date").alias("newest"), "available_at", ver.alias("version"), "weight_frac")
    lines = lines.sort("available_at", "version")
    ev = (
        events.sort("event_at")
        .join_asof(
            lines, left_on="event_at", right_on="available_at", by="newest", strategy="backward", check_sortedness=False
        )
        .select(
            pl.col("event_at").cast(pl.Datetime("us", "UTC")),
            pl.col("newest").alias("key_date"),
            pl.col("weight_frac").fill_null(0.0).cast(pl.Float64).alias("value"),
            pl.col("weight_frac").fill_null(0.0).cast(pl.Float64).alias("stat"),
        )
    )
    return to_daily(ev, days).select("date", pl.col("stat").alias("w"), pl.col("age_days").alias("age_w"))


def etf_flow_pressure(
    flows: pl.DataFrame,
    weights: pl.DataFrame,
    prices: pl.DataFrame,
    symbol: str,
    days: Sequence[date],
    is_etf: bool,
    n: int = 20,
    min_days: int = 15,
    window: int = 252,
    min_periods: int = 126,
    max_age: int = 10,
) -> pl.DataFrame:
    """EFP (METHODS §4.4a, Lou-style FIT for ETFs with PSF = 1), as known at each decision day.

    Stock i: Σ_k w_{k,i} · Σ_{20d} F_k / Σ_{20d} DV_i, w the stock's weight in ETF k's latest holdings
    file public by the decision (0 when that file does not list it; held constant between files;
    ``etf_weight_daily``), F the ETF's dollar flow, DV = as-traded close × volume (the price paid,
    not the dividend-adjusted close).
    ETF k itself: Σ_{20d} F_k / AUM_k, AUM = the fund's assets before the window's first flow day
    (``etf_own_pressure``; without ``assets_before_usd`` the sum of daily ``flow_frac_aum``, which
    equals it only while flows are small).
    Inputs: ``flows`` (date, symbol, flow_usd, shares_outstanding, nav_usd, available_at),
    ``weights`` (as_of_date, etf, symbol, weight_frac, available_at), ``prices`` (date, symbol,
    close, volume, available_at). ``value`` is a fraction of dollar volume (stock) or AUM (ETF);
    z = Z_252 of the daily EFP series; age_days = the oldest input's age (flows or holdings weights,
    which are held constant between snapshots: their age is part of the reading)."""
    grid = pl.DataFrame({"date": list(days)}, schema={"date": pl.Date})
    if is_etf:
        own = flows.filter(pl.col("symbol") == symbol)
        if "assets_before_usd" in own.columns:
            f20 = etf_own_pressure(own, days, n, min_days, max_age)
        else:  # frames without assets (hand-made inputs): Σ_20d of each day's flow_frac_aum
            f20 = rolling_on_days(own, "date", pl.col("flow_frac_aum"), days, n, min_days, max_age)
        out = grid.join(f20, on="date", how="left").rename({"value": "efp"})
    else:
        held = weights.filter(pl.col("symbol") == symbol)
        etfs = sorted(set(held["etf"].to_list()))
        px = prices.filter(pl.col("symbol") == symbol)
        traded = pl.col("close_traded") if "close_traded" in px.columns else pl.col("close")
        dv_rows = px.with_columns((traded * pl.col("volume")).alias("dv"))
        dv20 = rolling_on_days(dv_rows, "date", pl.col("dv"), days, n, min_days, max_age).rename(
            {"value": "dv20", "age_days": "age_dv", "key_date": "kd_dv"})  # fmt: skip
        out = grid.join(dv20, on="date", how="left").with_columns(pl.lit(0.0).alias("num"), pl.lit(0).alias("n_etf"),
                                                                   pl.lit(0).alias("age_days"))  # fmt: skip
        for k in etfs:
            wd = etf_weight_daily(weights.filter(pl.col("etf") == k), symbol, days)
            fk = rolling_on_days(
                flows.filter(pl.col("symbol") == k), "date", pl.col("flow_usd"), days, n, min_days, max_age
            )
            fk = fk.select("date", pl.col("value").alias("f20"), pl.col("age_days").alias("age_f"))
            out = out.join(wd, on="date", how="left").join(fk, on="date", how="left")
            has = pl.col("w").is_not_null() & pl.col("f20").is_not_null()
            out = out.with_columns(
                pl.when(has).then(pl.col("num") + pl.col("w") * pl.col("f20")).otherwise(pl.col("num")).alias("num"),
                pl.when(has).then(pl.col("n_etf") + 1).otherwise(pl.col("n_etf")).alias("n_etf"),
                pl.when(has)
                .then(pl.max_horizontal("age_days", "age_f", "age_w"))
                .otherwise(pl.col("age_days"))
                .alias("age_days"),
            ).drop("w", "age_w", "f20", "age_f")
        out = out.with_columns(
            pl.when(pl.col("n_etf") > 0).then(pl.col("num") / pl.col("dv20")).otherwise(None).alias("efp")
        )
    efp = out["efp"].to_numpy().astype(float) if out.height else np.array([])
    z = zscore(efp, window, min_periods)
    warm = warmup_mask(efp, window)
    return (
        pl.DataFrame(
            {
                "date": out["date"],
                "value": efp,
                "z": z,
                "age_days": out["age_days"] if "age_days" in out.columns else None,
                "warmup": warm,
            }
        )
        .with_columns(pl.col("value").fill_nan(None), pl.col("z").fill_nan(None))
        .cast(DAILY_SCHEMA)
    )
