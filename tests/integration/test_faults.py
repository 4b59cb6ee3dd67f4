"""Issue [2/5 Gate]: every fault gets a test that injects it and checks the contract:
a clear one-line error naming the dataset and the file or URL; the warehouse unchanged for that
dataset; the payload kept (raw store and, when refused, quarantine); the other datasets loaded.

Fetch faults go through ``pipeline.run_dataset`` (what each task of the daily flow runs) with an
httpx MockTransport in place of the network; file faults go through ``pipeline.import_paths``.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from datetime import date
from io import BytesIO
from pathlib import Path

import httpx
import pytest

from flows import pipeline
from flows.http import Fetcher, RetryPolicy
from flows.quarantine import quarantined
from flows.raw_store import iter_raw
from flows.warehouse import connect_read
from tests.helpers import cboe_day_json, socrata_rows, tff_line, tff_text

AS_OF = date(2026, 8, 7)
API = "publicreporting.cftc.gov"

Handler = Callable[[httpx.Request], httpx.Response]


class Net:
    """Programmable fake network: per-host handlers, request log, recorded backoff waits."""

    def __init__(self) -> None:
        self.hosts: dict[str, Handler] = {}
        self.requests: list[httpx.Request] = []
        self.waits: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        handler = self.hosts.get(request.url.host)
        return handler(request) if handler else httpx.Response(404, text="no such host in the test")

    def count(self, host: str) -> int:
        return sum(1 for r in self.requests if r.url.host == host)


def good_api(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=socrata_rows(), headers={"content-type": "application/json"})


def good_cboe(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("2026-08-07_daily_options"):
        return httpx.Response(403, text="<Error><Code>AccessDenied</Code></Error>")
    return httpx.Response(200, json=cboe_day_json())


@pytest.fixture
def net(monkeypatch: pytest.MonkeyPatch) -> Net:
    n = Net()
    n.hosts = {API: good_api, "cdn.cboe.com": good_cboe}

    def client(settings=None, *, headers=None, transport=None):  # type: ignore[no-untyped-def]
        return httpx.Client(transport=httpx.MockTransport(n), headers=headers)

    def fetcher(client, **kw):  # type: ignore[no-untyped-def]
        kw.pop("policy", None)
        kw["min_interval_s"] = 0.0
        return Fetcher(client, policy=RetryPolicy(attempts=3, base_s=0.01), sleep=n.waits.append, **kw)

    monkeypatch.setattr(pipeline, "make_client", client)
    monkeypatch.setattr(pipeline, "Fetcher", fetcher)
    return n


def table_digest(table: str) -> str:
    con = connect_read()
    try:
        return hashlib.sha256(repr(con.execute(f"select * from {table} order by all").fetchall()).encode()).hexdigest()
    finally:
        con.close()


def run_both(net: Net):  # type: ignore[no-untyped-def]
    """What the daily flow does: each dataset independently."""
    return {n: pipeline.run_dataset(n, AS_OF, offline=False) for n in ("cftc_tff", "cboe_putcall")}


@pytest.fixture
def seeded(warehouse, net):  # type: ignore[no-untyped-def]
    """A warehouse holding one good CFTC run, so 'unchanged' is a real comparison."""
    first = pipeline.run_dataset("cftc_tff", AS_OF, offline=False)
    assert first.outcome == "ok"
    return warehouse


def assert_cftc_refused(out, seeded, before: str, *, words: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    cftc, cboe = out["cftc_tff"], out["cboe_putcall"]
    assert cftc.outcome in ("failed", "quarantined")
    line = cftc.message
    assert "cftc_tff" in line and ("http" in line or ".txt" in line or ".zip" in line), line
    for w in words:
        assert w in line, (w, line)
    assert table_digest("raw.cftc__tff") == before
    assert cboe.outcome == "ok" and cboe.rows_new == 6 * 10  # the other dataset loaded: 10 trading days


# ---- 1-4: transport faults and retries -------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (httpx.ConnectTimeout("timed out"), ("connect timeout", "after 3 attempts")),
        (httpx.ReadTimeout("timed out"), ("read timeout", "after 3 attempts")),
    ],
    ids=["1-connect-timeout", "2-read-timeout"],
)
def test_timeouts_fail_the_dataset_cleanly(seeded, net, exc, words):  # type: ignore[no-untyped-def]
    before = table_digest("raw.cftc__tff")

    def boom(request: httpx.Request) -> httpx.Response:
        raise exc

    net.hosts[API] = boom
    net.hosts["www.cftc.gov"] = boom
    out = run_both(net)
    assert_cftc_refused(out, seeded, before, words=words)
    assert "https://www.cftc.gov/files/dea/history/fut_fin_txt_2026.zip" in out["cftc_tff"].message
    assert len(out["cftc_tff"].message.splitlines()) == 1


def test_429_with_retry_after_waits_then_loads(warehouse, net):  # type: ignore[no-untyped-def]
    answers = iter([httpx.Response(429, headers={"Retry-After": "7"})])
    net.hosts[API] = lambda r: next(answers, None) or good_api(r)
    res = pipeline.run_dataset("cftc_tff", AS_OF, offline=False)
    assert res.outcome == "ok" and res.rows_new == 2
    assert net.waits == [7.0] and net.count(API) == 2


def test_429_asking_too_long_gives_up_cleanly(seeded, net):  # type: ignore[no-untyped-def]
    before = table_digest("raw.cftc__tff")
    net.hosts[API] = lambda r: httpx.Response(429, headers={"Retry-After": "86400"})
    out = run_both(net)
    assert_cftc_refused(out, seeded, before, words=("server asks to wait 86400 s",))


def test_500_then_503_then_success_is_retried_and_loaded_once(warehouse, net):  # type: ignore[no-untyped-def]
    answers = iter([httpx.Response(500), httpx.Response(503)])
    net.hosts[API] = lambda r: next(answers, None) or good_api(r)
    res = pipeline.run_dataset("cftc_tff", AS_OF, offline=False)
    assert res.outcome == "ok" and net.count(API) == 3
    con = connect_read()
    loads = con.execute("select count(*), sum(rows_new) from meta.loads where dataset = 'cftc_tff'").fetchone()
    con.close()
    assert loads == (1, 2)


# ---- 5: Cboe not-published days ---------------------------------------------------------------


def test_cboe_403_404_days_are_not_errors(warehouse, net):  # type: ignore[no-untyped-def]
    missing = {"2026-07-31": 404, "2026-08-03": 403, "2026-08-07": 403}

    def cboe(request: httpx.Request) -> httpx.Response:
        day = request.url.path.rsplit("/", 1)[-1][:10]
        return httpx.Response(missing[day]) if day in missing else httpx.Response(200, json=cboe_day_json())

    net.hosts["cdn.cboe.com"] = cboe
    res = pipeline.run_dataset("cboe_putcall", AS_OF, offline=False)
    assert res.outcome == "ok"
    assert "not published yet: 2026-07-31, 2026-08-03, 2026-08-07" in res.message


def test_cboe_five_missing_trading_days_in_a_row_is_an_error(seeded, net):  # type: ignore[no-untyped-def]
    net.hosts["cdn.cboe.com"] = lambda r: httpx.Response(403, text="<Error><Code>AccessDenied</Code></Error>")
    before = table_digest("raw.cboe__put_call")
    res = pipeline.run_dataset("cboe_putcall", AS_OF, offline=False)
    assert res.outcome == "failed"
    assert res.message.startswith("cboe_putcall: no daily file for 5 trading days in a row")
    assert "https://cdn.cboe.com/data/us/options/market_statistics/daily/" in res.message
    assert table_digest("raw.cboe__put_call") == before


# ---- 6-8: bodies that are not data -------------------------------------------------------------

HTML_PAGE = b"<!DOCTYPE html><html><head><title>Site Maintenance</title></head><body>Back soon</body></html>"


@pytest.mark.parametrize(
    ("body", "ctype", "words"),
    [
        (HTML_PAGE, "text/html", ("expected JSON, got text/html",)),
        (json.dumps(socrata_rows()).encode()[:-25], "application/json", ("truncated or invalid JSON",)),
        (b"", "application/json", ("empty body",)),
    ],
    ids=["6-html-200", "7-truncated", "8-empty"],
)
def test_bad_bodies_are_kept_and_refused(seeded, net, body, ctype, words):  # type: ignore[no-untyped-def]
    before = table_digest("raw.cftc__tff")
    net.hosts[API] = lambda r: httpx.Response(200, content=body, headers={"content-type": ctype})
    out = run_both(net)
    assert_cftc_refused(out, seeded, before, words=words)
    sha = hashlib.sha256(body).hexdigest()
    assert sha in quarantined(seeded.quarantine_dir, "cftc_tff")  # kept for inspection
    assert any(p.name.startswith(sha) for p in iter_raw(seeded.raw_dir, "cftc_tff"))


def test_html_page_for_a_cboe_day_is_quarantined_and_nothing_of_the_run_loads(seeded, net):  # type: ignore[no-untyped-def]
    def cboe(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("2026-08-05_daily_options"):
            return httpx.Response(200, content=HTML_PAGE, headers={"content-type": "text/html"})
        return good_cboe(request)

    net.hosts["cdn.cboe.com"] = cboe
    before = table_digest("raw.cboe__put_call")
    res = pipeline.run_dataset("cboe_putcall", AS_OF, offline=False)
    assert res.outcome == "quarantined"
    bad = [r for r in res.results if r.outcome == "quarantined"]
    assert len(bad) == 1 and "2026-08-05_daily_options" in bad[0].origin
    assert "HTML" in bad[0].message and "Site Maintenance" in bad[0].message
    assert table_digest("raw.cboe__put_call") == before


# ---- 9-17: files ------------------------------------------------------------------------------


def tff_bytes() -> bytes:
    return tff_text([tff_line("209742", "2026-07-28", 294781), tff_line("209742", "2026-08-04", 303624)])


def import_one(tmp_path: Path, dataset: str, name: str, content: bytes, **kw):  # type: ignore[no-untyped-def]
    f = tmp_path / name
    f.write_bytes(content)
    return pipeline.import_paths(dataset, [f], **kw)[0]


@pytest.mark.parametrize(
    "variant",
    [
        lambda b: b"\xef\xbb\xbf" + b,
        lambda b: b.decode("latin-1").encode("utf-16"),
        lambda b: b.replace(b"\n", b"\r\n"),
    ],
    ids=["9-bom", "9-utf16", "9-crlf"],
)
def test_encoding_and_line_ending_variants_load_identically(warehouse, tmp_path, variant):  # type: ignore[no-untyped-def]
    res = import_one(tmp_path, "cftc_tff", "FinFut26.txt", variant(tff_bytes()))
    assert res.outcome == "loaded" and res.rows_new == 2
    plain = import_one(tmp_path, "cftc_tff", "plain.txt", tff_bytes())
    assert plain.outcome == "unchanged" and plain.rows_unchanged == 2  # same rows, same values


def refused(res, name: str, *words: str) -> None:  # type: ignore[no-untyped-def]
    assert res.outcome == "quarantined", res
    line = res.summary()
    assert line.startswith(f"{res.dataset}: ") and name in line and "\n" not in line
    for w in words:
        assert w in line, (w, line)


def test_10_renamed_column_is_schema_drift(warehouse, tmp_path):  # type: ignore[no-untyped-def]
    before = table_digest("raw.cftc__tff")
    body = tff_bytes().replace(b'"Open_Interest_All"', b'"Open_Interest_Total"', 1)
    res = import_one(tmp_path, "cftc_tff", "drift.txt", body)
    refused(res, "drift.txt", "missing required columns", "open_interest")
    assert table_digest("raw.cftc__tff") == before


def test_10_missing_column_in_cboe_archive_is_refused(warehouse, tmp_path):  # type: ignore[no-untyped-def]
    body = b"DATE,CALL,TOTAL,P/C Ratio\n11/1/2006,297253,667626,1.25\n"
    refused(import_one(tmp_path, "cboe_putcall", "indexpc.csv", body), "indexpc.csv", "lacks the ['put'] column")


def test_11_extra_unknown_column_loads_with_a_warning(warehouse, tmp_path):  # type: ignore[no-untyped-def]
    body = b"date,segment,put_call_ratio,call_volume,put_volume,vendor_note\n2024-01-05,equity,0.61,100,61,x\n"
    res = import_one(tmp_path, "cboe_putcall", "vendor.csv", body)
    assert res.outcome == "loaded" and res.rows_new == 1
    assert any("unknown extra columns ['vendor_note']" in w for w in res.warnings)


def test_12_same_key_twice_with_different_values_is_refused(warehouse, tmp_path):  # type: ignore[no-untyped-def]
    body = b"date,segment,put_call_ratio\n2024-01-05,equity,0.61\n2024-01-05,equity,0.72\n"
    res = import_one(tmp_path, "cboe_putcall", "dupes.csv", body)
    refused(res, "dupes.csv", "same key appears with different values")
    con = connect_read()
    assert con.execute("select count(*) from raw.cboe__put_call").fetchone() == (0,)
    con.close()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"date,segment,put_call_ratio\n2024-01-05,equity,-1\n", ("ratios outside (0, 10)", "-1.0")),
        (
            b"date,segment,put_call_ratio,call_volume,put_volume\n2024-01-05,equity,0.6,lots,61\n",
            ("text where a number belongs", "'lots'"),
        ),
    ],
    ids=["13-ratio-minus-one", "13-text-for-number"],
)
def test_13_out_of_range_values_are_refused(warehouse, tmp_path, body, words):  # type: ignore[no-untyped-def]
    refused(import_one(tmp_path, "cboe_putcall", "bad.csv", body), "bad.csv", *words)


def test_13_negative_position_is_refused_by_the_suite(warehouse, tmp_path):  # type: ignore[no-untyped-def]
    body = tff_text([tff_line("209742", "2026-08-04", 303624, am_long=-5)])
    res = import_one(tmp_path, "cftc_tff", "neg.txt", body)
    refused(res, "neg.txt", "suite raw__cftc__tff", "asset_mgr_long_contracts")
    reason = quarantined(warehouse.quarantine_dir, "cftc_tff")[res.sha256]
    failed = {f["column"] for f in reason["validation"]["failures"]}
    assert "asset_mgr_long_contracts" in failed


def test_14_dates_after_the_load_date_are_refused(warehouse, tmp_path):  # type: ignore[no-untyped-def]
    res = import_one(tmp_path, "cftc_tff", "future.txt", tff_bytes(), load_date=date(2026, 8, 1))
    refused(res, "future.txt", "after the load date 2026-08-01")


def test_15_a_zip_that_is_not_a_zip_is_refused(warehouse, tmp_path):  # type: ignore[no-untyped-def]
    refused(import_one(tmp_path, "cftc_tff", "fut_fin_txt_2026.zip", HTML_PAGE), "fut_fin_txt_2026.zip", "not a zip")
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("FinFut26.txt", tff_bytes())
    assert import_one(tmp_path, "cftc_tff", "fut_fin_txt_2026b.zip", buf.getvalue()).outcome == "loaded"


def test_16_contract_renamed_mid_history_is_one_series(warehouse, tmp_path):  # type: ignore[no-untyped-def]
    old = "NASDAQ-100 STOCK INDEX (MINI) - CHICAGO MERCANTILE EXCHANGE"
    body = tff_text([tff_line("209742", "2022-02-01", 239334, name=old), tff_line("209742", "2022-02-08", 233767)])
    assert import_one(tmp_path, "cftc_tff", "rename.txt", body).rows_new == 2
    con = connect_read()
    rows = con.execute("select contract_code, count(*) from analytics.cot_positioning group by 1").fetchall()
    con.close()
    assert rows == [("209742", 2)]


def test_17_revised_past_week_keeps_both_versions_and_views_show_the_latest(warehouse, tmp_path):  # type: ignore[no-untyped-def]
    import_one(tmp_path, "cftc_tff", "first.txt", tff_bytes())
    revised = tff_text([tff_line("209742", "2026-07-28", 294781, lev_short=95)])
    res = import_one(tmp_path, "cftc_tff", "revised.txt", revised)
    assert (res.rows_revised, res.rows_new) == (1, 0)
    con = connect_read()
    versions = con.execute(
        "select version, lev_funds_short_contracts from raw.cftc__tff where report_date = '2026-07-28' order by 1"
    ).fetchall()
    latest = con.execute(
        "select lev_funds_short_contracts, version from analytics.cot_positioning where report_date = '2026-07-28'"
    ).fetchone()
    con.close()
    assert versions == [(1, 90), (2, 95)] and latest == (95, 2)
