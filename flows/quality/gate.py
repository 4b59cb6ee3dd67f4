"""Run the expectation suites of ``expectations/`` on polars frames (GX 1.x, pandas path).

GX has no polars backend and its SQL datasource returns wrong results on duckdb-engine (STACK.md
§3.3), so frames are converted to pandas with explicit dtypes (nullable ``Int64`` for counts,
naive UTC ``datetime64`` for dates and timestamps) and validated in an ephemeral context: nothing
is written to disk, nothing goes on the network, no data docs (we render our own page).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl

from flows.quality.suites import EXPECTATIONS_DIR, prepare, suite_path

log = logging.getLogger(__name__)


@dataclass
class Failure:
    """One failed expectation, in words a person can act on."""

    expectation: str
    column: str
    severity: str
    unexpected_count: int | None
    examples: list[Any]
    observed: Any

    def line(self) -> str:
        if self.severity == "warning" and self.expectation == "expect_column_max_to_be_between":
            return f"stale: newest {self.column} is {self.observed}"
        what = f"{self.expectation}({self.column})" if self.column else self.expectation
        bits = []
        if self.unexpected_count:
            bits.append(f"{self.unexpected_count} unexpected")
        if self.examples:
            bits.append(f"e.g. {self.examples[:3]}")
        if self.observed is not None and not self.examples:
            bits.append(f"observed {self.observed}")
        return f"{what}: {', '.join(bits) or 'failed'}"


@dataclass
class SuiteReport:
    """The outcome of one suite on one frame."""

    suite: str
    evaluated: int
    passed: int
    failures: list[Failure] = field(default_factory=list)
    skipped: str = ""  # why the suite was not run (e.g. the dataset was never loaded)

    @property
    def success(self) -> bool:
        """True when no critical expectation failed (warnings are reported, not blocking)."""
        return not any(f.severity == "critical" for f in self.failures)

    @property
    def warnings(self) -> list[Failure]:
        return [f for f in self.failures if f.severity != "critical"]

    def reason(self) -> str:
        crit = [f for f in self.failures if f.severity == "critical"]
        return (
            f"failed {len(crit)} of {self.evaluated} expectations of suite {self.suite}: "
            + "; ".join(f.line() for f in crit[:3])
            + (" ..." if len(crit) > 3 else "")
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "success": self.success,
            "evaluated": self.evaluated,
            "passed": self.passed,
            "failures": [f.__dict__ for f in self.failures],
        }


def _gx():  # type: ignore[no-untyped-def]
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    return gx


@lru_cache(maxsize=1)
def _context():  # type: ignore[no-untyped-def]
    gx = _gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_def = (
        ctx.data_sources.add_pandas("frames").add_dataframe_asset("frame").add_batch_definition_whole_dataframe("all")
    )
    return ctx, batch_def


def load_suite(name: str, root: Path = EXPECTATIONS_DIR):  # type: ignore[no-untyped-def]
    """Read a suite's JSON (as committed in expectations/) into a GX ExpectationSuite."""
    _gx()
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    data = json.loads(suite_path(name, root).read_text())
    exps = [
        ExpectationConfiguration(
            type=e["type"], kwargs=e["kwargs"], meta=e.get("meta") or {}, severity=e.get("severity", "critical")
        ).to_domain_obj()
        for e in data["expectations"]
    ]
    return ExpectationSuite(name=data["name"], expectations=exps)


@lru_cache(maxsize=32)
def _cached_suite(name: str, mtime: float):  # type: ignore[no-untyped-def]
    return load_suite(name)


def to_pandas(frame: pl.DataFrame):  # type: ignore[no-untyped-def]
    """polars -> pandas with the dtypes the suites expect (Int64, float64, str, datetime64)."""
    import pandas as pd

    out = {}
    for name, dtype in frame.schema.items():
        s = frame[name]
        if dtype.is_integer():
            out[name] = pd.array(s.to_list(), dtype="Int64")
        elif dtype == pl.Date:
            out[name] = pd.to_datetime(pd.Series(s.to_list(), dtype="object"))
        elif isinstance(dtype, pl.Datetime):
            naive = s.dt.convert_time_zone("UTC").dt.replace_time_zone(None) if dtype.time_zone else s
            out[name] = pd.to_datetime(pd.Series(naive.to_list(), dtype="object"))
        elif dtype.is_float():
            out[name] = pd.Series(s.to_list(), dtype="float64")
        else:
            out[name] = pd.Series(s.to_list(), dtype="object")
    return pd.DataFrame(out)


def _param(value: date | datetime | None):  # type: ignore[no-untyped-def]
    import pandas as pd

    return None if value is None else pd.Timestamp(value)


def validate_frame(
    suite: str, frame: pl.DataFrame, *, load_date: date | None = None, fresh_since: date | None = None
) -> SuiteReport:
    """Validate ``frame`` against suite ``suite``; ``prepare`` adds the suite's derived columns."""
    frame = prepare(suite, frame)
    gx_suite = _cached_suite(suite, suite_path(suite).stat().st_mtime)
    _, batch_def = _context()
    params = {
        "load_date": _param(load_date or date(9999, 12, 31)),
        "fresh_since": _param(fresh_since or date(1900, 1, 1)),
    }
    batch = batch_def.get_batch(batch_parameters={"dataframe": to_pandas(frame)})
    res = batch.validate(gx_suite, expectation_parameters=params, result_format="SUMMARY")
    failures = []
    for r in res.results:
        if r.success:
            continue
        cfg = r.expectation_config
        kw = cfg.kwargs
        col = kw.get("column") or ",".join(kw.get("column_list") or [])
        exc = (r.exception_info or {}).get("exception_message")
        failures.append(
            Failure(
                expectation=cfg.type,
                column=col,
                severity=str(getattr(cfg.severity, "value", cfg.severity)).lower(),
                unexpected_count=r.result.get("unexpected_count"),
                examples=[_plain(v) for v in (r.result.get("partial_unexpected_list") or [])[:5]],
                observed=_plain(r.result.get("observed_value")) if not exc else f"error: {exc}",
            )
        )
    stats = res.statistics
    return SuiteReport(suite, int(stats["evaluated_expectations"]), int(stats["successful_expectations"]), failures)


def _plain(v: Any) -> Any:
    if v is None or isinstance(v, (int, float, str, bool)):
        return v
    if hasattr(v, "item") and not isinstance(v, (list, tuple, dict)):
        try:
            return v.item()
        except (ValueError, TypeError):
            return str(v)
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return str(v)
