"""Live Cboe client: one daily statistics JSON per trading day.

``GET https://cdn.cboe.com/data/us/options/market_statistics/daily/{YYYY-MM-DD}_daily_options``
with a browser-like User-Agent and ``Accept: application/json``, at most one request a second.
HTTP 403 (S3 ``AccessDenied``) or 404 means "not published" (holiday, or not yet posted): skipped;
``missing_limit`` trading days in a row without a file is an error (Cboe changed or blocks us).
Weekends and NYSE holidays are never requested.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from flows.errors import FetchError
from flows.http import Fetcher
from flows.sources.base import Payload
from flows.sources.cboe.put_call import DAILY_JSON_URL

NOT_PUBLISHED = (403, 404)


def fetch_days(fetcher: Fetcher, days: Iterable[date], missing_limit: int = 5) -> tuple[list[Payload], list[date]]:
    """Fetch each trading day's JSON; returns (payloads, days not published)."""
    payloads: list[Payload] = []
    missing: list[date] = []
    streak = 0
    for day in days:
        url = DAILY_JSON_URL.format(day=day.isoformat())
        resp = fetcher.request("GET", url, headers={"Accept": "application/json"}, passthrough=NOT_PUBLISHED)
        if resp.status_code in NOT_PUBLISHED or not resp.content.strip():
            missing.append(day)
            streak += 1
            if streak >= missing_limit:
                raise FetchError(
                    f"cboe_putcall: no daily file for {streak} trading days in a row up to {day} "
                    f"(last: HTTP {resp.status_code} at {url}); Cboe may block us or have moved the file"
                )
            continue
        streak = 0
        payloads.append(
            Payload(
                "cboe_putcall", resp.content, url, datetime.now(UTC), live=True, hints={"trade_date": day.isoformat()}
            )
        )
    return payloads, missing
