-- analytics.cot_positioning: CFTC TFF futures-only positioning, one row per contract x report date.
-- Grain/key: (contract_code, report_date). Units: *_contracts in contracts; *_frac_oi fractions of
-- open interest (0.05 = 5%). available_at: when this version became public (UTC).
-- Point-in-time: `set variable as_of = timestamptz '...'` shows what was known at that moment
-- (latest version with available_at <= as_of); unset, it shows the latest version of every row.
with known as (
    select *
    from raw.cftc__tff
    where available_at <= coalesce(getvariable('as_of')::timestamptz, 'infinity'::timestamptz)
    qualify row_number() over (
        partition by contract_code, report_date order by version desc
    ) = 1
)

select
    report_date,
    available_at,
    available_at_source,
    contract_code,
    market_name,
    open_interest_contracts,
    dealer_long_contracts,
    dealer_short_contracts,
    asset_mgr_long_contracts,
    asset_mgr_short_contracts,
    lev_funds_long_contracts,
    lev_funds_short_contracts,
    asset_mgr_long_contracts - asset_mgr_short_contracts as asset_mgr_net_contracts,
    lev_funds_long_contracts - lev_funds_short_contracts as lev_funds_net_contracts,
    (asset_mgr_long_contracts - asset_mgr_short_contracts)
    / nullif(open_interest_contracts, 0) as asset_mgr_net_frac_oi,
    (lev_funds_long_contracts - lev_funds_short_contracts)
    / nullif(open_interest_contracts, 0) as lev_funds_net_frac_oi,
    version
from known
