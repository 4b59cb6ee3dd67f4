-- 007_prices: daily OHLCV prices (flows/sources/prices/daily.py, docs/datasets/prices_rates.md).
-- Grain: trade date x symbol x series_source x version. Key: (date, symbol, series_source).
-- series_source keeps each publication separate (cboe_delayed, nasdaq_api, yahoo_csv_adj,
-- yahoo_csv, alphavantage_csv, user_csv): vendors disagree (adjusted vs as traded, volume
-- definitions), and one vendor's bar is not a revision of another's; analytics.prices ranks them.
-- Units: open, high, low, close, adj_close in USD per share (as the vendor states them: see the
-- series' adjustment basis); volume in shares. available_at (rule): 16:00 New York on the trade date.
create table if not exists raw.prices__daily (
    date date not null,
    symbol varchar not null,
    series_source varchar not null,
    open double,
    high double,
    low double,
    close double not null,
    adj_close double,                      -- split + dividend adjusted close; null when the source has none
    volume bigint,
    version integer not null,
    available_at timestamptz not null,
    available_at_source varchar not null,  -- observed | rule
    _row_hash varchar not null,
    _load_id varchar not null,
    _raw_sha256 varchar not null,
    _origin varchar not null,
    _fetched_at timestamptz not null
);
