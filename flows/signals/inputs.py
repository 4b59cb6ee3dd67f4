"""Read the point-in-time inputs of the scores from the warehouse.

Everything is read as known at the build's last decision time (``set variable as_of``), so a
historical build never sees a row published after its as-of date. Every input keeps every version
with its own ``available_at``, so a rebuild gives day D what was public on D even after a later
revision (``flows.signals.timeline`` picks the version known at each decision):

- COT and short interest are read with all versions from the raw tables;
- put/call, prices, ETF flows, holdings and fundamentals are read through their documented views
  (which resolve sources, series and derived columns). A view shows the latest version only, so it
  is read once just before each moment a revision was published (``version > 1`` rows of the tables
  behind it, ``REVISED_BY``) and once at the as-of time; the union of these snapshots is the
  version history (a superseded version is visible in the snapshot just before its successor),
  numbered per key by ``available_at`` (``version``). Real data have a handful of such moments
  (7 for prices, 19 for fundamentals), so this costs a few extra view reads.

A dataset that is not loaded yields an empty frame: its components are simply absent (never zero).
Use ``Inputs.latest`` for the newest version per key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import polars as pl


@dataclass
class Inputs:
    cot: pl.DataFrame  # contract_code, report_date, available_at, version, asset_mgr_net, lev_funds_net, oi
    put_call: pl.DataFrame  # trade_date, available_at, segment, put_call_ratio
    short_interest: pl.DataFrame  # settlement_date, available_at, version, symbol, days_to_cover
    prices: pl.DataFrame  # date, available_at, symbol, close (adjusted where known), close_traded (USD), volume
    flows: pl.DataFrame  # date, available_at, symbol, flow_usd, flow_frac_aum, assets_before_usd
    holdings: pl.DataFrame  # as_of_date, available_at, etf, symbol, weight_frac (equity lines)
    fundamentals: pl.DataFrame  # symbol, fiscal_period_end, available_at, eps_diluted_usd, revenue_usd, ttm_eps

    def latest(self, name: str) -> pl.DataFrame:
        """The newest version per key of one input (what the warehouse shows at the build's as-of)."""
        frame: pl.DataFrame = getattr(self, name)
        keys = KEYS.get(name)
        if frame.height == 0 or keys is None or "version" not in frame.columns:
            return frame
        return frame.sort(*keys, "version").unique(list(keys), keep="last", maintain_order=True)


KEYS: dict[str, tuple[str, ...]] = {
    "cot": ("contract_code", "report_date"),
    "put_call": ("trade_date", "segment"),
    "short_interest": ("settlement_date", "symbol"),
    "prices": ("date", "symbol"),
    "flows": ("date", "symbol"),
    "holdings": ("as_of_date", "etf", "symbol"),
    "fundamentals": ("symbol", "fiscal_period_end"),
}

# View-read inputs -> the tables whose revisions (version > 1) can change what the view shows.
REVISED_BY: dict[str, tuple[str, ...]] = {
    "put_call": ("raw.cboe__put_call",),
    "prices": ("raw.prices__daily",),
    "flows": ("raw.etf__shares", "raw.etf__vendor_flows"),
    "holdings": ("raw.etf__holdings",),
    "fundamentals": ("marts.fundamentals", "raw.vendor__fundamentals"),
}


QUERIES = {
    "cot": """
        select contract_code, report_date, available_at, version,
            asset_mgr_long_contracts - asset_mgr_short_contracts as asset_mgr_net_contracts,
            lev_funds_long_contracts - lev_funds_short_contracts as lev_funds_net_contracts,
            open_interest_contracts
        from raw.cftc__tff
        where available_at <= getvariable('as_of')::timestamptz and contract_code in ({codes})
    """,
    "put_call": """
        select trade_date, available_at, segment, put_call_ratio from analytics.put_call
    """,
    "short_interest": """
        select settlement_date, available_at, version, symbol, days_to_cover
        from raw.finra__short_interest
        where available_at <= getvariable('as_of')::timestamptz and days_to_cover is not null
        qualify series_source = min(series_source) over (partition by settlement_date, symbol)
    """,
    # One price series per symbol (the publication with the most bars public by as-of), so every
    # return is measured on one basis: mixing an adjusted and an as-traded vendor day to day would
    # manufacture jumps. Days that series lacks stay missing.
    "prices": """
        with known as (
            select * from raw.prices__daily
            where available_at <= getvariable('as_of')::timestamptz
            qualify row_number() over (partition by date, symbol, series_source order by version desc) = 1
        ),
        best as (
            select symbol, arg_max(series_source, n) as series_source
            from (select symbol, series_source, count(*) as n from known group by all)
            group by symbol
        )
        select k.date, k.available_at, k.symbol, coalesce(k.adj_close, k.close) as close, k.close as close_traded,
            k.volume
        from known as k inner join best using (symbol, series_source)
        where coalesce(k.adj_close, k.close) > 0
    """,
    "flows": """
        select date, available_at, symbol, flow_usd, flow_frac_aum,
            -- the fund's assets before the flow: SO(t-1) x NAV(t) = flow / (ΔSO / SO(t-1)); on a day
            -- without creations (flow 0) SO(t-1) = SO(t), so SO(t) x NAV(t)
            case when flow_frac_aum <> 0 then flow_usd / flow_frac_aum
                 else shares_outstanding * coalesce(nav_usd, price_usd) end as assets_before_usd
        from analytics.etf_flows
        where flow_usd is not null
    """,
    "holdings": """
        select as_of_date, available_at, etf, symbol, weight_frac from analytics.etf_holdings
        where asset_class = 'equity'
    """,
    "fundamentals": """
        select symbol, fiscal_period_end, available_at, eps_diluted_usd, revenue_usd,
            ttm_eps_diluted_usd as ttm_eps
        from analytics.fundamentals where period_kind = 'quarter'
    """,
}


def _set_as_of(con: duckdb.DuckDBPyConnection, at: datetime) -> None:
    con.execute("set variable as_of = ?::timestamptz", [at.isoformat()]).fetchall()


def _revision_moments(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...], as_of: datetime) -> list[datetime]:
    """Distinct publication times (<= as_of) of revised rows in ``tables`` (those that exist)."""
    moments: set[datetime] = set()
    for table in tables:
        schema, name = table.split(".")
        sql = "select count(*) from information_schema.tables where table_schema = ? and table_name = ?"
        if not con.execute(sql, [schema, name]).fetchall()[0][0]:
            continue
        rows = con.execute(
            f"select distinct available_at from {table} where version > 1 and available_at <= ?::timestamptz",
            [as_of.isoformat()],
        ).fetchall()
        moments |= {r[0] for r in rows}
    return sorted(moments)


