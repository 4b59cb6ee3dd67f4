"""Expectations for ETF flows: the vendor CSV load gate (``raw__etf__vendor_flows``) and ``analytics__etf_flows``."""

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

METHODS = ["shares_x_nav", "shares_x_close", "vendor"]
SOURCES = ["ishares", "ssga", "vaneck", "invesco", "user_csv", "vendor_csv"]
NOTES = ["first_observation", "gap", "split_neutralised", "possible_split_unverified", "no_price", "vendor_missing",
         "split_in_shares_series"]  # fmt: skip


def raw_rules() -> list[E]:
    return [
        non_empty(),
        *not_null("date", "symbol", "available_at", "prev_trading_date", "next_trading_date"),
        unique("date", "symbol"),
        *types(date="datetime64", symbol="str", flow_usd="float64", aum_usd="float64", available_at="datetime64"),
        *at_least(0, "aum_usd"),
        _e("expect_column_values_to_match_regex", column="symbol", regex=r"^[A-Z][A-Z0-9.]{0,9}$"),
        _e(
            "expect_column_values_to_be_between",
            column="_check_publication_lag_days",
            min_value=0,
            meta_note="public on or after the day described; no maximum: a revision is dated when first seen",
        ),
        not_after_load_date("date"),
    ]


def view_rules() -> list[E]:
    return [
        non_empty(),
        *not_null("date", "symbol", "available_at", "method", "obs_date", "lag_days", "source"),
        unique("date", "symbol"),
        *types(date="datetime64", symbol="str", flow_usd="float64", flow_frac_aum="float64", method="str"),
        _e("expect_column_values_to_be_in_set", column="method", value_set=METHODS),
        _e("expect_column_values_to_be_in_set", column="source", value_set=SOURCES),
        _e("expect_column_values_to_be_in_set", column="note", value_set=NOTES),
        _e("expect_column_values_to_be_in_set", column="lag_days", value_set=[0, 1]),
        # A fund cannot redeem more than it holds: flow / assets before it >= -100%.
        *at_least(-1, "flow_frac_aum"),
        *at_least(0, "shares_outstanding"),
        not_after_load_date("obs_date"),
        fresh("obs_date"),
    ]  # fmt: skip


def prepare(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(lag_days("date").alias("_check_publication_lag_days"))
