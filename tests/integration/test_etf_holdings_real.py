"""Real ETF holdings from ../shared/data: every issuer file and the canonical CSV import, values match.

Values asserted here were read by hand from the files (the line or field is quoted in each comment).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

import pytest

from flows.pipeline import import_paths
from flows.warehouse import connect_read

pytestmark = pytest.mark.realdata

LOAD = date(2026, 11, 21)
FILES = {  # file -> rows stored (equities + one row per non-equity class)
    "ErnestoCA90_ishares_SOXX_holdings_2023-10-24.csv": 32,  # 30 equities + _CASH + _FUTURES
    "ammarfatehi_invesco_QQQ_holdings_2020-07-02.csv": 103,  # 103 equities, no cash line
    "boduan_invesco_QQQ_holdings_2026-09-04.json": 104,  # 102 equities/ADRs + _CASH + _FUTURES
    "boduan_vaneck_SMH_holdings_2026-10-01.json": 26,  # 25 stocks + _CASH
    "boduan_vaneck_SMH_holdings_2026-10-08.json": 26,
    "ekhwn0430_ishares_SOXX_holdings_2026-08-03.csv": 32,
}
TOP10 = "boduan_invesco_QQQ_top10_reduced_2026-07-22.json"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):  # type: ignore[no-untyped-def]
    from tests.conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    mp = pytest.MonkeyPatch()
    mp.setenv("FLOWSCOPE_WAREHOUSE", str(tmp_path_factory.mktemp("holdings") / "flowscope.duckdb"))
    paths = [SHARED_DATA / "etf_holdings", SHARED_DATA / "canonical" / "etf_holdings.csv"]
    results = import_paths("etf_holdings", paths, load_date=LOAD)
    yield {"results": results, "paths": paths}
    mp.undo()


def q(sql: str, *params):  # type: ignore[no-untyped-def]
    con = connect_read()
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def view_weight(etf: str, as_of: str, symbol: str) -> float:
    rows = q(
        "select weight_frac from analytics.etf_holdings where etf = ? and as_of_date = ? and symbol = ?",
        etf,
        as_of,
        symbol,
    )
    assert len(rows) == 1, rows
    return rows[0][0]


def test_every_issuer_file_and_the_canonical_csv_import(loaded):  # type: ignore[no-untyped-def]
    by_file = {r.origin.rsplit("/", 1)[-1]: r for r in loaded["results"]}
    assert set(by_file) == {*FILES, TOP10, "etf_holdings.csv"}
    for name, rows in FILES.items():
        assert (by_file[name].outcome, by_file[name].rows_in) == ("loaded", rows), by_file[name].message
    assert (by_file["etf_holdings.csv"].outcome, by_file["etf_holdings.csv"].rows_in) == ("loaded", 1697)


def test_the_top_10_extract_is_quarantined_as_a_partial_list(loaded):  # type: ignore[no-untyped-def]
    # 10 rows, "totalNumberOfHoldings": 108; NVDA 8.288274 + ... = 46.08% of the fund
    res = next(r for r in loaded["results"] if r.origin.endswith(TOP10))
    assert res.outcome == "quarantined"
    assert "QQQ 2026-07-22: weights sum to 46.08%, not 100% ± 2%" in res.message
    assert "(10 rows of the 108 the file announces)" in res.message
    assert q("select count(*) from raw.etf__holdings where as_of_date = '2026-07-22'") == [(0,)]


def test_smh_weights_match_the_vaneck_files(loaded):  # type: ignore[no-untyped-def]
    # boduan_vaneck_SMH_holdings_2026-10-01.json: "Label":"NVDA","Weight":"19.27"
    assert view_weight("SMH", "2026-10-01", "NVDA") == 0.1927
    # ..._2026-10-08.json: "Label":"NVDA","Weight":"19.60" and "Label":"MU","Weight":"4.79"
    assert view_weight("SMH", "2026-10-08", "NVDA") == 0.196
    assert view_weight("SMH", "2026-10-08", "MU") == 0.0479
    # "-USD CASH-" 0.03 + " -- " Other/Cash 0.03
    assert view_weight("SMH", "2026-10-01", "_CASH") == pytest.approx(0.0006, abs=1e-12)
    row = q("select available_at, series_source, source_format from analytics.etf_holdings"
            " where etf = 'SMH' and as_of_date = '2026-10-01' and symbol = 'NVDA'")  # fmt: skip
    assert row == [(datetime(2026, 10, 2, 13, 30, tzinfo=UTC), "issuer", "vaneck_json")]  # Fri 09:30 EDT


def test_soxx_weights_match_the_ishares_files(loaded):  # type: ignore[no-untyped-def]
    # ErnestoCA90 (2023): "NVDA,NVIDIA CORP,...,Equity,"655,640,551.59",7.79,..." and "MU,...,4.29,..."
    assert view_weight("SOXX", "2023-10-24", "NVDA") == 0.0779
    assert view_weight("SOXX", "2023-10-24", "MU") == 0.0429
    # XTSLA 0.17 + WFFUT 0.01 + "USD,USD CASH,...,"-985,909.50",-0.01" = 0.17%
    assert view_weight("SOXX", "2023-10-24", "_CASH") == pytest.approx(0.0017, abs=1e-12)
    assert view_weight("SOXX", "2023-10-24", "_FUTURES") == 0.0  # RTYZ3, IXTZ3 at weight 0
    # ekhwn0430 (2026): "NVDA",...,"8.87"; "MU",...,"7.74"; "LRCX",...,"4.20"
    assert view_weight("SOXX", "2026-08-03", "NVDA") == 0.0887
    assert view_weight("SOXX", "2026-08-03", "MU") == 0.0774
    assert view_weight("SOXX", "2026-08-03", "LRCX") == 0.042
    assert view_weight("SOXX", "2026-08-03", "_CASH") == pytest.approx(0.0015, abs=1e-12)  # 0.12 + 0.02 + 0.01


def test_qqq_weights_match_the_invesco_files(loaded):  # type: ignore[no-untyped-def]
    # boduan JSON: NVDA "percentageOfTotalNetAssets": 8.853649; MU 5.02648; dated effectiveBusinessDate
    assert view_weight("QQQ", "2026-09-04", "NVDA") == 0.08853649
    assert view_weight("QQQ", "2026-09-04", "MU") == 0.0502648
    assert q("select count(*) from analytics.etf_holdings where as_of_date = '2026-09-07'") == [(0,)]
    # NQU6 0.115584 and its contra NQU6_ -0.115584 cancel; USD 0.101538 + null-ticker collateral 0.011607
    assert view_weight("QQQ", "2026-09-04", "_FUTURES") == 0.0
    assert view_weight("QQQ", "2026-09-04", "_CASH") == pytest.approx(0.00113145, abs=1e-12)
    # ammarfatehi CSV: "QQQ,67066G104,NVDA ,"6,925,218","2,662,677,068.82",2.260,NVIDIA Corp,..."
    assert view_weight("QQQ", "2020-07-02", "NVDA") == 0.0226
    assert view_weight("QQQ", "2020-07-02", "AAPL") == 0.11822
    sums = q("select as_of_date, sum(weight_frac) from analytics.etf_holdings where etf = 'QQQ' group by 1 order by 1")
    assert sums == [(date(2020, 7, 2), pytest.approx(0.99998)), (date(2026, 9, 4), pytest.approx(1.0))]


def test_canonical_csv_re_expresses_the_issuer_files_exactly(loaded):  # type: ignore[no-untyped-def]
    rows = q(
        "with i as (select * from raw.etf__holdings where series_source = 'issuer' and asset_class = 'equity'),"
        " u as (select * from raw.etf__holdings where series_source = 'user_csv' and asset_class = 'equity')"
        " select count(*), count(u.symbol), max(abs(i.weight_frac - u.weight_frac))"
        " from i left join u using (etf, as_of_date, symbol)"
    )
    assert rows == [(315, 315, 0.0)]  # 30 + 30 + 25 + 25 + 103 + 102 equities, identical weights
    # where both exist, the view shows the issuer file
    srcs = q("select etf, as_of_date, any_value(series_source) from analytics.etf_holdings"
             " where etf <> 'XLK' group by all order by 1, 2")  # fmt: skip
    assert {s for _, _, s in srcs} == {"issuer"} and len(srcs) == 6


def test_xlk_nport_quarters_are_public_60_days_after_quarter_end(loaded):  # type: ignore[no-untyped-def]
    # canonical/etf_holdings.csv: "2023-12-31,XLK,NVDA,0.04534346"
    row = q("select weight_frac, available_at, series_source from analytics.etf_holdings"
            " where etf = 'XLK' and as_of_date = '2023-12-31' and symbol = 'NVDA'")  # fmt: skip
    assert row == [(0.04534346, datetime(2024, 2, 29, 14, 30, tzinfo=UTC), "nport")]  # + 60 days, 09:30 EST
    quarters = q("select count(distinct as_of_date) from analytics.etf_holdings where series_source = 'nport'")
    assert quarters == [(18,)]  # 2019-Q3 .. 2023-Q4
    # "2025-11-18,XLK,NVDA,0.1459997": the SSGA-derived snapshot, an issuer date -> next session
    row = q("select weight_frac, available_at, series_source from analytics.etf_holdings"
            " where etf = 'XLK' and as_of_date = '2025-11-18' and symbol = 'NVDA'")  # fmt: skip
    assert row == [(0.1459997, datetime(2025, 11, 19, 14, 30, tzinfo=UTC), "user_csv")]
    # XLK's N-PORT "STT" (cash sweep) and "CME" (futures) are not held as stocks
    assert q("select count(*) from analytics.etf_holdings where etf = 'XLK' and symbol in ('STT', 'CME')") == [(0,)]


def test_weights_for_a_date_are_the_latest_public_snapshot_with_its_age(loaded):  # type: ignore[no-untyped-def]
    rows = q("select etf, weight_frac, as_of_date, age_days from analytics.etf_weights_asof(date '2026-10-05')"
             " where symbol = 'NVDA' order by etf")  # fmt: skip
    assert rows == [
        ("QQQ", 0.08853649, date(2026, 9, 4), 31),
        ("SMH", 0.1927, date(2026, 10, 1), 4),  # $1bn into SMH = ~$193m of NVDA demand
        ("SOXX", 0.0887, date(2026, 8, 3), 63),
        ("XLK", 0.1459997, date(2025, 11, 18), 321),
    ]
    # 2026-10-08 is still the 10-01 file (10-08's is public on 10-09): held constant, not interpolated
    smh = q("select weight_frac, age_days from analytics.etf_weights_asof(date '2026-10-08')"
            " where etf = 'SMH' and symbol = 'NVDA'")  # fmt: skip
    assert smh == [(0.1927, 7)]
    # 2023-11-28: the 2023-09-30 N-PORT weights are not public until 11-29 -> the June quarter, 151 days old
    xlk = q("select weight_frac, as_of_date, age_days from analytics.etf_weights_asof(date '2023-11-28')"
            " where etf = 'XLK' and symbol = 'NVDA'")  # fmt: skip
    assert xlk == [(0.04671502, date(2023, 6, 30), 151)]  # "2023-06-30,XLK,NVDA,0.04671502"
    assert q("select count(*) from analytics.etf_weights_asof(date '2019-11-28')") == [(0,)]  # first: 11-29


def test_importing_again_changes_nothing(loaded):  # type: ignore[no-untyped-def]
    def digest() -> str:
        return hashlib.sha256(repr(q("select * from raw.etf__holdings order by all")).encode()).hexdigest()

    before = digest()
    again = import_paths("etf_holdings", loaded["paths"], load_date=LOAD)
    assert {r.outcome for r in again if not r.origin.endswith(TOP10)} == {"duplicate"}
    assert digest() == before


def test_validate_passes_on_the_real_holdings(loaded):  # type: ignore[no-untyped-def]
    from flows.quality.run import read_frames, validate_all

    con = connect_read()
    try:
        frames = read_frames(con)
    finally:
        con.close()
    results = {
        t.suite: r for t, r in validate_all(frames, LOAD) if "etf__holdings" in t.suite or "etf_holdings" in t.suite
    }
    assert set(results) == {"raw__etf__holdings", "analytics__etf_holdings"}
    for suite, report in results.items():
        assert report.success, (suite, [f.line() for f in report.failures])
