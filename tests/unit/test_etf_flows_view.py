"""analytics.etf_flows and analytics.etf_shares on small frames loaded through the real loader.

Every expected value is computed by hand in the comments: flow_t = (SO_{t-L} - SO_{t-L-1}) * NAV_{t-L},
flow_frac_aum = (SO_{t-L} - SO_{t-L-1}) / SO_{t-L-1}; L = 0 dates the flow on its observation day,
L = 1 on the next NYSE trading day. Fund AAA (NAV given), 2024:
  01-02 1,000,000 @ 50.00 | 01-03 1,010,000 @ 51.00 | 01-04 1,005,000 @ 50.50
  01-05 2,010,000 @ 25.30 (2-for-1 split: shares x2.0, NAV x0.501) | 01-08 missing (gap)
  01-09 2,030,000 @ 25.00 | 01-10 2,020,000 @ 24.80
Fund CCC: close only (01-02 500,000 @ 20.00 | 01-03 501,000 @ 20.50).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import duckdb
import pytest

from flows.config import get_settings
from flows.loader import ingest
from flows.sources.etf import flows, shares
from flows.warehouse import connect_write
from tests.conftest import fixture_bytes
from tests.etf_builders import etf_payload

LOAD_DATE = date(2026, 9, 30)
SHARES_CSV = b"""date,symbol,shares_outstanding,nav_usd,close_usd
2024-01-02,AAA,1000000,50.00,
2024-01-03,AAA,1010000,51.00,
2024-01-04,AAA,1005000,50.50,
2024-01-05,AAA,2010000,25.30,
2024-01-09,AAA,2030000,25.00,
2024-01-10,AAA,2020000,24.80,
2024-01-02,CCC,500000,,20.00
2024-01-03,CCC,501000,,20.50
"""
VENDOR_CSV = b"""date,symbol,flow_usd,aum_usd
2024-01-04,AAA,-300000,60000000
2024-01-05,AAA,1000000,
2024-01-03,VVV,5000000,100000000
2024-01-04,VVV,2000000,104000000
"""
COLS = "date, obs_date, flow_usd, flow_frac_aum, method, source, split_ratio, note"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def con(warehouse) -> Iterator[duckdb.DuckDBPyConnection]:  # type: ignore[no-untyped-def]
    c = connect_write(warehouse)
    yield c
    c.close()


def load(con, spec, content: bytes, origin: str, hints: dict[str, str] | None = None, **kw) -> None:  # type: ignore[no-untyped-def]
    payload = etf_payload(spec.name, content, origin, **kw, **(hints or {}))
    [res] = ingest(con, spec, [payload], get_settings().raw_dir, load_date=LOAD_DATE)
    assert res.outcome == "loaded", res.message


def flows_of(con, symbol: str, lag: int | None = None) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    if lag is None:
        con.execute(f"reset variable {flows.LAG_VARIABLE}")
    else:
        flows.set_flow_lag(con, lag)
    return con.execute(f"select {COLS} from analytics.etf_flows where symbol = ? order by date", [symbol]).fetchall()


def test_lag_0_flows_gap_split_and_first_observation(con) -> None:  # type: ignore[no-untyped-def]
    load(con, shares.SPEC, SHARES_CSV, "s.csv")
    d = date
    assert flows_of(con, "AAA", lag=0) == [
        (d(2024, 1, 2), d(2024, 1, 2), None, None, "shares_x_nav", "user_csv", None, "first_observation"),
        # (1,010,000 - 1,000,000) * 51.00 = 510,000; 10,000 / 1,000,000 = 0.01
        (d(2024, 1, 3), d(2024, 1, 3), 510_000.0, 0.01, "shares_x_nav", "user_csv", None, None),
        # (1,005,000 - 1,010,000) * 50.50 = -252,500; -5,000 / 1,010,000
        (d(2024, 1, 4), d(2024, 1, 4), -252_500.0, -5_000 / 1_010_000, "shares_x_nav", "user_csv", None, None),
        # shares x2.0 and NAV x(25.30 / 50.50 = 0.501): a 2-for-1 split, not a 1,005,000-share creation
        (d(2024, 1, 5), d(2024, 1, 5), None, None, "shares_x_nav", "user_csv", 2.0, "split_neutralised"),
        # previous row 01-05, but the previous trading day of 01-09 is 01-08: no flow across the gap
        (d(2024, 1, 9), d(2024, 1, 9), None, None, "shares_x_nav", "user_csv", None, "gap"),
        # (2,020,000 - 2,030,000) * 24.80 = -248,000
        (d(2024, 1, 10), d(2024, 1, 10), -248_000.0, -10_000 / 2_030_000, "shares_x_nav", "user_csv", None, None),
    ]


def test_lag_1_dates_each_flow_on_the_next_trading_day(con) -> None:  # type: ignore[no-untyped-def]
    load(con, shares.SPEC, SHARES_CSV, "s.csv")
    got = [(r[0], r[1], r[2], r[7]) for r in flows_of(con, "AAA", lag=1)]
    assert got == [
        (date(2024, 1, 3), date(2024, 1, 2), None, "first_observation"),
        (date(2024, 1, 4), date(2024, 1, 3), 510_000.0, None),
        (date(2024, 1, 5), date(2024, 1, 4), -252_500.0, None),
        (date(2024, 1, 8), date(2024, 1, 5), None, "split_neutralised"),  # Friday -> Monday
        (date(2024, 1, 10), date(2024, 1, 9), None, "gap"),
        (date(2024, 1, 11), date(2024, 1, 10), -248_000.0, None),
    ]
    assert flows_of(con, "AAA") == flows_of(con, "AAA", lag=1)  # variable unset = the default, 1


def test_flow_available_at_is_when_its_inputs_were_public(con) -> None:  # type: ignore[no-untyped-def]
    load(con, shares.SPEC, SHARES_CSV, "s.csv")
    flows.set_flow_lag(con, 1)
    # Flow dated 01-04 uses the rows of 01-03 (public 01-04 09:00 EST) and 01-02 (01-03 09:00).
    row = con.execute("select available_at from analytics.etf_flows where symbol = 'AAA' and date = '2024-01-04'")
    assert row.fetchone() == (utc(2024, 1, 4, 14, 0),)


def test_as_of_shows_only_flows_whose_inputs_were_public(con) -> None:  # type: ignore[no-untyped-def]
    load(con, shares.SPEC, SHARES_CSV, "s.csv")
    load(con, flows.SPEC, VENDOR_CSV, "v.csv")
    flows.set_flow_lag(con, 1)
    con.execute("set variable as_of = timestamptz '2024-01-04 14:30:00+00'")
    try:
        got = con.execute("select symbol, date, flow_usd from analytics.etf_flows order by symbol, date").fetchall()
    finally:
        con.execute("reset variable as_of")
    assert got == [
        ("AAA", date(2024, 1, 3), None),
        ("AAA", date(2024, 1, 4), 510_000.0),
        ("CCC", date(2024, 1, 3), None),
        ("CCC", date(2024, 1, 4), 20_500.0),
        ("VVV", date(2024, 1, 4), 5_000_000.0),  # vendor 01-03 (public 01-04 09:00) shifted by L=1
    ]


def test_close_price_is_a_labelled_last_resort(con) -> None:  # type: ignore[no-untyped-def]
    load(con, shares.SPEC, SHARES_CSV, "s.csv")
    row = con.execute(
        "select flow_usd, price_usd, nav_usd, method from analytics.etf_flows"
        " where symbol = 'CCC' and date = '2024-01-04'"
    ).fetchone()
    assert row == (20_500.0, 20.5, None, "shares_x_close")  # (501,000 - 500,000) * 20.50 close


def test_vendor_flows_are_shifted_by_the_lag_and_fill_only_where_shares_give_no_flow(con) -> None:  # type: ignore[no-untyped-def]
    load(con, shares.SPEC, SHARES_CSV, "s.csv")
    load(con, flows.SPEC, VENDOR_CSV, "v.csv")
    aaa = {r[0]: r for r in flows_of(con, "AAA", lag=1)}
    # 01-05 (obs 01-04): the shares-derived -252,500 outranks the vendor's -300,000.
    assert aaa[date(2024, 1, 5)][2:6] == (-252_500.0, -5_000 / 1_010_000, "shares_x_nav", "user_csv")
    # 01-08 (obs 01-05, the split day): the vendor's 1,000,000 fills in, and the split is still shown;
    # flow_frac_aum = 1,000,000 / the vendor's aum of the previous trading day (60,000,000).
    assert aaa[date(2024, 1, 8)] == (
        date(2024, 1, 8), date(2024, 1, 5), 1_000_000.0, 1 / 60, "vendor", "vendor_csv", 2.0, "split_in_shares_series",
    )  # fmt: skip
    vvv = flows_of(con, "VVV", lag=0)
    assert vvv == [
        (date(2024, 1, 3), date(2024, 1, 3), 5_000_000.0, None, "vendor", "vendor_csv", None, None),
        (date(2024, 1, 4), date(2024, 1, 4), 2_000_000.0, 0.02, "vendor", "vendor_csv", None, None),  # 2e6 / 1e8
    ]


def test_nav_from_invesco_prices_shares_from_the_csv_and_dates_availability(con) -> None:  # type: ignore[no-untyped-def]
    load(con, shares.SPEC, b"date,symbol,shares_outstanding,close_usd\n"
         b"2024-03-04,QQQ,556900000,444.74\n2024-03-05,QQQ,558000000,440.00\n", "q.csv")  # fmt: skip
    navs = (
        b'{"ticker": "QQQ", "navs": [{"effectiveDate": "2024-03-05", "netAssetValue": 440.1234},'
        b' {"effectiveDate": "2024-03-04", "netAssetValue": 445.7612}]}'
    )
    # Fetched live on 03-06 at 15:00 UTC: the 03-05 NAV (rule 03-06 14:00) counts as observed then.
    load(con, shares.SPEC, navs, "https://dng-api.invesco.com/x", live=True, fetched_at=utc(2024, 3, 6, 15, 0),
         hints={"symbol": "QQQ"})  # fmt: skip
    flows.set_flow_lag(con, 0)
    row = con.execute(
        "select flow_usd, nav_usd, method, source, available_at from analytics.etf_flows"
        " where symbol = 'QQQ' and date = '2024-03-05'"
    ).fetchone()
    # (558,000,000 - 556,900,000) * 440.1234 = 484,135,740; public when the last input was: the NAV.
    assert row == (pytest.approx(484_135_740.0), 440.1234, "shares_x_nav", "user_csv", utc(2024, 3, 6, 15, 0))
    view = con.execute(
        "select shares_outstanding, nav_usd, close_usd, shares_source, nav_source, available_at"
        " from analytics.etf_shares where symbol = 'QQQ' and date = '2024-03-05'"
    ).fetchone()
    assert view == (558_000_000, 440.1234, 440.0, "user_csv", "invesco", utc(2024, 3, 6, 15, 0))


def test_overlapping_publishers_are_not_revisions_and_issuer_split_is_neutralised(con) -> None:  # type: ignore[no-untyped-def]
    load(con, shares.SPEC, fixture_bytes("etf", "SOXX_fund.xls"), "SOXX_fund.xls")
    load(con, shares.SPEC, fixture_bytes("etf", "user_etf_shares.csv"), "user_etf_shares.csv")
    versions = con.execute(
        "select source, count(*), max(version) from raw.etf__shares where symbol = 'SOXX' group by 1"
    )
    assert sorted(versions.fetchall()) == [("ishares", 5, 1), ("user_csv", 3, 1)]
    got = {r[0]: r[2:] for r in flows_of(con, "SOXX", lag=0)}
    assert got == {
        date(2024, 3, 1): (None, None, "shares_x_nav", "ishares", None, "first_observation"),
        # only the CSV has 03-04 (iShares' row is a '--' template): -50,000 * close 701.10
        date(2024, 3, 4): (-35_055_000.0, -50_000 / 20_500_000, "shares_x_close", "user_csv", None, None),
        # iShares' series jumps 03-01 -> 03-05 (gap); the CSV's is consecutive, priced at iShares' NAV 706.20
        date(2024, 3, 5): (-35_310_000.0, -50_000 / 20_450_000, "shares_x_nav", "user_csv", None, None),
        date(2024, 3, 6): (35_775_000.0, 50_000 / 20_400_000, "shares_x_nav", "ishares", None, None),  # x 715.50
        # 3-for-1: 61,500,000 / 20,450,000 = 3.007 and 240.00 / 715.50 = 0.335
        date(2024, 3, 7): (None, None, "shares_x_nav", "ishares", 3.0, "split_neutralised"),
        date(2024, 3, 8): (71_730_000.0, 300_000 / 61_500_000, "shares_x_nav", "ishares", None, None),  # x 239.10
    }
    picked = con.execute(
        "select date, shares_outstanding, shares_source, close_usd from analytics.etf_shares"
        " where symbol = 'SOXX' and date in ('2024-03-04', '2024-03-05') order by date"
    ).fetchall()
    assert picked == [
        (date(2024, 3, 4), 20_450_000, "user_csv", 701.1),
        (date(2024, 3, 5), 20_400_000, "ishares", 706.0),
    ]


def test_a_share_jump_without_prices_to_confirm_is_not_counted_as_a_flow(con) -> None:  # type: ignore[no-untyped-def]
    load(con, shares.SPEC, b"date,symbol,shares_outstanding,close_usd\n2024-01-02,DDD,1000000,\n"
         b"2024-01-03,DDD,3000000,10.0\n", "d.csv")  # fmt: skip
    assert flows_of(con, "DDD", lag=0)[1][2:] == (None, None, "shares_x_close", "user_csv", None,
                                                  "possible_split_unverified")  # fmt: skip


def test_a_lag_other_than_0_or_1_stops_the_view_with_a_clear_error(con) -> None:  # type: ignore[no-untyped-def]
    load(con, shares.SPEC, SHARES_CSV, "s.csv")
    con.execute(f"set variable {flows.LAG_VARIABLE} = 2")
    with pytest.raises(duckdb.Error, match="etf_flow_lag_days must be 0 or 1, not 2"):
        con.execute("select * from analytics.etf_flows").fetchall()
