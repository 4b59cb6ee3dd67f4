-- analytics.scores: every score and component per day and symbol (METHODS §4.4).
-- Grain/key: (date, symbol, score). value in the score's unit (README), z a trailing z-score
-- clipped to +-3, percentile 0-100 over the same trailing window, window the window behind them,
-- warmup true while fewer observations than the window exist, age_days the age of the newest
-- input. Point in time by construction: day D uses inputs public by D 16:00 New York.
select date, symbol, score, value, z, percentile, "window", warmup, age_days
from signals.scores
