-- analytics.rates: FRED rate series (DGS10, ...), one row per series x observation date with a value.
-- Grain/key: (series_id, date). Units: yield_frac a fraction (FRED's 4.25 percent = 0.0425).
-- available_at: observation date + 1 day at 09:00 New York (rule), earlier when a live fetch saw it
-- first (observed), later for a revision. Dates FRED lists without a value (bond-market holidays;
-- stored in raw.fred__rates with yield_frac null) are left out: carry the last value forward only
-- under as-of semantics.
-- Point-in-time: `set variable as_of = timestamptz '...'`, as for analytics.cot_positioning.
with known as (
    select *
    from raw.fred__rates
    where available_at <= coalesce(getvariable('as_of')::timestamptz, 'infinity'::timestamptz)
    qualify row_number() over (
        partition by series_id, date order by version desc
    ) = 1
)

select
    date,
    available_at,
    series_id,
    yield_frac,
    available_at_source,
    version
from known
where yield_frac is not null
