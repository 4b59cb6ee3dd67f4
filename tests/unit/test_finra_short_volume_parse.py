"""FINRA Reg SHO daily short volume (CNMSshvolYYYYMMDD.txt): parsing and every refusal.

Fixtures (``tests/fixtures/finra/``), written in the real format:
- ``CNMSshvol20260804.txt``: current layout, fractional volumes (6 dp), ``BRK/B``, a ``Q``-only
  market list, a zero-volume line, footer ``7``;
- ``CNMSshvol20110103.txt``: the older layout without ``ShortExemptVolume``, CRLF line ends.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from flows.errors import EmptyDataError, PayloadError, SchemaDriftError, ValidationError
from flows.sources.base import Payload
from flows.sources.finra.short_volume import SPEC, parse
from tests.conftest import fixture_bytes

CURRENT = fixture_bytes("finra", "CNMSshvol20260804.txt")
OLD = fixture_bytes("finra", "CNMSshvol20110103.txt")
HEADER = "Date|Symbol|ShortVolume|ShortExemptVolume|TotalVolume|Market"


def load(content: bytes, origin: str = "CNMSshvol20260804.txt"):  # type: ignore[no-untyped-def]
    return parse(Payload("finra_short_volume", content, origin, datetime.now(UTC)))


def day_file(*rows: str, footer: str | None = None, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows, str(len(rows)) if footer is None else footer]) + "\n").encode()


def test_current_file_reads_every_row_with_fractional_volumes():
    batch = load(CURRENT)
    f = batch.frame
    assert f.columns == [*SPEC.columns, "rule_available_at"]
    assert f.height == 7 and batch.warnings == [] and batch.dropped == {}
    nvda = f.filter(symbol="NVDA").row(0, named=True)
    assert nvda["trade_date"] == date(2026, 8, 4)
    assert nvda["short_volume_shares"] == 30518420.874270
    assert nvda["short_exempt_volume_shares"] == 42284
    assert nvda["total_volume_shares"] == 61092551.905343
    assert nvda["market"] == "B,Q,N"
    assert f.filter(symbol="BRK/B")["short_volume_shares"].item() == 610233.5
    assert f.filter(symbol="SMH")["market"].item() == "Q"


def test_available_at_is_the_trade_date_at_18_00_new_york():
    at = load(CURRENT).frame["rule_available_at"].unique().to_list()
    assert at == [datetime(2026, 8, 4, 22, 0, tzinfo=UTC)]  # 18:00 EDT
    winter = load(OLD, "CNMSshvol20110103.txt").frame["rule_available_at"].unique().to_list()
    assert winter == [datetime(2011, 1, 3, 23, 0, tzinfo=UTC)]  # 18:00 EST


def test_old_layout_without_short_exempt_maps_columns_by_name_and_crlf():
    f = load(OLD, "CNMSshvol20110103.txt").frame
    assert f.height == 3
    assert f["short_exempt_volume_shares"].null_count() == 3
    row = f.filter(symbol="RDS/A").row(0, named=True)
    assert (row["short_volume_shares"], row["total_volume_shares"], row["market"]) == (98012, 301877, "N")


def test_columns_in_another_order_are_mapped_by_header_name():
    content = day_file(
        "AAPL|20260804|B,Q,N|2000|10|1000", header="Symbol|Date|Market|TotalVolume|ShortExemptVolume|ShortVolume"
    )
    row = load(content).frame.row(0, named=True)
    assert (row["symbol"], row["short_volume_shares"], row["short_exempt_volume_shares"]) == ("AAPL", 1000, 10)
    assert row["total_volume_shares"] == 2000


def test_footer_count_smaller_than_the_rows_is_refused():
    body = CURRENT.replace(b"\n7\n", b"\n8\n")
    with pytest.raises(PayloadError, match="footer says 8 records but the file holds 7"):
        load(body)


def test_a_file_cut_before_its_footer_is_refused_as_truncated():
    cut = CURRENT[: CURRENT.index(b"20260804|SMH")]
    with pytest.raises(PayloadError, match=r"no record-count footer.*line 6.*truncated"):
        load(cut)


def test_a_file_cut_mid_line_is_refused_as_truncated():
    cut = CURRENT[: CURRENT.index(b"|0|0|N") + 2]  # "...ZVZZT|0|"
    with pytest.raises(PayloadError, match="truncated"):
        load(cut)


def test_a_non_numeric_last_line_is_not_taken_for_a_footer():
    with pytest.raises(PayloadError, match=r"last line 'Total' \(line 3\) is not the record-count footer"):
        load(day_file("20260804|A|1|0|2|Q", footer="Total"))


def test_a_short_line_in_the_middle_is_refused_with_its_line_number():
    with pytest.raises(PayloadError, match=r"line 3 has 5 fields, expected 6"):
        load(day_file("20260804|A|1|0|2|Q", "20260804|B|1|0|2", "20260804|C|1|0|2|Q"))


def test_renamed_column_is_schema_drift_naming_it():
    content = CURRENT.replace(b"|TotalVolume|", b"|TotalVol|")
    with pytest.raises(SchemaDriftError, match="lacks the TotalVolume column"):
        load(content)


def test_text_where_a_number_belongs_names_column_value_and_line():
    with pytest.raises(ValidationError, match=r"ShortVolume='1,2O0' \(line 3\)"):
        load(day_file("20260804|A|1|0|2|Q", "20260804|B|1,2O0|0|2000|Q"))


def test_nan_is_not_a_volume():
    with pytest.raises(ValidationError, match=r"not a finite number: TotalVolume='NaN' \(line 2\)"):
        load(day_file("20260804|A|1|0|NaN|Q"))


def test_empty_volume_is_refused_not_read_as_zero():
    with pytest.raises(ValidationError, match=r"empty TotalVolume for A \(line 2\)"):
        load(day_file("20260804|A|1|0||Q"))


def test_negative_shares_are_refused():
    with pytest.raises(ValidationError, match=r"negative share volume ShortVolume=-5 for B \(line 3\)"):
        load(day_file("20260804|A|1|0|2|Q", "20260804|B|-5|0|20|Q"))


def test_unreadable_date_is_refused_with_its_line():
    with pytest.raises(ValidationError, match=r"unreadable Date '2026-08-04' \(line 2; expected YYYYMMDD\)"):
        load(day_file("2026-08-04|A|1|0|2|Q"))


def test_two_dates_in_one_daily_file_are_refused():
    with pytest.raises(ValidationError, match=r"holds 2 \(2026-08-03..2026-08-04; line 3 is dated 2026-08-03\)"):
        load(day_file("20260804|A|1|0|2|Q", "20260803|B|1|0|2|Q"))


def test_duplicate_symbol_with_different_volumes_is_refused_naming_both_lines():
    with pytest.raises(ValidationError, match=r"symbol A appears on lines 2, 4 with different volumes"):
        load(day_file("20260804|A|1|0|2|Q", "20260804|B|1|0|2|Q", "20260804|A|1|0|3|Q"))


def test_an_identical_repeated_line_is_dropped_and_counted():
    batch = load(day_file("20260804|A|1|0|2|Q", "20260804|A|1|0|2|Q"))
    assert batch.frame.height == 1 and batch.dropped == {"identical duplicate lines": 1}


def test_html_page_served_as_data_is_refused():
    page = fixture_bytes("finra", "finra_maintenance.html")
    with pytest.raises(PayloadError, match=r"HTML/XML page.*Scheduled Maintenance"):
        load(page)


def test_s3_access_denied_xml_is_refused():
    with pytest.raises(PayloadError, match="HTML/XML page"):
        load(fixture_bytes("finra", "regsho_403_access_denied.xml"))


@pytest.mark.parametrize("content", [b"", b"  \n\n", (HEADER + "\n").encode()], ids=["empty", "blank", "header-only"])
def test_empty_payloads_are_refused(content):
    with pytest.raises(EmptyDataError):
        load(content)


def test_footer_zero_with_no_rows_is_empty_data():
    with pytest.raises(EmptyDataError, match="no data rows"):
        load(day_file())


def test_a_comma_separated_file_is_not_a_reg_sho_file():
    with pytest.raises(SchemaDriftError, match="not a pipe-delimited Reg SHO file"):
        load(b"Date,Symbol,ShortVolume\n20260804,A,1\n")


def test_a_facility_file_is_refused_by_its_name():
    with pytest.raises(ValidationError, match="a FNSQ facility file"):
        load(CURRENT, "/data/FNSQshvol20260804.txt")


def test_file_name_date_that_disagrees_with_the_rows_warns():
    batch = load(CURRENT, "https://cdn.finra.org/equity/regsho/daily/CNMSshvol20260805.txt")
    assert batch.warnings == ["the file name says 2026-08-05 but its rows are dated 2026-08-04"]


def test_unknown_extra_column_loads_with_a_warning():
    content = day_file("20260804|A|1|0|2|Q|x", header=HEADER + "|Venue")
    batch = load(content)
    assert batch.frame.height == 1 and batch.warnings == ["unknown extra columns ['Venue'] (loaded, ignored)"]


def test_utf8_bom_is_ignored():
    assert load(b"\xef\xbb\xbf" + CURRENT).frame.height == 7
