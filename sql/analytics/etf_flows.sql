-- analytics.etf_flows: daily ETF primary-market flows, one row per flow date x fund.
-- Grain/key: (date, symbol). Units: flow_usd in USD (positive = creations, negative = redemptions);
-- flow_frac_aum = flow as a fraction of the fund's assets before it (0.01 = 1%); shares_outstanding
-- in shares; nav_usd and price_usd in USD per share. NULL = unknown, never 0 (`note` says why).
--
-- Two methods (`method`):
-- * shares_x_nav: from raw.etf__shares, flow_t = (SO_{t-L} - SO_{t-L-1}) * NAV_{t-L}, with L the lag
--   in NYSE trading days (DuckDB variable etf_flow_lag_days, set from config/calendar.yaml
--   etf_flows.lag_trading_days by flows.sources.etf.flows.set_flow_lag; unset = 1; 0 or 1 only).
--   obs_date = t-L. shares_outstanding and nav_usd are SO_{t-L} and NAV_{t-L}; the NAV is the best
--   publisher's for that day (e.g. Invesco's NAV with shares from the user CSV).
--   flow_frac_aum = flow / (SO_{t-L-1} * NAV_{t-L}) = (SO_{t-L} - SO_{t-L-1}) / SO_{t-L-1}.
--   shares_x_close: the same with the market close when no NAV is published (labelled, last resort).
-- * vendor: raw.etf__vendor_flows, dated by the vendor on the share-change day, so shifted by the
--   same L to mean the same thing; flow_frac_aum = flow / the vendor's aum_usd of the previous
--   trading day (when given).
-- Rules: flows only between consecutive NYSE trading days of one publisher's series (no flow across
-- a gap: note 'gap'); a share jump by a standard split ratio k (2, 3, 4, 5, 10 or 1/k, within 5%)
-- with the price falling by about 1/k (within 15%) is a split: flow NULL, note 'split_neutralised',
-- split_ratio = k (a jump by k without two prices to confirm: note 'possible_split_unverified').
-- One row per (date, symbol): a known flow beats a NULL one, then shares_x_nav > vendor >
-- shares_x_close, then issuer > user CSV (`source`).
-- available_at (UTC): the latest available_at among the rows a flow is computed from.
-- Point-in-time: `set variable as_of = timestamptz '...'`, as for analytics.cot_positioning.
with params as (
    select coalesce(getvariable('etf_flow_lag_days')::integer, 1) as lag_days
),

shares_known as (
    select *
    from raw.etf__shares
    where available_at <= coalesce(getvariable('as_of')::timestamptz, 'infinity'::timestamptz)
    qualify row_number() over (
        partition by date, symbol, source order by version desc
    ) = 1
),

vendor_known as (
    select *
    from raw.etf__vendor_flows
    where available_at <= coalesce(getvariable('as_of')::timestamptz, 'infinity'::timestamptz)
    qualify row_number() over (
        partition by date, symbol order by version desc
    ) = 1
),

source_ranked as (
    select
        *,
        case source
            when 'ishares' then 1
            when 'ssga' then 2
            when 'vaneck' then 3
            when 'invesco' then 4
            else 5
        end as source_rank
    from shares_known
),

best_nav as (
    select
        date,
        symbol,
        arg_min(nav_usd, source_rank) as nav_usd,
        arg_min(available_at, source_rank) as nav_available_at
    from source_ranked
    where nav_usd is not null
    group by date, symbol
),

series as (
    select
        s.date,
        s.symbol,
        s.source,
        s.source_rank,
        s.shares_outstanding,
        s.close_usd,
        s.prev_trading_date,
        s.next_trading_date,
        s.available_at,
        n.nav_usd,
        n.nav_available_at,
        lag(s.date) over w as p_date,
        lag(s.shares_outstanding) over w as p_shares,
        lag(n.nav_usd) over w as p_nav,
        lag(s.close_usd) over w as p_close,
        lag(s.available_at) over w as p_available_at,
        lag(n.nav_available_at) over w as p_nav_available_at
    from source_ranked as s
    left join best_nav as n on s.date = n.date and s.symbol = n.symbol
    where s.shares_outstanding is not null
    window w as (partition by s.symbol, s.source order by s.date)
),

