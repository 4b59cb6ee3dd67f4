"""FINRA consolidated short interest: the three formats, the dissemination rule, every refusal.

Fixtures (``tests/fixtures/finra/``), written in the real formats:
- ``consolidatedShortInterest_2026-07.json``: a Query API answer (array of records, numbers as
  JSON numbers, ``daysToCoverQuantity`` as ``3`` for AMD, BRKB with volume 0 and 999.99 days);
- ``shrt20260814.csv``: the bi-monthly pipe file (14 columns, no quoting, a literal ``"`` in an
  issue name, empty previous position for a new OTC issue);
- ``user_short_interest.csv``: the bring-your-own CSV, with empty optional fields.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from flows.config import calendar_config
from flows.errors import EmptyDataError, PayloadError, SchemaDriftError, ValidationError
from flows.sources.base import Payload
from flows.sources.finra.short_interest import SPEC, parse, release_date
from tests.conftest import fixture_bytes

API = fixture_bytes("finra", "consolidatedShortInterest_2026-07.json")
PIPE = fixture_bytes("finra", "shrt20260814.csv")
USER = fixture_bytes("finra", "user_short_interest.csv")
RECORDS = json.loads(API)

# FINRA's published 2026 short interest schedule (finra.org, "Short Interest Reporting"):
# (settlement date, dissemination date), all 24 rows.
FINRA_2026 = [
    ("2026-01-15", "2026-01-27"), ("2026-01-30", "2026-02-10"), ("2026-02-13", "2026-02-25"),
    ("2026-02-27", "2026-03-10"), ("2026-03-13", "2026-03-24"), ("2026-03-31", "2026-04-10"),
    ("2026-04-15", "2026-04-24"), ("2026-04-30", "2026-05-11"), ("2026-05-15", "2026-05-27"),
    ("2026-05-29", "2026-06-09"), ("2026-06-15", "2026-06-25"), ("2026-06-30", "2026-07-10"),
    ("2026-07-15", "2026-07-24"), ("2026-07-31", "2026-08-11"), ("2026-08-14", "2026-08-25"),
    ("2026-08-31", "2026-09-10"), ("2026-09-15", "2026-09-24"), ("2026-09-30", "2026-10-09"),
    ("2026-10-15", "2026-10-26"), ("2026-10-30", "2026-11-10"), ("2026-11-13", "2026-11-24"),
    ("2026-11-30", "2026-12-09"), ("2026-12-15", "2026-12-24"), ("2026-12-31", "2027-01-12"),
]  # fmt: skip


def load(content: bytes, origin: str = "consolidatedShortInterest.json"):  # type: ignore[no-untyped-def]
    return parse(Payload("finra_short_interest", content, origin, datetime.now(UTC)))


def api(records: list[dict]) -> bytes:  # type: ignore[type-arg]
    return json.dumps(records).encode()


def rec(**changes: object) -> dict:  # type: ignore[type-arg]
    return {**RECORDS[0], **changes}


# ---- formats ---------------------------------------------------------------------------------


def test_api_json_reads_every_record_in_house_columns():
    batch = load(API)
    f = batch.frame
    assert f.columns == [*SPEC.columns, "rule_available_at"]
    assert f.height == 6 and batch.warnings == []
    nvda = f.filter(symbol="NVDA", settlement_date=date(2026, 7, 31)).row(0, named=True)
    assert nvda["short_interest_shares"] == 240001250
    assert nvda["avg_daily_volume_shares"] == 150000625
    assert nvda["days_to_cover"] == 1.6
    assert nvda["previous_short_interest_shares"] == 231448310
    assert nvda["market_class_code"] == "NNM" and nvda["series_source"] == "finra"
    assert nvda["revision_flag"] is None


def test_integer_days_to_cover_reads_as_a_float():
    f = load(API).frame
    amd = f.filter(symbol="AMD", settlement_date=date(2026, 7, 31))
    assert amd["days_to_cover"].dtype.is_float() and amd["days_to_cover"].item() == 3.0


def test_numbers_as_strings_are_read_like_numbers():
    f = load(api([rec(currentShortPositionQuantity="231,448,310", daysToCoverQuantity="1.30")])).frame
    assert f["short_interest_shares"].item() == 231448310 and f["days_to_cover"].item() == 1.3


def test_pipe_file_reads_rows_with_quotes_in_names_and_empty_fields():
    f = load(PIPE, "shrt20260814.csv").frame
    assert f.height == 4
    dod = f.filter(symbol="DOD").row(0, named=True)
    assert dod["issue_name"] == 'ELEMENTS "Dogs of the Dow" Tot'
    assert (dod["short_interest_shares"], dod["avg_daily_volume_shares"], dod["days_to_cover"]) == (12769, 13534, 1.0)
    new_issue = f.filter(symbol="ZZLL").row(0, named=True)
    assert new_issue["previous_short_interest_shares"] is None
    assert new_issue["market_class_code"] == "OTC"
    assert f.filter(symbol="NVDA")["short_interest_shares"].item() == 252300417


def test_pipe_file_with_a_record_count_footer_checks_the_count():
    assert load(PIPE + b"4\n", "shrt20260814.csv").frame.height == 4
    with pytest.raises(PayloadError, match="footer says 5 records but the file holds 4"):
        load(PIPE + b"5\n", "shrt20260814.csv")


def test_user_csv_is_its_own_series_with_nulls_for_missing_fields():
    f = load(USER, "my_short_interest.csv").frame
    assert f["series_source"].unique().to_list() == ["user_csv"]
    amd = f.filter(symbol="AMD").row(0, named=True)
    assert amd["short_interest_shares"] == 44696277
    assert amd["avg_daily_volume_shares"] is None and amd["days_to_cover"] is None


def test_user_csv_with_only_the_three_required_columns():
    f = load(b"settlement_date,symbol,short_interest_shares\n2020-11-30,amd,62370000\n").frame
    assert f.row(0, named=True)["symbol"] == "AMD" and f["short_interest_shares"].item() == 62370000


# ---- available_at ----------------------------------------------------------------------------


@pytest.mark.parametrize(("settlement", "published"), FINRA_2026)
def test_rule_matches_finras_2026_dissemination_schedule(settlement, published):
    cal = calendar_config()["finra_short_interest"]
    assert release_date(date.fromisoformat(settlement), cal) == date.fromisoformat(published)


def test_available_at_is_the_dissemination_day_at_18_00_new_york():
    f = load(API).frame
    at = dict(f.select("settlement_date", "rule_available_at").unique().iter_rows())
    assert at[date(2026, 7, 15)] == datetime(2026, 7, 24, 22, 0, tzinfo=UTC)  # Fri 18:00 EDT
    assert at[date(2026, 7, 31)] == datetime(2026, 8, 11, 22, 0, tzinfo=UTC)  # Tue 18:00 EDT


def test_release_override_from_the_calendar_wins():
    cal = {"business_days_after_settlement": 7, "release_overrides": {"2026-07-31": "2026-08-14"}}
    assert release_date(date(2026, 7, 31), cal) == date(2026, 8, 14)
    assert release_date(date(2026, 7, 15), cal) == date(2026, 7, 24)


# ---- refusals --------------------------------------------------------------------------------


def test_html_page_is_refused():
    with pytest.raises(PayloadError, match=r"HTML/XML page.*Scheduled Maintenance"):
        load(fixture_bytes("finra", "finra_maintenance.html"))


@pytest.mark.parametrize("content", [b"", b"\n \n"], ids=["empty", "blank"])
def test_empty_body_is_refused(content):
    with pytest.raises(EmptyDataError):
        load(content)


def test_empty_json_array_is_empty_data():
    with pytest.raises(EmptyDataError, match="empty array"):
        load(b"[]")


def test_an_api_error_object_is_refused_with_its_message():
    with pytest.raises(PayloadError, match="an object, not an array of records: Invalid field: settlementDat"):
        load(b'{"statusCode": 400, "message": "Invalid field: settlementDat"}')


def test_truncated_json_is_refused():
    with pytest.raises(PayloadError, match=r"not valid JSON \(truncated\?\)"):
        load(API[: len(API) // 2])


def test_pipe_file_cut_mid_line_is_refused_as_truncated():
    cut = PIPE[: PIPE.index(b"|1500|2026-08-14") + 10]  # last row ends "...|1500|2026-08-"
    with pytest.raises(PayloadError, match=r"ends mid-line \(line 5\): truncated"):
        load(cut, "shrt20260814.csv")


def test_pipe_file_cut_with_missing_fields_is_refused_as_truncated():
    cut = PIPE[: PIPE.index(b"|0|999.99|||1500")]
    with pytest.raises(PayloadError, match=r"line 5 has 8 fields, expected 14 \(file cut mid-line"):
        load(cut, "shrt20260814.csv")


def test_user_csv_with_a_short_row_is_refused():
    with pytest.raises(PayloadError, match="line 3 has 2 of 3 fields"):
        load(b"settlement_date,symbol,short_interest_shares\n2026-05-15,NVDA,1\n2026-05-15,AMD\n")


def test_renamed_api_field_is_schema_drift():
    renamed = [{("currentShortPosition" if k == "currentShortPositionQuantity" else k): v for k, v in r.items()}
               for r in RECORDS]  # fmt: skip
    with pytest.raises(SchemaDriftError, match=r"missing required FINRA fields \['currentShortPositionQuantity'\]"):
        load(api(renamed))


def test_renamed_pipe_column_is_schema_drift():
    with pytest.raises(SchemaDriftError, match="daysToCoverQuantity"):
        load(PIPE.replace(b"|daysToCoverQuantity|", b"|daysToCover|"), "shrt20260814.csv")


def test_renamed_user_csv_column_is_schema_drift():
    with pytest.raises(SchemaDriftError, match=r"lacks \['short_interest_shares'\]"):
        load(b"settlement_date,symbol,short_interest\n2026-05-15,NVDA,1\n")


def test_unrecognised_header_is_schema_drift():
    with pytest.raises(SchemaDriftError, match="unrecognised first line"):
        load(b"symbol;date;short\nNVDA;2026-05-15;1\n")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "currentShortPositionQuantity",
            "n/a",
            r"text where a number belongs: currentShortPositionQuantity='n/a' \(record 1\)",
        ),
        ("daysToCoverQuantity", "two", r"text where a number belongs: daysToCoverQuantity='two' \(record 1\)"),
        ("currentShortPositionQuantity", 12.5, r"a share count with a fraction: currentShortPositionQuantity=12.5"),
        ("settlementDate", "07/15/2026", r"unreadable settlement date settlementDate='07/15/2026' \(record 1"),
        ("currentShortPositionQuantity", None, r"empty currentShortPositionQuantity for NVDA \(record 1\)"),
        ("symbolCode", " ", r"empty symbolCode \(record 1\)"),
    ],
    ids=["text-shares", "text-days", "fraction", "date", "null-shares", "blank-symbol"],
)
def test_bad_values_are_refused_naming_field_value_and_record(field, value, message):
    with pytest.raises(ValidationError, match=message):
        load(api([rec(**{field: value})]))


def test_text_for_number_in_the_pipe_file_names_the_line():
    with pytest.raises(ValidationError, match=r"averageDailyVolumeQuantity='1O5' \(line 3\)"):
        load(PIPE.replace(b"|13534|", b"|1O5|"), "shrt20260814.csv")


@pytest.mark.parametrize("field", ["currentShortPositionQuantity", "averageDailyVolumeQuantity", "daysToCoverQuantity"])
def test_negative_values_are_refused(field):
    with pytest.raises(ValidationError, match=rf"negative {field}=-\d.* for NVDA \(record 1\)"):
        load(api([rec(**{field: -3})]))


def test_a_negative_change_is_not_a_negative_position():
    f = load(api([rec(changePreviousNumber=-13664597, changePercent=-5.57)])).frame
    assert f["short_interest_shares"].item() == 231448310


def test_duplicate_key_with_different_values_is_refused_naming_both_records():
    with pytest.raises(ValidationError, match=r"NVDA on 2026-07-15 appears twice with different values \(records 1, 3"):
        load(api([RECORDS[0], RECORDS[1], rec(currentShortPositionQuantity=1)]))


def test_identical_duplicate_record_is_dropped_and_counted():
    batch = load(api([RECORDS[0], RECORDS[0]]))
    assert batch.frame.height == 1 and batch.dropped == {"identical duplicate rows": 1}


def test_unknown_extra_field_loads_with_a_warning():
    batch = load(api([rec(sharesOutstandingQuantity=24_300_000_000)]))
    assert batch.frame.height == 1
    assert batch.warnings == ["unknown extra columns ['sharesOutstandingQuantity'] (loaded, ignored)"]


def test_non_trading_settlement_date_warns():
    batch = load(api([rec(settlementDate="2026-07-18")]))
    assert batch.warnings == ["settlement dates that are not NYSE trading days: 2026-07-18"]


def test_revision_flag_is_an_attribute_not_a_value():
    assert "revision_flag" in SPEC.attributes and "revision_flag" not in SPEC.values
    assert SPEC.values == ("short_interest_shares", "avg_daily_volume_shares", "days_to_cover")
