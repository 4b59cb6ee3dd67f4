"""The expectation suites, declared once here and written to ``expectations/`` as GX 1.x JSON.

The JSON files are what runs (``flows.quality.gate`` reads them); this module only generates them:
``flowscope expectations --write`` after a deliberate change, so a suite change is a reviewed diff
(a test fails when the JSON and this declaration disagree).

Suites, named after the table or view they guard (``<schema>__<table>``):
- ``raw__*``: run on each parsed batch before it is merged (the load gate) and, by
  ``flowscope validate``, on the latest versions stored;
- ``analytics__*``: the documented views (the publish gate);
- ``meta__*``: the load log and ingest state.

Runtime parameters: ``load_date`` (no row dated after the day of the load), ``fresh_since``
(freshness against the dataset's cadence; severity ``warning``: reported, never blocking, because
an archive import is legitimately old).

Derived ``_check_*`` columns (added by ``prepare``) express the cross-column rules GX has no
expectation for, e.g. trader-category longs + spreads summing to the reported total.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from flows.config import REPO_ROOT

EXPECTATIONS_DIR = REPO_ROOT / "expectations"
# Consolidated COT contracts (codes ending "+") aggregate micros at 1/10: rounding leaves gaps of
# 1-2 contracts. Measured on the 2015-2026 files: max gap 9.1e-5 of open interest.
OI_TOLERANCE_FRAC = 0.001
MAX_PUT_CALL = 10.0

E = dict[str, Any]


def _e(kind: str, severity: str = "critical", **kwargs: Any) -> E:
    return {"type": kind, "kwargs": kwargs, "meta": {}, "severity": severity}


def not_null(*cols: str) -> list[E]:
    return [_e("expect_column_values_to_not_be_null", column=c) for c in cols]


def types(**cols: str) -> list[E]:
    return [_e("expect_column_values_to_be_of_type", column=c, type_=t) for c, t in cols.items()]


def at_least(lo: float, *cols: str) -> list[E]:
    return [_e("expect_column_values_to_be_between", column=c, min_value=lo) for c in cols]


def non_empty() -> E:
    return _e("expect_table_row_count_to_be_between", min_value=1)


def unique(*cols: str) -> E:
    if len(cols) == 1:
        return _e("expect_column_values_to_be_unique", column=cols[0])
    return _e("expect_compound_columns_to_be_unique", column_list=list(cols))


def not_after_load_date(col: str) -> E:
    return _e("expect_column_max_to_be_between", column=col, max_value={"$PARAMETER": "load_date"})


def fresh(col: str) -> E:
    return _e(
        "expect_column_max_to_be_between", severity="warning", column=col, min_value={"$PARAMETER": "fresh_since"}
    )


TFF_POSITIONS = (
    "open_interest_contracts",
    "dealer_long_contracts",
    "dealer_short_contracts",
    "dealer_spread_contracts",
    "asset_mgr_long_contracts",
    "asset_mgr_short_contracts",
    "asset_mgr_spread_contracts",
    "lev_funds_long_contracts",
    "lev_funds_short_contracts",
    "lev_funds_spread_contracts",
    "other_rept_long_contracts",
    "other_rept_short_contracts",
    "other_rept_spread_contracts",
    "tot_rept_long_contracts",
    "tot_rept_short_contracts",
    "nonrept_long_contracts",
    "nonrept_short_contracts",
)
TFF_CHECKS = (
    "_check_oi_long_gap_frac",
    "_check_oi_short_gap_frac",
    "_check_rept_long_gap_frac",
    "_check_rept_short_gap_frac",
)
PC_VOLUMES = (
    "call_volume_contracts",
    "put_volume_contracts",
    "total_volume_contracts",
    "call_open_interest_contracts",
    "put_open_interest_contracts",
)
SEGMENTS = ["total", "equity", "index", "etp", "vix", "spx"]
SERIES = ["cboe_daily_json", "cboe_archive", "cboe_archive_old", "user_csv"]


def _tff_rules(with_version: bool) -> list[E]:
    key = ("contract_code", "report_date", *(("version",) if with_version else ()))
    return [
        non_empty(),
        *not_null("contract_code", "report_date", "open_interest_contracts", "available_at"),
        unique(*key),
        *types(
            contract_code="str",
            report_date="datetime64",
            open_interest_contracts="int64",
            asset_mgr_long_contracts="int64",
            lev_funds_short_contracts="int64",
            available_at="datetime64",
        ),
        *at_least(0, *TFF_POSITIONS),
        *[
            _e(
                "expect_column_values_to_be_between",
                column=c,
                min_value=0,
                max_value=OI_TOLERANCE_FRAC,
                meta_note="long + short consistent with open interest",
            )
            for c in TFF_CHECKS
        ],
        _e("expect_column_values_to_be_in_set", column="futonly_or_combined", value_set=["FutOnly"]),
        _e("expect_column_values_to_be_between", column="_check_publication_lag_days", min_value=0, max_value=200),
        not_after_load_date("report_date"),
    ]


def _put_call_rules(with_version: bool) -> list[E]:
    key = ("trade_date", "segment", "series_source", *(("version",) if with_version else ()))
    return [
        non_empty(),
        *not_null("trade_date", "segment", "series_source", "available_at"),
        unique(*key),
        *types(trade_date="datetime64", segment="str", put_call_ratio="float64", available_at="datetime64"),
        _e(
            "expect_column_values_to_be_between",
            column="put_call_ratio",
            min_value=0,
            max_value=MAX_PUT_CALL,
            strict_min=True,
            strict_max=True,
        ),
        *at_least(0, *PC_VOLUMES),
        _e("expect_column_values_to_be_in_set", column="segment", value_set=SEGMENTS),
        _e("expect_column_values_to_be_in_set", column="series_source", value_set=SERIES),
        _e("expect_column_values_to_be_in_set", column="source_era", value_set=["exchange_only", "all_cboe"]),
        _e("expect_column_values_to_be_between", column="_check_publication_lag_days", min_value=0, max_value=10),
        not_after_load_date("trade_date"),
    ]


def build_suites() -> dict[str, list[E]]:
    """Every suite: name -> expectation configurations (GX 1.x JSON shape)."""
    return {
        "raw__cftc__tff": _tff_rules(with_version=False),
        "raw__cboe__put_call": _put_call_rules(with_version=False),
        "analytics__cot_positioning": [
            non_empty(),
            *not_null("contract_code", "report_date", "available_at", "open_interest_contracts"),
            unique("contract_code", "report_date"),
            *types(
                contract_code="str",
                report_date="datetime64",
                asset_mgr_net_contracts="int64",
                asset_mgr_net_frac_oi="float64",
            ),
            *at_least(
                0,
                "open_interest_contracts",
                "asset_mgr_long_contracts",
                "asset_mgr_short_contracts",
                "lev_funds_long_contracts",
                "lev_funds_short_contracts",
            ),
            *[
                _e("expect_column_values_to_be_between", column=c, min_value=-1, max_value=1)
                for c in ("asset_mgr_net_frac_oi", "lev_funds_net_frac_oi")
            ],
            not_after_load_date("report_date"),
            fresh("report_date"),
        ],
        "analytics__put_call": [
            non_empty(),
            *not_null("trade_date", "segment", "available_at", "put_call_ratio"),
            unique("trade_date", "segment"),
            *types(trade_date="datetime64", segment="str", put_call_ratio="float64"),
            _e(
                "expect_column_values_to_be_between",
                column="put_call_ratio",
                min_value=0,
                max_value=MAX_PUT_CALL,
                strict_min=True,
                strict_max=True,
            ),
            *at_least(0, "call_volume_contracts", "put_volume_contracts"),
            _e("expect_column_values_to_be_in_set", column="segment", value_set=SEGMENTS),
            not_after_load_date("trade_date"),
            fresh("trade_date"),
        ],
        "meta__loads": [
            *not_null("load_id", "dataset", "origin", "sha256", "fetched_at", "outcome"),
            _e(
                "expect_column_values_to_be_in_set",
                column="outcome",
                value_set=["loaded", "unchanged", "failed", "quarantined"],
            ),
            _e("expect_column_value_lengths_to_equal", column="sha256", value=64),
            *at_least(0, "bytes", "rows_in", "rows_new", "rows_revised", "rows_unchanged"),
        ],
        "meta__ingest_state": [*not_null("dataset"), unique("dataset")],
    }


def _fix_meta(expectations: list[E]) -> list[E]:
    out = []
    for e in expectations:
        kwargs = dict(e["kwargs"])
        note = kwargs.pop("meta_note", None)
        out.append({**e, "kwargs": kwargs, "meta": {"note": note} if note else {}})
    return out


def suite_json(name: str, expectations: list[E]) -> dict[str, Any]:
    return {"name": name, "expectations": _fix_meta(expectations), "meta": {"generated_by": "flows.quality.suites"}}


def suite_path(name: str, root: Path = EXPECTATIONS_DIR) -> Path:
    schema = name.split("__", 1)[0]
    return root / schema / f"{name}.json"


def write_suites(root: Path = EXPECTATIONS_DIR) -> list[Path]:
    paths = []
    for name, exps in build_suites().items():
        path = suite_path(name, root)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(suite_json(name, exps), indent=2) + "\n")
        paths.append(path)
    return paths


# ---- derived check columns -------------------------------------------------------------------


def _gap(total: str, parts: list[str]) -> pl.Expr:
    """|total - sum(parts)| / open interest; null (not checked) when any part is not published."""
    summed = pl.sum_horizontal(pl.col(p) for p in parts)
    gap = (pl.col(total) - summed).abs() / pl.max_horizontal(pl.col("open_interest_contracts"), pl.lit(1))
    return pl.when(pl.any_horizontal(pl.col(p).is_null() for p in parts)).then(None).otherwise(gap)


def _lag_days(date_col: str) -> pl.Expr:
    return (pl.col("available_at").dt.date() - pl.col(date_col)).dt.total_days()


def prepare_cftc(frame: pl.DataFrame) -> pl.DataFrame:
    spreads = [
        "dealer_spread_contracts",
        "asset_mgr_spread_contracts",
        "lev_funds_spread_contracts",
        "other_rept_spread_contracts",
    ]
    cats = ["dealer", "asset_mgr", "lev_funds", "other_rept"]
    return frame.with_columns(
        _gap("open_interest_contracts", ["tot_rept_long_contracts", "nonrept_long_contracts"]).alias(TFF_CHECKS[0]),
        _gap("open_interest_contracts", ["tot_rept_short_contracts", "nonrept_short_contracts"]).alias(TFF_CHECKS[1]),
        _gap("tot_rept_long_contracts", [f"{c}_long_contracts" for c in cats] + spreads).alias(TFF_CHECKS[2]),
        _gap("tot_rept_short_contracts", [f"{c}_short_contracts" for c in cats] + spreads).alias(TFF_CHECKS[3]),
        _lag_days("report_date").alias("_check_publication_lag_days"),
    )


def prepare_put_call(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(_lag_days("trade_date").alias("_check_publication_lag_days"))


PREPARE: dict[str, Callable[[pl.DataFrame], pl.DataFrame]] = {
    "raw__cftc__tff": prepare_cftc,
    "raw__cboe__put_call": prepare_put_call,
}
