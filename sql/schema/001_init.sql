-- 001_init: meta tables and the first two raw datasets (CFTC TFF, Cboe put/call).
-- Raw tables keep every version of every row: a revised value for an existing key is a new
-- row with version + 1; nothing is overwritten. Grain and keys are documented per table.

create schema if not exists raw;
create schema if not exists meta;

-- One row per payload load attempt (duplicate payloads are not re-logged).
create table if not exists meta.loads (
    load_id varchar not null,
    dataset varchar not null,
    origin varchar not null,          -- URL of a live fetch, or the imported file's path
    sha256 varchar not null,          -- content hash of the payload, as stored in raw/
    bytes bigint not null,
    fetched_at timestamptz not null,  -- when we received it (UTC)
    live boolean not null,            -- true = fetched from the publisher, false = file import
    started_at timestamptz not null,
    finished_at timestamptz not null,
    rows_in bigint,
    rows_new bigint,
    rows_revised bigint,
    rows_unchanged bigint,
    min_date date,
    max_date date,
    outcome varchar not null,         -- loaded | unchanged | failed | quarantined
    message varchar,
    raw_path varchar
);

-- Cursor per dataset, moved in the same transaction as the data (as dlt does).
create table if not exists meta.ingest_state (
    dataset varchar primary key,
    last_date date,
    last_load_id varchar,
    updated_at timestamptz
);

-- CFTC Commitments of Traders, Traders in Financial Futures, futures only.
-- Grain: one contract (CFTC contract market code) x one report date (positions as of Tuesday
-- close, sometimes Monday in holiday weeks) x version. Units: contracts.
create table if not exists raw.cftc__tff (
    contract_code varchar not null,
    report_date date not null,
    open_interest_contracts bigint,
    dealer_long_contracts bigint,
    dealer_short_contracts bigint,
    dealer_spread_contracts bigint,
    asset_mgr_long_contracts bigint,
    asset_mgr_short_contracts bigint,
    asset_mgr_spread_contracts bigint,
    lev_funds_long_contracts bigint,
    lev_funds_short_contracts bigint,
    lev_funds_spread_contracts bigint,
    other_rept_long_contracts bigint,
    other_rept_short_contracts bigint,
    other_rept_spread_contracts bigint,
    tot_rept_long_contracts bigint,
    tot_rept_short_contracts bigint,
    nonrept_long_contracts bigint,
    nonrept_short_contracts bigint,
    market_name varchar,
    cftc_market_code varchar,
    cftc_region_code varchar,
    cftc_commodity_code varchar,
    cftc_subgroup_code varchar,
    contract_units varchar,
    futonly_or_combined varchar,
    version integer not null,
    available_at timestamptz not null,
    available_at_source varchar not null,  -- observed | rule
    _row_hash varchar not null,
    _load_id varchar not null,
    _raw_sha256 varchar not null,
    _origin varchar not null,
    _fetched_at timestamptz not null
);

-- Cboe put/call ratios and volumes.
-- Grain: trade date x segment (total, equity, index, etp, vix, spx) x series_source x version.
-- series_source keeps each publication separate (cboe_daily_json, cboe_archive,
-- cboe_archive_old, user_csv): overlapping sources disagree, and are not revisions of each other.
-- Units: volumes in contracts; ratio = puts / calls (dimensionless, 2 dp as published).
create table if not exists raw.cboe__put_call (
    trade_date date not null,
    segment varchar not null,
    series_source varchar not null,
    put_call_ratio double,
    call_volume_contracts bigint,
    put_volume_contracts bigint,
    total_volume_contracts bigint,
    call_open_interest_contracts bigint,
    put_open_interest_contracts bigint,
    source_era varchar,                    -- exchange_only (< 2019-10-07) | all_cboe
    version integer not null,
    available_at timestamptz not null,
    available_at_source varchar not null,
    _row_hash varchar not null,
    _load_id varchar not null,
    _raw_sha256 varchar not null,
    _origin varchar not null,
    _fetched_at timestamptz not null
);
