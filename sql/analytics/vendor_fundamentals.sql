-- analytics.vendor_fundamentals: vendor quarterly fundamentals as supplied (bring-your-own CSV),
-- one row per (symbol, fiscal_period_end), latest version known. Units: revenue_usd and
-- net_income_usd in US dollars, eps_diluted_usd in US dollars per share (vendor's split basis).
-- available_at: filed_date 22:00 ET (a revision: when we first saw it). analytics.fundamentals
-- uses these rows only where no SEC row for the period is known (source = 'vendor').
-- Point-in-time: `set variable as_of = timestamptz '...'`, as for analytics.cot_positioning.
with known as (
    select *
    from raw.vendor__fundamentals
    where available_at <= coalesce(getvariable('as_of')::timestamptz, 'infinity'::timestamptz)
    qualify row_number() over (
        partition by symbol, fiscal_period_end order by version desc
    ) = 1
)

select
    symbol,
    fiscal_period_end,
    filed_date,
    available_at,
    available_at_source,
    revenue_usd,
    net_income_usd,
    eps_diluted_usd,
    version
from known
