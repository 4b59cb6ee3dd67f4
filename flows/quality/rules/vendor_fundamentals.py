"""Expectations for vendor fundamentals: the load gate (``raw__vendor__fundamentals``) and
``analytics__vendor_fundamentals``."""

from __future__ import annotations

import polars as pl

from flows.quality.suites import E, _e, at_least, fresh, non_empty, not_after_load_date, not_null, types, unique


def raw_rules() -> list[E]:
    return [
        non_empty(),
        *not_null("symbol", "fiscal_period_end", "filed_date", "available_at"),
        unique("symbol", "fiscal_period_end"),
        *types(symbol="str", fiscal_period_end="datetime64", filed_date="datetime64", revenue_usd="float64",
               eps_diluted_usd="float64"),
        *at_least(0, "revenue_usd"),
        _e("expect_column_values_to_be_between", column="_check_filing_lag_days", min_value=0),
        # 10-Qs come within 40-45 days, 10-Ks within 60-90; a year or more is a late filer or an error.
        _e("expect_column_values_to_be_between", severity="warning", column="_check_filing_lag_days",
           max_value=365, meta_note="filed within a year of the period end"),
        not_after_load_date("fiscal_period_end"),
        not_after_load_date("filed_date"),
    ]  # fmt: skip


def view_rules() -> list[E]:
    return [
        non_empty(),
        *not_null("symbol", "fiscal_period_end", "filed_date", "available_at"),
        unique("symbol", "fiscal_period_end"),
        *at_least(0, "revenue_usd"),
        not_after_load_date("fiscal_period_end"),
        fresh("fiscal_period_end"),
    ]


def prepare(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        (pl.col("filed_date") - pl.col("fiscal_period_end")).dt.total_days().alias("_check_filing_lag_days")
    )
