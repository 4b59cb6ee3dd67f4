"""The FINRA suites (expectations/*.json) pass clean batches and bite on the rules they declare."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl

from flows.quality.gate import validate_frame
from flows.sources.base import Payload
from flows.sources.finra import short_interest, short_volume
from tests.conftest import fixture_bytes

LOAD_DATE = date(2026, 9, 1)


def volume_batch() -> pl.DataFrame:
    content = fixture_bytes("finra", "CNMSshvol20260804.txt")
    frame = short_volume.parse(Payload("finra_short_volume", content, "CNMSshvol20260804.txt", datetime.now(UTC))).frame
    return frame.rename({"rule_available_at": "available_at"})


def interest_batch() -> pl.DataFrame:
    content = fixture_bytes("finra", "consolidatedShortInterest_2026-07.json")
    frame = short_interest.parse(Payload("finra_short_interest", content, "si.json", datetime.now(UTC))).frame
    return frame.rename({"rule_available_at": "available_at"})


def test_clean_batches_pass_every_expectation():
    for suite, frame in (
        ("raw__finra__short_volume", volume_batch()),
        ("raw__finra__short_interest", interest_batch()),
    ):
        report = validate_frame(suite, frame, load_date=LOAD_DATE)
        assert report.success and report.failures == [], [f.line() for f in report.failures]


def test_short_volume_above_total_fails_the_gate():
    frame = volume_batch().with_columns(
        pl.when(pl.col("symbol") == "MU")
        .then(9_000_000.0)
        .otherwise(pl.col("short_volume_shares"))
        .alias("short_volume_shares")
    )
    report = validate_frame("raw__finra__short_volume", frame, load_date=LOAD_DATE)
    assert not report.success
    assert [f.column for f in report.failures] == ["_check_short_over_total_shares"]
    assert report.failures[0].examples == [9_000_000.0 - 6100882]


def test_short_exempt_above_short_only_warns():
    frame = volume_batch().with_columns(
        pl.when(pl.col("symbol") == "SMH").then(900000.0).otherwise(pl.col("short_exempt_volume_shares"))
        .alias("short_exempt_volume_shares")
    )  # fmt: skip
    report = validate_frame("raw__finra__short_volume", frame, load_date=LOAD_DATE)
    assert report.success and [(w.column, w.severity) for w in report.warnings] == [
        ("_check_exempt_over_short_shares", "warning")
    ]


def test_short_interest_published_too_early_fails_the_lag_rule():
    frame = interest_batch().with_columns(
        pl.col("settlement_date").cast(pl.Datetime("us", "UTC")).alias("available_at")  # public on the settlement day
    )
    report = validate_frame("raw__finra__short_interest", frame, load_date=LOAD_DATE)
    assert not report.success and {f.column for f in report.failures} == {"_check_publication_lag_days"}


def test_rows_dated_after_the_load_date_fail():
    report = validate_frame("raw__finra__short_interest", interest_batch(), load_date=date(2026, 7, 20))
    assert not report.success and [f.column for f in report.failures] == ["settlement_date"]
