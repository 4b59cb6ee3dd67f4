"""Minimal examples of where ``flows.signals`` departs from METHODS.md (found by the pandas reference).

Each example calls the real ``flows.signals`` code on a few hand-made rows and prints what it
returns next to what METHODS defines. Nothing is changed in ``flows/``. Run:

    .venv/bin/python benchmarks/signals_discrepancies.py

The benchmark's pandas reference (``pandas_reference.Conventions``) reproduces items 1-6 so that its
equality check covers everything else; ``bench_signals.py --methods-strict`` shows their effect on
the synthetic universe. Item 7 (float-noise ties in percentiles) is tolerated by the comparison and
counted; item 8 (revisions of view-read datasets) is kept out of the synthetic universe.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from flows.calendar import add_business_days, trading_days  # noqa: E402
from flows.pit import ny_time_to_utc  # noqa: E402
from flows.signals import components as comp  # noqa: E402
from flows.signals import measures  # noqa: E402
from flows.signals.normalise import percentile_rank  # noqa: E402

UTC_US = pl.Datetime("us", "UTC")


STATUS = {
    1: "fixed (measures.trend_stat: a missing return is never zero)",
    2: "fixed (components.etf_weight_daily: the ETF's latest file, 0 when not listed)",
    3: "fixed (rolling_on_days: a short window is null, not present)",
    4: "fixed (components.etf_flow_pressure: DV = close_traded x volume)",
    5: "open, documented approximation (components.etf_flow_pressure)",
    6: "fixed for fut, scp and fm (components.component(native_pr=): PR_W on the native grid as known)",
    7: "open, tolerated by the benchmark comparison and counted",
    8: "fixed (inputs._versioned: view snapshots before each revision moment keep every version)",
}


def show(n: int, title: str, signals: object, methods: object, why: str) -> None:
    print(f"{n}. {title}\n   flows.signals: {signals}\n   METHODS:       {methods}\n   {why}\n   status: {STATUS[n]}\n")


def ts_first_window() -> None:
    rng = np.random.default_rng(0)
    r = np.concatenate(([np.nan], rng.normal(0.001, 0.02, 200)))  # returns of 201 prices: r[0] is missing
    ts = measures.trend_stat(r, 126)
    first = int(np.argmax(np.isfinite(ts)))
    show(
        1,
        "TS_126 warm-up (measures.trend_stat)",
        f"first TS at index {first} = {ts[first]:.4f}, from "
        f"{int(np.isfinite(r[first - 125 : first + 1]).sum())} returns",
        "first TS at index 126 (126 returns: Σ_{j=1..126} r_{t-j+1})",
        "nan_to_num counts the missing first return as 0; that value then sits in Z_252(pm) for 252 days.",
    )


def _flows(etf: str, days: list[date], every: int = 1, usd: float = 1e6) -> pl.DataFrame:
    kept = days[::every]
    return pl.DataFrame({
        "date": kept, "symbol": etf, "flow_usd": usd, "flow_frac_aum": 0.001,
        "available_at": [ny_time_to_utc(add_business_days(d, 1, federal=False), "09:00") for d in kept],
    }, schema_overrides={"available_at": UTC_US})  # fmt: skip


def _prices(sym: str, days: list[date], close: float = 10.0) -> pl.DataFrame:
    return pl.DataFrame({"date": days, "symbol": sym, "close": close, "volume": 100_000,
                         "available_at": [ny_time_to_utc(d, "16:00") for d in days]},
                        schema_overrides={"available_at": UTC_US})  # fmt: skip


def _weights(rows: list[tuple[date, str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame({
        "as_of_date": [r[0] for r in rows], "etf": [r[1] for r in rows], "symbol": [r[2] for r in rows],
        "weight_frac": [r[3] for r in rows],
        "available_at": [ny_time_to_utc(add_business_days(r[0], 1, federal=False), "09:30") for r in rows],
    }, schema_overrides={"available_at": UTC_US})  # fmt: skip


def dropped_holding() -> None:
    days = list(trading_days(date(2024, 1, 2), date(2024, 3, 28)))
    w = _weights(
        [(date(2024, 1, 31), "E", "A", 0.10), (date(2024, 1, 31), "E", "B", 0.90), (date(2024, 2, 29), "E", "B", 1.00)]
    )  # A is sold out of E at the end of February
    out = comp.etf_flow_pressure(_flows("E", days), w, _prices("A", days), "A", days[-1:], is_etf=False)
    show(
        2,
        "EFP of a stock an ETF no longer holds (components.etf_flow_pressure)",
        f"EFP(A, {days[-1]}) = {out['value'][0]:.4f} (A's weight 0.10 from the January file)",
        "0: A is not in E's latest public holdings file (w = 0)",
        "to_daily runs over the stock's own holdings rows, so the last weight it ever had is held for ever.",
    )


def short_window_voids() -> None:
    days = list(trading_days(date(2024, 1, 2), date(2024, 3, 28)))
    w = _weights([(date(2024, 1, 31), "E1", "A", 0.5), (date(2024, 1, 31), "E2", "A", 0.5)])
    flows = pl.concat([_flows("E1", days), _flows("E2", days, every=2)])  # E2: 10 of the last 20 days
    out = comp.etf_flow_pressure(flows, w, _prices("A", days), "A", days[-1:], is_etf=False)
    value = out["value"][0]
    show(
        3,
        "EFP when one of the stock's ETFs has fewer than 15 flow days in the window",
        f"EFP(A) = {value}, age_days = {out['age_days'][0]}",
        f"{0.5 * 20e6 / (20 * 1e6):.4f} from E1 alone (E2 missing, never zero, but it does not void E1)",
        "rolling_trading_sum returns NaN (not null): `is_not_null()` counts E2 as present and NaN poisons the sum.",
    )


def adjusted_dollar_volume() -> None:
    days = list(trading_days(date(2024, 1, 2), date(2024, 3, 28)))
    w = _weights([(date(2024, 1, 31), "E", "A", 0.5)])
    as_traded = comp.etf_flow_pressure(_flows("E", days), w, _prices("A", days, close=10.0), "A", days[-1:], False)
    both = _prices("A", days, close=8.0).with_columns(pl.lit(10.0).alias("close_traded"))  # as inputs.py reads
    adjusted = comp.etf_flow_pressure(_flows("E", days), w, both, "A", days[-1:], False)

    show(
        4,
        "EFP's dollar volume: adjusted or as-traded close",
        f"{adjusted['value'][0]:.4f} with adj_close = 8 and the traded close 10 (inputs.py: close, close_traded)",
        f"{as_traded['value'][0]:.4f} with the as-traded close 10 (dollar volume = price paid x shares)",
        "old dollar volume is understated by the cumulative dividend factor, so old EFP is overstated.",
    )


def etf_efp_approximation() -> None:
    flows = np.array([0.02] * 20)  # +2% of the previous day's assets every day for 20 days
    approx = flows.sum()
    exact = (np.prod(1 + flows) - 1) / 1.0  # Σ F_s / AUM_{t-20}, assets compounding with the flows
    show(
        5,
        "EFP of an ETF (components.etf_flow_pressure, documented approximation)",
        f"Σ_20d flow_s / AUM_(s-1) = {approx:.4f}",
        f"Σ_20d F_s / AUM_(t-20) = {exact:.4f}",
        "equal only while flows are small; documented in the code as an approximation.",
    )


def percentile_grid() -> None:
    rng = np.random.default_rng(3)
    weekly = np.cumsum(rng.normal(0, 0.01, 200))  # 200 weekly COT net % OI readings
    daily = np.repeat(weekly, 5)  # carried to the daily grid (5 decision days a week)
    t = daily.size - 5  # the first day the newest reading is known
    on_daily = percentile_rank(daily[: t + 1], 252, 20)[-1]
    native = 100.0 * np.sum(weekly[-156:] <= weekly[-1]) / 156
    # what flows.signals does now: futures_positioning ranks the weekly series as known on the day
    tuesdays = [date(2022, 1, 4) + timedelta(weeks=i) for i in range(weekly.size)]
    cot = pl.DataFrame({
        "report_date": tuesdays,
        "available_at": [ny_time_to_utc(d + timedelta(days=3), "15:30") for d in tuesdays],
        "asset_mgr_net_contracts": weekly * 1e6, "lev_funds_net_contracts": 0.0, "open_interest_contracts": 1e6,
    })  # fmt: skip
    fut = comp.futures_positioning(cot, [tuesdays[-1] + timedelta(days=4)], 156, 52)
    show(
        6,
        "Percentile of weekly / bi-monthly / quarterly scores (build._score_rows)",
        f"{fut['percentile'][0]:.1f} now (components.futures_positioning); before the fix {on_daily:.1f} (PR over "
        "the last 252 daily carried values: ~50 weeks, labelled window '156w')",
        f"{native:.1f} (PR_156w over the weekly series; §1.8: no statistics on forward-filled grids)",
        "ranking the forward-filled daily grid used a different window (252 days vs 156 weeks) and counted each "
        "reading ~5 times.",
    )


def percentile_ties() -> None:
    ratios = [0.65, 0.51, 0.53, 0.66, 0.76, 0.63, 0.50, 0.56]  # equity put/call, 2 dp as published
    pc = pl.DataFrame({"trade_date": list(trading_days(date(2024, 1, 2), date(2024, 1, 11))), "put_call_ratio": ratios})
    pc = pc.with_columns(pl.col("trade_date").map_elements(lambda d: ny_time_to_utc(d, "18:00"),
                                                           return_dtype=UTC_US).alias("available_at"))  # fmt: skip
    days = list(trading_days(date(2024, 1, 3), date(2024, 1, 12)))
    out = comp.options_crowding(pc, days, 252, 1)
    vals = out["value"].to_numpy().astype(float)
    pr = percentile_rank(vals, 252, 1)
    show(
        7,
        "Percentile ties broken by float noise (options crowding, 2-dp ratios)",
        f"ln PCR_5d on {days[-1]} = {float(vals[-1])!r}, on {days[-4]} = {float(vals[-4])!r}; "
        f"PR on {days[-1]} over these 4 days = {pr[-1]:.1f}",
        f"both are ln(3.11 / 5): tied, PR = {100 * np.sum(np.round(vals[4:], 12) <= round(vals[-1], 12)) / 4:.1f}",
        "np.convolve sums in another order; 2-dp DTC changes tie the same way (bench: percentile_tie_noise_rows).",
    )


def view_revisions() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="flowscope-discrepancy-"))
    os.environ["FLOWSCOPE_WAREHOUSE"] = str(tmp / "wh" / "flowscope.duckdb")
    from flows import loader
    from flows.signals.inputs import load_inputs
    from flows.signals.timeline import decision_time
    from flows.sources.base import Payload
    from flows.sources.cboe.put_call import SPEC
    from flows.warehouse import connect_write

    days = list(trading_days(date(2025, 1, 2), date(2025, 3, 31)))
    d, x = date(2025, 3, 14), date(2025, 3, 12)  # decision day, and a trade date in its 5-day window

    def csv(override: dict[date, float]) -> bytes:
        rows = [f"{t},equity,{override.get(t, 0.60 + 0.01 * (i % 7)):.2f}" for i, t in enumerate(days)]
        return ("date,segment,put_call_ratio\n" + "\n".join(rows) + "\n").encode()

    con = connect_write()
    loader.ingest(con, SPEC, [Payload("cboe_putcall", csv({}), "pc.csv", datetime(2025, 4, 1, tzinfo=UTC))],
                  tmp / "raw", load_date=date(2025, 4, 1))  # fmt: skip
    revised = Payload("cboe_putcall", csv({x: 0.95}), "pc_v2.csv", datetime(2025, 3, 20, tzinfo=UTC))
    loader.ingest(con, SPEC, [revised], tmp / "raw", load_date=date(2025, 4, 1))
    value = {}
    for label, as_of in (("publish on D", d), ("rebuild on 03-31", date(2025, 3, 31))):
        inputs, _ = load_inputs(con, decision_time(as_of), [])
        seg = inputs.put_call.filter(pl.col("segment") == "equity")
        value[label] = comp.options_crowding(seg, [d], 252, 1)["value"][0]
    con.close()
    shutil.rmtree(tmp, ignore_errors=True)
    x_v1 = math.log(np.mean([0.60 + 0.01 * (i % 7) for i, t in enumerate(days) if t < d][-5:]))  # published by D
    show(
        8,
        "Revisions of datasets read through latest-version views (inputs.py: put_call, prices, etf_flows, "
        "etf_holdings, fundamentals)",
        f"ln PCR_5d for D={d}: {value['publish on D']:.4f} when published on D, {value['rebuild on 03-31']:.4f} "
        f"after a rebuild once {x}'s ratio was revised on 03-20 (the original row vanishes before 03-20)",
        f"{x_v1:.4f} for D in every build: version 1 of {x} was public on D and stays what D knew",
        "COT and short interest are read with all versions from raw (and PIT-tested); the view-read inputs keep "
        "only the latest version, so a full rebuild rewrites history after any revision (for SEC fundamentals "
        "every row that gains a version as inputs arrive).",
    )


if __name__ == "__main__":
    ts_first_window()
    dropped_holding()
    short_window_voids()
    adjusted_dollar_volume()
    etf_efp_approximation()
    percentile_grid()
    percentile_ties()
    view_revisions()
