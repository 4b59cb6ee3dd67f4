"""Real public data from ../shared/data: every price file, the canonical prices.csv and both FRED
DGS10 files import; values match the files; overlapping vendors stay side by side; the only
versions are real revisions.

Values asserted here were read by hand from the files (the line is quoted in each comment).
"""

from __future__ import annotations

import csv
import hashlib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from flows.pipeline import import_paths
from flows.sources.base import Payload
from flows.sources.prices.daily import parse as parse_prices
from flows.warehouse import connect_read

pytestmark = pytest.mark.realdata

PRICE_FILES = 26  # ../shared/data/prices/*.csv
ROBINFRANK = ("AMD", "AVGO", "CRWV", "MSFT", "MU", "NBIS", "NVDA")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):  # type: ignore[no-untyped-def]
    from tests.conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (../shared/data is not part of the repo)")
    mp = pytest.MonkeyPatch()
    mp.setenv("FLOWSCOPE_WAREHOUSE", str(tmp_path_factory.mktemp("real_prices") / "flowscope.duckdb"))
    prices = import_paths("prices", [SHARED_DATA / "prices", SHARED_DATA / "canonical" / "prices.csv"])
    rates = import_paths("rates", [SHARED_DATA / "fred"])
    yield {"prices": prices, "rates": rates, "shared": SHARED_DATA}
    mp.undo()


def q(sql: str, *params):  # type: ignore[no-untyped-def]
    con = connect_read()
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def one(sql: str, *params):  # type: ignore[no-untyped-def]
    rows = q(sql, *params)
    assert len(rows) == 1, rows
    return rows[0]


def by_file(results) -> dict:  # type: ignore[no-untyped-def]
    return {r.origin.rsplit("/", 1)[-1]: r for r in results}


def test_every_price_and_fred_file_imports(loaded):  # type: ignore[no-untyped-def]
    assert [r.outcome for r in loaded["prices"]] == ["loaded"] * (PRICE_FILES + 1)
    assert [r.outcome for r in loaded["rates"]] == ["loaded"] * 2
    files = by_file(loaded["prices"])
    assert files["NVDA.csv"].rows_in == 6642 and files["prices.csv"].rows_new == 78944
    # robinfrank repeats BackTester39's last 478 days and adds 23 (2026-06-01..07-02)
    r = files["NVDA_robinfrank.csv"]
    assert (r.rows_new, r.rows_revised, r.rows_unchanged) == (23, 1, 477)
    assert files["SPY_johnamcminn_alphavantage.csv"].rows_new == 100  # a vendor of its own: no revision


def test_only_versions_are_the_final_volumes_of_2026_05_29(loaded):  # type: ignore[no-untyped-def]
    rows = q("select symbol, date, series_source from raw.prices__daily where version > 1 order by symbol")
    assert rows == [(s, date(2026, 5, 29), "yahoo_csv") for s in ROBINFRANK]
    # NVDA.csv:           "2026-05-29,214.5800018310547,...,211.13999938964844,288291500"
    # NVDA_robinfrank.csv "2026-05-29,214.5800018310547,...,211.13999938964844,289410600"
    versions = q(
        "select version, close, volume from raw.prices__daily where symbol = 'NVDA' and date = '2026-05-29'"
        " and series_source = 'yahoo_csv' order by version"
    )
    assert versions == [(1, 211.13999938964844, 288291500), (2, 211.13999938964844, 289410600)]


def test_as_of_before_the_later_export_shows_the_first_volume(loaded):  # type: ignore[no-untyped-def]
    con = connect_read()
    try:
        con.execute("set variable as_of = timestamptz '2026-06-01 00:00:00+00'")
        row = con.execute(
            "select volume, version from analytics.prices where symbol = 'NVDA' and date = '2026-05-29'"
        ).fetchone()
    finally:
        con.close()
    assert row == (288291500, 1)
    assert one("select volume, version from analytics.prices where symbol = 'NVDA' and date = '2026-05-29'") == (
        289410600, 2
    )  # fmt: skip


def test_nvda_close_and_return_match_the_file(loaded):  # type: ignore[no-untyped-def]
    # NVDA.csv: "2024-06-07,119.7699966430664,121.69200134277344,118.02200317382812,120.88800048828125,412386000"
    #           "2024-06-10,120.37000274658203,123.0999984741211,117.01000213623047,121.79000091552734,313434100"
    row = one(
        "select open, high, low, close, adj_close, volume, return_1d, series_source, available_at"
        " from analytics.prices where symbol = 'NVDA' and date = '2024-06-10'"
    )
    assert row[:6] == (120.37000274658203, 123.0999984741211, 117.01000213623047, 121.79000091552734, None, 313434100)
    assert row[6] == pytest.approx(121.79000091552734 / 120.88800048828125 - 1)
    assert row[7] == "yahoo_csv"
    assert row[8] == datetime(2024, 6, 10, 20, 0, tzinfo=UTC)  # 16:00 EDT


