"""The load contract: raw kept first, idempotent, atomic, versioned, point-in-time."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

import duckdb
import pytest

from flows import loader
from flows.quarantine import quarantined
from flows.raw_store import iter_raw
from flows.sources.cftc.tff import SPEC as TFF
from flows.warehouse import connect_write
from tests.helpers import payload, tff_line, tff_text

TABLES = ("raw.cftc__tff", "raw.cboe__put_call", "meta.ingest_state")


def checksum(con: duckdb.DuckDBPyConnection, table: str) -> str:
    rows = con.execute(f"select * from {table} order by all").fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return {t: checksum(con, t) for t in TABLES}


@pytest.fixture
def con(warehouse):  # type: ignore[no-untyped-def]
    c = connect_write(warehouse)
    yield c
    c.close()


def two_weeks() -> bytes:
    return tff_text([tff_line("209742", "2026-07-28", 294781), tff_line("209742", "2026-08-04", 303624)])


def test_loading_the_same_payload_twice_changes_nothing(con, warehouse):  # type: ignore[no-untyped-def]
    first = loader.ingest(con, TFF, [payload("cftc_tff", two_weeks())], warehouse.raw_dir)
    assert [r.outcome for r in first] == ["loaded"] and first[0].rows_new == 2
    before = snapshot(con) | {"meta.loads": checksum(con, "meta.loads")}
    again = loader.ingest(con, TFF, [payload("cftc_tff", two_weeks())], warehouse.raw_dir)
    assert [r.outcome for r in again] == ["duplicate"]
    assert snapshot(con) | {"meta.loads": checksum(con, "meta.loads")} == before


def test_other_payload_with_the_same_rows_adds_no_version(con, warehouse):  # type: ignore[no-untyped-def]
    loader.ingest(con, TFF, [payload("cftc_tff", two_weeks())], warehouse.raw_dir)
    crlf = two_weeks().replace(b"\n", b"\r\n")
    res = loader.ingest(con, TFF, [payload("cftc_tff", crlf)], warehouse.raw_dir)
    assert res[0].outcome == "unchanged" and res[0].rows_unchanged == 2
    assert con.execute("select max(version), count(*) from raw.cftc__tff").fetchone() == (1, 2)


def test_revised_week_is_a_new_version_and_the_old_one_is_kept(con, warehouse):  # type: ignore[no-untyped-def]
    loader.ingest(con, TFF, [payload("cftc_tff", two_weeks())], warehouse.raw_dir)
    seen = datetime(2026, 9, 1, 12, tzinfo=UTC)
    revised = tff_text([tff_line("209742", "2026-08-04", 303624, am_long=111)])
    res = loader.ingest(con, TFF, [payload("cftc_tff", revised, fetched_at=seen)], warehouse.raw_dir)
    assert (res[0].rows_new, res[0].rows_revised) == (0, 1)
    versions = con.execute(
        "select version, asset_mgr_long_contracts, available_at, available_at_source from raw.cftc__tff"
        " where report_date = '2026-08-04' order by version"
    ).fetchall()
    assert [(v, am) for v, am, _, _ in versions] == [(1, 100), (2, 111)]
    assert versions[0][3] == "rule" and versions[1][2] == seen and versions[1][3] == "observed"
    latest = con.execute(
        "select asset_mgr_long_contracts from analytics.cot_positioning where report_date = '2026-08-04'"
    ).fetchone()
    assert latest == (111,)
    con.execute("set variable as_of = timestamptz '2026-08-20 00:00:00+00'")
    known_then = con.execute(
        "select asset_mgr_long_contracts, asset_mgr_net_contracts from analytics.cot_positioning"
        " where report_date = '2026-08-04'"
    ).fetchone()
    con.execute("reset variable as_of")
    assert known_then == (100, 60)


def test_as_of_hides_rows_not_yet_published(con, warehouse):  # type: ignore[no-untyped-def]
    loader.ingest(con, TFF, [payload("cftc_tff", two_weeks())], warehouse.raw_dir)
    # 2026-08-04 positions are released Friday 2026-08-07 15:30 ET = 19:30 UTC.
    con.execute("set variable as_of = timestamptz '2026-08-07 19:29:00+00'")
    assert con.execute("select max(report_date) from analytics.cot_positioning").fetchone() == (date(2026, 7, 28),)
    con.execute("set variable as_of = timestamptz '2026-08-07 19:30:00+00'")
    assert con.execute("select max(report_date) from analytics.cot_positioning").fetchone() == (date(2026, 8, 4),)


def test_live_fetch_on_time_records_observed_first_seen(con, warehouse):  # type: ignore[no-untyped-def]
    seen = datetime(2026, 8, 7, 22, 0, tzinfo=UTC)  # 2.5 h after the scheduled release
    loader.ingest(con, TFF, [payload("cftc_tff", two_weeks(), live=True, fetched_at=seen)], warehouse.raw_dir)
    rows = dict(con.execute("select report_date, available_at_source from raw.cftc__tff").fetchall())
    # the week released that day is observed; the week before was a backfill: rule
    assert rows == {date(2026, 8, 4): "observed", date(2026, 7, 28): "rule"}


def test_failure_mid_load_leaves_every_table_unchanged_and_keeps_the_payload(con, warehouse, monkeypatch):  # type: ignore[no-untyped-def]
    loader.ingest(con, TFF, [payload("cftc_tff", two_weeks())], warehouse.raw_dir)
    before = snapshot(con)
    real_log = loader._log

    seen_inside: list[int] = []

    def crash_after_insert(*args, **kwargs):  # type: ignore[no-untyped-def]
        # the new row is inserted inside the open transaction, then the process is interrupted
        seen_inside.append(con.execute("select count(*) from raw.cftc__tff").fetchone()[0])
        raise KeyboardInterrupt("killed mid-load (injected)")

    monkeypatch.setattr(loader, "_log", crash_after_insert)
    new = tff_text([tff_line("209742", "2026-07-21", 286903)])
    with pytest.raises(KeyboardInterrupt):
        loader.ingest(con, TFF, [payload("cftc_tff", new, origin="new.txt")], warehouse.raw_dir)
    monkeypatch.setattr(loader, "_log", real_log)
    assert seen_inside == [3]
    assert snapshot(con) == before
    assert len(list(iter_raw(warehouse.raw_dir, "cftc_tff"))) == 2  # the bad load's payload is kept


def test_bad_payload_is_refused_whole_logged_and_kept(con, warehouse):  # type: ignore[no-untyped-def]
    before = snapshot(con)
    bad = tff_text([tff_line("209742", "2026-07-28", 1), tff_line("209742", "2026-07-28", 2)])
    res = loader.ingest(con, TFF, [payload("cftc_tff", bad, origin="dup.txt")], warehouse.raw_dir)
    assert res[0].outcome == "quarantined"
    assert "same key appears with different values" in res[0].message
    assert snapshot(con) == before
    logged = con.execute("select outcome, origin, message from meta.loads").fetchall()
    assert logged[0][:2] == ("quarantined", "dup.txt") and "different values" in logged[0][2]
    assert len(list(iter_raw(warehouse.raw_dir, "cftc_tff"))) == 1
    kept = quarantined(warehouse.quarantine_dir, "cftc_tff")
    assert list(kept) == [res[0].sha256] and "different values" in kept[res[0].sha256]["reason"]
    assert (warehouse.quarantine_dir / "cftc_tff" / f"{res[0].sha256[:16]}_dup.txt").read_bytes() == bad


def test_pages_of_one_run_load_all_or_nothing(con, warehouse):  # type: ignore[no-untyped-def]
    good = payload("cftc_tff", two_weeks(), origin="page1.json")
    truncated = payload("cftc_tff", two_weeks()[:-40], origin="page2.json")
    res = loader.ingest(con, TFF, [good, truncated], warehouse.raw_dir)
    assert [r.outcome for r in res] == ["failed", "quarantined"]
    assert res[0].message == "not loaded: page2.json in the same load was refused"
    assert con.execute("select count(*) from raw.cftc__tff").fetchone() == (0,)


def test_rows_dated_after_the_load_date_are_refused(con, warehouse):  # type: ignore[no-untyped-def]
    res = loader.ingest(con, TFF, [payload("cftc_tff", two_weeks())], warehouse.raw_dir, load_date=date(2026, 8, 1))
    assert res[0].outcome == "quarantined" and "after the load date 2026-08-01" in res[0].message
    assert con.execute("select count(*) from raw.cftc__tff").fetchone() == (0,)


def test_renamed_contract_stays_one_series_by_code(con, warehouse):  # type: ignore[no-untyped-def]
    text = tff_text(
        [
            tff_line(
                "209742", "2022-02-01", 239334, name="NASDAQ-100 STOCK INDEX (MINI) - CHICAGO MERCANTILE EXCHANGE"
            ),
            tff_line("209742", "2022-02-08", 233767, name="NASDAQ MINI - CHICAGO MERCANTILE EXCHANGE"),
        ]
    )
    loader.ingest(con, TFF, [payload("cftc_tff", text)], warehouse.raw_dir)
    rows = con.execute(
        "select contract_code, count(*), count(distinct market_name) from analytics.cot_positioning group by 1"
    ).fetchall()
    assert rows == [("209742", 2, 2)]


def test_migrations_apply_once(warehouse):  # type: ignore[no-untyped-def]
    c1 = connect_write(warehouse)
    applied = c1.execute("select count(*) from meta.schema_migrations").fetchone()[0]
    c1.close()
    c2 = connect_write(warehouse)
    assert c2.execute("select count(*) from meta.schema_migrations").fetchone()[0] == applied >= 1
    c2.close()


def test_overlapping_pages_of_one_load_are_deduplicated_or_refused(con, warehouse):  # type: ignore[no-untyped-def]
    page1 = payload("cftc_tff", two_weeks(), origin="page1.txt")
    same = payload("cftc_tff", tff_text([tff_line("209742", "2026-08-04", 303624)]), origin="page2.txt")
    res = loader.ingest(con, TFF, [page1, same], warehouse.raw_dir)
    assert [r.outcome for r in res] == ["loaded", "unchanged"]
    assert con.execute("select count(*), max(version) from raw.cftc__tff").fetchone() == (2, 1)

    clash1 = payload("cftc_tff", tff_text([tff_line("209742", "2026-07-21", 1000)]), origin="p1.txt")
    clash2 = payload("cftc_tff", tff_text([tff_line("209742", "2026-07-21", 2000)]), origin="p2.txt")
    res = loader.ingest(con, TFF, [clash1, clash2], warehouse.raw_dir)
    assert {r.outcome for r in res} == {"quarantined"}
    assert "different values for the same key" in res[0].message
    assert con.execute("select count(*) from raw.cftc__tff").fetchone() == (2,)
