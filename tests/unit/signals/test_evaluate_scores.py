"""Per-asset evaluation of a score: a look-ahead score is caught, noise is not significant."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from flows.signals.evaluate_scores import per_asset


def panel(score_fn) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(4)
    frames = []
    for sym in ("AAA", "BBB"):
        r = rng.normal(0, 0.01, 800)
        close = 100 * np.exp(np.cumsum(r))
        frames.append(pl.DataFrame({
            "date": [date(2020, 1, 1) + timedelta(days=i) for i in range(800)], "symbol": sym,
            "score": score_fn(r, rng), "close": close,
        }))  # fmt: skip
    return pl.concat(frames)


def test_a_score_that_peeks_at_tomorrow_is_flagged_and_noise_is_not() -> None:
    peek = per_asset(panel(lambda r, rng: np.concatenate((r[1:], [0.0]))), [1, 5])
    noise = per_asset(panel(lambda r, rng: rng.standard_normal(r.size)), [1, 5])
    h1 = peek.filter(pl.col("horizon") == 1)
    assert (h1["t_nw"] > 20).all() and (h1["r2"] > 0.9).all() and (h1["r2_oos"] > 0.9).all()
    assert (noise["t_nw"].abs() < 3.5).all() and (noise["r2"] < 0.02).all()
    assert (noise["effective_n"] == noise["n_obs"] / noise["horizon"]).all()
