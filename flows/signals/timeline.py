"""Point-in-time timelines: a driver's statistic as it was knowable at each moment, then per day.

A driver (weekly COT net % OI, bi-monthly days to cover, daily ETF flow, a quarterly EPS) arrives
as rows ``(key_date, value, available_at[, version])``: ``key_date`` is the date the row describes,
``available_at`` when that version became public (UTC). The statistic at decision time τ must use
only versions with ``available_at <= τ`` (METHODS §4.5). We therefore evaluate statistics on the
*event grid* (every distinct ``available_at``), on the series *as known at that event* — the
latest version of each key_date available by then — and only then carry the result forward onto the
daily grid with an as-of join, recording its age. The driver itself is never forward-filled before
a statistic is computed (that would manufacture autocorrelation, METHODS §1.8).

Fast path: when every key has one version and rows were published in key order, the series known
at the event of row i is exactly rows 0..i, so one vectorised pass over the series is identical to
the event loop. Otherwise (revisions, out-of-order publication) the loop recomputes on each event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time

import numpy as np
import polars as pl

from flows.pit import NEW_YORK

# Stats receive (values, key_dates) ordered by key_date; key_dates as numpy datetime64[D].
# LastStat -> the statistic for the LAST element; SeriesStat -> one value per element, where
# element i uses elements 0..i only (trailing).
LastStat = Callable[[np.ndarray, np.ndarray], float]
SeriesStat = Callable[[np.ndarray, np.ndarray], np.ndarray]


def decision_time(d: date, hhmm: str = "16:00") -> datetime:
    """The moment a day-D score is computed: D's close in New York, as UTC."""
    hh, mm = (int(x) for x in hhmm.split(":"))
    return datetime.combine(d, time(hh, mm), tzinfo=NEW_YORK).astimezone(UTC)


def _is_fast(frame: pl.DataFrame) -> bool:
    if frame.height == 0:
        return True
    single = frame["key_date"].n_unique() == frame.height
    ordered = frame.sort("key_date")["available_at"].is_sorted()
    return bool(single and ordered)


def on_events(
    frame: pl.DataFrame,
    series_stat: SeriesStat,
    last_stat: LastStat,
) -> pl.DataFrame:
    """Evaluate a statistic at every publication event of one driver series.

    ``frame``: columns key_date (Date), value (Float64), available_at (Datetime UTC) and optionally
    version (Int). Returns (event_at, key_date, value, stat): one row per event, ``key_date`` the
    newest date known then, ``stat`` the statistic on the series as known at ``event_at``.
    """
    if "version" not in frame.columns:
        frame = frame.with_columns(pl.lit(1).alias("version"))
    frame = frame.filter(pl.col("value").is_not_null()).sort("key_date", "version")
    if frame.height == 0:
        return pl.DataFrame(schema={"event_at": pl.Datetime("us", "UTC"), "key_date": pl.Date, "value": pl.Float64,
                                    "stat": pl.Float64})  # fmt: skip
    if _is_fast(frame):
        vals = frame["value"].to_numpy().astype(float)
        dates = frame["key_date"].to_numpy().astype("datetime64[D]")
        return pl.DataFrame({
            "event_at": frame["available_at"], "key_date": frame["key_date"], "value": vals,
            "stat": series_stat(vals, dates),
        })  # fmt: skip
    known: dict[date, tuple[int, float]] = {}
    out: dict[str, list] = {"event_at": [], "key_date": [], "value": [], "stat": []}
    by_event = frame.sort("available_at").partition_by("available_at", maintain_order=True)
    for chunk in by_event:
        for kd, ver, val in chunk.select("key_date", "version", "value").iter_rows():
            if kd not in known or known[kd][0] <= ver:
                known[kd] = (ver, val)
        keys = sorted(known)
        arr = np.array([known[k][1] for k in keys], dtype=float)
        out["event_at"].append(chunk["available_at"][0])
        out["key_date"].append(keys[-1])
        out["value"].append(arr[-1])
        out["stat"].append(last_stat(arr, np.array(keys, dtype="datetime64[D]")))
    return pl.DataFrame(out, schema={"event_at": pl.Datetime("us", "UTC"), "key_date": pl.Date,
                                     "value": pl.Float64, "stat": pl.Float64})  # fmt: skip


def to_daily(
    events: pl.DataFrame, days: Sequence[date], hhmm: str = "16:00", max_age_days: int | None = None
) -> pl.DataFrame:
    """Carry event-grid statistics onto decision days (as-of backward join on ``event_at``).

    Returns (date, key_date, value, stat, age_days): ``age_days`` = days from the key_date known at
    the decision to the decision day; values older than ``max_age_days`` are nulled (stale)."""
    grid = pl.DataFrame({"date": list(days)}, schema={"date": pl.Date}).with_columns(
        pl.col("date").map_elements(lambda d: decision_time(d, hhmm), return_dtype=pl.Datetime("us", "UTC"))
        .alias("decision_at")
    )  # fmt: skip
    joined = grid.sort("decision_at").join_asof(
        events.sort("event_at"), left_on="decision_at", right_on="event_at", strategy="backward"
    )
    joined = joined.with_columns((pl.col("date") - pl.col("key_date")).dt.total_days().alias("age_days"))
    if max_age_days is not None:
        stale = pl.col("age_days") > max_age_days
        joined = joined.with_columns(
            pl.when(stale).then(None).otherwise(pl.col("stat")).alias("stat"),
            pl.when(stale).then(None).otherwise(pl.col("value")).alias("value"),
        )
    return joined.select("date", "key_date", "value", "stat", "age_days")


def last_of(series_stat: SeriesStat) -> LastStat:
    """A LastStat from a SeriesStat (slow but exact: used on the revision path)."""
    return lambda arr, dates: float(series_stat(arr, dates)[-1]) if arr.size else float("nan")


def values_only(fn: Callable[[np.ndarray], np.ndarray]) -> SeriesStat:
    """Adapt a values-only trailing transform (e.g. a z-score) to the SeriesStat signature."""
    return lambda arr, dates: fn(arr)
