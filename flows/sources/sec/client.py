"""Live SEC EDGAR client: the ticker map and companyfacts per universe company (SOURCES.md §6.1, §6.5).

- ``sec_tickers``: ``GET https://www.sec.gov/files/company_tickers.json`` once a run.
- ``sec_facts``: ``GET https://data.sec.gov/api/xbrl/companyfacts/CIK##########.json`` for each
  ticker of ``config/universe.yaml`` (CIK from ``raw.sec__tickers``; the ticker map is fetched when
  a ticker is not there yet). The whole history comes back each time; unchanged facts load as
  "unchanged", new filings as new rows.

SEC fair-access rules, enforced here:
- a declared ``User-Agent`` with a contact e-mail on every request: ``FLOWSCOPE_SEC_USER_AGENT``, else
  ``sec_contact`` in ``config/universe.yaml``; never the browser-like UA other hosts get (a run
  without one fails with a ``ConfigError`` before any request);
- at most 10 requests a second: one request every ``MIN_INTERVAL_S`` (0.12 s, ~8/s, a margin for
  clock jitter) through ``flows.http.Fetcher``, which also retries 429/5xx with backoff;
- ``Accept-Encoding: gzip, deflate`` (httpx decompresses);
- HTTP 403 is rate limiting or a block, not "not published": SEC answers "Request Rate Threshold
  Exceeded" / "Undeclared Automated Tool" and blocks the client for about 10 minutes, longer while
  requests continue, so the run stops at once with a ``FetchError`` saying so (no retry).
A 404 for one CIK (no XBRL financial data, e.g. a fund) is a note; the other companies go on. An
HTML page served with 200 is refused before parsing (kept in quarantine), the others go on.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime

import duckdb
import httpx

from flows.config import Settings, universe
from flows.errors import ConfigError, FetchError
from flows.http import Fetcher
from flows.sources.base import Payload
from flows.sources.live import LiveContext
from flows.sources.sec.facts import COMPANYFACTS_URL, normalise_cik
from flows.sources.sec.tickers import TICKERS_URL
from flows.sources.sec.tickers import parse as parse_tickers

MIN_INTERVAL_S = 0.12
RATE_LIMIT_MARKERS = ("Request Rate Threshold Exceeded", "Undeclared Automated Tool")
UA_ENV = "FLOWSCOPE_SEC_USER_AGENT"


def sec_user_agent(settings: Settings | None = None) -> str:
    """The declared User-Agent SEC requires: env ``FLOWSCOPE_SEC_USER_AGENT``, else ``sec_contact``
    of ``config/universe.yaml``; it must carry a contact e-mail address."""
    ua = (os.environ.get(UA_ENV) or str(universe(settings).get("sec_contact") or "")).strip()
    if "@" not in ua:
        raise ConfigError(
            "SEC requires a declared User-Agent with a contact e-mail (e.g. 'flowscope research "
            f"you@example.org'): set sec_contact in config/universe.yaml or {UA_ENV}" + (f" (got {ua!r})" if ua else "")
        )
    return ua


def sec_headers(settings: Settings | None = None) -> dict[str, str]:
    return {"User-Agent": sec_user_agent(settings), "Accept-Encoding": "gzip, deflate", "Accept": "application/json"}


def _looks_like_json(content: bytes) -> bool:
    return content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")


def get(fetcher: Fetcher, url: str) -> httpx.Response:
    """GET with SEC's 403 read as rate limiting (or a block): a clear ``FetchError``, no retry."""
    resp = fetcher.request("GET", url, passthrough=(403, 404))
    if resp.status_code == 403:
        body = resp.text[:4000]
        ua = fetcher.client.headers.get("User-Agent", "")
        if any(m.lower() in body.lower() for m in RATE_LIMIT_MARKERS):
            raise FetchError(
                f"{fetcher.dataset}: SEC rate limiting at {url}: HTTP 403 'Request Rate Threshold Exceeded'. "
                "SEC blocks the client for about 10 minutes and longer while requests continue: stopped this "
                f"run; retry later, below 10 requests/s, with a declared User-Agent (sent {ua!r})"
            )
        raise FetchError(
            f"{fetcher.dataset}: HTTP 403 Forbidden at {url}: SEC refuses undeclared or blocked clients "
            f"(sent User-Agent {ua!r}); check sec_contact / {UA_ENV}"
        )
    return resp


