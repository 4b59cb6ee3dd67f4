"""Live FINRA short interest client: the Query API, consolidated short interest dataset.

1. ``GET https://api.finra.org/partitions/group/otcMarket/name/consolidatedShortInterest`` lists
   the settlement dates published (``availablePartitions[].partitions``).
2. ``POST https://api.finra.org/data/group/otcMarket/name/consolidatedShortInterest`` with a JSON
   body: ``fields``, ``domainFilters`` on ``symbolCode`` (the universe's tickers and ETFs from
   ``config/universe.yaml``, class separators removed: ``BRK.B`` -> ``BRKB``), ``dateRangeFilters``
   on ``settlementDate``, ``limit`` 5000 and ``offset``. Pages follow the ``Record-Total`` response
   header (a page can hold fewer records than asked: FINRA also caps a page at 3 MB, so the offset
   moves by the records received); HTTP 204 = no rows.

Each run asks for the settlement dates newer than the newest stored one plus the last five stored
(FINRA corrects rows in place and sets ``revisionFlag``: a changed number becomes a new version);
an empty warehouse gets the last 120 settlement dates (about five years). Headers ``Accept`` and
``Content-Type: application/json``; at most 10 requests a second (FINRA allows 20). Each page is
one ``Payload``, returned unparsed; a body that is not a JSON array is refused and kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from flows.errors import FetchError, PayloadError
from flows.http import Fetcher
from flows.sources.base import Payload
from flows.sources.finra.short_interest import API_URL, PARTITIONS_URL
from flows.sources.live import LiveContext

DATASET = "finra_short_interest"
PAGE_SIZE = 5000
MAX_OFFSET = 500_000  # FINRA refuses offsets beyond this
REVISION_WINDOW = 5  # stored settlement dates re-pulled each run (SOURCES.md: 4-6)
BACKFILL_DATES = 120  # settlement dates asked for on an empty warehouse (~5 years)
JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}
FIELDS = [
    "settlementDate",
    "symbolCode",
    "issueName",
    "marketClassCode",
    "currentShortPositionQuantity",
    "previousShortPositionQuantity",
    "changePreviousNumber",
    "changePercent",
    "averageDailyVolumeQuantity",
    "daysToCoverQuantity",
    "revisionFlag",
    "stockSplitFlag",
]
_SYMBOL = re.compile(r"^[A-Z0-9]{1,14}$")


def finra_symbol(ticker: str) -> str:
    """FINRA ``symbolCode`` for a ticker: upper case, class separators removed (``BRK.B`` -> ``BRKB``)."""
    return re.sub(r"[.\-/ ]", "", ticker.strip().upper())


def universe_symbols(config: dict[str, Any]) -> list[str]:
    """The universe's tickers and ETFs as FINRA symbol codes (sorted, unique, checked)."""
    symbols = sorted({finra_symbol(s) for s in [*(config.get("tickers") or []), *(config.get("etfs") or [])]})
    bad = [s for s in symbols if not _SYMBOL.match(s)]
    if bad:
        raise ValueError(f"not symbols: {bad}")
    return symbols


def build_body(symbols: Sequence[str], start: date, end: date, offset: int, limit: int = PAGE_SIZE) -> dict[str, Any]:
    """The JSON body of one page (pure)."""
    return {
        "fields": FIELDS,
        "domainFilters": [{"fieldName": "symbolCode", "values": list(symbols)}],
        "dateRangeFilters": [
            {"fieldName": "settlementDate", "startDate": start.isoformat(), "endDate": end.isoformat()}
        ],
        "limit": limit,
        "offset": offset,
    }


def _rejected(message: str, payload: Payload) -> PayloadError:
    """A PayloadError carrying the body received, so the daily run keeps it in quarantine."""
    err = PayloadError(message)
    err.payload = payload  # type: ignore[attr-defined]
    return err


def parse_partitions(content: bytes) -> list[date]:
    """Settlement dates from the partitions answer, sorted (``availablePartitions[].partitions[0]``)."""
    try:
        doc = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PayloadError(f"partitions: not JSON ({exc})") from None
    parts = doc.get("availablePartitions") if isinstance(doc, dict) else None
    if not isinstance(parts, list):
        raise PayloadError(f"partitions: no availablePartitions list (got {str(doc)[:80]!r})")
    out = set()
    for p in parts:
        values = p.get("partitions") if isinstance(p, dict) else None
        if not values:
            continue
        try:
            out.add(date.fromisoformat(str(values[0])[:10]))
        except ValueError:
            raise PayloadError(f"partitions: not a settlement date: {values[0]!r}") from None
    return sorted(out)


