"""The daily Prefect flow under prefect_test_harness: live (mocked transport) and offline replay."""

from __future__ import annotations

import json
import shutil
from datetime import date

import httpx
import pytest

from flows import pipeline
from flows.http import Fetcher, RetryPolicy
from flows.warehouse import connect_read
from tests.helpers import cboe_day_json, socrata_rows, tff_line, tff_text

AS_OF = date(2026, 8, 7)  # a Friday
PAIR = ["cftc_tff", "cboe_putcall"]


@pytest.fixture
def mock_network(monkeypatch):  # type: ignore[no-untyped-def]
    calls: list[str] = []
    state = {"cftc_status": 200}

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        host, path = request.url.host, request.url.path
        if host == "publicreporting.cftc.gov":
            if state["cftc_status"] != 200:
                return httpx.Response(state["cftc_status"])
            return httpx.Response(200, json=socrata_rows(), headers={"content-type": "application/json"})
        if host == "www.cftc.gov":
            return httpx.Response(404, text="not found")
        if host == "cdn.cboe.com":
            day = path.rsplit("/", 1)[-1][:10]
            if day == "2026-08-07":  # not posted yet at run time
                return httpx.Response(403, text="<Error><Code>AccessDenied</Code></Error>")
            return httpx.Response(200, json=cboe_day_json(10000, 9000 + int(day[-2:])))
        return httpx.Response(599)

    def client(settings=None, *, headers=None, transport=None):  # type: ignore[no-untyped-def]
        return httpx.Client(transport=httpx.MockTransport(handler), headers=headers)

    def fast_fetcher(client, **kw):  # type: ignore[no-untyped-def]
        kw.pop("policy", None)
        return Fetcher(client, policy=RetryPolicy(attempts=2, base_s=0.0), sleep=lambda s: None, **kw)

    monkeypatch.setattr(pipeline, "make_client", client)
    monkeypatch.setattr(pipeline, "Fetcher", fast_fetcher)
    return calls, state


def test_daily_live_loads_each_dataset_and_a_failure_does_not_stop_the_others(prefect_harness, warehouse, mock_network):  # type: ignore[no-untyped-def]
    from flows.daily import daily

    _calls, state = mock_network
    rows = {r["dataset"]: r for r in daily(as_of=AS_OF, datasets=PAIR, charts=False)}
    assert rows["cftc_tff"]["outcome"] == "ok" and rows["cftc_tff"]["rows_new"] == 2
    assert rows["cboe_putcall"]["outcome"] == "ok"
    assert "not published yet: 2026-08-07" in rows["cboe_putcall"]["message"]
    con = connect_read(warehouse)
    src = con.execute("select distinct available_at_source from raw.cftc__tff").fetchall()
    days = con.execute("select count(distinct trade_date) from analytics.put_call").fetchone()[0]
    con.close()
    assert src and days == 10  # 14 calendar days back, trading days 07-24..08-06

    # the next run: the CFTC API is down (and the zip fallback 404s); Cboe goes on.
    state["cftc_status"] = 503
    before = connect_read(warehouse).execute("select * from raw.cftc__tff order by all").fetchall()
    rows = {r["dataset"]: r for r in daily(as_of=AS_OF, datasets=PAIR, charts=False)}
    assert rows["cftc_tff"]["outcome"] == "failed" and "HTTP 404" in rows["cftc_tff"]["message"]
    assert rows["cboe_putcall"]["outcome"] in ("ok", "unchanged")
    assert connect_read(warehouse).execute("select * from raw.cftc__tff order by all").fetchall() == before


def test_daily_offline_rebuilds_a_new_warehouse_from_the_raw_store(prefect_harness, warehouse, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    from flows.daily import daily

    src = tmp_path / "FinFut26.txt"
    src.write_bytes(tff_text([tff_line("209742", "2026-07-28", 294781), tff_line("209742", "2026-08-04", 303624)]))
    pipeline.import_paths("cftc_tff", [src])
    rows = daily(as_of=AS_OF, datasets=PAIR, offline=True)
    outcomes = {r["dataset"]: r["outcome"] for r in rows}
    expected = {"cftc_tff": "unchanged", "cboe_putcall": "empty", "signals": "ok", "charts": "ok"}
    assert outcomes == expected, [r["message"] for r in rows]
    # the charts are the last step: the report page of the day and one chart's three formats
    day_dir = warehouse.exports_dir / AS_OF.isoformat()
    assert (day_dir / "index.html").stat().st_size > 100_000  # Vega inlined
    assert {p.suffix for p in day_dir.glob("cot_positioning.*")} == {".png", ".svg", ".json"}

    new_dir = tmp_path / "rebuilt"
    shutil.copytree(warehouse.raw_dir, new_dir / "raw")
    monkeypatch.setenv("FLOWSCOPE_WAREHOUSE", str(new_dir / "flowscope.duckdb"))
    # an as-of before the newest row: the replay judges each payload by the day it was received
    rows = {r["dataset"]: r for r in daily(as_of=date(2026, 8, 1), datasets=["cftc_tff"], offline=True, charts=False)}
    assert rows["cftc_tff"]["outcome"] == "ok" and rows["cftc_tff"]["rows_new"] == 2
    con = connect_read()
    assert con.execute("select count(*) from analytics.cot_positioning").fetchone() == (2,)
    con.close()


def test_daily_refuses_unknown_datasets(prefect_harness, warehouse):  # type: ignore[no-untyped-def]
    from flows.daily import daily
    from flows.errors import FlowscopeError

    with pytest.raises(FlowscopeError, match="unknown datasets"):
        daily(as_of=AS_OF, datasets=["nope"])


def test_summary_is_published_as_a_table_artifact(prefect_harness, warehouse, mock_network):  # type: ignore[no-untyped-def]
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.daily import daily

    daily(as_of=AS_OF, datasets=["cftc_tff"], charts=False)
    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["daily-summary"])))
    assert arts and arts[-1].type == "table"
    data = arts[-1].data if isinstance(arts[-1].data, list) else json.loads(arts[-1].data)
    assert any(r["dataset"] == "cftc_tff" for r in data)


def test_a_second_daily_while_one_runs_exits_at_once_with_the_pid(prefect_harness, warehouse):  # type: ignore[no-untyped-def]
    import time

    from typer.testing import CliRunner

    from flows.cli import app
    from tests.helpers import hold_writer_lock

    first = hold_writer_lock(str(warehouse.warehouse_path))  # "the first daily" holds the warehouse
    try:
        t0 = time.monotonic()
        res = CliRunner().invoke(app, ["daily", "--offline", "--as-of", "2026-08-07"])
        took = time.monotonic() - t0
    finally:
        first.kill()
        first.wait()
    assert res.exit_code == 1
    assert f"already running (pid {first.pid})" in res.stderr
    assert "Traceback" not in res.stderr and took < 30
