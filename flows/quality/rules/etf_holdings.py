"""Expectations for ETF holdings: the load gate (``raw__etf__holdings``) and ``analytics__etf_holdings``.

Weights are fractions of net assets. Equity weights lie in [0, 1] (``_check_equity_weight_frac``:
the weight of equity rows, null for the ``_CASH``/``_FUTURES``/``_OTHER`` sums, which may be
negative and only need to lie in [-1, 1]). Per (etf, as_of_date, series_source) the weights sum to
1 within 2% (``_check_weight_sum_gap_frac`` = |sum - 1|); a symbol appears once per snapshot.
"""

from __future__ import annotations

import polars as pl

from flows.quality.suites import (
    E,
    _e,
    fresh,
    lag_days,
    non_empty,
    not_after_load_date,
    not_null,
    types,
    unique,
)

WEIGHT_SUM_TOLERANCE = 0.02  # = flows.sources.etf.holdings.WEIGHT_SUM_TOLERANCE
MAX_LAG_DAYS = 61  # N-PORT weights: report period end + 60 days; issuer files: next session (1-5 days)
ASSET_CLASSES = ["equity", "cash", "future", "other"]
SERIES = ["issuer", "user_csv", "nport"]
FORMATS = ["ishares_csv", "vaneck_json", "invesco_json", "invesco_csv", "ssga_xlsx", "user_csv"]
SNAPSHOT = ["etf", "as_of_date", "series_source"]


def _between(col: str, lo: float, hi: float, note: str = "") -> E:
    kw = {"meta_note": note} if note else {}
    return _e("expect_column_values_to_be_between", column=col, min_value=lo, max_value=hi, **kw)


def raw_rules() -> list[E]:
    return [
        non_empty(),
        *not_null("etf", "as_of_date", "symbol", "series_source", "weight_frac", "asset_class", "source_format",
                  "available_at"),
        unique("etf", "as_of_date", "symbol", "series_source"),
        *types(etf="str", as_of_date="datetime64", symbol="str", weight_frac="float64", asset_class="str",
               available_at="datetime64"),
        _between("weight_frac", -1, 1),
        _between("_check_equity_weight_frac", 0, 1, "equity weights in [0, 1]"),
        _between("_check_weight_sum_gap_frac", 0, WEIGHT_SUM_TOLERANCE, "weights of a fund on a date sum to 1"),
        _e("expect_column_values_to_be_in_set", column="asset_class", value_set=ASSET_CLASSES),
        _e("expect_column_values_to_be_in_set", column="series_source", value_set=SERIES),
        _e("expect_column_values_to_be_in_set", column="source_format", value_set=FORMATS),
        _between("_check_publication_lag_days", 0, MAX_LAG_DAYS),
        not_after_load_date("as_of_date"),
    ]  # fmt: skip


def view_rules() -> list[E]:
    return [
        non_empty(),
        *not_null("as_of_date", "available_at", "etf", "symbol", "weight_frac", "asset_class"),
        unique("etf", "as_of_date", "symbol"),
        *types(as_of_date="datetime64", etf="str", symbol="str", weight_frac="float64"),
        _between("weight_frac", -1, 1),
        _e("expect_column_values_to_be_in_set", column="asset_class", value_set=ASSET_CLASSES),
        not_after_load_date("as_of_date"),
        fresh("as_of_date"),
    ]


def prepare(frame: pl.DataFrame) -> pl.DataFrame:
    total = pl.col("weight_frac").sum().over(SNAPSHOT)
    return frame.with_columns(
        pl.when(pl.col("asset_class") == "equity").then(pl.col("weight_frac")).alias("_check_equity_weight_frac"),
        (total - 1).abs().alias("_check_weight_sum_gap_frac"),
        lag_days("as_of_date").alias("_check_publication_lag_days"),
    )
