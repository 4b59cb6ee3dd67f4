"""Issuer formats for ``etf_shares`` (daily shares outstanding and NAV per fund), one module each.

Every reader takes the payload's bytes (or decoded text) and returns ``ShareRow`` objects: one fund
on one date from one publisher, values as published in house units (shares, USD per share, USD).
Readers never drop, fill or aggregate silently: placeholders (``-``, ``--``) become None, rows
skipped on purpose are counted, text where a number belongs raises ``ValidationError``.

- ``ishares``: fund workbook, SpreadsheetML 2003 XML, worksheet ``Historical``;
- ``ssga``: ``navhist-us-en-{ticker}.xlsx``, sheet ``navhist``;
- ``invesco``: NAV history JSON (``effectiveDate``, ``netAssetValue``), no shares;
- ``vaneck``: the fund page's key-data snapshot (NAV, shares outstanding, total net assets).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flows.errors import ValidationError

PROVIDERS = ("ishares", "ssga", "invesco", "vaneck")
PLACEHOLDERS = frozenset({"", "-", "--", "\u2013", "\u2014", "n/a", "na", "nan", "none", "null"})
_TICKER = re.compile(r"^[A-Z][A-Z0-9.]{0,9}$")
_SUFFIX = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}
_DATE_FORMATS = ("%b %d, %Y", "%b %d %Y", "%d-%b-%Y", "%d-%b-%y", "%m/%d/%Y", "%B %d, %Y", "%d %b %Y", "%Y%m%d")
EXCEL_EPOCH = date(1899, 12, 30)


@dataclass
class ShareRow:
    """One fund on one date from one publisher (any value may be missing)."""

    date: date
    symbol: str
    source: str
    shares_outstanding: int | None = None
    nav_usd: float | None = None
    close_usd: float | None = None
    total_net_assets_usd: float | None = None

    def has_values(self) -> bool:
        return any(
            v is not None for v in (self.shares_outstanding, self.nav_usd, self.close_usd, self.total_net_assets_usd)
        )


@dataclass
class Read:
    """What a provider reader returns."""

    rows: list[ShareRow]
    warnings: list[str] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)

    def drop(self, reason: str, n: int = 1) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + n


def number(value: Any, column: str, where: str) -> float | None:
    """A published number: JSON/Excel numbers, strings with ``$``, thousands separators and a
    K/M/B suffix; placeholders are None; any other text is a ``ValidationError``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValidationError(f"text where a number belongs: {column}={value!r} ({where})")
    if isinstance(value, (int, float)):
        return None if value != value else float(value)  # NaN -> missing
    s = str(value).strip().replace(",", "").replace("$", "").replace("\u00a0", "").strip()
    if s.lower() in PLACEHOLDERS:
        return None
    mult = 1.0
    if s and s[-1].upper() in _SUFFIX:
        mult, s = _SUFFIX[s[-1].upper()], s[:-1].strip()
    try:
        out = float(s) * mult
    except ValueError:
        raise ValidationError(f"text where a number belongs: {column}={value!r} ({where})") from None
    if out != out or out in (float("inf"), float("-inf")):
        raise ValidationError(f"text where a number belongs: {column}={value!r} ({where})")
    return out


def share_count(value: Any, column: str, where: str, warnings: list[str] | None = None) -> int | None:
    """A share count as an integer (issuers publish whole shares; a fraction is rounded, with a warning)."""
    x = number(value, column, where)
    if x is None:
        return None
    n = round(x)
    if abs(x - n) > 1e-6 and warnings is not None and not any("fractional" in w for w in warnings):
        warnings.append(f"fractional share counts rounded to whole shares (first {column}={value!r}, {where})")
    return int(n)


def parse_date_text(text: str) -> date | None:
    """Dates as issuers print them: ``Jan 05, 2024``, ``05-Jan-2024``, ``01/05/2024``, ISO
    (``2024-01-05``, ``2024-01-05T00:00:00``); None when not a date."""
    s = " ".join(str(text).strip().split())
    if not s:
        return None
    try:
        return date.fromisoformat(s[:10])
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(s, fmt).date()
        except ValueError:
            pass
    return None


def cell_date(value: Any) -> date | None:
    """An Excel cell as a date: a datetime, an Excel serial number, or text (see ``parse_date_text``)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 1 <= value < 2_958_466:  # Excel serials 1900-01-01 .. 9999-12-31
            return EXCEL_EPOCH + timedelta(days=int(value))
        return None
    if value is None:
        return None
    return parse_date_text(str(value))


def check_ticker(symbol: str, where: str) -> str:
    s = symbol.strip().upper()
    if not _TICKER.match(s):
        raise ValidationError(f"not an ETF ticker: {symbol!r} ({where})")
    return s
