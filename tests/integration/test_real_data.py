"""Real public data from ../shared/data: every CFTC and Cboe file imports, values match the files.

Values asserted here were read by hand from the files (line quoted in each comment).
"""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from flows.pipeline import import_paths
from flows.warehouse import connect_read

pytestmark = pytest.mark.realdata

# PROVENANCE.md §2: weeks per extract 2015..2026 = 52+52+53+52+47+52+52+41+30+17+31
NQ_WEEKS = 479


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, request):  # type: ignore[no-untyped-def]
    from tests.conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    mp = pytest.MonkeyPatch()
    mp.setenv("FLOWSCOPE_WAREHOUSE", str(tmp_path_factory.mktemp("real") / "flowscope.duckdb"))
    cftc = import_paths("cftc_tff", [SHARED_DATA / "cftc"])
    cboe = import_paths("cboe_putcall", [SHARED_DATA / "cboe_putcall", SHARED_DATA / "canonical" / "put_call.csv"])
    yield {"cftc": cftc, "cboe": cboe, "shared": SHARED_DATA}
    mp.undo()


def q(sql: str, *params):  # type: ignore[no-untyped-def]
    con = connect_read()
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_every_file_imports(loaded):  # type: ignore[no-untyped-def]
    assert [r.outcome for r in loaded["cftc"]] == ["loaded"] * 12
    assert [r.outcome for r in loaded["cboe"]] == ["loaded"] * 5
    by_file = {r.origin.rsplit("/", 1)[-1]: r for r in loaded["cftc"]}
    assert by_file["fut_fin_txt_2023.zip"].rows_in == 2191  # every financial market, 2023-01-03..10-10
    assert by_file["fut_fin_txt_2023.zip"].rows_unchanged == 810  # = the 2023 equity-index extract
    assert by_file["FinFut_equity_index_2018.txt"].rows_in == 835


def test_nasdaq_weeks_are_exactly_those_of_the_files(loaded):  # type: ignore[no-untyped-def]
    import csv

    weeks: set[date] = set()
    for f in sorted((loaded["shared"] / "cftc").glob("FinFut_equity_index_*.txt")):
        with open(f, encoding="latin-1", newline="") as fh:
            for row in csv.DictReader(fh):
                if row["CFTC_Contract_Market_Code"].strip() == "209742":
                    weeks.add(date.fromisoformat(row["Report_Date_as_YYYY-MM-DD"]))
    got = {r[0] for r in q("select report_date from analytics.cot_positioning where contract_code = '209742'")}
    assert got == weeks and len(got) == NQ_WEEKS


def test_positioning_values_match_the_file(loaded):  # type: ignore[no-untyped-def]
    # FinFut_equity_index_2026.txt: "NASDAQ MINI - CHICAGO MERCANTILE EXCHANGE",260804,2026-08-04,209742,
    #   CME ,00,209 ,  303624,   71439,   62690,    5740,   99819,   35460,    5041,   57097,  135430, ...
    row = q(
        "select open_interest_contracts, dealer_long_contracts, dealer_short_contracts,"
        " asset_mgr_long_contracts, asset_mgr_short_contracts, lev_funds_long_contracts,"
        " lev_funds_short_contracts, asset_mgr_net_contracts, lev_funds_net_contracts,"
        " asset_mgr_net_frac_oi, market_name, available_at::varchar"
        " from analytics.cot_positioning where contract_code = '209742' and report_date = '2026-08-04'"
    )[0]
    assert row[:9] == (303624, 71439, 62690, 99819, 35460, 57097, 135430, 64359, -78333)
    assert row[9] == pytest.approx(64359 / 303624)
    assert row[10] == "NASDAQ MINI - CHICAGO MERCANTILE EXCHANGE"
    assert row[11].startswith("2026-08-07 19:30:00")  # Friday 15:30 EDT


def test_renamed_market_is_one_series(loaded):  # type: ignore[no-untyped-def]
    names = q(
        "select report_date, market_name from analytics.cot_positioning where contract_code = '209742'"
        " and report_date in ('2022-02-01', '2022-02-08') order by 1"
    )
    assert names == [
        (date(2022, 2, 1), "NASDAQ-100 STOCK INDEX (MINI) - CHICAGO MERCANTILE EXCHANGE"),
        (date(2022, 2, 8), "NASDAQ MINI - CHICAGO MERCANTILE EXCHANGE"),
    ]


def test_put_call_values_match_the_files(loaded):  # type: ignore[no-untyped-def]
    rows = {
        (d.isoformat(), s): (r, c, p, era, src)
        for d, s, r, c, p, era, src in q(
            "select trade_date, segment, put_call_ratio, call_volume_contracts, put_volume_contracts,"
            " source_era, series_source from analytics.put_call"
        )
    }
    # pranuprakash_indexpc.csv (2-line preamble, PRODUCT:INDEX): "10/04/2019, 783827, 1180047, 1963874, 1.51"
    assert rows[("2019-10-04", "index")] == (1.51, 783827, 1180047, "exchange_only", "cboe_archive")
    # ajwellman_totalpc.csv: "11/1/2006,1401036,1271445,2672481,0.91"
    assert rows[("2006-11-01", "total")] == (0.91, 1401036, 1271445, "exchange_only", "cboe_archive")
    # pcr2 equity archive (2-digit years): "11/01/06,976510,623929,1600439,0.64" wins over pcr1's
    # "11/1/2006" row (984519, 639931, 0.65): the main archive outranks the older one.
    assert rows[("2006-11-01", "equity")] == (0.64, 976510, 623929, "exchange_only", "cboe_archive")
    # pcr1 only: "10/17/2003,1017225,463135,1480360,0.46"
    assert rows[("2003-10-17", "equity")] == (0.46, 1017225, 463135, "exchange_only", "cboe_archive_old")
    # canonical/put_call.csv: "2019-10-07,equity,0.7"
    assert rows[("2019-10-07", "equity")] == (0.7, None, None, "all_cboe", "user_csv")
    counts = dict(q("select segment, count(*) from analytics.put_call group by 1"))
    assert counts == {"equity": 765 + 3253 + 1727, "index": 3253 + 1728, "total": 3253 + 1728, "etp": 1727, "spx": 1728}


def test_importing_again_changes_nothing(loaded):  # type: ignore[no-untyped-def]
    def digest() -> str:
        rows = q("select * from raw.cftc__tff order by all") + q("select * from raw.cboe__put_call order by all")
        return hashlib.sha256(repr(rows).encode()).hexdigest()

    before = digest()
    again = import_paths("cftc_tff", [loaded["shared"] / "cftc"])
    again += import_paths(
        "cboe_putcall", [loaded["shared"] / "cboe_putcall", loaded["shared"] / "canonical" / "put_call.csv"]
    )
    assert {r.outcome for r in again} == {"duplicate"}
    assert digest() == before


def test_validate_passes_on_the_real_data(loaded):  # type: ignore[no-untyped-def]
    import json

    from typer.testing import CliRunner

    from flows.cli import app

    res = CliRunner().invoke(app, ["validate", "--as-of", "2026-08-21", "-f", "json"])
    assert res.exit_code == 0, res.stdout
    rows = {r["suite"]: r for r in json.loads(res.stdout)}
    ran = [s for s, r in rows.items() if r["result"] != "SKIP"]
    assert set(ran) >= {"raw__cftc__tff", "analytics__cot_positioning", "raw__cboe__put_call", "analytics__put_call"}
    assert all(rows[s]["result"] == "PASS" for s in ran)