priced as (
    select
        *,
        coalesce(p_date = prev_trading_date, false) as consecutive,
        coalesce(nav_usd, close_usd) as price_usd,
        case when nav_usd is null and close_usd is not null then 'shares_x_close' else 'shares_x_nav' end as method,
        shares_outstanding::double / nullif(p_shares, 0) as shares_ratio,
        coalesce(nav_usd / p_nav, close_usd / p_close) as price_ratio
    from series
),

split_ratios as (
    select unnest([2.0, 3.0, 4.0, 5.0, 10.0, 0.5, 1.0 / 3.0, 0.25, 0.2, 0.1]::double []) as k
),

checked as (
    select
        p.*,
        (
            select max(r.k) from split_ratios as r
            where abs(p.shares_ratio / r.k - 1) <= 0.05 and abs(p.price_ratio * r.k - 1) <= 0.15
        ) as split_ratio,
        p.price_ratio is null and exists (
            select 1 from split_ratios as r where abs(p.shares_ratio / r.k - 1) <= 0.05
        ) as split_unverified
    from priced as p
),

derived as (
    select
        c.date as obs_date,
        c.symbol,
        c.source,
        c.source_rank,
        c.method,
        c.shares_outstanding,
        c.nav_usd,
        c.price_usd,
        c.split_ratio,
        case
            when c.p_date is null then 'first_observation'
            when not c.consecutive then 'gap'
            when c.split_ratio is not null then 'split_neutralised'
            when c.split_unverified then 'possible_split_unverified'
            when c.price_usd is null then 'no_price'
        end as note,
        case
            when params.lag_days = 0 then c.date
            when params.lag_days = 1 then c.next_trading_date
            else error('etf_flow_lag_days must be 0 or 1, not ' || params.lag_days::varchar)::date
        end as flow_date,
        greatest(c.available_at, c.p_available_at, c.nav_available_at, c.p_nav_available_at) as available_at,
        (c.shares_outstanding - c.p_shares) * c.price_usd as raw_flow_usd,
        (c.shares_outstanding - c.p_shares)::double / nullif(c.p_shares, 0) as raw_flow_frac_aum
    from checked as c
    cross join params
),

shares_flows as (
    select
        * exclude (raw_flow_usd, raw_flow_frac_aum),
        case when note is null then raw_flow_usd end as flow_usd,
        case when note is null then raw_flow_frac_aum end as flow_frac_aum
    from derived
),

vendor_flows as (
    select
        v.date as obs_date,
        v.symbol,
        'vendor_csv' as source,
        6 as source_rank,
        'vendor' as method,
        null::bigint as shares_outstanding,
        null::double as nav_usd,
        null::double as price_usd,
        null::double as split_ratio,
        case when v.flow_usd is null then 'vendor_missing' end as note,
        case
            when params.lag_days = 0 then v.date
            when params.lag_days = 1 then v.next_trading_date
            else error('etf_flow_lag_days must be 0 or 1, not ' || params.lag_days::varchar)::date
        end as flow_date,
        greatest(
            v.available_at,
            case when lag(v.date) over w = v.prev_trading_date then lag(v.available_at) over w end
        ) as available_at,
        v.flow_usd,
        case
            when lag(v.date) over w = v.prev_trading_date then v.flow_usd / nullif(lag(v.aum_usd) over w, 0)
        end as flow_frac_aum
    from vendor_known as v
    cross join params
    window w as (partition by v.symbol order by v.date)
),

chosen as (
    select
        *,
        max(split_ratio) over (partition by flow_date, symbol) as any_split_ratio
    from (
        select * from shares_flows
        union all by name
        select * from vendor_flows
    )
    qualify row_number() over (
        partition by flow_date, symbol
        order by
            flow_usd is null,
            case method when 'shares_x_nav' then 1 when 'vendor' then 2 else 3 end,
            source_rank
    ) = 1
)

select
    chosen.flow_date as date,
    chosen.available_at,
    chosen.symbol,
    chosen.shares_outstanding,
    chosen.nav_usd,
    chosen.flow_usd,
    chosen.flow_frac_aum,
    chosen.method,
    chosen.price_usd,
    chosen.obs_date,
    params.lag_days,
    chosen.source,
    chosen.any_split_ratio as split_ratio,
    coalesce(
        chosen.note, case when chosen.any_split_ratio is not null then 'split_in_shares_series' end
    ) as note
from chosen
cross join params
