-- analytics.scenarios: empirical odds of forward returns conditional on today's regime
-- (METHODS §6). Grain/key: (as_of, symbol, condition, horizon_days, outcome_bucket).
-- probability and its block-bootstrap interval (ci_low, ci_high) are fractions; n = past days with
-- the same condition whose forward window had ended by as_of; n_eff = n / horizon.
select as_of, symbol, condition, horizon_days, outcome_bucket, probability, ci_low, ci_high, n, n_eff,
    cutoff_low, cutoff_high
from signals.scenarios
