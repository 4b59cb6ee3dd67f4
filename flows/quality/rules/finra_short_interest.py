"""Expectations for FINRA short interest: the load gate (``raw__finra__short_interest``) and
``analytics__short_interest``."""

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

SHARES = ("short_interest_shares", "avg_daily_volume_shares", "previous_short_interest_shares")
SERIES = ["finra", "user_csv"]
# Dissemination is the 7th NYSE trading day after settlement (9-12 calendar days); a revision
# re-pulled by the live client (last five cycles) becomes public when first seen: up to ~90 days.
LAG_DAYS = (5, 120)


def raw_rules() -> list[E]:
    return [
        non_empty(),
        *not_null("settlement_date", "symbol", "series_source", "short_interest_shares", "available_at"),
        unique("settlement_date", "symbol", "series_source"),
        *types(settlement_date="datetime64", symbol="str", series_source="str", short_interest_shares="int64",
               avg_daily_volume_shares="int64", days_to_cover="float64", available_at="datetime64"),
        *at_least(0, *SHARES, "days_to_cover"),
        _e("expect_column_values_to_be_in_set", column="series_source", value_set=SERIES),
        _e("expect_column_values_to_be_between", column="_check_publication_lag_days", min_value=LAG_DAYS[0],
           max_value=LAG_DAYS[1]),
        not_after_load_date("settlement_date"),
    ]  # fmt: skip


def view_rules() -> list[E]:
    return [
        non_empty(),
        *not_null("settlement_date", "symbol", "available_at", "short_interest_shares"),
        unique("settlement_date", "symbol"),
        *types(settlement_date="datetime64", symbol="str", short_interest_shares="int64", change_frac="float64"),
        *at_least(0, "short_interest_shares", "avg_daily_volume_shares", "days_to_cover"),
        # short interest cannot fall by more than all of it
        _e("expect_column_values_to_be_between", column="change_frac", min_value=-1),
        not_after_load_date("settlement_date"),
        fresh("settlement_date"),
    ]


def prepare(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(lag_days("settlement_date").alias("_check_publication_lag_days"))
