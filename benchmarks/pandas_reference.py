"""A straightforward pandas reference for the per-symbol scores of ``flows.signals.build.compute``.

Written the way an analyst would write it, independently of ``flows.signals`` (nothing is imported
from it): for every decision day D, take the rows public by D's decision time (``available_at <=``
D 16:00 New York), keep the latest version of each row, rebuild each driver series as known then,
compute the statistic on the whole series with pandas, and keep its last value. Derived daily
scores (EFP z, CPS, PFD, the market composite, percentiles) are then trailing pandas ``rolling``
windows over those day-by-day values, which are point-in-time by construction.

Definitions (METHODS.md §1.4, §3.1-3.3, §4.3-4.4; windows from ``config/signals.yaml``):

- ``Z_W(x)_t = clip((x_t - mean(x_{t-W..t-1})) / sd(x_{t-W..t-1}), ±3)``: window excludes t, counts
  *positions* of the series (missing values skipped), ``sd`` with ddof 1, null below ``min_periods``
  values or when sd = 0; ``warmup`` = fewer than W values in that window.
- ``PR_W(x)_t = 100 · #{s in [t-W+1, t]: x_s <= x_t} / #values present``, W = 252 daily rows, at
  least 20 present (as ``flows.signals`` stores it; see DEVIATIONS below).
- fut = Z_156w((AM net + LF net) / OI), weekly, per contract (ES ``13874A`` / NQ ``209742``).
- pcs = −Z_252(ln PCR_5d), PCR_5d = mean of the last five published equity ratios.
- scp = −(DTC_τ − DTC_τ−1) over published settlements, Z over 48 settlements (min 12).
- pm = TS_126 = Σ_126 r / (σ_t · √126), σ_t the ex-ante EWMA vol, ``ewm(com=60)`` over returns
  through t−1 (biased weighted variance, weights normalised: ``adjust=True``); z = Z_252(pm). Prices:
  one series per symbol, the publication with the most bars public (as ``flows.signals.inputs``).
- fm (filings only): mean of Z_12q(SUE_q) and Z_12q(YoY revenue-growth acceleration);
  SUE_q = (EPS_q − EPS_{q−4}) / sd of that difference over the prior 8 quarters (at least 4).
- efp: ETF k: Σ_20d flow_frac_aum; stock i: Σ_k w_{k,i} Σ_20d F_k / Σ_20d (close · volume), w the
  latest holdings snapshot public by the decision; 20 NYSE trading days ending at the newest row, at
  least 15 present. z = Z_252 of the daily efp values.
- cps = mean of the available component z's (efp, scp, pcs, fut), at least 2; re-standardised on
  its own trailing 252 days. pfd = Z(pm) − Z(fm), re-standardised the same way. The market
  composite: ES, NQ, pcs, mean ETF efp z, mean ticker scp z (at least 2), re-standardised.
- A component older than its staleness limit (days from its newest input's date to D) is null.

DEVIATIONS: places where ``flows.signals`` departed from METHODS. The reference follows METHODS
when the corresponding ``Conventions`` flag is False and reproduces the old ``flows.signals``
behaviour when True. All are fixed in ``flows.signals`` now, so every default is False (the
benchmark's equality check is against METHODS); the flags stay to measure what each one changed:

- ``ts_first_window_125``: the first TS_126 was computed from 125 returns (a missing return counted
  as 0). Fixed in ``measures.trend_stat``.
- ``percentile_daily_grid``: every score's percentile ranked its *daily carried* values over 252
  days, also for weekly COT (METHODS §4.3: PR_156w on the weekly series) and bi-monthly short
  interest (PR over 48 settlements) and quarterly fm. Fixed (``components.component(native_pr=)``:
  PR_W with the fixed 1/W of METHODS §4.3 on the native series as known at D: COT net % OI over 156
  weeks, −ΔDTC over 48 settlements, SUE over 12 quarters).
- ``etf_efp_daily_frac``: ETF EFP was Σ_20d of each day's flow / the previous day's assets instead of
  METHODS §4.4a Σ_20d F / AUM_{t−20}. Fixed in ``components.etf_own_pressure``.
- ``weights_last_seen``: a stock dropped from ETF k kept its last weight for ever; METHODS §4.4a: the
  weight in k's latest public holdings file (0 when not held). Fixed in ``components.etf_weight_daily``.
  The synthetic universe keeps memberships constant, so this flag changes nothing there.
- ``dv_adjusted_close``: dollar volume used the dividend-adjusted close; it is the as-traded close
  times volume. Fixed (``inputs.py`` reads ``close_traded``).
- ``short_flow_sum_poisons``: an ETF with fewer than 15 flow days in its window voided the stock's
  EFP. Fixed (a short window is null, not present).

Revisions of the view-read datasets (put/call, prices, ETF flows, holdings, fundamentals) are kept
as versions by ``flows.signals.inputs`` (view snapshots before each revision moment); the reference
reads every version from the raw tables. The synthetic universe revises COT and short interest.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import yaml

NEW_YORK = ZoneInfo("America/New_York")
COVERED = ["fut", "pcs", "scp", "pm", "fm", "efp", "cps", "pfd", "market_positioning"]
SCORE_COLS = ["date", "symbol", "score", "value", "z", "percentile", "window", "warmup", "age_days"]
REGIME_COLS = ["date", "symbol", "regime", "rule", "cps", "pfd", "z_fm", "z_pm"]
PRICE_RANK = ["yahoo_csv_adj", "yahoo_csv", "nasdaq_api", "cboe_delayed", "alphavantage_csv", "user_csv"]
PUT_CALL_RANK = ["cboe_daily_json", "cboe_archive", "cboe_archive_old"]
SHARES_RANK = ["ishares", "ssga", "vaneck", "invesco"]


@dataclass(frozen=True)
class Conventions:
    """True = reproduce ``flows.signals`` at a documented deviation from METHODS (see the module doc)."""

    ts_first_window_125: bool = False  # fixed in flows.signals (a missing return is never zero)
    percentile_daily_grid: bool = False  # fixed for fut, scp and fm (native-grid PR_W, components.component)
    etf_efp_daily_frac: bool = False  # fixed in flows.signals (components.etf_own_pressure)
    weights_last_seen: bool = False  # fixed in flows.signals (components.etf_weight_daily)
    dv_adjusted_close: bool = False  # fixed in flows.signals (DV = as-traded close x volume)
    short_flow_sum_poisons: bool = False  # fixed in flows.signals (NaN windows are null, not present)

    @classmethod
    def methods(cls) -> Conventions:
        return cls(*(False for _ in range(6)))

    def active(self) -> list[str]:
        return [k for k, v in self.__dict__.items() if v]


# ---- reading the warehouse (all rows, all versions) ----------------------------------------------


@dataclass
class Raw:
    cot: pd.DataFrame
    put_call: pd.DataFrame
    short_interest: pd.DataFrame
    prices: pd.DataFrame
    shares: pd.DataFrame
    holdings: pd.DataFrame
    fundamentals: pd.DataFrame


def load_raw(con: Any) -> Raw:
    """Every row and version the scores can use, straight from the raw tables (and the fundamentals
    mart, which is itself versioned by availability)."""

    def q(sql: str) -> pd.DataFrame:
        df = con.sql(sql).df()
        for c in df.columns:
            if c == "available_at":
                df[c] = pd.to_datetime(df[c], utc=True)
            elif c.endswith("date") or c in ("date", "fiscal_period_end"):
                df[c] = pd.to_datetime(df[c])
        return df

    def table_exists(name: str) -> bool:
        schema, table = name.split(".")
        sql = "select count(*) from information_schema.tables where table_schema = ? and table_name = ?"
        return con.execute(sql, [schema, table]).fetchall()[0][0] > 0

    funda = (
        q("""select symbol, source, period_kind, fiscal_period_end, version, available_at, eps_diluted_usd,
                    revenue_usd from marts.fundamentals where period_kind = 'quarter'""")
        if table_exists("marts.fundamentals")
        else pd.DataFrame()
    )  # fmt: skip
    return Raw(
        cot=q("""select contract_code, report_date, version, available_at,
                        asset_mgr_long_contracts - asset_mgr_short_contracts as am_net,
                        lev_funds_long_contracts - lev_funds_short_contracts as lf_net,
                        open_interest_contracts as oi from raw.cftc__tff"""),
        put_call=q("""select trade_date, segment, series_source, version, available_at, put_call_ratio,
                             call_volume_contracts, put_volume_contracts from raw.cboe__put_call"""),
        short_interest=q("""select settlement_date, symbol, series_source, version, available_at, days_to_cover
                            from raw.finra__short_interest"""),
        prices=q("""select date, symbol, series_source, version, available_at, close, adj_close, volume
                    from raw.prices__daily"""),
        shares=q("""select date, symbol, source, version, available_at, shares_outstanding, nav_usd, close_usd,
                           prev_trading_date, next_trading_date from raw.etf__shares"""),
        holdings=q("""select etf, as_of_date, symbol, series_source, version, available_at, weight_frac, asset_class
                      from raw.etf__holdings"""),
        fundamentals=funda,
    )  # fmt: skip


def load_config(config_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    cfg = yaml.safe_load((Path(config_dir) / "signals.yaml").read_text())
    uni = yaml.safe_load((Path(config_dir) / "universe.yaml").read_text())
    return cfg, uni


# ---- small pieces -----------------------------------------------------------------------------


def decision_time(d: date, hhmm: str) -> pd.Timestamp:
    hh, mm = (int(x) for x in hhmm.split(":"))
    return pd.Timestamp(datetime.combine(d, time(hh, mm), tzinfo=NEW_YORK)).tz_convert("UTC")


def prepare(frame: pd.DataFrame, key: list[str], source: str | None = None, order: list[str] | None = None,
            keep: list[str] | None = None) -> pd.DataFrame:  # fmt: skip
    """Sort a driver's rows once by key, publication rank and version; the publication name becomes a
    numeric ``_rank`` (its position in ``order``; unknown names after, alphabetically)."""
    f = frame.copy()
    if source is None:
        f["_rank"] = 0
    else:
        names = sorted(set(f[source].dropna()), key=lambda n: (order.index(n) if order and n in order else 99, n))
        f["_rank"] = f[source].map({n: i for i, n in enumerate(names)}).astype("int64")
    cols = [*key, "_rank", "version", "available_at", *(keep or [])]
    f = f.sort_values([*key, "_rank", "version"])[cols].reset_index(drop=True)
    f.attrs["one_row_per_key"] = not f.duplicated(key).any()
    return f


def known(frame: pd.DataFrame, cutoff: pd.Timestamp, key: list[str]) -> pd.DataFrame:
    """Rows public by ``cutoff`` (a ``prepare``-d frame): the latest version of each (key,
    publication), then the best-ranked publication of each key; sorted by key."""
    rows = frame[frame["available_at"] <= cutoff]
    if frame.attrs.get("one_row_per_key"):  # no revisions, one publication: nothing to choose
        return rows
    rows = rows.drop_duplicates([*key, "_rank"], keep="last")
    return rows.drop_duplicates(key, keep="first")


def last_z(series: pd.Series, window: int, min_periods: int) -> tuple[float, bool]:
    """(Z of the last value against the previous ``window`` positions, warm-up flag)."""
    if len(series) == 0:
        return math.nan, True
    x = series.iloc[-1]
    prev = series.iloc[max(0, len(series) - 1 - window) : len(series) - 1]
    n = int(prev.count())
    warm = n < window
    if n < min_periods or not np.isfinite(x):
        return math.nan, warm
    sd = prev.std()
    if not sd > 0:
        return math.nan, warm
    return float(np.clip((x - prev.mean()) / sd, -3.0, 3.0)), warm


@dataclass
class Reading:
    """One component on one decision day: value, z (null when stale), age of the newest input, warm-up."""

    value: float = math.nan
    z: float = math.nan
    age: float = math.nan  # days; nan = nothing known yet
    warm: bool | None = None  # None = nothing known yet

    def stale(self, max_age: int) -> Reading:
        if np.isfinite(self.age) and self.age > max_age:
            return Reading(math.nan, math.nan, self.age, self.warm)
        return self


def native(series: pd.Series, dates: pd.Series, day: date, window: int, min_periods: int, max_age: int,
           sign: float = 1.0) -> Reading:  # fmt: skip
    """A component read on its own (native) grid: the last value, its trailing z, its age."""
    if len(series) == 0:
        return Reading()
    z, warm = last_z(series, window, min_periods)
    age = (pd.Timestamp(day) - dates.iloc[-1]).days
    value = float(series.iloc[-1])
    return Reading(value, sign * z, age, warm).stale(max_age)


def trailing_z(x: pd.Series, window: int, min_periods: int) -> pd.Series:
    prev = x.shift(1)
    mean = prev.rolling(window, min_periods=min_periods).mean()
    sd = prev.rolling(window, min_periods=min_periods).std()
    z = ((x - mean) / sd).clip(-3, 3)
    return z.where(sd > 0)


def warmup(x: pd.Series, window: int) -> pd.Series:
    return x.shift(1).rolling(window, min_periods=0).count() < window


def _rounded(x: pd.Series) -> pd.Series:
    return x.map(lambda v: float(f"{v:.12g}"))


def percentile(x: pd.Series, window: int, min_periods: int) -> tuple[pd.Series, pd.Series]:
    """PR_W with ties counted as <= (``hi``), and the lowest value float noise in tied values could give
    (``lo`` = strictly below + itself). Values equal to 12 significant digits are ties."""
    r = _rounded(x).rolling(window, min_periods=min_periods)
    return 100.0 * r.rank(method="max", pct=True), 100.0 * r.rank(method="min", pct=True)


def mean_of(parts: list[pd.Series], min_present: int) -> pd.Series:
    frame = pd.concat(parts, axis=1)
    return frame.mean(axis=1).where(frame.count(axis=1) >= min_present)


# ---- the reference --------------------------------------------------------------------------------


class Reference:
    def __init__(self, raw: Raw, cfg: dict[str, Any], uni: dict[str, Any], conventions: Conventions | None = None,
                 trading_days: list[date] | None = None) -> None:  # fmt: skip
        self.cfg, self.uni = cfg, uni
        self.conv = conventions or Conventions()
        w = cfg["windows"]
        self.d_w, self.d_mp = w["daily"]["window"], w["daily"]["min_periods"]
        self.wk_w, self.wk_mp = w["weekly"]["window"], w["weekly"]["min_periods"]
        self.bm_w, self.bm_mp = w["bimonthly"]["window"], w["bimonthly"]["min_periods"]
        self.q_w, self.q_mp = w["quarterly"]["window"], w["quarterly"]["min_periods"]
        self.n_sum, self.n_min = w["flow_sum_days"], w["flow_min_days"]
        self.stale = cfg["staleness_days"]
        self.tickers = list(uni["tickers"])
        self.etfs = [*uni["etfs"], uni["market"]]
        self.symbols = [*self.tickers, *uni["etfs"], uni["market"]]
        self.nq = set(uni.get("futures_for_symbol", {}).get("nq", []))
        self.default_fut = uni.get("futures_for_symbol", {}).get("default", "es")
        self.contracts = {k: c["emini"] for k, c in uni["cot_contracts"].items()}
        self._check_simplifications(raw)
        # every driver's rows, grouped once (by contract / symbol / ETF) and sorted by key and version
        cot = raw.cot.assign(x=(raw.cot["am_net"] + raw.cot["lf_net"]) / raw.cot["oi"])
        self.cot = {k: prepare(cot[cot["contract_code"] == c], ["report_date"], keep=["x"])
                    for k, c in self.contracts.items()}  # fmt: skip
        pc = raw.put_call[raw.put_call["segment"] == cfg["put_call_segment"]]
        pc = pc.assign(ratio=pc["put_call_ratio"].fillna((pc["put_volume_contracts"] / pc["call_volume_contracts"])
                                                           .round(2)))  # fmt: skip
        self.put_call = prepare(pc, ["trade_date"], "series_source", PUT_CALL_RANK, ["ratio"])
        si = raw.short_interest[raw.short_interest["days_to_cover"].notna()]
        self.si = {s: prepare(g, ["settlement_date"], "series_source", None, ["days_to_cover"])
                   for s, g in si.groupby("symbol")}  # fmt: skip
        self.prices = {s: prepare(g, ["date"], "series_source", PRICE_RANK, ["close", "adj_close", "volume"])
                       for s, g in raw.prices.groupby("symbol")}  # fmt: skip
        self.shares = {s: prepare(g, ["date"], "source", SHARES_RANK, ["shares_outstanding", "nav_usd", "close_usd",
                                                                       "prev_trading_date", "next_trading_date"])
                       for s, g in raw.shares.groupby("symbol")}  # fmt: skip
        eq = raw.holdings[raw.holdings["asset_class"] == "equity"]
        rank = ["issuer", "user_csv", "nport"]
        self.held = {(s, e): prepare(g, ["as_of_date"], "series_source", rank, ["weight_frac"])
                     for (s, e), g in eq.groupby(["symbol", "etf"])}  # fmt: skip
        self.snapshots = {e: prepare(g, ["as_of_date", "symbol"], "series_source", rank, ["weight_frac"])
                          for e, g in eq.groupby("etf")}  # fmt: skip
        self.funda = (
            {s: prepare(g, ["fiscal_period_end"], "source", ["sec", "vendor"], ["eps_diluted_usd", "revenue_usd"])
             for s, g in raw.fundamentals.groupby("symbol")} if len(raw.fundamentals) else {}
        )  # fmt: skip
        cal = trading_days or sorted({d.date() for d in raw.prices["date"]})
        self.calendar = pd.DatetimeIndex(pd.to_datetime(cal))

    def _check_simplifications(self, raw: Raw) -> None:
        """The reference does not rank several issuers of one ETF's shares, nor neutralise splits."""
        per = raw.shares.groupby("symbol")["source"].nunique()
        if (per > 1).any():
            raise ValueError(f"reference: several share sources for {list(per[per > 1].index)}")
        so = raw.shares.sort_values(["symbol", "date"])
        ratio = so["shares_outstanding"] / so.groupby("symbol")["shares_outstanding"].shift(1)
        for k in (2, 3, 4, 5, 10, 1 / 2, 1 / 3, 1 / 4, 1 / 5, 1 / 10):
            if ((ratio / k - 1).abs() <= 0.05).any():
                raise ValueError("reference: a share count jumps by a split ratio (split handling not implemented)")

    # -- one component per decision day ---------------------------------------------------------

    def fut(self, key: str, day: date, cutoff: pd.Timestamp) -> Reading:
        rows = known(self.cot[key], cutoff, ["report_date"])
        return native(rows["x"], rows["report_date"], day, self.wk_w, self.wk_mp, self.stale["futures"])

    def pcs(self, day: date, cutoff: pd.Timestamp) -> Reading:
        rows = known(self.put_call, cutoff, ["trade_date"])
        rows = rows[rows["ratio"].notna()]
        ln_avg = np.log(rows["ratio"].rolling(self.cfg["windows"]["put_call_avg_days"]).mean())
        return native(ln_avg, rows["trade_date"], day, self.d_w, self.d_mp, self.stale["put_call"], sign=-1.0)

    def scp(self, sym: str, day: date, cutoff: pd.Timestamp) -> Reading:
        rows = known(self.si[sym], cutoff, ["settlement_date"])
        neg_change = -rows["days_to_cover"].diff()
        return native(neg_change, rows["settlement_date"], day, self.bm_w, self.bm_mp, self.stale["short_interest"])

    def price_series(self, sym: str, cutoff: pd.Timestamp) -> pd.DataFrame:
        """One price series per symbol (flows.signals.inputs): the publication with the most bars public
        by the decision, latest version of each bar, adjusted close where given, positive prices only."""
        rows = self.prices[sym][self.prices[sym]["available_at"] <= cutoff]
        rows = rows.drop_duplicates(["date", "_rank"], keep="last")
        if len(rows) == 0:
            return rows.assign(px=pd.Series(dtype=float))
        counts = rows["_rank"].value_counts()
        best = counts[counts == counts.max()].index.min()
        rows = rows[rows["_rank"] == best]
        rows = rows.assign(px=rows["adj_close"].fillna(rows["close"]))
        return rows[rows["px"] > 0]

    def pm(self, px: pd.DataFrame, day: date) -> Reading:
        n = self.cfg["windows"]["trend_days"]
        r = np.log(px["px"]).diff()
        sigma = np.sqrt(r.ewm(com=60, adjust=True).var(bias=True)).shift(1)  # ex-ante: returns through t-1
        # DEVIATION ts_first_window_125: the missing first return counted as 0
        total = (r.fillna(0.0) if self.conv.ts_first_window_125 else r).rolling(n).sum()
        ts = total / (sigma * math.sqrt(n))
        return native(ts, px["date"], day, self.d_w, self.d_mp, 7)

    def window_sum(self, values: pd.Series, dates: pd.Series) -> float:
        """Sum of the values dated in the 20 NYSE trading days ending at the newest row (>= 15 present)."""
        if len(values) == 0:
            return math.nan
        end = dates.iloc[-1]
        start = self.calendar[max(0, self.calendar.searchsorted(end) - self.n_sum + 1)]
        inside = values[(dates >= start).to_numpy()]
        return float(inside.sum()) if inside.count() >= self.n_min else math.nan

    def flows(self, etf: str, cutoff: pd.Timestamp) -> pd.DataFrame:
        """ETF flows as known at cutoff (sql/analytics/etf_flows.sql: shares x NAV, dated one trading day
        after the share count), for one publisher per fund and no share splits (checked in __init__)."""
        s = known(self.shares[etf], cutoff, ["date"])
        s = s[s["shares_outstanding"].notna()]
        prev_date, prev_so = s["date"].shift(1), s["shares_outstanding"].shift(1)
        price = s["nav_usd"].fillna(s["close_usd"])
        ok = prev_date.notna() & (prev_date == s["prev_trading_date"]) & price.notna()
        change = s["shares_outstanding"] - prev_so
        out = pd.DataFrame({"date": s["next_trading_date"], "flow_usd": change * price,
                            "flow_frac_aum": change / prev_so, "assets_before": prev_so * price})  # fmt: skip
        return out[ok & out["flow_usd"].notna()]

    def flow_sums(self, etf: str, day: date, cutoff: pd.Timestamp) -> dict[str, float]:
        """The ETF's 20-day flow sums as known at the decision (dollars, and as a fraction of assets)."""
        f = self.flows(etf, cutoff) if etf in self.shares else pd.DataFrame()
        if len(f) == 0:
            return {"usd": math.nan, "efp": math.nan, "age": math.nan}
        age = (pd.Timestamp(day) - f["date"].iloc[-1]).days
        usd = self.window_sum(f["flow_usd"], f["date"])
        if self.conv.etf_efp_daily_frac:  # DEVIATION: Σ F_s / AUM_{s-1} instead of Σ F / AUM_{t-20}
            efp = self.window_sum(f["flow_frac_aum"], f["date"])
        else:
            start = self.calendar[max(0, self.calendar.searchsorted(f["date"].iloc[-1]) - self.n_sum + 1)]
            efp = usd / f.loc[f["date"] >= start, "assets_before"].iloc[0]
        if age > 10:
            usd = efp = math.nan
        return {"usd": usd, "efp": efp, "age": age}

    def efp(self, sym: str, day: date, cutoff: pd.Timestamp, sums: dict[str, dict[str, float]],
            px: pd.DataFrame | None) -> Reading:  # fmt: skip
        ts = pd.Timestamp(day)
        if sym in self.etfs:
            s = sums[sym]
            return Reading(s["efp"], math.nan, s["age"], None)
        dv20 = math.nan
        if px is not None and len(px) and (ts - px["date"].iloc[-1]).days <= 10:
            price = px["px"] if self.conv.dv_adjusted_close else px["close"]  # DEVIATION: adjusted close
            dv20 = self.window_sum(price * px["volume"], px["date"])
        num, used, age = 0.0, 0, 0
        for etf in sorted(e for s, e in self.held if s == sym):
            rows = known(self.held[(sym, etf)], cutoff, ["as_of_date"])
            if len(rows) == 0:
                continue
            if self.conv.weights_last_seen:  # DEVIATION: the stock's last row in any snapshot of the ETF
                weight, as_of = rows["weight_frac"].iloc[-1], rows["as_of_date"].iloc[-1]
            else:  # the ETF's latest public snapshot; not in it = not held (weight 0)
                snap = known(self.snapshots[etf], cutoff, ["as_of_date", "symbol"])
                as_of = snap["as_of_date"].max()
                mine = snap[(snap["as_of_date"] == as_of) & (snap["symbol"] == sym)]
                weight = float(mine["weight_frac"].iloc[0]) if len(mine) else 0.0
            f = sums.get(etf)
            if f is None or not np.isfinite(f["age"]) or f["age"] > 10:
                continue
            if not np.isfinite(f["usd"]):
                if self.conv.short_flow_sum_poisons:  # DEVIATION: a short window voids the stock's EFP
                    num, used, age = math.nan, used + 1, max(age, f["age"], (ts - as_of).days)
                continue
            num += weight * f["usd"]
            used += 1
            age = max(age, f["age"], (ts - as_of).days)
        return Reading(num / dv20 if used else math.nan, math.nan, age, None)

    @staticmethod
    def sue_series(rows: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        """SUE_q of the quarters with an EPS (and their dates): (EPS_q − EPS_{q−4}) / sd of that
        difference over the prior 8 quarters (at least 4)."""
        eps = rows[rows["eps_diluted_usd"].notna()]
        diff = eps["eps_diluted_usd"] - eps["eps_diluted_usd"].shift(4)
        prior_sd = diff.shift(1).rolling(8, min_periods=4).std()
        return (diff / prior_sd).where(prior_sd > 0), eps["fiscal_period_end"]

    def fm(self, sym: str, day: date, cutoff: pd.Timestamp) -> tuple[Reading, Reading]:
        rows = known(self.funda[sym], cutoff, ["fiscal_period_end"])
        sue, eps_dates = self.sue_series(rows)
        rev = rows[rows["revenue_usd"].notna()]
        lr = np.log(rev["revenue_usd"].where(rev["revenue_usd"] > 0))
        accel = (lr - lr.shift(4)).diff()
        max_age = self.stale["fundamentals"]
        return (native(sue, eps_dates, day, self.q_w, self.q_mp, max_age),
                native(accel, rev["fiscal_period_end"], day, self.q_w, self.q_mp, max_age))  # fmt: skip

    def native_percentiles(self, day: date, cutoff: pd.Timestamp) -> dict[tuple[str, str], float]:
        """METHODS variant of the percentile of fut and scp: PR_W on the native series as known at D
        (null, like the component, once its newest input is older than the staleness limit)."""

        def pr(x: pd.Series, dates: pd.Series, w: int, max_age: int) -> float:
            if len(x) == 0 or not np.isfinite(x.iloc[-1]) or (pd.Timestamp(day) - dates.iloc[-1]).days > max_age:
                return math.nan
            return 100.0 * float((x.iloc[-w:] <= x.iloc[-1]).sum()) / w  # METHODS: 1/W

        out = {}
        for k in self.contracts:
            rows = known(self.cot[k], cutoff, ["report_date"])
            out[(k.upper(), "fut")] = pr(rows["x"], rows["report_date"], self.wk_w, self.stale["futures"])
        for sym, rows in self.si.items():
            r = known(rows, cutoff, ["settlement_date"])
            out[(sym, "scp")] = pr(-r["days_to_cover"].diff(), r["settlement_date"], self.bm_w,
                                   self.stale["short_interest"])  # fmt: skip
        for sym, rows in self.funda.items():
            sue, dates = self.sue_series(known(rows, cutoff, ["fiscal_period_end"]))
            out[(sym, "fm")] = pr(sue, dates, self.q_w, self.stale["fundamentals"])
        return out

    # -- the driver loop ----------------------------------------------------------------------------

    def stage1(self, days: list[date]) -> pd.DataFrame:
        """Day-by-day component readings: one row per (date, symbol, component)."""
        hhmm = self.cfg["decision_time"]
        out: list[tuple] = []
        for day in days:
            cutoff = decision_time(day, hhmm)
            for key in self.contracts:
                out.append((day, key.upper(), "fut", self.fut(key, day, cutoff)))
            out.append((day, "MARKET", "pcs", self.pcs(day, cutoff)))
            sums = {e: self.flow_sums(e, day, cutoff) for e in self.etfs}
            for sym in self.symbols:
                px = None
                if sym in self.prices:
                    px = self.price_series(sym, cutoff)
                    out.append((day, sym, "pm", self.pm(px, day)))
                out.append((day, sym, "efp", self.efp(sym, day, cutoff, sums, px)))
                if sym in self.si:
                    out.append((day, sym, "scp", self.scp(sym, day, cutoff)))
                if sym in self.funda:
                    sue, acc = self.fm(sym, day, cutoff)
                    out.append((day, sym, "fm_sue", sue))
                    out.append((day, sym, "fm_acc", acc))
            if not self.conv.percentile_daily_grid:
                for (sym, name), v in self.native_percentiles(day, cutoff).items():
                    out.append((day, sym, f"{name}_pr", Reading(v)))
        return pd.DataFrame({
            "date": [o[0] for o in out], "symbol": [o[1] for o in out], "name": [o[2] for o in out],
            "value": [o[3].value for o in out], "z": [o[3].z for o in out], "age": [o[3].age for o in out],
            "warm": [o[3].warm for o in out],
        })  # fmt: skip

    def scores(self, s1: pd.DataFrame, grid: list[date], derived: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Score rows (and regimes) from the day-by-day readings on ``grid`` (ascending, contiguous
        trading days). With ``derived=False`` only the native components are returned (no percentiles,
        EFP z, CPS, PFD, market composite or regimes): what a sample of non-contiguous days allows."""
        idx = pd.Index(pd.to_datetime(grid), name="date")
        s1 = s1.assign(date=pd.to_datetime(s1["date"]))
        wide = {name: g.set_index(["date", "symbol"]) for name, g in s1.groupby("name")}

        def get(name: str, sym: str) -> pd.DataFrame:
            g = wide.get(name)
            if g is None or sym not in g.index.get_level_values("symbol"):
                return pd.DataFrame(index=idx, columns=["value", "z", "age", "warm"], dtype=float)
            return g.xs(sym, level="symbol").reindex(idx)

        rows: list[pd.DataFrame] = []
        regimes: list[pd.DataFrame] = []

        def emit(sym: str, name: str, window: str, value: pd.Series, z: pd.Series, age: pd.Series,
                 warm: pd.Series) -> None:  # fmt: skip
            pr = pr_lo = pd.Series(np.nan, index=idx)
            if derived:
                pr, pr_lo = percentile(value, self.d_w, min(self.d_w, 20))
            if not self.conv.percentile_daily_grid and name in ("fut", "scp", "fm"):  # native: from stage1
                owner = sym
                if name == "fut" and sym not in ("ES", "NQ"):
                    owner = ("nq" if sym in self.nq else self.default_fut).upper()
                pr = pr_lo = get(f"{name}_pr", owner)["value"]
            rows.append(pd.DataFrame({
                "date": idx, "symbol": sym, "score": name, "value": value.to_numpy(), "z": z.to_numpy(),
                "percentile": pr.to_numpy(), "window": window, "warmup": warm.fillna(True).astype(bool).to_numpy(),
                "age_days": age.to_numpy(), "percentile_lo": pr_lo.to_numpy(),
            }))  # fmt: skip

        fut = {k: get("fut", k.upper()) for k in self.contracts if len(self.cot[k])}
        for k, f in fut.items():
            emit(k.upper(), "fut", f"{self.wk_w}w", f["value"], f["z"], f["age"], f["warm"])
        pcs = get("pcs", "MARKET")
        emit("MARKET", "pcs", f"{self.d_w}d", pcs["value"], pcs["z"], pcs["age"], pcs["warm"])
        efp_z, scp_z = {}, {}
        for sym in self.symbols:
            e = get("efp", sym)
            e_z = trailing_z(e["value"], self.d_w, self.d_mp)
            parts = {"efp": e.assign(z=e_z, warm=warmup(e["value"], self.d_w))}
            if sym in self.si:
                parts["scp"] = get("scp", sym)
            parts["pcs"] = pcs
            fkey = "nq" if sym in self.nq else self.default_fut
            if fkey in fut:
                parts["fut"] = fut[fkey]
            labels = {"efp": f"{self.d_w}d", "scp": f"{self.bm_w}obs", "fut": f"{self.wk_w}w"}
            for name, p in parts.items():
                if name != "pcs":
                    emit(sym, name, labels[name], p["value"], p["z"], p["age"], p["warm"])
            efp_z[sym], scp_z[sym] = parts["efp"]["z"], parts["scp"]["z"] if "scp" in parts else None
            cps = mean_of([p["z"] for p in parts.values()], self.cfg["cps_min_components"])
            if derived:
                emit(sym, "cps", f"{self.d_w}d", cps, trailing_z(cps, self.d_w, self.d_mp),
                     pd.Series(np.nan, index=idx), warmup(cps, self.d_w))  # fmt: skip
            pm = get("pm", sym) if sym in self.prices else None
            if pm is not None:
                emit(sym, "pm", f"{self.d_w}d", pm["value"], pm["z"], pm["age"], pm["warm"])
            z_pm = pm["z"] if pm is not None else pd.Series(np.nan, index=idx)
            z_fm = pd.Series(np.nan, index=idx)
            if sym in self.funda and self._has_fm(sym, decision_time(grid[-1], self.cfg["decision_time"])):
                if "fm" in wide:  # readings given as the finished fm score (value = SUE, z = Z(FM))
                    fm = get("fm", sym)
                    z_fm, sue, warm_fm = fm["z"], fm, fm["warm"]
                else:
                    sue, acc = get("fm_sue", sym), get("fm_acc", sym)
                    z_fm = pd.concat([sue["z"], acc["z"]], axis=1).mean(axis=1)
                    warm_fm = (sue["warm"].astype("boolean") | acc["warm"].astype("boolean")).fillna(True)
                emit(sym, "fm", f"{self.q_w}q", sue["value"], z_fm, sue["age"], warm_fm)
                pfd = z_pm - z_fm
                if derived:
                    emit(sym, "pfd", f"{self.d_w}d", pfd, trailing_z(pfd, self.d_w, self.d_mp),
                         pd.Series(np.nan, index=idx), warmup(pfd, self.d_w))  # fmt: skip
            if derived:
                regimes.append(self._regimes(sym, idx, cps, z_pm - z_fm, z_fm, z_pm))
        if derived:
            agg_flow = mean_of([efp_z[s] for s in self.etfs if s in efp_z], 1)
            agg_si = mean_of([scp_z[s] for s in self.tickers if scp_z.get(s) is not None], 1)
            none = pd.Series(np.nan, index=idx)
            parts = [fut["es"]["z"] if "es" in fut else none, fut["nq"]["z"] if "nq" in fut else none, pcs["z"],
                     agg_flow, agg_si]  # fmt: skip
            mk = mean_of(parts, self.cfg["cps_min_components"])
            emit("MARKET", "market_positioning", f"{self.d_w}d", mk, trailing_z(mk, self.d_w, self.d_mp), none,
                 warmup(mk, self.d_w))  # fmt: skip
        scores = pd.concat(rows, ignore_index=True)
        if not derived:
            scores = scores[scores["score"].isin(["fut", "pcs", "scp", "pm", "fm", "efp"])]
            scores = scores.assign(z=scores["z"].where(scores["score"] != "efp"))  # efp z is derived
        reg = pd.concat(regimes, ignore_index=True) if regimes else pd.DataFrame(columns=REGIME_COLS)
        return scores[[*SCORE_COLS, "percentile_lo"]], reg

    def _has_fm(self, sym: str, as_of: pd.Timestamp) -> bool:
        """flows.signals scores fm for a symbol with at least 5 quarters public at the build's as-of."""
        rows = self.funda[sym]
        return rows.loc[rows["available_at"] <= as_of, "fiscal_period_end"].nunique() >= 5

    def _regimes(self, sym: str, idx: pd.Index, cps: pd.Series, pfd: pd.Series, z_fm: pd.Series,
                 z_pm: pd.Series) -> pd.DataFrame:  # fmt: skip
        rules = [(r["label"], r["rule"]) for r in self.cfg["regimes"]]
        ops = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
        labels, fired = [], []
        for i in range(len(idx)):
            vals = {"cps": cps.iloc[i], "pfd": pfd.iloc[i], "z_fm": z_fm.iloc[i], "z_pm": z_pm.iloc[i]}
            for label, text in rules:
                ok = True
                if text.strip().lower() != "true":
                    for clause in re.split(r"\s+and\s+", text.strip()):
                        name, op, num = re.match(r"^\s*(\w+)\s*(<=|>=|<|>)\s*(-?[\d.]+)\s*$", clause).groups()
                        v = vals.get(name)
                        if v is None or not np.isfinite(v) or not ops[op](v, float(num)):
                            ok = False
                            break
                if ok:
                    labels.append(label)
                    fired.append(text)
                    break
        return pd.DataFrame({"date": idx, "symbol": sym, "regime": labels, "rule": fired, "cps": cps.to_numpy(),
                             "pfd": pfd.to_numpy(), "z_fm": z_fm.to_numpy(), "z_pm": z_pm.to_numpy()})  # fmt: skip


def readings_from_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Component readings (the ``stage1`` layout) taken from finished score rows, e.g. the ones
    ``flows.signals`` wrote: lets ``Reference.scores`` recompute the derived scores on every day
    from another implementation's components."""
    keep = scores["score"].isin(["pcs", "scp", "pm", "fm", "efp"]) | (
        (scores["score"] == "fut") & scores["symbol"].isin(["ES", "NQ"])
    )
    s = scores[keep]
    return pd.DataFrame({
        "date": pd.to_datetime(s["date"]), "symbol": s["symbol"], "name": s["score"],
        "value": s["value"].astype(float), "z": s["z"].astype(float), "age": s["age_days"].astype(float),
        "warm": s["warmup"].astype(object),
    })  # fmt: skip
