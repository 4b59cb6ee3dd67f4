"""Read what the charts draw, as it was public at the as-of day's decision time.

Every reader takes a read connection and the as-of date D. Raw-data views are read with the DuckDB
variable ``as_of`` set to D's decision time (``config/signals.yaml``, 16:00 New York), so a row
published after D, or a revision published after D, never reaches a chart of D. Scores, regimes and
scenarios are point-in-time by construction (``signals.*`` rows for day D used only inputs public by
D) and are read for dates <= D.

Grains and units are those of the views (README "Views"); each reader documents its frame. Series
are put on their native grid (trading days, COT Tuesdays, short-interest settlements) with nulls for
missing observations, so the charts show gaps.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import polars as pl

from flows.calendar import last_trading_day_on_or_before, trading_days
from flows.charts.market_charts import streaks
from flows.signals.decomposition import decompose
from flows.signals.timeline import decision_time


@contextmanager
def known_at(con: duckdb.DuckDBPyConnection, at: datetime) -> Iterator[None]:
    """Within the block the analytics views show only rows public at ``at`` (UTC)."""
    con.execute("set variable as_of = ?::timestamptz", [at.isoformat()]).fetchall()
    try:
        yield
    finally:
        con.execute("reset variable as_of").fetchall()


def _pl(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] = ()) -> pl.DataFrame:
    return con.sql(sql, params=list(params)).pl()


def _has(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    schema, name = relation.split(".")
    sql = "select count(*) from information_schema.tables where table_schema = ? and table_name = ?"
    return con.execute(sql, [schema, name]).fetchall()[0][0] > 0


def trading_grid(end: date, n: int) -> list[date]:
    """The last ``n`` NYSE trading days up to ``end`` (inclusive)."""
    start = end - timedelta(days=int(n * 1.5) + 10)
    days = list(trading_days(start, end))
    return days[-n:]


def last_scored_day(con: duckdb.DuckDBPyConnection, as_of: date) -> date | None:
    """The newest day <= as_of with scores (the charts of D show the scores of D when they exist)."""
    if not _has(con, "signals.scores"):
        return None
    return con.execute("select max(date) from analytics.scores where date <= ?", [as_of]).fetchall()[0][0]


# ---- scores ------------------------------------------------------------------------------------------


def heatmap(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    components: dict[str, str],
    lookbacks: dict[str, int],
    symbols: Sequence[str],
) -> pl.DataFrame:
    """symbol, component (label), snapshot, snapshot_date, z: the trailing z of each component on
    the last scored day at or before as_of − lookback (calendar days). Missing = null z."""
    rows = []
    for snap, back in lookbacks.items():
        day = last_scored_day(con, as_of - timedelta(days=int(back)))
        if day is None:
            continue
        got = _pl(con, "select symbol, score, z from analytics.scores where date = ?", [day])
        for sym in symbols:
            for comp, label in components.items():
                hit = got.filter((pl.col("symbol") == sym) & (pl.col("score") == comp))["z"].to_list()
                rows.append(
                    {
                        "symbol": sym,
                        "component": label,
                        "snapshot": snap,
                        "snapshot_date": day,
                        "z": hit[0] if hit else None,
                    }
                )
    schema = {
        "symbol": pl.String,
        "component": pl.String,
        "snapshot": pl.String,
        "snapshot_date": pl.Date,
        "z": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)


def score_history(con: duckdb.DuckDBPyConnection, symbol: str, as_of: date, days: int, band_days: int) -> pl.DataFrame:
    """date, score (cps | pfd), value, p10, p50, p90 on the last ``days`` trading days to as_of; the
    bands are trailing ``band_days`` quantiles (linear) of the score's own values (>= half filled)."""
    grid = trading_grid(as_of, days + band_days)
    raw = _pl(
        con,
        """select date, score, value from analytics.scores
                      where symbol = ? and score in ('cps', 'pfd') and date between ? and ?""",
        [symbol, grid[0], as_of],
    )
    out = []
    for score in ("cps", "pfd"):
        s = raw.filter(pl.col("score") == score).drop("score")
        full = pl.DataFrame({"date": grid}, schema={"date": pl.Date}).join(s, on="date", how="left").sort("date")
        q = {
            f"p{int(p * 100)}": pl.col("value").rolling_quantile(
                p, interpolation="linear", window_size=band_days, min_samples=band_days // 2
            )
            for p in (0.1, 0.5, 0.9)
        }
        full = full.with_columns(**q).with_columns(pl.lit(score).alias("score"))
        out.append(full.tail(days).select("date", "score", "value", "p10", "p50", "p90"))
    return pl.concat(out)


