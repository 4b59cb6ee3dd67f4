"""Live CFTC client: the public reporting (Socrata) API, with the annual zip as fallback.

- API: ``GET https://publicreporting.cftc.gov/resource/gpe5-46if.json`` filtered by contract code
  and report date, ordered by (report date, contract code), paged with ``$limit``/``$offset``
  until a short page. Optional app token from ``CFTC_APP_TOKEN`` as ``X-App-Token``.
- Fallback: ``https://www.cftc.gov/files/dea/history/fut_fin_txt_{YYYY}.zip`` per year (all
  markets; the current year's zip does not exist before the first January report).
Each page or zip is one ``Payload``; the daily flow loads a run's payloads in one transaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from flows.errors import FetchError, PayloadError
from flows.http import Fetcher
from flows.sources.base import Payload
from flows.sources.cftc.tff import API_URL
from flows.sources.live import LiveContext

ZIP_URL = "https://www.cftc.gov/files/dea/history/fut_fin_txt_{year}.zip"
PAGE_SIZE = 50_000
_CODE = re.compile(r"^[0-9A-Z+]{4,8}$")


def build_api_params(codes: Sequence[str], start: date, offset: int, limit: int = PAGE_SIZE) -> dict[str, str]:
    """SoQL parameters for one page (pure; codes are checked, dates are ISO)."""
    bad = [c for c in codes if not _CODE.match(c)]
    if bad:
        raise ValueError(f"not CFTC contract codes: {bad}")
    quoted = ",".join(f"'{c}'" for c in codes)
    return {
        "$where": f"cftc_contract_market_code in({quoted}) AND report_date_as_yyyy_mm_dd >= '{start.isoformat()}'",
        "$order": "report_date_as_yyyy_mm_dd,cftc_contract_market_code",
        "$limit": str(limit),
        "$offset": str(offset),
    }


def fetch_api(
    fetcher: Fetcher, codes: Sequence[str], start: date, app_token: str | None = None, page_size: int = PAGE_SIZE
) -> list[Payload]:
    """All rows for ``codes`` since ``start``, page by page."""
    headers = {"Accept": "application/json"}
    if app_token:
        headers["X-App-Token"] = app_token
    payloads: list[Payload] = []
    offset = 0
    while True:
        resp = fetcher.request(
            "GET", API_URL, params=build_api_params(codes, start, offset, page_size), headers=headers
        )
        payload = Payload("cftc_tff", resp.content, str(resp.url), datetime.now(UTC), live=True)
        ctype = resp.headers.get("content-type", "")
        if not resp.content.strip():
            raise _rejected(f"cftc_tff: {resp.url}: empty body (HTTP {resp.status_code})", payload)
        if "json" not in ctype:
            raise _rejected(f"cftc_tff: {resp.url}: expected JSON, got {ctype or 'no content type'}", payload)
        try:
            rows = json.loads(resp.content)
        except json.JSONDecodeError as exc:
            raise _rejected(f"cftc_tff: {resp.url}: truncated or invalid JSON ({exc})", payload) from None
        if rows or not payloads:  # an empty last page (total = a multiple of the page size) adds nothing
            payloads.append(payload)
        if not isinstance(rows, list) or len(rows) < page_size:
            return payloads
        offset += page_size


def _rejected(message: str, payload: Payload) -> PayloadError:
    """A PayloadError that carries the bytes received, so the caller can keep them for inspection."""
    err = PayloadError(message)
    err.payload = payload  # type: ignore[attr-defined]
    return err


def fetch_annual_zip(fetcher: Fetcher, year: int) -> Payload:
    resp = fetcher.request("GET", ZIP_URL.format(year=year))
    payload = Payload("cftc_tff", resp.content, str(resp.url), datetime.now(UTC), live=True)
    if not resp.content.startswith(b"PK\x03\x04"):
        raise _rejected(f"cftc_tff: {resp.url}: not a zip (the year's file may not exist yet)", payload)
    return payload


def fetch(
    fetcher: Fetcher,
    codes: Sequence[str],
    start: date,
    end: date,
    app_token: str | None = None,
    rejected: list[Payload] | None = None,
) -> tuple[list[Payload], list[str]]:
    """API first; on failure the annual zips of the years in [start, end]. Returns notes too.

    Bodies refused on the way (an HTML maintenance page, a truncated page) are appended to
    ``rejected`` so the caller can keep them in quarantine."""
    notes: list[str] = []
    try:
        return fetch_api(fetcher, codes, start, app_token), notes
    except (FetchError, PayloadError) as exc:
        if rejected is not None and getattr(exc, "payload", None) is not None:
            rejected.append(exc.payload)  # type: ignore[attr-defined]
        api_error = str(exc)
        notes.append(f"API failed ({exc}); falling back to the annual zip files")
    payloads = []
    for year in range(start.year, end.year + 1):
        try:
            payloads.append(fetch_annual_zip(fetcher, year))
        except (FetchError, PayloadError) as exc:
            if year == end.year and end.month == 1:
                notes.append(f"no {year} zip yet ({exc})")
                continue
            if rejected is not None and getattr(exc, "payload", None) is not None:
                rejected.append(exc.payload)  # type: ignore[attr-defined]
            raise type(exc)(f"{api_error}; the annual-zip fallback failed too: {exc}") from exc
    return payloads, notes


def live(ctx: LiveContext) -> tuple[list[Payload], list[str]]:
    """Daily run: the universe's contract codes since 12 weeks before the newest stored week
    (re-pulled for revisions; 2006-01-01 on an empty warehouse)."""
    from flows.config import universe

    codes = [c for k in universe(ctx.settings)["cot_contracts"].values() for n, c in k.items() if n != "label"]
    last = ctx.latest()
    start = last - timedelta(weeks=12) if last else date(2006, 1, 1)
    with ctx.make_client(ctx.settings) as http:
        return fetch(ctx.fetcher(http), codes, start, ctx.as_of, ctx.settings.cftc_app_token, rejected=ctx.rejected)
