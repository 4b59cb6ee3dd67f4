"""VanEck holdings JSON (``/Main/HoldingsBlock/GetDataset/?blockId=..&pageId=..&ticker=SMH``).

Layout (PROVENANCE §13): ``{"AsOfDate": "2026-10-01T00:00:00", "Holdings": [{54 fields}, ...]}``.
Per row: ``Ticker`` (the fund: ``SMH``), ``Label`` (the holding's ticker; ``HoldingTicker`` is
empty), ``Weight`` (percentage points as a string, 2 dp, can be ``"-0.00"``), ``HoldingName``,
``AssetClass`` (``Stock`` even for ADRs; ``Cash Bal`` for ``-USD CASH-``; ``Cash`` for the
`` -- `` Other/Cash residual, whose market value can be negative). All numbers are strings;
``NetAssets``/``NumberOfHoldings`` are 0 in every row (not aggregates). Some captures give the date
as ``10/01/2026``.
"""

from __future__ import annotations

from typing import Any

from flows.errors import SchemaDriftError
from flows.sources.base import Payload
from flows.sources.etf.holdings_formats.common import (
    Snapshot,
    asset_class_of,
    holding,
    parse_us_date,
    percent_to_frac,
    resolve_etf,
)

ROW_KEYS = ("Label", "Weight", "AssetClass")


def looks_like(doc: Any) -> bool:
    return isinstance(doc, dict) and "Holdings" in doc


def read(doc: dict[str, Any], payload: Payload) -> Snapshot:
    rows = doc.get("Holdings")
    if not isinstance(rows, list):
        raise SchemaDriftError("VanEck JSON: 'Holdings' is not a list")
    if "AsOfDate" not in doc:
        raise SchemaDriftError(f"VanEck JSON without 'AsOfDate' (keys {list(doc)[:6]})")
    as_of = parse_us_date(doc["AsOfDate"], ("%m/%d/%Y",), "AsOfDate")
    funds = {str(r.get("Ticker") or "").strip().upper() for r in rows if isinstance(r, dict)} - {""}
    snap = Snapshot(
        resolve_etf(payload, from_content=funds.pop() if len(funds) == 1 else None), as_of, "vaneck_json", "issuer"
    )
    for i, r in enumerate(rows):
        where = f"Holdings[{i}]"
        if not isinstance(r, dict):
            raise SchemaDriftError(f"VanEck JSON: {where} is not an object")
        missing = [k for k in ROW_KEYS if k not in r]
        if missing:
            raise SchemaDriftError(f"VanEck JSON: {where} lacks {missing} (renamed?)")
        snap.holdings.append(
            holding(
                r["Label"],
                r.get("HoldingName") or r["Label"],
                asset_class_of(r["AssetClass"], where),
                percent_to_frac(r["Weight"], "Weight", where),
                where,
            )
        )
    return snap
