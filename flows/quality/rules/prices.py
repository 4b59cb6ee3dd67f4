"""Expectations for daily prices: the load gate (``raw__prices__daily``) and ``analytics__prices``."""

from __future__ import annotations

import polars as pl

from flows.quality.suites import E, _e, at_least, fresh, non_empty, not_after_load_date, not_null, types, unique
from flows.sources.prices.daily import OHLC_TOLERANCE_FRAC, SERIES_RANK

PRICES = ("open", "high", "low", "close", "adj_close")
SYMBOL_REGEX = r"^[A-Z][A-Z0-9.\-]{0,9}$"
# A daily move outside these bounds is most likely an unadjusted split (10:1 = -0.9, 3:1 = -0.67):
# a warning, not a block. Real extremes 1999-2026 in the universe: APLD -0.53 (2022-06-13), +1.00
# (2022-07-19).
RETURN_WARN_MIN, RETURN_WARN_MAX = -0.6, 1.5


def _positive(*cols: str) -> list[E]:
    return [_e("expect_column_values_to_be_between", column=c, min_value=0, strict_min=True) for c in cols]


def raw_rules() -> list[E]:
    return [
        non_empty(),
        *not_null("date", "symbol", "series_source", "close", "available_at"),
        unique("date", "symbol", "series_source"),
        *types(date="datetime64", symbol="str", series_source="str", close="float64", volume="int64",
               available_at="datetime64"),
        *_positive(*PRICES),
        *at_least(0, "volume"),
        _e("expect_column_values_to_match_regex", column="symbol", regex=SYMBOL_REGEX),
        _e("expect_column_values_to_be_in_set", column="series_source", value_set=list(SERIES_RANK)),
        _e("expect_column_values_to_be_between", column="_check_high_minus_low", min_value=0,
           meta_note="high >= low"),
        _e("expect_column_values_to_be_between", column="_check_outside_range_frac", min_value=0,
           max_value=OHLC_TOLERANCE_FRAC, meta_note="open and close within [low, high] (rounding tolerance)"),
        _e("expect_column_values_to_be_between", column="_check_hours_after_close", min_value=0,
           meta_note="never available before the close of the trade date"),
        not_after_load_date("date"),
    ]  # fmt: skip


def view_rules() -> list[E]:
    return [
        non_empty(),
        *not_null("date", "symbol", "close", "available_at", "series_source"),
        unique("date", "symbol"),
        *types(date="datetime64", symbol="str", close="float64", return_1d="float64"),
        *_positive("open", "high", "low", "close", "adj_close"),
        *at_least(0, "volume"),
        _e("expect_column_values_to_be_between", column="return_1d", min_value=-1, strict_min=True),
        _e("expect_column_values_to_be_between", severity="warning", column="return_1d", min_value=RETURN_WARN_MIN,
           max_value=RETURN_WARN_MAX, meta_note="a larger move is most likely an unadjusted split"),
        not_after_load_date("date"),
        fresh("date"),
    ]  # fmt: skip


def _utc(col: str, frame: pl.DataFrame) -> pl.Expr:
    dtype = frame.schema[col]
    expr = pl.col(col)
    if isinstance(dtype, pl.Datetime) and dtype.time_zone:
        return expr.dt.convert_time_zone("UTC")
    return expr.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")


def prepare(frame: pl.DataFrame) -> pl.DataFrame:
    """high - low; how far open/close sit outside [low, high] as a fraction of high; hours from the
    close of the trade date (16:00 New York) to available_at."""
    close_ny = (
        pl.col("date").cast(pl.Datetime("us")).dt.offset_by("16h").dt.replace_time_zone("America/New_York")
    ).dt.convert_time_zone("UTC")
    outside = pl.max_horizontal(
        pl.lit(0.0),
        pl.col("open") - pl.col("high"),
        pl.col("low") - pl.col("open"),
        pl.col("close") - pl.col("high"),
        pl.col("low") - pl.col("close"),
    ) / pl.col("high")
    has_range = pl.col("high").is_not_null() & pl.col("low").is_not_null()
    return frame.with_columns(
        (pl.col("high") - pl.col("low")).alias("_check_high_minus_low"),
        pl.when(has_range).then(outside).otherwise(None).alias("_check_outside_range_frac"),
        ((_utc("available_at", frame) - close_ny).dt.total_seconds() / 3600.0).alias("_check_hours_after_close"),
    )
