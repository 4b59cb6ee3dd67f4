"""``flowscope evaluate`` over the project's own scores (METHODS.md §6).

For each score (default: cps and pfd) and horizon h (1, 5, 10, 20 trading days):
- cross-sectional Spearman IC per date and quantile forward returns (``evaluate_horizons``), with
  the effective sample size T/h and the non-overlapping t-statistics beside the inflated naive ones;
- per-asset predictive regressions of the mean daily log return over t+1..t+h on the score at t,
  Newey-West t-stats, a non-overlapping check, and Campbell-Thompson R²_OS with recursive estimation
  from the middle of each asset's sample, with the Clark-West statistic.
Scores are point-in-time by construction (``signals.scores``); forward returns come from
``analytics.prices`` (adjusted closes). With nine names the cross-sectional IC has a per-date SE of
about 1/sqrt(N−1): read it as descriptive (METHODS §6.2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import duckdb
import numpy as np
import polars as pl

from flows.signals.evaluate import (
    EvaluationError,
    add_forward_returns,
    evaluate_horizons,
    forward_mean,
    out_of_sample,
    predictive_regression,
)


def load_panel(con: duckdb.DuckDBPyConnection, score: str) -> pl.DataFrame:
    """(date, symbol, score value, adjusted close) for every symbol that has both."""
    return con.sql(
        """
        select s.date, s.symbol, s.value as score, coalesce(p.adj_close, p.close) as close
        from signals.scores as s
        inner join analytics.prices as p on p.symbol = s.symbol and p.date = s.date
        where s.score = ? and s.value is not null
        order by s.symbol, s.date
        """,
        params=[score],
    ).pl()


def per_asset(panel: pl.DataFrame, horizons: Sequence[int]) -> pl.DataFrame:
    rows = []
    for sym, g in panel.group_by("symbol", maintain_order=True):
        g = g.sort("date")
        close = g["close"].to_numpy().astype(float)
        r = np.concatenate(([np.nan], np.diff(np.log(close))))
        x = g["score"].to_numpy().astype(float)
        for h in horizons:
            y = forward_mean(r, h)
            base = {"symbol": sym[0], "horizon": h}
            try:
                reg = predictive_regression(x, y, h)
                row = base | {k: reg.as_dict()[k] for k in ("n_obs", "effective_n", "beta", "t_nw", "r2",
                                                              "t_nonoverlap", "n_nonoverlap")}  # fmt: skip
                oos = out_of_sample(x, y, h, oos_start=len(x) // 2)
                row |= {"r2_oos": oos.r2_oos, "clark_west": oos.clark_west, "clark_west_p": oos.clark_west_p}
            except EvaluationError as exc:
                row = base | {"note": str(exc)}
            rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()


def evaluate_scores(
    con: duckdb.DuckDBPyConnection, scores: Sequence[str] = ("cps", "pfd"), horizons: Sequence[int] = (1, 5, 10, 20)
) -> dict[str, dict[str, pl.DataFrame]]:
    """{score: {"cross_section": IC/quantile table per horizon, "per_asset": regressions}}."""
    out = {}
    for score in scores:
        panel = load_panel(con, score)
        if panel.height == 0:
            out[score] = {}
            continue
        wide = add_forward_returns(panel, price_col="close", horizons=horizons)
        n_assets = panel["symbol"].n_unique()
        cross = (
            evaluate_horizons(wide, factor_col="score", horizons=horizons, quantiles=3, min_assets=3)
            if n_assets >= 3
            else pl.DataFrame()
        )
        out[score] = {"cross_section": cross, "per_asset": per_asset(panel, horizons)}
    return out


def _fmt(v: object) -> object:
    return None if isinstance(v, float) and not math.isfinite(v) else v
