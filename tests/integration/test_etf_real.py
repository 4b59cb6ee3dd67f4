"""Real data from ../shared/data/canonical: etf_shares.csv and etf_flows.csv import; values match the files.

Values asserted here were read by hand from the files (lines quoted in the comments, with their line
numbers). Rows dated on days the NYSE was closed are dropped on purpose (scrapers and Bloomberg carry
values onto them): etf_shares.csv has 109 (39 on Saturday 2026-03-28, 51 on Good Friday 2026-04-03,
5 on Saturday 2026-09-12, Memorial Day, Juneteenth, 2026-07-03 (Independence Day observed), Labor
Day, and 10 single-fund Saturdays plus Good Friday 2025-04-18 in 2025); etf_flows.csv has 179
(Hurricane Sandy 2012-10-29/30, Thanksgiving 2019, Good Friday 2020, the Carter funeral 2025-01-09,
MLK and Presidents Day 2026, Good Friday 2026).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime

import pytest

from flows.pipeline import import_paths
from flows.sources.etf.flows import LAG_VARIABLE
from flows.sources.etf.pit_rules import NON_TRADING
from flows.warehouse import connect_read

pytestmark = pytest.mark.realdata

SHARES_LINES, SHARES_CLOSED = 569, 109
FLOWS_LINES, FLOWS_CLOSED = 168_887, 179
MY_SUITES = {"raw__etf__shares", "analytics__etf_shares", "raw__etf__vendor_flows", "analytics__etf_flows"}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):  # type: ignore[no-untyped-def]
    from tests.conftest import SHARED_DATA

    canonical = SHARED_DATA / "canonical"
    if not (canonical / "etf_shares.csv").is_file() or not (canonical / "etf_flows.csv").is_file():
        pytest.skip(f"real data not found at {canonical} (../shared/data is not part of the repo)")
    mp = pytest.MonkeyPatch()
    mp.setenv("FLOWSCOPE_WAREHOUSE", str(tmp_path_factory.mktemp("etf_real") / "flowscope.duckdb"))
    shares = import_paths("etf_shares", [canonical / "etf_shares.csv"], load_date=date(2026, 9, 30))
    flows = import_paths("etf_flows", [canonical / "etf_flows.csv"], load_date=date(2026, 9, 30))
    yield {"shares": shares, "flows": flows, "canonical": canonical}
    mp.undo()


def q(sql: str, *params, lag: int | None = None):  # type: ignore[no-untyped-def]
    con = connect_read()
    try:
        if lag is not None:
            con.execute(f"set variable {LAG_VARIABLE} = {lag}")
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_both_files_import_with_closed_days_dropped(loaded) -> None:  # type: ignore[no-untyped-def]
    [s], [f] = loaded["shares"], loaded["flows"]
    assert (s.outcome, s.rows_in, s.rows_new) == ("loaded", SHARES_LINES - SHARES_CLOSED, SHARES_LINES - SHARES_CLOSED)
    assert (f.outcome, f.rows_in, f.rows_new) == ("loaded", FLOWS_LINES - FLOWS_CLOSED, FLOWS_LINES - FLOWS_CLOSED)
    assert s.warnings == (f"etf_shares.csv: skipped {SHARES_CLOSED} rows ({NON_TRADING})",)
    assert f.warnings == (f"etf_flows.csv: skipped {FLOWS_CLOSED} rows ({NON_TRADING})",)
    assert (s.min_date, s.max_date) == (date(2025, 3, 5), date(2026, 9, 21))
    assert (f.min_date, f.max_date) == (date(2011, 3, 11), date(2026, 4, 2))


def test_qqq_shares_and_close_match_the_file(loaded) -> None:  # type: ignore[no-untyped-def]
    # etf_shares.csv line 276: "2026-05-21,QQQ,667800000,709.02001953125"
    row = q(
        "select shares_outstanding, nav_usd, close_usd, shares_source, available_at from analytics.etf_shares"
        " where symbol = 'QQQ' and date = '2026-05-21'"
    )
    assert row == [(667_800_000, None, 709.02001953125, "user_csv", datetime(2026, 5, 22, 13, 0, tzinfo=UTC))]
    # line 307: "2026-07-03,QQQ,659600000," -- Independence Day observed (NYSE closed): not stored
    assert q("select count(*) from raw.etf__shares where date = '2026-07-03'") == [(0,)]
    assert q("select count(*) from analytics.etf_shares where symbol = 'QQQ'") == [(127 - 6,)]  # 6 closed-day rows


def test_qqq_flow_from_shares_times_close_with_lag_1_and_0(loaded) -> None:  # type: ignore[no-untyped-def]
    # lines 275-276: 661,100,000 on 2026-05-20, 667,800,000 on 05-21 at close 709.02001953125 (no NAV in the file)
    expected = (667_800_000 - 661_100_000) * 709.02001953125
    sql = "select date, obs_date, flow_usd, flow_frac_aum, method, source from analytics.etf_flows where symbol = 'QQQ' and obs_date = '2026-05-21'"  # noqa: E501
    assert q(sql, lag=1) == [
        (date(2026, 5, 22), date(2026, 5, 21), pytest.approx(expected), pytest.approx(6_700_000 / 661_100_000),
         "shares_x_close", "user_csv"),
    ]  # fmt: skip
    assert q(sql, lag=0)[0][:3] == (date(2026, 5, 21), date(2026, 5, 21), pytest.approx(expected))


def test_smh_vendor_flow_matches_the_file(loaded) -> None:  # type: ignore[no-untyped-def]
    # etf_flows.csv line 142808: "2026-03-06,SMH,-589923700.0,42699769500.0"
    assert q("select flow_usd, aum_usd from raw.etf__vendor_flows where symbol = 'SMH' and date = '2026-03-06'") == [
        (-589_923_700.0, 42_699_769_500.0)
    ]
    # In the view the vendor's Friday flow is dated the next trading day (lag 1): Monday 2026-03-09,
    # as a fraction of the previous day's assets (line 142807: 2026-03-05 aum 44,975,156,200).
    got = q(
        "select date, flow_usd, flow_frac_aum, method from analytics.etf_flows"
        " where symbol = 'SMH' and obs_date = '2026-03-06'"
    )
    assert got == [(date(2026, 3, 9), -589_923_700.0, pytest.approx(-589_923_700 / 44_975_156_200), "vendor")]
    # line 10702: "2025-01-09,BLOK,2241100.0," -- the NYSE was closed (Carter funeral): not stored
    assert q("select count(*) from raw.etf__vendor_flows where date = '2025-01-09'") == [(0,)]


def test_missing_vendor_flows_stay_missing(loaded) -> None:  # type: ignore[no-untyped-def]
    # Empty flow cells are NULL, never 0 (e.g. 2026-01-13 AGG: "2026-01-13,AGG,,").
    assert q("select flow_usd from raw.etf__vendor_flows where symbol = 'AGG' and date = '2026-01-13'") == [(None,)]
    assert q(
        "select count(*) from raw.etf__vendor_flows where flow_usd = 0 and symbol = 'SMH' and date < '2011-12-28'"
    ) == [(4,)]  # lines 139236-139239: "0.0" = no creation or redemption, kept as 0


def test_importing_again_changes_nothing(loaded) -> None:  # type: ignore[no-untyped-def]
    def digest() -> str:
        rows = q("select * from raw.etf__shares order by all") + q("select * from raw.etf__vendor_flows order by all")
        return hashlib.sha256(repr(rows).encode()).hexdigest()

    before = digest()
    again = import_paths("etf_shares", [loaded["canonical"] / "etf_shares.csv"], load_date=date(2026, 9, 30))
    again += import_paths("etf_flows", [loaded["canonical"] / "etf_flows.csv"], load_date=date(2026, 9, 30))
    assert {r.outcome for r in again} == {"duplicate"}
    assert digest() == before


def test_etf_suites_pass_on_the_real_data(loaded) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from flows.cli import app

    res = CliRunner().invoke(app, ["validate", "--as-of", "2026-09-30", "-f", "json"])
    rows = {r["suite"]: r for r in json.loads(res.stdout)}
    assert {s: rows[s]["result"] for s in MY_SUITES} == dict.fromkeys(MY_SUITES, "PASS")
