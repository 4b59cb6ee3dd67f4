"""Build the scores, regimes, persistence profiles and scenario odds (METHODS.md §1, §4, §6).

``compute(inputs, days, cfg, universe)`` is pure: frames in, frames out. ``build(as_of, ...)``
reads the point-in-time inputs (``flows.signals.inputs``), computes the days asked for and writes
them to ``signals.*`` in one transaction (a recomputed day replaces its rows).

Per symbol and decision day D (all inputs public by D 16:00 New York):
- components (``flows.signals.components``): efp (ETF flow pressure), scp (short covering), pcs
  (options crowding, market equity put/call), fut (futures positioning: NQ or ES per
  ``config/universe.yaml``), pm (TS_126), fm (filings momentum);
- cps = mean of the available component z-scores (at least ``cps_min_components``), with its
  trailing z and percentile; pfd = z_pm − z_fm; the regime and the rule that fired;
- the market composite (symbol MARKET): ES and NQ positioning, equity put/call, aggregate ETF flow
  pressure and aggregate short covering, averaged then re-standardised on its own trailing history.
Persistence profiles and scenario odds are computed for the last day of the build only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from flows.signals import components as comp
from flows.signals.inputs import Inputs
from flows.signals.normalise import composite, percentile_rank, warmup_mask, zscore
from flows.signals.persistence import driver_profile, return_profile
from flows.signals.regimes import classify, parse_rules
from flows.signals.timeline import on_events, to_daily

SCORE_COLS = ["date", "symbol", "score", "value", "z", "percentile", "window", "warmup", "age_days"]


@dataclass
class Built:
    scores: pl.DataFrame
    regimes: pl.DataFrame
    persistence: pl.DataFrame = field(default_factory=pl.DataFrame)
    scenarios: pl.DataFrame = field(default_factory=pl.DataFrame)
    notes: list[str] = field(default_factory=list)


def _score_rows(symbol: str, name: str, daily: pl.DataFrame, window: str, pr_window: int) -> pl.DataFrame:
    """Score rows of one daily component frame. ``percentile``: the frame's own (weekly, bi-monthly
    and quarterly drivers rank their native series, ``components.component(native_pr=)``), else PR
    over the last ``pr_window`` daily values (daily scores)."""
    vals = daily["value"].to_numpy().astype(float) if daily.height else np.array([])
    if "percentile" in daily.columns:
        pr = daily["percentile"].fill_null(np.nan).to_numpy().astype(float)
    else:
        pr = percentile_rank(vals, pr_window, min(pr_window, 20)) if vals.size else np.array([])
    return pl.DataFrame({
        "date": daily["date"], "symbol": symbol, "score": name, "value": daily["value"], "z": daily["z"],
        "percentile": pr,
        "window": window, "warmup": daily["warmup"].fill_null(True), "age_days": daily["age_days"].cast(pl.Int32),
    }).with_columns(pl.col("percentile").fill_nan(None))  # fmt: skip


def _derived(days: Sequence[date], value: np.ndarray, w: int, mp: int, age: pl.Series | None = None) -> pl.DataFrame:
    """A daily score built from other scores: its own trailing z (re-standardised) and warm-up."""
    return pl.DataFrame({
        "date": list(days), "value": value, "z": zscore(value, w, mp), "age_days": age,
        "warmup": warmup_mask(value, w),
    }).with_columns(pl.col("value").fill_nan(None), pl.col("z").fill_nan(None)).cast(comp.DAILY_SCHEMA)  # fmt: skip


def _daily_close(px: pl.DataFrame, days: Sequence[date]) -> np.ndarray:
    """Close on each decision day (the day's own bar as first published, at the close); NaN when
    missing. A later revision of the bar does not change what day D saw."""
    grid = pl.DataFrame({"date": list(days)}, schema={"date": pl.Date})
    first = px.sort("date", "available_at").unique("date", keep="first", maintain_order=True)
    got = grid.join(first.select("date", "close"), on="date", how="left")
    return got["close"].fill_null(np.nan).to_numpy().astype(float)


def _value(frame: pl.DataFrame | None, n: int) -> np.ndarray:
    if frame is None or frame.height == 0:
        return np.full(n, np.nan)
    return frame["value"].fill_null(np.nan).to_numpy().astype(float)


def _z(frame: pl.DataFrame | None, n: int) -> np.ndarray:
    if frame is None or frame.height == 0:
        return np.full(n, np.nan)
    return frame["z"].fill_null(np.nan).to_numpy().astype(float)


def compute(inputs: Inputs, days: Sequence[date], cfg: dict[str, Any], universe: dict[str, Any],
            write_from: date | None = None) -> Built:  # fmt: skip
    """Scores and regimes for ``days`` (decision days, ascending). Pure. ``write_from``: the first
    day the caller keeps; scores that no later statistic reads (the EPS / multiple decomposition)
    are computed from it only (the earlier days are look-back for trailing windows)."""
    win = cfg["windows"]
    d_w, d_mp = win["daily"]["window"], win["daily"]["min_periods"]
    wk_w, wk_mp = win["weekly"]["window"], win["weekly"]["min_periods"]
    bm_w, bm_mp = win["bimonthly"]["window"], win["bimonthly"]["min_periods"]
    q_w, q_mp = win["quarterly"]["window"], win["quarterly"]["min_periods"]
    stale = cfg["staleness_days"]
    n = len(days)
    rules = parse_rules(cfg["regimes"])
    first = next((i for i, d in enumerate(days) if d >= write_from), len(days)) if write_from else 0
    out_scores, out_regimes, notes = [], [], []

    fut: dict[str, pl.DataFrame] = {}
    for key, contract in universe["cot_contracts"].items():
        rows = inputs.cot.filter(pl.col("contract_code") == contract["emini"]) if inputs.cot.height else inputs.cot
        if rows.height:
            fut[key] = comp.futures_positioning(rows, days, wk_w, wk_mp, stale["futures"])
            out_scores.append(_score_rows(key.upper(), "fut", fut[key], f"{wk_w}w", d_w))
            weeks = int(win.get("fut_change_weeks", 4))
            change = comp.futures_change(rows, days, weeks, wk_w, wk_mp, stale["futures"])
            out_scores.append(_score_rows(key.upper(), f"fut_change_{weeks}w", change, f"{wk_w}w", d_w))
    pcs = None
    if inputs.put_call.height:
        seg = inputs.put_call.filter(pl.col("segment") == cfg["put_call_segment"])
        pcs = comp.options_crowding(seg, days, d_w, d_mp, win["put_call_avg_days"], stale["put_call"])
        out_scores.append(_score_rows("MARKET", "pcs", pcs, f"{d_w}d", d_w))

    etfs = set(universe["etfs"]) | {universe["market"]}
    nq_names = set(universe.get("futures_for_symbol", {}).get("nq", []))
    symbols = [*universe["tickers"], *universe["etfs"], universe["market"]]
    efp_z, scp_z = {}, {}
    mkt_px = inputs.prices.filter(pl.col("symbol") == universe["market"]) if inputs.prices.height else None
    mkt_close = _daily_close(mkt_px, days) if mkt_px is not None and mkt_px.height else None
    for sym in symbols:
        parts: dict[str, pl.DataFrame] = {}
        if inputs.flows.height and (sym in etfs or inputs.holdings.height):
            parts["efp"] = comp.etf_flow_pressure(
                inputs.flows, inputs.holdings, inputs.prices, sym, days, sym in etfs, win["flow_sum_days"],
                win["flow_min_days"], d_w, d_mp, stale["etf_flow"])  # fmt: skip
        si = inputs.short_interest.filter(pl.col("symbol") == sym) if inputs.short_interest.height else None
        if si is not None and si.height:
            parts["scp"] = comp.short_covering(si, days, bm_w, bm_mp, stale["short_interest"])
        if pcs is not None:
            parts["pcs"] = pcs
        fkey = "nq" if sym in nq_names else universe.get("futures_for_symbol", {}).get("default", "es")
        if fkey in fut:
            parts["fut"] = fut[fkey]
        px = inputs.prices.filter(pl.col("symbol") == sym) if inputs.prices.height else None
        pm = comp.price_momentum(px, days, win["trend_days"], d_w, d_mp) if px is not None and px.height else None
        fq = inputs.fundamentals.filter(pl.col("symbol") == sym) if inputs.fundamentals.height else None
        fm = (
            comp.fundamental_momentum(fq, days, q_w, q_mp, stale["fundamentals"])
            if fq is not None and fq["fiscal_period_end"].n_unique() >= 5
            else None
        )
        for name, frame in parts.items():
            if name != "pcs":
                out_scores.append(
                    _score_rows(sym, name, frame, {"efp": f"{d_w}d", "scp": f"{bm_w}obs", "fut": f"{wk_w}w"}[name], d_w)
                )
        efp_z[sym], scp_z[sym] = _z(parts.get("efp"), n), _z(parts.get("scp"), n)
        zs = [_z(f, n) for f in parts.values()]
        cps_val = composite(zs, cfg["cps_min_components"]) if zs else np.full(n, np.nan)
        cps = _derived(days, cps_val, d_w, d_mp)
        out_scores.append(_score_rows(sym, "cps", cps, f"{d_w}d", d_w))
        z_pm, z_fm = _z(pm, n), _z(fm, n)
        if pm is not None:
            out_scores.append(_score_rows(sym, "pm", pm, f"{d_w}d", d_w))
        if fm is not None:
            out_scores.append(_score_rows(sym, "fm", fm, f"{q_w}q", d_w))
        pfd_val = z_pm - z_fm
        pfd = _derived(days, pfd_val, d_w, d_mp)
        if fm is not None:
            out_scores.append(_score_rows(sym, "pfd", pfd, f"{d_w}d", d_w))
        out_regimes.append(_regimes(sym, days, cps_val, pfd_val, z_fm, z_pm, rules))
        if px is not None and px.height:
            close = _daily_close(px, days)
            if sym != universe["market"] and mkt_close is not None:
                comps = {k: _z(parts.get(k), n) for k in ("efp", "scp", "fut", "pcs")}
                comps["fut"] = _value(parts.get("fut"), n)
                fm_value = _value(fm, n)
                out_scores += csev_rows(sym, days, close, mkt_close, fm_value, comps, win["csev_weeks"], True)
            if fq is not None and fq.height:
                # the newest quarter's TTM EPS as known at each publication (versions included)
                ttm_rows = on_events(
                    fq.select(pl.col("fiscal_period_end").alias("key_date"), pl.col("ttm_eps").alias("value"),
                              "available_at", *(["version"] if "version" in fq.columns else [])),
                    lambda vals, _dates: vals,
                )  # fmt: skip
                ttm = to_daily(ttm_rows, days, max_age_days=stale["fundamentals"])["stat"]
                out_scores += decomposition_rows(
                    sym, days, close, ttm.fill_null(np.nan).to_numpy().astype(float), first=first
                )

    # market composite: ES, NQ, equity PCR, aggregate ETF flows, aggregate short covering
    agg_flow = composite([efp_z[s] for s in etfs if s in efp_z], 1)
    agg_si = composite([scp_z[s] for s in universe["tickers"] if s in scp_z], 1)
    market_parts = [_z(fut.get("es"), n), _z(fut.get("nq"), n), _z(pcs, n), agg_flow, agg_si]
    mk = _derived(days, composite(market_parts, cfg["cps_min_components"]), d_w, d_mp)
    out_scores.append(_score_rows("MARKET", "market_positioning", mk, f"{d_w}d", d_w))

    scores = (
        pl.concat([s.select(SCORE_COLS) for s in out_scores], how="vertical_relaxed") if out_scores else pl.DataFrame()
    )
    regimes = pl.concat(out_regimes) if out_regimes else pl.DataFrame()
    return Built(scores, regimes, notes=notes)


def _regimes(sym: str, days: Sequence[date], cps: np.ndarray, pfd: np.ndarray, z_fm: np.ndarray, z_pm: np.ndarray,
             rules: list) -> pl.DataFrame:  # type: ignore[type-arg]  # fmt: skip
    labels, fired = [], []
    for i in range(len(days)):
        vals = {k: (None if not math.isfinite(v[i]) else float(v[i]))
                for k, v in (("cps", cps), ("pfd", pfd), ("z_fm", z_fm), ("z_pm", z_pm))}  # fmt: skip
        label, rule = classify(vals, rules)
        labels.append(label)
        fired.append(rule)
    clean = [np.where(np.isfinite(a), a, np.nan) for a in (cps, pfd, z_fm, z_pm)]
    return pl.DataFrame({
        "date": list(days), "symbol": sym, "regime": labels, "rule": fired,
        "cps": clean[0], "pfd": clean[1], "z_fm": clean[2], "z_pm": clean[3],
    }).with_columns(pl.col(c).fill_nan(None) for c in ("cps", "pfd", "z_fm", "z_pm"))  # fmt: skip


def persistence_rows(inputs: Inputs, as_of: date, universe: dict[str, Any]) -> pl.DataFrame:
    """Persistence profiles on the build's last day: returns (trailing 504 days) and the drivers on
    their native grids (weekly COT net change, bi-monthly ΔDTC, daily ETF flows, daily put/call)."""
    rows = []
    symbols = [*universe["tickers"], *universe["etfs"], universe["market"]]
    prices, flows, put_call = inputs.latest("prices"), inputs.latest("flows"), inputs.latest("put_call")
    for sym in symbols:
        if prices.height:
            px = prices.filter((pl.col("symbol") == sym) & (pl.col("date") <= as_of)).sort("date").tail(505)
            if px.height > 60:
                r = np.diff(np.log(px["close"].to_numpy().astype(float)))
                rows += [(sym, p) for p in return_profile(r)]
        if inputs.short_interest.height:
            si = inputs.short_interest.filter(pl.col("symbol") == sym).sort("settlement_date", "version")
            si = si.unique("settlement_date", keep="last").sort("settlement_date")
            if si.height > 10:
                rows += [
                    (sym, p)
                    for p in driver_profile("dtc_change", np.diff(si["days_to_cover"].to_numpy().astype(float)))
                ]
        if flows.height and sym in set(universe["etfs"]) | {universe["market"]}:
            fl = flows.filter(pl.col("symbol") == sym).sort("date").tail(504)
            if fl.height > 20:
                rows += [(sym, p) for p in driver_profile("etf_flow", fl["flow_usd"].to_numpy().astype(float), vr_q=5)]
    if inputs.cot.height:
        for key, contract in universe["cot_contracts"].items():
            c = inputs.cot.filter(pl.col("contract_code") == contract["emini"]).sort("report_date", "version")
            c = c.unique("report_date", keep="last").sort("report_date").tail(157)
            if c.height > 20:
                net = (c["asset_mgr_net_contracts"] + c["lev_funds_net_contracts"]).to_numpy().astype(float)
                rows += [(key.upper(), p) for p in driver_profile("cot_net_change", np.diff(net))]
    if put_call.height:
        pc = put_call.filter(pl.col("segment") == "equity").sort("trade_date").tail(253)
        if pc.height > 20:
            rows += [
                ("MARKET", p) for p in driver_profile("put_call", np.diff(np.log(pc["put_call_ratio"].to_numpy())), 5)
            ]
    return pl.DataFrame(
        [
            {
                "date": as_of,
                "symbol": s,
                "series": p.series,
                "measure": p.measure,
                "value": p.value,
                "stat": p.stat,
                "p_value": p.p_value,
                "n": p.n,
            }
            for s, p in rows
        ],
        schema={
            "date": pl.Date,
            "symbol": pl.Utf8,
            "series": pl.Utf8,
            "measure": pl.Utf8,
            "value": pl.Float64,
            "stat": pl.Float64,
            "p_value": pl.Float64,
            "n": pl.Int32,
        },
    )


def scenario_rows(regimes: pl.DataFrame, prices: pl.DataFrame, as_of: date, cfg: dict[str, Any]) -> pl.DataFrame:
    """Scenario odds for the configured symbols: forward 5/20-day returns conditional on the
    symbol's regime today, from its own history of regimes (block-bootstrap intervals)."""
    from flows.signals.scenarios import scenario_odds

    sc = cfg["scenarios"]
    rows = []
    for sym in sc["symbols"]:
        reg = regimes.filter((pl.col("symbol") == sym) & (pl.col("date") <= as_of)).sort("date")
        px = prices.filter((pl.col("symbol") == sym) & (pl.col("date") <= as_of)).sort("date")
        if reg.height == 0 or px.height < 60:
            continue
        joined = px.join(reg.select("date", "regime"), on="date", how="left")
        today = joined.filter(pl.col("date") == joined["date"].max())["regime"][0]
        if today is None:
            continue
        for h in sc["horizons_days"]:
            res = scenario_odds(
                joined["date"].to_list(), joined["close"].to_numpy().astype(float),
                joined["regime"].fill_null("").to_list(), h, current=today,
                sigma_multiples=tuple(sc["bucket_sigmas"]), n_boot=sc["bootstrap"]["n"], seed=sc["bootstrap"]["seed"],
                bucket_names=("pessimistic", "baseline", "optimistic"),
            )  # fmt: skip
            lows = [None, *res.cutoffs_simple]
            highs = [*res.cutoffs_simple, None]
            for i, bucket in enumerate(res.buckets):
                rows.append({
                    "as_of": as_of, "symbol": sym, "condition": f"regime = {today}", "horizon_days": h,
                    "outcome_bucket": bucket, "probability": _num(res.prob[bucket]), "ci_low": _num(res.ci[bucket][0]),
                    "ci_high": _num(res.ci[bucket][1]), "n": int(res.count[bucket]), "n_eff": _num(res.n_eff),
                    "cutoff_low": _num(lows[i]), "cutoff_high": _num(highs[i]),
                })  # fmt: skip
    return pl.DataFrame(rows) if rows else pl.DataFrame()


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def weekly_positions(days: Sequence[date]) -> list[int]:
    """Indices of the last NYSE trading day of each ISO week (the weekly grid of CSEV); a week still
    in progress on the last day has no point yet, so an increment and a rebuild agree."""
    from flows.calendar import add_business_days

    return [
        i for i, d in enumerate(days) if add_business_days(d, 1, federal=False).isocalendar()[:2] != d.isocalendar()[:2]
    ]


def csev_rows(
    sym: str,
    days: Sequence[date],
    close: np.ndarray,
    market_close: np.ndarray,
    fm_value: np.ndarray,
    components: dict[str, np.ndarray],
    window: int,
    bootstrap_last: bool,
) -> list[pl.DataFrame]:
    """Capital share of explained variance (METHODS §4.4 score 3) on the weekly grid.

    r_w = a + β r_m,w + γ_F ΔF_w + γ_C' C_w; ΔF_w = the surprise (SUE) of a quarter first public
    in week w, 0 in other weeks; C_w = [EFP z, ΔDTC (short-covering z change), ΔFUT (futures value
    change), ΔPCS (options z change)] at the week's close. CSEV = LMG(C)/R² over the trailing
    ``window`` weeks, contemporaneous and with C lagged one week; bootstrap interval on the last."""
    from flows.signals.attribution import DEFAULT_GROUPS, block_bootstrap_lmg, lag_regressors, rolling_lmg

    wk = weekly_positions(days)
    if len(wk) < 30:
        return []
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.diff(np.log(close[wk]), prepend=np.nan)
        rm = np.diff(np.log(market_close[wk]), prepend=np.nan)
    fmv = fm_value[wk]
    shock = np.where(np.isfinite(fmv) & (np.diff(fmv, prepend=np.nan) != 0), fmv, 0.0)
    shock[~np.isfinite(shock)] = 0.0

    def diff(a: np.ndarray) -> np.ndarray:
        return np.diff(a[wk], prepend=np.nan)

    X = {"r_m": rm, "dF": shock, "EFP": components["efp"][wk], "dDTC": diff(components["scp"]),
         "dFUT": diff(components["fut"]), "dPCS": diff(components["pcs"])}  # fmt: skip
    groups = {g: [c for c in cols if np.isfinite(X[c]).sum() > 20] for g, cols in DEFAULT_GROUPS.items()}
    groups = {g: cols for g, cols in groups.items() if cols}
    if "capital" not in groups:
        return []
    wdays = [days[i] for i in wk]
    out = []
    for name, xs in (("csev", X), ("csev_lagged", {**X, **lag_regressors(X)})):
        roll = rolling_lmg(r, xs, groups, window=window, min_obs=min(window, 52))
        vals = roll.csev
        out.append(pl.DataFrame({
            "date": wdays, "symbol": sym, "score": name, "value": vals, "z": None, "percentile": None,
            "window": f"{window}w", "warmup": roll.n < window, "age_days": None,
        }).with_columns(pl.col("value").fill_nan(None)))  # fmt: skip
        if bootstrap_last and np.isfinite(vals[-1]):
            bs = block_bootstrap_lmg(r, xs, groups, window=window, n_boot=300, seed=1)
            lo, hi = bs.share_ci.get("capital", (np.nan, np.nan))
            out.append(pl.DataFrame({
                "date": [wdays[-1]] * 2, "symbol": sym, "score": [f"{name}_ci_low", f"{name}_ci_high"],
                "value": [lo, hi], "z": None, "percentile": None, "window": f"{window}w",
                "warmup": bool(roll.n[-1] < window), "age_days": None,
            }).with_columns(pl.col("value").fill_nan(None)))  # fmt: skip
    return out


def decomposition_rows(sym: str, days: Sequence[date], close: np.ndarray, ttm_eps: np.ndarray,
                       horizons: Sequence[int] = (21, 63, 126), first: int = 0) -> list[pl.DataFrame]:  # fmt: skip
    """EPS / multiple decomposition (METHODS §4.1) of the h-day move, with TTM diluted EPS as known
    on each end day: value columns dlog_price_{h}d, dlog_eps_{h}d, dlog_pe_{h}d, multiple_share_{h}d
    (shares null in METHODS' degenerate cases). Rows for end days from index ``first`` on."""
    from flows.signals.decomposition import decompose

    n = len(days)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.diff(np.log(close), prepend=np.nan)
    out = []
    for h in horizons:
        cols: dict[str, list[float | None]] = {
            k: [None] * n for k in ("dlog_price", "dlog_eps", "dlog_pe", "multiple_share")
        }
        for i in range(max(h, first), n):
            p0, p1 = close[i - h], close[i]
            if not (np.isfinite(p0) and np.isfinite(p1) and p0 > 0 and p1 > 0):
                continue
            window_r = r[max(1, i - 251) : i + 1]
            window_r = window_r[np.isfinite(window_r)]
            sigma_h = float(np.std(window_r, ddof=1) * math.sqrt(h)) if window_r.size > 20 else None
            e0, e1 = ttm_eps[i - h], ttm_eps[i]
            d = decompose(float(p0), float(p1), float(e0) if np.isfinite(e0) else None,
                          float(e1) if np.isfinite(e1) else None, sigma_h)  # fmt: skip
            cols["dlog_price"][i], cols["dlog_eps"][i] = d.dlog_price, d.dlog_eps
            cols["dlog_pe"][i], cols["multiple_share"][i] = d.dlog_pe, d.multiple_share
        for k, vals in cols.items():
            out.append(pl.DataFrame({
                "date": list(days), "symbol": sym, "score": f"{k}_{h}d", "value": vals, "z": None,
                "percentile": None, "window": f"{h}d", "warmup": False, "age_days": None,
            }, schema_overrides={"value": pl.Float64}).filter(pl.col("value").is_not_null()))  # fmt: skip
    return out
