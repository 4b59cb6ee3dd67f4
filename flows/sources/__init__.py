"""Dataset registry: one module per dataset, each exposing ``SPEC`` (see ``flows.sources.base``).

Adding a dataset = one line in ``MODULES`` (order = the order of the daily run and of status).
"""

from __future__ import annotations

import importlib

from flows.errors import FlowscopeError
from flows.sources.base import DatasetSpec

MODULES: tuple[str, ...] = (
    "flows.sources.cftc.tff",
    "flows.sources.cboe.put_call",
    "flows.sources.finra.short_interest",
    "flows.sources.finra.short_volume",
    "flows.sources.etf.holdings",
    "flows.sources.etf.shares",
    "flows.sources.etf.flows",
    "flows.sources.prices.daily",
    "flows.sources.fred.rates",
    "flows.sources.sec.tickers",
    "flows.sources.sec.facts",
    "flows.sources.vendor.fundamentals",
)

DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in (importlib.import_module(m).SPEC for m in MODULES)}


def get_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise FlowscopeError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}") from None
