"""Expectations for FINRA Reg SHO daily short volume: the load gate (``raw__finra__short_volume``)
and ``analytics__short_volume``."""

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

VOLUMES = ("short_volume_shares", "short_exempt_volume_shares", "total_volume_shares")


def raw_rules() -> list[E]:
    return [
        non_empty(),
        *not_null("trade_date", "symbol", "short_volume_shares", "total_volume_shares", "available_at"),
        unique("trade_date", "symbol"),
        *types(trade_date="datetime64", symbol="str", short_volume_shares="float64", total_volume_shares="float64",
               available_at="datetime64"),
        *at_least(0, *VOLUMES),
        _e("expect_column_values_to_be_between", column="_check_short_over_total_shares", max_value=0,
           meta_note="short volume is part of total volume"),
        _e("expect_column_values_to_be_between", column="_check_exempt_over_short_shares", max_value=0,
           severity="warning", meta_note="short-exempt volume is part of short volume"),
        _e("expect_column_values_to_be_between", column="_check_publication_lag_days", min_value=0, max_value=10),
        not_after_load_date("trade_date"),
    ]  # fmt: skip


def view_rules() -> list[E]:
    return [
        non_empty(),
        *not_null("trade_date", "symbol", "available_at", "short_volume_shares", "total_volume_shares"),
        unique("trade_date", "symbol"),
        *types(trade_date="datetime64", symbol="str", short_frac="float64"),
        *at_least(0, *VOLUMES),
        _e("expect_column_values_to_be_between", column="short_frac", min_value=0, max_value=1),
        not_after_load_date("trade_date"),
        fresh("trade_date"),
    ]


def prepare(frame: pl.DataFrame) -> pl.DataFrame:
    """Short volume <= total volume; short-exempt <= short (both in shares, positive = excess)."""
    return frame.with_columns(
        (pl.col("short_volume_shares") - pl.col("total_volume_shares")).alias("_check_short_over_total_shares"),
        (pl.col("short_exempt_volume_shares") - pl.col("short_volume_shares")).alias("_check_exempt_over_short_shares"),
        lag_days("trade_date").alias("_check_publication_lag_days"),
    )
