"""SEC parsers: companyfacts (sec_facts), the ticker map (sec_tickers), the vendor CSV (vendor_fundamentals).

Fixtures under ``tests/fixtures/sec/`` are written in the publishers' structure:
- ``companyfacts_CIK0000320193_apple_excerpt.json``: companyfacts as data.sec.gov serves it (dei +
  us-gaap, instants without ``start``, ``frame`` on some rows), values of Apple's filings, one
  restated row invented (quarter ending 2024-06-29 re-filed 2025-08-01 at 85,900,000,000);
- ``companyfacts_CIK0001045810_nvidia_trimmed.json``: the trimmed layout of the shared files
  (``ticker``/``fetched`` at the top, us-gaap only, no EPS concept);
- ``company_tickers.json`` / ``company_tickers_exchange.json``: SEC's two ticker-map layouts.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime

import polars as pl
import pytest

from flows.errors import EmptyDataError, PayloadError, SchemaDriftError, ValidationError
from flows.sources.base import Payload
from flows.sources.sec import facts, tickers
from flows.sources.vendor import fundamentals as vendor
from tests.conftest import fixture_bytes

NOW = datetime(2026, 7, 24, 12, 0, tzinfo=UTC)
APPLE = "companyfacts_CIK0000320193_apple_excerpt.json"
NVDA = "companyfacts_CIK0001045810_nvidia_trimmed.json"


def parse_facts(content: bytes, **hints: str):  # type: ignore[no-untyped-def]
    return facts.parse(Payload("sec_facts", content, "companyfacts.json", NOW, False, hints))


def apple_doc() -> dict:
    return json.loads(fixture_bytes("sec", APPLE))


def test_every_fact_row_is_kept_including_the_same_period_in_later_filings() -> None:
    frame = parse_facts(fixture_bytes("sec", APPLE)).frame
    assert frame.height == 2 + 16 + 12 + 14 + 13  # dei + revenue + net income + shares + EPS rows
    q3 = frame.filter(
        (pl.col("tag") == "RevenueFromContractWithCustomerExcludingAssessedTax")
        & (pl.col("period_end") == date(2024, 6, 29))
        & (pl.col("period_start") == date(2024, 3, 31))
    ).sort("filed_date")
    assert q3["accn"].to_list() == ["0000320193-24-000081", "0000320193-25-000073"]
    assert q3["value"].to_list() == [85777000000.0, 85900000000.0]
    assert q3["fp"].to_list() == ["Q3", "Q3"] and q3["frame"].to_list() == [None, "CY2024Q2"]


def test_columns_are_the_spec_columns_typed() -> None:
    frame = parse_facts(fixture_bytes("sec", APPLE)).frame
    assert frame.columns == [*facts.SPEC.columns, "rule_available_at"]
    assert frame.schema["period_start"] == pl.Date and frame.schema["filed_date"] == pl.Date
    assert frame.schema["value"] == pl.Float64 and frame.schema["fy"] == pl.Int64
    assert frame["cik"].unique().to_list() == ["0000320193"]
    assert frame["entity_name"].unique().to_list() == ["Apple Inc."]


def test_instants_are_stored_with_start_equal_to_end() -> None:
    frame = parse_facts(fixture_bytes("sec", APPLE)).frame
    inst = frame.filter(pl.col("tag") == "EntityCommonStockSharesOutstanding")
    assert inst["taxonomy"].unique().to_list() == ["dei"]
    assert inst["period_type"].unique().to_list() == ["instant"]
    assert (inst["period_start"] == inst["period_end"]).all()
    assert frame.filter(pl.col("taxonomy") == "us-gaap")["period_type"].unique().to_list() == ["duration"]


def test_rule_available_at_is_the_filed_date_at_22_00_new_york() -> None:
    frame = parse_facts(fixture_bytes("sec", APPLE)).frame
    by_filed = dict(frame.select("filed_date", "rule_available_at").unique().iter_rows())
    assert by_filed[date(2024, 8, 2)] == datetime(2024, 8, 3, 2, 0, tzinfo=UTC)  # EDT: UTC-4
    assert by_filed[date(2024, 2, 2)] == datetime(2024, 2, 3, 3, 0, tzinfo=UTC)  # EST: UTC-5


def test_trimmed_layout_reads_its_ticker_and_a_hint_overrides_it() -> None:
    frame = parse_facts(fixture_bytes("sec", NVDA)).frame
    assert frame["ticker"].unique().to_list() == ["NVDA"] and frame["cik"].unique().to_list() == ["0001045810"]
    assert frame.height == 1 + 10 + 9 + 20
    hinted = parse_facts(fixture_bytes("sec", APPLE), ticker="aapl").frame
    assert hinted["ticker"].unique().to_list() == ["AAPL"]


def test_gzip_body_reads_like_the_plain_one() -> None:
    plain = parse_facts(fixture_bytes("sec", NVDA)).frame
    assert parse_facts(gzip.compress(fixture_bytes("sec", NVDA))).frame.equals(plain)


def test_html_page_is_refused() -> None:
    with pytest.raises(PayloadError, match=r"HTML/XML page.*Site Maintenance"):
        parse_facts(fixture_bytes("sec", "maintenance_page.html"))
    with pytest.raises(PayloadError, match="HTML/XML page"):
        parse_facts(fixture_bytes("sec", "sec_404_nosuchkey.xml"))


def test_truncated_json_is_refused_as_truncated() -> None:
    body = fixture_bytes("sec", APPLE)
    with pytest.raises(PayloadError, match=r"not valid JSON \(truncated download\?\).*line \d+ column \d+"):
        parse_facts(body[: len(body) * 2 // 3])
    with pytest.raises(PayloadError, match="corrupt or truncated gzip"):
        parse_facts(gzip.compress(body)[:500])


def test_json_without_facts_is_schema_drift_and_known_neighbours_are_named() -> None:
    with pytest.raises(SchemaDriftError, match=r"no 'facts' object.*\['cik', 'entityName'\]"):
        parse_facts(b'{"cik": 320193, "entityName": "Apple Inc."}')
    with pytest.raises(SchemaDriftError, match="submissions JSON"):
        parse_facts(fixture_bytes("sec", "submissions_not_companyfacts.json"))
    with pytest.raises(SchemaDriftError, match=r"ticker map.*sec_tickers"):
        parse_facts(fixture_bytes("sec", "company_tickers.json"))
    with pytest.raises(PayloadError, match="not a JSON document"):
        parse_facts(fixture_bytes("sec", "vendor_fundamentals.csv"))


def test_text_where_a_number_belongs_names_the_concept_and_row() -> None:
    doc = apple_doc()
    doc["facts"]["us-gaap"]["NetIncomeLoss"]["units"]["USD"][2]["val"] = "57,411"
    with pytest.raises(ValidationError, match=r"val='57,411' \(us-gaap:NetIncomeLoss \[USD\] row 3\)"):
        parse_facts(json.dumps(doc).encode())


def test_row_without_filed_date_is_schema_drift() -> None:
    doc = apple_doc()
    del doc["facts"]["us-gaap"]["EarningsPerShareDiluted"]["units"]["USD/shares"][0]["filed"]
    with pytest.raises(SchemaDriftError, match=r"EarningsPerShareDiluted \[USD/shares\] row 1 lacks \['filed'\]"):
        parse_facts(json.dumps(doc).encode())


def test_unreadable_date_and_start_after_end_are_refused() -> None:
    doc = apple_doc()
    doc["facts"]["dei"]["EntityCommonStockSharesOutstanding"]["units"]["shares"][0]["end"] = "19/07/2024"
    with pytest.raises(ValidationError, match="unreadable date end='19/07/2024'"):
        parse_facts(json.dumps(doc).encode())
    doc = apple_doc()
    doc["facts"]["us-gaap"]["NetIncomeLoss"]["units"]["USD"][0]["start"] = "2020-07-01"
    with pytest.raises(ValidationError, match="start 2020-07-01 after end 2020-06-27"):
        parse_facts(json.dumps(doc).encode())


def test_company_without_facts_is_empty_data() -> None:
    with pytest.raises(EmptyDataError, match="CIK 0000320193 holds no fact rows"):
        parse_facts(b'{"cik": 320193, "entityName": "Apple Inc.", "facts": {}}')
    with pytest.raises(EmptyDataError):
        parse_facts(b"  \n")


def test_unknown_row_field_loads_with_a_warning() -> None:
    doc = apple_doc()
    doc["facts"]["us-gaap"]["NetIncomeLoss"]["units"]["USD"][0]["segment"] = "Americas"
    batch = parse_facts(json.dumps(doc).encode())
    assert batch.frame.height == 57 and batch.warnings == ["unknown fields in fact rows ['segment'] (ignored)"]


def test_same_key_twice_with_different_values_keeps_the_first_and_warns() -> None:
    doc = apple_doc()
    rows = doc["facts"]["us-gaap"]["NetIncomeLoss"]["units"]["USD"]
    rows.append(dict(rows[0], val=1))
    rows.append(dict(rows[1]))  # an exact repeat is simply the same fact
    batch = parse_facts(json.dumps(doc).encode())
    assert batch.frame.height == 57 and batch.dropped == {"conflicting duplicate facts": 1}
    assert batch.warnings == [
        "1 facts listed twice under the same key with different values; kept the first (first: us-gaap:NetIncomeLoss"
        " [USD] row 13 (2019-09-29..2020-06-27, accn 0000320193-20-000062): 1 vs 44738000000 kept)"
    ]
    kept = batch.frame.filter((pl.col("tag") == "NetIncomeLoss") & (pl.col("accn") == rows[0]["accn"]))
    assert 44738000000.0 in kept["value"].to_list() and 1.0 not in kept["value"].to_list()


# --- sec_tickers -----------------------------------------------------------------------------


def parse_tickers(name: str, **hints: str):  # type: ignore[no-untyped-def]
    return tickers.parse(Payload("sec_tickers", fixture_bytes("sec", name), name, NOW, False, hints))


def test_ticker_map_gives_zero_padded_ciks_and_list_rank() -> None:
    frame = parse_tickers("company_tickers.json", snapshot_date="2026-07-24").frame
    rows = {r["ticker"]: r for r in frame.iter_rows(named=True)}
    assert rows["AAPL"]["cik"] == "0000320193" and rows["AMD"]["cik"] == "0000002488"
    assert (rows["GOOGL"]["listing_rank"], rows["GOOG"]["listing_rank"]) == (1, 5)
    assert rows["BRK-B"]["title"] == "BERKSHIRE HATHAWAY INC" and rows["NVDA"]["exchange"] is None
    assert frame["snapshot_date"].unique().to_list() == [date(2026, 7, 24)]
    assert frame.columns == [*tickers.SPEC.columns, "rule_available_at"]


def test_exchange_layout_reads_the_exchange() -> None:
    frame = parse_tickers("company_tickers_exchange.json").frame
    assert dict(frame.select("ticker", "exchange").iter_rows()) == {"NVDA": "Nasdaq", "AAPL": "Nasdaq", "BRK-B": "NYSE"}
    assert frame["snapshot_date"].unique().to_list() == [date(2026, 7, 24)]  # New York date of the read


def test_ticker_map_errors() -> None:
    with pytest.raises(SchemaDriftError, match="companyfacts JSON: import it as dataset sec_facts"):
        parse_tickers(APPLE)
    bad = Payload("sec_tickers", b'{"0": {"ticker": "NVDA", "title": "NVIDIA"}}', "t.json", NOW)
    with pytest.raises(SchemaDriftError, match=r"entry '0' lacks \['cik_str'\]"):
        tickers.parse(bad)
    bad = Payload("sec_tickers", b'{"0": {"cik_str": "NVIDIA", "ticker": "NVDA"}}', "t.json", NOW)
    with pytest.raises(ValidationError, match=r"not a CIK: 'NVIDIA' \(ticker NVDA, entry 0\)"):
        tickers.parse(bad)


# --- vendor_fundamentals ---------------------------------------------------------------------


def parse_vendor(content: bytes):  # type: ignore[no-untyped-def]
    return vendor.parse(Payload("vendor_fundamentals", content, "vendor.csv", NOW))


def test_vendor_csv_reads_house_units_and_the_filing_rule() -> None:
    batch = parse_vendor(fixture_bytes("sec", "vendor_fundamentals.csv"))
    frame = batch.frame
    assert frame.columns == [*vendor.SPEC.columns, "rule_available_at"] and batch.warnings == []
    crwv = frame.filter(pl.col("symbol") == "CRWV").sort("fiscal_period_end")
    assert crwv["revenue_usd"].to_list() == [982000000.0, 1212000000.0, 1364676000.0, 1571904000.0]
    assert crwv["eps_diluted_usd"].to_list() == [-1.49, -0.6, -0.22, -0.94]
    assert crwv["rule_available_at"][0] == datetime(2025, 5, 16, 2, 0, tzinfo=UTC)  # 2025-05-15 22:00 EDT


def test_vendor_csv_without_net_income_and_with_an_extra_column() -> None:
    body = b"Symbol,Fiscal_Period_End,Filed_Date,Revenue_USD,EPS_Diluted_USD,source\nmu,5/28/2026,6/25/2026,,12.07,x\n"
    batch = parse_vendor(body)
    row = batch.frame.row(0, named=True)
    assert (row["symbol"], row["fiscal_period_end"], row["revenue_usd"], row["net_income_usd"]) == (
        "MU", date(2026, 5, 28), None, None,
    )  # fmt: skip
    assert batch.warnings == ["unknown extra columns ['source'] (loaded, ignored)"]


def test_vendor_csv_errors() -> None:
    head = "symbol,fiscal_period_end,filed_date,revenue_usd,eps_diluted_usd,net_income_usd\n"
    with pytest.raises(SchemaDriftError, match=r"missing required columns \['eps_diluted_usd'\]"):
        parse_vendor(b"symbol,fiscal_period_end,filed_date,revenue_usd\nNVDA,2024-04-28,2024-05-29,1\n")
    with pytest.raises(ValidationError, match=r"revenue_usd='26bn' \(line 2\)"):
        parse_vendor((head + "NVDA,2024-04-28,2024-05-29,26bn,0.6,1\n").encode())
    with pytest.raises(ValidationError, match="filed_date 2024-04-01 before fiscal_period_end 2024-04-28"):
        parse_vendor((head + "NVDA,2024-04-28,2024-04-01,1,0.6,1\n").encode())
    with pytest.raises(PayloadError, match=r"line 3 has 3 of 6 fields \(file cut mid-line"):
        parse_vendor((head + "NVDA,2024-04-28,2024-05-29,1,0.6,1\nNVDA,2024-07-28,2024-0").encode())
    with pytest.raises(PayloadError, match="HTML/XML page"):
        parse_vendor(fixture_bytes("sec", "maintenance_page.html"))
    with pytest.raises(EmptyDataError, match="header without data rows"):
        parse_vendor(head.encode())
