-- 011_signals: scores, regimes, persistence profiles and scenario odds (METHODS.md §1, §4, §6).
-- Written only by flows.signals.build, one transaction per build; a row for day D uses only inputs
-- with available_at <= D's decision time (16:00 New York, config/signals.yaml), so a rebuild with
-- the same inputs reproduces it exactly. Recomputing a day replaces that day's rows.
create schema if not exists signals;

-- Grain: date x symbol x score. score names: cps, pfd, z_fm, z_pm, efp, scp, pcs, fut,
-- fut_change_4w, market_positioning, decomposition_*, csev, ... (docs in README).
create table if not exists signals.scores (
    date date not null,
    symbol varchar not null,
    score varchar not null,
    value double,              -- the raw value in the score's own unit (see README)
    z double,                  -- trailing z-score (clipped +-3) where the score has one
    percentile double,         -- trailing percentile rank 0-100 of the value
    "window" varchar not null, -- the window behind z/percentile, e.g. '252d', '156w', '48obs'
    warmup boolean not null,   -- fewer observations than the window back the value
    age_days integer,          -- age of the newest input behind the value
    computed_at timestamptz not null
);

-- Grain: date x symbol. The rule that fired is stored beside the label.
create table if not exists signals.regimes (
    date date not null,
    symbol varchar not null,
    regime varchar not null,
    rule varchar not null,
    cps double,
    pfd double,
    z_fm double,
    z_pm double,
    computed_at timestamptz not null
);

-- Grain: date x symbol x series x measure (computed on run dates).
create table if not exists signals.persistence (
    date date not null,
    symbol varchar not null,
    series varchar not null,
    measure varchar not null,
    value double,
    stat double,
    p_value double,
    n integer,
    computed_at timestamptz not null
);

-- Grain: as_of x symbol x condition x horizon x outcome bucket.
create table if not exists signals.scenarios (
    as_of date not null,
    symbol varchar not null,
    condition varchar not null,
    horizon_days integer not null,
    outcome_bucket varchar not null,
    probability double,
    ci_low double,
    ci_high double,
    n integer,
    n_eff double,
    cutoff_low double,          -- bucket edges, simple return fractions
    cutoff_high double,
    computed_at timestamptz not null
);

create table if not exists signals.build_log (
    run_id varchar not null,
    started_at timestamptz not null,
    finished_at timestamptz not null,
    first_date date,
    last_date date,
    mode varchar not null,      -- full | increment
    rows_scores bigint,
    message varchar
);
