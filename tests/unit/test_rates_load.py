"""FRED rates through the loader, the gate and analytics.rates: null rows kept in raw but out of the
view, overlapping files (one with holiday rows, one without) agree without versions, a changed value
is a revision seen as of then, a duplicate date is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from flows import loader
from flows.quality.gate import validate_frame
from flows.sources.fred.rates import SPEC, parse
from flows.warehouse import connect_write
from tests.conftest import fixture_bytes
from tests.helpers import payload

LOAD_DATE = date(2024, 6, 30)


@pytest.fixture
def con(warehouse):  # type: ignore[no-untyped-def]
    c = connect_write(warehouse)
    yield c
    c.close()


def load(con, warehouse, content: bytes, origin: str = "/f/DGS10.csv", **kw):  # type: ignore[no-untyped-def]
    fetched = kw.pop("fetched_at", None)
    live = kw.pop("live", False)
    p = payload("rates", content, origin, live=live, fetched_at=fetched, **kw)
    return loader.ingest(con, SPEC, [p], warehouse.raw_dir, load_date=LOAD_DATE)


def view(con) -> dict[date, tuple]:  # type: ignore[no-untyped-def]
    rows = con.execute(
        "select date, yield_frac, available_at_source, version from analytics.rates where series_id = 'DGS10'"
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_missing_values_are_null_rows_in_raw_and_absent_from_the_view(con, warehouse):  # type: ignore[no-untyped-def]
    res = load(con, warehouse, fixture_bytes("fred", "DGS10_observation_date.csv"))
    assert (res[0].outcome, res[0].rows_new) == ("loaded", 5)
    assert con.execute("select count(*), count(yield_frac) from raw.fred__rates").fetchone() == (5, 4)
    v = view(con)
    assert date(2024, 6, 19) not in v and v[date(2024, 6, 10)] == (0.0447, "rule", 1)
    cols = [d[0] for d in con.execute("select * from analytics.rates limit 0").description]
    assert cols[:4] == ["date", "available_at", "series_id", "yield_frac"]


def test_csv_and_api_with_equal_values_and_a_file_without_holidays_add_no_version(con, warehouse):  # type: ignore[no-untyped-def]
    load(con, warehouse, fixture_bytes("fred", "DGS10_observation_date.csv"))
    api = load(con, warehouse, fixture_bytes("fred", "DGS10_api.json"), "https://api/x", series_id="DGS10")
    assert (api[0].outcome, api[0].rows_unchanged, api[0].rows_revised) == ("unchanged", 5, 0)
    no_holiday = b"observation_date,DGS10\n2024-06-11,4.40\n2024-06-20,4.25\n"  # like the 2023-2026 file
    res = load(con, warehouse, no_holiday, "/f/DGS10_b.csv")
    assert (res[0].outcome, res[0].rows_unchanged) == ("unchanged", 2)
    assert con.execute("select count(*), max(version) from raw.fred__rates").fetchone() == (5, 1)


def test_changed_value_is_a_new_version_seen_as_of_then(con, warehouse):  # type: ignore[no-untyped-def]
    load(con, warehouse, fixture_bytes("fred", "DGS10_observation_date.csv"))
    revised = b"observation_date,DGS10\n2024-06-10,4.46\n"
    seen = datetime(2024, 6, 25, 12, tzinfo=UTC)
    res = load(con, warehouse, revised, "/f/DGS10_rev.csv", fetched_at=seen)
    assert res[0].rows_revised == 1
    assert view(con)[date(2024, 6, 10)] == (0.0446, "observed", 2)
    con.execute("set variable as_of = timestamptz '2024-06-20 00:00:00+00'")
    assert view(con)[date(2024, 6, 10)] == (0.0447, "rule", 1)
    con.execute("set variable as_of = timestamptz '2024-06-11 12:59:00+00'")  # 08:59 New York, t + 1
    assert date(2024, 6, 10) not in view(con) and date(2024, 6, 7) in view(con)
    con.execute("reset variable as_of")


def test_live_fetch_before_the_rule_time_is_observed_availability(con, warehouse):  # type: ignore[no-untyped-def]
    body = b"observation_date,DGS10\n2024-06-20,4.25\n"
    same_day = datetime(2024, 6, 20, 21, 30, tzinfo=UTC)  # 17:30 New York on t, before t+1 09:00
    load(con, warehouse, body, "https://fred/x", live=True, fetched_at=same_day)
    row = con.execute("select available_at, available_at_source from analytics.rates").fetchone()
    assert row == (same_day, "observed")


def test_duplicate_date_with_different_values_is_quarantined(con, warehouse):  # type: ignore[no-untyped-def]
    res = load(con, warehouse, b"observation_date,DGS10\n2024-06-10,4.47\n2024-06-10,4.48\n")
    assert res[0].outcome == "quarantined" and "same key appears with different values" in res[0].message
    assert con.execute("select count(*) from raw.fred__rates").fetchone() == (0,)


def gate_frame() -> pl.DataFrame:
    batch = parse(payload("rates", fixture_bytes("fred", "DGS10_observation_date.csv"), "/f/x.csv"))
    return batch.frame.rename({"rule_available_at": "available_at"})


def test_load_gate_passes_a_clean_batch_and_bites_on_percent_and_look_ahead() -> None:
    assert validate_frame("raw__fred__rates", gate_frame(), load_date=LOAD_DATE).success
    bad = gate_frame().with_columns(
        pl.when(pl.col("date") == date(2024, 6, 10)).then(4.47).otherwise(pl.col("yield_frac")).alias("yield_frac"),
        pl.when(pl.col("date") == date(2024, 6, 11))
        .then(pl.col("available_at") - timedelta(days=2))
        .otherwise(pl.col("available_at"))
        .alias("available_at"),
    )
    report = validate_frame("raw__fred__rates", bad, load_date=LOAD_DATE)
    assert not report.success
    assert {f.column for f in report.failures} == {"yield_frac", "_check_publication_lag_days"}
