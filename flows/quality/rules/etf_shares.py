"""Expectations for ETF shares/NAV: the load gate (``raw__etf__shares``) and ``analytics__etf_shares``."""

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

SOURCES = ["ishares", "ssga", "vaneck", "invesco", "user_csv"]
# shares x NAV ~ total net assets (SOURCES.md §4.1 "sanity"), where a publisher gives all three.
TNA_TOLERANCE_FRAC = 0.02


def _positive(*cols: str) -> list[E]:
    return [_e("expect_column_values_to_be_between", column=c, min_value=0, strict_min=True) for c in cols]


def raw_rules() -> list[E]:
    return [
        non_empty(),
        *not_null("date", "symbol", "source", "available_at", "prev_trading_date", "next_trading_date"),
        unique("date", "symbol", "source"),
        *types(date="datetime64", symbol="str", source="str", shares_outstanding="int64", nav_usd="float64",
               available_at="datetime64"),
        *at_least(0, "shares_outstanding", "total_net_assets_usd"),
        *_positive("nav_usd", "close_usd"),
        _e("expect_column_values_to_be_in_set", column="source", value_set=SOURCES),
        _e("expect_column_values_to_match_regex", column="symbol", regex=r"^[A-Z][A-Z0-9.]{0,9}$"),
        _e("expect_column_values_to_be_between", column="_check_tna_gap_frac", min_value=0,
           max_value=TNA_TOLERANCE_FRAC, meta_note="shares x NAV consistent with total net assets"),
        _e("expect_column_values_to_be_between", column="_check_trading_days_around", min_value=1, max_value=1,
           meta_note="prev_trading_date < date < next_trading_date"),
        _e("expect_column_values_to_be_between", column="_check_publication_lag_days", min_value=0,
           meta_note="public on or after the day described; no maximum: a revision is dated when first seen"),
        not_after_load_date("date"),
    ]  # fmt: skip


def view_rules() -> list[E]:
    return [
        non_empty(),
        *not_null("date", "symbol", "available_at"),
        unique("date", "symbol"),
        *types(date="datetime64", symbol="str", shares_outstanding="int64", nav_usd="float64"),
        *at_least(0, "shares_outstanding", "total_net_assets_usd"),
        *_positive("nav_usd", "close_usd"),
        _e("expect_column_values_to_be_in_set", column="shares_source", value_set=SOURCES),
        _e("expect_column_values_to_be_in_set", column="nav_source", value_set=SOURCES),
        not_after_load_date("date"),
        fresh("date"),
    ]


def prepare(frame: pl.DataFrame) -> pl.DataFrame:
    tna = pl.col("total_net_assets_usd")
    gap = (pl.col("shares_outstanding") * pl.col("nav_usd") - tna).abs() / tna
    return frame.with_columns(
        pl.when(tna > 0).then(gap).otherwise(None).alias("_check_tna_gap_frac"),
        ((pl.col("prev_trading_date") < pl.col("date")) & (pl.col("date") < pl.col("next_trading_date")))
        .cast(pl.Int64)
        .alias("_check_trading_days_around"),
        lag_days("date").alias("_check_publication_lag_days"),
    )
