-- 008_rates: FRED interest-rate series, e.g. DGS10 (flows/sources/fred/rates.py, docs/datasets/prices_rates.md).
-- Grain: series x observation date x version. Key: (series_id, date).
-- Units: yield_frac is a fraction (FRED's 4.25 percent is stored as 0.0425). A date FRED lists
-- without a value ("." or empty: bond-market holiday) is stored with yield_frac null.
-- available_at (rule): observation date + 1 day, 09:00 New York (config/calendar.yaml fred_rates).
create table if not exists raw.fred__rates (
    series_id varchar not null,
    date date not null,
    yield_frac double,
    version integer not null,
    available_at timestamptz not null,
    available_at_source varchar not null,  -- observed | rule
    _row_hash varchar not null,
    _load_id varchar not null,
    _raw_sha256 varchar not null,
    _origin varchar not null,
    _fetched_at timestamptz not null
);
