"""A deterministic synthetic universe in the warehouse schema, for the signals benchmark.

``build_universe(workdir, UniverseSpec(tickers=50, years=20))`` creates, under ``workdir``:

- ``config/``: a copy of the repo's ``config/*.yaml`` with ``universe.yaml`` rewritten to the
  synthetic tickers (``TK01``..``TKnn``); the ETFs (SMH, SOXX, QQQ, XLK), the market (SPY) and the
  CFTC contracts (ES ``13874A``, NQ ``209742``) are kept, and ``futures_for_symbol.nq`` lists the
  first 60% of the tickers plus SMH, SOXX, QQQ;
- ``wh/flowscope.duckdb``: a migrated warehouse whose raw tables hold, for every trading day of the
  ``years`` years ending ``spec.end``:

  - ``raw.prices__daily``: every symbol and day, series ``yahoo_csv_adj`` (adj_close = close x a
    dividend factor); available 16:00 New York on the day;
  - ``raw.cftc__tff``: ES and NQ every Tuesday, ~3% of weeks revised a week later (version 2);
    available by ``flows.pit.cftc_available_at`` (Friday 15:30 ET, holidays, shutdown backlogs);
  - ``raw.cboe__put_call``: equity and total segments every day (``cboe_archive`` before 2019-10-07,
    then ``cboe_daily_json``); available 18:00 New York on the trade day;
  - ``raw.finra__short_interest``: every symbol, settlements on the 15th and at month end, ~1%
    revised two weeks later; available the 7th NYSE trading day after settlement, 18:00 ET;
  - ``raw.etf__shares``: the ETFs and SPY every day (shares outstanding, NAV, close, TNA; one issuer
    source each); available the next NYSE trading day 09:00 ET;
  - ``raw.etf__holdings``: month-end snapshots of each ETF and SPY (constant membership, drifting
    weights, a ``_CASH`` line); available the next NYSE trading day 09:30 ET;
  - ``raw.vendor__fundamentals`` -> ``marts.fundamentals``: every ticker, quarterly revenue and
    diluted EPS filed 25-50 business days after the quarter; available on the filing date 22:00 ET
    (the mart is rebuilt with ``flows.sources.sec.fundamentals.rebuild``).

Rows are inserted directly with DuckDB (the loaders are benchmarked elsewhere) but carry the same
columns, versions, ``available_at`` and ``series_source``/``source`` values the loaders write, so
the analytics views rank and filter them as they would real loads. The same spec and seed give the
same rows, byte for byte.

Deliberately *absent* (see ``bench_signals.py`` and the report): revisions of the datasets the
signals read through latest-version views (prices, put/call, ETF shares, holdings, fundamentals),
and holdings membership changes; both make ``flows.signals`` differ from a point-in-time reading
(the differences are demonstrated separately, not hidden in the benchmark's equality check).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml

REPO = Path(__file__).resolve().parents[1]
ETFS = ["SMH", "SOXX", "QQQ", "XLK"]
MARKET = "SPY"
ETF_SOURCE = {"SMH": "vaneck", "SOXX": "ishares", "QQQ": "user_csv", "XLK": "ssga", "SPY": "ssga"}
CONTRACTS = {"13874A": ("E-MINI S&P 500 - CHICAGO MERCANTILE EXCHANGE", 2_500_000),
             "209742": ("NASDAQ MINI - CHICAGO MERCANTILE EXCHANGE", 250_000)}  # fmt: skip
ORIGIN = "benchmarks/synthetic_universe.py"


@dataclass(frozen=True)
class UniverseSpec:
    tickers: int = 50
    years: float = 20
    end: date = date(2025, 6, 27)  # a Friday
    seed: int = 20250627
    revisions: bool = True  # COT and short-interest revisions (read with all versions by flows.signals)
    fundamentals: bool = True


@dataclass
class Universe:
    spec: UniverseSpec
    workdir: Path
    warehouse: Path
    config_dir: Path
    tickers: list[str]
    days: list[date]  # trading days with data
    rows: dict[str, int]

    @property
    def symbols(self) -> list[str]:
        return [*self.tickers, *ETFS, MARKET]

    def env(self) -> dict[str, str]:
        return {"FLOWSCOPE_WAREHOUSE": str(self.warehouse), "FLOWSCOPE_CONFIG_DIR": str(self.config_dir)}

    def activate(self) -> None:
        """Point flowscope's settings (``flows.config.get_settings``) at this universe."""
        os.environ.update(self.env())


