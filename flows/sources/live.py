"""What a live client gets from the daily run: the current warehouse state and the HTTP tools.

Each dataset's client module exposes ``live(ctx: LiveContext) -> (payloads, notes)``: fetch
what is new (plus a trailing window for revisions) and return the payloads, unparsed. Bodies
refused before parsing (HTML pages, truncated answers) go to ``ctx.rejected`` to be kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import httpx

from flows.config import Settings
from flows.sources.base import DatasetSpec, Payload


@dataclass
class LiveContext:
    spec: DatasetSpec
    con: duckdb.DuckDBPyConnection
    as_of: date
    settings: Settings
    make_client: Callable[..., httpx.Client]
    make_fetcher: Callable[..., Any]
    rejected: list[Payload] = field(default_factory=list)

    def latest(self, where: str = "true") -> date | None:
        """Newest date stored for this dataset (optionally filtered, e.g. one series)."""
        row = self.con.execute(f"select max({self.spec.date_column}) from {self.spec.table} where {where}").fetchone()
        return row[0] if row else None

    def fetcher(self, client: httpx.Client, **kw: Any) -> Any:
        return self.make_fetcher(client, dataset=self.spec.name, **kw)
