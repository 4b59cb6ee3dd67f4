"""Shared pieces of the chart functions: titles that state window and as-of, the regime palette,
event marks, and gap-preserving grids.

Conventions every chart follows (tested in tests/unit/charts/test_specs.py):

- the title names the chart; the subtitle's first line is ``window: ...`` and the last
  ``as of YYYY-MM-DD`` (the decision day whose public data the chart shows);
- a missing observation is a row with a null value on the series' own grid (trading days, COT
  Tuesdays, short-interest settlements), so a line breaks there (Vega-Lite's ``defined`` test) and a
  bar is absent; nothing is ever filled with zero;
- data travel inside the spec (``datasets``), so the Vega-Lite JSON, the SVG/PNG and the report page
  are self-contained.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import altair as alt
import polars as pl

# The chart frames are small (a few thousand rows); the 5,000-row guard of Altair would only refuse
# the heavier history frames, which are intended.
alt.data_transformers.disable_max_rows()

WIDTH = 640
HEIGHT = 220
REGIMES = ["fundamental-led", "capital-led", "crowded but confirmed", "washout", "neutral"]
REGIME_COLORS = ["#4c78a8", "#e45756", "#f58518", "#72b7b2", "#e8e8e8"]
EVENT_COLORS = {
    "triple_witching": "#9d755d",
    "monthly_opex": "#bab0ac",
    "cot_release": "#54a24b",
    "finra_si_release": "#b279a2",
    "earnings_filing": "#000000",
    "catalyst": "#e45756",
}


def subtitle(window: str, as_of: date, *notes: str) -> list[str]:
    """Subtitle lines: the window first, any notes, the as-of day last."""
    return [f"window: {window}", *[n for n in notes if n], f"as of {as_of.isoformat()}"]


def titled(chart: alt.TopLevelMixin, title: str, window: str, as_of: date, *notes: str) -> alt.TopLevelMixin:
    """Attach the standard title (name) and subtitle (window, notes, as-of) to a top-level chart."""
    return chart.properties(title=alt.TitleParams(text=title, subtitle=subtitle(window, as_of, *notes), anchor="start"))


def regime_scale() -> alt.Scale:
    return alt.Scale(domain=REGIMES, range=REGIME_COLORS)


def complete_grid(frame: pl.DataFrame, date_col: str, grid: Sequence[date], by: str | None = None) -> pl.DataFrame:
    """Left-join ``frame`` onto ``grid`` (per ``by`` group): a missing observation becomes a row of
    nulls, so lines break at it instead of bridging or dropping to zero."""
    dates = pl.DataFrame({date_col: list(grid)}, schema={date_col: pl.Date})
    if by is None:
        return dates.join(frame, on=date_col, how="left").sort(date_col)
    groups = frame.select(by).unique() if frame.height else pl.DataFrame({by: []}, schema={by: pl.String})
    full = groups.join(dates, how="cross")
    return full.join(frame, on=[by, date_col], how="left").sort([by, date_col])


def regime_runs(regimes: pl.DataFrame) -> pl.DataFrame:
    """Contiguous runs of one regime: ``date, regime`` rows -> ``start, end, until, regime`` (``end``
    the run's last day, ``until`` the next run's first day, or end + 1 day: the shading's right edge)."""
    if regimes.height == 0:
        return pl.DataFrame(schema={"start": pl.Date, "end": pl.Date, "regime": pl.String, "until": pl.Date})
    r = regimes.sort("date").with_columns(
        (pl.col("regime") != pl.col("regime").shift(1)).fill_null(True).cum_sum().alias("_run")
    )
    return (
        r.group_by("_run")
        .agg(pl.col("date").min().alias("start"), pl.col("date").max().alias("end"), pl.col("regime").first())
        .sort("start")
        .drop("_run")
        .with_columns(pl.col("start").shift(-1).fill_null(pl.col("end") + pl.duration(days=1)).alias("until"))
    )


def event_rules(events: pl.DataFrame | None, types: Sequence[str] | None = None) -> alt.Chart | None:
    """Vertical rules at event dates (``date, event, label``), stroked by event type (the ``stroke``
    channel, so they never share a scale with a chart's ``color``), with a tooltip. ``None`` when there
    is nothing to mark."""
    if events is None or events.height == 0:
        return None
    ev = events if types is None else events.filter(pl.col("event").is_in(list(types)))
    if ev.height == 0:
        return None
    present = [t for t in EVENT_COLORS if t in set(ev["event"].to_list())]
    return (
        alt.Chart(ev.select("date", "event", "label"))
        .mark_rule(strokeDash=[2, 3], opacity=0.7)
        .encode(
            x=alt.X("date:T"),
            stroke=alt.Stroke(
                "event:N", title="event", scale=alt.Scale(domain=present, range=[EVENT_COLORS[t] for t in present])
            ),
            tooltip=["date:T", "event:N", "label:N"],
        )
    )


def no_data(title: str, window: str, as_of: date, why: str) -> alt.Chart:
    """A placeholder chart that says why there is nothing to draw (never an empty axis read as zero)."""
    frame = pl.DataFrame({"text": [why]})
    chart = alt.Chart(frame).mark_text(size=14, color="#666").encode(text="text:N").properties(width=WIDTH, height=60)
    return titled(chart, title, window, as_of)