def ticker_names(n: int) -> list[str]:
    return [f"TK{i:02d}" for i in range(1, n + 1)]


def nq_names(tickers: list[str]) -> list[str]:
    return [*tickers[: max(1, round(0.6 * len(tickers)))], "QQQ", "SMH", "SOXX"]


def holdings_members(tickers: list[str]) -> dict[str, list[str]]:
    """Which tickers each ETF holds (constant over time; every ETF holds at least one)."""
    n = len(tickers)
    nq = set(nq_names(tickers))
    members = {
        "SMH": tickers[0::2],
        "SOXX": [t for i, t in enumerate(tickers) if i % 3 != 2],
        "QQQ": [t for t in tickers if t in nq],
        "XLK": tickers[1::2] if n > 1 else tickers,
        "SPY": list(tickers),
    }
    return {k: v or tickers[:1] for k, v in members.items()}


def write_config(dst: Path, tickers: list[str]) -> Path:
    """Copy ``config/*.yaml`` to ``dst`` and rewrite the universe's tickers (contracts kept)."""
    dst.mkdir(parents=True, exist_ok=True)
    for path in (REPO / "config").glob("*.yaml"):
        shutil.copy(path, dst / path.name)
    uni = yaml.safe_load((REPO / "config" / "universe.yaml").read_text())
    uni["tickers"] = list(tickers)
    uni["etfs"] = list(ETFS)
    uni["market"] = MARKET
    uni["futures_for_symbol"] = {"default": "es", "nq": nq_names(tickers)}
    (dst / "universe.yaml").write_text(yaml.safe_dump(uni, sort_keys=False))
    return dst


# ---- helpers ----------------------------------------------------------------------------------


def _ny(d: date, hhmm: str) -> datetime:
    from flows.pit import ny_time_to_utc

    return ny_time_to_utc(d, hhmm)


def _lineage(frame: pl.DataFrame, table: str, key: list[str]) -> pl.DataFrame:
    """The loader's bookkeeping columns (a row hash over the key and version, a synthetic load)."""
    h = frame.select(pl.concat_str([pl.col(c).cast(pl.Utf8) for c in [*key, "version"]], separator="|")).to_series()
    sha = hashlib.sha256(table.encode()).hexdigest()
    return frame.with_columns(
        h.hash(seed=7).cast(pl.Utf8).alias("_row_hash"),
        pl.lit(f"synthetic-{table}").alias("_load_id"),
        pl.lit(sha).alias("_raw_sha256"),
        pl.lit(ORIGIN).alias("_origin"),
        pl.col("available_at").alias("_fetched_at"),
        pl.when(pl.col("version") > 1).then(pl.lit("observed")).otherwise(pl.lit("rule")).alias("available_at_source"),
    )


def _insert(con: Any, table: str, frame: pl.DataFrame, key: list[str]) -> int:
    frame = _lineage(frame, table, key)
    con.register("_synthetic", frame.to_arrow())
    try:
        con.execute(f"insert into {table} by name select * from _synthetic")
    finally:
        con.unregister("_synthetic")
    return frame.height


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float, size: int | None = None) -> np.ndarray:
    shape = (n,) if size is None else (n, size)
    eps = rng.normal(0.0, sd, shape)
    out = np.empty(shape)
    out[0] = eps[0] / np.sqrt(1 - phi * phi)
    for t in range(1, n):
        out[t] = phi * out[t - 1] + eps[t]
    return out


# ---- the datasets -----------------------------------------------------------------------------


