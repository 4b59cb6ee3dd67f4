"""VanEck fund page snapshot: current NAV and shares outstanding (SOURCES.md §4.5).

``GET https://www.vaneck.com/us/en/investments/{slug}/`` (SMH: ``semiconductor-etf-smh``). VanEck
publishes no shares-outstanding history: the daily run keeps one snapshot a day, going forward.

The format read (flowscope's definition of the page's key-data block; field names are [verify] in
SOURCES.md §10.8): one item per figure, in this order inside the HTML::

    <div class="... item-title ...">NAV</div>
    <div class="item-value"><span class="dollar-sign">$</span>611.25</div>
    <span class="as-of-date">as of July 10, 2026</span>

Labels read: ``NAV``, ``Shares Outstanding``, ``Total Net Assets`` (others are ignored). Values may
carry ``$``, thousands separators and a ``K``/``M``/``B`` suffix (``73.62B``); a suffixed share
count is rounded by the publisher and says so in a warning. Each figure has its own ``as of`` date;
figures with different dates become different rows (NAV of T, shares of T+1 is common). The fund
comes from the ``symbol`` hint, a ``Ticker`` item, or ``-etf-{ticker}`` in the URL/file name.

This is the one HTML payload ``etf_shares`` accepts: ``looks_like`` recognises it before the
generic HTML-error-page check runs; an HTML page without these items is still an error page.
"""

from __future__ import annotations

import html
import re

from flows.errors import PayloadError, SchemaDriftError
from flows.sources.etf.providers import Read, ShareRow, check_ticker, number, parse_date_text, share_count
from flows.sources.textio import decode_text, normalise_name

SOURCE = "vaneck"
PAGE_URL = "https://www.vaneck.com/us/en/investments/{slug}/"
_TITLE = re.compile(r"<[^>]*class=\"[^\"]*\bitem-title\b[^\"]*\"[^>]*>(.*?)</", re.IGNORECASE | re.DOTALL)
_VALUE = re.compile(r"class=\"[^\"]*\bitem-value\b[^\"]*\"[^>]*>(.*?)</div>", re.IGNORECASE | re.DOTALL)
_AS_OF = re.compile(r"class=\"[^\"]*\bas-of-date\b[^\"]*\"[^>]*>(.*?)</", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_SLUG_TICKER = re.compile(r"-etf-([a-z]{2,6})(?:[/._-]|$)", re.IGNORECASE)
FIELDS = {"nav": "nav_usd", "shares_outstanding": "shares_outstanding", "total_net_assets": "total_net_assets_usd"}


def looks_like(content: bytes) -> bool:
    head = content[:2_000_000].lower()
    return b"vaneck" in head and b"item-title" in head and (b"shares outstanding" in head or b">nav<" in head)


def ticker_from_origin(origin: str) -> str | None:
    m = _SLUG_TICKER.search(origin)
    return m.group(1).upper() if m else None


def _plain(fragment: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", fragment)).split())


def read(content: bytes, symbol: str | None) -> Read:
    text = decode_text(content)
    titles = list(_TITLE.finditer(text))
    items: list[tuple[str, str, str]] = []  # (label, value, as-of text)
    for i, m in enumerate(titles):
        end = titles[i + 1].start() if i + 1 < len(titles) else min(len(text), m.end() + 4000)
        segment = text[m.end() : end]
        value = _VALUE.search(segment)
        as_of = _AS_OF.search(segment)
        label = _plain(m.group(1))
        items.append((label, _plain(value.group(1)) if value else "", _plain(as_of.group(1)) if as_of else ""))
    for label, value, _ in items:
        if normalise_name(label) in ("ticker", "ticker_symbol") and value:
            found = check_ticker(value, "page item 'Ticker'")
            symbol = symbol or found
    if not symbol:
        raise PayloadError("cannot tell the fund: no 'Ticker' item; pass the page URL or a name with -etf-<ticker>")
    out = Read([])
    by_date: dict[object, ShareRow] = {}
    seen = set()
    for label, value, as_of in items:
        key = normalise_name(label)
        if key not in FIELDS or key in seen:
            continue
        seen.add(key)
        where = f"page item {label!r}"
        d = parse_date_text(re.sub(r"^\s*as\s+of\s*", "", as_of, flags=re.IGNORECASE))
        if d is None:
            raise PayloadError(f"no readable 'as of' date for {label!r} (found {as_of!r})")
        row = by_date.setdefault(d, ShareRow(date=d, symbol=symbol, source=SOURCE))
        if key == "shares_outstanding":
            row.shares_outstanding = share_count(value, label, where, out.warnings)
            if value and value.strip()[-1:].upper() in ("K", "M", "B"):
                out.warnings.append(f"shares outstanding published rounded ({value!r}): flows from it are approximate")
        else:
            setattr(row, FIELDS[key], number(value, label, where))
    if not ({"nav", "shares_outstanding"} & seen):
        labels = [i[0] for i in items][:12]
        raise SchemaDriftError(f"no 'NAV' or 'Shares Outstanding' item on the page (items: {labels})")
    out.rows = [r for r in by_date.values() if r.has_values()]
    return out
