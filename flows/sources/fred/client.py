"""Live FRED client: the API when ``FRED_API_KEY`` is set, else the keyless fredgraph CSV.

- API: ``GET https://api.stlouisfed.org/fred/series/observations?series_id=DGS10&api_key=KEY
  &file_type=json&observation_start=YYYY-MM-DD`` (120 requests/minute per key: paced at 1 s).
  The key never appears in a payload's origin, a note or an error message.
- CSV: ``GET https://fred.stlouisfed.org/graph/fredgraph.csv?id=DGS10&cosd=YYYY-MM-DD`` (keyless;
  slow answers and 504s happen: the shared retry policy covers them; paced at 1 s).
Series: ``fred_series`` in ``config/universe.yaml`` when present, else ``DGS10``. Window: from
``OVERLAP_DAYS`` before the newest stored date of the series (revisions and late values), or the
whole history on an empty warehouse. One payload per series (hint ``series_id``); an HTML page,
an empty body or an API error body is refused before parsing (kept in ``ctx.rejected``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from flows.config import universe
from flows.errors import FetchError, PayloadError
from flows.http import Fetcher
from flows.sources.base import Payload
from flows.sources.fred.rates import API_URL, CSV_URL
from flows.sources.live import LiveContext
from flows.sources.textio import reject_error_pages

DATASET = "rates"
OVERLAP_DAYS = 30
DEFAULT_SERIES = ("DGS10",)
_SERIES = re.compile(r"^[A-Z0-9][A-Z0-9_]{1,29}$")


def _rejected(message: str, payload: Payload) -> PayloadError:
    err = PayloadError(message)
    err.payload = payload  # type: ignore[attr-defined]
    return err


def _check_body(payload: Payload) -> None:
    try:
        reject_error_pages(payload.content)
    except PayloadError as exc:
        raise _rejected(f"rates: {payload.origin}: {exc}", payload) from None


def fetch_csv(fetcher: Fetcher, series_id: str, start: date | None) -> Payload:
    params = {"id": series_id}
    if start:
        params["cosd"] = start.isoformat()
    resp = fetcher.request("GET", CSV_URL, params=params, headers={"Accept": "text/csv,*/*"})
    payload = Payload(
        DATASET, resp.content, str(resp.url), datetime.now(UTC), live=True, hints={"series_id": series_id}
    )
    _check_body(payload)
    return payload


def fetch_api(fetcher: Fetcher, series_id: str, start: date | None, api_key: str) -> Payload:
    params = {"series_id": series_id, "file_type": "json"}
    if start:
        params["observation_start"] = start.isoformat()
    resp = fetcher.request(
        "GET",
        API_URL,
        params={**params, "api_key": api_key},
        headers={"Accept": "application/json"},
        passthrough=(400,),
    )
    # The origin is rebuilt without the key: it goes to raw/, meta.loads and messages.
    origin = API_URL + "?" + "&".join(f"{k}={v}" for k, v in params.items())
    payload = Payload(DATASET, resp.content, origin, datetime.now(UTC), live=True, hints={"series_id": series_id})
    if resp.status_code == 400:
        try:
            msg = str(json.loads(resp.content).get("error_message", ""))[:200]
        except (ValueError, AttributeError):
            msg = resp.text[:200]
        raise FetchError(f"rates: {origin}: FRED API refused the request (HTTP 400): {msg.replace(api_key, '***')}")
    _check_body(payload)
    try:
        doc = json.loads(payload.content)
    except ValueError as exc:
        raise _rejected(f"rates: {origin}: not JSON ({exc})", payload) from None
    if not isinstance(doc, dict) or "observations" not in doc:
        raise _rejected(f"rates: {origin}: no 'observations' in the answer", payload)
    return payload


def series_list(u: dict) -> list[str]:  # type: ignore[type-arg]
    raw: Sequence[str] = u.get("fred_series") or DEFAULT_SERIES
    out = [str(s).strip().upper() for s in raw]
    bad = [s for s in out if not _SERIES.match(s)]
    if bad:
        raise FetchError(f"rates: {bad} in config/universe.yaml fred_series are not FRED series ids")
    return out


def live(ctx: LiveContext) -> tuple[list[Payload], list[str]]:
    """Daily run: each series from ``OVERLAP_DAYS`` before its newest stored date (API with a key, else CSV)."""
    api_key = os.environ.get("FRED_API_KEY") or None
    payloads: list[Payload] = []
    notes = [] if api_key else ["FRED_API_KEY not set: keyless fredgraph CSV"]
    with ctx.make_client(ctx.settings) as http:
        fetcher = ctx.fetcher(http, min_interval_s=1.0)
        for sid in series_list(universe(ctx.settings)):
            last = ctx.latest(f"series_id = '{sid}'")
            start = last - timedelta(days=OVERLAP_DAYS) if last else None
            try:
                payloads.append(fetch_api(fetcher, sid, start, api_key) if api_key else fetch_csv(fetcher, sid, start))
            except PayloadError as exc:
                ctx.rejected.append(exc.payload)  # type: ignore[attr-defined]
                notes.append(f"{sid}: refused ({exc})")
    if not payloads:
        raise FetchError("rates: no series fetched: " + " | ".join(notes))
    return payloads, notes
