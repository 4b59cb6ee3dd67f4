"""Real public data from ../shared/data: the FINRA files import, values match the files.

- ``canonical/short_interest.csv``: ``settlement_date,symbol,short_interest_shares``; 15 settlement
  dates 2020-11-30..2021-06-30 for 12 symbols (a third-party scrape, rounded) and the full
  2026-05-15 cross-section (13,626 symbols, from FINRA's ``shrt20260515.csv``; PROVENANCE.md §10);
- ``short_interest/samgozman_finra_CNMSshvol_fixture_20210802.txt``: a real Reg SHO CNMS file
  trimmed to 10 symbols, footer ``10`` (PROVENANCE.md §3).
Values asserted here were read by hand from the files (lines quoted in comments).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

import pytest

from flows.pipeline import import_paths
from flows.quality.gate import validate_frame
from flows.warehouse import connect_read

pytestmark = pytest.mark.realdata

SI_CSV = ("canonical", "short_interest.csv")
REGSHO = ("short_interest", "samgozman_finra_CNMSshvol_fixture_20210802.txt")
PARQUET = ("thirdparty", "short_interest", "EnderA44hub_finra_current_short_position_2026-05-15_all_symbols.parquet")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):  # type: ignore[no-untyped-def]
    from tests.conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (../shared/data is not part of the repo)")
    mp = pytest.MonkeyPatch()
    mp.setenv("FLOWSCOPE_WAREHOUSE", str(tmp_path_factory.mktemp("finra_real") / "flowscope.duckdb"))
    si = import_paths("finra_short_interest", [SHARED_DATA.joinpath(*SI_CSV)])
    sv = import_paths("finra_short_volume", [SHARED_DATA.joinpath(*REGSHO)])
    yield {"si": si, "sv": sv, "shared": SHARED_DATA}
    mp.undo()


def q(sql: str, *params):  # type: ignore[no-untyped-def]
    con = connect_read()
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_both_files_import_whole(loaded):  # type: ignore[no-untyped-def]
    (si,), (sv,) = loaded["si"], loaded["sv"]
    assert (si.outcome, si.rows_in, si.rows_new, si.warnings) == ("loaded", 13806, 13806, ())
    assert (si.min_date, si.max_date) == (date(2020, 11, 30), date(2026, 5, 15))
    assert (sv.outcome, sv.rows_in, sv.rows_new) == ("loaded", 10, 10)


def test_short_interest_values_match_the_csv(loaded):  # type: ignore[no-untyped-def]
    # "2026-05-15,NVDA,296966425" and "2020-11-30,AMD,62370000"
    assert q("select short_interest_shares from analytics.short_interest"
             " where symbol = 'NVDA' and settlement_date = '2026-05-15'") == [(296966425,)]  # fmt: skip
    assert q("select short_interest_shares from analytics.short_interest"
             " where symbol = 'AMD' and settlement_date = '2020-11-30'") == [(62370000,)]  # fmt: skip
    # PROVENANCE.md §10 table: the universe on 2026-05-15
    rows = dict(
        q(
            "select symbol, short_interest_shares from analytics.short_interest"
            " where settlement_date = '2026-05-15' and symbol in ('SPY', 'QQQ', 'SMH', 'APLD', 'CRWV')"
        )
    )
    assert rows == {"SPY": 109192514, "QQQ": 67648201, "SMH": 12986183, "APLD": 78716290, "CRWV": 51444662}


def test_cross_section_and_history_counts(loaded):  # type: ignore[no-untyped-def]
    counts = dict(q("select settlement_date, count(*) from analytics.short_interest group by 1"))
    assert counts[date(2026, 5, 15)] == 13626
    assert len(counts) == 16 and all(n == 12 for d, n in counts.items() if d.year < 2026)
    spread = q(
        "select count(distinct symbol), min(short_interest_shares), max(short_interest_shares)"
        " from analytics.short_interest where settlement_date = '2026-05-15'"
    )
    assert spread == [(13626, 1, 340711258)]  # PROVENANCE.md §10: values 1 to 340,711,258


def test_cross_section_equals_the_finra_parquet_it_was_built_from(loaded):  # type: ignore[no-untyped-def]
    import duckdb

    path = loaded["shared"].joinpath(*PARQUET)
    if not path.exists():
        pytest.skip(f"{path} not found")
    source = set(duckdb.sql(f"select ticker, value from read_parquet('{path}')").fetchall())
    ours = set(
        q("select symbol, short_interest_shares from analytics.short_interest where settlement_date = '2026-05-15'")
    )
    assert len(source) == 13626 and ours == source


def test_change_frac_is_within_the_2020_21_history_and_null_across_the_gap(loaded):  # type: ignore[no-untyped-def]
    # "2020-11-30,AMD,62370000" -> "2020-12-15,AMD,55970000"
    rows = dict(q("select settlement_date, change_frac from analytics.short_interest where symbol = 'AMD'"))
    assert rows[date(2020, 11, 30)] is None
    assert rows[date(2020, 12, 15)] == pytest.approx((55970000 - 62370000) / 62370000)
    # 2021-06-30 -> 2026-05-15 is not one cycle (and spans NVDA's 4:1 and 10:1 splits): no change
    assert rows[date(2026, 5, 15)] is None
    assert q("select count(*) from analytics.short_interest where change_frac is not null") == [(12 * 14,)]


def test_available_at_follows_finras_dissemination_schedule(loaded):  # type: ignore[no-untyped-def]
    # FINRA's 2026 schedule: settlement 2026-05-15 -> published 2026-05-27; 18:00 EDT = 22:00 UTC
    at = q("select distinct available_at, available_at_source from analytics.short_interest"
           " where settlement_date = '2026-05-15'")  # fmt: skip
    assert at == [(datetime(2026, 5, 27, 22, 0, tzinfo=UTC), "rule")]
    # 2020-11-30 (Mon) + 7 NYSE trading days = 2020-12-09, 18:00 EST = 23:00 UTC
    assert q("select distinct available_at from analytics.short_interest where settlement_date = '2020-11-30'") == [
        (datetime(2020, 12, 9, 23, 0, tzinfo=UTC),)
    ]


def test_reg_sho_values_match_the_file(loaded):  # type: ignore[no-untyped-def]
    rows = {
        r[0]: r[1:]
        for r in q(
            "select symbol, trade_date, short_volume_shares, short_exempt_volume_shares, total_volume_shares, market"
            " from analytics.short_volume"
        )
    }
    d = date(2021, 8, 2)
    # the ten lines of the file, as printed: Date|Symbol|ShortVolume|ShortExemptVolume|TotalVolume|Market
    assert rows == {
        "AAL": (d, 5397162, 43094, 11756713, "B,Q,N"),
        "ABBV": (d, 616179, 1027, 1886830, "B,Q,N"),
        "BLUE": (d, 97507, 715, 308769, "B,Q,N"),
        "KEY": (d, 771419, 1369, 1258092, "B,Q,N"),
        "POSH": (d, 439632, 110021, 763992, "B,Q,N"),
        "RDS/A": (d, 225032, 1127, 910288, "B,Q,N"),
        "SNOW": (d, 348126, 396, 597323, "B,Q,N"),
        "TSLA": (d, 5368275, 56657, 14686076, "B,Q,N"),
        "ZYNE": (d, 40336, 0, 242801, "B,Q,N"),
        "ZYXI": (d, 97474, 1990, 209822, "B,Q,N"),
    }
    tsla = q("select short_frac, available_at from analytics.short_volume where symbol = 'TSLA'")[0]
    assert tsla[0] == pytest.approx(5368275 / 14686076)
    assert tsla[1] == datetime(2021, 8, 2, 22, 0, tzinfo=UTC)  # trade date 18:00 EDT


def test_views_pass_their_suites_on_the_real_data(loaded):  # type: ignore[no-untyped-def]
    con = connect_read()
    try:
        frames = {v: con.sql(f"select * from analytics.{v}").pl() for v in ("short_interest", "short_volume")}
    finally:
        con.close()
    for view, frame in frames.items():
        report = validate_frame(f"analytics__{view}", frame, load_date=date(2026, 8, 21))
        assert report.success and report.failures == [], (view, [f.line() for f in report.failures])


def test_importing_again_changes_nothing(loaded):  # type: ignore[no-untyped-def]
    def digest() -> str:
        rows = q("select * from raw.finra__short_interest order by all") + q(
            "select * from raw.finra__short_volume order by all"
        )
        return hashlib.sha256(repr(rows).encode()).hexdigest()

    before = digest()
    again = import_paths("finra_short_interest", [loaded["shared"].joinpath(*SI_CSV)])
    again += import_paths("finra_short_volume", [loaded["shared"].joinpath(*REGSHO)])
    assert {r.outcome for r in again} == {"duplicate"}
    assert digest() == before
