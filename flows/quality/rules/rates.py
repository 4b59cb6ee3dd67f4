"""Expectations for FRED rates: the load gate (``raw__fred__rates``) and ``analytics__rates``."""

from __future__ import annotations

import polars as pl

from flows.quality.suites import E, _e, fresh, lag_days, non_empty, not_after_load_date, not_null, types, unique
from flows.sources.fred.rates import MAX_PCT, MIN_PCT

SERIES_REGEX = r"^[A-Z0-9][A-Z0-9_]{1,29}$"


def _in_range() -> E:
    return _e("expect_column_values_to_be_between", column="yield_frac", min_value=MIN_PCT / 100,
              max_value=MAX_PCT / 100, meta_note="a fraction: 4.25% is 0.0425")  # fmt: skip


def raw_rules() -> list[E]:
    return [
        non_empty(),
        *not_null("series_id", "date", "available_at"),
        unique("series_id", "date"),
        *types(series_id="str", date="datetime64", yield_frac="float64", available_at="datetime64"),
        _in_range(),
        _e("expect_column_values_to_match_regex", column="series_id", regex=SERIES_REGEX),
        _e("expect_column_values_to_be_between", column="_check_publication_lag_days", min_value=0,
           meta_note="never public before the observation date"),
        not_after_load_date("date"),
    ]  # fmt: skip


def view_rules() -> list[E]:
    return [
        non_empty(),
        *not_null("date", "series_id", "yield_frac", "available_at"),
        unique("series_id", "date"),
        *types(date="datetime64", series_id="str", yield_frac="float64"),
        _in_range(),
        not_after_load_date("date"),
        fresh("date"),
    ]


def prepare(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(lag_days("date").alias("_check_publication_lag_days"))
