-- analytics.prices: daily OHLCV, one row per trade date x symbol.
-- Grain/key: (date, symbol). Units: open, high, low, close, adj_close in USD per share (basis of the
-- chosen series_source, docs/datasets/prices_rates.md); volume in shares; return_1d a fraction
-- (0.01 = +1%). available_at: 16:00 New York on the trade date (rule), or later for a revision.
-- Several publications may cover a day; the one with the best-documented adjustment basis wins:
-- yahoo_csv_adj > yahoo_csv > nasdaq_api > cboe_delayed > alphavantage_csv > user_csv
-- (series_source says which; the order is SERIES_RANK in flows/sources/prices/daily.py).
-- return_1d: adj_close / previous adj_close - 1 when both bars have one, else close / previous
-- close - 1, between consecutive bars of the same symbol AND the same series_source (never across
-- two vendors: adjusted vs as-traded levels differ). Null on the first bar of a series, and when
-- the series' previous bar is not the symbol's previous date (a gap in that series: the change
-- would span several days).
-- Point-in-time: `set variable as_of = timestamptz '...'`, as for analytics.cot_positioning.
with known as (
    select *
    from raw.prices__daily
    where available_at <= coalesce(getvariable('as_of')::timestamptz, 'infinity'::timestamptz)
    qualify row_number() over (
        partition by date, symbol, series_source order by version desc
    ) = 1
),

days as (
    -- every date any series has for the symbol, and the one before it
    select symbol, date, lag(date) over (partition by symbol order by date) as prev_date
    from (select distinct symbol, date from known)
),

with_returns as (
    select
        k.*,
        case
            when lag(k.date) over w is distinct from d.prev_date then null
            when k.adj_close is not null and lag(k.adj_close) over w is not null
                then k.adj_close / lag(k.adj_close) over w - 1
            else k.close / lag(k.close) over w - 1
        end as return_1d
    from known as k
    inner join days as d using (symbol, date)
    window w as (partition by k.symbol, k.series_source order by k.date)
),

ranked as (
    select *
    from with_returns
    qualify row_number() over (
        partition by date, symbol
        order by case series_source
            when 'yahoo_csv_adj' then 1
            when 'yahoo_csv' then 2
            when 'nasdaq_api' then 3
            when 'cboe_delayed' then 4
            when 'alphavantage_csv' then 5
            when 'user_csv' then 6
            else 7
        end
    ) = 1
)

select
    date,
    symbol,
    open,
    high,
    low,
    close,
    adj_close,
    volume,
    return_1d,
    available_at,
    available_at_source,
    series_source,
    version
from ranked
