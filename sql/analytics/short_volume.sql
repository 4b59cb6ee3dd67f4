-- analytics.short_volume: FINRA Reg SHO daily short-sale volume (consolidated CNMS files), one row
-- per trade date x symbol.
-- Grain/key: (trade_date, symbol). Units: *_volume_shares in shares (fractional shares in recent
-- files); short_frac = short volume / total volume, a fraction (0.45 = 45%), null when the total
-- is 0. Off-exchange volume only (FINRA TRF, ADF, ORF): short_frac is the short share of
-- off-exchange volume, largely market-maker hedging, not a measure of short interest.
-- Point-in-time: `set variable as_of = timestamptz '...'`, as for analytics.cot_positioning.
with known as (
    select *
    from raw.finra__short_volume
    where available_at <= coalesce(getvariable('as_of')::timestamptz, 'infinity'::timestamptz)
    qualify row_number() over (
        partition by trade_date, symbol order by version desc
    ) = 1
)

select
    trade_date,
    available_at,
    available_at_source,
    symbol,
    short_volume_shares,
    short_exempt_volume_shares,
    total_volume_shares,
    short_volume_shares / nullif(total_volume_shares, 0) as short_frac,
    market,
    version
from known