def fetch_partitions(fetcher: Fetcher) -> list[date]:
    resp = fetcher.request("GET", PARTITIONS_URL, headers={"Accept": "application/json"})
    try:
        return parse_partitions(resp.content)
    except PayloadError as exc:
        payload = Payload(DATASET, resp.content, PARTITIONS_URL, datetime.now(UTC), live=True)
        raise _rejected(f"{DATASET}: {PARTITIONS_URL}: {exc}", payload) from None


def _record_total(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def fetch_rows(
    fetcher: Fetcher, symbols: Sequence[str], start: date, end: date, page_size: int = PAGE_SIZE
) -> tuple[list[Payload], int]:
    """Every record for ``symbols`` with a settlement date in [start, end], page by page.
    Returns the pages (one payload each) and the number of records received."""
    payloads: list[Payload] = []
    seen: set[tuple[str, str]] = set()
    offset = 0
    while True:
        origin = f"{API_URL} (settlementDate {start}..{end}, offset {offset})"
        resp = fetcher.request(
            "POST", API_URL, json=build_body(symbols, start, end, offset, page_size), headers=JSON_HEADERS
        )
        payload = Payload(DATASET, resp.content, origin, datetime.now(UTC), live=True)
        if resp.status_code == 204 or not resp.content.strip():
            return payloads, offset  # no (more) rows
        ctype = resp.headers.get("content-type", "")
        if "json" not in ctype:
            raise _rejected(f"{DATASET}: {origin}: expected JSON, got {ctype or 'no content type'}", payload)
        try:
            rows = json.loads(resp.content)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise _rejected(f"{DATASET}: {origin}: truncated or invalid JSON ({exc})", payload) from None
        if not isinstance(rows, list):
            raise _rejected(f"{DATASET}: {origin}: an error object, not records: {str(rows)[:160]}", payload)
        if not rows:
            return payloads, offset
        keys = {(str(r.get("settlementDate")), str(r.get("symbolCode"))) for r in rows if isinstance(r, dict)}
        overlap = keys & seen
        if overlap:
            raise FetchError(
                f"{DATASET}: {origin}: this page repeats {len(overlap)} records of an earlier page "
                f"(e.g. {sorted(overlap)[0]}): the API's paging is not stable, try again later"
            )
        seen |= keys
        payloads.append(payload)
        offset += len(rows)
        total = _record_total(resp.headers.get("record-total"))
        if (total is not None and offset >= total) or (total is None and len(rows) < page_size):
            return payloads, offset
        if offset >= MAX_OFFSET:
            raise FetchError(f"{DATASET}: more than {MAX_OFFSET} records asked for: narrow the date range")


def dates_to_fetch(
    partitions: Sequence[date], last_stored: date | None, as_of: date, window: int = REVISION_WINDOW
) -> list[date]:
    """Settlement dates to (re-)pull: the published ones up to ``as_of`` that are newer than the
    newest stored, plus the last ``window`` stored ones (revisions); the last 120 when empty."""
    published = sorted(d for d in partitions if d <= as_of)
    if last_stored is None:
        return published[-BACKFILL_DATES:]
    return [d for d in published if d <= last_stored][-window:] + [d for d in published if d > last_stored]


def live(ctx: LiveContext) -> tuple[list[Payload], list[str]]:
    from flows.config import universe

    symbols = universe_symbols(universe(ctx.settings))
    with ctx.make_client(ctx.settings, headers=JSON_HEADERS) as http:
        fetcher = ctx.fetcher(http, min_interval_s=0.1)
        partitions = fetch_partitions(fetcher)
        wanted = dates_to_fetch(partitions, ctx.latest("series_source = 'finra'"), ctx.as_of)
        if not wanted:
            return [], [f"FINRA lists no settlement date up to {ctx.as_of}"]
        payloads, records = fetch_rows(fetcher, symbols, wanted[0], wanted[-1])
    notes = [f"{records} records for {len(symbols)} symbols, settlement dates {wanted[0]}..{wanted[-1]}"]
    if not payloads:
        notes = [f"no records (HTTP 204) for settlement dates {wanted[0]}..{wanted[-1]}"]
    return payloads, notes