def fetch_ticker_map(fetcher: Fetcher, snapshot_date: str | None = None) -> Payload:
    """``company_tickers.json`` as a ``sec_tickers`` payload (refused bodies raise with the payload)."""
    resp = get(fetcher, TICKERS_URL)
    hints = {"snapshot_date": snapshot_date} if snapshot_date else {}
    payload = Payload("sec_tickers", resp.content, str(resp.url), datetime.now(UTC), live=True, hints=hints)
    if resp.status_code == 404 or not _looks_like_json(resp.content):
        err = FetchError(f"sec_tickers: {TICKERS_URL}: no ticker map (HTTP {resp.status_code}, not JSON)")
        err.payload = payload  # type: ignore[attr-defined]
        raise err
    return payload


def stored_ciks(con: duckdb.DuckDBPyConnection | None, tickers: Iterable[str]) -> dict[str, str]:
    """Ticker -> CIK from the latest version of ``raw.sec__tickers`` (empty without a warehouse)."""
    wanted = [t.upper() for t in tickers]
    if con is None or not wanted:
        return {}
    rows = con.execute(
        "select ticker, cik from raw.sec__tickers where list_contains(?::varchar[], ticker)"
        " qualify row_number() over (partition by ticker order by version desc) = 1",
        [wanted],
    ).fetchall()
    return dict(rows)


def resolve_ciks(fetcher: Fetcher, tickers: Iterable[str], known: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Ticker -> CIK for ``tickers``: ``known`` first, the live ticker map for the rest."""
    wanted = [t.upper() for t in tickers]
    out = {t: known[t] for t in wanted if t in known}
    notes: list[str] = []
    missing = [t for t in wanted if t not in out]
    if missing:
        frame = parse_tickers(fetch_ticker_map(fetcher)).frame
        found = dict(frame.filter(frame["ticker"].is_in(missing)).select("ticker", "cik").iter_rows())
        out |= found
        unknown = [t for t in missing if t not in found]
        if unknown:
            notes.append(f"not in SEC's ticker map (no SEC filer under that ticker): {', '.join(unknown)}")
    return {t: out[t] for t in wanted if t in out}, notes


def fetch_companyfacts(
    fetcher: Fetcher, ciks: dict[str, str], rejected: list[Payload] | None = None
) -> tuple[list[Payload], list[str]]:
    """One companyfacts payload per distinct CIK (hints: ticker, cik); notes for 404s and refusals."""
    payloads: list[Payload] = []
    notes: list[str] = []
    done: set[str] = set()
    for ticker, cik in ciks.items():
        cik = normalise_cik(cik)
        if cik in done:
            continue
        done.add(cik)
        url = COMPANYFACTS_URL.format(cik=cik)
        resp = get(fetcher, url)
        if resp.status_code == 404:
            notes.append(f"{ticker} (CIK {cik}): no XBRL company facts at SEC (HTTP 404)")
            continue
        payload = Payload(
            "sec_facts", resp.content, str(resp.url), datetime.now(UTC), live=True, hints={"ticker": ticker, "cik": cik}
        )
        if not _looks_like_json(resp.content):
            if rejected is not None:
                rejected.append(payload)
            what = resp.headers.get("content-type", "no content type")
            notes.append(f"{ticker} (CIK {cik}): refused a non-JSON answer ({what}, {len(resp.content)} bytes)")
            continue
        payloads.append(payload)
    return payloads, notes


def live_facts(ctx: LiveContext) -> tuple[list[Payload], list[str]]:
    """Daily run of ``sec_facts``: companyfacts of every universe ticker."""
    tickers = [str(t) for t in universe(ctx.settings).get("tickers") or []]
    headers = sec_headers(ctx.settings)
    with ctx.make_client(ctx.settings, headers=headers) as http:
        fetcher = ctx.fetcher(http, min_interval_s=MIN_INTERVAL_S)
        ciks, notes = resolve_ciks(fetcher, tickers, stored_ciks(ctx.con, tickers))
        payloads, more = fetch_companyfacts(fetcher, ciks, ctx.rejected)
    return payloads, notes + more


def live_tickers(ctx: LiveContext) -> tuple[list[Payload], list[str]]:
    """Daily run of ``sec_tickers``: today's ticker map."""
    with ctx.make_client(ctx.settings, headers=sec_headers(ctx.settings)) as http:
        fetcher = ctx.fetcher(http, min_interval_s=MIN_INTERVAL_S)
        return [fetch_ticker_map(fetcher, ctx.as_of.isoformat())], []
