"""etf_shares parser on fixtures written in the issuers' layouts (tests/fixtures/etf/, tests/etf_builders.py).

Fixtures (values chosen by hand, around SOXX's 3-for-1 split of March 2024; not the real figures):
- SOXX_fund.xls: iShares SpreadsheetML workbook; Holdings (unescaped ``&``, ``<br>``), Historical
  (``Mar 08, 2024`` .. ``Mar 01, 2024`` newest first, ``61,800,000.00`` as text, ``--`` template
  row on Mar 04, a sparse ``ss:Index="4"`` cell on Mar 01), Performance.
- QQQ_navs.json: Invesco NAV history (``navs`` list; ISO dates with and without time; a null NAV).
- vaneck_semiconductor-etf-smh.html: VanEck fund page with the key-data items (NAV $611.25,
  120,463,874 shares, $73.62B, as of July 10, 2026).
- user_etf_shares.csv: ``date,symbol,shares_outstanding,nav_usd,close_usd`` with a Saturday row,
  empty cells and a quoted ``"558,650,000"``.
- SSGA navhist workbooks are built with openpyxl (``tests.etf_builders.ssga_navhist``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from flows.errors import EmptyDataError, PayloadError, SchemaDriftError, ValidationError
from flows.sources.etf import shares
from flows.sources.etf.pit_rules import NON_TRADING
from tests.conftest import fixture_bytes
from tests.etf_builders import etf_payload, ishares_workbook, ssga_navhist

ISHARES = fixture_bytes("etf", "SOXX_fund.xls")
INVESCO = fixture_bytes("etf", "QQQ_navs.json")
VANECK = fixture_bytes("etf", "vaneck_semiconductor-etf-smh.html")
USER_CSV = fixture_bytes("etf", "user_etf_shares.csv")
VALUES = ["date", "symbol", "source", "shares_outstanding", "nav_usd", "close_usd", "total_net_assets_usd"]


def parse(content: bytes, origin: str = "file.bin", **hints: str):  # type: ignore[no-untyped-def]
    return shares.parse(etf_payload("etf_shares", content, origin, **hints))


def rows(frame: pl.DataFrame) -> list[tuple[object, ...]]:
    return frame.sort("symbol", "date").select(VALUES).rows()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- iShares workbook -------------------------------------------------------------------------


def test_ishares_historical_rows_are_read_with_the_ticker_from_the_file_name() -> None:
    batch = parse(ISHARES, "/downloads/SOXX_fund.xls")
    assert rows(batch.frame) == [
        (date(2024, 3, 1), "SOXX", "ishares", 20_500_000, 720.0, None, None),  # sparse ss:Index cell
        (date(2024, 3, 5), "SOXX", "ishares", 20_400_000, 706.2, None, None),
        (date(2024, 3, 6), "SOXX", "ishares", 20_450_000, 715.5, None, None),
        (date(2024, 3, 7), "SOXX", "ishares", 61_500_000, 240.0, None, None),
        (date(2024, 3, 8), "SOXX", "ishares", 61_800_000, 239.1, None, None),  # "61,800,000.00" as text
    ]
    assert batch.dropped == {"rows with '--' for both NAV and shares (not published)": 1}  # Mar 04 template
    assert batch.warnings == []


def test_ishares_rows_get_trading_days_and_the_next_morning_release_rule() -> None:
    f = parse(ISHARES, "SOXX_fund.xls").frame.sort("date")
    fri = f.filter(pl.col("date") == date(2024, 3, 1)).row(0, named=True)
    assert (fri["prev_trading_date"], fri["next_trading_date"]) == (date(2024, 2, 29), date(2024, 3, 4))
    assert fri["rule_available_at"] == utc(2024, 3, 4, 14, 0)  # Monday 09:00 EST
    # Friday Mar 8 -> Monday Mar 11 09:00 EDT (clocks changed on Sunday Mar 10) = 13:00 UTC.
    assert f.filter(pl.col("date") == date(2024, 3, 8))["rule_available_at"].item() == utc(2024, 3, 11, 13, 0)


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: t.encode("utf-16"),  # with BOM
        lambda t: t.encode("utf-16-le"),  # without BOM
        lambda t: b"\xef\xbb\xbf" + t.encode("utf-8"),
    ],
    ids=["utf16-bom", "utf16le-no-bom", "utf8-bom"],
)
def test_ishares_workbook_reads_the_same_in_utf16_and_with_a_bom(encode) -> None:  # type: ignore[no-untyped-def]
    text = ISHARES.decode("utf-8")
    assert rows(parse(encode(text), "SOXX_fund.xls").frame) == rows(parse(ISHARES, "SOXX_fund.xls").frame)


def test_ishares_symbol_hint_wins_and_a_nameless_file_is_refused() -> None:
    assert parse(ISHARES, "download.xls", symbol="soxx").frame["symbol"].unique().to_list() == ["SOXX"]
    with pytest.raises(PayloadError, match="cannot tell which fund"):
        parse(ISHARES, "download.xls")


def test_ishares_html_page_served_as_the_workbook_is_refused() -> None:
    page = fixture_bytes("etf", "recorded", "ishares_akamai_access_denied.html")
    with pytest.raises(PayloadError, match="Access Denied"):
        parse(page, "SOXX_fund.xls")


def test_tiny_or_empty_body_is_refused() -> None:
    with pytest.raises(EmptyDataError):
        parse(b"  \r\n", "SOXX_fund.xls")
    with pytest.raises(SchemaDriftError, match="not a known ETF shares format"):
        parse(b"OK", "SOXX_fund.xls")


def test_truncated_ishares_workbook_is_refused() -> None:
    text = ishares_workbook([("Mar 08, 2024", "239.10", "--", "61800000", "239.10")], close=False)
    with pytest.raises(PayloadError, match="truncated"):
        parse(text.encode(), "SOXX_fund.xls")
    cut = ISHARES[: ISHARES.index(b"Mar 05, 2024")]
    with pytest.raises(PayloadError, match="Historical' has no closing tag"):
        parse(cut, "SOXX_fund.xls")


def test_ishares_renamed_shares_column_is_schema_drift() -> None:
    header = ("As Of", "NAV per Share", "Ex-Dividends", "Shares Out.", "Non-FV NAV")
    text = ishares_workbook([("Mar 08, 2024", "239.10", "--", "61800000", "239.10")], header=header)
    with pytest.raises(SchemaDriftError, match=r"lacks column\(s\) \['Shares Outstanding'\]"):
        parse(text.encode(), "SOXX_fund.xls")


def test_ishares_workbook_without_historical_sheet_is_schema_drift() -> None:
    text = ishares_workbook([]).replace('ss:Name="Historical"', 'ss:Name="History"')
    with pytest.raises(SchemaDriftError, match=r"no worksheet 'Historical' .*Holdings, History, Performance"):
        parse(text.encode(), "SOXX_fund.xls")


def test_ishares_template_with_only_placeholders_is_empty() -> None:
    text = ishares_workbook([("--", "--", "--", "--", "--"), ("Mar 08, 2024", "--", "--", "--", "--")])
    with pytest.raises(EmptyDataError, match="1 template rows without a date, 1 rows with '--'"):
        parse(text.encode(), "SOXX_fund.xls")


def test_ishares_text_in_a_number_cell_is_a_validation_error() -> None:
    text = ishares_workbook([("Mar 08, 2024", "239.10", "--", "n.a.x", "239.10")])
    with pytest.raises(ValidationError, match=r"Shares Outstanding='n.a.x' \(Historical row 2\)"):
        parse(text.encode(), "SOXX_fund.xls")


def test_ishares_unknown_extra_column_loads_with_a_warning() -> None:
    header = (*shares.ishares.REQUIRED.values(), "Premium/Discount")
    text = ishares_workbook([("Mar 08, 2024", "239.10", "61800000", "0.02")], header=header)
    batch = parse(text.encode(), "SOXX_fund.xls")
    assert rows(batch.frame) == [(date(2024, 3, 8), "SOXX", "ishares", 61_800_000, 239.1, None, None)]
    assert batch.warnings == ["unknown extra columns ['Premium/Discount'] in 'Historical' (loaded, ignored)"]


# --- SSGA navhist.xlsx ------------------------------------------------------------------------


def test_ssga_navhist_dates_as_excel_dates_serials_and_text_and_dash_placeholders() -> None:
    book = ssga_navhist(
        [
            ("08-Mar-2024", 212.34, "340,210,000", 72_240_000_000.0),
            (datetime(2024, 3, 7), 213.01, 340_110_000, 72_447_831_100.0),
            (45357, 210.55, "-", "-"),  # Excel serial 45357 = 2024-03-06
            ("05-Mar-2024", "-", "-", "-"),  # a placeholder row: dropped, counted
        ]
    )
    batch = parse(book, "/dl/navhist-us-en-xlk.xlsx")
    assert rows(batch.frame) == [
        (date(2024, 3, 6), "XLK", "ssga", None, 210.55, None, None),
        (date(2024, 3, 7), "XLK", "ssga", 340_110_000, 213.01, None, 72_447_831_100.0),
        (date(2024, 3, 8), "XLK", "ssga", 340_210_000, 212.34, None, 72_240_000_000.0),
    ]
    assert batch.dropped == {"rows with '-' placeholders only": 1, "note lines without a date": 1}


def test_ssga_ticker_comes_from_the_preamble_or_the_file_name() -> None:
    row = [("08-Mar-2024", 187.5, 1_000_000, 187_500_000.0)]
    assert parse(ssga_navhist(row, ticker="SPY"), "whatever.xlsx").frame["symbol"].to_list() == ["SPY"]
    assert parse(ssga_navhist(row, ticker=None), "navhist-us-en-xlk.xlsx").frame["symbol"].to_list() == ["XLK"]
    with pytest.raises(PayloadError, match="cannot tell the fund"):
        parse(ssga_navhist(row, ticker=None), "download.xlsx")
    with pytest.raises(ValidationError, match="the workbook is for SPY, not XLK"):
        parse(ssga_navhist(row, ticker="SPY"), "x.xlsx", symbol="XLK")


def test_ssga_renamed_column_missing_sheet_and_broken_zip() -> None:
    renamed = ssga_navhist([("08-Mar-2024", 1.0, 1, 1.0)], header=("Date", "NAV", "Shares O/S", "Total Net Assets"))
    with pytest.raises(SchemaDriftError, match=r"lacks column\(s\) \['Shares Outstanding'\]"):
        parse(renamed, "navhist-us-en-xlk.xlsx")
    with pytest.raises(SchemaDriftError, match="no sheet 'navhist'"):
        parse(ssga_navhist([("08-Mar-2024", 1.0, 1, 1.0)], sheet="holdings"), "navhist-us-en-xlk.xlsx")
    book = ssga_navhist([("08-Mar-2024", 1.0, 1, 1.0)])
    with pytest.raises(PayloadError, match="not a readable xlsx"):
        parse(book[: len(book) // 2], "navhist-us-en-xlk.xlsx")


def test_ssga_unreadable_date_with_values_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match=r"unreadable date '31/31/2024' .*navhist row 5"):
        parse(ssga_navhist([("31/31/2024", 212.0, 1, 1.0)]), "navhist-us-en-xlk.xlsx")


# --- Invesco NAV JSON -------------------------------------------------------------------------


def test_invesco_nav_history_has_nav_only() -> None:
    batch = parse(INVESCO, "QQQ_navs.json")
    assert rows(batch.frame) == [
        (date(2024, 3, 4), "QQQ", "invesco", None, 445.7612, None, None),
        (date(2024, 3, 6), "QQQ", "invesco", None, 438.7819, None, None),
        (date(2024, 3, 7), "QQQ", "invesco", None, 445.6823, None, None),  # "445.6823" as a string
        (date(2024, 3, 8), "QQQ", "invesco", None, 439.0212, None, None),
    ]
    assert batch.dropped == {"records without a NAV": 1}


def test_invesco_bare_list_takes_the_ticker_from_the_url() -> None:
    body = b'[{"effectiveDate": "2024-03-08", "netAssetValue": 439.0212}]'
    url = "https://dng-api.invesco.com/cache/v1/accounts/en_US/shareclasses/QQQ/navs?idType=ticker&productType=ETF"
    assert rows(parse(body, url).frame) == [(date(2024, 3, 8), "QQQ", "invesco", None, 439.0212, None, None)]
    with pytest.raises(PayloadError, match="cannot tell the fund"):
        parse(body, "navs.json")


def test_invesco_renamed_field_and_truncated_json() -> None:
    with pytest.raises(SchemaDriftError, match="lacks 'effectiveDate' or 'netAssetValue'"):
        parse(b'{"ticker": "QQQ", "navs": [{"effectiveDate": "2024-03-08", "nav": 1.0}]}', "QQQ_navs.json")
    with pytest.raises(PayloadError, match="not valid JSON"):
        parse(INVESCO[:200], "QQQ_navs.json")


# --- VanEck page snapshot ---------------------------------------------------------------------


def test_vaneck_page_snapshot_reads_nav_shares_and_assets() -> None:
    batch = parse(VANECK, "https://www.vaneck.com/us/en/investments/semiconductor-etf-smh/")
    assert rows(batch.frame) == [(date(2026, 7, 10), "SMH", "vaneck", 120_463_874, 611.25, None, 73_620_000_000.0)]
    assert batch.frame["rule_available_at"].item() == utc(2026, 7, 13, 13, 0)  # Friday -> Monday 09:00 EDT


def test_vaneck_figures_with_different_as_of_dates_become_separate_rows() -> None:
    page = VANECK.replace(
        b'120,463,874</div>\n      <span class="as-of-date">as of July 10',
        b'120,513,874</div>\n      <span class="as-of-date">as of July 13',
    )
    assert rows(parse(page, "vaneck.html", symbol="SMH").frame) == [
        (date(2026, 7, 10), "SMH", "vaneck", None, 611.25, None, 73_620_000_000.0),
        (date(2026, 7, 13), "SMH", "vaneck", 120_513_874, None, None, None),
    ]


def test_vaneck_page_without_the_key_data_is_an_error_page() -> None:
    challenge = fixture_bytes("etf", "recorded", "vaneck_cloudflare_challenge.html")
    with pytest.raises(PayloadError, match="Just a moment"):
        parse(challenge, "https://www.vaneck.com/us/en/investments/semiconductor-etf-smh/")


# --- bring-your-own CSV -----------------------------------------------------------------------


def test_user_csv_rows_weekend_dropped_and_empty_cells_missing() -> None:
    batch = parse(USER_CSV, "user_etf_shares.csv")
    assert rows(batch.frame) == [
        (date(2024, 3, 1), "QQQ", "user_csv", 558_650_000, None, 446.47, None),
        (date(2024, 3, 4), "QQQ", "user_csv", 556_900_000, None, 444.74, None),
        (date(2024, 3, 1), "SOXX", "user_csv", 20_500_000, 720.0, 720.35, None),
        (date(2024, 3, 4), "SOXX", "user_csv", 20_450_000, None, 701.1, None),
        (date(2024, 3, 5), "SOXX", "user_csv", 20_400_000, 706.2, 706.0, None),
    ]
    assert batch.dropped == {NON_TRADING: 1}  # 2024-03-02 is a Saturday


def test_user_csv_negative_shares_are_refused() -> None:
    with pytest.raises(
        ValidationError, match=r"1 rows with negative shares_outstanding, first -5 on 2024-03-01 \(SOXX"
    ):
        parse(b"date,symbol,shares_outstanding\n2024-03-01,SOXX,-5\n", "s.csv")


def test_user_csv_zero_nav_and_text_in_numbers_are_refused() -> None:
    with pytest.raises(ValidationError, match="non-positive nav_usd"):
        parse(b"date,symbol,shares_outstanding,nav_usd\n2024-03-01,SOXX,5,0\n", "s.csv")
    with pytest.raises(ValidationError, match=r"shares_outstanding='lots' \(line 2\)"):
        parse(b"date,symbol,shares_outstanding\n2024-03-01,SOXX,lots\n", "s.csv")


def test_user_csv_renamed_column_truncation_and_extra_column() -> None:
    with pytest.raises(SchemaDriftError, match=r"lacks \['shares_outstanding'\]"):
        parse(b"date,symbol,shares\n2024-03-01,SOXX,5\n", "s.csv")
    with pytest.raises(PayloadError, match=r"line 3 has 2 of 3 fields \(truncated file\?\)"):
        parse(b"date,symbol,shares_outstanding\n2024-03-01,SOXX,5\n2024-03-04,SOX", "s.csv")
    batch = parse(b"date,symbol,shares_outstanding,issuer\n2024-03-01,SOXX,5,iShares\n", "s.csv")
    assert batch.warnings == ["unknown extra columns ['issuer'] (loaded, ignored)"]


def test_user_csv_only_weekend_rows_is_empty() -> None:
    with pytest.raises(EmptyDataError, match="no rows dated on an NYSE trading day"):
        parse(b"date,symbol,shares_outstanding\n2024-03-02,SOXX,5\n", "s.csv")


# --- the load gate (expectations/raw/raw__etf__shares.json) -----------------------------------


def gate(frame: pl.DataFrame):  # type: ignore[no-untyped-def]
    from flows.quality.gate import validate_frame

    batch = frame.rename({"rule_available_at": "available_at"}).select(*shares.SPEC.columns, "available_at")
    return validate_frame("raw__etf__shares", batch, load_date=date(2026, 9, 30))


def test_gate_passes_consistent_assets_and_refuses_shares_times_nav_far_from_them() -> None:
    # 340,210,000 x 212.34 = 72,240,191,400: within 2% of the 72,240,000,000 published
    good = parse(ssga_navhist([("08-Mar-2024", 212.34, 340_210_000, 72_240_000_000.0)]), "navhist-us-en-xlk.xlsx")
    assert gate(good.frame).success
    # 10% off: shares or NAV misread (e.g. a column shift)
    bad = parse(ssga_navhist([("08-Mar-2024", 212.34, 340_210_000, 80_000_000_000.0)]), "navhist-us-en-xlk.xlsx")
    report = gate(bad.frame)
    assert not report.success and [f.column for f in report.failures] == ["_check_tna_gap_frac"]
    assert report.failures[0].examples[0] == pytest.approx(abs(340_210_000 * 212.34 - 8e10) / 8e10)
