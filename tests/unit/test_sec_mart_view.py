"""SEC datasets through the warehouse: loads rebuild ``marts.fundamentals`` (``DatasetSpec.after_load``),
``analytics.fundamentals`` honours ``as_of`` and ranks vendor rows below SEC, the load-gate suites bite.

Fixtures: ``tests/fixtures/sec/`` (see test_sec_facts_parse.py); ``vendor_fundamentals.csv`` holds
NVIDIA's quarter ending 2024-04-28 under a month-end date (2024-04-30) and four CoreWeave quarters
(values of its 10-Q/10-K filings), a company without SEC facts in the fixtures.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from flows.pipeline import import_paths
from flows.quality.gate import validate_frame
from flows.sources.base import Payload
from flows.sources.sec import facts
from flows.warehouse import connect_read
from tests.conftest import FIXTURES, fixture_bytes

SEC = FIXTURES / "sec"


def q(sql: str, as_of: str | None = None) -> pl.DataFrame:
    con = connect_read()
    try:
        if as_of:
            con.execute(f"set variable as_of = timestamptz '{as_of}'")
        return con.sql(sql).pl()
    finally:
        con.close()


@pytest.fixture
def loaded(warehouse):  # type: ignore[no-untyped-def]
    import_paths("sec_tickers", [SEC / "company_tickers.json"])
    import_paths("sec_facts", [SEC / "companyfacts_CIK0000320193_apple_excerpt.json"])
    return warehouse


def test_each_load_rebuilds_the_mart_the_view_reads(loaded) -> None:  # type: ignore[no-untyped-def]
    assert q("select distinct symbol from analytics.fundamentals")["symbol"].to_list() == ["AAPL"]
    res = import_paths("sec_facts", [SEC / "companyfacts_CIK0001045810_nvidia_trimmed.json"])
    assert res[0].outcome == "loaded"
    counts = dict(q("select symbol, count(*) from marts.fundamentals group by all").iter_rows())
    assert set(counts) == {"AAPL", "NVDA"}
    row = q("select * from analytics.fundamentals where symbol = 'AAPL' and fiscal_period_end = '2024-09-28'"
            " and period_kind = 'quarter'").row(0, named=True)  # fmt: skip
    assert (row["revenue_usd"], row["filed_date"], row["source"]) == (94930000000, date(2024, 11, 1), "sec")


def test_reimporting_the_same_file_changes_nothing(loaded) -> None:  # type: ignore[no-untyped-def]
    before = q("select * exclude (built_at) from marts.fundamentals order by all")
    res = import_paths("sec_facts", [SEC / "companyfacts_CIK0000320193_apple_excerpt.json"])
    assert [r.outcome for r in res] == ["duplicate"]
    assert q("select * exclude (built_at) from marts.fundamentals order by all").equals(before)
    assert q("select count(*) as n, max(version) as v from raw.sec__facts").row(0) == (57, 1)


def test_the_view_shows_only_what_was_public_as_of(loaded) -> None:  # type: ignore[no-untyped-def]
    sql = "select fiscal_period_end from analytics.fundamentals where symbol = 'AAPL' and period_kind = 'quarter'"
    # The quarter ending 2024-06-29 was filed 2024-08-02: public by 22:00 New York = 02:00 UTC next day.
    before = q(sql, "2024-08-03 01:59:00+00")["fiscal_period_end"].to_list()
    after = q(sql, "2024-08-03 02:00:00+00")["fiscal_period_end"].to_list()
    assert date(2024, 6, 29) not in before and date(2024, 6, 29) in after
    assert max(after) == date(2024, 6, 29)  # Q4 FY2024 waits for the 10-K of 2024-11-01
    assert date(2024, 9, 28) in q(sql)["fiscal_period_end"].to_list()


def test_vendor_rows_rank_below_sec_and_fill_what_sec_lacks(loaded) -> None:  # type: ignore[no-untyped-def]
    import_paths("sec_facts", [SEC / "companyfacts_CIK0001045810_nvidia_trimmed.json"])
    res = import_paths("vendor_fundamentals", [SEC / "vendor_fundamentals.csv"])
    assert res[0].outcome == "loaded" and res[0].rows_new == 5
    nvda = q("select * from analytics.fundamentals where symbol = 'NVDA' and fiscal_period_end"
             " between '2024-04-20' and '2024-05-05'")  # fmt: skip
    assert nvda.height == 1 and nvda["source"][0] == "sec" and nvda["fiscal_period_end"][0] == date(2024, 4, 28)
    assert q("select count(*) from marts.fundamentals where source = 'vendor' and symbol = 'NVDA'").item() == 1
    crwv = q("select * from analytics.fundamentals where symbol = 'CRWV' order by fiscal_period_end")
    assert crwv["source"].unique().to_list() == ["vendor"] and crwv.height == 4
    last = crwv.row(3, named=True)
    assert last["ttm_revenue_usd"] == 982000000 + 1212000000 + 1364676000 + 1571904000
    assert last["ttm_eps_diluted_usd"] == pytest.approx(-1.49 - 0.60 - 0.22 - 0.94)
    assert last["available_at"] == datetime(2026, 3, 3, 3, 0, tzinfo=UTC)  # 10-K filed 2026-03-02 (EST)
    assert crwv["ttm_revenue_usd"][:3].to_list() == [None, None, None]


def test_vendor_view_and_ticker_view_read_their_tables(loaded) -> None:  # type: ignore[no-untyped-def]
    import_paths("vendor_fundamentals", [SEC / "vendor_fundamentals.csv"])
    assert q("select count(*) from analytics.vendor_fundamentals").item() == 5
    goog = q("select ticker, cik, listing_rank from analytics.sec_tickers where cik = '0001652044' order by 3")
    assert goog.rows() == [("GOOGL", "0001652044", 1), ("GOOG", "0001652044", 5)]


def test_the_load_gate_passes_the_fixtures_and_bites_on_a_bad_cik() -> None:
    body = fixture_bytes("sec", "companyfacts_CIK0000320193_apple_excerpt.json")
    frame = facts.parse(Payload("sec_facts", body, "f.json", datetime.now(UTC))).frame
    frame = frame.rename({"rule_available_at": "available_at"})
    ok = validate_frame("raw__sec__facts", frame, load_date=date(2026, 7, 24))
    assert ok.success and ok.failures == []
    bad = frame.with_columns(
        pl.when(pl.col("tag") == "NetIncomeLoss").then(pl.lit("320193")).otherwise("cik").alias("cik")
    )
    report = validate_frame("raw__sec__facts", bad, load_date=date(2026, 7, 24))
    assert not report.success and {f.column for f in report.failures} == {"cik"}
    early = validate_frame("raw__sec__facts", frame, load_date=date(2024, 11, 1))
    assert [f.column for f in early.failures] == ["filed_date"]  # a filing dated after the load


def test_after_load_hook_runs_only_when_rows_changed_and_reports_a_failure() -> None:
    from dataclasses import replace

    from flows.errors import FlowscopeError
    from flows.pipeline import after_load
    from flows.sources.base import LoadResult

    calls: list[object] = []
    spec = replace(facts.SPEC, after_load=lambda con: calls.append(con) or "rebuilt")
    changed = LoadResult("sec_facts", "a.json", "sha", "loaded", rows_new=3)
    same = LoadResult("sec_facts", "b.json", "sha2", "unchanged", rows_unchanged=3)
    assert after_load("con", spec, [same]) == "" and calls == []  # type: ignore[arg-type]
    assert after_load("con", spec, [same, changed]) == "rebuilt" and calls == ["con"]  # type: ignore[arg-type]

    def broken(con: object) -> str:
        raise FlowscopeError("marts.fundamentals is missing")

    failed = after_load("con", replace(spec, after_load=broken), [changed])  # type: ignore[arg-type]
    assert failed == "after-load step failed: marts.fundamentals is missing"
    assert after_load("con", replace(spec, after_load=None), [changed]) == ""  # type: ignore[arg-type]
