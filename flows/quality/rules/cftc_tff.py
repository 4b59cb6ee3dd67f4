"""Expectations for CFTC TFF: the load gate (``raw__cftc__tff``) and ``analytics__cot_positioning``."""

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

# Consolidated contracts (codes ending "+") aggregate micros at 1/10: rounding leaves gaps of
# 1-2 contracts. Measured on the 2015-2026 files: max gap 9.1e-5 of open interest.
OI_TOLERANCE_FRAC = 0.001

POSITIONS = (
    "open_interest_contracts", "dealer_long_contracts", "dealer_short_contracts", "dealer_spread_contracts",
    "asset_mgr_long_contracts", "asset_mgr_short_contracts", "asset_mgr_spread_contracts",
    "lev_funds_long_contracts", "lev_funds_short_contracts", "lev_funds_spread_contracts",
    "other_rept_long_contracts", "other_rept_short_contracts", "other_rept_spread_contracts",
    "tot_rept_long_contracts", "tot_rept_short_contracts", "nonrept_long_contracts", "nonrept_short_contracts",
)  # fmt: skip
CHECKS = ("_check_oi_long_gap_frac", "_check_oi_short_gap_frac", "_check_rept_long_gap_frac",
          "_check_rept_short_gap_frac")  # fmt: skip


def raw_rules() -> list[E]:
    return [
        non_empty(),
        *not_null("contract_code", "report_date", "open_interest_contracts", "available_at"),
        unique("contract_code", "report_date"),
        *types(contract_code="str", report_date="datetime64", open_interest_contracts="int64",
               asset_mgr_long_contracts="int64", lev_funds_short_contracts="int64", available_at="datetime64"),
        *at_least(0, *POSITIONS),
        *[_e("expect_column_values_to_be_between", column=c, min_value=0, max_value=OI_TOLERANCE_FRAC,
             meta_note="long + short consistent with open interest") for c in CHECKS],
        _e("expect_column_values_to_be_in_set", column="futonly_or_combined", value_set=["FutOnly"]),
        _e("expect_column_values_to_be_between", column="_check_publication_lag_days", min_value=0, max_value=200),
        not_after_load_date("report_date"),
    ]  # fmt: skip


def view_rules() -> list[E]:
    return [
        non_empty(),
        *not_null("contract_code", "report_date", "available_at", "open_interest_contracts"),
        unique("contract_code", "report_date"),
        *types(contract_code="str", report_date="datetime64", asset_mgr_net_contracts="int64",
               asset_mgr_net_frac_oi="float64"),
        *at_least(0, "open_interest_contracts", "asset_mgr_long_contracts", "asset_mgr_short_contracts",
                  "lev_funds_long_contracts", "lev_funds_short_contracts"),
        *[_e("expect_column_values_to_be_between", column=c, min_value=-1, max_value=1)
          for c in ("asset_mgr_net_frac_oi", "lev_funds_net_frac_oi")],
        not_after_load_date("report_date"),
        fresh("report_date"),
    ]  # fmt: skip


def _gap(total: str, parts: list[str]) -> pl.Expr:
    """|total - sum(parts)| / open interest; null (not checked) when any part is not published."""
    summed = pl.sum_horizontal(pl.col(p) for p in parts)
    gap = (pl.col(total) - summed).abs() / pl.max_horizontal(pl.col("open_interest_contracts"), pl.lit(1))
    return pl.when(pl.any_horizontal(pl.col(p).is_null() for p in parts)).then(None).otherwise(gap)


def prepare(frame: pl.DataFrame) -> pl.DataFrame:
    """Long + short consistent with open interest as the report defines it: reportable long =
    category longs + all spreads; open interest = reportable + non-reportable (each side)."""
    spreads = [f"{c}_spread_contracts" for c in ("dealer", "asset_mgr", "lev_funds", "other_rept")]
    cats = ["dealer", "asset_mgr", "lev_funds", "other_rept"]
    return frame.with_columns(
        _gap("open_interest_contracts", ["tot_rept_long_contracts", "nonrept_long_contracts"]).alias(CHECKS[0]),
        _gap("open_interest_contracts", ["tot_rept_short_contracts", "nonrept_short_contracts"]).alias(CHECKS[1]),
        _gap("tot_rept_long_contracts", [f"{c}_long_contracts" for c in cats] + spreads).alias(CHECKS[2]),
        _gap("tot_rept_short_contracts", [f"{c}_short_contracts" for c in cats] + spreads).alias(CHECKS[3]),
        lag_days("report_date").alias("_check_publication_lag_days"),
    )
