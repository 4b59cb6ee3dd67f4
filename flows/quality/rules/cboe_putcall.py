"""Expectations for Cboe put/call: the load gate (``raw__cboe__put_call``) and ``analytics__put_call``."""

from __future__ import annotations

import polars as pl

from flows.quality.suites import (
    E,
    _e,
    at_least,
    fresh,
    lag_days,
    non_empty,
    not_after_load_date,
    not_null,
    types,
    unique,
)

MAX_PUT_CALL = 10.0
VOLUMES = ("call_volume_contracts", "put_volume_contracts", "total_volume_contracts",
           "call_open_interest_contracts", "put_open_interest_contracts")  # fmt: skip
SEGMENTS = ["total", "equity", "index", "etp", "vix", "spx"]
SERIES = ["cboe_daily_json", "cboe_archive", "cboe_archive_old", "user_csv"]


def _ratio_in_range() -> E:
    return _e("expect_column_values_to_be_between", column="put_call_ratio", min_value=0, max_value=MAX_PUT_CALL,
              strict_min=True, strict_max=True)  # fmt: skip


def raw_rules() -> list[E]:
    return [
        non_empty(),
        *not_null("trade_date", "segment", "series_source", "available_at"),
        unique("trade_date", "segment", "series_source"),
        *types(trade_date="datetime64", segment="str", put_call_ratio="float64", available_at="datetime64"),
        _ratio_in_range(),
        *at_least(0, *VOLUMES),
        _e("expect_column_values_to_be_in_set", column="segment", value_set=SEGMENTS),
        _e("expect_column_values_to_be_in_set", column="series_source", value_set=SERIES),
        _e("expect_column_values_to_be_in_set", column="source_era", value_set=["exchange_only", "all_cboe"]),
        _e("expect_column_values_to_be_between", column="_check_publication_lag_days", min_value=0, max_value=10),
        not_after_load_date("trade_date"),
    ]


def view_rules() -> list[E]:
    return [
        non_empty(),
        *not_null("trade_date", "segment", "available_at", "put_call_ratio"),
        unique("trade_date", "segment"),
        *types(trade_date="datetime64", segment="str", put_call_ratio="float64"),
        _ratio_in_range(),
        *at_least(0, "call_volume_contracts", "put_volume_contracts"),
        _e("expect_column_values_to_be_in_set", column="segment", value_set=SEGMENTS),
        not_after_load_date("trade_date"),
        fresh("trade_date"),
    ]


def prepare(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(lag_days("trade_date").alias("_check_publication_lag_days"))
