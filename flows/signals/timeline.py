"""Point-in-time timelines: a driver's statistic as it was knowable at each moment, then per day.

A driver (weekly COT net % OI, bi-monthly days to cover, daily ETF flow, a quarterly EPS) arrives
as rows ``(key_date, value, available_at[, version])``: ``key_date`` is the date the row describes,
``available_at`` when that version became public (UTC). The statistic at decision time τ must use
only versions with ``available_at <= τ`` (METHODS §4.5). We therefore evaluate statistics on the
*event grid* (every distinct ``available_at``), on the series *as known at that event* — the
latest version of each key_date available by then — and only then carry the result forward onto the
daily grid with an as-of join, recording its age. The driver itself is never forward-filled before
a statistic is computed (that would manufacture autocorrelation, METHODS §1.8).

Cost: one statistic call per run of events that only append newer keys (``on_events``), so a
series without revisions costs one vectorised pass, and each revision or late publication one more.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from itertools import pairwise

import numpy as np
import polars as pl

from flows.pit import NEW_YORK

# Stats receive (values, key_dates) ordered by key_date; key_dates as numpy datetime64[D].
# SeriesStat -> one value per element, where element i uses elements 0..i only (trailing).
SeriesStat = Callable[[np.ndarray, np.ndarray], np.ndarray]


def decision_time(d: date, hhmm: str = "16:00") -> datetime:
    """The moment a day-D score is computed: D's close in New York, as UTC."""
    hh, mm = (int(x) for x in hhmm.split(":"))
    return datetime.combine(d, time(hh, mm), tzinfo=NEW_YORK).astimezone(UTC)


def on_events(frame: pl.DataFrame, series_stat: SeriesStat) -> pl.DataFrame:
    """One statistic at every publication event (``on_events_many`` with a single ``stat``)."""
    return on_events_many(frame, {"stat": series_stat})


def on_events_many(frame: pl.DataFrame, stats: dict[str, SeriesStat]) -> pl.DataFrame:
    """Evaluate a statistic at every publication event of one driver series.

    ``frame``: columns key_date (Date), value (Float64), available_at (Datetime UTC) and optionally
    version (Int). Returns (event_at, key_date, value, <one column per stat>): one row per event,
    ``key_date`` the newest date known then, each stat on the series as known at ``event_at``.

    Events are split into segments: a segment starts at an event that changes or inserts a key at or
    before the newest key already known (a revision, a late publication) and goes on while events only
    append newer keys. Within a segment the series known at each event is a prefix of the series
    known at the segment's end, so one trailing ``series_stat`` call per segment gives every event's
    statistic exactly (a series without revisions is one call per stat).
    """
    schema = {"event_at": pl.Datetime("us", "UTC"), "key_date": pl.Date, "value": pl.Float64}
    schema |= {name: pl.Float64 for name in stats}
    if "version" not in frame.columns:
        frame = frame.with_columns(pl.lit(1).alias("version"))
    frame = frame.filter(pl.col("value").is_not_null()).sort("available_at", "key_date", "version")
    if frame.height == 0:
        return pl.DataFrame(schema=schema)
    at = frame["available_at"]
    kd = frame["key_date"].to_numpy().astype("datetime64[D]")
    ver = frame["version"].to_numpy()
    val = frame["value"].to_numpy().astype(float)
    # chunk boundaries: one event per distinct available_at
    change = np.flatnonzero(at.ne_missing(at.shift(1)).fill_null(True).to_numpy())
    bounds = [*change.tolist(), frame.height]
    # no revision and no late row: keys strictly increase in publication order -> one pass
    if kd.size == 1 or bool(np.all(kd[1:] > kd[:-1])):
        last = np.array(bounds[1:]) - 1
        out = {"event_at": at.gather(change), "key_date": kd[last], "value": val[last]}
        out |= {name: np.asarray(fn(val, kd), dtype=float)[last] for name, fn in stats.items()}
        return pl.DataFrame(out, schema=schema)
    known: dict[np.datetime64, tuple[int, float]] = {}
    newest: np.datetime64 | None = None
    ev_at, ev_key, ev_val = [], [], []
    ev_stat: dict[str, list[float]] = {name: [] for name in stats}
    pending: list[tuple[int, np.datetime64]] = []  # events of the open segment: (event index, newest key)

    def close_segment() -> None:
        if not pending:
            return
        keys = np.array(sorted(known), dtype="datetime64[D]")
        arr = np.array([known[k][1] for k in keys], dtype=float)
        pos = np.searchsorted(keys, np.array([k for _, k in pending], dtype="datetime64[D]"))
        idx = np.array([i for i, _ in pending])
        for name, fn in stats.items():
            col = np.asarray(fn(arr, keys), dtype=float)
            target = ev_stat[name]
            for i, v in zip(idx.tolist(), col[pos].tolist(), strict=True):
                target[i] = v
        for i, p in zip(idx.tolist(), pos.tolist(), strict=True):
            ev_val[i] = float(arr[p])
        pending.clear()

    for b0, b1 in pairwise(bounds):
        appends_only = newest is None or bool(kd[b0] > newest)
        if not appends_only:
            close_segment()
        for j in range(b0, b1):
            k = kd[j]
            if k not in known or known[k][0] <= ver[j]:
                known[k] = (int(ver[j]), float(val[j]))
            if newest is None or k > newest:
                newest = k
        ev_at.append(at[b0])
        ev_key.append(newest)
        ev_val.append(float("nan"))
        for col in ev_stat.values():
            col.append(float("nan"))
        pending.append((len(ev_at) - 1, newest))
    close_segment()
    return pl.DataFrame(
        {"event_at": ev_at, "key_date": np.array(ev_key, dtype="datetime64[D]"), "value": ev_val, **ev_stat},
        schema=schema,
    )


def to_daily(
    events: pl.DataFrame, days: Sequence[date], hhmm: str = "16:00", max_age_days: int | None = None
) -> pl.DataFrame:
    """Carry event-grid statistics onto decision days (as-of backward join on ``event_at``).

    Returns (date, key_date, value, stat, age_days): ``age_days`` = days from the key_date known at
    the decision to the decision day; values older than ``max_age_days`` are nulled (stale)."""
    hh, mm = (int(x) for x in hhmm.split(":"))
    grid = pl.DataFrame({"date": list(days)}, schema={"date": pl.Date}).with_columns(
        pl.col("date").dt.combine(time(hh, mm)).dt.replace_time_zone(str(NEW_YORK))
        .dt.convert_time_zone("UTC").dt.cast_time_unit("us").alias("decision_at")
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