def test_spy_after_may_2026_comes_from_the_alpha_vantage_file(loaded):  # type: ignore[no-untyped-def]
    # SPY_johnamcminn_alphavantage.csv: "2026-08-21,765.9700,767.8500,764.1700,765.6200,38996889"
    #                                   "2026-08-20,765.9600,768.1500,762.0400,762.6000,45520302"
    row = one(
        "select open, high, low, close, volume, series_source, return_1d"
        " from analytics.prices where symbol = 'SPY' and date = '2026-08-21'"
    )
    assert row[:6] == (765.97, 767.85, 764.17, 765.62, 38996889, "alphavantage_csv")
    assert row[6] == pytest.approx(765.62 / 762.60 - 1)
    # 2026-05-29 is in both: SPY.csv "...,756.47998046875,54976100" wins; Alpha Vantage's
    # "2026-05-29,755.9000,758.0800,754.6900,756.4800,55075739" is kept beside it, not as a revision.
    sql = "select close, volume, series_source from analytics.prices where symbol = 'SPY' and date = '2026-05-29'"
    assert one(sql) == (756.47998046875, 54976100, "yahoo_csv")
    assert q(
        "select series_source, version, volume from raw.prices__daily where symbol = 'SPY' and date = '2026-05-29'"
        " order by series_source"
    ) == [("alphavantage_csv", 1, 55075739), ("user_csv", 1, 54976100), ("yahoo_csv", 1, 54976100)]


def test_etf_adjusted_series_and_vendor_switch(loaded):  # type: ignore[no-untyped-def]
    # SOXX_landon.csv:
    #   "2023-07-03,169.8633270263672,171.0,168.71665954589844,170.58999633789062,167.22073364257812,809400"
    #   "2023-07-05,169.4499969482422,169.8000030517578,166.76666259765625,166.82000732421875,163.5252685546875,2821800"
    soxx = {
        d: (c, a, r, s)
        for d, c, a, r, s in q(
            "select date, close, adj_close, return_1d, series_source from analytics.prices"
            " where symbol = 'SOXX' and date in ('2023-07-03', '2023-07-05')"
        )
    }
    assert soxx[date(2023, 7, 3)] == (170.58999633789062, 167.22073364257812, None, "yahoo_csv_adj")
    assert soxx[date(2023, 7, 5)][2] == pytest.approx(163.5252685546875 / 167.22073364257812 - 1)  # adj-based
    # SMH_landon.csv "2026-07-02,...,592.2899780273438,592.2899780273438,19029808" wins; Alpha Vantage's
    # "2026-07-02,622.5800,627.7000,582.6000,592.2900,21334058" stays beside it. 2026-07-06 only in
    # Alpha Vantage "2026-07-06,607.0500,618.2100,604.0500,604.3000,9820715": its return uses its own 07-02.
    smh = {
        d: (v, s, r)
        for d, v, s, r in q(
            "select date, volume, series_source, return_1d from analytics.prices"
            " where symbol = 'SMH' and date in ('2026-07-02', '2026-07-06')"
        )
    }
    assert smh[date(2026, 7, 2)][:2] == (19029808, "yahoo_csv_adj")
    assert smh[date(2026, 7, 6)][:2] == (9820715, "alphavantage_csv")
    assert smh[date(2026, 7, 6)][2] == pytest.approx(604.30 / 592.29 - 1)


def test_placeholder_bar_and_canonical_coverage(loaded):  # type: ignore[no-untyped-def]
    # AMD.csv "2015-01-02,2.6700000762939453,2.6700000762939453,2.6700000762939453,2.6700000762939453,0"
    assert one("select volume, close from analytics.prices where symbol = 'AMD' and date = '2015-01-02'") == (
        0, 2.6700000762939453
    )  # fmt: skip
    files = by_file(loaded["prices"])
    assert any("AMD 2015-01-02" in w for w in files["AMD.csv"].warnings)
    # canonical/prices.csv is the union of the vendors: the view has exactly its 78,944 symbol-days
    counts = dict(q("select symbol, count(*) from analytics.prices group by 1"))
    assert counts["NVDA"] == 6665 and counts["SMH"] == 6593 and counts["CRWV"] == 317
    assert sum(counts.values()) == 78944


def test_dgs10_values_as_fractions(loaded):  # type: ignore[no-untyped-def]
    rates = {d: y for d, y in q("select date, yield_frac from analytics.rates where series_id = 'DGS10'")}
    assert rates[date(2024, 6, 10)] == 0.0447  # both files: "2024-06-10,4.47"
    assert rates[date(2000, 1, 3)] == 0.0658  # expectedshortfall: "2000-01-03,6.58"
    assert rates[date(2026, 8, 28)] == 0.0473  # sphynxkatt0: "2026-08-28,4.73"
    # expectedshortfall "2023-01-16," (MLK day, empty): a null row in raw, not in the view
    assert date(2023, 1, 16) not in rates
    assert one("select yield_frac from raw.fred__rates where date = '2023-01-16'") == (None,)
    assert one("select count(*), count(yield_frac) from raw.fred__rates") == (6940, 6668)
    assert one("select available_at from analytics.rates where date = '2024-06-10'") == (
        datetime(2024, 6, 11, 13, 0, tzinfo=UTC),
    )


