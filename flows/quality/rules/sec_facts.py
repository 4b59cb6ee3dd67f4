"""Expectations for SEC company facts: the load gate (``raw__sec__facts``) and ``analytics__fundamentals``."""

from __future__ import annotations

import polars as pl

from flows.quality.suites import E, _e, fresh, non_empty, not_after_load_date, not_null, types, unique

KEY = ("cik", "taxonomy", "tag", "unit", "period_start", "period_end", "accn")


def raw_rules() -> list[E]:
    return [
        non_empty(),
        *not_null(*KEY, "value", "form", "filed_date", "available_at"),
        unique(*KEY),
        *types(cik="str", period_start="datetime64", period_end="datetime64", value="float64",
               filed_date="datetime64", available_at="datetime64"),
        _e("expect_column_value_lengths_to_equal", column="cik", value=10),
        _e("expect_column_values_to_be_in_set", column="period_type", value_set=["duration", "instant"]),
        _e("expect_column_values_to_be_between", column="_check_period_days", min_value=0,
           meta_note="period_start <= period_end"),
        # Never public before its filing date. Rule: filed date 22:00 ET (next day in UTC); a revision
        # (SEC re-processing a filing) is public when first seen, possibly much later: reported only.
        _e("expect_column_values_to_be_between", column="_check_publication_lag_days", min_value=0),
        _e("expect_column_values_to_be_between", severity="warning", column="_check_publication_lag_days",
           max_value=1, meta_note="public by the filing-date rule (later: a revision first seen later)"),
        # A fact for a period that had not ended when it was filed is a tagging error of the filer:
        # reported (the mart ignores such facts), never blocking a whole company.
        _e("expect_column_values_to_be_between", severity="warning", column="_check_days_end_to_filed",
           min_value=0, meta_note="period ended before it was filed"),
        not_after_load_date("filed_date"),
    ]  # fmt: skip


def view_rules() -> list[E]:
    return [
        non_empty(),
        *not_null("symbol", "fiscal_period_end", "period_kind", "filed_date", "available_at", "source"),
        unique("symbol", "fiscal_period_end", "period_kind"),
        *types(symbol="str", fiscal_period_end="datetime64", revenue_usd="float64", eps_diluted_usd="float64",
               ttm_eps_diluted_usd="float64", available_at="datetime64"),
        _e("expect_column_values_to_be_in_set", column="period_kind", value_set=["quarter", "year"]),
        _e("expect_column_values_to_be_in_set", column="source", value_set=["sec", "vendor"]),
        _e("expect_column_values_to_be_in_set", column="eps_method",
           value_set=["reported", "derived_ni_over_shares", "vendor"]),
        # A negative revenue would be an inconsistent restatement inside a derived quarter: reported.
        *[_e("expect_column_values_to_be_between", severity="warning", column=c, min_value=0)
          for c in ("revenue_usd", "ttm_revenue_usd")],
        _e("expect_column_values_to_be_between", column="diluted_shares", min_value=0, strict_min=True),
        not_after_load_date("filed_date"),
        fresh("filed_date"),
    ]  # fmt: skip


def prepare(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        (pl.col("period_end") - pl.col("period_start")).dt.total_days().alias("_check_period_days"),
        (pl.col("available_at").dt.date() - pl.col("filed_date")).dt.total_days().alias("_check_publication_lag_days"),
        (pl.col("filed_date") - pl.col("period_end")).dt.total_days().alias("_check_days_end_to_filed"),
    )
