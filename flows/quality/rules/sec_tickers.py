"""Expectations for the SEC ticker map: the load gate (``raw__sec__tickers``) and ``analytics__sec_tickers``."""

from __future__ import annotations

from flows.quality.suites import E, _e, fresh, non_empty, not_after_load_date, not_null, types, unique


def raw_rules() -> list[E]:
    return [
        non_empty(),
        *not_null("ticker", "cik", "snapshot_date", "available_at"),
        unique("ticker"),
        *types(ticker="str", cik="str", listing_rank="int64", snapshot_date="datetime64"),
        _e("expect_column_value_lengths_to_equal", column="cik", value=10),
        _e("expect_column_values_to_be_between", column="listing_rank", min_value=0),
        not_after_load_date("snapshot_date"),
    ]


def view_rules() -> list[E]:
    return [
        non_empty(),
        *not_null("ticker", "cik", "available_at"),
        unique("ticker"),
        _e("expect_column_value_lengths_to_equal", column="cik", value=10),
        not_after_load_date("snapshot_date"),
        fresh("snapshot_date"),
    ]