def test_the_two_fred_files_agree_where_they_overlap(loaded):  # type: ignore[no-untyped-def]
    def read(path: Path) -> dict[str, str]:
        with open(path, newline="") as fh:
            return {r[0]: r[1] for r in list(csv.reader(fh))[1:]}

    fred = loaded["shared"] / "fred"
    a, b = read(fred / "expectedshortfall_DGS10_2000_2025.csv"), read(fred / "sphynxkatt0_DGS10_2023_2026.csv")
    common = set(a) & set(b)
    assert len(common) == 549 and all(a[d] == b[d] for d in common)
    # the later file omits the 24 holidays the earlier one lists empty: no row, no change
    assert sum(1 for d in a if "2023-01-03" <= d <= "2025-03-13" and d not in b) == 24
    r = by_file(loaded["rates"])["sphynxkatt0_DGS10_2023_2026.csv"]
    assert (r.rows_new, r.rows_revised, r.rows_unchanged) == (366, 0, 549)
    assert one("select max(version) from raw.fred__rates") == (1,)


def test_importing_again_changes_nothing(loaded):  # type: ignore[no-untyped-def]
    def digest() -> str:
        rows = q("select * from raw.prices__daily order by all") + q("select * from raw.fred__rates order by all")
        return hashlib.sha256(repr(rows).encode()).hexdigest()

    before = digest()
    again = import_paths("prices", [loaded["shared"] / "prices", loaded["shared"] / "canonical" / "prices.csv"])
    again += import_paths("rates", [loaded["shared"] / "fred"])
    assert {r.outcome for r in again} == {"duplicate"}
    assert digest() == before


def test_validate_passes_the_prices_and_rates_suites(loaded):  # type: ignore[no-untyped-def]
    # what `flowscope validate --as-of 2026-08-31` runs for these two datasets (flows.quality.run),
    # restricted to them so other datasets' empty tables do not matter here
    from flows.quality.gate import validate_frame
    from flows.quality.run import targets

    as_of = date(2026, 8, 31)
    mine = ("raw__prices__daily", "analytics__prices", "raw__fred__rates", "analytics__rates")
    con = connect_read()
    try:
        reports = {}
        for t in (t for t in targets() if t.suite in mine):
            frame = con.sql(t.sql).pl()
            frame = frame.drop("version") if t.suite.startswith("raw__") else frame
            fresh = as_of - t.stale_after if t.stale_after else None
            reports[t.suite] = validate_frame(t.suite, frame, load_date=as_of, fresh_since=fresh)
    finally:
        con.close()
    assert {s: r.success for s, r in reports.items()} == dict.fromkeys(mine, True)
    assert [w.line() for w in reports["analytics__prices"].warnings] == ["stale: newest date is 2026-08-21 00:00:00"]
    assert all(not r.failures for s, r in reports.items() if s != "analytics__prices")


def test_mislabelled_yfinance_exports_are_remapped_and_match_landon(loaded):  # type: ignore[no-untyped-def]
    third = loaded["shared"] / "thirdparty" / "prices"
    if not (third / "SMH_hjyssg.csv").exists():
        pytest.skip("thirdparty/prices/SMH_hjyssg.csv absent")

    def frame(path: Path):  # type: ignore[no-untyped-def]
        return parse_prices(Payload("prices", path.read_bytes(), str(path), datetime.now(UTC))).frame

    hj = frame(third / "SMH_hjyssg.csv")
    # "2024-12-30 00:00:00+00:00,244.66000366210938,244.66000366210938,247.35000610351562,242.72999572753906,
    #  244.6199951171875,3531100": Adj Close, Close, High, Low, Open under the labels Open..Adj Close
    last = hj.filter(hj["date"] == date(2024, 12, 30)).row(0, named=True)
    assert (last["open"], last["high"], last["low"], last["close"], last["adj_close"]) == (
        244.6199951171875, 247.35000610351562, 242.72999572753906, 244.66000366210938, 244.66000366210938
    )  # fmt: skip
    landon = frame(loaded["shared"] / "prices" / "SMH_landon.csv")
    cols = ["date", "open", "high", "low", "close"]
    joined = hj.select(cols).join(landon.select(cols), on="date", suffix="_l")
    assert joined.height == 377  # PROVENANCE §9: OHLC identical on the 377 common days
    assert all((joined[c] == joined[f"{c}_l"]).all() for c in cols[1:])
