"""CFTC TFF futures-only parser on small hand-made fixtures in the published layouts.

Fixtures (tests/fixtures/cftc/, numbers chosen by hand, layout as published):
- FinFut22_sample.txt: annual text, quoted 87-column header, LF. Four rows: a DJIA row whose
  market name holds a comma and whose dealer spread is ``.``; E-mini Nasdaq-100 (209742) on
  2022-02-08 under its new name and on 2022-02-01 under its old name; UST 10Y (code 043602).
- FinFut22_sample_crlf.txt: the same bytes with CRLF line ends.
- FinFutWk.txt: weekly file, no header, CRLF; 209747 and 209742 on 2026-08-04.
- gpe5-46if_sample.json: Socrata rows (numbers as strings); 2026-08-04 equals FinFutWk.txt.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, date, datetime

import polars as pl
import pytest

from flows.errors import EmptyDataError, PayloadError, SchemaDriftError, ValidationError
from flows.sources.base import Payload
from flows.sources.cftc.tff import POSITIONS, parse
from tests.conftest import fixture_bytes

FETCHED = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
ANNUAL = fixture_bytes("cftc", "FinFut22_sample.txt")
ANNUAL_CRLF = fixture_bytes("cftc", "FinFut22_sample_crlf.txt")
WEEKLY = fixture_bytes("cftc", "FinFutWk.txt")
SOCRATA = fixture_bytes("cftc", "gpe5-46if_sample.json")

NQ_OLD = "NASDAQ-100 STOCK INDEX (MINI) - CHICAGO MERCANTILE EXCHANGE"
NQ_NEW = "NASDAQ MINI - CHICAGO MERCANTILE EXCHANGE"
KEY_AND_VALUES = ["contract_code", "report_date", *POSITIONS]


def tff(content: bytes, origin: str = "FinFut22.txt", **hints: str):  # type: ignore[no-untyped-def]
    return parse(Payload("cftc_tff", content, origin, FETCHED, live=False, hints=dict(hints)))


def one(frame: pl.DataFrame, code: str, day: date) -> dict[str, object]:
    rows = frame.filter((pl.col("contract_code") == code) & (pl.col("report_date") == day))
    assert rows.height == 1, f"{code} {day}: {rows.height} rows"
    return rows.row(0, named=True)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def edit_columns(content: bytes, drop: str | None = None, add: tuple[str, str] | None = None) -> bytes:
    """Rewrite a text fixture with one column dropped or one (name, value) column appended."""
    rows = list(csv.reader(io.StringIO(content.decode("latin-1"), newline="")))
    if drop is not None:
        i = rows[0].index(drop)
        rows = [r[:i] + r[i + 1 :] for r in rows]
    if add is not None:
        rows = [[*rows[0], add[0]], *([*r, add[1]] for r in rows[1:])]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL).writerows(rows)
    return out.getvalue().encode("latin-1")


# --- annual text -------------------------------------------------------------------------------


def test_annual_text_gives_one_row_per_line_keyed_on_stripped_codes():
    frame = tff(ANNUAL).frame
    assert frame.height == 4
    assert sorted(zip(frame["contract_code"], frame["report_date"], strict=True)) == [
        ("043602", date(2022, 2, 8)),
        ("124603", date(2022, 2, 8)),
        ("209742", date(2022, 2, 1)),
        ("209742", date(2022, 2, 8)),
    ]
    assert frame.schema["report_date"] == pl.Date
    assert frame.schema["open_interest_contracts"] == pl.Int64


def test_annual_text_positions_are_the_numbers_of_the_line():
    row = one(tff(ANNUAL).frame, "209742", date(2022, 2, 8))
    assert {k: row[k] for k in POSITIONS} == {
        "open_interest_contracts": 251000,
        "dealer_long_contracts": 41000,
        "dealer_short_contracts": 52000,
        "dealer_spread_contracts": 1500,
        "asset_mgr_long_contracts": 98000,
        "asset_mgr_short_contracts": 30500,
        "asset_mgr_spread_contracts": 2500,
        "lev_funds_long_contracts": 60000,
        "lev_funds_short_contracts": 121000,
        "lev_funds_spread_contracts": 9000,
        "other_rept_long_contracts": 12000,
        "other_rept_short_contracts": 9500,
        "other_rept_spread_contracts": 800,
        "tot_rept_long_contracts": 224800,
        "tot_rept_short_contracts": 226800,
        "nonrept_long_contracts": 26200,
        "nonrept_short_contracts": 24200,
    }
    assert row["market_name"] == NQ_NEW
    assert row["contract_units"] == "(NASDAQ 100 STOCK INDEX X $20)"
    assert row["cftc_subgroup_code"] == "F20"
    assert row["futonly_or_combined"] == "FutOnly"


def test_padded_codes_are_stripped_and_a_dot_is_null():
    row = one(tff(ANNUAL).frame, "124603", date(2022, 2, 8))
    assert row["cftc_market_code"] == "CBT"  # "CBT " in the file
    assert row["cftc_commodity_code"] == "124"  # "124 " in the file
    assert row["cftc_region_code"] == "00"
    assert row["dealer_spread_contracts"] is None  # "." in the file
    assert row["dealer_short_contracts"] == 9050
    assert row["other_rept_spread_contracts"] == 0  # a real zero stays zero


def test_comma_inside_a_quoted_market_name_does_not_split_the_line():
    row = one(tff(ANNUAL).frame, "124603", date(2022, 2, 8))
    assert row["market_name"] == "DJIA x $5, E-MINI - CHICAGO BOARD OF TRADE"
    assert row["open_interest_contracts"] == 91000


def test_leading_zero_code_and_comma_in_contract_units_survive():
    row = one(tff(ANNUAL).frame, "043602", date(2022, 2, 8))
    assert row["contract_units"] == "(CONTRACTS OF $100,000 FACE VALUE)"
    assert row["open_interest_contracts"] == 3812000
    assert row["lev_funds_short_contracts"] == 1520000


def test_renamed_market_keeps_one_contract_code():
    frame = tff(ANNUAL).frame.filter(pl.col("contract_code") == "209742").sort("report_date")
    assert frame["report_date"].to_list() == [date(2022, 2, 1), date(2022, 2, 8)]
    assert frame["market_name"].to_list() == [NQ_OLD, NQ_NEW]
    assert frame["open_interest_contracts"].to_list() == [247500, 251000]


def test_rule_available_at_is_friday_1530_new_york_in_utc():
    frame = tff(ANNUAL).frame
    assert frame.schema["rule_available_at"] == pl.Datetime("us", "UTC")
    # Tuesday 2022-02-08 -> Friday 2022-02-11 15:30 EST = 20:30 UTC
    assert one(frame, "209742", date(2022, 2, 8))["rule_available_at"] == utc(2022, 2, 11, 20, 30)
    assert one(frame, "209742", date(2022, 2, 1))["rule_available_at"] == utc(2022, 2, 4, 20, 30)


def test_clean_annual_text_has_no_warnings():
    batch = tff(ANNUAL)
    assert batch.warnings == []
    assert batch.dropped == {}


# --- encodings and line ends -------------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(ANNUAL_CRLF, id="crlf-file"),
        pytest.param(b"\xef\xbb\xbf" + ANNUAL, id="utf8-bom"),
        pytest.param(b"\xef\xbb\xbf" + ANNUAL_CRLF, id="utf8-bom-crlf"),
        pytest.param(ANNUAL.decode("latin-1").encode("utf-16"), id="utf16-bom"),
        pytest.param(b"\xfe\xff" + ANNUAL_CRLF.decode("latin-1").encode("utf-16-be"), id="utf16-be-bom-crlf"),
    ],
)
def test_encoding_and_line_end_variants_load_identically(variant: bytes):
    assert variant != ANNUAL
    assert tff(variant).frame.equals(tff(ANNUAL).frame)


def test_latin1_market_name_is_decoded():
    content = ANNUAL.replace(b"UST 10Y NOTE", b"UST 10Y NOTE \xe9")
    row = one(tff(content).frame, "043602", date(2022, 2, 8))
    assert row["market_name"] == "UST 10Y NOTE \u00e9 - CHICAGO BOARD OF TRADE"


# --- zip ---------------------------------------------------------------------------------------


def make_zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_annual_zip_loads_like_the_text_it_holds():
    content = make_zip({"FinFutYY.txt": ANNUAL_CRLF})
    assert content.startswith(b"PK\x03\x04")
    assert tff(content, "fut_fin_txt_2022.zip").frame.equals(tff(ANNUAL).frame)


def test_zip_is_detected_from_content_not_name():
    content = make_zip({"FinFutYY.txt": ANNUAL})
    assert tff(content, "download.bin").frame.height == 4


def test_zip_without_exactly_one_txt_member_is_refused():
    with pytest.raises(PayloadError, match=r"expected one \.txt inside the zip.*FinFutYY\.xls"):
        tff(make_zip({"FinFutYY.xls": ANNUAL}), "fut_fin_xls_2022.zip")
    with pytest.raises(PayloadError, match=r"expected one \.txt inside the zip"):
        tff(make_zip({"a.txt": ANNUAL, "b.txt": ANNUAL}), "fut_fin_txt_2022.zip")


def test_file_named_zip_that_is_not_a_zip_is_refused():
    with pytest.raises(PayloadError, match=r"named \.zip but not a zip"):
        tff(ANNUAL, "fut_fin_txt_2024.zip")


def test_html_page_named_zip_is_refused_as_not_a_zip():
    page = b"<!DOCTYPE html><html><head><title>Page Not Found</title></head><body></body></html>"
    with pytest.raises(PayloadError, match="not a zip"):
        tff(page, "fut_fin_txt_2027.zip")


def test_truncated_zip_is_refused():
    content = make_zip({"FinFutYY.txt": ANNUAL})
    with pytest.raises(PayloadError, match="corrupt or truncated zip"):
        tff(content[: len(content) // 2], "fut_fin_txt_2022.zip")


# --- weekly (headerless) -----------------------------------------------------------------------


def test_weekly_file_without_header_uses_the_published_column_order():
    frame = tff(WEEKLY, "FinFutWk.txt").frame
    assert frame.height == 2
    micro = one(frame, "209747", date(2026, 8, 4))
    assert micro["market_name"] == "MICRO E-MINI NASDAQ-100 INDEX - CHICAGO MERCANTILE EXCHANGE"
    assert (
        micro["open_interest_contracts"],
        micro["lev_funds_long_contracts"],
        micro["lev_funds_short_contracts"],
        micro["asset_mgr_spread_contracts"],
    ) == (48200, 20400, 9100, 0)
    assert (micro["tot_rept_long_contracts"], micro["nonrept_short_contracts"]) == (27020, 25980)
    nq = one(frame, "209742", date(2026, 8, 4))
    assert (
        nq["open_interest_contracts"],
        nq["asset_mgr_long_contracts"],
        nq["asset_mgr_short_contracts"],
        nq["lev_funds_long_contracts"],
        nq["lev_funds_short_contracts"],
    ) == (305000, 99000, 36000, 57500, 134000)
    # Tuesday 2026-08-04 -> Friday 2026-08-07 15:30 EDT = 19:30 UTC
    assert nq["rule_available_at"] == utc(2026, 8, 7, 19, 30)


def test_headerless_text_with_wrong_width_is_not_taken_for_the_weekly_file():
    line = b'"NASDAQ MINI - CHICAGO MERCANTILE EXCHANGE",260804,2026-08-04,209742,CME ,00,209 ,  305000\n'
    with pytest.raises(SchemaDriftError, match="no header and 8 fields per line"):
        tff(line, "FinFutWk.txt")


# --- Socrata JSON ------------------------------------------------------------------------------


def test_socrata_json_reads_string_numbers_and_suffixless_fields():
    frame = tff(SOCRATA, "gpe5-46if.json").frame
    assert frame.height == 3
    nq = one(frame, "209742", date(2026, 8, 4))
    assert nq["open_interest_contracts"] == 305000  # open_interest_all
    assert nq["dealer_long_contracts"] == 70500  # dealer_positions_long_all
    assert nq["asset_mgr_long_contracts"] == 99000  # asset_mgr_positions_long (no _all)
    assert nq["lev_funds_short_contracts"] == 134000  # lev_money_positions_short (no _all)
    assert nq["tot_rept_short_contracts"] == 261260  # tot_rept_positions_short (no _all)
    assert nq["cftc_market_code"] == "CME"
    assert nq["rule_available_at"] == utc(2026, 8, 7, 19, 30)


def test_socrata_field_left_out_of_a_row_is_null():
    row = one(tff(SOCRATA, "gpe5-46if.json").frame, "209742", date(2026, 7, 28))
    assert row["dealer_spread_contracts"] is None  # Socrata omits null fields
    assert row["dealer_short_contracts"] == 79000
    assert row["rule_available_at"] == utc(2026, 7, 31, 19, 30)


def test_socrata_json_and_weekly_text_agree_on_the_same_week():
    cols = [*KEY_AND_VALUES, "market_name", "cftc_market_code", "contract_units", "rule_available_at"]
    from_json = tff(SOCRATA, "gpe5-46if.json").frame.filter(pl.col("report_date") == date(2026, 8, 4))
    from_text = tff(WEEKLY, "FinFutWk.txt").frame
    assert from_json.select(cols).sort("contract_code").equals(from_text.select(cols).sort("contract_code"))


def test_socrata_error_object_is_refused_with_its_message():
    body = json.dumps(
        {"code": "query.soql.no-such-column", "error": True, "message": "No such column: report_date"}
    ).encode()
    with pytest.raises(PayloadError, match=r"Socrata answered an error object.*No such column: report_date"):
        tff(body, "gpe5-46if.json")


def test_truncated_socrata_json_is_refused():
    with pytest.raises(PayloadError, match=r"not valid JSON \(truncated\?\)"):
        tff(SOCRATA[:700], "gpe5-46if.json")


def test_socrata_json_missing_a_required_field_names_it():
    rows = json.loads(SOCRATA)
    for r in rows:
        r["lev_money_positions_long_2"] = r.pop("lev_money_positions_long")
    with pytest.raises(SchemaDriftError, match="lev_funds_long_contracts") as err:
        tff(json.dumps(rows).encode(), "gpe5-46if.json")
    assert "lev_money_positions_long" in str(err.value)


def test_socrata_combined_rows_are_refused():
    rows = json.loads(SOCRATA)
    rows[1]["futonly_or_combined"] = "Combined"
    with pytest.raises(ValidationError, match="futures-and-options combined"):
        tff(json.dumps(rows).encode(), "yw9f-hn96.json")


# --- error paths -------------------------------------------------------------------------------


def test_html_page_served_as_data_is_refused_with_its_title():
    page = (
        b"<!DOCTYPE html>\n<html><head><title>CFTC | Site Maintenance</title></head>"
        b"<body>We will be back soon.</body></html>"
    )
    with pytest.raises(PayloadError, match=r"HTML/XML page, not data \('CFTC \| Site Maintenance'\)"):
        tff(page, "FinFutWk.txt")


@pytest.mark.parametrize("body", [b"", b"  \r\n\n"], ids=["empty", "blank-lines"])
def test_empty_body_is_refused(body: bytes):
    with pytest.raises(EmptyDataError, match="empty payload"):
        tff(body)


def test_file_cut_mid_line_is_refused():
    cut = ANNUAL[: len(ANNUAL) - 300]  # inside the numbers of the last line
    with pytest.raises(PayloadError, match=r"line 5 has \d+ fields, expected 87 \(file cut mid-line"):
        tff(cut)


@pytest.mark.parametrize("cut_bytes", [4, 10], ids=["inside-FutOnly", "after-last-comma"])
def test_file_cut_inside_the_last_field_is_refused(cut_bytes: int):
    # the last line ends ...,"F30","FutOnly"\n; cut to ...,"F30","FutOn  or  ...,"F30",
    cut = ANNUAL[: len(ANNUAL) - cut_bytes]
    assert not cut.endswith(b"\n")
    with pytest.raises(PayloadError, match="ends mid-line"):
        tff(cut)


def test_complete_last_line_without_final_newline_still_loads():
    content = ANNUAL_CRLF.rstrip(b"\r\n")
    assert tff(content).frame.equals(tff(ANNUAL).frame)


def test_renamed_required_column_raises_schema_drift_naming_it():
    content = ANNUAL.replace(b'"Open_Interest_All"', b'"Open_Interest"', 1)
    with pytest.raises(SchemaDriftError, match="open_interest_contracts") as err:
        tff(content)
    assert "open_interest_all" in str(err.value).lower()


def test_renamed_first_column_is_schema_drift_not_a_bad_date():
    content = ANNUAL.replace(b'"Market_and_Exchange_Names"', b'"Market_Names"', 1)
    with pytest.raises(SchemaDriftError, match="market_name") as err:
        tff(content)
    assert "market_and_exchange_names" in str(err.value).lower()


def test_dropped_required_column_raises_schema_drift_naming_it():
    content = edit_columns(ANNUAL, drop="Lev_Money_Positions_Short_All")
    with pytest.raises(SchemaDriftError, match="lev_funds_short_contracts") as err:
        tff(content)
    assert "lev_money_positions_short" in str(err.value).lower()


def test_dropped_optional_column_loads_with_nulls():
    batch = tff(edit_columns(ANNUAL, drop="Dealer_Positions_Spread_All"))
    assert batch.frame["dealer_spread_contracts"].null_count() == 4
    assert one(batch.frame, "209742", date(2022, 2, 8))["open_interest_contracts"] == 251000


def test_extra_unknown_column_loads_with_a_warning():
    batch = tff(edit_columns(ANNUAL, add=("Crypto_Positions_Long_All", "   123")))
    assert batch.frame.equals(tff(ANNUAL).frame)
    assert len(batch.warnings) == 1
    assert "Crypto_Positions_Long_All" in batch.warnings[0]


def test_text_where_a_number_belongs_is_refused_naming_column_and_row():
    content = ANNUAL.replace(b"  251000,", b"  25l000,", 1)  # letter l for digit 1, NQ row (2nd)
    msg = r"text where a number belongs: open_interest_contracts='25l000' \(row 2\)"
    with pytest.raises(ValidationError, match=msg):
        tff(content)


def test_fractional_contract_count_is_refused():
    content = ANNUAL.replace(b"  251000,", b"  251000.5,", 1)
    with pytest.raises(ValidationError, match=r"non-integer contract count open_interest_contracts='251000\.5'"):
        tff(content)


def test_unreadable_report_date_is_refused():
    content = ANNUAL.replace(b",2022-02-01,", b",2022-02-31,", 1)
    with pytest.raises(ValidationError, match="unreadable report date '2022-02-31'"):
        tff(content)


def test_combined_futures_and_options_file_is_refused():
    content = ANNUAL.replace(b'"FutOnly"', b'"Combined"')  # the rows' values; header keeps its name
    assert content.count(b'"Combined"') == 4
    with pytest.raises(ValidationError, match="futures-and-options combined report; cftc_tff takes futures only"):
        tff(content, "FinCom22.txt")
