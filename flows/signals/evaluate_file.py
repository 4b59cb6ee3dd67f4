"""The generic ``flowscope evaluate --data FILE.csv`` mode: any predictor a researcher brings.

Reads one CSV (a date column plus numeric columns, one row per date), aligns the target as
:mod:`flows.signals.evaluate` defines it (row t: x_t against the mean of y over rows t+1..t+H), runs the
predictive regression with Newey–West SEs and, from ``oos_start``, the recursive out-of-sample test
(Campbell–Thompson R²_OS against the prevailing mean of y, Clark–West). Problems are
:class:`~flows.signals.evaluate.EvaluationError` with a one-line message.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import polars as pl

from flows.signals.evaluate import (
    NW_LAG_RULE,
    EvaluationError,
    forward_mean,
    out_of_sample,
    predictive_regression,
    prevailing_mean,
)

NULL_VALUES = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "."]
TARGET_RULE = "mean of y over rows t+1..t+H (y_t excluded)"


def read_series_csv(path: Path, *, date_col: str, columns: list[str]) -> pl.DataFrame:
    """``date_col`` (as Date) plus ``columns`` (as Float64) from a CSV, sorted by date.

    Dates: ``YYYY-MM-DD`` (a time part is ignored), ``YYYY-MM`` or the integers ``YYYYMMDD`` /
    ``YYYYMM`` (monthly rows get the 1st of the month). Empty cells and NA/NaN/null/. are missing values.
    Raises EvaluationError for a missing file or column, an unreadable date, a non-numeric value (naming
    the line) and duplicate dates.
    """
    if not path.is_file():
        raise EvaluationError(f"{path}: no such file")
    try:
        raw = pl.read_csv(path, infer_schema_length=0, null_values=NULL_VALUES)  # all columns as text
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        raise EvaluationError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    raw = raw.rename({c: c.strip() for c in raw.columns})
    missing = [c for c in dict.fromkeys([date_col, *columns]) if c not in raw.columns]
    if missing:
        raise EvaluationError(
            f"{path.name}: no column {', '.join(repr(c) for c in missing)} (columns: {', '.join(raw.columns)})"
        )
    out = {date_col: _parse_dates(raw[date_col], path.name)}
    for c in dict.fromkeys(columns):
        out[c] = _parse_numbers(raw[c], path.name)
    frame = pl.DataFrame(out).sort(date_col)
    dup = frame.filter(pl.col(date_col).is_duplicated())
    if dup.height:
        raise EvaluationError(
            f"{path.name}: date {dup[date_col][0]} appears more than once; one row per date expected (a single series)"
        )
    return frame


def _parse_numbers(s: pl.Series, fname: str) -> pl.Series:
    text = s.str.strip_chars()
    num = text.cast(pl.Float64, strict=False)
    bad = (text.is_not_null() & num.is_null()).arg_true()
    if bad.len():
        i = int(bad[0])
        raise EvaluationError(f"{fname}: column {s.name!r} is not numeric: line {i + 2} has {text[i]!r}")
    inf = (num.is_not_null() & num.is_infinite()).arg_true()
    if inf.len():
        i = int(inf[0])
        raise EvaluationError(f"{fname}: column {s.name!r} is not finite: line {i + 2} has {text[i]!r}")
    return num.fill_nan(None).alias(s.name)


def _parse_dates(s: pl.Series, fname: str) -> pl.Series:
    text = s.str.strip_chars()
    empty = text.is_null().arg_true()
    if empty.len():
        raise EvaluationError(f"{fname}: column {s.name!r} has an empty date on line {int(empty[0]) + 2}")
    candidates = [
        text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False),
        (text + "-01").str.to_date("%Y-%m-%d", strict=False),
        pl.Series([t if t.isdigit() and len(t) == 8 else None for t in text], dtype=pl.String).str.to_date(
            "%Y%m%d", strict=False
        ),
        pl.Series([t + "01" if t.isdigit() and len(t) == 6 else None for t in text], dtype=pl.String).str.to_date(
            "%Y%m%d", strict=False
        ),
    ]
    parsed = pl.select(pl.coalesce([pl.lit(c) for c in candidates])).to_series()
    bad = parsed.is_null().arg_true()
    if bad.len():
        i = int(bad[0])
        raise EvaluationError(
            f"{fname}: column {s.name!r} is not a date (YYYY-MM-DD, YYYY-MM, YYYYMMDD or YYYYMM): "
            f"line {i + 2} has {text[i]!r}"
        )
    return parsed.alias(s.name)


def evaluate_series(
    frame: pl.DataFrame,
    *,
    y_col: str,
    x_col: str,
    horizon: int,
    date_col: str = "date",
    nw_lags: int | None = None,
    start: date | None = None,
    end: date | None = None,
    oos_start: date | None = None,
) -> dict[str, object]:
    """The report of ``flowscope evaluate``: a flat dict (JSON-ready; NaN becomes None).

    ``start``/``end`` cut the rows BEFORE alignment, so nothing after ``end`` enters a target (the last
    H rows in range have none). Keys: ``beta``, ``alpha``, ``se_nw``, ``t_nw``, ``p_nw``, ``r2`` (fraction),
    ``n_obs``, ``effective_n`` (n_obs/H), ``nw_lags``, the ``*_nonoverlap`` check, the sample's dates and,
    with ``oos_start``, ``r2_oos``, ``clark_west``, ``clark_west_p`` (one-sided), ``n_oos`` ...
    """
    f = frame
    if start:
        f = f.filter(pl.col(date_col) >= start)
    if end:
        f = f.filter(pl.col(date_col) <= end)
    if f.height == 0:
        raise EvaluationError("too few observations: no rows between --start and --end")
    dates = f[date_col]
    x = f[x_col].cast(pl.Float64).fill_null(math.nan).to_numpy()
    y = f[y_col].cast(pl.Float64).fill_null(math.nan).to_numpy()
    if horizon >= f.height:
        raise EvaluationError(f"too few observations: {f.height} rows cannot hold a {horizon}-row forward target")
    y_fwd = forward_mean(y, horizon)
    reg = predictive_regression(x, y_fwd, horizon, nw_lags=nw_lags)
    used = (~pl.Series(x).is_nan() & ~pl.Series(y_fwd).is_nan()).arg_true()
    report: dict[str, object] = {
        "y": y_col,
        "x": x_col,
        "horizon": horizon,
        "target": TARGET_RULE,
        "n_rows": f.height,
        "first_date": str(dates[int(used[0])]),
        "last_date": str(dates[int(used[-1])]),
        **reg.as_dict(),
        "nw_lag_rule": NW_LAG_RULE if nw_lags is None else "--nw-lags",
    }
    if oos_start is not None:
        after = (dates >= oos_start).arg_true()
        if after.len() == 0:
            raise EvaluationError(f"--oos-start {oos_start} is after the last date in range ({dates[-1]})")
        t0 = int(after[0])
        oos = out_of_sample(x, y_fwd, horizon, t0, benchmark=prevailing_mean(y), nw_lags=nw_lags)
        ev = oos.evaluated.nonzero()[0]
        report.update(
            {
                "oos_start": str(dates[t0]),
                "oos_last_date": str(dates[int(ev[-1])]),
                "n_oos": oos.n_forecasts,
                "n_train_first": oos.n_train_first,
                "r2_oos": oos.r2_oos,
                "clark_west": oos.clark_west,
                "clark_west_p": oos.clark_west_p,
                "oos_nw_lags": oos.nw_lags,
                "benchmark": "prevailing mean of y through t",
            }
        )
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in report.items()}


def _g(v: object) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def report_rows(r: dict[str, object]) -> list[dict[str, str]]:
    """The report as (statistic, value, meaning) rows for the table format."""
    h = r["horizon"]
    rows = [
        (
            "sample",
            f"{r['first_date']} .. {r['last_date']}",
            f"dates of x_t with a complete target ({r['n_rows']} rows read)",
        ),
        ("target", f"mean of {r['y']} over t+1..t+{h}", "row t pairs x_t with the mean of the next H values of y"),
        ("n_obs", _g(r["n_obs"]), "T: pairs (x_t, target) in the regression"),
        ("effective_n", _g(r["effective_n"]), f"T/H: about this many independent observations (H = {h})"),
        ("beta", _g(r["beta"]), f"change in the target (units of {r['y']} per row) per unit of {r['x']}"),
        ("se_nw", _g(r["se_nw"]), f"Newey-West (Bartlett) SE, {r['nw_lags']} lags ({r['nw_lag_rule']})"),
        ("t_nw", _g(r["t_nw"]), f"beta / se_nw; two-sided p = {_g(r['p_nw'])}"),
        ("r2", _g(r["r2"]), "in-sample R², a fraction (0.0123 = 1.23%)"),
        (
            "beta_nonoverlap",
            _g(r["beta_nonoverlap"]),
            f"same regression on every {h}th row (n = {r['n_nonoverlap']}), no overlapping targets",
        ),
        ("t_nonoverlap", _g(r["t_nonoverlap"]), "its plain OLS t-stat: compare with t_nw"),
    ]
    if "r2_oos" in r:
        rows += [
            ("oos", f"{r['oos_start']} .. {r['oos_last_date']}", "dates of the out-of-sample forecasts (x dates)"),
            ("n_oos", _g(r["n_oos"]), f"recursive forecasts; the first fitted on {r['n_train_first']} rows"),
            ("r2_oos", _g(r["r2_oos"]), "Campbell-Thompson R²_OS vs the prevailing mean of y (fraction; > 0 = better)"),
            (
                "clark_west",
                _g(r["clark_west"]),
                f"MSFE-adjusted t-stat, NW {r['oos_nw_lags']} lags; one-sided p = {_g(r['clark_west_p'])}",
            ),
        ]
    return [{"statistic": s, "value": v, "meaning": m} for s, v, m in rows]
