"""What every holdings layout reader shares: the row shape, numbers, asset classes, the fund's ticker.

Readers (one module per issuer layout) return ``Snapshot`` objects: one fund on one as-of date with
its rows as published (``Holding``: symbol, name, asset class, weight as a fraction). They never
aggregate, round or drop rows; ``flows.sources.etf.holdings`` does that once for every layout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flows.config import universe
from flows.errors import ConfigError, PayloadError, ValidationError
from flows.sources.base import Payload

ASSET_CLASSES = ("equity", "cash", "future", "other")
SERIES_SOURCES = ("issuer", "user_csv", "nport")
SOURCE_FORMATS = ("ishares_csv", "vaneck_json", "invesco_json", "invesco_csv", "ssga_xlsx", "user_csv")

# Exchange futures as issuers list them: root + month code + 1-2 year digits (NQU6, IXTZ5, RTYZ3);
# Invesco's contra line for the same contract carries a trailing underscore (NQU6_).
FUTURE_TICKER = re.compile(r"^[A-Z]{1,3}[FGHJKMNQUVXZ]\d{1,2}_?$")
_ETF_TICKER = re.compile(r"^[A-Z]{1,6}$")
_FILE_TOKEN = re.compile(r"(?<![A-Za-z])([A-Z]{2,6})(?![A-Za-z])")
_ISHARES_FILE = re.compile(r"^([A-Z]{2,6})_holdings", re.IGNORECASE)
_BLANK = ("", "-", "--", "n/a", "na", "nan", "none", "null")


@dataclass
class Holding:
    """One row of a holdings file, as published (weight already divided by 100)."""

    symbol: str  # ticker as published, stripped and upper-cased; "" when the file gives none
    name: str
    asset_class: str  # equity | cash | future | other
    weight: Decimal | None  # fraction of net assets; None when the file leaves it empty
    where: str  # "line 12", "Holdings[3]": for messages


@dataclass
class Snapshot:
    """One fund's holdings on one as-of date from one payload."""

    etf: str
    as_of_date: date
    source_format: str
    series_source: str
    holdings: list[Holding] = field(default_factory=list)
    declared_rows: int | None = None  # what the file says it holds (Invesco totalNumberOfHoldings)


