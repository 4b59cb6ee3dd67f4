"""Score charts: pure functions from polars frames to Altair charts (no I/O).

- ``component_heatmap``: ticker x component trailing z-scores at three snapshots (today, 1 week and
  4 weeks ago); a component with no value that day is an empty cell marked "n/a", never a 0.
- ``score_history``: Capital Pressure (CPS) and Price-Fundamental Divergence (PFD) of one ticker,
  with the 10/50/90 trailing percentile bands of the score's own history, regime shading and event
  marks.
- ``decomposition_bars``: the move split into TTM-EPS and P/E (multiple) parts over 1m/3m/6m/YTD,
  log points (METHODS §4.1); the total Δ ln P is a black tick.
- ``scenario_bars``: scenario odds per symbol, horizon and outcome bucket with bootstrap intervals
  and the count behind each probability (METHODS §6).

Frames come from ``flows.charts.frames``; the column contracts are in each docstring.
"""

from __future__ import annotations

from datetime import date

import altair as alt
import polars as pl

from flows.charts.common import HEIGHT, WIDTH, event_rules, no_data, regime_runs, regime_scale, titled

SCORE_TITLES = {"cps": "Capital Pressure Score (z units)", "pfd": "Price-Fundamental Divergence (z units)"}


def component_heatmap(frame: pl.DataFrame, as_of: date, window: str = "252d trailing z, clipped ±3") -> alt.Chart:
    """``frame``: symbol, component (display label), snapshot (e.g. 'today'), snapshot_date, z (null =
    no value). Grain: one cell per symbol x component x snapshot."""
    title = "Capital and fundamental components by ticker (z-scores)"
    if frame.height == 0:
        return no_data(title, window, as_of, "no scores built yet: run `flowscope daily`")
    snapshots = frame.select("snapshot").unique(maintain_order=True)["snapshot"].to_list()
    data = frame.with_columns(
        pl.when(pl.col("z").is_null())
        .then(pl.lit("n/a"))
        .otherwise(pl.col("z").round(1).cast(pl.String))
        .alias("z_text"),
        (pl.col("snapshot") + " (" + pl.col("snapshot_date").cast(pl.String) + ")").alias("snapshot_label"),
    )
    base = alt.Chart(data).encode(
        x=alt.X("component:N", title=None, sort=None, axis=alt.Axis(labelAngle=-35)),
        y=alt.Y("symbol:N", title=None, sort=None),
    )
    cells = (
        base.mark_rect()
        .encode(
            color=alt.Color("z:Q", title="z", scale=alt.Scale(scheme="redblue", domain=[-3, 3], reverse=True)),
            tooltip=["symbol:N", "component:N", "snapshot_date:T", alt.Tooltip("z:Q", format=".2f")],
        )
        .transform_filter("isValid(datum.z)")
    )
    text = base.mark_text(fontSize=9).encode(
        text="z_text:N",
        color=alt.condition("isValid(datum.z) && abs(datum.z) > 2", alt.value("white"), alt.value("#333")),
    )
    layered = alt.layer(cells, text).properties(
        width=26 * max(1, data["component"].n_unique()), height=16 * max(1, data["symbol"].n_unique())
    )
    chart = layered.facet(
        column=alt.Column(
            "snapshot_label:N",
            title=None,
            sort=[
                f"{s} ({d})"
                for s, d in data.select("snapshot", "snapshot_date")
                .unique(maintain_order=True)
                .with_columns(pl.col("snapshot_date").cast(pl.String))
                .iter_rows()
            ],
        )
    )
    return titled(chart, title, window, as_of, f"snapshots: {', '.join(snapshots)}")


def _score_panel(hist: pl.DataFrame, runs: pl.DataFrame, events: pl.DataFrame | None, score: str) -> alt.LayerChart:
    h = hist.filter(pl.col("score") == score)
    x = alt.X("date:T", title=None)
    layers: list[alt.Chart] = []
    if runs.height:
        layers.append(
            alt.Chart(runs)
            .mark_rect(opacity=0.35)
            .encode(
                x=alt.X("start:T", title=None),
                x2="until:T",
                fill=alt.Fill("regime:N", scale=regime_scale(), title="regime"),
                tooltip=["regime:N", "start:T", "end:T"],
            )
        )
    band = alt.Chart(h).encode(x=x)
    layers += [
        band.mark_area(opacity=0.18, color="#555").encode(y=alt.Y("p10:Q", title=SCORE_TITLES[score]), y2="p90:Q"),
        band.mark_line(strokeDash=[4, 3], color="#555", strokeWidth=1).encode(y="p50:Q"),
        band.mark_line(color="#1f3b73", strokeWidth=1.6).encode(
            y="value:Q",
            tooltip=[
                "date:T",
                alt.Tooltip("value:Q", format=".2f"),
                alt.Tooltip("p10:Q", format=".2f"),
                alt.Tooltip("p90:Q", format=".2f"),
            ],
        ),
    ]
    rules = event_rules(events)
    if rules is not None:
        layers.append(rules)
    return alt.layer(*layers).properties(width=WIDTH, height=int(HEIGHT / 1.4))


