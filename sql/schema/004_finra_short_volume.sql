-- 004_finra_short_volume: FINRA Reg SHO daily short-sale volume, consolidated (CNMS) files.
-- Grain: trade date x symbol x version. Key: (trade_date, symbol).
-- Units: *_volume_shares in shares, stored as double (FINRA reports fractional shares, 6 dp, in
-- recent files). short_volume_shares includes the short-exempt volume. Off-exchange (FINRA TRF,
-- ADF, ORF), regular-hours, media-reported trades only. market = contributing facilities (B,Q,N).
-- available_at rule: trade date 18:00 ET.
create table if not exists raw.finra__short_volume (
    trade_date date not null,
    symbol varchar not null,
    short_volume_shares double,
    short_exempt_volume_shares double,       -- null in files without the column (before ~2012)
    total_volume_shares double,
    market varchar,
    version integer not null,
    available_at timestamptz not null,
    available_at_source varchar not null,    -- observed | rule
    _row_hash varchar not null,
    _load_id varchar not null,
    _raw_sha256 varchar not null,
    _origin varchar not null,
    _fetched_at timestamptz not null
);
