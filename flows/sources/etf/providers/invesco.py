"""Invesco NAV history JSON (SOURCES.md §4.4): NAV only, no shares outstanding.

``GET https://dng-api.invesco.com/cache/v1/accounts/en_US/shareclasses/{id}/navs?idType={ticker|cusip}&productType=ETF``
(``idType=cusip`` is the reliable form; ``ticker`` works for QQQ). Daily NAV back to inception.

Accepted shapes (the exact envelope is [verify] in SOURCES.md §10): a JSON list of objects, or an
object holding such a list under any key (``navs``, ``data``, ...). Each object carries
``effectiveDate`` (ISO ``2024-01-05`` or ``2024-01-05T00:00:00``, or ``01/05/2024``) and
``netAssetValue`` (number or numeric string). The fund comes from the ``symbol`` hint, a ``ticker``
field, or the ``shareclasses/{TICKER}/navs?idType=ticker`` URL / a ``QQQ_navs.json`` file name.
Shares outstanding have no history endpoint: rows carry ``nav_usd`` only, and flows for QQQ take
their shares from another source (the bring-your-own CSV or a snapshot).
"""

from __future__ import annotations

import json
import re
from typing import Any

from flows.errors import EmptyDataError, PayloadError, SchemaDriftError, ValidationError
from flows.sources.etf.providers import Read, ShareRow, check_ticker, number, parse_date_text

SOURCE = "invesco"
NAVS_URL = "https://dng-api.invesco.com/cache/v1/accounts/en_US/shareclasses/{id}/navs"
_URL_TICKER = re.compile(r"shareclasses/([A-Za-z]{1,6})/navs\?[^#]*idType=ticker", re.IGNORECASE)
_FILE_TICKER = re.compile(r"(?:^|[/_-])([A-Za-z]{2,6})[_-]navs\b", re.IGNORECASE)
DATE_KEY, NAV_KEY = "effectiveDate", "netAssetValue"


def looks_like(text: str) -> bool:
    s = text.lstrip()
    return s.startswith(("{", "[")) and DATE_KEY in s[:200_000]


def ticker_from_origin(origin: str) -> str | None:
    m = _URL_TICKER.search(origin) or _FILE_TICKER.search(origin)
    return m.group(1).upper() if m else None


def _nav_list(doc: Any) -> tuple[list[Any], dict[str, Any]]:
    """The list of NAV records and the object around it (for a ``ticker`` field)."""
    if isinstance(doc, list):
        return doc, {}
    if isinstance(doc, dict):
        for value in doc.values():
            if isinstance(value, list) and any(isinstance(x, dict) and DATE_KEY in x for x in value):
                return value, doc
        for value in doc.values():
            if isinstance(value, dict):
                found, _ = _nav_list(value)
                if found:
                    return found, value
        if any(isinstance(v, list) for v in doc.values()):
            return next(v for v in doc.values() if isinstance(v, list)), doc
    raise SchemaDriftError(
        f"no list of NAV records with '{DATE_KEY}' in the JSON (keys {list(doc)[:8] if isinstance(doc, dict) else []})"
    )


def read(text: str, symbol: str | None) -> Read:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PayloadError(f"not valid JSON (truncated?): {exc}") from None
    records, envelope = _nav_list(doc)
    if not records:
        raise EmptyDataError("the NAV list is empty")
    for key in ("ticker", "symbol", "shareClassTicker"):
        if isinstance(envelope.get(key), str) and envelope[key].strip():
            found = check_ticker(envelope[key], f"JSON field {key!r}")
            if symbol and found != symbol:
                raise ValidationError(f"the NAV history is for {found}, not {symbol}")
            symbol = found
            break
    if not symbol:
        raise PayloadError("cannot tell the fund: no 'ticker' field; name the file <TICKER>_navs.json")
    out = Read([])
    for n, rec in enumerate(records):
        where = f"record {n}"
        if not isinstance(rec, dict) or DATE_KEY not in rec or NAV_KEY not in rec:
            keys = list(rec)[:8] if isinstance(rec, dict) else type(rec).__name__
            raise SchemaDriftError(f"NAV record {n} lacks '{DATE_KEY}' or '{NAV_KEY}' (keys {keys})")
        d = parse_date_text(str(rec[DATE_KEY] or ""))
        if d is None:
            raise ValidationError(f"unreadable {DATE_KEY} {rec[DATE_KEY]!r} ({where})")
        nav = number(rec[NAV_KEY], NAV_KEY, where)
        if nav is None:
            out.drop("records without a NAV")
            continue
        out.rows.append(ShareRow(date=d, symbol=symbol, source=SOURCE, nav_usd=nav))
    return out
