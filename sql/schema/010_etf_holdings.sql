-- 010_etf_holdings: ETF holdings weights, and the as-of helper analytics.etf_weights_asof(d).
-- Grain: ETF x as-of date (the holdings date the file states) x symbol x series_source x version.
-- Key: (etf, as_of_date, symbol, series_source). series_source: issuer (an issuer file: iShares,
-- VanEck, Invesco, SSGA), user_csv (bring-your-own CSV), nport (weights from SEC N-PORT-P filings).
-- Units: weight_frac = fraction of the fund's total net assets (0.1927 = 19.27%). One row per
-- equity symbol; non-equity lines summed per class into _CASH, _FUTURES, _OTHER (asset_class says
-- which; they may be negative). A snapshot's weights sum to 1 within 2%.
create table if not exists raw.etf__holdings (
    etf varchar not null,
    as_of_date date not null,
    symbol varchar not null,
    series_source varchar not null,        -- issuer | user_csv | nport
    weight_frac double not null,
    asset_class varchar not null,          -- equity | cash | future | other
    name varchar,                          -- security name; for _CASH/_FUTURES/_OTHER the lines summed
    source_format varchar not null,        -- ishares_csv | vaneck_json | invesco_json | invesco_csv | ssga_xlsx | user_csv
    version integer not null,
    available_at timestamptz not null,
    available_at_source varchar not null,  -- observed | rule
    _row_hash varchar not null,
    _load_id varchar not null,
    _raw_sha256 varchar not null,
    _origin varchar not null,
    _fetched_at timestamptz not null
);

create schema if not exists analytics;

-- analytics.etf_weights_asof(d): the weights usable on date d, per ETF the latest snapshot that was
-- public by d's NYSE open (09:30 New York) -- and by the `as_of` variable when it is set -- with its
-- age. Weights are held constant from one snapshot to the next, never interpolated; an ETF with no
-- snapshot public yet has no rows. One publication per (etf, as_of_date): issuer > user_csv > nport.
-- Columns: weights_date (= d), etf, symbol, weight_frac (fraction), asset_class, as_of_date (the
-- snapshot's holdings date), available_at (UTC), age_days (d - as_of_date, calendar days),
-- series_source, version. Usage: select * from analytics.etf_weights_asof(date '2026-10-05').
create or replace macro analytics.etf_weights_asof(d) as table
with cutoff as (
    select least(
        timezone('America/New_York', cast(d as date) + interval '9 hours 30 minutes'),
        coalesce(getvariable('as_of')::timestamptz, 'infinity'::timestamptz)
    ) as at
),

known as (
    select h.*
    from raw.etf__holdings as h, cutoff
    where h.available_at <= cutoff.at
    qualify row_number() over (
        partition by h.etf, h.as_of_date, h.symbol, h.series_source order by h.version desc
    ) = 1
),

snapshots as (
    select
        etf,
        as_of_date,
        series_source,
        max(available_at) as available_at
    from known
    group by etf, as_of_date, series_source
    qualify row_number() over (
        partition by etf, as_of_date
        order by case series_source when 'issuer' then 1 when 'user_csv' then 2 else 3 end
    ) = 1
),

latest as (
    select *
    from snapshots
    qualify row_number() over (partition by etf order by as_of_date desc) = 1
)

select
    cast(d as date) as weights_date,
    k.etf,
    k.symbol,
    k.weight_frac,
    k.asset_class,
    k.as_of_date,
    l.available_at,
    date_diff('day', k.as_of_date, cast(d as date)) as age_days,
    k.series_source,
    k.version
from known as k
inner join latest as l
    on k.etf = l.etf and k.as_of_date = l.as_of_date and k.series_source = l.series_source;