def _versioned(con: duckdb.DuckDBPyConnection, name: str, sql: str, as_of: datetime) -> pl.DataFrame:
    """The view query's rows with their version history (module docstring): snapshots just before
    each revision moment and at ``as_of``, deduplicated, numbered per key by ``available_at``."""
    snaps = []
    for moment in _revision_moments(con, REVISED_BY[name], as_of):
        _set_as_of(con, moment - timedelta(microseconds=1))
        snaps.append(con.sql(sql).pl())
    _set_as_of(con, as_of)
    snaps.append(con.sql(sql).pl())
    frame = pl.concat(snaps, how="vertical_relaxed").unique(maintain_order=True) if len(snaps) > 1 else snaps[0]
    keys = list(KEYS[name])
    return frame.sort(*keys, "available_at").with_columns(
        pl.col("available_at").rank("ordinal").over(keys).cast(pl.Int32).alias("version")
    )


def load_inputs(con: duckdb.DuckDBPyConnection, as_of: datetime, cot_codes: list[str]) -> tuple[Inputs, list[str]]:
    """All inputs public by ``as_of`` (UTC), every version. Returns the inputs and notes on missing
    datasets."""
    frames: dict[str, pl.DataFrame] = {}
    notes: list[str] = []
    codes = ",".join(f"'{c}'" for c in cot_codes if c.replace("+", "").isalnum())
    try:
        for name, sql in QUERIES.items():
            query = sql.format(codes=codes or "''")
            try:
                if name in REVISED_BY:
                    frames[name] = _versioned(con, name, query, as_of)
                else:
                    _set_as_of(con, as_of)
                    frames[name] = con.sql(query).pl()
            except duckdb.CatalogException as exc:
                notes.append(f"{name}: not available ({str(exc).splitlines()[0]})")
                frames[name] = pl.DataFrame()
    finally:
        con.execute("reset variable as_of").fetchall()
    for name, frame in frames.items():
        if frame.height == 0 and not any(n.startswith(name) for n in notes):
            notes.append(f"{name}: no rows public by {as_of:%Y-%m-%d %H:%M} UTC")
    return Inputs(**frames), notes
