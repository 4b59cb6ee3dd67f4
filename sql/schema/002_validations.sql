-- 002_validations: results of every expectation-suite run (load gate and `flowscope validate`).
create table if not exists meta.validations (
    run_id varchar not null,
    validated_at timestamptz not null,
    suite varchar not null,          -- e.g. raw__cftc__tff, analytics__put_call
    target varchar not null,         -- table/view validated, or the payload's origin for a load gate
    success boolean not null,        -- false when a critical expectation failed
    evaluated integer not null,
    passed integer not null,
    failures varchar                 -- JSON list of failed expectations (type, column, examples)
);
