"""Event study around catalysts: cumulative abnormal return against the market and abnormal flows.

Grain of ``event_study``: (event_date, symbol, rel_day), rel_day in [-pre, +post] trading days of the
market's own calendar (the dates the market symbol has a return). Day 0 is the first trading day on or
after the catalyst's date (a release after the close shows its reaction on day +1).

- Abnormal return (fraction): ``ar_t = r_t - beta * r_m,t``, beta estimated by OLS of the symbol's
  daily returns on the market's over the estimation window [-250, -11] (at least ``min_obs`` = 60
  pairs); with fewer pairs beta = 1 (market-adjusted return) and ``beta_method`` says so. No alpha is
  subtracted: in a rally the estimation-window alpha of a stock like NVDA is ~0.3%/day and, projected
  into a 31-day window, it would dominate the CAR the strategist wants to see.
- CAR: cumulative sum of ``ar`` from -pre; null from the first missing return on (a gap is never 0).
- Abnormal flow (fraction of AUM, ETFs only): ``flow_frac - mean(flow_frac over [-250, -11])``; the
  cumulative abnormal flow runs from -pre like the CAR. Null for symbols without flows.
- Events whose window starts before the first market return, or whose day 0 is after the last, give
  no rows: nothing is padded.

Inputs come from ``event_inputs``: returns and flows as public at the as-of day's decision time.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from flows.charts.frames import _pl, known_at
from flows.errors import FlowscopeError
from flows.signals.timeline import decision_time

EST_START, EST_END = -250, -11
MIN_OBS = 60
RESULT_SCHEMA = {
    "event_date": pl.Date,
    "label": pl.String,
    "symbol": pl.String,
    "rel_day": pl.Int32,
    "date": pl.Date,
    "ar": pl.Float64,
    "car": pl.Float64,
    "abnormal_flow": pl.Float64,
    "cum_abnormal_flow": pl.Float64,
    "beta": pl.Float64,
    "beta_method": pl.String,
}


class CatalystFileError(FlowscopeError, ValueError):
    """The catalysts CSV cannot be read as ``date,label``; the message names the file and line."""


def read_catalysts(path: Path) -> pl.DataFrame:
    """``date,label`` CSV (ISO dates, header required, ``#`` lines are comments) -> date, label,
    sorted, exact duplicates dropped. Raises ``CatalystFileError`` with the file and line."""
    if not path.exists():
        raise CatalystFileError(f"{path}: catalysts file not found (CSV with header date,label)")
    rows: dict[tuple[date, str], None] = {}
    numbered = [
        (i, ln)
        for i, ln in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1)
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    header = [h.strip().lower() for h in next(csv.reader([numbered[0][1]]))] if numbered else []
    if header[:2] != ["date", "label"]:
        raise CatalystFileError(f"{path}: header must start with date,label (found {','.join(header) or 'nothing'})")
    for lineno, line in numbered[1:]:
        rec = next(csv.reader([line]))
        where = f"{path}:{lineno}"
        if len(rec) < 2 or not rec[1].strip():
            raise CatalystFileError(f"{where}: expected date,label, got {line!r}")
        try:
            d = date.fromisoformat(rec[0].strip())
        except ValueError:
            raise CatalystFileError(f"{where}: {rec[0].strip()!r} is not an ISO date (YYYY-MM-DD)") from None
        rows[(d, rec[1].strip())] = None
    frame = pl.DataFrame([{"date": d, "label": lab} for d, lab in rows], schema={"date": pl.Date, "label": pl.String})
    return frame.sort("date", "label")


def event_inputs(
    con: duckdb.DuckDBPyConnection, as_of: date, symbols: Sequence[str], decision_hhmm: str = "16:00"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(returns: date, symbol, ret) daily total returns (fraction) and (flows: date, symbol, flow_frac)
    ETF flows as a fraction of AUM, as public at the as-of day's decision time, dates <= as_of."""
    with known_at(con, decision_time(as_of, decision_hhmm)):
        returns = _pl(
            con,
            """select date, symbol, return_1d as ret from analytics.prices
                where date <= ? and symbol in (select unnest(?::varchar[])) order by symbol, date""",
            [as_of, list(symbols)],
        )
        flows = _pl(
            con,
            """select date, symbol, flow_frac_aum as flow_frac from analytics.etf_flows
                where date <= ? and symbol in (select unnest(?::varchar[])) order by symbol, date""",
            [as_of, list(symbols)],
        )
    return returns, flows


def _beta(y: np.ndarray, x: np.ndarray) -> tuple[float, str]:
    ok = ~(np.isnan(y) | np.isnan(x))
    if ok.sum() < MIN_OBS:
        return 1.0, "market_adjusted"
    xo, yo = x[ok], y[ok]
    var = float(np.var(xo))
    if var == 0.0:
        return 1.0, "market_adjusted"
    return float(np.mean((xo - xo.mean()) * (yo - yo.mean())) / var), f"ols_{int(ok.sum())}d"


def _cum(values: np.ndarray) -> np.ndarray:
    """Cumulative sum that turns null at the first NaN and stays null."""
    out = np.cumsum(values)
    out[np.maximum.accumulate(np.isnan(values))] = np.nan
    return out


def event_study(
    returns: pl.DataFrame,
    events: pl.DataFrame,
    *,
    market: str = "SPY",
    pre: int = 10,
    post: int = 20,
    flows: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Abnormal returns and flows of every symbol in ``returns`` around every event (``events``:
    date, label); see the module docstring. The market symbol itself is included (its AR is 0)."""
    mkt = returns.filter(pl.col("symbol") == market).drop_nulls("ret").sort("date")
    if mkt.height == 0 or events.height == 0:
        return pl.DataFrame(schema=RESULT_SCHEMA)
    grid = mkt.select("date", pl.col("ret").alias("mret"))
    grid_dates = grid["date"].to_list()
    grid_days = np.array(grid_dates, dtype="datetime64[D]")
    rm = grid["mret"].to_numpy().astype(float)
    out: list[pl.DataFrame] = []
    for sym in returns["symbol"].unique().sort().to_list():
        s = grid.join(returns.filter(pl.col("symbol") == sym).select("date", "ret"), on="date", how="left")
        r = s["ret"].to_numpy().astype(float)
        if flows is not None and flows.filter(pl.col("symbol") == sym).height:
            f = grid.join(flows.filter(pl.col("symbol") == sym).select("date", "flow_frac"), on="date", how="left")
            ff = f["flow_frac"].to_numpy().astype(float)
        else:
            ff = None
        for ev_date, label in events.select("date", "label").iter_rows():
            t0 = int(np.searchsorted(grid_days, np.datetime64(ev_date, "D")))
            if t0 >= len(grid_dates) or t0 - pre < 0:
                continue
            lo, hi = t0 - pre, min(t0 + post, len(grid_dates) - 1)
            e0, e1 = max(0, t0 + EST_START), max(0, t0 + EST_END + 1)
            beta, method = _beta(r[e0:e1], rm[e0:e1])
            ar = r[lo : hi + 1] - beta * rm[lo : hi + 1]
            if ff is not None:
                est = ff[e0:e1]
                base = float(np.nanmean(est)) if np.isfinite(est).sum() >= 20 else np.nan
                af = ff[lo : hi + 1] - base
                caf = _cum(af)
            else:
                af = caf = np.full(hi - lo + 1, np.nan)
            n = hi - lo + 1
            out.append(
                pl.DataFrame(
                    {
                        "event_date": [ev_date] * n,
                        "label": [label] * n,
                        "symbol": [sym] * n,
                        "rel_day": list(range(lo - t0, hi - t0 + 1)),
                        "date": grid_dates[lo : hi + 1],
                        "ar": ar,
                        "car": _cum(ar),
                        "abnormal_flow": af,
                        "cum_abnormal_flow": caf,
                        "beta": [beta] * n,
                        "beta_method": [method] * n,
                    },
                    schema=RESULT_SCHEMA,
                    nan_to_null=True,
                )
            )
    return pl.concat(out) if out else pl.DataFrame(schema=RESULT_SCHEMA)


def average_event_path(res: pl.DataFrame) -> pl.DataFrame:
    """symbol, rel_day, mean_car, mean_cum_abnormal_flow, n (events with a CAR that day): the
    average path across events; nulls are skipped, never counted as 0."""
    if res.height == 0:
        return pl.DataFrame(
            schema={
                "symbol": pl.String,
                "rel_day": pl.Int32,
                "mean_car": pl.Float64,
                "mean_cum_abnormal_flow": pl.Float64,
                "n": pl.UInt32,
            }
        )
    return (
        res.group_by(["symbol", "rel_day"])
        .agg(
            pl.col("car").mean().alias("mean_car"),
            pl.col("cum_abnormal_flow").mean().alias("mean_cum_abnormal_flow"),
            pl.col("car").count().alias("n"),
        )
        .sort(["symbol", "rel_day"])
    )
