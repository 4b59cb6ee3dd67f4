"""Trading and business-day calendars, computed from rules (no network, no extra package).

- NYSE trading days: weekdays minus the NYSE holidays (with weekend observance rules) and the
  unscheduled closures listed in ``NYSE_SPECIAL_CLOSURES``.
- US federal business days: weekdays minus OPM federal holidays; CFTC releases follow these.

All functions take and return ``datetime.date``; publication times are built in ``flows.pit``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from functools import lru_cache

NYSE_SPECIAL_CLOSURES: frozenset[date] = frozenset(
    {
        date(2001, 9, 11),
        date(2001, 9, 12),
        date(2001, 9, 13),
        date(2001, 9, 14),
        date(2004, 6, 11),  # Reagan funeral
        date(2007, 1, 2),  # Ford funeral
        date(2012, 10, 29),
        date(2012, 10, 30),  # Hurricane Sandy
        date(2018, 12, 5),  # G.H.W. Bush funeral
        date(2025, 1, 9),  # Carter funeral
    }
)


def easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """n-th (1-based) weekday (Mon=0) of a month; n=-1 for the last one."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(d: date, saturday_to_friday: bool = True) -> date | None:
    if d.weekday() == 5:
        return d - timedelta(days=1) if saturday_to_friday else None
    if d.weekday() == 6:
        return d + timedelta(days=1)
    return d


@lru_cache(maxsize=256)
def nyse_holidays(year: int) -> frozenset[date]:
    """NYSE full-day holidays of a year (observed dates)."""
    days: set[date | None] = {
        # NYSE does not close on Friday Dec 31 when Jan 1 is a Saturday.
        _observed(date(year, 1, 1), saturday_to_friday=False),
        _nth_weekday(year, 1, 0, 3) if year >= 1998 else None,
        _nth_weekday(year, 2, 0, 3),
        easter(year) - timedelta(days=2),
        _nth_weekday(year, 5, 0, -1),
        _observed(date(year, 6, 19)) if year >= 2022 else None,
        _observed(date(year, 7, 4)),
        _nth_weekday(year, 9, 0, 1),
        _nth_weekday(year, 11, 3, 4),
        _observed(date(year, 12, 25)),
    }
    return frozenset(d for d in days if d is not None)


@lru_cache(maxsize=256)
def federal_holidays(year: int) -> frozenset[date]:
    """US federal (OPM) holidays of a year, observed dates; CFTC publishes on federal business days."""
    days: set[date | None] = {
        _observed(date(year, 1, 1)),
        _observed(date(year + 1, 1, 1)) if date(year + 1, 1, 1).weekday() == 5 else None,
        _nth_weekday(year, 1, 0, 3),
        _nth_weekday(year, 2, 0, 3),
        _nth_weekday(year, 5, 0, -1),
        _observed(date(year, 6, 19)) if year >= 2021 else None,
        _observed(date(year, 7, 4)),
        _nth_weekday(year, 9, 0, 1),
        _nth_weekday(year, 10, 0, 2),
        _observed(date(year, 11, 11)),
        _nth_weekday(year, 11, 3, 4),
        _observed(date(year, 12, 25)),
    }
    return frozenset(d for d in days if d is not None and d.year == year)


def is_trading_day(d: date) -> bool:
    """True when the NYSE is open for a full or partial session on ``d``."""
    return d.weekday() < 5 and d not in nyse_holidays(d.year) and d not in NYSE_SPECIAL_CLOSURES


def is_federal_business_day(d: date) -> bool:
    return d.weekday() < 5 and d not in federal_holidays(d.year)


def trading_days(start: date, end: date) -> Iterator[date]:
    """NYSE trading days in [start, end]."""
    d = start
    while d <= end:
        if is_trading_day(d):
            yield d
        d += timedelta(days=1)


def add_business_days(d: date, n: int, *, federal: bool = True) -> date:
    """The n-th business day after ``d`` (federal calendar by default, else NYSE)."""
    check = is_federal_business_day if federal else is_trading_day
    step = 1 if n >= 0 else -1
    remaining = abs(n)
    while remaining:
        d += timedelta(days=step)
        if check(d):
            remaining -= 1
    return d


def previous_trading_day(d: date) -> date:
    """The last NYSE trading day strictly before ``d``."""
    return add_business_days(d, -1, federal=False)


def last_trading_day_on_or_before(d: date) -> date:
    return d if is_trading_day(d) else previous_trading_day(d)
