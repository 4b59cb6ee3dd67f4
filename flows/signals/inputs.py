"""Read the point-in-time inputs of the scores from the warehouse.

Everything is read as known at the build's last decision time (``set variable as_of``), so a
historical build never sees a row published after its as-of date. Drivers whose revisions matter
for the native-grid statistics (COT, short interest) are read with every version and its own
``available_at`` from the raw tables; the others from their documented views. A dataset that is
not loaded yields an empty frame: its components are simply absent (never zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import polars as pl


@dataclass
class Inputs:
    cot: pl.DataFrame  # contract_code, report_date, available_at, version, asset_mgr_net, lev_funds_net, oi
    put_call: pl.DataFrame  # trade_date, available_at, segment, put_call_ratio
    short_interest: pl.DataFrame  # settlement_date, available_at, version, symbol, days_to_cover
    prices: pl.DataFrame  # date, available_at, symbol, close (adjusted where known), volume
    flows: pl.DataFrame  # date, available_at, symbol, flow_usd, flow_frac_aum
    holdings: pl.DataFrame  # as_of_date, available_at, etf, symbol, weight_frac (equity lines)
    fundamentals: pl.DataFrame  # symbol, fiscal_period_end, available_at, eps_diluted_usd, revenue_usd, ttm_eps


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
        select k.date, k.available_at, k.symbol, coalesce(k.adj_close, k.close) as close, k.volume
        from known as k inner join best using (symbol, series_source)
        where coalesce(k.adj_close, k.close) > 0
    """,
    "flows": """
        select date, available_at, symbol, flow_usd, flow_frac_aum from analytics.etf_flows
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


def load_inputs(con: duckdb.DuckDBPyConnection, as_of: datetime, cot_codes: list[str]) -> tuple[Inputs, list[str]]:
    """All inputs public by ``as_of`` (UTC). Returns the inputs and notes on missing datasets."""
    con.execute("set variable as_of = ?::timestamptz", [as_of.isoformat()]).fetchall()
    frames: dict[str, pl.DataFrame] = {}
    notes: list[str] = []
    codes = ",".join(f"'{c}'" for c in cot_codes if c.replace("+", "").isalnum())
    try:
        for name, sql in QUERIES.items():
            try:
                frames[name] = con.sql(sql.format(codes=codes or "''")).pl()
            except duckdb.CatalogException as exc:
                notes.append(f"{name}: not available ({str(exc).splitlines()[0]})")
                frames[name] = pl.DataFrame()
    finally:
        con.execute("reset variable as_of").fetchall()
    for name, frame in frames.items():
        if frame.height == 0 and not any(n.startswith(name) for n in notes):
            notes.append(f"{name}: no rows public by {as_of:%Y-%m-%d %H:%M} UTC")
    return Inputs(**frames), notes
