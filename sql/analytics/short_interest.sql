-- analytics.short_interest: FINRA consolidated short interest, one row per settlement date x symbol.
-- Grain/key: (settlement_date, symbol). Units: short_interest_shares, avg_daily_volume_shares in
-- shares; days_to_cover in days (null when the average daily volume is 0: undefined);
-- change_frac = change of short interest since the symbol's previous settlement date, a fraction
-- (0.05 = +5%). change_frac is null when that previous row is missing (first row of a symbol, or a
-- skipped cycle: the previous row must be at most 22 days earlier, one cycle being 12-19 days) or
-- was 0: a gap is never read as zero, and never bridged.
-- Where FINRA's own rows and a user CSV cover the same key, FINRA's win (series_source says which).
-- Point-in-time: `set variable as_of = timestamptz '...'`, as for analytics.cot_positioning; the
-- change is then computed from what was known at that moment.
with known as (
    select *
    from raw.finra__short_interest
    where available_at <= coalesce(getvariable('as_of')::timestamptz, 'infinity'::timestamptz)
    qualify row_number() over (
        partition by settlement_date, symbol, series_source order by version desc
    ) = 1
),

ranked as (
    select *
    from known
    qualify row_number() over (
        partition by settlement_date, symbol
        order by case series_source when 'finra' then 1 else 2 end
    ) = 1
),

with_previous as (
    select
        *,
        lag(settlement_date) over bysymbol as previous_settlement_date,
        lag(short_interest_shares) over bysymbol as previous_shares
    from ranked
    window bysymbol as (partition by symbol order by settlement_date)
)

select
    settlement_date,
    available_at,
    available_at_source,
    symbol,
    short_interest_shares,
    avg_daily_volume_shares,
    case when avg_daily_volume_shares = 0 then null else days_to_cover end as days_to_cover,
    case
        when previous_settlement_date >= settlement_date - interval 22 day
            then (short_interest_shares - previous_shares)::double / nullif(previous_shares, 0)
    end as change_frac,
    revision_flag,
    series_source,
    version
from with_previous
