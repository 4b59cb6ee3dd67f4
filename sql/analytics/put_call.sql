-- analytics.put_call: Cboe put/call ratio, one row per trade date x segment.
-- Grain/key: (trade_date, segment). Units: put_call_ratio dimensionless (puts / calls);
-- volumes in contracts. source_era: exchange_only (Cboe Options Exchange archive, before
-- 2019-10-07) or all_cboe (all Cboe options exchanges, daily JSON era): expect a level shift.
-- Where several publications cover a day, the most authoritative wins: Cboe daily JSON, then the
-- main archive CSV, then the older archive, then a user-supplied CSV (series_source says which).
-- Point-in-time: `set variable as_of = timestamptz '...'`, as for analytics.cot_positioning.
with known as (
    select *
    from raw.cboe__put_call
    where available_at <= coalesce(getvariable('as_of')::timestamptz, 'infinity'::timestamptz)
    qualify row_number() over (
        partition by trade_date, segment, series_source order by version desc
    ) = 1
),

ranked as (
    select *
    from known
    qualify row_number() over (
        partition by trade_date, segment
        order by case series_source
            when 'cboe_daily_json' then 1
            when 'cboe_archive' then 2
            when 'cboe_archive_old' then 3
            else 4
        end
    ) = 1
)

select
    trade_date,
    available_at,
    available_at_source,
    segment,
    coalesce(
        put_call_ratio,
        round(put_volume_contracts / nullif(call_volume_contracts, 0), 2)
    ) as put_call_ratio,
    call_volume_contracts,
    put_volume_contracts,
    source_era,
    series_source,
    version
from ranked
