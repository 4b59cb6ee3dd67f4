"""Live ``etf_shares`` client: one issuer download per fund (SOURCES.md §4).

Funds: the ``etfs`` and ``market`` of ``config/universe.yaml`` that ``etf_share_sources`` maps to a
provider (SOXX ishares 239705, XLK/SPY ssga, QQQ invesco, SMH vaneck). One request per fund, paced
``PACE_S`` apart (issuer CDNs: 0.5-2 s between funds), retries/backoff from ``flows.http.Fetcher``.

- ishares: the fund workbook (full history) from ``www.ishares.com`` with a browser User-Agent and
  the product page as ``Referer`` (Akamai refuses bare clients); on failure the same document from
  BlackRock's ``get-fund-document`` API. Bodies under ``ishares.MIN_BYTES`` or without a
  SpreadsheetML workbook are error pages: refused (kept in quarantine).
- ssga: ``navhist-us-en-{ticker}.xlsx`` (full history); a body without the zip signature is refused.
- invesco: the NAV history JSON (``idType=cusip`` or ``ticker``); NAV only.
- vaneck: the fund page (today's snapshot); a page without the key-data items is refused.

Every payload carries the hints ``symbol`` and ``provider``. A fund that fails is a note and the
others go on; if every fund fails, the run fails with the reasons. Issuers re-serve their history
every day: unchanged rows load as unchanged, corrections as new versions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from flows.config import Settings, universe
from flows.errors import ConfigError, FetchError
from flows.http import Fetcher
from flows.sources.base import Payload
from flows.sources.etf.providers import PROVIDERS, invesco, ishares, ssga, vaneck
from flows.sources.live import LiveContext

DATASET = "etf_shares"
PACE_S = 1.0


class Rejected(Exception):
    """A body refused before parsing (error page, tiny body, wrong format)."""

    def __init__(self, message: str, payload: Payload) -> None:
        super().__init__(message)
        self.payload = payload


def funds(settings: Settings | None = None) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    """(symbol, source config) for each ETF of the universe with a provider; notes for the others."""
    uni = universe(settings)
    wanted = [*(uni.get("etfs") or []), *([uni["market"]] if uni.get("market") else [])]
    table = uni.get("etf_share_sources") or {}
    out, notes = [], []
    for sym in dict.fromkeys(wanted):
        cfg = table.get(sym)
        if not cfg:
            notes.append(f"{sym}: no provider in etf_share_sources (config/universe.yaml), skipped")
            continue
        if cfg.get("provider") not in PROVIDERS:
            raise ConfigError(
                f"etf_share_sources.{sym}.provider must be one of {PROVIDERS}, not {cfg.get('provider')!r}"
            )
        out.append((sym, dict(cfg)))
    return out, notes


def _payload(resp: Any, symbol: str, provider: str) -> Payload:
    hints = {"symbol": symbol, "provider": provider}
    return Payload(DATASET, resp.content, str(resp.url), datetime.now(UTC), live=True, hints=hints)


def _ishares(fetcher: Fetcher, symbol: str, cfg: dict[str, Any], min_bytes: int) -> Payload:
    pid, slug = str(cfg["product_id"]), str(cfg.get("slug") or "fund")
    page = ishares.PRODUCT_PAGE.format(product_id=pid, slug=slug)
    headers = {"Referer": page, "Accept": "application/vnd.ms-excel,application/xml,text/xml,*/*"}
    attempts = [
        (ishares.AJAX_URL.format(product_id=pid, slug=slug, ticker=symbol), None),
        (
            ishares.BLACKROCK_URL,
            {
                "appType": "PRODUCT_PAGE",
                "appSubType": "ISHARES",
                "targetSite": "us-ishares",
                "locale": "en_US",
                "portfolioId": pid,
                "userType": "individual",
                "component": "fundDownload",
            },
        ),
    ]
    problems: list[str] = []
    refused: Payload | None = None
    for url, params in attempts:
        try:
            resp = fetcher.request("GET", url, params=params, headers=headers)
        except FetchError as exc:
            problems.append(str(exc))
            continue
        p = _payload(resp, symbol, "ishares")
        if len(resp.content) >= min_bytes and ishares.looks_like(ishares.decode(resp.content[:8192])):
            return p
        what = f"{len(resp.content)} bytes" if len(resp.content) < min_bytes else "not a SpreadsheetML workbook"
        problems.append(f"{resp.url}: {what} (an error page?)")
        refused = p  # the last body refused is kept for inspection
    message = f"{symbol} (ishares): " + "; ".join(problems)
    if refused is not None:
        raise Rejected(message, refused)
    raise FetchError(message)


def fetch_fund(fetcher: Fetcher, symbol: str, cfg: dict[str, Any], min_bytes: int | None = None) -> Payload:
    """One fund's payload, checked for the provider's signature (never parsed here). ``min_bytes``:
    smallest acceptable iShares workbook (default ``ishares.MIN_BYTES``)."""
    provider = cfg["provider"]
    if provider == "ishares":
        return _ishares(fetcher, symbol, cfg, ishares.MIN_BYTES if min_bytes is None else min_bytes)
    if provider == "ssga":
        resp = fetcher.request(
            "GET", ssga.NAVHIST_URL.format(ticker=symbol.lower()), headers={"Accept": "application/octet-stream,*/*"}
        )
        p = _payload(resp, symbol, provider)
        if not resp.content.startswith(b"PK\x03\x04"):
            raise Rejected(f"{symbol} (ssga): {resp.url}: not an xlsx (no zip signature; an error page?)", p)
        return p
    if provider == "invesco":
        params = {"idType": str(cfg.get("id_type") or "ticker"), "productType": "ETF"}
        resp = fetcher.request(
            "GET",
            invesco.NAVS_URL.format(id=str(cfg.get("id") or symbol)),
            params=params,
            headers={"Accept": "application/json", "Referer": "https://www.invesco.com/"},
        )
        p = _payload(resp, symbol, provider)
        if not invesco.looks_like(resp.content.decode("utf-8", "replace")):
            raise Rejected(f"{symbol} (invesco): {resp.url}: not a NAV history JSON (no effectiveDate)", p)
        return p
    resp = fetcher.request("GET", vaneck.PAGE_URL.format(slug=cfg["slug"]), headers={"Accept": "text/html"})
    p = _payload(resp, symbol, provider)
    if not vaneck.looks_like(resp.content):
        raise Rejected(f"{symbol} (vaneck): {resp.url}: the page has no NAV/Shares Outstanding items", p)
    return p


def fetch(
    fetcher: Fetcher,
    selected: Sequence[tuple[str, dict[str, Any]]],
    rejected: list[Payload],
    min_bytes: int | None = None,
) -> tuple[list[Payload], list[str]]:
    """Every fund in turn; failures become notes (refused bodies go to ``rejected``). Raises
    ``FetchError`` when no fund could be fetched."""
    payloads: list[Payload] = []
    notes: list[str] = []
    for symbol, cfg in selected:
        try:
            payloads.append(fetch_fund(fetcher, symbol, cfg, min_bytes))
        except Rejected as exc:
            rejected.append(exc.payload)
            notes.append(f"refused: {exc}")
        except FetchError as exc:
            notes.append(f"failed: {exc}")
    if selected and not payloads:
        raise FetchError(f"{DATASET}: no fund could be fetched: " + " | ".join(notes))
    return payloads, notes


def live(ctx: LiveContext) -> tuple[list[Payload], list[str]]:
    """Daily run: every configured fund, paced ``PACE_S`` apart."""
    selected, notes = funds(ctx.settings)
    with ctx.make_client(ctx.settings) as http:
        payloads, more = fetch(ctx.fetcher(http, min_interval_s=PACE_S), selected, ctx.rejected)
    return payloads, notes + more