def regimes(con: duckdb.DuckDBPyConnection, symbol: str, start: date, as_of: date) -> pl.DataFrame:
    """date, regime of one symbol between start and as_of."""
    if not _has(con, "signals.regimes"):
        return pl.DataFrame(schema={"date": pl.Date, "regime": pl.String})
    return _pl(
        con,
        "select date, regime from analytics.regimes where symbol = ? and date between ? and ? order by date",
        [symbol, start, as_of],
    )


def headline(con: duckdb.DuckDBPyConnection, as_of: date, symbols: Sequence[str]) -> pl.DataFrame:
    """symbol, date, regime, rule, cps, pfd, z_fm, z_pm: the regime of the last scored day <= as_of
    and the values the rule read. Symbols with no regime get a row of nulls."""
    day = last_scored_day(con, as_of)
    got = (
        _pl(con, "select * from analytics.regimes where date = ?", [day])
        if day is not None
        else pl.DataFrame(
            schema={
                "date": pl.Date,
                "symbol": pl.String,
                "regime": pl.String,
                "rule": pl.String,
                "cps": pl.Float64,
                "pfd": pl.Float64,
                "z_fm": pl.Float64,
                "z_pm": pl.Float64,
            }
        )
    )
    order = pl.DataFrame({"symbol": list(symbols)}, schema={"symbol": pl.String})
    return order.join(got, on="symbol", how="left").select(
        "symbol", "date", "regime", "rule", "cps", "pfd", "z_fm", "z_pm"
    )


def scenarios(con: duckdb.DuckDBPyConnection, as_of: date) -> pl.DataFrame:
    """The scenario odds of the newest as_of <= D (analytics.scenarios columns)."""
    if not _has(con, "signals.scenarios"):
        return pl.DataFrame()
    return _pl(
        con,
        """select * from analytics.scenarios
                       where as_of = (select max(as_of) from analytics.scenarios where as_of <= ?)
                       order by symbol, horizon_days""",
        [as_of],
    )


def _ttm_eps_at(fund: pl.DataFrame, at: datetime) -> float | None:
    known = fund.filter(pl.col("available_at") <= at).sort(["fiscal_period_end", "available_at"])
    if known.height == 0:
        return None
    v = known["ttm_eps"][-1]
    return None if v is None else float(v)


