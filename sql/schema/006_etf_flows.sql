-- 006_etf_flows: vendor daily ETF fund flows (dataset etf_flows, the bring-your-own CSV
-- date,symbol,flow_usd[,aum_usd]).
-- Grain: date (vendor's flow date, an NYSE trading day: the day the share count changed) x symbol
-- x version. Key: (date, symbol). Units: flow_usd in USD, positive = creations; aum_usd = fund total
-- assets that day in USD (optional). NULL = missing (never 0; 0 = no creation or redemption).
-- prev_trading_date / next_trading_date: the NYSE trading days around `date` (attributes).
create table if not exists raw.etf__vendor_flows (
    date date not null,
    symbol varchar not null,
    flow_usd double,
    aum_usd double,
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
