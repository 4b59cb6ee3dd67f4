-- 003_finra_short_interest: FINRA consolidated short interest (twice monthly).
-- Grain: settlement date x symbol (FINRA symbolCode) x series_source x version.
-- Key: (settlement_date, symbol, series_source); series_source = 'finra' (Query API JSON or the
-- bi-monthly file: one publication) or 'user_csv' (bring-your-own, kept beside, never a revision).
-- Units: *_shares in shares; days_to_cover in days (short interest / average daily volume, 2 dp,
-- FINRA caps it at 999.99). Versioned values: short_interest_shares, avg_daily_volume_shares,
-- days_to_cover; the flags and previous_short_interest_shares are attributes (not versioned).
-- available_at rule: 7th NYSE trading day after the settlement date, 18:00 ET.
create table if not exists raw.finra__short_interest (
    settlement_date date not null,
    symbol varchar not null,
    series_source varchar not null,          -- finra | user_csv
    short_interest_shares bigint,
    avg_daily_volume_shares bigint,
    days_to_cover double,
    previous_short_interest_shares bigint,   -- as FINRA published it with this row
    issue_name varchar,
    market_class_code varchar,               -- NNM, SC, NYSE, AMEX, ARCA, BZX, OTC, ...
    revision_flag varchar,                   -- set by FINRA on a corrected row
    stock_split_flag varchar,
    version integer not null,
    available_at timestamptz not null,
    available_at_source varchar not null,    -- observed | rule
    _row_hash varchar not null,
    _load_id varchar not null,
    _raw_sha256 varchar not null,
    _origin varchar not null,
    _fetched_at timestamptz not null
);
