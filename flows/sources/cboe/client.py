"""Live Cboe client: one daily statistics JSON per trading day.

``GET https://cdn.cboe.com/data/us/options/market_statistics/daily/{YYYY-MM-DD}_daily_options``
with a browser-like User-Agent and ``Accept: application/json``, at most one request a second.
HTTP 403 (S3 ``AccessDenied``) or 404 means "not published" (holiday, or not yet posted): skipped;
``missing_limit`` trading days in a row without a file is an error (Cboe changed or blocks us).
Weekends and NYSE holidays are never requested.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from flows.calendar import trading_days
from flows.errors import FetchError
from flows.http import Fetcher
from flows.sources.base import Payload
from flows.sources.cboe.put_call import DAILY_JSON_URL
from flows.sources.live import LiveContext

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


def live(ctx: LiveContext) -> tuple[list[Payload], list[str]]:
    """Daily run: trading days after the newest stored JSON day (the last 14 days on an empty
    warehouse), at most 30 a run, oldest first; catch-up continues on the next run."""
    last = ctx.latest("series_source = 'cboe_daily_json'")
    start = last + timedelta(days=1) if last else ctx.as_of - timedelta(days=14)
    days = list(trading_days(start, ctx.as_of))[:30]
    with ctx.make_client(ctx.settings, headers={"Accept": "application/json"}) as http:
        payloads, missing = fetch_days(ctx.fetcher(http, min_interval_s=1.0), days)
    notes = [f"not published yet: {', '.join(map(str, missing))}"] if missing else []
    return payloads, notes