def decomposition(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    horizons: dict[str, int | str],
    symbols: Sequence[str],
    decision_hhmm: str = "16:00",
) -> pl.DataFrame:
    """symbol, horizon, dlog_price, dlog_eps, dlog_pe (log points) for the move ending on the last
    trading day <= as_of over each horizon (trading days, or 'ytd' = since the prior year's last
    trading day), with the TTM diluted EPS (first filed, split-adjusted) known at each end's decision
    time and the split-adjusted close (METHODS §4.1 via ``flows.signals.decomposition``)."""
    at = decision_time(as_of, decision_hhmm)
    with known_at(con, at):
        px = _pl(
            con,
            """select symbol, date, coalesce(adj_close, close) as close from analytics.prices
                         where date <= ? and date >= ? and symbol in (select unnest(?::varchar[]))""",
            [as_of, as_of - timedelta(days=800), list(symbols)],
        )
        fund = _pl(
            con,
            """select symbol, fiscal_period_end, available_at, ttm_eps_diluted_usd as ttm_eps
                           from analytics.fundamentals where period_kind = 'quarter'
                             and ttm_eps_diluted_usd is not null""",
        )
    fund = fund.with_columns(pl.col("available_at").dt.convert_time_zone("UTC"))
    rows = []
    for sym in symbols:
        p = px.filter(pl.col("symbol") == sym).sort("date")
        f = fund.filter(pl.col("symbol") == sym)
        if p.height < 2 or f.height == 0:
            continue
        dates, close = p["date"].to_list(), p["close"].to_numpy().astype(float)
        r = np.diff(np.log(close))
        for label, h in horizons.items():
            i1 = len(dates) - 1
            if h == "ytd":
                prior = [i for i, d in enumerate(dates) if d.year < dates[i1].year]
                if not prior:
                    continue
                i0 = prior[-1]
            else:
                i0 = i1 - int(h)
                if i0 < 0:
                    continue
            n = i1 - i0
            window_r = r[max(0, i1 - 252) : i1]
            sigma = float(np.std(window_r, ddof=1) * math.sqrt(n)) if window_r.size > 20 else None
            e0 = _ttm_eps_at(f, decision_time(dates[i0], decision_hhmm))
            e1 = _ttm_eps_at(f, decision_time(dates[i1], decision_hhmm))
            d = decompose(float(close[i0]), float(close[i1]), e0, e1, sigma)
            rows.append(
                {
                    "symbol": sym,
                    "horizon": label,
                    "start": dates[i0],
                    "end": dates[i1],
                    "dlog_price": d.dlog_price,
                    "dlog_eps": d.dlog_eps,
                    "dlog_pe": d.dlog_pe,
                    "note": d.note,
                }
            )
    schema = {
        "symbol": pl.String,
        "horizon": pl.String,
        "start": pl.Date,
        "end": pl.Date,
        "dlog_price": pl.Float64,
        "dlog_eps": pl.Float64,
        "dlog_pe": pl.Float64,
        "note": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


# ---- positioning ---------------------------------------------------------------------------------------


def _trailing_z(col: str, window: int, min_samples: int) -> pl.Expr:
    mean = pl.col(col).rolling_mean(window, min_samples=min_samples)
    std = pl.col(col).rolling_std(window, min_samples=min_samples)
    return ((pl.col(col) - mean) / std).clip(-3, 3)


def cot(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    markets: dict[str, str],
    weeks: int,
    z_weeks: int,
    decision_hhmm: str = "16:00",
) -> pl.DataFrame:
    """report_date, market, group, net_frac_oi, z: asset-manager and leveraged-fund net positions as
    a fraction of open interest for each market (label -> contract code), on the weekly grid of the
    last ``weeks`` Tuesdays (plus any off-Tuesday report dates), z over trailing ``z_weeks`` reports
    (>= a third filled). Only reports public at D's decision time."""
    start = as_of - timedelta(weeks=weeks + z_weeks + 1)
    with known_at(con, decision_time(as_of, decision_hhmm)):
        raw = _pl(
            con,
            """select report_date, contract_code, asset_mgr_net_frac_oi, lev_funds_net_frac_oi
                          from analytics.cot_positioning
                          where contract_code in (select unnest(?::varchar[])) and report_date >= ?""",
            [list(markets.values()), start],
        )
    last_tuesday = as_of - timedelta(days=(as_of.weekday() - 1) % 7)
    tuesdays = [last_tuesday - timedelta(weeks=k) for k in range(weeks + z_weeks)][::-1]
    out = []
    for label, code in markets.items():
        m = raw.filter(pl.col("contract_code") == code)
        grid = sorted(set(tuesdays) | set(m["report_date"].to_list()))
        full = pl.DataFrame({"report_date": grid}, schema={"report_date": pl.Date}).join(
            m, on="report_date", how="left"
        )
        for group, col in (("asset managers", "asset_mgr_net_frac_oi"), ("leveraged funds", "lev_funds_net_frac_oi")):
            g = full.select("report_date", pl.col(col).alias("net_frac_oi")).sort("report_date")
            g = g.with_columns(_trailing_z("net_frac_oi", z_weeks, max(8, z_weeks // 3)).alias("z"))
            out.append(g.tail(weeks).with_columns(pl.lit(label).alias("market"), pl.lit(group).alias("group")))
    return pl.concat(out).select("report_date", "market", "group", "net_frac_oi", "z") if out else pl.DataFrame()


def put_call(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    segments: Sequence[str],
    days: int,
    avg_days: int,
    z_days: int,
    decision_hhmm: str = "16:00",
) -> pl.DataFrame:
    """trade_date, segment, put_call_ratio, avg, z on the last ``days`` trading days to as_of (null =
    not published / not yet public at D's decision time); avg = trailing mean of ``avg_days`` (>= 3
    present), z = trailing z of the daily ratio over ``z_days`` (>= half present)."""
    grid = trading_grid(as_of, days + z_days)
    with known_at(con, decision_time(as_of, decision_hhmm)):
        raw = _pl(
            con,
            """select trade_date, segment, put_call_ratio from analytics.put_call
                          where segment in (select unnest(?::varchar[])) and trade_date between ? and ?""",
            [list(segments), grid[0], as_of],
        )
    out = []
    for seg in segments:
        s = raw.filter(pl.col("segment") == seg).drop("segment")
        full = pl.DataFrame({"trade_date": grid}, schema={"trade_date": pl.Date}).join(s, on="trade_date", how="left")
        full = full.sort("trade_date").with_columns(
            pl.col("put_call_ratio").rolling_mean(avg_days, min_samples=min(3, avg_days)).alias("avg"),
            _trailing_z("put_call_ratio", z_days, z_days // 2).alias("z"),
            pl.lit(seg).alias("segment"),
        )
        out.append(full.tail(days))
    return pl.concat(out).select("trade_date", "segment", "put_call_ratio", "avg", "z")


def etf_flows(
    con: duckdb.DuckDBPyConnection, as_of: date, symbols: Sequence[str], days: int, decision_hhmm: str = "16:00"
) -> pl.DataFrame:
    """date, symbol, flow_usd, streak on the last ``days`` trading days (null = no flow that day)."""
    grid = trading_grid(as_of, days)
    with known_at(con, decision_time(as_of, decision_hhmm)):
        raw = _pl(
            con,
            """select date, symbol, flow_usd from analytics.etf_flows
                          where symbol in (select unnest(?::varchar[])) and date between ? and ?""",
            [list(symbols), grid[0], as_of],
        )
    raw = raw.group_by(["date", "symbol"]).agg(pl.col("flow_usd").first())
    syms = pl.DataFrame(
        {"symbol": [s for s in symbols if s in set(raw["symbol"].to_list())]}, schema={"symbol": pl.String}
    )
    full = syms.join(pl.DataFrame({"date": grid}, schema={"date": pl.Date}), how="cross").join(
        raw, on=["date", "symbol"], how="left"
    )
    return streaks(full).select("date", "symbol", "flow_usd", "streak")


def short_interest(
    con: duckdb.DuckDBPyConnection, as_of: date, symbols: Sequence[str], obs: int, decision_hhmm: str = "16:00"
) -> pl.DataFrame:
    """settlement_date, symbol, short_interest_shares, days_to_cover on the last ``obs`` settlement
    dates public by D (the settlement grid is every date any symbol of the universe reported)."""
    with known_at(con, decision_time(as_of, decision_hhmm)):
        raw = _pl(
            con,
            """select settlement_date, symbol, short_interest_shares, days_to_cover
                          from analytics.short_interest where symbol in (select unnest(?::varchar[]))""",
            [list(symbols)],
        )
    if raw.height == 0:
        return raw
    start = as_of - timedelta(days=int(obs * 15.5) + 31)
    grid = sorted(set(finra_settlements(start, as_of)) | set(raw["settlement_date"].to_list()))[-obs:]
    raw = raw.filter(pl.col("settlement_date") >= grid[0])
    syms = raw.select("symbol").unique().sort("symbol")
    full = syms.join(pl.DataFrame({"settlement_date": grid}, schema={"settlement_date": pl.Date}), how="cross")
    return full.join(raw, on=["settlement_date", "symbol"], how="left").sort(["symbol", "settlement_date"])


def finra_settlements(start: date, end: date) -> list[date]:
    """FINRA short-interest settlement dates between start and end: the last NYSE trading day on or
    before the 15th and the last trading day of each month (SOURCES.md §3)."""
    out = []
    y, m = start.year, start.month
    while date(y, m, 1) <= end:
        nxt = date(y + (m == 12), m % 12 + 1, 1)
        for d in (
            last_trading_day_on_or_before(date(y, m, 15)),
            last_trading_day_on_or_before(nxt - timedelta(days=1)),
        ):
            if start <= d <= end:
                out.append(d)
        y, m = nxt.year, nxt.month
    return out


# ---- data quality ---------------------------------------------------------------------------------------


def freshness(con: duckdb.DuckDBPyConnection, as_of: date, decision_hhmm: str = "16:00") -> pl.DataFrame:
    """dataset, view, last_date, last_available_at, age_days, stale_after_days, status per registered
    dataset: the newest row public at D's decision time (``status``: fresh | stale | empty)."""
    from flows.sources import DATASETS

    rows = []
    with known_at(con, decision_time(as_of, decision_hhmm)):
        for name, spec in DATASETS.items():
            last = avail = None
            if _has(con, spec.view):
                last, avail = con.execute(
                    f"select max({spec.date_column})::date, max(available_at) from {spec.view}"
                ).fetchall()[0]
            limit = spec.stale_after.days
            age = (as_of - last).days if last is not None else None
            status = "empty" if last is None else ("stale" if age is not None and age > limit else "fresh")
            rows.append(
                {
                    "dataset": name,
                    "view": spec.view,
                    "last_date": last,
                    "last_available_at": avail,
                    "age_days": age,
                    "stale_after_days": limit,
                    "status": status,
                }
            )
    schema = {
        "dataset": pl.String,
        "view": pl.String,
        "last_date": pl.Date,
        "last_available_at": pl.Datetime("us", "UTC"),
        "age_days": pl.Int64,
        "stale_after_days": pl.Int64,
        "status": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


def validation_summary(con: duckdb.DuckDBPyConnection, as_of: date) -> pl.DataFrame:
    """suite, target, success, evaluated, passed, failures, validated_at: the newest validation of
    each suite recorded up to the end of D (meta.validations, written by the load gate and
    ``flowscope validate``)."""
    if not _has(con, "meta.validations"):
        return pl.DataFrame()
    end = decision_time(as_of + timedelta(days=1), "00:00")
    return _pl(
        con,
        """select suite, target, success, evaluated, passed, failures, validated_at
                       from meta.validations where validated_at < ?
                       qualify row_number() over (partition by suite order by validated_at desc) = 1
                       order by success, suite""",
        [end],
    )
