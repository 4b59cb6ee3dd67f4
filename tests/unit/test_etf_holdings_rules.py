"""The ETF holdings suites (raw__etf__holdings, analytics__etf_holdings) pass clean batches and bite.

Batches come from the hand-made fixtures through the parser, then are altered in the way each rule
guards against (the parser refuses most of these itself; the suites are the second line, and the
one that runs on the stored table in ``flowscope validate``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from flows.quality.gate import validate_frame
from flows.sources.base import Payload
from flows.sources.etf.holdings import parse
from tests.conftest import fixture_bytes

LOAD = date(2026, 11, 21)


def batch(name: str = "SOXX_holdings_2023_layout.csv") -> pl.DataFrame:
    p = Payload("etf_holdings", fixture_bytes("etf_holdings", name), name, datetime(2026, 11, 21, tzinfo=UTC))
    return parse(p).frame.rename({"rule_available_at": "available_at"})


def failed(frame: pl.DataFrame, suite: str = "raw__etf__holdings", **kw) -> dict[str, int | None]:  # type: ignore[no-untyped-def]
    report = validate_frame(suite, frame, load_date=kw.pop("load_date", LOAD), **kw)
    return {f.column or f.expectation: f.unexpected_count for f in report.failures if f.severity == "critical"}


def set_weight(frame: pl.DataFrame, symbol: str, value: float) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(pl.col("symbol") == symbol).then(value).otherwise(pl.col("weight_frac")).alias("weight_frac")
    )


@pytest.mark.parametrize(
    "name",
    ["SOXX_holdings_2023_layout.csv", "SMH_vaneck_holdings.json", "QQQ_invesco_holdings.json", "user_etf_holdings.csv"],
)
def test_clean_batches_pass_every_expectation(name):
    report = validate_frame("raw__etf__holdings", batch(name), load_date=LOAD)
    assert report.success and report.failures == [] and report.passed == report.evaluated


def test_weights_far_from_summing_to_one_fail_the_sum_rule_for_every_row_of_the_snapshot():
    frame = batch().filter(pl.col("symbol") != "NVDA")  # 70% left
    assert failed(frame) == {"_check_weight_sum_gap_frac": 6}


def test_sum_within_two_percent_passes_and_beyond_fails():
    assert failed(set_weight(batch(), "LRCX", 0.1199)) == {}  # sum 1.0199
    assert failed(set_weight(batch(), "LRCX", 0.1210)) == {"_check_weight_sum_gap_frac": 7}  # sum 1.021


def test_equity_weight_above_one_fails_but_negative_cash_passes():
    over = set_weight(set_weight(batch(), "NVDA", 1.2), "AMD", -0.645)  # the sum still 1
    assert failed(over) == {"weight_frac": 1, "_check_equity_weight_frac": 2}  # 1.2 is outside [-1, 1] too
    cash = set_weight(set_weight(batch(), "_CASH", -0.01), "LRCX", 0.112)
    assert failed(cash) == {}


def test_duplicate_symbol_fails_the_key_rule():
    frame = batch()
    dup = pl.concat([frame, frame.filter(pl.col("symbol") == "MU").with_columns(pl.lit(0.0).alias("weight_frac"))])
    assert "etf,as_of_date,symbol,series_source" in failed(dup)


def test_unknown_asset_class_and_lag_beyond_61_days_fail():
    frame = batch().with_columns(pl.lit("crypto").alias("asset_class"))
    assert failed(frame) == {"asset_class": 7}
    late = batch().with_columns(pl.col("available_at") + timedelta(days=62))
    assert failed(late, load_date=date(2027, 1, 31)) == {"_check_publication_lag_days": 7}


def test_nport_weights_public_60_days_after_quarter_end_pass_the_lag_rule():
    frame = batch("user_etf_holdings.csv")
    assert frame.filter(pl.col("series_source") == "nport").height == 6
    assert failed(frame) == {}


def test_view_suite_refuses_duplicate_symbols_per_fund_and_date():
    view = (
        batch()
        .drop("series_source", "source_format")
        .with_columns(pl.lit("rule").alias("available_at_source"), pl.lit(1).alias("version"))
    )
    assert failed(view, "analytics__etf_holdings") == {}
    assert "etf,as_of_date,symbol" in failed(pl.concat([view, view.head(1)]), "analytics__etf_holdings")
