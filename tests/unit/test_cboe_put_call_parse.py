"""Cboe put/call parser on small hand-made fixtures in the published layouts.

Fixtures (tests/fixtures/cboe/, numbers chosen by hand; every ratio = round(puts / calls, 2)):
- indexpc_preamble.csv: disclaimer line, ``, PRODUCT:INDEX,,EXCHANGE: Cboe,``, then
  ``DATE,CALL,PUT,TOTAL,P/C Ratio``; ``11/1/2006`` and ``10/02/2019, 1381400, ...`` rows; LF.
- totalpc.csv: ``DATE,CALLS,PUTS,TOTAL,Ratio``, no preamble, CRLF.
- equitypc_2digit_years.csv: ``11/01/06`` dates, CRLF, no final newline.
- equity_old_layout.csv: ``Date,Equity Call Volume,...,Equity P/C Ratio`` (2003-2009 layout).
- 2024-01-05_daily_options.json: daily statistics JSON (ratios + six sections).
- user_put_call.csv: bring-your-own ``date,segment,put_call_ratio,call_volume,put_volume``.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import polars as pl
import pytest

from flows.errors import EmptyDataError, PayloadError, SchemaDriftError, ValidationError
from flows.sources.base import Payload
from flows.sources.cboe.put_call import parse
from tests.conftest import fixture_bytes

FETCHED = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
INDEX_ARCHIVE = fixture_bytes("cboe", "indexpc_preamble.csv")
TOTAL_ARCHIVE = fixture_bytes("cboe", "totalpc.csv")
EQUITY_2DIGIT = fixture_bytes("cboe", "equitypc_2digit_years.csv")
EQUITY_OLD = fixture_bytes("cboe", "equity_old_layout.csv")
DAILY_JSON = fixture_bytes("cboe", "2024-01-05_daily_options.json")
USER_CSV = fixture_bytes("cboe", "user_put_call.csv")
JSON_NAME = "2024-01-05_daily_options.json"

VALUES = [
    "trade_date",
    "segment",
    "series_source",
    "put_call_ratio",
    "call_volume_contracts",
    "put_volume_contracts",
    "total_volume_contracts",
    "source_era",
]


def cboe(content: bytes, origin: str, **hints: str):  # type: ignore[no-untyped-def]
    return parse(Payload("cboe_putcall", content, origin, FETCHED, live=False, hints=dict(hints)))


def rows(frame: pl.DataFrame) -> list[tuple[object, ...]]:
    return frame.sort("trade_date", "segment").select(VALUES).rows()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- archive CSVs ------------------------------------------------------------------------------


def test_archive_with_preamble_reads_mixed_dates_and_leading_spaces():
    frame = cboe(INDEX_ARCHIVE, "archive.csv").frame
    assert rows(frame) == [
        (date(2006, 11, 1), "index", "cboe_archive", 1.30, 290000, 378000, 668000, "exchange_only"),
        (date(2006, 11, 2), "index", "cboe_archive", 1.18, 301250, 355900, 657150, "exchange_only"),
        (date(2019, 10, 2), "index", "cboe_archive", 1.30, 1381400, 1795700, 3177100, "exchange_only"),
        (date(2019, 10, 4), "index", "cboe_archive", 1.51, 790000, 1193000, 1983000, "exchange_only"),
    ]
    assert frame["call_open_interest_contracts"].null_count() == 4  # the archive has no OI


def test_archive_preamble_decides_the_segment_over_the_file_name():
    frame = cboe(INDEX_ARCHIVE, "equitypc.csv").frame
    assert frame["segment"].unique().to_list() == ["index"]


def test_archive_rule_available_at_is_trade_date_1800_new_york():
    frame = cboe(INDEX_ARCHIVE, "indexpc.csv").frame.sort("trade_date")
    assert frame.schema["rule_available_at"] == pl.Datetime("us", "UTC")
    assert frame["rule_available_at"].to_list() == [
        utc(2006, 11, 1, 23, 0),  # EST
        utc(2006, 11, 2, 23, 0),
        utc(2019, 10, 2, 22, 0),  # EDT
        utc(2019, 10, 4, 22, 0),
    ]


def test_totalpc_layout_takes_its_segment_from_the_file_name():
    batch = cboe(TOTAL_ARCHIVE, "totalpc.csv")
    assert rows(batch.frame) == [
        (date(2006, 11, 1), "total", "cboe_archive", 0.91, 1400000, 1274000, 2674000, "exchange_only"),
        (date(2006, 11, 3), "total", "cboe_archive", 0.91, 1317500, 1198000, 2515500, "exchange_only"),
        (date(2019, 10, 3), "total", "cboe_archive", 1.37, 2100000, 2877000, 4977000, "exchange_only"),
        (date(2019, 10, 4), "total", "cboe_archive", 1.05, 2180000, 2289000, 4469000, "exchange_only"),
    ]
    assert batch.warnings == [] and batch.dropped == {}


def test_archive_whose_segment_cannot_be_told_is_refused():
    with pytest.raises(PayloadError, match=r"cannot tell which segment .* pass --segment"):
        cboe(TOTAL_ARCHIVE, "putcall_download.csv")


def test_segment_hint_names_the_segment_of_an_anonymous_archive():
    frame = cboe(TOTAL_ARCHIVE, "putcall_download.csv", segment="equity").frame
    assert frame["segment"].unique().to_list() == ["equity"]
    assert frame.height == 4


def test_unknown_segment_hint_is_refused():
    with pytest.raises(ValidationError, match="unknown segment 'stocks'"):
        cboe(TOTAL_ARCHIVE, "putcall_download.csv", segment="stocks")


def test_two_digit_years_and_missing_final_newline_load():
    assert not EQUITY_2DIGIT.endswith(b"\n")
    frame = cboe(EQUITY_2DIGIT, "equitypc.csv").frame
    assert rows(frame) == [
        (date(2006, 11, 1), "equity", "cboe_archive", 0.64, 976000, 624640, 1600640, "exchange_only"),
        (date(2006, 11, 2), "equity", "cboe_archive", 0.61, 1030000, 628300, 1658300, "exchange_only"),
        (date(2019, 10, 4), "equity", "cboe_archive", 0.65, 917000, 596050, 1513050, "exchange_only"),
    ]


def test_old_equity_layout_takes_segment_from_header_words_and_is_marked_old():
    frame = cboe(EQUITY_OLD, "pcr1.csv").frame
    assert rows(frame) == [
        (date(2003, 10, 17), "equity", "cboe_archive_old", 0.45, 1020000, 459000, 1479000, "exchange_only"),
        (date(2003, 11, 3), "equity", "cboe_archive_old", 0.59, 650000, 383500, 1033500, "exchange_only"),
    ]


def test_trailing_note_line_is_skipped_and_counted():
    content = INDEX_ARCHIVE + b"* Volume excludes FLEX options,,,,\n"
    batch = cboe(content, "indexpc.csv")
    assert batch.frame.height == 4
    assert batch.dropped == {"note lines without a date": 1}


# --- daily statistics JSON ---------------------------------------------------------------------


def test_daily_json_gives_one_row_per_segment_with_ratio_volumes_and_open_interest():
    frame = cboe(DAILY_JSON, JSON_NAME).frame
    cols = [
        "segment",
        "put_call_ratio",
        "call_volume_contracts",
        "put_volume_contracts",
        "total_volume_contracts",
        "call_open_interest_contracts",
        "put_open_interest_contracts",
    ]
    assert sorted(frame.select(cols).rows()) == [
        ("equity", 0.67, 5500000, 3700000, 9200000, 70000000, 42000000),
        ("etp", 1.15, 2000000, 2300000, 4300000, 30000000, 40000000),
        ("index", 1.20, 1500000, 1800000, 3300000, 20000000, 28000000),
        ("spx", 1.35, 1100000, 1485000, 2585000, 12000000, 17000000),
        ("total", 0.87, 9000000, 7800000, 16800000, 120000000, 110000000),
        ("vix", 0.40, 600000, 240000, 840000, 9000000, 5000000),
    ]


def test_daily_json_date_comes_from_the_file_name_and_era_is_all_cboe():
    frame = cboe(DAILY_JSON, JSON_NAME).frame
    assert frame["trade_date"].unique().to_list() == [date(2024, 1, 5)]
    assert frame["series_source"].unique().to_list() == ["cboe_daily_json"]
    assert frame["source_era"].unique().to_list() == ["all_cboe"]
    # Friday 2024-01-05 18:00 EST = 23:00 UTC
    assert frame["rule_available_at"].unique().to_list() == [utc(2024, 1, 5, 23, 0)]


def test_daily_json_trade_date_hint_is_used_for_a_live_url():
    url = "https://cdn.cboe.com/data/us/options/market_statistics/daily/latest"
    frame = cboe(DAILY_JSON, url, trade_date="2024-01-08").frame
    assert frame["trade_date"].unique().to_list() == [date(2024, 1, 8)]


def test_daily_json_without_a_date_is_refused():
    with pytest.raises(PayloadError, match="cannot tell the trade date"):
        cboe(DAILY_JSON, "daily_options.json")


def test_daily_json_product_ratios_outside_the_six_segments_are_ignored():
    doc = json.loads(DAILY_JSON)
    assert {"name": "OEX PUT/CALL RATIO", "value": "0.00"} in doc["ratios"]
    assert cboe(DAILY_JSON, JSON_NAME).frame.height == 6


def test_daily_json_without_the_total_section_is_schema_drift():
    doc = json.loads(DAILY_JSON)
    del doc["SUM OF ALL PRODUCTS"]
    with pytest.raises(SchemaDriftError, match="no 'SUM OF ALL PRODUCTS' section"):
        cboe(json.dumps(doc).encode(), JSON_NAME)


def test_json_without_ratios_is_not_taken_for_daily_statistics():
    with pytest.raises(SchemaDriftError, match="not a Cboe daily statistics JSON"):
        cboe(b'{"data": {"symbol": "SPX"}}', JSON_NAME)


def test_truncated_daily_json_is_refused():
    with pytest.raises(PayloadError, match=r"not valid JSON \(truncated\?\)"):
        cboe(DAILY_JSON[:400], JSON_NAME)


def test_market_closure_day_zero_ratio_without_volume_is_stored_as_missing():
    # 2025-01-09 (National Day of Mourning): only index options traded; Cboe shows 0.00 for
    # equity and ETP. A 0.00 with no volume is "no ratio", not a value out of range.
    doc = json.loads(DAILY_JSON)
    for r in doc["ratios"]:
        if r["name"] in ("EQUITY PUT/CALL RATIO", "EXCHANGE TRADED PRODUCTS PUT/CALL RATIO"):
            r["value"] = "0.00"
    for section in ("EQUITY OPTIONS", "EXCHANGE TRADED PRODUCTS"):
        doc[section][0].update(call=0, put=0, total=0)
    batch = cboe(json.dumps(doc).encode(), "2025-01-09_daily_options")
    frame = batch.frame
    ratios = dict(frame.select("segment", "put_call_ratio").rows())
    assert ratios == {"total": 0.87, "index": 1.20, "etp": None, "equity": None, "vix": 0.40, "spx": 1.35}
    equity = frame.filter(pl.col("segment") == "equity").row(0, named=True)
    assert (equity["call_volume_contracts"], equity["put_volume_contracts"]) == (0, 0)
    assert sorted(w.split(":")[0] for w in batch.warnings) == ["equity", "etp"]


def test_zero_ratio_with_traded_volume_is_still_refused():
    doc = json.loads(DAILY_JSON)
    for r in doc["ratios"]:
        if r["name"] == "EQUITY PUT/CALL RATIO":
            r["value"] = "0.00"
    msg = r"put/call ratios outside \(0, 10\), first 0\.0 on 2024-01-05 \(equity\)"
    with pytest.raises(ValidationError, match=msg):
        cboe(json.dumps(doc).encode(), JSON_NAME)


# --- bring-your-own CSV ------------------------------------------------------------------------


def test_user_csv_rows_carry_user_source_and_era_by_date():
    frame = cboe(USER_CSV, "my_put_call.csv").frame
    assert rows(frame) == [
        (date(2019, 10, 4), "equity", "user_csv", 0.65, 917000, 596050, None, "exchange_only"),
        (date(2019, 10, 7), "equity", "user_csv", 0.70, 1000000, 700000, None, "all_cboe"),
        (date(2024, 1, 5), "total", "user_csv", 0.87, 9000000, 7800000, None, "all_cboe"),
    ]


def test_user_csv_without_volume_columns_loads_ratios_only():
    content = b"date,segment,put_call_ratio\n2024-01-05,index,1.20\n"
    frame = cboe(content, "ratios.csv").frame
    assert rows(frame) == [(date(2024, 1, 5), "index", "user_csv", 1.20, None, None, None, "all_cboe")]


def test_user_csv_extra_column_loads_with_a_warning():
    content = (
        b"date,segment,put_call_ratio,call_volume,put_volume,note\n"
        b"2019-10-04,equity,0.65,917000,596050,from my broker\n"
        b"2019-10-07,equity,0.70,1000000,700000,\n"
        b"2024-01-05,total,0.87,9000000,7800000,x\n"
    )
    batch = cboe(content, "my_put_call.csv")
    assert batch.frame.equals(cboe(USER_CSV, "my_put_call.csv").frame)
    assert batch.warnings == ["unknown extra columns ['note'] (loaded, ignored)"]


def test_user_csv_unknown_segment_is_refused():
    with pytest.raises(ValidationError, match="unknown segment 'stocks'"):
        cboe(b"date,segment,put_call_ratio\n2024-01-05,stocks,0.65\n", "mine.csv")


def test_user_csv_unreadable_date_is_refused():
    with pytest.raises(ValidationError, match=r"unreadable date '2024-13-05' \(line 2\)"):
        cboe(b"date,segment,put_call_ratio\n2024-13-05,equity,0.65\n", "mine.csv")


# --- encodings, line ends ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "origin"),
    [(INDEX_ARCHIVE, "archive.csv"), (USER_CSV, "my_put_call.csv"), (DAILY_JSON, JSON_NAME)],
    ids=["archive", "user-csv", "json"],
)
@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda b: b"\xef\xbb\xbf" + b, id="utf8-bom"),
        pytest.param(lambda b: b.decode("utf-8").encode("utf-16"), id="utf16-bom"),
        pytest.param(lambda b: b.replace(b"\n", b"\r\n"), id="crlf"),
    ],
)
def test_bom_utf16_and_crlf_variants_load_identically(source: bytes, origin: str, variant):  # type: ignore[no-untyped-def]
    changed = variant(source)
    assert changed != source
    assert cboe(changed, origin).frame.equals(cboe(source, origin).frame)


# --- error paths -------------------------------------------------------------------------------


def test_html_page_served_as_data_is_refused_with_its_title():
    page = b"<html>\n<head><title>Access Denied | Cboe</title></head><body>blocked</body></html>"
    with pytest.raises(PayloadError, match=r"HTML/XML page, not data \('Access Denied \| Cboe'\)"):
        cboe(page, "totalpc.csv")


def test_s3_access_denied_xml_is_refused():
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
        b"<Message>Access Denied</Message></Error>"
    )
    with pytest.raises(PayloadError, match="HTML/XML page, not data"):
        cboe(body, JSON_NAME)


@pytest.mark.parametrize("body", [b"", b"\r\n \n"], ids=["empty", "blank-lines"])
def test_empty_body_is_refused(body: bytes):
    with pytest.raises(EmptyDataError, match="empty payload"):
        cboe(body, "totalpc.csv")


def test_archive_with_header_but_no_rows_is_refused():
    with pytest.raises(EmptyDataError, match="no data rows"):
        cboe(b"DATE,CALLS,PUTS,TOTAL,Ratio\r\n", "totalpc.csv")


def test_archive_cut_mid_line_is_refused():
    cut = INDEX_ARCHIVE[: INDEX_ARCHIVE.index(b", 1193000")]  # last line: "10/04/2019, 790000"
    with pytest.raises(PayloadError, match=r"line 7 has 2 of 5 fields \(file cut mid-line: truncated\?\)"):
        cboe(cut, "indexpc.csv")


@pytest.mark.parametrize("cut_bytes", [3, 4, 5], ids=["ratio-1.", "ratio-1", "ratio-empty"])
def test_archive_cut_inside_the_last_field_is_refused(cut_bytes: int):
    # the last line ends ", 1.51\n"; a cut there keeps five fields but loses the ratio digits
    cut = INDEX_ARCHIVE[: len(INDEX_ARCHIVE) - cut_bytes]
    with pytest.raises(PayloadError, match="ends mid-line"):
        cboe(cut, "indexpc.csv")


def test_archive_without_final_newline_but_whole_last_line_loads():
    whole = INDEX_ARCHIVE.rstrip(b"\n")
    assert cboe(whole, "indexpc.csv").frame.equals(cboe(INDEX_ARCHIVE, "indexpc.csv").frame)


def test_archive_renamed_ratio_column_is_schema_drift_naming_it():
    content = TOTAL_ARCHIVE.replace(b",Ratio\r\n", b",PCR\r\n", 1)
    with pytest.raises(SchemaDriftError, match=r"lacks the \['ratio'\] column"):
        cboe(content, "totalpc.csv")


def test_archive_without_a_date_header_is_schema_drift():
    content = TOTAL_ARCHIVE.replace(b"DATE,", b"DAY,", 1)
    with pytest.raises(SchemaDriftError, match="no header row starting with DATE"):
        cboe(content, "totalpc.csv")


def test_text_where_a_number_belongs_is_refused_naming_column_and_line():
    content = TOTAL_ARCHIVE.replace(b"1198000", b"1198OOO", 1)  # letters O, 2nd data row
    with pytest.raises(ValidationError, match=r"text where a number belongs: put volume='1198OOO' \(line 3\)"):
        cboe(content, "totalpc.csv")


def test_quoted_thousands_separators_are_numbers():
    content = TOTAL_ARCHIVE.replace(b"1198000", b'"1,198,000"', 1)
    assert cboe(content, "totalpc.csv").frame.equals(cboe(TOTAL_ARCHIVE, "totalpc.csv").frame)


@pytest.mark.parametrize("bad", [b"-1", b"0", b"10.00", b"nan"])
def test_ratio_outside_zero_to_ten_is_refused(bad: bytes):
    content = TOTAL_ARCHIVE.replace(b", 1.37\r\n", b", " + bad + b"\r\n", 1)
    assert content != TOTAL_ARCHIVE
    with pytest.raises(ValidationError, match=r"1 put/call ratios outside \(0, 10\).* on 2019-10-03 \(total\)"):
        cboe(content, "totalpc.csv")


def test_negative_ratio_in_user_csv_is_refused():
    with pytest.raises(ValidationError, match=r"first -1\.0 on 2024-01-05 \(equity\)"):
        cboe(b"date,segment,put_call_ratio\n2024-01-05,equity,-1\n", "mine.csv")


def test_negative_volume_is_refused():
    content = TOTAL_ARCHIVE.replace(b"1400000,1274000", b"-1400000,1274000", 1)
    with pytest.raises(ValidationError, match="1 rows with negative volumes"):
        cboe(content, "totalpc.csv")
