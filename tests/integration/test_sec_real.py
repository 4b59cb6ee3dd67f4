"""Real SEC data from ../shared/data: the ticker map, Apple's full companyfacts and the trimmed
companyfacts of NVDA AMD AVGO MU LRCX ORCL MSFT import whole, and the fundamentals view holds the
values read by hand from the JSON files (the row is quoted in each comment).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from flows.pipeline import import_paths
from flows.warehouse import connect_read

pytestmark = pytest.mark.realdata

REV = "RevenueFromContractWithCustomerExcludingAssessedTax"
# PROVENANCE.md §6 (AAPL: 24,376 fact rows) and §11a (fact rows per trimmed file).
FACT_ROWS = {"AAPL": 24376, "NVDA": 2568, "AMD": 2457, "AVGO": 1195, "MU": 2614, "LRCX": 2242, "ORCL": 1991,
             "MSFT": 3017}  # fmt: skip


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):  # type: ignore[no-untyped-def]
    from tests.conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    mp = pytest.MonkeyPatch()
    mp.setenv("FLOWSCOPE_WAREHOUSE", str(tmp_path_factory.mktemp("sec") / "flowscope.duckdb"))
    tickers = import_paths("sec_tickers", [SHARED_DATA / "sec_edgar" / "company_tickers.json"])
    files = [SHARED_DATA / "sec_edgar" / "companyfacts_CIK0000320193_AAPL_format_sample.json"]
    files += sorted((SHARED_DATA / "fundamentals").glob("secxbrl_valuationgalaxy_companyfacts_trimmed_*.json"))
    facts = import_paths("sec_facts", files)
    yield {"tickers": tickers, "facts": facts, "shared": SHARED_DATA}
    mp.undo()


def q(sql: str, as_of: str | None = None) -> pl.DataFrame:
    con = connect_read()
    try:
        if as_of:
            con.execute(f"set variable as_of = timestamptz '{as_of}'")
        return con.sql(sql).pl()
    finally:
        con.close()


def view_row(symbol: str, end: str, kind: str = "quarter", as_of: str | None = None) -> dict:
    rows = q(
        f"select * from analytics.fundamentals where symbol = '{symbol}' and fiscal_period_end = '{end}'"
        f" and period_kind = '{kind}'",
        as_of,
    )
    assert rows.height == 1, f"{symbol} {kind} {end}: {rows.height} rows"
    return rows.row(0, named=True)


def test_every_fact_row_of_every_file_is_kept(loaded) -> None:  # type: ignore[no-untyped-def]
    assert [r.outcome for r in loaded["tickers"]] == ["loaded"] and loaded["tickers"][0].rows_in == 10303
    by_symbol = {}
    for r in loaded["facts"]:
        name = r.origin.rsplit("/", 1)[-1]
        symbol = "AAPL" if "AAPL" in name else name.removesuffix(".json").rsplit("_", 1)[-1]
        by_symbol[symbol] = (r.outcome, r.rows_in, r.rows_new)
    assert by_symbol == {s: ("loaded", n, n) for s, n in FACT_ROWS.items()}
    total = q("select count(*) from raw.sec__facts").item()
    assert total == sum(FACT_ROWS.values())


def test_universe_ciks_come_from_the_ticker_map(loaded) -> None:  # type: ignore[no-untyped-def]
    # PROVENANCE §6: NVDA 1045810, AMD 2488, AVGO 1730168, ... NBIS 1513845, APLD 1144879.
    ciks = dict(q("select ticker, cik from analytics.sec_tickers where ticker in "
                  "('NVDA', 'AMD', 'AVGO', 'CRWV', 'NBIS', 'APLD')").iter_rows())  # fmt: skip
    assert ciks == {"NVDA": "0001045810", "AMD": "0000002488", "AVGO": "0001730168", "CRWV": "0001769628",
                    "NBIS": "0001513845", "APLD": "0001144879"}  # fmt: skip
    symbols = set(q("select distinct symbol from analytics.fundamentals")["symbol"])
    assert symbols == {"AAPL", "NVDA", "AMD", "AVGO", "MU", "LRCX", "ORCL", "MSFT"}


def test_apple_quarter_ending_2024_06_29_as_first_filed(loaded) -> None:  # type: ignore[no-untyped-def]
    # {"start": "2024-03-31", "end": "2024-06-29", "val": 85777000000, "accn": "0000320193-24-000081",
    #  "fy": 2024, "fp": "Q3", "form": "10-Q", "filed": "2024-08-02"} (again in the 2025-08-01 10-Q)
    r = view_row("AAPL", "2024-06-29")
    assert (r["revenue_usd"], r["revenue_tag"], r["revenue_method"]) == (85777000000, REV, "reported")
    assert (r["filed_date"], r["fiscal_period_start"]) == (date(2024, 8, 2), date(2024, 3, 31))
    assert r["available_at"] == datetime(2024, 8, 3, 2, 0, tzinfo=UTC)
    assert (r["net_income_usd"], r["eps_diluted_usd"], r["eps_method"]) == (21448000000, 1.40, "reported")
    raw = q(f"select accn, filed_date from raw.sec__facts where cik = '0000320193' and tag = '{REV}'"
            " and period_start = '2024-03-31' and period_end = '2024-06-29' order by filed_date")  # fmt: skip
    assert raw.rows() == [("0000320193-24-000081", date(2024, 8, 2)), ("0000320193-25-000073", date(2025, 8, 1))]


def test_apple_fiscal_q4_2024_is_the_10k_year_minus_nine_months(loaded) -> None:  # type: ignore[no-untyped-def]
    # FY 2023-10-01..2024-09-28 = 391,035,000,000 (10-K 2024-11-01); 9M ..2024-06-29 = 296,105,000,000
    # (10-Q 2024-08-02); net income 93,736,000,000 - 79,000,000,000; diluted shares 15,408,095,000 (FY)
    # and 15,463,175,000 (9M), day-weighted: (FY x 364 - 9M x 273) / 91 = 15,242,849,670 (Apple's
    # 10-K gives 15,242,853 thousand for its fourth quarter, reported EPS 0.97).
    r = view_row("AAPL", "2024-09-28")
    assert r["revenue_usd"] == 94930000000 and r["net_income_usd"] == 14736000000
    assert (r["revenue_method"], r["filed_date"]) == ("ytd_difference", date(2024, 11, 1))
    assert r["diluted_shares"] == pytest.approx(15242849670, rel=1e-6)
    assert r["eps_diluted_usd"] == pytest.approx(0.9667, abs=1e-4) and r["eps_method"] == "derived_ni_over_shares"
    assert "q4_derived" in r["flags"]
    # Not visible before the 10-K was public (22:00 New York on 2024-11-01 = 02:00 UTC).
    assert q("select count(*) from analytics.fundamentals where symbol = 'AAPL' and fiscal_period_end = "
             "'2024-09-28'", "2024-11-02 01:59:00+00").item() == 0  # fmt: skip


def test_apple_fy2020_year_and_quarter_share_fp_fy(loaded) -> None:  # type: ignore[no-untyped-def]
    # 10-K 0000320193-20-000096: 2019-09-29..2020-09-26 = 274,515,000,000 (363 days, fp FY) and
    # 2020-06-28..2020-09-26 = 64,698,000,000 (90 days, fp FY, frame CY2020Q3).
    assert view_row("AAPL", "2020-09-26", "year")["revenue_usd"] == 274515000000
    q4 = view_row("AAPL", "2020-09-26")
    assert (q4["revenue_usd"], q4["revenue_method"], q4["eps_diluted_usd"]) == (64698000000, "reported", 0.73)
    # Q3 FY2020 EPS first reported 2.58 (10-Q 2020-07-31) before the 4:1 split of August 2020.
    assert view_row("AAPL", "2020-06-27")["eps_diluted_usd"] == pytest.approx(0.645)


def test_nvidia_eps_before_and_after_its_2024_split(loaded) -> None:  # type: ignore[no-untyped-def]
    # Q1 FY2025 (2024-01-29..2024-04-28), 10-Q 2024-05-29: NetIncomeLoss 14,881,000,000, diluted
    # shares 2,489,000,000 (pre-split; 24,890,000,000 in the 10-Q of 2025-05-28).
    q1 = view_row("NVDA", "2024-04-28")
    assert (q1["split_factor"], q1["diluted_shares"]) == (10.0, 24890000000)
    assert q1["eps_diluted_usd"] == pytest.approx(14881 / 24890)  # 0.598 (5.98 as filed)
    # Q2 FY2025, 10-Q 2024-08-28 (post-split): 16,599,000,000 / 24,848,000,000.
    q2 = view_row("NVDA", "2024-07-28")
    assert (q2["split_factor"], q2["eps_diluted_usd"]) == (1.0, pytest.approx(16599 / 24848))
    # Q3 FY2021 (10-Q 2020-11-18, before the 4:1 split too): 1,336,000,000 / (630,000,000 x 40).
    assert view_row("NVDA", "2020-10-25")["eps_diluted_usd"] == pytest.approx(1336 / 25200)
    # Q4 FY2025 from the 10-K: revenue 130,497m - 91,166m; TTM revenue = the fiscal year.
    q4 = view_row("NVDA", "2025-01-26")
    assert q4["revenue_usd"] == 39331000000 and q4["ttm_revenue_usd"] == 130497000000
    assert view_row("NVDA", "2025-01-26", "year")["revenue_usd"] == 130497000000


def test_nvidia_2010_share_counts_tagged_in_thousands_are_rescaled(loaded) -> None:  # type: ignore[no-untyped-def]
    # 10-Q 2010-05-21: 2009-01-26..2009-04-26 = 542,307 "shares" (thousands); later filings 542 million.
    r = view_row("NVDA", "2009-04-26")
    assert r["diluted_shares"] == 542307000 * 40 and "shares_rescaled" in r["flags"]


def test_oracle_quarters_holding_a_full_year_are_dropped(loaded) -> None:  # type: ignore[no-untyped-def]
    # 10-K 2020-06-22, Revenues 2020-03-01..2020-05-31 = 39,068,000,000 = the fiscal year; Q4 is
    # FY (RevenueFromContract... 39,068m) - 9M (2019-06-01..2020-02-29, 28,629m).
    assert view_row("ORCL", "2020-05-31")["revenue_usd"] == 10439000000
    # FY2018 as first reported: Revenues 39,831m (10-K 2018-06-22), 9M 28,579m (10-Q 2018-03-21).
    assert view_row("ORCL", "2018-05-31")["revenue_usd"] == 11252000000
    quarters = q("select fiscal_period_end, revenue_usd from analytics.fundamentals where symbol = 'ORCL'"
                 " and period_kind = 'quarter' and revenue_usd > 20e9")  # fmt: skip
    assert quarters.is_empty()


def test_first_filed_quarterly_revenue_equals_the_per_filing_cross_check(loaded) -> None:  # type: ignore[no-untyped-def]
    # PROVENANCE §11: zacseidel revenue = SEC revenue on every row sharing a filing date with a
    # first-filed SEC quarterly fact: NVDA 44, AMD 39, AVGO 24, MU 46, LRCX 46, ORCL 47, MSFT 47.
    expected = {"NVDA": 44, "AMD": 39, "AVGO": 24, "MU": 46, "LRCX": 46, "ORCL": 47, "MSFT": 47}
    mart = q("select symbol, filed_date, revenue_usd from marts.fundamentals where period_kind = 'quarter'"
             " and revenue_method = 'reported'")  # fmt: skip
    for symbol, n in expected.items():
        path = loaded["shared"] / "thirdparty" / "fundamentals" / f"secxbrl_zacseidel_{symbol}_earnings_events.json"
        equal = differ = 0
        for event in json.loads(path.read_text()):
            filed = date.fromisoformat(event["filing_date"][:10])
            ours = mart.filter((pl.col("symbol") == symbol) & (pl.col("filed_date") == filed))["revenue_usd"]
            if ours.is_empty():
                continue
            if event["revenue"] in ours.to_list():
                equal += 1
            else:
                differ += 1
        assert (symbol, equal, differ) == (symbol, n, 0)


def test_available_at_is_never_before_edgar_acceptance(loaded) -> None:  # type: ignore[no-untyped-def]
    # submissions_*.json: acceptanceDateTime per accession. Every 10-Q/10-K of NVDA and MSFT there was
    # accepted after 16:00 New York on its filing date, so "filed date 16:00" would be look-ahead.
    ny = ZoneInfo("America/New_York")
    for cik, name in (("0001045810", "NVDA"), ("0000789019", "MSFT")):
        doc = json.loads((loaded["shared"] / "sec_edgar" / f"submissions_CIK{cik}_{name}.json").read_text())
        recent = doc["filings"]["recent"]
        accepted = {
            a: datetime.fromisoformat(t.replace("Z", "+00:00"))
            for a, t, f in zip(recent["accessionNumber"], recent["acceptanceDateTime"], recent["form"], strict=True)
            if f in ("10-Q", "10-K")
        }
        ours = dict(
            q(f"select accn, min(available_at) from raw.sec__facts where cik = '{cik}' group by accn").iter_rows()
        )
        common = sorted(set(accepted) & set(ours))
        assert len(common) >= 20
        assert all(ours[a] >= accepted[a] for a in common), [a for a in common if ours[a] < accepted[a]]
        after_close = [a for a in common if accepted[a].astimezone(ny).hour >= 16]
        assert after_close == common  # 16:01-20:44 on the filing date, or the evening before


def test_the_view_is_one_row_per_period_and_as_of_hides_later_filings(loaded) -> None:  # type: ignore[no-untyped-def]
    dup = q("select symbol, period_kind, fiscal_period_end, count(*) n from analytics.fundamentals group by all"
            " having n > 1")  # fmt: skip
    assert dup.is_empty()
    # NVDA's Q1 FY2025 10-Q was filed 2024-05-29: public by 02:00 UTC on the 30th.
    sql = "select max(fiscal_period_end) from analytics.fundamentals where symbol = 'NVDA' and period_kind = 'quarter'"
    assert q(sql, "2024-05-30 01:59:00+00").item() == date(2024, 1, 28)
    assert q(sql, "2024-05-30 02:00:00+00").item() == date(2024, 4, 28)
