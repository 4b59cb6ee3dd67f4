"""The ingestion contract shared by every dataset module.

A dataset module exposes ``SPEC`` (a ``DatasetSpec``) whose ``parse`` turns one ``Payload`` (the
bytes exactly as fetched or imported) into a typed polars frame with the dataset's key and value
columns and a ``rule_available_at`` column. Only ``flows.loader`` writes to the warehouse.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any

import polars as pl


@dataclass(frozen=True)
class Payload:
    """One payload exactly as received.

    ``live`` is True for a fetch from the publisher (its ``fetched_at`` is a first-seen observation)
    and False for an imported file (its time says nothing about publication).
    ``hints`` carry what the content cannot say (e.g. ``{"segment": "equity"}``).
    """

    dataset: str
    content: bytes
    origin: str
    fetched_at: datetime
    live: bool = False
    hints: dict[str, str] = field(default_factory=dict)

    @cached_property
    def sha256(self) -> str:
        """Identity of the payload: the content's sha256, or, when hints say what the content
        cannot (e.g. which trading day a Cboe JSON describes), the sha256 of content + hints, so
        identical bytes served for two different days are two payloads, not a duplicate."""
        if not self.hints:
            return hashlib.sha256(self.content).hexdigest()
        tag = json.dumps(self.hints, sort_keys=True).encode()
        return hashlib.sha256(self.content + b"\n#flowscope-hints:" + tag).hexdigest()

    @property
    def name(self) -> str:
        """Short name for messages: the file name or the URL."""
        return self.origin.rsplit("/", 1)[-1] if not self.live else self.origin


@dataclass
class ParsedBatch:
    """What ``parse`` returns: rows plus the warnings met while reading them."""

    frame: pl.DataFrame
    warnings: list[str] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> rows skipped on purpose


@dataclass(frozen=True)
class DatasetSpec:
    """Declarative description of a dataset (modelled on dlt's resource decorator).

    - ``table``: the raw table, ``raw.<source>__<dataset>``; every version of every row.
    - ``key``: natural key; ``values``: the columns whose change makes a new version.
    - ``attributes``: descriptive columns stored but not versioned (e.g. market names).
    - ``date_column``: the date each row describes (grain of the batch).
    - ``cadence``/``stale_after``: expected spacing of dates and when silence becomes "stale".
    - ``observed_grace``: how late after the scheduled release a live observation still counts
      as evidence of publication time (see ``flows.pit.resolve_available_at``).
    - ``after_load``: optional ``fn(con) -> note`` run after a load that changed rows.
    """

    name: str
    source: str
    table: str
    view: str
    key: tuple[str, ...]
    values: tuple[str, ...]
    attributes: tuple[str, ...]
    date_column: str
    cadence: timedelta
    stale_after: timedelta
    observed_grace: timedelta
    parse: Callable[[Payload], ParsedBatch]
    description: str
    source_url: str
    units: dict[str, str] = field(default_factory=dict)
    live: str = ""  # "module:function" of the live client (see flows.sources.live)
    extra: dict[str, Any] = field(default_factory=dict)
    # Optional step run by flows.pipeline after a load that added or revised rows, on the same
    # read-write connection (e.g. rebuild a mart); returns an optional note for the summary.
    after_load: Callable[[Any], str | None] | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.key, *self.values, *self.attributes)

    @property
    def suite(self) -> str:
        """The load-gate expectation suite: ``raw.cftc__tff`` -> ``raw__cftc__tff``."""
        return self.table.replace(".", "__")


@dataclass
class LoadResult:
    """Outcome of one payload's load, as written to ``meta.loads``."""

    dataset: str
    origin: str
    sha256: str
    outcome: str  # loaded | unchanged | duplicate | failed | quarantined
    rows_in: int = 0
    rows_new: int = 0
    rows_revised: int = 0
    rows_unchanged: int = 0
    min_date: date | None = None
    max_date: date | None = None
    message: str = ""
    load_id: str = ""
    raw_path: str = ""
    warnings: Sequence[str] = ()

    @property
    def ok(self) -> bool:
        return self.outcome in ("loaded", "unchanged", "duplicate")

    def summary(self) -> str:
        if self.outcome == "duplicate":
            return f"{self.origin}: already loaded (same sha256 {self.sha256[:12]}), nothing changed"
        if not self.ok:
            return f"{self.dataset}: {self.origin}: {self.message}"
        span = f" {self.min_date}..{self.max_date}" if self.min_date else ""
        return (
            f"{self.origin}: {self.rows_in} rows ({self.rows_new} new, {self.rows_revised} revised, "
            f"{self.rows_unchanged} unchanged){span}"
        )
