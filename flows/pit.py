"""Point-in-time: when did a row become public (``available_at``) and how do we know.

Two sources of truth, stored beside every row as ``available_at_source``:

- ``observed``: the first time a live fetch saw the row (our own clock, UTC). Used when the fetch
  happened within ``grace`` of the scheduled release, i.e. when we were polling on time.
- ``rule``: the publisher's schedule from SOURCES.md and ``config/calendar.yaml`` (e.g. COT Tuesday
  positions released Friday 15:30 ET, shifted by federal holidays and shutdown backlogs). Used for
  file imports and historical backfills, whose fetch time says nothing about publication.

A revised value for a key already stored is a new version whose ``available_at`` is never earlier
than when we first saw the revision (see ``flows.loader``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flows.calendar import add_business_days

NEW_YORK = ZoneInfo("America/New_York")


def utc_now() -> datetime:
    return datetime.now(UTC)


def ny_time_to_utc(d: date, hhmm: str) -> datetime:
    """``d`` at local New York wall time ``HH:MM`` (DST aware), as a UTC datetime."""
    hh, mm = (int(x) for x in hhmm.split(":"))
    return datetime.combine(d, time(hh, mm), tzinfo=NEW_YORK).astimezone(UTC)


def _d(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def cftc_release_date(as_of: date, cal: dict[str, Any]) -> date:
    """Release date of a COT report with positions as of ``as_of`` (usually a Tuesday).

    Rule: the 3rd federal business day after the as-of date (Tue -> Fri; a federal holiday in the
    week pushes it to Monday), unless the CFTC published an explicit (catch-up) date, or the as-of
    falls in a shutdown backlog, where we use the date the backlog was cleared.
    """
    overrides = {_d(k): _d(v) for k, v in (cal.get("release_overrides") or {}).items()}
    if as_of in overrides:
        return overrides[as_of]
    for backlog in cal.get("shutdown_backlogs") or []:
        if _d(backlog["from"]) <= as_of <= _d(backlog["to"]):
            return _d(backlog["cleared"])
    closures = {_d(x) for x in cal.get("extra_closures") or []}
    d, left = as_of, int(cal.get("business_days_after_as_of", 3))
    while left:
        d = add_business_days(d, 1)
        if d not in closures:
            left -= 1
    return d


def cftc_available_at(as_of: date, cal: dict[str, Any]) -> datetime:
    return ny_time_to_utc(cftc_release_date(as_of, cal), str(cal.get("release_time", "15:30")))


def cboe_available_at(trade_date: date, cal: dict[str, Any]) -> datetime:
    """Cboe end-of-day statistics for trade date T: T at the configured evening time, New York."""
    return ny_time_to_utc(trade_date, str(cal.get("release_time", "18:00")))


def resolve_available_at(rule_at: datetime, observed_at: datetime | None, grace: timedelta) -> tuple[datetime, str]:
    """Pick ``available_at`` and its source for a first version of a row.

    An observation made no later than ``rule_at + grace`` is evidence of when the row was public
    (we were polling on schedule): it wins, even when later than the rule. An observation long after
    the rule is a backfill and says nothing about publication: the rule wins.
    """
    if observed_at is not None and observed_at <= rule_at + grace:
        return observed_at, "observed"
    return rule_at, "rule"
