"""Positioning and data charts: pure functions from polars frames to Altair charts (no I/O).

- ``cot_positioning``: asset-manager and leveraged-fund net positions in ES and NQ as a fraction of
  open interest (weekly, Tuesday report dates) with their trailing z-scores;
- ``put_call``: equity and index put/call ratios, the 5-day average and the trailing z-score;
- ``etf_flows``: daily creations/redemptions per ETF (USD, shares outstanding x NAV method) with the
  current inflow/outflow streak;
- ``short_interest``: short interest (shares) and days to cover per symbol, bi-monthly settlements;
- ``freshness``: the last date and ``available_at`` per dataset, stale ones marked;
- ``event_timeline``: the event calendar (expiries, releases, filings, catalysts) as a strip.

Every frame is on its native grid with nulls where an observation is missing (lines break there).
"""

from __future__ import annotations

from datetime import date

import altair as alt
import polars as pl

from flows.charts.common import EVENT_COLORS, HEIGHT, WIDTH, event_rules, no_data, titled

GROUP_COLORS = alt.Scale(domain=["asset managers", "leveraged funds"], range=["#4c78a8", "#e45756"])


def cot_positioning(
    frame: pl.DataFrame, as_of: date, window: str, z_window: str, events: pl.DataFrame | None = None
) -> alt.TopLevelMixin:
    """``frame``: report_date, market ('ES' | 'NQ'), group ('asset managers' | 'leveraged funds'),
    net_frac_oi (net contracts / open interest, fraction), z (trailing z of net_frac_oi). Grain:
    market x group x Tuesday; a week not reported is a null row."""
    title = "COT futures positioning: asset managers vs leveraged funds (net % of open interest)"
    if frame.filter(pl.col("net_frac_oi").is_not_null()).height == 0:
        return no_data(title, window, as_of, "no COT rows for ES or NQ public by the as-of day")
    zero = alt.Chart(pl.DataFrame({"y": [0.0]})).mark_rule(color="#999").encode(y="y:Q")
    rules = event_rules(events, ["catalyst"])
    panel_cols = []
    for m in sorted(set(frame["market"].to_list())):
        base = alt.Chart(frame.filter(pl.col("market") == m)).encode(
            x=alt.X("report_date:T", title=None), color=alt.Color("group:N", scale=GROUP_COLORS, title=None)
        )
        net = base.mark_line().encode(
            y=alt.Y("net_frac_oi:Q", axis=alt.Axis(format="%"), title="net % of OI"),
            tooltip=[
                "market:N",
                "group:N",
                "report_date:T",
                alt.Tooltip("net_frac_oi:Q", format=".1%"),
                alt.Tooltip("z:Q", format=".2f"),
            ],
        )
        z = base.mark_line(strokeWidth=1).encode(y=alt.Y("z:Q", title=f"z ({z_window})"))
        top = alt.layer(net, zero, *([rules] if rules is not None else []))
        panel_cols.append(
            alt.vconcat(
                top.properties(width=WIDTH // 2, height=HEIGHT),
                alt.layer(z, zero).properties(width=WIDTH // 2, height=HEIGHT // 2),
                title=m,
            )
        )
    return titled(alt.hconcat(*panel_cols), title, window, as_of, "Tuesday report dates, public the Friday after")


def put_call(
    frame: pl.DataFrame, as_of: date, window: str, avg_days: int, z_window: str, events: pl.DataFrame | None = None
) -> alt.TopLevelMixin:
    """``frame``: trade_date, segment ('equity' | 'index'), put_call_ratio, avg (trailing ``avg_days``
    mean), z (trailing z of the daily ratio). Grain: segment x trading day (null = not published)."""
    title = "Cboe put/call ratios"
    if frame.filter(pl.col("put_call_ratio").is_not_null()).height == 0:
        return no_data(title, window, as_of, "no put/call rows public by the as-of day")
    long = frame.unpivot(
        index=["trade_date", "segment", "z"], on=["put_call_ratio", "avg"], variable_name="line", value_name="ratio"
    ).with_columns(pl.col("line").replace({"put_call_ratio": "daily", "avg": f"{avg_days}-day average"}))
    x = alt.X("trade_date:T", title=None)
    ratio = (
        alt.Chart(long)
        .mark_line()
        .encode(
            x=x,
            y=alt.Y("ratio:Q", title="puts / calls", scale=alt.Scale(zero=False)),
            color=alt.Color("segment:N", title="segment"),
            strokeDash=alt.StrokeDash("line:N", title=None),
            strokeWidth=alt.condition("datum.line == 'daily'", alt.value(0.8), alt.value(2)),
            tooltip=["trade_date:T", "segment:N", "line:N", alt.Tooltip("ratio:Q", format=".2f")],
        )
        .properties(width=WIDTH, height=HEIGHT)
    )
    rules = event_rules(events, ["monthly_opex", "triple_witching"])
    top = ratio if rules is None else alt.layer(ratio, rules)
    zline = (
        alt.Chart(frame)
        .mark_line(strokeWidth=1)
        .encode(x=x, y=alt.Y("z:Q", title=f"z ({z_window})"), color=alt.Color("segment:N", legend=None))
        .properties(width=WIDTH, height=HEIGHT // 2)
    )
    chart = alt.vconcat(top, zline).resolve_scale(color="independent")
    return titled(chart, title, window, as_of, "marks: monthly option expiries and triple witching")


def streaks(flows: pl.DataFrame) -> pl.DataFrame:
    """Current and running streaks of same-sign daily flows per symbol: adds ``streak`` (+n = n-th
    inflow day in a row, −n = outflow; a missing day or a zero flow ends a streak, 0)."""
    f = flows.sort(["symbol", "date"]).with_columns(
        pl.when(pl.col("flow_usd") > 0).then(1).when(pl.col("flow_usd") < 0).then(-1).otherwise(0).alias("_s")
    )
    f = f.with_columns(
        (pl.col("_s") != pl.col("_s").shift(1).over("symbol")).fill_null(True).cum_sum().over("symbol").alias("_run")
    )
    f = f.with_columns((pl.col("_s") * pl.int_range(1, pl.len() + 1).over(["symbol", "_run"])).alias("streak"))
    return f.drop("_s", "_run")


def etf_flows(frame: pl.DataFrame, as_of: date, window: str) -> alt.TopLevelMixin:
    """``frame``: date, symbol, flow_usd (null = no flow that day), streak (from ``streaks``).
    Grain: ETF x trading day. One row of bars per ETF; the label gives today's streak."""
    title = "ETF creations/redemptions (USD, shares outstanding x NAV)"
    if frame.filter(pl.col("flow_usd").is_not_null()).height == 0:
        return no_data(title, window, as_of, "no ETF flows public by the as-of day")
    data = frame.with_columns((pl.col("flow_usd") / 1e6).alias("flow_musd"))
    last = (
        data.filter(pl.col("flow_usd").is_not_null())
        .sort("date")
        .group_by("symbol")
        .agg(pl.col("date").last(), pl.col("streak").last())
        .with_columns(
            pl.format(
                "{} {} day(s) to {}",
                pl.when(pl.col("streak") > 0).then(pl.lit("inflow")).otherwise(pl.lit("outflow")),
                pl.col("streak").abs(),
                pl.col("date"),
            ).alias("streak_text")
        )
    )
    rows = []
    domain = [data["date"].min().isoformat(), data["date"].max().isoformat()]
    for sym in sorted(set(data["symbol"].to_list())):
        d = data.filter(pl.col("symbol") == sym)
        text = last.filter(pl.col("symbol") == sym)["streak_text"].to_list()
        bars = (
            alt.Chart(d)
            .mark_bar()
            .encode(
                x=alt.X("date:T", title=None, scale=alt.Scale(domain=domain)),
                y=alt.Y("flow_musd:Q", title=f"{sym} $m"),
                color=alt.condition("datum.flow_usd > 0", alt.value("#54a24b"), alt.value("#e45756")),
                tooltip=["symbol:N", "date:T", alt.Tooltip("flow_musd:Q", format=",.1f", title="flow $m"), "streak:Q"],
            )
            .transform_filter("isValid(datum.flow_usd)")
            .properties(
                width=WIDTH,
                height=70,
                title=alt.TitleParams(f"{sym}: {text[0] if text else 'no flows'}", fontSize=11, anchor="start"),
            )
        )
        rows.append(bars)
    return titled(alt.vconcat(*rows), title, window, as_of, "green inflow, red outflow; gaps: no data that day")


def short_interest(
    frame: pl.DataFrame, as_of: date, window: str, events: pl.DataFrame | None = None
) -> alt.TopLevelMixin:
    """``frame``: settlement_date, symbol, short_interest_shares, days_to_cover (null = no row for a
    settlement). Grain: symbol x settlement date (15th and month-end, FINRA)."""
    title = "FINRA short interest and days to cover"
    if frame.filter(pl.col("short_interest_shares").is_not_null()).height == 0:
        return no_data(title, window, as_of, "no short interest public by the as-of day")
    present = frame.group_by("symbol").agg(pl.col("short_interest_shares").is_not_null().any().alias("has"))
    empty = sorted(present.filter(~pl.col("has"))["symbol"].to_list())
    data = frame.filter(~pl.col("symbol").is_in(empty)).with_columns(
        (pl.col("short_interest_shares") / 1e6).alias("si_mshares")
    )
    base = alt.Chart().encode(x=alt.X("settlement_date:T", title=None))
    si = base.mark_line(point=True, color="#4c78a8").encode(
        y=alt.Y("si_mshares:Q", title="short interest (m shares)", axis=alt.Axis(titleColor="#4c78a8")),
        tooltip=[
            "symbol:N",
            "settlement_date:T",
            alt.Tooltip("si_mshares:Q", format=",.1f"),
            alt.Tooltip("days_to_cover:Q", format=".2f"),
        ],
    )
    has_dtc = data.filter(pl.col("days_to_cover").is_not_null()).height > 0
    layers = [si]
    if has_dtc:
        layers.append(
            base.mark_line(point=True, color="#f58518", strokeDash=[4, 2]).encode(
                y=alt.Y("days_to_cover:Q", title="days to cover", axis=alt.Axis(titleColor="#f58518"))
            )
        )
    chart = (
        alt.layer(*layers, data=data)
        .resolve_scale(y="independent")
        .properties(width=200, height=110)
        .facet(facet=alt.Facet("symbol:N", title=None), columns=4)
        .resolve_scale(y="independent")
    )
    notes = [
        "blue: shares short (m)"
        + ("; orange dashed: days to cover" if has_dtc else "; days to cover: not reported in the window")
    ]
    if empty:
        notes.append(f"no settlement in the window: {', '.join(empty)}")
    return titled(chart, title, window, as_of, *notes)


def freshness(frame: pl.DataFrame, as_of: date) -> alt.TopLevelMixin:
    """``frame``: dataset, last_date (newest day described, null = never loaded), last_available_at
    (UTC), age_days (as-of minus last_date), stale_after_days, status ('fresh' | 'stale' | 'empty')."""
    title = "Data freshness"
    data = frame.with_columns(
        pl.col("last_date").cast(pl.String).fill_null("—").alias("last_date_text"),
        pl.col("last_available_at").dt.strftime("%Y-%m-%d %H:%M UTC").fill_null("—").alias("available_text"),
        pl.format("{} d (limit {} d)", pl.col("age_days"), pl.col("stale_after_days")).fill_null("—").alias("age_text"),
    )
    colors = alt.Scale(domain=["fresh", "stale", "empty"], range=["#54a24b", "#e45756", "#bab0ac"])
    y = alt.Y("dataset:N", title=None, sort=None)
    status = alt.Chart(data).mark_circle(size=140).encode(y=y, color=alt.Color("status:N", scale=colors, title=None))
    cols = []
    for field, head, w in (
        ("last_date_text", "last date", 90),
        ("available_text", "available_at of newest row", 150),
        ("age_text", "age", 110),
    ):
        cols.append(
            alt.Chart(data)
            .mark_text(align="left")
            .encode(y=alt.Y("dataset:N", sort=None, axis=None), text=f"{field}:N", x=alt.value(4))
            .properties(width=w, title=head)
        )
    chart = alt.hconcat(status.properties(width=20, title="status"), *cols).configure_view(stroke=None)
    return titled(
        chart,
        title,
        "newest row of each dataset public by the as-of day",
        as_of,
        "stale: age over the dataset's stale_after (flows/sources)",
    )


def event_timeline(events: pl.DataFrame, as_of: date, window: str) -> alt.TopLevelMixin:
    """``events``: date, event (type), symbol (null = market-wide), label. One tick per event."""
    title = "Event calendar"
    if events.height == 0:
        return no_data(title, window, as_of, "no events in the window")
    present = [t for t in EVENT_COLORS if t in set(events["event"].to_list())]
    chart = (
        alt.Chart(events.with_columns(pl.col("symbol").fill_null("market")))
        .mark_tick(thickness=2)
        .encode(
            x=alt.X("date:T", title=None),
            y=alt.Y("event:N", title=None, sort=present),
            color=alt.Color(
                "event:N", scale=alt.Scale(domain=present, range=[EVENT_COLORS[t] for t in present]), legend=None
            ),
            tooltip=["date:T", "event:N", "symbol:N", "label:N"],
        )
        .properties(width=WIDTH, height=24 * max(1, len(present)))
    )
    return titled(chart, title, window, as_of, "expiries, COT and FINRA releases, SEC filings, catalysts")


def event_study(avg: pl.DataFrame, as_of: date, pre: int, post: int, n_events: int) -> alt.TopLevelMixin:
    """``avg``: symbol, rel_day, mean_car, mean_cum_abnormal_flow, n (events behind the mean) from
    ``flows.charts.event_study.average_event_path``. CAR against SPY (fractions) and cumulative
    abnormal flow (fraction of AUM) from −pre to +post trading days around the catalysts."""
    title = "Event study around catalysts: cumulative abnormal return vs SPY and abnormal flows"
    window = f"{-pre:+d}..{post:+d} trading days"
    if avg.height == 0 or avg.filter(pl.col("mean_car").is_not_null()).height == 0:
        return no_data(title, window, as_of, "no catalyst with enough price history before the as-of day")
    x = alt.X("rel_day:Q", title="trading days from the event", scale=alt.Scale(domain=[-pre, post]))
    zero = alt.Chart(pl.DataFrame({"rel_day": [0]})).mark_rule(color="#999").encode(x="rel_day:Q")
    car = (
        alt.Chart(avg)
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y("mean_car:Q", axis=alt.Axis(format="%"), title="mean CAR vs SPY"),
            color=alt.Color("symbol:N", title=None),
            tooltip=["symbol:N", "rel_day:Q", alt.Tooltip("mean_car:Q", format=".2%"), "n:Q"],
        )
        .properties(width=WIDTH, height=HEIGHT)
    )
    panels = [alt.layer(car, zero)]
    if avg.filter(pl.col("mean_cum_abnormal_flow").is_not_null()).height:
        flow = (
            alt.Chart(avg)
            .mark_line()
            .encode(
                x=x,
                y=alt.Y("mean_cum_abnormal_flow:Q", axis=alt.Axis(format="%"), title="cum. abnormal flow (% AUM)"),
                color=alt.Color("symbol:N", title=None),
                tooltip=["symbol:N", "rel_day:Q", alt.Tooltip("mean_cum_abnormal_flow:Q", format=".2%"), "n:Q"],
            )
            .properties(width=WIDTH, height=HEIGHT // 2)
        )
        panels.append(alt.layer(flow, zero))
    return titled(
        alt.vconcat(*panels),
        title,
        window,
        as_of,
        f"{n_events} catalysts; with few events the mean is noisy: n is in the tooltip",
    )
