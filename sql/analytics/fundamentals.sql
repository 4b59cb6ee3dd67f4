-- analytics.fundamentals: quarterly and annual fundamentals per symbol, as first reported.
-- Grain/key: (symbol, fiscal_period_end, period_kind), period_kind = quarter | year (classified by
-- the period's length, never by the filing's fp). Built by flows/sources/sec/fundamentals.py into
-- marts.fundamentals after every load of sec_facts, sec_tickers or vendor_fundamentals.
-- Units: revenue_usd, net_income_usd, ttm_revenue_usd, ttm_net_income_usd in US dollars;
-- eps_diluted_usd and ttm_eps_diluted_usd in US dollars per share on TODAY's share basis (split
-- adjusted); diluted_shares in shares on today's basis; split_factor = today's shares per share
-- as first reported. ttm_* (quarter rows only) = sum of the last four consecutive quarters;
-- ttm_eps_diluted_usd is the sum of four quarterly diluted EPS (not an annual EPS).
-- filed_date: the last filing among the row's inputs; available_at (UTC): when this version's
-- values (TTM inputs included) were all public (filed date 22:00 ET unless seen earlier live); a
-- row gains versions as its inputs arrive (e.g. net income only in a later filing).
-- Point-in-time: `set variable as_of = timestamptz '...'` shows the latest version public at that
-- moment; SEC rows win over vendor rows for the same period when both are known (source says which).
with known as (
    select *
    from marts.fundamentals
    where available_at <= coalesce(getvariable('as_of')::timestamptz, 'infinity'::timestamptz)
    qualify row_number() over (
        partition by symbol, source, period_kind, fiscal_period_end order by version desc
    ) = 1
),

ranked as (
    select *
    from known
    qualify row_number() over (
        partition by symbol, period_kind, fiscal_period_end
        order by case source when 'sec' then 1 else 2 end
    ) = 1
)

select
    symbol,
    cik,
    fiscal_period_start,
    fiscal_period_end,
    period_kind,
    filed_date,
    available_at,
    revenue_usd,
    net_income_usd,
    eps_diluted_usd,
    ttm_revenue_usd,
    ttm_net_income_usd,
    ttm_eps_diluted_usd,
    diluted_shares,
    split_factor,
    revenue_tag,
    revenue_method,
    net_income_method,
    shares_method,
    eps_method,
    flags,
    source,
    version
from ranked
