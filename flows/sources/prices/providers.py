"""Live daily prices: provider interface and the keyless providers (SOURCES.md §5, §8).

``live(ctx)`` fetches every symbol of ``config/universe.yaml`` (``tickers``, ``etfs`` and the
``market`` proxy), one request per symbol, from the first provider that answers with data; the
others are fallbacks. Order: ``FLOWSCOPE_PRICE_PROVIDERS`` (comma-separated, default
``cboe,nasdaq``). Each provider returns the bytes as received (``Payload``, hint ``symbol``);
parsing happens in ``flows.sources.prices.daily``.

- ``cboe`` (default, first): ``cdn.cboe.com/api/global/delayed_quotes/charts/historical/{SYM}.json``.
  No key. Paced at 2.5 s (<= 0.4 req/s; 429 above). One request = the whole listed history (no range
  parameter; the latest session is not included), so the trailing overlap is implicit: every run
  re-reads all history and a restated bar becomes a new version.
- ``nasdaq`` (fallback): ``api.nasdaq.com/api/quote/{SYM}/historical?assetclass=stocks|etf
  &fromdate=&todate=&limit=9999``. No key, but browser headers (User-Agent, ``Referer`` and
  ``Origin`` www.nasdaq.com) or 403. Paced at 1 s. Window: ``OVERLAP_DAYS`` (30) before the newest
  stored Nasdaq bar of the symbol, or 10 years on an empty warehouse.

Providers that need a key or are not usable unattended (not implemented; import their files):
Alpha Vantage (``apikey``, 25 requests/day free: import its CSV, ``series_source`` alphavantage_csv),
Yahoo chart v8 (keyless but crumb/cookie and 429 from cloud IPs), Stooq (API key from 2026-03 and
an HTML proof-of-work page served with HTTP 200 since 2026-07: ``parse`` refuses it as HTML).

A provider answering 403/404 for a symbol, an HTML/empty/non-JSON body (kept in ``ctx.rejected``)
or a fetch error after retries moves that symbol to the next provider; after ``GIVE_UP_AFTER``
errors or refused bodies in a row a provider is skipped for the rest of the run (a blocked host
should not cost every symbol its retries); a symbol no provider serves is a note; no data for any
symbol is an error.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flows.config import universe
from flows.errors import FetchError, PayloadError
from flows.http import Fetcher
from flows.sources.base import Payload
from flows.sources.live import LiveContext
from flows.sources.prices.daily import CBOE_URL, NASDAQ_URL
from flows.sources.textio import reject_error_pages

DATASET = "prices"
OVERLAP_DAYS = 30
FIRST_RUN_YEARS = 10
NOT_SERVED = (400, 403, 404)
GIVE_UP_AFTER = 3  # failed fetches (errors, refused bodies) in a row before a provider is skipped for the run
_SYMBOL = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")


class NotServedError(FetchError):
    """The provider has nothing for this symbol (403/404, unknown symbol): try the next one."""


class WrongAssetClassError(NotServedError):
    """Nasdaq's rCode 400: the symbol was asked under the wrong asset class (stocks vs etf)."""


@dataclass(frozen=True)
class Request:
    """What ``live`` asks a provider for: one symbol, its asset class and the wanted date range."""

    symbol: str
    asset_class: str  # stocks | etf
    start: date
    end: date