def _prices(rng: np.random.Generator, days: list[date], tickers: list[str]) -> tuple[pl.DataFrame, dict[str, Any]]:
    n = len(days)
    symbols = [*tickers, *ETFS, MARKET]
    mkt = rng.standard_t(5, n) * 0.010 / np.sqrt(5 / 3) + 0.0003
    betas = rng.uniform(0.8, 1.6, len(tickers))
    idio = rng.standard_t(4, (n, len(tickers))) * rng.uniform(0.012, 0.03, len(tickers)) / np.sqrt(2)
    r_tk = mkt[:, None] * betas[None, :] + idio
    members = holdings_members(tickers)
    r_etf = {e: r_tk[:, [tickers.index(t) for t in members[e]]].mean(axis=1) + rng.normal(0, 0.002, n) for e in ETFS}
    r_etf[MARKET] = mkt
    rets = np.column_stack([r_tk, *[r_etf[s] for s in [*ETFS, MARKET]]])
    rets[0] = 0.0
    start = rng.uniform(20, 300, len(symbols))
    adj = start[None, :] * np.exp(np.cumsum(rets, axis=0))
    # as-traded close above the dividend-adjusted one, the gap shrinking towards today
    div_yield = rng.uniform(0.0, 0.02, len(symbols))
    years_left = (np.arange(n)[::-1] / 252.0)[:, None]
    close = adj * np.exp(div_yield[None, :] * years_left)
    vol_level = rng.uniform(2e6, 5e7, len(symbols))
    volume = (vol_level[None, :] * np.exp(rng.normal(0, 0.35, (n, len(symbols))) + 8 * np.abs(rets))).astype(np.int64)
    avail = [_ny(d, "16:00") for d in days]
    frames = []
    for j, s in enumerate(symbols):
        c = np.round(close[:, j], 4)
        frames.append(pl.DataFrame({
            "date": days, "symbol": s, "series_source": "yahoo_csv_adj",
            "open": np.round(c * (1 + rng.normal(0, 0.004, n)), 4), "high": np.round(c * 1.01, 4),
            "low": np.round(c * 0.99, 4), "close": c, "adj_close": np.round(adj[:, j], 4), "volume": volume[:, j],
            "version": 1, "available_at": avail,
        }))  # fmt: skip
    state = {"close": dict(zip(symbols, close.T, strict=True)), "volume": dict(zip(symbols, volume.T, strict=True))}
    return pl.concat(frames), state