def decimal_or_none(value: Any, column: str, where: str) -> Decimal | None:
    """A published number: strings with thousands separators or a ``%`` sign, JSON numbers, Excel
    floats. Empty, ``-`` and ``N/A`` are missing (None); text is a ``ValidationError``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValidationError(f"text where a number belongs: {column}={value!r} ({where})")
    if isinstance(value, (int, float)):
        if value != value:  # NaN
            return None
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    s = str(value).strip().replace(",", "").replace("%", "").strip()
    if s.lower() in _BLANK:
        return None
    try:
        out = Decimal(s)
    except InvalidOperation:
        raise ValidationError(f"text where a number belongs: {column}={value!r} ({where})") from None
    if not out.is_finite():
        raise ValidationError(f"text where a number belongs: {column}={value!r} ({where})")
    return out


def percent_to_frac(value: Any, column: str, where: str) -> Decimal | None:
    pct = decimal_or_none(value, column, where)
    return None if pct is None else pct / 100


def asset_class_of(label: str | None, where: str) -> str:
    """Map an issuer's asset class / security type wording to equity | cash | future | other.

    Futures first (``Index Future``), then cash-like lines (cash, currency, money market, collateral,
    margins, pending dividends), then other non-equity instruments, then equities (common stock,
    ADRs, REITs). Wording we do not know is a ``ValidationError``: a new instrument type must be
    classified on purpose, or the per-fund weight sum would silently change meaning."""
    s = (label or "").strip().lower()
    if not s:
        raise ValidationError(f"empty asset class ({where})")
    if "future" in s:
        return "future"
    if any(k in s for k in ("cash", "currency", "money market", "collateral", "margin", "pending", "treasury bill")):
        return "cash"
    if any(k in s for k in ("swap", "forward", "option", "right", "warrant", "bond", "fixed income", "fx")):
        return "other"
    if any(k in s for k in ("stock", "equity", "depositary", "depository", "reit", "adr", "gdr", "preferred")):
        return "equity"
    raise ValidationError(f"unknown asset class {label!r} ({where}); classify it in holdings_formats/common.py")


def clean_symbol(value: Any) -> str:
    if value is None:
        return ""
    s = str(value).strip().upper()
    return "" if s.lower() in _BLANK else s


def holding(symbol: Any, name: Any, asset_class: str, weight: Decimal | None, where: str) -> Holding:
    """Build a row; a non-equity line whose ticker is a futures contract (incl. a contra ``NQU6_``)
    is a future whatever its type says (Invesco files the contra line as ``Synthetic Cash``)."""
    sym = clean_symbol(symbol)
    if asset_class != "equity" and FUTURE_TICKER.match(sym):
        asset_class = "future"
    return Holding(sym, " ".join(str(name or "").split()), asset_class, weight, where)


def holdings_sources() -> dict[str, dict[str, Any]]:
    """``config/universe.yaml`` ``etf_holdings_sources``: per ETF, the issuer and its ids."""
    cfg = universe().get("etf_holdings_sources") or {}
    if not isinstance(cfg, dict):
        raise ConfigError("universe.yaml: etf_holdings_sources must map ETF tickers to their issuer settings")
    return {str(k).upper(): dict(v or {}) for k, v in cfg.items()}


def _known_etfs() -> list[str]:
    u = universe()
    names = [str(t).upper() for t in (u.get("etfs") or [])] + list(holdings_sources())
    return list(dict.fromkeys(names))


def resolve_etf(payload: Payload, *, from_content: str | None = None, fund_name: str | None = None) -> str:
    """Which fund a payload describes: the ``etf`` hint (live fetch), the ticker the content gives,
    the fund name (iShares line 1, via ``fund_name`` in the config), or a ticker in the file name
    (a configured ETF as a token, or iShares' own ``{TICKER}_holdings`` download name)."""
    if payload.hints.get("etf"):
        return _check_etf(payload.hints["etf"])
    if from_content and _ETF_TICKER.match(from_content.strip().upper()):
        return from_content.strip().upper()
    if fund_name:
        wanted = " ".join(fund_name.lower().split())
        for etf, src in holdings_sources().items():
            if " ".join(str(src.get("fund_name", "")).lower().split()) == wanted:
                return etf
    fname = payload.origin.rsplit("/", 1)[-1]
    known = _known_etfs()
    tokens = [t for t in _FILE_TOKEN.findall(fname) if t in known]
    if len(set(tokens)) == 1:
        return tokens[0]
    m = _ISHARES_FILE.match(fname)
    if m:
        return m.group(1).upper()
    raise PayloadError(
        "cannot tell which ETF this holdings file is for: name the file like SOXX_holdings.csv "
        "or add the fund's name as fund_name under etf_holdings_sources in config/universe.yaml"
    )


def _check_etf(value: str) -> str:
    s = value.strip().upper()
    if not _ETF_TICKER.match(s):
        raise PayloadError(f"not an ETF ticker: {value!r}")
    return s


def parse_us_date(text: Any, formats: tuple[str, ...], what: str) -> date:
    """A date in one of ``formats`` (or an ISO date / datetime); ``PayloadError`` names the field."""
    if isinstance(text, datetime):
        return text.date()
    if isinstance(text, date):
        return text
    s = str(text or "").strip()
    for fmt in formats:
        try:
            return datetime.strptime(s, fmt).date()
        except ValueError:
            pass
    try:
        return date.fromisoformat(s[:10])
    except ValueError:
        raise PayloadError(f"unreadable {what} {text!r}") from None
