"""Dataset registry: one module per dataset, each exposing ``SPEC`` (see ``flows.sources.base``)."""

from __future__ import annotations

from flows.errors import FlowscopeError
from flows.sources.base import DatasetSpec
from flows.sources.cboe import put_call
from flows.sources.cftc import tff

DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in (tff.SPEC, put_call.SPEC)}


def get_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise FlowscopeError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}") from None
