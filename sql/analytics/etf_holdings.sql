-- analytics.etf_holdings: ETF holdings weights, one row per ETF x holdings date x symbol.
-- Grain/key: (etf, as_of_date, symbol). Units: weight_frac = fraction of the fund's total net
-- assets (0.1927 = 19.27%). asset_class: equity (one row per stock symbol) or the non-equity lines
-- summed per class: _CASH (cash), _FUTURES (future), _OTHER (other); these may be negative.
-- available_at: when the snapshot became public (UTC): issuer files at the next NYSE session's open
-- after as_of_date, N-PORT-derived weights 60 days after the report period.
-- One publication per (etf, as_of_date): issuer file > user CSV > N-PORT (series_source says which).
-- Snapshots are sparse: for the weights usable on a date, held constant from the last snapshot and
-- with their age, use analytics.etf_weights_asof(d) (sql/schema/010_etf_holdings.sql).
-- Point-in-time: `set variable as_of = timestamptz '...'`, as for analytics.cot_positioning.
with known as (
    select *
    from raw.etf__holdings
    where available_at <= coalesce(getvariable('as_of')::timestamptz, 'infinity'::timestamptz)
    qualify row_number() over (
        partition by etf, as_of_date, symbol, series_source order by version desc
    ) = 1
),

ranked as (
    select
        *,
        case series_source when 'issuer' then 1 when 'user_csv' then 2 else 3 end as series_rank
    from known
),

chosen as (
    select *
    from ranked
    qualify series_rank = min(series_rank) over (partition by etf, as_of_date)
)

select
    as_of_date,
    available_at,
    available_at_source,
    etf,
    symbol,
    weight_frac,
    asset_class,
    name,
    series_source,
    source_format,
    version
from chosen