def score_history(
    history: pl.DataFrame,
    regimes: pl.DataFrame,
    events: pl.DataFrame | None,
    symbol: str,
    as_of: date,
    window: str,
    band_window: str,
) -> alt.TopLevelMixin:
    """``history``: date, score ('cps' | 'pfd'), value, p10, p50, p90 on the trading-day grid of the
    window (null = no score that day). ``regimes``: date, regime. ``events``: date, event, label (or
    None). Bands are the trailing ``band_window`` 10th/50th/90th percentiles of the score itself."""
    title = f"{symbol}: Capital Pressure vs Price-Fundamental Divergence"
    scores = [
        s for s in ("cps", "pfd") if history.filter((pl.col("score") == s) & pl.col("value").is_not_null()).height
    ]
    if not scores:
        return no_data(title, window, as_of, f"no CPS or PFD for {symbol} in the window")
    runs = regime_runs(regimes)
    chart = alt.vconcat(*[_score_panel(history, runs, events, s) for s in scores])
    notes = [f"bands: 10/50/90th percentiles over trailing {band_window}; shading: regime of the day"]
    if "pfd" not in scores:
        notes.append("no PFD: no fundamentals for this symbol")
    return titled(chart, title, window, as_of, *notes)


def decomposition_bars(frame: pl.DataFrame, as_of: date, horizons: list[str]) -> alt.TopLevelMixin:
    """``frame``: symbol, horizon (label, e.g. '1m'), dlog_price, dlog_eps, dlog_pe (log points; eps/pe
    null when TTM EPS is not positive at both ends). Grain: symbol x horizon."""
    title = "What moved the price: TTM EPS vs multiple (P/E)"
    window = ", ".join(horizons)
    if frame.height == 0:
        return no_data(title, window, as_of, "no symbol with prices and TTM EPS")
    long = frame.unpivot(
        index=["symbol", "horizon", "dlog_price"], on=["dlog_eps", "dlog_pe"], variable_name="part", value_name="dlog"
    ).with_columns(pl.col("part").replace({"dlog_eps": "EPS (TTM, first filed)", "dlog_pe": "multiple (P/E)"}))
    base = alt.Chart(long).encode(x=alt.X("horizon:N", sort=horizons, title=None))
    bars = (
        base.mark_bar()
        .encode(
            y=alt.Y("dlog:Q", title="Δ ln (log points)"),
            color=alt.Color("part:N", scale=alt.Scale(range=["#4c78a8", "#f58518"]), title=None),
            tooltip=[
                "symbol:N",
                "horizon:N",
                "part:N",
                alt.Tooltip("dlog:Q", format=".3f"),
                alt.Tooltip("dlog_price:Q", format=".3f"),
            ],
        )
        .transform_filter("isValid(datum.dlog)")
    )
    tick = (
        base.mark_tick(color="black", thickness=2, size=18)
        .encode(y="dlog_price:Q")
        .transform_filter("datum.part == 'EPS (TTM, first filed)'")
    )
    chart = (
        alt.layer(bars, tick)
        .properties(width=110, height=HEIGHT)
        .facet(facet=alt.Facet("symbol:N", title=None), columns=5)
    )
    return titled(chart, title, window, as_of, "black tick: total Δ ln P; no bars: TTM EPS not positive at both ends")


def scenario_bars(frame: pl.DataFrame, as_of: date) -> alt.TopLevelMixin:
    """``frame``: symbol, condition, horizon_days, outcome_bucket, probability, ci_low, ci_high, n
    (fractions; n = past days with the same condition). Grain: symbol x horizon x bucket."""
    title = "Scenario odds: forward returns conditional on today's regime"
    if frame.height == 0:
        return no_data(title, "history to as-of", as_of, "no scenario odds for the as-of day")
    order = ["pessimistic", "baseline", "optimistic"]
    data = frame.with_columns(
        (pl.col("horizon_days").cast(pl.String) + "d").alias("horizon"),
        (pl.col("probability") * 100).round(0).cast(pl.Int64).cast(pl.String).alias("p_text"),
    ).with_columns((pl.col("p_text") + "% (n=" + pl.col("n").cast(pl.String) + ")").alias("label"))
    base = alt.Chart(data).encode(x=alt.X("outcome_bucket:N", sort=order, title=None))
    bars = base.mark_bar().encode(
        y=alt.Y("probability:Q", axis=alt.Axis(format="%"), title="probability", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color(
            "outcome_bucket:N",
            sort=order,
            scale=alt.Scale(domain=order, range=["#e45756", "#bab0ac", "#54a24b"]),
            legend=None,
        ),
        tooltip=[
            "symbol:N",
            "condition:N",
            "horizon:N",
            "outcome_bucket:N",
            alt.Tooltip("probability:Q", format=".0%"),
            alt.Tooltip("ci_low:Q", format=".0%"),
            alt.Tooltip("ci_high:Q", format=".0%"),
            "n:Q",
        ],
    )
    err = base.mark_rule(color="black").encode(y="ci_low:Q", y2="ci_high:Q")
    text = base.mark_text(dy=-8, fontSize=9).encode(y="ci_high:Q", text="label:N")
    chart = (
        alt.layer(bars, err, text)
        .properties(width=150, height=160)
        .facet(
            row=alt.Row("symbol:N", title=None),
            column=alt.Column(
                "horizon:N", title="horizon", sort=[f"{h}d" for h in sorted(set(frame["horizon_days"].to_list()))]
            ),
        )
    )
    conds = sorted(set(frame["condition"].to_list()))
    return titled(
        chart,
        title,
        "all past days with the same condition, forward windows ended by as-of",
        as_of,
        f"condition today: {'; '.join(conds)}; bars: bootstrap 90% interval",
    )