@dataclass
class Provider:
    """A price provider: how to ask for one symbol and how to tell a data body from a refusal.

    ``series_source`` is what the parser will call the rows (it reads the content, not this);
    ``key_env`` names the environment variable holding a key (None: keyless)."""

    name: str
    series_source: str
    min_interval_s: float
    key_env: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def url_and_params(self, req: Request) -> tuple[str, dict[str, str] | None]:
        raise NotImplementedError

    def latest_where(self, symbol: str) -> str:
        return f"series_source = '{self.series_source}' and symbol = '{symbol}'"

    def fetch(self, fetcher: Fetcher, req: Request) -> Payload:
        url, params = self.url_and_params(req)
        resp = fetcher.request("GET", url, params=params, headers=self.headers, passthrough=NOT_SERVED)
        payload = Payload(
            DATASET, resp.content, str(resp.url), datetime.now(UTC), live=True, hints={"symbol": req.symbol}
        )
        if resp.status_code in NOT_SERVED:
            raise NotServedError(f"{self.name}: HTTP {resp.status_code} for {req.symbol}")
        self.check_body(payload)
        return payload

    def check_body(self, payload: Payload) -> None:
        """Refuse bodies that are not data (HTML page, empty, not JSON) before any parsing."""
        try:
            reject_error_pages(payload.content)
            doc = json.loads(payload.content)
        except (PayloadError, ValueError) as exc:
            raise _rejected(f"{self.name}: {payload.origin}: {exc}", payload) from None
        self.check_doc(doc, payload)

    def check_doc(self, doc: Any, payload: Payload) -> None:
        return None


class CboeDelayed(Provider):
    def __init__(self) -> None:
        super().__init__("cboe", "cboe_delayed", min_interval_s=2.5, headers={"Accept": "application/json"})

    def url_and_params(self, req: Request) -> tuple[str, dict[str, str] | None]:
        return CBOE_URL.format(symbol=req.symbol), None  # no range parameter: the whole history

    def check_doc(self, doc: Any, payload: Payload) -> None:
        if not isinstance(doc, dict) or not doc.get("data"):
            raise NotServedError(f"cboe: no data rows for {payload.hints['symbol']}")


class NasdaqHistorical(Provider):
    def __init__(self) -> None:
        super().__init__(
            "nasdaq",
            "nasdaq_api",
            min_interval_s=1.0,
            headers={
                "Accept": "application/json, text/plain, */*",
                "Referer": "https://www.nasdaq.com/",
                "Origin": "https://www.nasdaq.com",
            },
        )

    def url_and_params(self, req: Request) -> tuple[str, dict[str, str] | None]:
        return NASDAQ_URL.format(symbol=req.symbol), {
            "assetclass": req.asset_class,
            "fromdate": req.start.isoformat(),
            "todate": req.end.isoformat(),
            "limit": "9999",
        }

    def fetch(self, fetcher: Fetcher, req: Request) -> Payload:
        try:
            return super().fetch(fetcher, req)
        except WrongAssetClassError:
            # rCode 400 = wrong asset class (an ETF asked as a stock, or the reverse): ask the other one.
            other = "etf" if req.asset_class == "stocks" else "stocks"
            return super().fetch(fetcher, Request(req.symbol, other, req.start, req.end))

    def check_doc(self, doc: Any, payload: Payload) -> None:
        status = doc.get("status") if isinstance(doc, dict) else None
        data = doc.get("data") if isinstance(doc, dict) else None
        code = status.get("rCode") if isinstance(status, dict) else None
        if code == 400:
            raise WrongAssetClassError(f"nasdaq: rCode 400 for {payload.hints['symbol']} (asset class?)")
        if code not in (None, 200) or not isinstance(data, dict):
            raise NotServedError(f"nasdaq: rCode {code} for {payload.hints['symbol']}")
        rows = (data.get("tradesTable") or {}).get("rows")
        if not rows:
            raise NotServedError(f"nasdaq: no rows for {payload.hints['symbol']}")


PROVIDERS: dict[str, type[Provider]] = {"cboe": CboeDelayed, "nasdaq": NasdaqHistorical}


def _rejected(message: str, payload: Payload) -> PayloadError:
    err = PayloadError(message)
    err.payload = payload  # type: ignore[attr-defined]
    return err


