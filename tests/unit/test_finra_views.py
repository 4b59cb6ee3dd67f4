"""FINRA rows through the real loader and the two views: versions on revision (and not on a
flag-only change), point in time, change_frac (never across a gap, never from zero), series
precedence, and the derived fractions."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from flows.pipeline import import_paths
from flows.warehouse import connect_read
from tests.conftest import FIXTURES

RECORDS = json.loads((FIXTURES / "finra" / "consolidatedShortInterest_2026-07.json").read_text())


def q(sql: str, *params):  # type: ignore[no-untyped-def]
    con = connect_read()
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def write(tmp_path: Path, name: str, records: list[dict]) -> Path:  # type: ignore[type-arg]
    path = tmp_path / name
    path.write_text(json.dumps(records))
    return path


def load(*paths: Path) -> list[str]:
    return [r.outcome for r in import_paths("finra_short_interest", list(paths), load_date=date(2026, 9, 1))]


def nvda(settlement: str = "2026-07-31", **changes: object) -> dict:  # type: ignore[type-arg]
    base = next(r for r in RECORDS if r["symbolCode"] == "NVDA" and r["settlementDate"] == settlement)
    return {**base, **changes}


def test_a_revised_number_is_a_new_version_and_point_in_time_sees_the_old_one(warehouse, tmp_path):
    assert load(write(tmp_path, "a.json", RECORDS)) == ["loaded"]
    revised = nvda(currentShortPositionQuantity=241500000, daysToCoverQuantity=1.61, revisionFlag="R")
    res = import_paths("finra_short_interest", [write(tmp_path, "b.json", [revised])], load_date=date(2026, 9, 1))
    assert (res[0].rows_new, res[0].rows_revised) == (0, 1)
    versions = q(
        "select version, short_interest_shares, revision_flag, available_at_source from raw.finra__short_interest"
        " where symbol = 'NVDA' and settlement_date = '2026-07-31' order by version"
    )
    assert versions == [(1, 240001250, None, "rule"), (2, 241500000, "R", "observed")]
    now = q("select short_interest_shares, revision_flag, version from analytics.short_interest"
            " where symbol = 'NVDA' and settlement_date = '2026-07-31'")  # fmt: skip
    assert now == [(241500000, "R", 2)]
    con = connect_read()
    try:
        con.execute("set variable as_of = timestamptz '2026-08-12 00:00:00+00'")
        then = con.execute(
            "select short_interest_shares, version from analytics.short_interest"
            " where symbol = 'NVDA' and settlement_date = '2026-07-31'"
        ).fetchall()
    finally:
        con.close()
    assert then == [(240001250, 1)]


def test_a_revision_flag_alone_does_not_make_a_version(warehouse, tmp_path):
    load(write(tmp_path, "a.json", RECORDS))
    flagged = nvda(revisionFlag="R", stockSplitFlag="S", issueName="NVIDIA Corp")
    res = import_paths("finra_short_interest", [write(tmp_path, "b.json", [flagged])], load_date=date(2026, 9, 1))
    assert (res[0].outcome, res[0].rows_revised, res[0].rows_unchanged) == ("unchanged", 0, 1)
    assert q("select count(*) from raw.finra__short_interest where symbol = 'NVDA'") == [(2,)]


def test_change_frac_is_against_the_previous_settlement_date_and_null_for_the_first(warehouse, tmp_path):
    load(write(tmp_path, "a.json", RECORDS))
    rows = dict(q("select settlement_date, change_frac from analytics.short_interest where symbol = 'NVDA'"))
    assert rows[date(2026, 7, 15)] is None
    assert rows[date(2026, 7, 31)] == pytest.approx((240001250 - 231448310) / 231448310)
    assert q("select change_frac from analytics.short_interest where symbol = 'SMH'") == [(None,)]


def test_change_frac_is_null_across_a_skipped_settlement_date(warehouse, tmp_path):
    early = nvda("2026-07-15", settlementDate="2026-06-30")
    load(write(tmp_path, "a.json", [early, nvda()]))  # 2026-07-15 missing for NVDA: a gap, not a change
    rows = dict(q("select settlement_date, change_frac from analytics.short_interest where symbol = 'NVDA'"))
    assert rows == {date(2026, 6, 30): None, date(2026, 7, 31): None}


def test_change_frac_from_a_zero_position_is_null_not_infinite(warehouse, tmp_path):
    load(write(tmp_path, "a.json", [nvda("2026-07-15", currentShortPositionQuantity=0), nvda()]))
    assert dict(q("select settlement_date, change_frac from analytics.short_interest"))[date(2026, 7, 31)] is None


def test_days_to_cover_is_null_when_volume_is_zero(warehouse, tmp_path):
    load(write(tmp_path, "a.json", RECORDS))
    assert q("select avg_daily_volume_shares, days_to_cover from analytics.short_interest where symbol = 'BRKB'") == [
        (0, None)
    ]


def test_finra_rows_win_over_a_user_csv_for_the_same_key_without_a_version(warehouse, tmp_path):
    csv = tmp_path / "mine.csv"
    csv.write_text(
        "settlement_date,symbol,short_interest_shares\n2026-07-31,NVDA,240000000\n2026-07-15,NVDA,231000000\n"
    )
    load(csv, write(tmp_path, "a.json", [nvda()]))
    assert q("select version, series_source from raw.finra__short_interest where settlement_date = '2026-07-31'"
             " order by series_source") == [(1, "finra"), (1, "user_csv")]  # fmt: skip
    rows = q("select settlement_date, short_interest_shares, series_source, change_frac from analytics.short_interest"
             " order by settlement_date")  # fmt: skip
    assert rows[1][:3] == (date(2026, 7, 31), 240001250, "finra")
    assert rows[1][3] == pytest.approx(240001250 / 231000000 - 1)  # the previous row is the user's


def test_importing_the_same_file_twice_changes_nothing(warehouse, tmp_path):
    path = write(tmp_path, "a.json", RECORDS)
    assert load(path) == ["loaded"]
    assert load(path) == ["duplicate"]
    assert q("select count(*) from raw.finra__short_interest") == [(6,)]


def test_short_volume_view_short_frac_and_zero_total(warehouse):
    import_paths("finra_short_volume", [FIXTURES / "finra" / "CNMSshvol20260804.txt"], load_date=date(2026, 9, 1))
    rows = {s: (f, t) for s, f, t in q("select symbol, short_frac, total_volume_shares from analytics.short_volume")}
    assert rows["SMH"][0] == pytest.approx(812004 / 1500010)
    assert rows["ZVZZT"] == (None, 0.0)
    assert len(rows) == 7


def test_a_changed_short_volume_file_revises_only_the_changed_rows(warehouse, tmp_path):
    src = (FIXTURES / "finra" / "CNMSshvol20260804.txt").read_bytes()
    import_paths("finra_short_volume", [FIXTURES / "finra" / "CNMSshvol20260804.txt"], load_date=date(2026, 9, 1))
    changed = tmp_path / "CNMSshvol20260804.txt"
    changed.write_bytes(src.replace(b"|MU|2950440|", b"|MU|2950441|"))
    res = import_paths("finra_short_volume", [changed], load_date=date(2026, 9, 1))
    assert (res[0].rows_new, res[0].rows_revised, res[0].rows_unchanged) == (0, 1, 6)
    assert q("select version, short_volume_shares from analytics.short_volume where symbol = 'MU'") == [(2, 2950441)]