def _cot(rng: np.random.Generator, days: list[date], revisions: bool) -> pl.DataFrame:
    from flows.config import calendar_config
    from flows.pit import cftc_available_at

    cal = calendar_config()["cftc_tff"]
    first = days[0] + timedelta(days=(1 - days[0].weekday()) % 7)
    weeks = [first + timedelta(weeks=i) for i in range((days[-1] - first).days // 7 + 1)]
    n = len(weeks)
    rows = []
    for code, (name, oi0) in CONTRACTS.items():
        oi = (oi0 * np.exp(np.cumsum(rng.normal(0.0005, 0.02, n)))).astype(np.int64)
        am_frac = 0.35 + _ar1(rng, n, 0.97, 0.015)
        lf_frac = 0.25 + _ar1(rng, n, 0.95, 0.02)
        am_long = (oi * (0.45 + 0.5 * am_frac)).astype(np.int64)
        am_short = (oi * (0.45 - 0.5 * am_frac)).clip(0).astype(np.int64)
        lf_long = (oi * (0.15 + 0.1 * rng.random(n))).astype(np.int64)
        lf_short = (lf_long + oi * lf_frac).astype(np.int64)
        dealer_long = (oi * 0.1).astype(np.int64)
        dealer_short = (oi * 0.12).astype(np.int64)
        for i, wk in enumerate(weeks):
            at = cftc_available_at(wk, cal)
            base = {
                "contract_code": code, "report_date": wk, "open_interest_contracts": int(oi[i]),
                "dealer_long_contracts": int(dealer_long[i]), "dealer_short_contracts": int(dealer_short[i]),
                "asset_mgr_long_contracts": int(am_long[i]), "asset_mgr_short_contracts": int(am_short[i]),
                "lev_funds_long_contracts": int(lf_long[i]), "lev_funds_short_contracts": int(lf_short[i]),
                "market_name": name, "cftc_market_code": "CME", "futonly_or_combined": "FutOnly",
                "version": 1, "available_at": at,
            }  # fmt: skip
            rows.append(base)
            if revisions and rng.random() < 0.03 and at + timedelta(days=7) <= _ny(days[-1], "23:59"):
                rev = dict(base)
                rev["asset_mgr_long_contracts"] = int(am_long[i] * (1 + rng.normal(0, 0.02)))
                rev["version"] = 2
                rev["available_at"] = at + timedelta(days=7)  # seen with the next week's release
                rows.append(rev)
    schema = {"open_interest_contracts": pl.Int64, "available_at": pl.Datetime("us", "UTC")}
    return pl.DataFrame(rows, schema_overrides=schema)


def _put_call(rng: np.random.Generator, days: list[date]) -> pl.DataFrame:
    n = len(days)
    json_era = date(2019, 10, 7)
    frames = []
    for seg, level in (("equity", 0.62), ("total", 0.92)):
        ratio = np.round(level * np.exp(_ar1(rng, n, 0.6, 0.12)), 2).clip(0.05, 9.9)
        calls = rng.integers(1_500_000, 4_000_000, n)
        frames.append(pl.DataFrame({
            "trade_date": days, "segment": seg,
            "series_source": ["cboe_daily_json" if d >= json_era else "cboe_archive" for d in days],
            "put_call_ratio": ratio, "call_volume_contracts": calls,
            "put_volume_contracts": np.round(calls * ratio).astype(np.int64),
            "source_era": ["all_cboe" if d >= json_era else "exchange_only" for d in days],
            "version": 1, "available_at": [_ny(d, "18:00") for d in days],
        }))  # fmt: skip
    return pl.concat(frames).with_columns(
        (pl.col("call_volume_contracts") + pl.col("put_volume_contracts")).alias("total_volume_contracts")
    )


def settlement_dates(days: list[date]) -> list[date]:
    """FINRA-style settlement dates: the 15th (or the trading day before) and each month's last trading day."""
    out = set()
    by_month: dict[tuple[int, int], list[date]] = {}
    for d in days:
        by_month.setdefault((d.year, d.month), []).append(d)
    for month in by_month.values():
        mid = [d for d in month if d.day <= 15]
        if mid:
            out.add(mid[-1])
        out.add(month[-1])
    return sorted(d for d in out if d < days[-1])


def _short_interest(rng: np.random.Generator, days: list[date], symbols: list[str], volume: dict[str, np.ndarray],
                    revisions: bool) -> pl.DataFrame:  # fmt: skip
    from flows.calendar import add_business_days

    settle = settlement_dates(days)
    idx = {d: i for i, d in enumerate(days)}
    avail = {d: _ny(add_business_days(d, 7, federal=False), "18:00") for d in settle}
    last = _ny(days[-1], "23:59")
    settle = [d for d in settle if avail[d] <= last]
    rows = []
    for s in symbols:
        dtc = np.exp(np.log(2.5) + _ar1(rng, len(settle), 0.9, 0.15))
        prev = None
        for k, d in enumerate(settle):
            i = idx[d]
            adv = int(volume[s][max(0, i - 19) : i + 1].mean())
            si = int(adv * dtc[k])
            row = {
                "settlement_date": d, "symbol": s, "series_source": "finra", "short_interest_shares": si,
                "avg_daily_volume_shares": adv, "days_to_cover": round(si / adv, 2) if adv else None,
                "previous_short_interest_shares": prev, "issue_name": f"{s} synthetic", "market_class_code": "NNM",
                "version": 1, "available_at": avail[d],
            }  # fmt: skip
            rows.append(row)
            if revisions and rng.random() < 0.01 and avail[d] + timedelta(days=14) <= last:
                rev = dict(row)
                rev["short_interest_shares"] = int(si * (1 + rng.normal(0, 0.05)))
                rev["days_to_cover"] = round(rev["short_interest_shares"] / adv, 2) if adv else None
                rev["revision_flag"] = "R"
                rev["version"] = 2
                rev["available_at"] = avail[d] + timedelta(days=14)
                rows.append(rev)
            prev = si
    schema = {"previous_short_interest_shares": pl.Int64, "revision_flag": pl.Utf8,
              "available_at": pl.Datetime("us", "UTC"), "days_to_cover": pl.Float64}  # fmt: skip
    return pl.DataFrame(rows, schema_overrides=schema, infer_schema_length=None)


def _etf_shares(rng: np.random.Generator, days: list[date], close: dict[str, np.ndarray]) -> pl.DataFrame:
    from flows.calendar import add_business_days, previous_trading_day

    n = len(days)
    prev = [previous_trading_day(d) for d in days]
    nxt = [add_business_days(d, 1, federal=False) for d in days]
    avail = [_ny(x, "09:00") for x in nxt]
    frames = []
    for s in [*ETFS, MARKET]:
        flow_frac = 0.0002 + _ar1(rng, n, 0.3, 0.004)
        flow_frac[0] = 0.0
        so = (rng.uniform(5e7, 5e8) * np.exp(np.cumsum(np.log1p(flow_frac)))).astype(np.int64)
        nav = np.round(close[s] * (1 + rng.normal(0, 0.0005, n)), 4)
        frames.append(pl.DataFrame({
            "date": days, "symbol": s, "source": ETF_SOURCE[s], "shares_outstanding": so, "nav_usd": nav,
            "close_usd": np.round(close[s], 4), "total_net_assets_usd": so * nav, "prev_trading_date": prev,
            "next_trading_date": nxt, "version": 1, "available_at": avail,
        }))  # fmt: skip
    return pl.concat(frames)


def _holdings(rng: np.random.Generator, days: list[date], tickers: list[str]) -> pl.DataFrame:
    from flows.calendar import add_business_days

    month_ends = [d for i, d in enumerate(days[:-1]) if days[i + 1].month != d.month]
    frames = []
    for etf, members in holdings_members(tickers).items():
        base = rng.dirichlet(np.full(len(members), 2.0))
        drift = np.zeros(len(members))
        fmt = {"SMH": "vaneck_json", "SOXX": "ishares_csv", "QQQ": "invesco_json", "XLK": "ssga_xlsx",
               "SPY": "ssga_xlsx"}[etf]  # fmt: skip
        for d in month_ends:
            drift += rng.normal(0, 0.05, len(members))
            w = base * np.exp(drift)
            cash = 0.005 + 0.01 * rng.random()
            w = np.round(w / w.sum() * (1 - cash), 6)
            at = _ny(add_business_days(d, 1, federal=False), "09:30")
            frames.append(pl.DataFrame({
                "etf": etf, "as_of_date": d, "symbol": [*members, "_CASH"], "series_source": "issuer",
                "weight_frac": [*w.tolist(), round(1 - float(w.sum()), 6)],
                "asset_class": ["equity"] * len(members) + ["cash"], "name": [*members, "cash"],
                "source_format": fmt, "version": 1, "available_at": at,
            }, schema_overrides={"available_at": pl.Datetime("us", "UTC")}))  # fmt: skip
    return pl.concat(frames)


def _fundamentals(rng: np.random.Generator, days: list[date], tickers: list[str]) -> pl.DataFrame:
    from flows.calendar import add_business_days

    rows = []
    for k, s in enumerate(tickers):
        offset = k % 3  # fiscal quarters ending in months 3/6/9/12, 2/5/8/11 or 1/4/7/10
        ends = [
            date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)
            for y in range(days[0].year - 3, days[-1].year + 1)
            for m in range(1, 13)
            if (m + offset) % 3 == 0
        ]
        ends = [e for e in ends if e <= days[-1]]
        n = len(ends)
        growth = 0.02 + _ar1(rng, n, 0.7, 0.04)
        rev = rng.uniform(2e8, 5e9) * np.exp(np.cumsum(growth))
        margin = 0.1 + _ar1(rng, n, 0.8, 0.03)
        shares = rng.uniform(2e8, 2e9)
        for i, end in enumerate(ends):
            filed = add_business_days(end, int(rng.integers(25, 50)), federal=True)
            if filed > days[-1]:
                continue
            ni = rev[i] * margin[i]
            rows.append({
                "symbol": s, "fiscal_period_end": end, "filed_date": filed, "revenue_usd": round(rev[i], 0),
                "eps_diluted_usd": round(ni / shares, 4), "net_income_usd": round(ni, 0), "version": 1,
                "available_at": _ny(filed, "22:00"),
            })  # fmt: skip
    return pl.DataFrame(rows, schema_overrides={"available_at": pl.Datetime("us", "UTC")})


def build_universe(workdir: Path, spec: UniverseSpec | None = None) -> Universe:
    """Write the config and the warehouse under ``workdir`` (which must be empty or absent)."""
    from flows.calendar import trading_days

    spec = spec or UniverseSpec()
    workdir = Path(workdir)
    tickers = ticker_names(spec.tickers)
    config_dir = write_config(workdir / "config", tickers)
    warehouse = workdir / "wh" / "flowscope.duckdb"
    uni = Universe(spec, workdir, warehouse, config_dir, tickers, [], {})
    uni.activate()
    from flows.warehouse import connect_write

    start = spec.end - timedelta(days=round(spec.years * 365.25))
    days = list(trading_days(start, spec.end))
    uni.days = days
    rng = np.random.default_rng(spec.seed)
    prices, state = _prices(rng, days, tickers)
    con = connect_write()
    try:
        counts = {
            "raw.prices__daily": _insert(con, "raw.prices__daily", prices, ["date", "symbol", "series_source"]),
            "raw.cftc__tff": _insert(con, "raw.cftc__tff", _cot(rng, days, spec.revisions),
                                     ["contract_code", "report_date"]),
            "raw.cboe__put_call": _insert(con, "raw.cboe__put_call", _put_call(rng, days),
                                          ["trade_date", "segment", "series_source"]),
            "raw.finra__short_interest": _insert(
                con, "raw.finra__short_interest",
                _short_interest(rng, days, uni.symbols, state["volume"], spec.revisions),
                ["settlement_date", "symbol", "series_source"]),
            "raw.etf__shares": _insert(con, "raw.etf__shares", _etf_shares(rng, days, state["close"]),
                                       ["date", "symbol", "source"]),
            "raw.etf__holdings": _insert(con, "raw.etf__holdings", _holdings(rng, days, tickers),
                                         ["etf", "as_of_date", "symbol", "series_source"]),
        }  # fmt: skip
        if spec.fundamentals:
            from flows.sources.sec.fundamentals import rebuild

            vendor = _fundamentals(rng, days, tickers)
            counts["raw.vendor__fundamentals"] = _insert(
                con, "raw.vendor__fundamentals", vendor, ["symbol", "fiscal_period_end"]
            )
            rebuild(con, tickers)
            counts["marts.fundamentals"] = con.execute("select count(*) from marts.fundamentals").fetchall()[0][0]
        con.execute("checkpoint")
    finally:
        con.close()
    uni.rows = counts
    return uni


def fingerprint(warehouse: Path) -> str:
    """A content hash of the synthetic raw tables (determinism check)."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        parts = []
        for t in ("raw.prices__daily", "raw.cftc__tff", "raw.cboe__put_call", "raw.finra__short_interest",
                  "raw.etf__shares", "raw.etf__holdings", "raw.vendor__fundamentals"):  # fmt: skip
            cols = [r[0] for r in con.execute(f"describe {t}").fetchall() if r[0] not in ("_fetched_at",)]
            q = f"select md5(string_agg(md5(row({', '.join(cols)})::varchar), '' order by all)) from {t}"
            parts.append(f"{t}:{con.execute(q).fetchall()[0][0]}")
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
    finally:
        con.close()


if __name__ == "__main__":
    import argparse
    import tempfile
    import time

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickers", type=int, default=50)
    ap.add_argument("--years", type=float, default=20)
    ap.add_argument("--dir", type=Path, default=None, help="where to write (default: a temporary folder)")
    args = ap.parse_args()
    target = args.dir or Path(tempfile.mkdtemp(prefix="flowscope-synth-"))
    t0 = time.perf_counter()
    u = build_universe(target, UniverseSpec(tickers=args.tickers, years=args.years))
    took = time.perf_counter() - t0
    print(f"universe: {len(u.symbols)} symbols x {len(u.days)} days in {took:.1f} s -> {u.warehouse}")
    for table, n in u.rows.items():
        print(f"rows {table}: {n}")
    print(f"fingerprint: {fingerprint(u.warehouse)} ({datetime.now(UTC):%Y-%m-%d})")