def provider_order(env: str | None = None) -> list[Provider]:
    names = [
        n.strip().lower() for n in (env or os.environ.get("FLOWSCOPE_PRICE_PROVIDERS") or "cboe,nasdaq").split(",")
    ]
    unknown = [n for n in names if n and n not in PROVIDERS]
    if unknown:
        raise FetchError(f"prices: unknown providers {unknown} in FLOWSCOPE_PRICE_PROVIDERS (known: {list(PROVIDERS)})")
    out = []
    for n in names:
        if not n:
            continue
        p = PROVIDERS[n]()
        if p.key_env and not os.environ.get(p.key_env):
            continue
        out.append(p)
    return out


def universe_symbols(u: dict[str, Any]) -> list[tuple[str, str]]:
    """(symbol, asset class) for the universe: tickers are stocks, ETFs and the market proxy ETFs."""
    out: list[tuple[str, str]] = []
    for sym, kind in [*((s, "stocks") for s in u.get("tickers") or []), *((s, "etf") for s in u.get("etfs") or []),
                      *(((u["market"], "etf"),) if u.get("market") else ())]:  # fmt: skip
        s = str(sym).strip().upper()
        if not _SYMBOL.match(s):
            raise FetchError(f"prices: {sym!r} in config/universe.yaml is not a ticker symbol")
        if s not in {x for x, _ in out}:
            out.append((s, kind))
    return out


def fetch_symbols(
    fetchers: dict[str, tuple[Provider, Fetcher]],
    symbols: Sequence[tuple[str, str]],
    start_for: Any,
    end: date,
    rejected: list[Payload],
) -> tuple[list[Payload], list[str]]:
    """One payload per symbol from the first provider that serves it; returns (payloads, notes)."""
    payloads: list[Payload] = []
    notes: list[str] = []
    failures_in_a_row = dict.fromkeys(fetchers, 0)
    for symbol, kind in symbols:
        problems = []
        for name, (provider, fetcher) in fetchers.items():
            if failures_in_a_row[name] >= GIVE_UP_AFTER:
                problems.append(f"{name}: skipped after {GIVE_UP_AFTER} failures in a row")
                continue
            req = Request(symbol, kind, start_for(provider, symbol), end)
            try:
                payloads.append(provider.fetch(fetcher, req))
                failures_in_a_row[name] = 0
                break
            except NotServedError as exc:
                problems.append(f"{name}: {exc}")
            except PayloadError as exc:
                if getattr(exc, "payload", None) is not None:
                    rejected.append(exc.payload)  # type: ignore[attr-defined]
                problems.append(f"{name}: {exc}")
                failures_in_a_row[name] += 1
            except FetchError as exc:
                problems.append(f"{name}: {exc}")
                failures_in_a_row[name] += 1
        else:
            notes.append(f"{symbol}: no provider served it ({'; '.join(problems)})")
            continue
        if problems:
            notes.append(f"{symbol}: from a fallback provider ({'; '.join(problems)})")
    return payloads, notes


def live(ctx: LiveContext) -> tuple[list[Payload], list[str]]:
    """Daily run: every universe symbol, paced per provider, with a trailing overlap for restatements."""
    providers = provider_order()
    if not providers:
        raise FetchError("prices: no usable provider (FLOWSCOPE_PRICE_PROVIDERS)")
    symbols = universe_symbols(universe(ctx.settings))

    def start_for(provider: Provider, symbol: str) -> date:
        last = ctx.latest(provider.latest_where(symbol))
        if last:
            return last - timedelta(days=OVERLAP_DAYS)
        try:
            return ctx.as_of.replace(year=ctx.as_of.year - FIRST_RUN_YEARS)
        except ValueError:  # 29 February
            return ctx.as_of.replace(year=ctx.as_of.year - FIRST_RUN_YEARS, day=28)

    with ctx.make_client(ctx.settings) as http:
        fetchers = {p.name: (p, ctx.fetcher(http, min_interval_s=p.min_interval_s)) for p in providers}
        payloads, notes = fetch_symbols(fetchers, symbols, start_for, ctx.as_of, ctx.rejected)
    if not payloads:
        raise FetchError("prices: no provider served any symbol: " + " | ".join(notes))
    return payloads, notes
