"""Live price providers on recorded payloads (httpx.MockTransport; no network, no real sleeping).

Recorded bodies are the fixtures of ``tests/fixtures/prices/``: a Cboe delayed-quotes JSON, a
Nasdaq historical JSON and its rCode 400 answer, and a Stooq-style proof-of-work HTML page (what a
bot-protected host answers with HTTP 200).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import httpx
import pytest

from flows import loader
from flows.config import get_settings
from flows.errors import FetchError
from flows.http import Fetcher, RetryPolicy, make_client
from flows.sources.live import LiveContext
from flows.sources.prices import providers
from flows.sources.prices.daily import SPEC, parse
from flows.warehouse import connect_write
from tests.conftest import REPO, fixture_bytes
from tests.helpers import payload

AS_OF = date(2024, 6, 21)
CBOE = "cdn.cboe.com"
NASDAQ = "api.nasdaq.com"


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s

    def clock(self) -> float:
        return self.now


def cboe_body(symbol: str) -> bytes:
    doc = json.loads(fixture_bytes("prices", "cboe_NVDA_historical.json"))
    doc["symbol"] = symbol
    return json.dumps(doc).encode()


def nasdaq_body(symbol: str) -> bytes:
    doc = json.loads(fixture_bytes("prices", "nasdaq_SPY_historical.json"))
    doc["data"]["symbol"] = symbol
    return json.dumps(doc).encode()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    cfg = tmp_path / "config"
    cfg.mkdir()
    (cfg / "universe.yaml").write_text("tickers: [NVDA, AMD]\netfs: [SMH]\nmarket: SPY\n")
    shutil.copy(REPO / "config" / "calendar.yaml", cfg / "calendar.yaml")
    monkeypatch.setenv("FLOWSCOPE_CONFIG_DIR", str(cfg))
    monkeypatch.setenv("FLOWSCOPE_WAREHOUSE", str(tmp_path / "wh" / "flowscope.duckdb"))
    monkeypatch.delenv("FLOWSCOPE_PRICE_PROVIDERS", raising=False)
    return get_settings()


def run_live(env, handler: Callable[[httpx.Request], httpx.Response], fake: FakeTime, con=None):  # type: ignore[no-untyped-def]
    requests: list[httpx.Request] = []

    def record(req: httpx.Request) -> httpx.Response:
        requests.append(req)
        return handler(req)

    transport = httpx.MockTransport(record)
    own = con is None
    con = con or connect_write(env)
    ctx = LiveContext(
        SPEC,
        con,
        AS_OF,
        env,
        lambda settings, headers=None: make_client(settings, headers=headers, transport=transport),
        lambda client, **kw: Fetcher(
            client, sleep=fake.sleep, clock=fake.clock, rng=lambda: 0.0, policy=RetryPolicy(attempts=2), **kw
        ),
    )
    try:
        payloads, notes = providers.live(ctx)
    finally:
        if own:
            con.close()
    return payloads, notes, requests, ctx.rejected


def symbol_of(req: httpx.Request) -> str:
    return req.url.path.rsplit("/", 1)[-1].removesuffix(".json") if CBOE in str(req.url) else req.url.path.split("/")[3]


def test_cboe_serves_every_universe_symbol_paced_at_0_4_per_second(env):  # type: ignore[no-untyped-def]
    fake = FakeTime()
    payloads, notes, reqs, rejected = run_live(
        env, lambda r: httpx.Response(200, content=cboe_body(symbol_of(r))), fake
    )
    assert [str(r.url) for r in reqs] == [
        f"https://cdn.cboe.com/api/global/delayed_quotes/charts/historical/{s}.json"
        for s in ("NVDA", "AMD", "SMH", "SPY")
    ]
    assert [p.hints["symbol"] for p in payloads] == ["NVDA", "AMD", "SMH", "SPY"] and all(p.live for p in payloads)
    assert fake.sleeps == [2.5, 2.5, 2.5]  # <= 0.4 requests a second
    assert notes == [] and rejected == []
    assert set(parse(payloads[1]).frame["symbol"]) == {"AMD"}


def test_cboe_403_falls_back_to_nasdaq_with_its_headers_and_asset_class(env):  # type: ignore[no-untyped-def]
    def handler(req: httpx.Request) -> httpx.Response:
        if CBOE in str(req.url):
            return httpx.Response(403, content=b"<?xml version='1.0'?><Error><Code>AccessDenied</Code></Error>")
        return httpx.Response(200, content=nasdaq_body(symbol_of(req)))

    payloads, notes, reqs, _ = run_live(env, handler, FakeTime())
    nas = [r for r in reqs if NASDAQ in str(r.url)]
    assert [(symbol_of(r), r.url.params["assetclass"]) for r in nas] == [
        ("NVDA", "stocks"), ("AMD", "stocks"), ("SMH", "etf"), ("SPY", "etf")
    ]  # fmt: skip
    assert (
        nas[0].headers["Referer"] == "https://www.nasdaq.com/" and nas[0].headers["Origin"] == "https://www.nasdaq.com"
    )
    assert "Mozilla" in nas[0].headers["User-Agent"]
    # empty warehouse: 10 years back to the run date
    assert (nas[0].url.params["fromdate"], nas[0].url.params["todate"]) == ("2014-06-21", "2024-06-21")
    assert len(payloads) == 4 and all("from a fallback provider" in n and "HTTP 403" in n for n in notes)


def test_nasdaq_window_overlaps_the_newest_stored_bar_by_30_days(env):  # type: ignore[no-untyped-def]
    monkey = pytest.MonkeyPatch()
    monkey.setenv("FLOWSCOPE_PRICE_PROVIDERS", "nasdaq")
    con = connect_write(env)
    try:
        stored = payload("prices", nasdaq_body("NVDA"), "https://api.nasdaq.com/api/quote/NVDA/historical")
        loader.ingest(con, SPEC, [stored], env.raw_dir, load_date=AS_OF)  # NVDA nasdaq bars to 2024-06-07
        _, _, reqs, _ = run_live(env, lambda r: httpx.Response(200, content=nasdaq_body(symbol_of(r))), FakeTime(), con)
    finally:
        con.close()
        monkey.undo()
    starts = {symbol_of(r): r.url.params["fromdate"] for r in reqs}
    assert starts["NVDA"] == "2024-05-08"  # 2024-06-07 - 30 days: restated bars come again
    assert starts["AMD"] == "2014-06-21"


def test_nasdaq_rcode_400_asks_again_with_the_other_asset_class(env, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FLOWSCOPE_PRICE_PROVIDERS", "nasdaq")

    def handler(req: httpx.Request) -> httpx.Response:
        if symbol_of(req) == "SMH" and req.url.params["assetclass"] == "etf":
            return httpx.Response(200, content=fixture_bytes("prices", "nasdaq_rcode400.json"))
        return httpx.Response(200, content=nasdaq_body(symbol_of(req)))

    payloads, notes, reqs, _ = run_live(env, handler, FakeTime())
    assert [r.url.params["assetclass"] for r in reqs if symbol_of(r) == "SMH"] == ["etf", "stocks"]
    assert len(payloads) == 4 and notes == []


def test_html_challenge_with_200_is_kept_as_rejected_and_the_next_provider_serves(env):  # type: ignore[no-untyped-def]
    html = fixture_bytes("prices", "stooq_proof_of_work.html")

    def handler(req: httpx.Request) -> httpx.Response:
        if CBOE in str(req.url) and symbol_of(req) == "AMD":
            return httpx.Response(200, content=html, headers={"Content-Type": "text/html"})
        if CBOE in str(req.url):
            return httpx.Response(200, content=cboe_body(symbol_of(req)))
        return httpx.Response(200, content=nasdaq_body(symbol_of(req)))

    payloads, notes, _, rejected = run_live(env, handler, FakeTime())
    assert [(p.hints["symbol"], "nasdaq" in p.origin) for p in payloads] == [
        ("NVDA", False), ("AMD", True), ("SMH", False), ("SPY", False)
    ]  # fmt: skip
    assert [r.content for r in rejected] == [html]
    assert len(notes) == 1 and notes[0].startswith("AMD: from a fallback provider (cboe:") and "HTML" in notes[0]


def test_429_with_retry_after_is_waited_then_retried(env, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FLOWSCOPE_PRICE_PROVIDERS", "cboe")
    calls = {"n": 0}

    def handler(req: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(429, headers={"Retry-After": "7"})
        return httpx.Response(200, content=cboe_body(symbol_of(req)))

    fake = FakeTime()
    payloads, _, reqs, _ = run_live(env, handler, fake)
    assert len(payloads) == 4 and len(reqs) == 5 and 7.0 in fake.sleeps


def test_a_provider_failing_three_times_in_a_row_is_skipped_for_the_run(env):  # type: ignore[no-untyped-def]
    def handler(req: httpx.Request) -> httpx.Response:
        if CBOE in str(req.url):
            return httpx.Response(503)
        return httpx.Response(200, content=nasdaq_body(symbol_of(req)))

    payloads, notes, reqs, _ = run_live(env, handler, FakeTime())
    cboe_symbols = [symbol_of(r) for r in reqs if CBOE in str(r.url)]
    assert cboe_symbols == ["NVDA", "NVDA", "AMD", "AMD", "SMH", "SMH"]  # 2 attempts each, then SPY skips cboe
    assert len(payloads) == 4 and "skipped after 3 failures in a row" in notes[-1]


def test_no_provider_serving_anything_is_an_error_naming_each_failure(env):  # type: ignore[no-untyped-def]
    with pytest.raises(FetchError, match=r"no provider served any symbol: NVDA: no provider served it \(cboe: .*404"):
        run_live(env, lambda r: httpx.Response(404), FakeTime())


def test_unknown_provider_name_is_refused(env, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FLOWSCOPE_PRICE_PROVIDERS", "cboe,stooq")
    with pytest.raises(FetchError, match="unknown providers \\['stooq'\\]"):
        run_live(env, lambda r: httpx.Response(404), FakeTime())
