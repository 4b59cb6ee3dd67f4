"""The fundamentals mart (flows.sources.sec.fundamentals) on small companyfacts fixtures.

Expected values are computed by hand from the fixture rows (``tests/fixtures/sec/``, values of the
companies' filings; see test_sec_facts_parse.py for what is invented). Day counts are inclusive:
FY2024 of Apple 2023-10-01..2024-09-28 = 364 days, its nine months ..2024-06-29 = 273 days, Q4 91.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from flows.sources.base import Payload
from flows.sources.sec import facts, fundamentals, tickers
from flows.sources.sec.fundamentals import Split, detect_splits, split_factor_at, symbols_for
from tests.conftest import fixture_bytes

NOW = datetime(2026, 7, 24, 12, 0, tzinfo=UTC)
APPLE = "companyfacts_CIK0000320193_apple_excerpt.json"
NVDA = "companyfacts_CIK0001045810_nvidia_trimmed.json"
ORCL = "companyfacts_CIK0001341439_oracle_tags.json"
REV = "RevenueFromContractWithCustomerExcludingAssessedTax"


def facts_frame(*names: str) -> pl.DataFrame:
    frames = [facts.parse(Payload("sec_facts", fixture_bytes("sec", n), n, NOW)).frame for n in names]
    return pl.concat(frames).rename({"rule_available_at": "available_at"})


def ticker_frame() -> pl.DataFrame:
    frame = tickers.parse(Payload("sec_tickers", fixture_bytes("sec", "company_tickers.json"), "t", NOW)).frame
    return frame.select("ticker", "cik", "listing_rank")


def build(*names: str, frame: pl.DataFrame | None = None) -> fundamentals.MartBuild:
    return fundamentals.compute(frame if frame is not None else facts_frame(*names), ticker_frame())


def row(mart: pl.DataFrame, symbol: str, end: str, kind: str = "quarter", as_of: datetime | None = None) -> dict:
    """The row as analytics.fundamentals shows it (latest version public at ``as_of``)."""
    on = date.fromisoformat(end)
    hit = fundamentals.latest(mart, as_of).filter(
        pl.col("symbol") == symbol, pl.col("fiscal_period_end") == on, pl.col("period_kind") == kind
    )
    assert hit.height == 1, f"{symbol} {kind} {end}: {hit.height} rows"
    return hit.row(0, named=True)


@pytest.fixture(scope="module")
def apple() -> pl.DataFrame:
    return build(APPLE).frame


@pytest.fixture(scope="module")
def nvda() -> fundamentals.MartBuild:
    return build(NVDA)


def q4_shares(fy: float, fy_days: int, nine: float, nine_days: int, q_days: int) -> float:
    return (fy * fy_days - nine * nine_days) / q_days


def test_first_filed_value_wins_over_a_later_restatement(apple: pl.DataFrame) -> None:
    r = row(apple, "AAPL", "2024-06-29")
    assert r["revenue_usd"] == 85777000000  # 10-Q of 2024-08-02; the 2025-08-01 comparative says 85.9bn
    assert r["filed_date"] == date(2024, 8, 2)
    assert r["available_at"] == datetime(2024, 8, 3, 2, 0, tzinfo=UTC)
    assert (r["revenue_tag"], r["revenue_method"]) == (REV, "reported")


def test_periods_are_classified_by_length_never_by_fp(apple: pl.DataFrame) -> None:
    # Apple's FY2020 10-K: a 363-day and a 90-day revenue fact, both fp=FY.
    year = row(apple, "AAPL", "2020-09-26", "year")
    quarter = row(apple, "AAPL", "2020-09-26", "quarter")
    assert (year["revenue_usd"], year["fiscal_period_start"]) == (274515000000, date(2019, 9, 29))
    assert (quarter["revenue_usd"], quarter["fiscal_period_start"]) == (64698000000, date(2020, 6, 28))
    years = fundamentals.latest(apple).filter(pl.col("period_kind") == "year")
    assert years.height == 3  # FY2020, FY2023, FY2024: no 9M or 6M rows


def test_q4_is_the_full_year_minus_nine_months_of_the_same_fiscal_year(apple: pl.DataFrame) -> None:
    r = row(apple, "AAPL", "2024-09-28")
    assert r["revenue_usd"] == 391035000000 - 296105000000 == 94930000000
    assert r["net_income_usd"] == 93736000000 - 79000000000
    assert (r["revenue_method"], r["fiscal_period_start"]) == ("ytd_difference", date(2024, 6, 30))
    assert r["filed_date"] == date(2024, 11, 1)
    assert r["available_at"] == datetime(2024, 11, 2, 2, 0, tzinfo=UTC)  # the 10-K, the later of its two inputs
    assert "q4_derived" in r["flags"]


def test_nine_months_of_another_fiscal_year_start_is_not_subtracted() -> None:
    frame = facts_frame(APPLE).with_columns(
        pl.when((pl.col("period_end") == date(2024, 6, 29)) & (pl.col("period_start") == date(2023, 10, 1)))
        .then(pl.lit(date(2023, 9, 24)))
        .otherwise(pl.col("period_start"))
        .alias("period_start")
    )
    mart = build(frame=frame).frame
    assert mart.filter((pl.col("symbol") == "AAPL") & (pl.col("fiscal_period_end") == date(2024, 9, 28))
                       & (pl.col("period_kind") == "quarter")).is_empty()  # fmt: skip


def test_a_reported_90_day_q4_is_preferred_to_the_derivation(apple: pl.DataFrame) -> None:
    r = row(apple, "AAPL", "2020-09-26")
    assert (r["revenue_method"], r["net_income_method"]) == ("reported", "reported")
    assert (r["eps_diluted_usd"], r["eps_method"]) == (0.73, "reported")  # the 10-K's own 90-day EPS


def test_q4_eps_is_q4_net_income_over_q4_shares_never_a_difference_of_eps(apple: pl.DataFrame) -> None:
    r = row(apple, "AAPL", "2024-09-28")
    shares = q4_shares(15408095000, 364, 15463175000, 273, 91)
    assert r["diluted_shares"] == pytest.approx(shares) and r["diluted_shares"] == pytest.approx(15242849670, rel=1e-6)
    assert r["eps_diluted_usd"] == pytest.approx(14736000000 / shares)
    assert r["eps_diluted_usd"] == pytest.approx(0.96675, abs=1e-5)
    assert abs(r["eps_diluted_usd"] - (6.08 - 5.11)) > 0.003  # FY EPS - 9M EPS would say 0.97
    assert r["eps_method"] == "derived_ni_over_shares" and "shares_day_weighted" in r["flags"]


def test_reported_quarter_eps_is_kept_and_flagged_derived_only_when_computed(apple: pl.DataFrame) -> None:
    r = row(apple, "AAPL", "2024-03-30")
    assert (r["eps_diluted_usd"], r["eps_method"], r["flags"]) == (1.53, "reported", None)
    n = row(build(NVDA).frame, "NVDA", "2024-07-28")
    assert n["eps_method"] == "derived_ni_over_shares" and n["flags"] == "eps_derived"


def test_splits_are_detected_from_restated_share_counts(nvda: fundamentals.MartBuild) -> None:
    splits = nvda.splits["0001045810"]
    assert [(s.factor, s.lo, s.hi) for s in splits] == [
        (4.0, date(2021, 5, 26), date(2021, 8, 20)),  # last 10-Q on the old basis, first on the new
        (10.0, date(2024, 5, 29), date(2024, 8, 28)),
    ]
    apple = build(APPLE).splits["0000320193"]
    assert [(s.factor, s.lo, s.hi) for s in apple] == [(4.0, date(2020, 7, 31), date(2020, 10, 30))]


def test_eps_is_on_todays_share_basis_across_both_nvidia_splits(nvda: fundamentals.MartBuild) -> None:
    mart = nvda.frame
    q3_fy21 = row(mart, "NVDA", "2020-10-25")  # filed 2020-11-18, before both splits
    assert (q3_fy21["split_factor"], q3_fy21["diluted_shares"]) == (40.0, 630000000 * 40)
    assert q3_fy21["eps_diluted_usd"] == pytest.approx(1336000000 / 25200000000)  # 0.0530; as filed 2.12
    q1_fy25 = row(mart, "NVDA", "2024-04-28")  # filed 2024-05-29, before the 10:1 split
    assert q1_fy25["eps_diluted_usd"] == pytest.approx(14881000000 / 24890000000)  # 0.598; as filed 5.98
    assert "split_adjusted" in q1_fy25["flags"]
    q2_fy25 = row(mart, "NVDA", "2024-07-28")  # filed 2024-08-28, after it
    assert (q2_fy25["split_factor"], q2_fy25["eps_diluted_usd"]) == (1.0, pytest.approx(16599000000 / 24848000000))


def test_reported_eps_before_a_split_is_divided_by_it(apple: pl.DataFrame) -> None:
    r = row(apple, "AAPL", "2020-06-27")  # first filed 2020-07-31 at 2.58 before the 4:1 split
    assert r["eps_diluted_usd"] == pytest.approx(2.58 / 4) and r["split_factor"] == 4.0
    assert row(apple, "AAPL", "2020-09-26", "year")["eps_diluted_usd"] == 3.28  # 10-K after the split


def test_detect_splits_needs_two_periods_and_ignores_noise_and_scale_errors() -> None:
    d = date
    obs = [
        ("a", d(2020, 1, 1), 100.0), ("a", d(2021, 1, 1), 400.0),  # 4x
        ("b", d(2020, 4, 1), 101.0), ("b", d(2021, 4, 1), 404.5),  # 4x (within 2%)
        ("c", d(2020, 7, 1), 99.0), ("c", d(2020, 12, 1), 99.5),  # same basis: the split is after Dec 1
        ("d", d(2022, 1, 1), 500.0), ("d", d(2023, 1, 1), 1000.0),  # one period at 2x: not enough
        ("e", d(2022, 1, 1), 500.0), ("e", d(2023, 1, 1), 500000.0),  # tagged in thousands: not a split
    ]  # fmt: skip
    splits = detect_splits(obs)
    assert [(s.factor, s.lo, s.hi, s.support) for s in splits] == [(4.0, d(2020, 12, 1), d(2021, 1, 1), 2)]
    assert split_factor_at(d(2020, 11, 30), splits) == 4.0 and split_factor_at(d(2021, 1, 1), splits) == 1.0
    assert detect_splits([("a", d(2020, 1, 1), 100.0), ("a", d(2021, 1, 1), 10.0),
                          ("b", d(2020, 2, 1), 50.0), ("b", d(2021, 2, 1), 5.0)])[0].factor == 0.1  # fmt: skip
    two = [Split(2.0, d(2020, 1, 1), d(2020, 2, 1)), Split(3.0, d(2022, 1, 1), d(2022, 2, 1))]
    assert [split_factor_at(d(2019, 1, 1), two), split_factor_at(d(2021, 1, 1), two)] == [6.0, 3.0]


def test_ttm_sums_the_last_four_consecutive_quarters(apple: pl.DataFrame, nvda: fundamentals.MartBuild) -> None:
    r = row(apple, "AAPL", "2024-06-29")
    q4_fy23 = 383285000000 - 293787000000  # 89,498m, derived from the FY2023 10-K
    assert r["ttm_revenue_usd"] == q4_fy23 + 119575000000 + 90753000000 + 85777000000 == 385603000000
    q4_fy23_eps = (96995000000 - 74039000000) / q4_shares(15812547000, 371, 15859263000, 280, 91)
    assert r["ttm_eps_diluted_usd"] == pytest.approx(q4_fy23_eps + 2.18 + 1.53 + 1.40)
    assert r["available_at"] == datetime(2024, 8, 3, 2, 0, tzinfo=UTC)
    # NVIDIA FY2025: the four quarters (three reported, Q4 derived) add up to the fiscal year.
    assert row(nvda.frame, "NVDA", "2025-01-26")["ttm_revenue_usd"] == 130497000000
    assert row(nvda.frame, "NVDA", "2025-01-26", "year")["ttm_revenue_usd"] is None


def test_ttm_is_null_when_a_quarter_is_missing(apple: pl.DataFrame) -> None:
    r = row(apple, "AAPL", "2024-03-30")  # Q2 and Q3 of FY2023 are not in the fixture
    assert r["revenue_usd"] == 90753000000
    assert (r["ttm_revenue_usd"], r["ttm_net_income_usd"], r["ttm_eps_diluted_usd"]) == (None, None, None)


def test_a_row_gains_a_version_when_a_late_input_becomes_public() -> None:
    late = facts_frame(APPLE).with_columns(  # pretend the FY2023 10-K came out after the Q3 FY2024 10-Q
        pl.when(pl.col("accn") == "0000320193-23-000106")
        .then(pl.lit(datetime(2024, 9, 1, tzinfo=UTC)))
        .otherwise(pl.col("available_at"))
        .alias("available_at")
    )
    mart = build(frame=late).frame
    versions = mart.filter(pl.col("fiscal_period_end") == date(2024, 6, 29), pl.col("period_kind") == "quarter")
    assert versions["version"].to_list() == [1, 2]
    assert versions["available_at"].to_list() == [
        datetime(2024, 8, 3, 2, 0, tzinfo=UTC),
        datetime(2024, 9, 1, tzinfo=UTC),
    ]
    assert versions["revenue_usd"].to_list() == [85777000000, 85777000000]  # public with its own 10-Q
    assert versions["ttm_revenue_usd"].to_list() == [None, 385603000000]  # the TTM waits for Q4 FY2023
    assert row(mart, "AAPL", "2024-06-29", as_of=datetime(2024, 8, 31, tzinfo=UTC))["ttm_revenue_usd"] is None


def test_net_income_filed_a_year_later_does_not_hold_back_the_revenue() -> None:
    # As in Oracle's trimmed facts (quarter ending 2011-11-30: revenue in its 10-Q of 2011-12-23, net
    # income only in the next year's comparative): move the net income of Apple's Q3 FY2024 10-Q
    # (the quarter and the nine months, from which the quarter could be derived) to 2025-08-01.
    q3_ni = (pl.col("tag") == "NetIncomeLoss") & (pl.col("accn") == "0000320193-24-000081")
    late_ni = facts_frame(APPLE).with_columns(
        pl.when(q3_ni).then(pl.lit(date(2025, 8, 1))).otherwise(pl.col("filed_date")).alias("filed_date"),
        pl.when(q3_ni)
        .then(pl.lit(datetime(2025, 8, 2, 2, 0, tzinfo=UTC)))
        .otherwise(pl.col("available_at"))
        .alias("available_at"),
    )
    mart = build(frame=late_ni).frame
    then = row(mart, "AAPL", "2024-06-29", as_of=datetime(2024, 8, 4, tzinfo=UTC))
    assert (then["revenue_usd"], then["net_income_usd"], then["eps_diluted_usd"]) == (85777000000, None, 1.40)
    assert then["filed_date"] == date(2024, 8, 2)
    now = row(mart, "AAPL", "2024-06-29")
    assert (now["net_income_usd"], now["filed_date"], now["version"]) == (21448000000, date(2025, 8, 1), 2)


def test_the_earliest_filed_tag_wins_and_is_recorded() -> None:
    mart = build(ORCL).frame
    fy18 = row(mart, "ORCL", "2018-05-31", "year")
    # Revenues as first reported (10-K 2018-06-22), not the ASC 606 restatement under the preferred
    # RevenueFromContract... tag first filed a year later (39,383m, 10-K 2019-06-21).
    assert (fy18["revenue_usd"], fy18["revenue_tag"]) == (39831000000, "Revenues")
    assert fy18["filed_date"] == date(2018, 6, 22)


def test_two_tags_in_the_same_filing_follow_the_sources_preference() -> None:
    fy19 = row(build(ORCL).frame, "ORCL", "2019-05-31", "year")
    assert (fy19["revenue_usd"], fy19["revenue_tag"]) == (39506000000, REV)


def test_a_partial_revenue_line_is_ignored() -> None:
    q = row(build(ORCL).frame, "ORCL", "2020-02-29")
    assert (q["revenue_usd"], q["revenue_tag"]) == (9796000000, "Revenues")  # not the 2.0bn partial line


def test_quarter_length_facts_holding_a_full_year_value_are_dropped() -> None:
    out = build(ORCL)
    assert out.full_year_quarters_dropped == 2
    q4_fy20 = row(out.frame, "ORCL", "2020-05-31")
    # The 10-K's "three-month" Revenues row says 39,068m (= the year) and would win as reported.
    assert (q4_fy20["revenue_usd"], q4_fy20["revenue_method"]) == (39068000000 - 28629000000, "ytd_difference")
    q4_fy18 = row(out.frame, "ORCL", "2018-05-31")
    assert q4_fy18["revenue_usd"] == 39831000000 - 28579000000 == 11252000000


def test_q4_may_pair_two_tags_of_the_same_fiscal_year() -> None:
    # NVIDIA FY2021: the year only under RevenueFromContract... (10-K 2021-02-26), the nine months only
    # under Revenues (10-Q 2020-11-18); Revenues for the year arrived a year later.
    r = row(build(NVDA).frame, "NVDA", "2021-01-31")
    assert (r["revenue_usd"], r["filed_date"]) == (16675000000 - 11672000000, date(2021, 2, 26))
    assert r["revenue_tag"] == f"{REV} - Revenues"
    assert r["available_at"] == datetime(2021, 2, 27, 3, 0, tzinfo=UTC)


def test_duplicates_across_filings_give_one_row_per_period(apple: pl.DataFrame) -> None:
    assert fundamentals.latest(apple).select("symbol", "period_kind", "fiscal_period_end").is_duplicated().sum() == 0
    assert apple.select("symbol", "source", "period_kind", "fiscal_period_end", "version").is_duplicated().sum() == 0
    fy23 = row(apple, "AAPL", "2023-09-30", "year")  # repeated in the FY2024 10-K
    assert (fy23["revenue_usd"], fy23["filed_date"]) == (383285000000, date(2023, 11, 3))


def in_thousands(accn: str) -> pl.DataFrame:
    """The NVIDIA fixture with one filing's share counts tagged in thousands (as NVIDIA's 2010-2011 were)."""
    return facts_frame(NVDA).with_columns(
        pl.when((pl.col("tag") == fundamentals.SHARES_TAG) & (pl.col("accn") == accn))
        .then(pl.col("value") / 1000)
        .otherwise(pl.col("value"))
        .alias("value")
    )


def test_share_counts_tagged_in_thousands_are_rescaled() -> None:
    # Restated later at 24,890m: 2,489,000 -> 10,000x = the 10:1 split times the thousands error.
    out = build(frame=in_thousands("0001045810-24-000124"))
    r = row(out.frame, "NVDA", "2024-04-28")
    assert r["diluted_shares"] == pytest.approx(24890000000) and "shares_rescaled" in r["flags"]
    assert r["eps_diluted_usd"] == pytest.approx(14881000000 / 24890000000)
    assert [s.factor for s in out.splits["0001045810"]] == [4.0, 10.0]
    # No later report of the period (the newest filing): the company's own level gives it away.
    r = row(build(frame=in_thousands("0001045810-24-000264")).frame, "NVDA", "2024-07-28")
    assert r["diluted_shares"] == pytest.approx(24848000000) and "shares_rescaled" in r["flags"]


def test_symbols_prefer_the_universe_then_the_first_listing_then_the_files_ticker() -> None:
    frame = ticker_frame()
    ciks = ["0001652044", "0000320193", "0001045810", "0009999999"]
    assert symbols_for(ciks, frame, {"0009999999": "XYZ"}, []) == {
        "0001652044": "GOOGL", "0000320193": "AAPL", "0001045810": "NVDA", "0009999999": "XYZ",
    }  # fmt: skip
    assert symbols_for(["0001652044", "0000000001"], frame, {}, ["GOOG"]) == {
        "0001652044": "GOOG", "0000000001": "CIK0000000001",
    }  # fmt: skip
    assert build(APPLE).frame["symbol"].unique().to_list() == ["AAPL"]
    assert fundamentals.compute(facts_frame(APPLE)).frame["symbol"].unique().to_list() == ["CIK0000320193"]


def test_no_facts_give_an_empty_mart_with_its_columns() -> None:
    out = fundamentals.compute(pl.DataFrame(schema=fundamentals.FACT_SCHEMA))
    assert out.frame.is_empty() and out.frame.schema == pl.Schema(fundamentals.MART_SCHEMA)
