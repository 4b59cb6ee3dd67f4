"""Event-grid statistics are exactly the statistics of the series as known at each moment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from flows.signals.normalise import zscore
from flows.signals.timeline import decision_time, on_events, to_daily


def series_z(a: np.ndarray, dates: np.ndarray | None = None) -> np.ndarray:
    return zscore(a, 4, min_periods=2, clip=99)


def brute_force(frame: pl.DataFrame, event: datetime) -> float:
    known = frame.filter(pl.col("available_at") <= event).sort("version").group_by("key_date").last().sort("key_date")
    return float(series_z(known["value"].to_numpy())[-1])


def weekly(n: int, revise: dict[int, float] | None = None, late: dict[int, int] | None = None) -> pl.DataFrame:
    rng = np.random.default_rng(5)
    rows = []
    for i in range(n):
        kd = date(2024, 1, 2) + timedelta(weeks=i)
        pub = datetime(2024, 1, 5, 20, 30, tzinfo=UTC) + timedelta(weeks=i + (late or {}).get(i, 0))
        rows.append((kd, float(rng.normal()), pub, 1))
        if revise and i in revise:
            rows.append((kd, revise[i], pub + timedelta(weeks=3, days=1), 2))
    return pl.DataFrame(rows, schema=["key_date", "value", "available_at", "version"], orient="row")


def test_fast_path_equals_the_brute_force_as_known_series() -> None:
    frame = weekly(12)
    ev = on_events(frame, series_z)
    for row in ev.iter_rows(named=True):
        expected = brute_force(frame, row["event_at"])
        assert row["stat"] == pytest.approx(expected, nan_ok=True)


def test_revision_changes_the_statistic_only_from_its_publication() -> None:
    frame = weekly(12, revise={5: 9.0})
    ev = on_events(frame, series_z)
    revised_at = frame.filter(pl.col("version") == 2)["available_at"][0]
    for row in ev.iter_rows(named=True):
        assert row["stat"] == pytest.approx(brute_force(frame, row["event_at"]), nan_ok=True)
    before = ev.filter(pl.col("event_at") < revised_at)
    unrevised = on_events(weekly(12), series_z).filter(pl.col("event_at") < revised_at)
    assert before["stat"].to_list() == pytest.approx(unrevised["stat"].to_list(), nan_ok=True)


def test_out_of_order_publication_uses_what_was_known() -> None:
    frame = weekly(10, late={3: 4})  # week 3 published four weeks late
    ev = on_events(frame, series_z)
    for row in ev.iter_rows(named=True):
        assert row["stat"] == pytest.approx(brute_force(frame, row["event_at"]), nan_ok=True)


def test_decision_time_is_the_new_york_close() -> None:
    assert decision_time(date(2026, 8, 7)) == datetime(2026, 8, 7, 20, 0, tzinfo=UTC)  # EDT
    assert decision_time(date(2026, 1, 9)) == datetime(2026, 1, 9, 21, 0, tzinfo=UTC)  # EST


def test_to_daily_uses_an_event_only_from_its_decision_day_and_reports_age() -> None:
    events = pl.DataFrame({
        "event_at": [datetime(2026, 8, 7, 19, 30, tzinfo=UTC), datetime(2026, 8, 14, 22, 0, tzinfo=UTC)],
        "key_date": [date(2026, 8, 4), date(2026, 8, 11)],
        "value": [1.0, 2.0], "stat": [0.5, 0.7],
    })  # fmt: skip
    days = [date(2026, 8, 6), date(2026, 8, 7), date(2026, 8, 14), date(2026, 8, 17)]
    daily = to_daily(events, days)
    assert daily["stat"].to_list()[0] is None  # nothing public yet
    assert daily["stat"].to_list()[1:] == [0.5, 0.5, 0.7]  # 15:30 ET counts on the day; 18:00 ET the next
    assert daily["age_days"].to_list()[1:] == [3, 10, 6]
    stale = to_daily(events, [date(2026, 8, 30)], max_age_days=10)
    assert stale["stat"].to_list() == [None]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_many_revisions_and_late_rows_match_the_brute_force_at_every_event(seed: int) -> None:
    """Random revisions (several versions, some published together with new rows) and late rows."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(40):
        kd = date(2024, 1, 2) + timedelta(weeks=i)
        pub = datetime(2024, 1, 5, 20, 30, tzinfo=UTC) + timedelta(weeks=i + int(rng.random() < 0.1) * 3)
        rows.append((kd, float(rng.normal()), pub, 1))
        for v in range(2, 2 + int(rng.integers(0, 3))):
            rows.append((kd, float(rng.normal()), pub + timedelta(weeks=int(rng.integers(0, 6)), hours=v), v))
    frame = pl.DataFrame(rows, schema=["key_date", "value", "available_at", "version"], orient="row")
    ev = on_events(frame, series_z)
    assert ev.height == frame["available_at"].n_unique()
    for row in ev.iter_rows(named=True):
        known = frame.filter(pl.col("available_at") <= row["event_at"]).sort("version").group_by("key_date").last()
        known = known.sort("key_date")
        assert row["key_date"] == known["key_date"][-1]
        assert row["value"] == pytest.approx(known["value"][-1])
        assert row["stat"] == pytest.approx(float(series_z(known["value"].to_numpy())[-1]), nan_ok=True)


def test_to_daily_decision_times_follow_daylight_saving() -> None:
    at = datetime(2026, 3, 6, 21, 0, tzinfo=UTC)  # Friday 16:00 EST
    events = pl.DataFrame({"event_at": [at], "key_date": [date(2026, 3, 6)], "value": [1.0], "stat": [1.0]})
    # Monday 2026-03-09 16:00 EDT = 20:00 UTC: the event is known; Friday 16:00 EST exactly: known
    daily = to_daily(events, [date(2026, 3, 5), date(2026, 3, 6), date(2026, 3, 9)])
    assert daily["stat"].to_list() == [None, 1.0, 1.0]
    late = events.with_columns(pl.lit(datetime(2026, 3, 9, 20, 0, 1, tzinfo=UTC)).alias("event_at"))
    assert to_daily(late, [date(2026, 3, 9)])["stat"].to_list() == [None]
