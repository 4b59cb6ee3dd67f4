"""Live FINRA Reg SHO client: one consolidated daily file per trading day.

``GET https://cdn.finra.org/equity/regsho/daily/CNMSshvol{YYYYMMDD}.txt`` with the browser-like
User-Agent of ``make_client`` (the CDN refuses bare clients), at most two requests a second.
HTTP 403 (S3 ``AccessDenied``) or 404, or an empty body, means "not published" (a holiday, a file
not posted yet, or out of the CDN's rolling history): skipped; ``missing_days_error`` trading days
in a row without a file is an error (FINRA moved the files or blocks us). Weekends and NYSE
holidays are never requested. Bodies are returned unparsed: an HTML page served with 200 is
refused (and kept) by the parser.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from flows.calendar import trading_days
from flows.config import calendar_config
from flows.errors import FetchError
from flows.http import Fetcher
from flows.sources.base import Payload
from flows.sources.finra.short_volume import FILE_URL
from flows.sources.live import LiveContext

NOT_PUBLISHED = (403, 404)
MAX_DAYS_PER_RUN = 30
FIRST_RUN_DAYS = 14


def fetch_days(fetcher: Fetcher, days: Iterable[date], missing_limit: int = 5) -> tuple[list[Payload], list[date]]:
    """Fetch each trading day's file; returns (payloads, days not published)."""
    payloads: list[Payload] = []
    missing: list[date] = []
    streak = 0
    for day in days:
        url = FILE_URL.format(day=f"{day:%Y%m%d}")
        resp = fetcher.request("GET", url, headers={"Accept": "text/plain,*/*"}, passthrough=NOT_PUBLISHED)
        if resp.status_code in NOT_PUBLISHED or not resp.content.strip():
            missing.append(day)
            streak += 1
            if streak >= missing_limit:
                raise FetchError(
                    f"finra_short_volume: no daily file for {streak} trading days in a row up to {day} "
                    f"(last: HTTP {resp.status_code} at {url}); FINRA may block us or have moved the files"
                )
            continue
        streak = 0
        payloads.append(Payload("finra_short_volume", resp.content, url, datetime.now(UTC), live=True))
    return payloads, missing


def live(ctx: LiveContext) -> tuple[list[Payload], list[str]]:
    """Daily run: trading days after the newest stored trade date (the last two weeks on an empty
    warehouse), at most 30 a run, oldest first; catch-up continues on the next run."""
    last = ctx.latest()
    start = last + timedelta(days=1) if last else ctx.as_of - timedelta(days=FIRST_RUN_DAYS)
    days = list(trading_days(start, ctx.as_of))[:MAX_DAYS_PER_RUN]
    limit = int(calendar_config(ctx.settings)["finra_short_volume"].get("missing_days_error", 5))
    with ctx.make_client(ctx.settings) as http:
        payloads, missing = fetch_days(ctx.fetcher(http, min_interval_s=0.5), days, limit)
    notes = [f"not published yet: {', '.join(map(str, missing))}"] if missing else []
    if len(days) == MAX_DAYS_PER_RUN:
        notes.append(f"caught up to {days[-1]} only ({MAX_DAYS_PER_RUN} days a run); the next run continues")
    return payloads, notes
