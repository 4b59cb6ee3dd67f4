-- 009_sec_facts: SEC EDGAR XBRL company facts, the SEC ticker map, vendor fundamentals (raw),
-- and the fundamentals mart built from them (flows/sources/sec/fundamentals.py).

create schema if not exists raw;
create schema if not exists marts;

-- SEC companyfacts: every fact row of every filing (original, comparatives, amendments, recasts).
-- Grain/key: (cik, taxonomy, tag, unit, period_start, period_end, accn) x version; instants have
-- period_start = period_end (period_type = 'instant'). Units: value is in the row's `unit`
-- (USD, shares, USD/shares, pure, ...). fy/fp/form describe the filing, not the fact.
create table if not exists raw.sec__facts (
    cik varchar not null,                  -- 10-digit zero-padded
    taxonomy varchar not null,             -- us-gaap | dei | ifrs-full | srt | ...
    tag varchar not null,                  -- concept, e.g. Revenues
    unit varchar not null,
    period_start date not null,
    period_end date not null,
    accn varchar not null,                 -- accession number of the filing
    value double not null,
    entity_name varchar,
    ticker varchar,                        -- hint of a live fetch / the file's own field, else null
    period_type varchar,                   -- duration | instant
    fy integer,
    fp varchar,
    form varchar,
    filed_date date,                       -- EDGAR filing date (a date only)
    frame varchar,                         -- SEC calendar-frame label (moves between facts)
    version integer not null,
    available_at timestamptz not null,     -- rule: filed_date 22:00 ET
    available_at_source varchar not null,
    _row_hash varchar not null,
    _load_id varchar not null,
    _raw_sha256 varchar not null,
    _origin varchar not null,
    _fetched_at timestamptz not null
);

-- SEC ticker map (company_tickers.json). Grain/key: ticker x version. cik 10-digit text.
create table if not exists raw.sec__tickers (
    ticker varchar not null,
    cik varchar not null,
    title varchar,
    exchange varchar,
    listing_rank bigint,                   -- position in the file (ties: lowest rank wins)
    snapshot_date date,                    -- New York date the snapshot was read
    version integer not null,
    available_at timestamptz not null,
    available_at_source varchar not null,
    _row_hash varchar not null,
    _load_id varchar not null,
    _raw_sha256 varchar not null,
    _origin varchar not null,
    _fetched_at timestamptz not null
);

-- Vendor quarterly fundamentals (bring-your-own CSV). Grain/key: (symbol, fiscal_period_end) x
-- version. Units: *_usd in US dollars; eps_diluted_usd in US dollars per share.
create table if not exists raw.vendor__fundamentals (
    symbol varchar not null,
    fiscal_period_end date not null,
    filed_date date,
    revenue_usd double,
    eps_diluted_usd double,
    net_income_usd double,
    version integer not null,
    available_at timestamptz not null,     -- rule: filed_date 22:00 ET
    available_at_source varchar not null,
    _row_hash varchar not null,
    _load_id varchar not null,
    _raw_sha256 varchar not null,
    _origin varchar not null,
    _fetched_at timestamptz not null
);

-- Fundamentals mart, rebuilt from the three raw tables after each load that changes them.
-- Grain/key: (symbol, source, period_kind, fiscal_period_end, version). Point in time: values are
-- the first-filed ones; a row gets a new version each time one of its inputs (or of its TTM)
-- became public, and available_at is that moment (every value of the version was public then).
-- Units: *_usd US dollars; eps_* US dollars per share on today's share basis; diluted_shares shares
-- on today's basis; split_factor = shares today per share as first reported.
create table if not exists marts.fundamentals (
    symbol varchar not null,
    cik varchar,
    source varchar not null,               -- sec | vendor
    fiscal_period_start date,
    fiscal_period_end date not null,
    period_kind varchar not null,          -- quarter | year
    filed_date date not null,              -- the last filing among the row's inputs
    available_at timestamptz not null,
    version integer not null,              -- 1, 2, ... as inputs became public
    revenue_usd double,
    revenue_tag varchar,                   -- us-gaap concept that won for this period
    revenue_method varchar,                -- reported | ytd_difference | vendor
    net_income_usd double,
    net_income_method varchar,
    diluted_shares double,
    shares_method varchar,                 -- reported | ytd_day_weighted
    eps_diluted_usd double,
    eps_method varchar,                    -- reported | derived_ni_over_shares | vendor
    split_factor double,
    ttm_revenue_usd double,
    ttm_net_income_usd double,
    ttm_eps_diluted_usd double,            -- sum of the last four quarterly diluted EPS
    flags varchar,                         -- comma-separated notes (e.g. eps_derived, q4_derived)
    built_at timestamptz not null
);
