-- analytics.etf_shares: ETF shares outstanding and NAV, one row per trading day x fund.
-- Grain/key: (date, symbol). Units: shares_outstanding in shares; nav_usd and close_usd in USD per
-- share; total_net_assets_usd in USD; NULL = not published (never 0).
-- Each figure comes from the best publisher that has it that day: the issuer files (ishares, ssga,
-- vaneck, invesco: Invesco publishes NAV only), then the user CSV; shares_source / nav_source say
-- which. available_at (UTC): the latest available_at among the rows the figures come from.
-- Point-in-time: `set variable as_of = timestamptz '...'`, as for analytics.cot_positioning.
with known as (
    select *
    from raw.etf__shares
    where available_at <= coalesce(getvariable('as_of')::timestamptz, 'infinity'::timestamptz)
    qualify row_number() over (
        partition by date, symbol, source order by version desc
    ) = 1
),

ranked as (
    select
        *,
        case source
            when 'ishares' then 1
            when 'ssga' then 2
            when 'vaneck' then 3
            when 'invesco' then 4
            else 5
        end as source_rank
    from known
)

select
    date,
    greatest(
        arg_min(available_at, source_rank) filter (where shares_outstanding is not null),
        arg_min(available_at, source_rank) filter (where nav_usd is not null),
        arg_min(available_at, source_rank) filter (where close_usd is not null),
        arg_min(available_at, source_rank) filter (where total_net_assets_usd is not null)
    ) as available_at,
    symbol,
    arg_min(shares_outstanding, source_rank) filter (where shares_outstanding is not null) as shares_outstanding,
    arg_min(nav_usd, source_rank) filter (where nav_usd is not null) as nav_usd,
    arg_min(close_usd, source_rank) filter (where close_usd is not null) as close_usd,
    arg_min(total_net_assets_usd, source_rank) filter (
        where total_net_assets_usd is not null
    ) as total_net_assets_usd,
    arg_min(source, source_rank) filter (where shares_outstanding is not null) as shares_source,
    arg_min(source, source_rank) filter (where nav_usd is not null) as nav_source
from ranked
group by date, symbol
