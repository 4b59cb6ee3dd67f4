-- analytics.sec_tickers: the SEC ticker-to-CIK map, one row per ticker (latest version known).
-- Grain/key: ticker. cik: 10-digit zero-padded text. listing_rank: position in SEC's file (lowest
-- rank wins when a CIK has several tickers). snapshot_date: New York date the map was read.
-- Point-in-time: `set variable as_of = timestamptz '...'`, as for analytics.cot_positioning.
with known as (
    select *
    from raw.sec__tickers
    where available_at <= coalesce(getvariable('as_of')::timestamptz, 'infinity'::timestamptz)
    qualify row_number() over (partition by ticker order by version desc) = 1
)

select
    ticker,
    cik,
    title,
    exchange,
    listing_rank,
    snapshot_date,
    available_at,
    available_at_source,
    version
from known
