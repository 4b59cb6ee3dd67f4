"""Live FRED client on recorded payloads (httpx.MockTransport): keyless CSV without FRED_API_KEY,
the API with it (the key never stored), the trailing window, refused bodies and API errors."""

from __future__ import annotations

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
from flows.sources.fred import client
from flows.sources.fred.rates import SPEC, parse
from flows.sources.live import LiveContext
from flows.warehouse import connect_write
from tests.conftest import REPO, fixture_bytes
from tests.helpers import payload

AS_OF = date(2024, 6, 21)
KEY = "abcdef0123456789abcdef0123456789"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    cfg = tmp_path / "config"
    cfg.mkdir()
    shutil.copy(REPO / "config" / "universe.yaml", cfg / "universe.yaml")
    shutil.copy(REPO / "config" / "calendar.yaml", cfg / "calendar.yaml")
    monkeypatch.setenv("FLOWSCOPE_CONFIG_DIR", str(cfg))
    monkeypatch.setenv("FLOWSCOPE_WAREHOUSE", str(tmp_path / "wh" / "flowscope.duckdb"))
    monkeypatch.delenv("FRED_API_KEY", raising=False)
    return get_settings()


def run_live(env, handler: Callable[[httpx.Request], httpx.Response], con=None, rejected=None):  # type: ignore[no-untyped-def]
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
        lambda c, **kw: Fetcher(c, sleep=lambda s: None, policy=RetryPolicy(attempts=2), **kw),
        rejected if rejected is not None else [],
    )
    try:
        payloads, notes = client.live(ctx)
    finally:
        if own:
            con.close()
    return payloads, notes, requests, ctx.rejected


def csv_handler(req: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=fixture_bytes("fred", "DGS10_observation_date.csv"))


def test_without_a_key_the_keyless_csv_is_fetched_for_the_whole_history(env):  # type: ignore[no-untyped-def]
    payloads, notes, reqs, _ = run_live(env, csv_handler)
    assert [str(r.url) for r in reqs] == ["https://fred.stlouisfed.org/graph/fredgraph.csv?id=DGS10"]
    assert payloads[0].hints == {"series_id": "DGS10"} and payloads[0].live
    assert notes == ["FRED_API_KEY not set: keyless fredgraph CSV"]
    assert parse(payloads[0]).frame.height == 5


def test_csv_window_starts_30_days_before_the_newest_stored_date(env):  # type: ignore[no-untyped-def]
    con = connect_write(env)
    try:
        stored = payload("rates", fixture_bytes("fred", "DGS10_observation_date.csv"), "/f/DGS10.csv")
        loader.ingest(con, SPEC, [stored], env.raw_dir, load_date=AS_OF)  # newest 2024-06-20
        _, _, reqs, _ = run_live(env, csv_handler, con)
    finally:
        con.close()
    assert reqs[0].url.params["cosd"] == "2024-05-21"


def test_with_a_key_the_api_is_used_and_the_key_is_never_stored(env, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FRED_API_KEY", KEY)
    payloads, notes, reqs, _ = run_live(
        env, lambda r: httpx.Response(200, content=fixture_bytes("fred", "DGS10_api.json"))
    )
    params = reqs[0].url.params
    assert reqs[0].url.host == "api.stlouisfed.org" and reqs[0].url.path == "/fred/series/observations"
    assert (params["series_id"], params["api_key"], params["file_type"]) == ("DGS10", KEY, "json")
    assert notes == [] and KEY not in payloads[0].origin and "series_id=DGS10" in payloads[0].origin
    assert parse(payloads[0]).frame.filter(parse(payloads[0]).frame["yield_frac"].is_not_null()).height == 4


def test_api_400_is_an_error_without_the_key_in_the_message(env, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FRED_API_KEY", KEY)
    body = fixture_bytes("fred", "fred_api_error_400.json")
    with pytest.raises(FetchError, match="FRED API refused the request \\(HTTP 400\\): Bad Request") as err:
        run_live(env, lambda r: httpx.Response(400, content=body))
    assert KEY not in str(err.value)


def test_html_answer_is_refused_and_kept(env):  # type: ignore[no-untyped-def]
    html = b"<!DOCTYPE html><html><head><title>Gateway Timeout</title></head></html>"
    kept: list = []
    with pytest.raises(FetchError, match=r"no series fetched: .*DGS10: refused .*an HTML/XML page"):
        run_live(env, lambda r: httpx.Response(200, content=html), rejected=kept)
    assert [p.content for p in kept] == [html]  # the daily run quarantines what ctx.rejected holds


def test_refused_body_goes_to_rejected_and_other_series_still_load(env):  # type: ignore[no-untyped-def]
    universe = Path(env.config_dir) / "universe.yaml"
    universe.write_text(universe.read_text() + "\nfred_series: [DGS10, DGS2]\n")

    def handler(req: httpx.Request) -> httpx.Response:
        if req.url.params["id"] == "DGS2":
            return httpx.Response(200, content=b"")
        return csv_handler(req)

    payloads, notes, reqs, rejected = run_live(env, handler)
    assert [r.url.params["id"] for r in reqs] == ["DGS10", "DGS2"]
    assert [p.hints["series_id"] for p in payloads] == ["DGS10"] and len(rejected) == 1
    assert notes[-1].startswith("DGS2: refused") and "empty" in notes[-1]


def test_504_is_retried_then_reported(env):  # type: ignore[no-untyped-def]
    with pytest.raises(FetchError, match="HTTP 504 after 2 attempts"):
        run_live(env, lambda r: httpx.Response(504))
