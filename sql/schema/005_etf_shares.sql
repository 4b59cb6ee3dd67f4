-- 005_etf_shares: ETF shares outstanding and NAV per fund and trading day (dataset etf_shares).
-- Grain: date (issuer as-of date, an NYSE trading day) x symbol (exchange ticker) x source
-- (ishares | ssga | vaneck | invesco | user_csv) x version. Key: (date, symbol, source): overlapping
-- publishers are kept side by side, not as revisions of each other; analytics.etf_shares ranks them.
-- Units: shares_outstanding in shares; nav_usd and close_usd in USD per share; total_net_assets_usd
-- in USD. NULL = not published (never 0). prev_trading_date / next_trading_date: the NYSE trading
-- days around `date` (attributes, not versioned), used by analytics.etf_flows for gaps and lags.
create table if not exists raw.etf__shares (
    date date not null,
    symbol varchar not null,
    source varchar not null,
    shares_outstanding bigint,
    nav_usd double,
    close_usd double,
    total_net_assets_usd double,
    prev_trading_date date,
    next_trading_date date,
    version integer not null,
    available_at timestamptz not null,
    available_at_source varchar not null,  -- observed | rule
    _row_hash varchar not null,
    _load_id varchar not null,
    _raw_sha256 varchar not null,
    _origin varchar not null,
    _fetched_at timestamptz not null
);
