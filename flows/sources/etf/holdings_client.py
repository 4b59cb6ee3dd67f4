"""Live ETF holdings: each universe ETF's issuer file (SOURCES.md §4), run by the daily flow.

Which ETFs: ``etfs`` in ``config/universe.yaml`` that have an entry in ``etf_holdings_sources``
(issuer + ids). Per issuer:

- **iShares** (dated history): ``GET https://www.ishares.com/us/products/{product_id}/{slug}/
  1467271812596.ajax?fileType=csv&fileName={T}_holdings&dataType=fund&asOfDate=YYYYMMDD``, one
  request per NYSE trading day after the newest stored file (the last 7 days on an empty warehouse,
  at most ``MAX_ISHARES_DAYS`` a run). A date without a file answers HTTP 200 with a template whose
  line 2 is ``Fund Holdings as of,"-"``: "not published" (the same day's file appears in the evening
  or next morning), skipped; ``missing_limit`` trading days in a row without a file is an error.
  Browser User-Agent and the product page as Referer (Akamai blocks bare clients).
- **VanEck** (current file only): ``GET https://www.vaneck.com/Main/HoldingsBlock/GetDataset/
  ?blockId=..&pageId=..&ticker=SMH`` (JSON). Plain clients may get an HTML page: refused.
- **Invesco** (current only): ``GET https://dng-api.invesco.com/cache/v1/accounts/en_US/
  shareclasses/{CUSIP}/holdings/fund?idType=cusip&productType=ETF`` (``idType=ticker`` when no CUSIP
  is configured; it "silently 500s" for many funds, QQQ works).
- **SSGA** (current only): ``GET https://www.ssga.com/library-content/products/fund-data/etfs/us/
  holdings-daily-us-en-{t}.xlsx`` (must be a zip: ``PK``).

Current-only files are fetched every run; an unchanged file is a duplicate or unchanged rows.
Bodies that cannot be the expected file (empty, an HTML page, not JSON / not a zip) are refused
before parsing and kept (``ctx.rejected``). One fund's failure is a note and the others go on; the
dataset fails only when every fund failed. Pacing: one request a second per run (issuer CDNs).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flows.calendar import trading_days
from flows.errors import FetchError, PayloadError
from flows.http import Fetcher
from flows.sources.base import Payload
from flows.sources.live import LiveContext
from flows.sources.textio import reject_error_pages

DATASET = "etf_holdings"
ISHARES_PAGE = "https://www.ishares.com/us/products/{product_id}/{slug}"
ISHARES_URL = ISHARES_PAGE + "/1467271812596.ajax"
VANECK_URL = "https://www.vaneck.com/Main/HoldingsBlock/GetDataset/"
INVESCO_URL = "https://dng-api.invesco.com/cache/v1/accounts/en_US/shareclasses/{id}/holdings/fund"
SSGA_URL = "https://www.ssga.com/library-content/products/fund-data/etfs/us/holdings-daily-us-en-{ticker}.xlsx"
MAX_ISHARES_DAYS = 10
EMPTY_WAREHOUSE_DAYS = 7
_TEMPLATE = re.compile(rb'Fund Holdings as of,\s*"?\s*-\s*"?\s*(?:,|\r|\n|$)', re.IGNORECASE)
_TICKER = re.compile(r"^[A-Z]{1,6}$")


def ishares_params(etf: str, day: date) -> dict[str, str]:
    return {"fileType": "csv", "fileName": f"{etf}_holdings", "dataType": "fund", "asOfDate": day.strftime("%Y%m%d")}


def is_ishares_template(content: bytes) -> bool:
    """The ~4.5 KB page iShares serves (HTTP 200) for a date without holdings."""
    return bool(_TEMPLATE.search(content[:4096]))


def _payload(resp: Any, etf: str, issuer: str, **hints: str) -> Payload:
    return Payload(
        DATASET,
        resp.content,
        str(resp.url),
        datetime.now(UTC),
        live=True,
        hints={"etf": etf, "issuer": issuer, **hints},
    )


def _rejected(message: str, payload: Payload) -> PayloadError:
    err = PayloadError(f"{DATASET}: {payload.origin}: {message}")
    err.payload = payload  # type: ignore[attr-defined]
    return err


def screen(payload: Payload, expect: str) -> None:
    """Refuse, before parsing, a body that cannot be the file asked for (kept by the caller)."""
    try:
        reject_error_pages(payload.content)
    except PayloadError as exc:
        raise _rejected(str(exc), payload) from None
    head = payload.content.lstrip(b"\xef\xbb\xbf \t\r\n")
    if expect == "json" and not head.startswith((b"{", b"[")):
        raise _rejected(f"expected JSON, got {head[:40]!r}", payload)
    if expect == "xlsx" and not payload.content.startswith(b"PK\x03\x04"):
        raise _rejected(f"expected an xlsx workbook (zip), got {head[:40]!r}", payload)


def fetch_ishares(
    fetcher: Fetcher, etf: str, src: dict[str, Any], days: Iterable[date], missing_limit: int = 5
) -> tuple[list[Payload], list[date]]:
    """One holdings CSV per trading day; returns (payloads, days without a file)."""
    product_id = str(src.get("product_id") or "")
    if not product_id.isdigit():
        raise FetchError(f"{DATASET}: {etf}: iShares needs a numeric product_id in etf_holdings_sources")
    page = ISHARES_PAGE.format(product_id=product_id, slug=src.get("slug") or "fund")
    url = ISHARES_URL.format(product_id=product_id, slug=src.get("slug") or "fund")
    payloads: list[Payload] = []
    missing: list[date] = []
    streak = 0
    for day in days:
        resp = fetcher.request(
            "GET", url, params=ishares_params(etf, day), headers={"Referer": page, "Accept": "text/csv,*/*"}
        )
        payload = _payload(resp, etf, "ishares", requested_as_of=day.isoformat())
        if is_ishares_template(resp.content):
            missing.append(day)
            streak += 1
            if streak >= missing_limit:
                raise FetchError(
                    f"{DATASET}: {etf}: no iShares holdings file for {streak} trading days in a row up to {day} "
                    f"('Fund Holdings as of,\"-\"' at {resp.url}); the fund id or the site may have changed"
                )
            continue
        streak = 0
        screen(payload, "csv")
        payloads.append(payload)
    return payloads, missing


def fetch_vaneck(fetcher: Fetcher, etf: str, src: dict[str, Any]) -> Payload:
    params = {"blockId": str(src.get("block_id") or ""), "pageId": str(src.get("page_id") or ""), "ticker": etf}
    if not (params["blockId"].isdigit() and params["pageId"].isdigit()):
        raise FetchError(f"{DATASET}: {etf}: VanEck needs numeric block_id and page_id in etf_holdings_sources")
    resp = fetcher.request(
        "GET", VANECK_URL, params=params, headers={"Accept": "application/json", "Referer": "https://www.vaneck.com/"}
    )
    payload = _payload(resp, etf, "vaneck")
    screen(payload, "json")
    return payload


def fetch_invesco(fetcher: Fetcher, etf: str, src: dict[str, Any]) -> Payload:
    cusip = str(src.get("cusip") or "").strip().upper()
    ident, id_type = (cusip, "cusip") if cusip else (etf, "ticker")
    if not re.fullmatch(r"[0-9A-Z]{1,9}", ident):
        raise FetchError(f"{DATASET}: {etf}: not a CUSIP or ticker: {ident!r}")
    resp = fetcher.request(
        "GET",
        INVESCO_URL.format(id=ident),
        params={"idType": id_type, "productType": "ETF"},
        headers={"Accept": "application/json", "Referer": "https://www.invesco.com/"},
    )
    payload = _payload(resp, etf, "invesco")
    screen(payload, "json")
    return payload


def fetch_ssga(fetcher: Fetcher, etf: str, src: dict[str, Any]) -> Payload:
    resp = fetcher.request("GET", SSGA_URL.format(ticker=etf.lower()))
    payload = _payload(resp, etf, "ssga")
    screen(payload, "xlsx")
    return payload


CURRENT_ONLY = {"vaneck": fetch_vaneck, "invesco": fetch_invesco, "ssga": fetch_ssga}


def ishares_days(last: date | None, as_of: date) -> list[date]:
    """Trading days to ask iShares for: after the newest stored file (never more than two weeks
    back), or the last week on an empty warehouse; at most ``MAX_ISHARES_DAYS``, oldest first."""
    floor = as_of - timedelta(days=14)
    start = max(last + timedelta(days=1), floor) if last else as_of - timedelta(days=EMPTY_WAREHOUSE_DAYS)
    return list(trading_days(start, as_of))[-MAX_ISHARES_DAYS:]


def live(ctx: LiveContext) -> tuple[list[Payload], list[str]]:
    """Daily run: every configured universe ETF's holdings file (see the module docstring)."""
    from flows.config import universe
    from flows.sources.etf.holdings_formats.common import holdings_sources

    sources = holdings_sources()
    etfs = [str(t).upper() for t in universe(ctx.settings).get("etfs") or []]
    payloads: list[Payload] = []
    notes: list[str] = []
    failures: list[str] = []
    with ctx.make_client(ctx.settings) as http:
        fetcher = ctx.fetcher(http, min_interval_s=1.0)
        for etf in etfs:
            src = sources.get(etf)
            if not src:
                notes.append(f"{etf}: no holdings source in etf_holdings_sources (config/universe.yaml)")
                continue
            issuer = str(src.get("issuer", "")).lower()
            try:
                if not _TICKER.match(etf):
                    raise FetchError(f"{DATASET}: not an ETF ticker: {etf!r}")
                if issuer == "ishares":
                    last = ctx.latest(f"etf = '{etf}' and series_source = 'issuer'")
                    got, missing = fetch_ishares(fetcher, etf, src, ishares_days(last, ctx.as_of))
                    payloads += got
                    if missing:
                        notes.append(f"{etf}: no iShares file yet for {', '.join(map(str, missing))}")
                elif issuer in CURRENT_ONLY:
                    payloads.append(CURRENT_ONLY[issuer](fetcher, etf, src))
                else:
                    raise FetchError(f"{DATASET}: {etf}: unknown issuer {issuer!r} (ishares, vaneck, invesco, ssga)")
            except (FetchError, PayloadError) as exc:
                if getattr(exc, "payload", None) is not None:
                    ctx.rejected.append(exc.payload)  # type: ignore[attr-defined]
                failures.append(str(exc))
    if failures and not payloads:
        raise FetchError("; ".join(failures))
    return payloads, notes + [f"failed: {f}" for f in failures]
