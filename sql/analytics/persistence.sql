-- analytics.persistence: persistence measures per run date, symbol and series (METHODS §1.7-1.8).
-- Grain/key: (date, symbol, series, measure). series: returns, or a driver on its native grid
-- (cot_net_change weekly, etf_flow daily, dtc_change bi-monthly, put_call daily).
-- value/stat/p_value meanings per measure: see flows/signals/persistence.py and the README.
select date, symbol, series, measure, value, stat, p_value, n
from signals.persistence
