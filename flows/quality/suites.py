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

import importlib
import json
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


def build_suites() -> dict[str, list[E]]:
    """Every suite: name -> expectation configurations (GX 1.x JSON shape).

    Per dataset, ``flows.quality.rules.<dataset>`` provides ``raw_rules()`` (the load gate on a
    parsed batch: no version column), ``view_rules()`` (the analytics view) and optionally
    ``prepare(frame)`` (derived ``_check_*`` columns)."""
    from flows.sources import DATASETS

    suites: dict[str, list[E]] = {}
    for spec in DATASETS.values():
        rules = rules_module(spec.name)
        suites[spec.suite] = rules.raw_rules()
        suites[spec.view.replace(".", "__")] = rules.view_rules()
    suites["meta__loads"] = [
        *not_null("load_id", "dataset", "origin", "sha256", "fetched_at", "outcome"),
        _e(
            "expect_column_values_to_be_in_set",
            column="outcome",
            value_set=["loaded", "unchanged", "failed", "quarantined"],
        ),
        _e("expect_column_value_lengths_to_equal", column="sha256", value=64),
        *at_least(0, "bytes", "rows_in", "rows_new", "rows_revised", "rows_unchanged"),
    ]
    suites["meta__ingest_state"] = [*not_null("dataset"), unique("dataset")]
    return suites


def rules_module(dataset: str):  # type: ignore[no-untyped-def]
    return importlib.import_module(f"flows.quality.rules.{dataset}")


def prepare(suite: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Add the derived ``_check_*`` columns a raw suite reads (identity for other suites)."""
    from flows.sources import DATASETS

    for spec in DATASETS.values():
        if spec.suite == suite:
            fn = getattr(rules_module(spec.name), "prepare", None)
            return fn(frame) if fn else frame
    return frame


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


def lag_days(date_col: str) -> pl.Expr:
    """Days from the date a row describes to the day it became public (UTC)."""
    return (pl.col("available_at").dt.date() - pl.col(date_col)).dt.total_days()
