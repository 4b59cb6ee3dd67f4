"""FRED rates parser: both fredgraph CSV headers, several series, the API JSON and its vintages,
missing values, units, available_at, and every error path.

Fixtures (``tests/fixtures/fred/``): ``DGS10_observation_date.csv`` (current header, an empty
holiday value), ``DGS10_DATE_header.csv`` (older header, ``.``), ``fredgraph_DGS10_DGS2.csv``
(two series), ``DGS10_api.json`` (API observations, ``"."``), ``DGS10_alfred_vintages.json``
(two vintages of one date), ``fred_api_error_400.json`` (the API's error body).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from flows.errors import EmptyDataError, PayloadError, SchemaDriftError, ValidationError
from flows.sources.fred.rates import SPEC, parse, release_at
from tests.conftest import fixture_bytes
from tests.helpers import payload


def parsed(name: str, content: bytes | None = None, origin: str | None = None, **hints: str):  # type: ignore[no-untyped-def]
    body = content if content is not None else fixture_bytes("fred", name)
    return parse(payload("rates", body, origin or f"/data/{name}", **hints))


def values(frame: pl.DataFrame, series: str = "DGS10") -> dict[date, float | None]:
    return dict(frame.filter(pl.col("series_id") == series).select("date", "yield_frac").iter_rows())


def test_frame_has_exactly_the_spec_columns_typed() -> None:
    frame = parsed("DGS10_observation_date.csv").frame
    assert frame.columns == [*SPEC.columns, "rule_available_at"]
    assert frame.schema["date"] == pl.Date and frame.schema["yield_frac"] == pl.Float64


def test_current_header_percent_becomes_a_fraction_and_blank_is_null() -> None:
    # "2024-06-10,4.47" -> 0.0447; "2024-06-19," (Juneteenth: no value) -> null row
    v = values(parsed("DGS10_observation_date.csv").frame)
    assert v[date(2024, 6, 10)] == 0.0447 and v[date(2024, 6, 20)] == 0.0425
    assert date(2024, 6, 19) in v and v[date(2024, 6, 19)] is None
    assert len(v) == 5


def test_older_date_header_and_dot_for_missing() -> None:
    # "DATE,DGS10" / "2018-04-18,2.87" / "2018-05-28,."
    v = values(parsed("DGS10_DATE_header.csv").frame)
    assert v[date(2018, 4, 18)] == 0.0287 and v[date(2018, 5, 28)] is None


def test_several_series_columns_give_one_series_each() -> None:
    frame = parsed("fredgraph_DGS10_DGS2.csv").frame
    assert values(frame, "DGS2") == {date(2024, 6, 10): 0.0487, date(2024, 6, 11): 0.0483}
    assert values(frame, "DGS10")[date(2024, 6, 11)] == 0.044


def test_api_json_takes_the_series_from_the_hint_and_dot_is_null() -> None:
    frame = parsed("DGS10_api.json", origin="https://api.stlouisfed.org/x", series_id="DGS10").frame
    v = values(frame)
    assert v[date(2024, 6, 10)] == 0.0447 and v[date(2024, 6, 19)] is None and len(v) == 5


def test_api_json_series_from_the_origin_url_or_the_file_name() -> None:
    url = "https://api.stlouisfed.org/fred/series/observations?series_id=DGS10&file_type=json"
    assert set(parsed("DGS10_api.json", origin=url).frame["series_id"]) == {"DGS10"}
    assert set(parsed("DGS10_api.json", origin="/data/fred_DGS10_2024.json").frame["series_id"]) == {"DGS10"}


def test_api_json_without_any_series_id_is_refused() -> None:
    with pytest.raises(PayloadError, match="which FRED series"):
        parsed("DGS10_api.json", origin="/data/observations.json")


def test_alfred_vintages_keep_the_latest_vintage_of_each_date() -> None:
    batch = parsed("DGS10_alfred_vintages.json", series_id="DGS10")
    # 2024-06-10: "4.46" (realtime 2024-06-11) then "4.47" (realtime 2024-06-12 .. 9999-12-31)
    assert values(batch.frame) == {date(2024, 6, 10): 0.0447, date(2024, 6, 11): 0.044}
    assert batch.dropped == {"older vintages of the same date (ALFRED)": 1}


def test_available_at_is_next_day_0900_new_york() -> None:
    frame = parsed("DGS10_observation_date.csv").frame
    at = dict(frame.select("date", "rule_available_at").iter_rows())
    assert at[date(2024, 6, 7)] == datetime(2024, 6, 8, 13, 0, tzinfo=UTC)  # Fri -> Sat 09:00 EDT
    assert release_at(date(2024, 1, 5)) == datetime(2024, 1, 6, 14, 0, tzinfo=UTC)  # EST


# --------------------------------------------------------------------------------- error paths


def test_html_page_served_with_200_is_refused() -> None:
    body = b"<!DOCTYPE html><html><head><title>504 Gateway Time-out</title></head><body></body></html>"
    with pytest.raises(PayloadError, match="HTML"):
        parsed("x.csv", body)


def test_empty_body_header_only_and_only_missing_values_are_empty_data() -> None:
    with pytest.raises(EmptyDataError):
        parsed("x.csv", b"")
    with pytest.raises(EmptyDataError, match="no observations"):
        parsed("x.csv", b"observation_date,DGS10\n")
    with pytest.raises(EmptyDataError, match="none with a value"):
        parsed("x.csv", b"observation_date,DGS10\n2024-06-19,\n")


def test_truncated_files_are_payload_errors() -> None:
    content = fixture_bytes("fred", "DGS10_observation_date.csv")
    with pytest.raises(PayloadError, match=r"line 6 has 1 of 2 fields \(file cut mid-line"):
        parsed("x.csv", content[: content.rindex(b",4.25")])
    with pytest.raises(PayloadError, match="looks cut"):
        parsed("x.csv", content.rstrip(b"\n")[:-1])  # "4.25" cut to "4.2"
    assert values(parsed("x.csv", content.rstrip(b"\n")).frame)[date(2024, 6, 20)] == 0.0425
    with pytest.raises(PayloadError, match="not valid JSON"):
        parsed("x.json", fixture_bytes("fred", "DGS10_api.json")[:300], series_id="DGS10")


def test_renamed_columns_are_schema_drift() -> None:
    with pytest.raises(SchemaDriftError, match="does not start with observation_date or DATE"):
        parsed("x.csv", b"obs,DGS10\n2024-06-10,4.47\n")
    with pytest.raises(SchemaDriftError, match=r"\['value'\] are not FRED series ids"):
        parsed("x.csv", b"observation_date,value\n2024-06-10,4.47\n")
    with pytest.raises(SchemaDriftError, match="no 'observations' list"):
        parsed("x.json", b'{"obs": []}', series_id="DGS10")


def test_text_where_a_number_belongs_is_refused_with_line() -> None:
    with pytest.raises(ValidationError, match=r"text where a number belongs: DGS10='4,47' \(line 3\)"):
        parsed("x.csv", b'observation_date,DGS10\n2024-06-07,4.43\n2024-06-10,"4,47"\n')


def test_a_rate_outside_any_plausible_percent_is_refused() -> None:
    with pytest.raises(ValidationError, match="outside"):
        parsed("x.csv", b"observation_date,DGS10\n2024-06-10,447\n")


def test_unreadable_date_is_refused() -> None:
    with pytest.raises(ValidationError, match="unreadable date '06/10/2024'"):
        parsed("x.csv", b"observation_date,DGS10\n06/10/2024,4.47\n")


def test_api_error_body_is_a_payload_error_with_fred_message() -> None:
    with pytest.raises(PayloadError, match="FRED API error 400: Bad Request"):
        parsed("fred_api_error_400.json", series_id="DGS10")


def test_api_answer_in_transformed_units_is_refused() -> None:
    body = fixture_bytes("fred", "DGS10_api.json").replace(b'"units":"lin"', b'"units":"pch"')
    with pytest.raises(ValidationError, match="units 'pch'"):
        parsed("x.json", body, series_id="DGS10")


def test_hint_contradicting_the_csv_header_is_refused() -> None:
    with pytest.raises(ValidationError, match="series_id hint says DGS2"):
        parsed("DGS10_observation_date.csv", series_id="DGS2")
