"""The suites that run (expectations/*.json) are exactly the declared rules, and they bite."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import polars as pl
import pytest

from flows.quality.gate import load_suite, validate_frame
from flows.quality.suites import build_suites, suite_json, suite_path
from flows.sources import DATASETS
from flows.sources.base import Payload
from flows.sources.cftc.tff import parse as parse_tff
from tests.helpers import tff_line, tff_text


def test_committed_suites_match_their_declaration() -> None:
    suites = build_suites()
    for spec in DATASETS.values():
        assert spec.suite in suites and spec.view.replace(".", "__") in suites
    for name, exps in suites.items():
        on_disk = json.loads(suite_path(name).read_text())
        assert on_disk == suite_json(name, exps), f"{name}: run `flowscope expectations --write`"
        assert len(load_suite(name).expectations) == len(exps)


def tff_frame(**kw: int) -> pl.DataFrame:
    body = tff_text([tff_line("209742", "2026-07-28", 294781, **kw), tff_line("13874A", "2026-07-28", 1984408)])
    frame = parse_tff(Payload("cftc_tff", body, "t.txt", datetime.now(UTC))).frame
    return frame.rename({"rule_available_at": "available_at"})


def test_clean_batch_passes_every_expectation() -> None:
    report = validate_frame("raw__cftc__tff", tff_frame(), load_date=date(2026, 8, 10))
    assert report.success and report.passed == report.evaluated and report.failures == []


def test_inconsistent_long_side_fails_the_open_interest_rule() -> None:
    frame = tff_frame().with_columns(
        pl.when(pl.col("contract_code") == "209742")
        .then(pl.col("nonrept_long_contracts") + 5000)
        .otherwise(pl.col("nonrept_long_contracts"))
        .alias("nonrept_long_contracts")
    )
    report = validate_frame("raw__cftc__tff", frame, load_date=date(2026, 8, 10))
    assert not report.success
    assert {f.column for f in report.failures} == {"_check_oi_long_gap_frac"}
    assert report.failures[0].unexpected_count == 1
    assert report.failures[0].examples[0] == pytest.approx(5000 / 294781)


def test_future_dates_fail_and_staleness_only_warns() -> None:
    report = validate_frame("raw__cftc__tff", tff_frame(), load_date=date(2026, 7, 27))
    assert [f.column for f in report.failures] == ["report_date"] and not report.success
    stale = validate_frame(
        "analytics__cot_positioning",
        tff_frame().with_columns(
            (pl.col("asset_mgr_long_contracts") - pl.col("asset_mgr_short_contracts")).alias("asset_mgr_net_contracts"),
            (pl.col("lev_funds_long_contracts") - pl.col("lev_funds_short_contracts")).alias("lev_funds_net_contracts"),
            pl.lit(0.1).alias("asset_mgr_net_frac_oi"),
            pl.lit(-0.1).alias("lev_funds_net_frac_oi"),
        ),
        load_date=date(2026, 9, 1),
        fresh_since=date(2026, 8, 22),
    )
    assert stale.success and [w.line() for w in stale.warnings] == ["stale: newest report_date is 2026-07-28 00:00:00"]
