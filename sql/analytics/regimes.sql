-- analytics.regimes: the regime label per day and symbol, with the config rule that fired and the
-- values it read (cps, pfd, z_fm, z_pm). Grain/key: (date, symbol).
select date, symbol, regime, rule, cps, pfd, z_fm, z_pm
from signals.regimes
