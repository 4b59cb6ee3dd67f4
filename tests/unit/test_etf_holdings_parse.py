"""ETF holdings parser on small hand-made fixtures in the published layouts.

Fixtures (tests/fixtures/etf_holdings/, weights chosen by hand so each file sums to ~100%):
- SOXX_holdings_2023_layout.csv: iShares 2023 layout: UTF-8 BOM, CRLF, quoted numbers with thousands
  separators, weights ``30``/``25.5``, a non-breaking-space blank line, money market, collateral, a
  future at weight 0, ``USD CASH`` at -0.01, a multi-line quoted disclaimer. As of Nov 19, 2026.
  Equities 30 + 25.5 + 20 + 14.3 + 10 = 99.8; cash 0.17 + 0.04 - 0.01 = 0.20.
- SOXX_holdings_2026_layout.csv: iShares 2026 layout: every field quoted, ``Quantity``, LF, blank
  last line. As of Nov 25, 2026 (the day before Thanksgiving). Equities 99.85, cash 0.15.
- SOXX_holdings_template_not_available.csv: the template served for a date without a file.
- SMH_vaneck_holdings.json: VanEck HoldingsBlock JSON, 54 string fields per row, ``-USD CASH-``
  0.06 and the `` -- `` residual at ``-0.00``; stocks 99.94.
- QQQ_invesco_holdings.json: dng-api JSON, effectiveDate 2026-09-07 (Labor Day) vs
  effectiveBusinessDate 2026-09-04, NQU6/NQU6_ pair, null-ticker collateral, USDPDV with a null weight.
- QQQ_invesco_holdings.csv: Invesco CSV (2020 layout, ``AAPL `` with a trailing space).
- user_etf_holdings.csv: ``as_of_date,etf,symbol,weight_frac`` with an XLK quarter end (N-PORT).
- the SSGA workbook is built by ``tests.etf_holdings_xlsx`` (openpyxl).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import polars as pl
import pytest

from flows.errors import EmptyDataError, PayloadError, SchemaDriftError, ValidationError
from flows.sources.base import Payload
from flows.sources.etf.holdings import COLUMNS, SPEC, parse
from flows.sources.etf.holdings_formats import invesco
from tests.conftest import fixture_bytes
from tests.etf_holdings_xlsx import HEADER, ROWS, ssga_holdings_xlsx

FETCHED = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
ISHARES_2023 = fixture_bytes("etf_holdings", "SOXX_holdings_2023_layout.csv")
ISHARES_2026 = fixture_bytes("etf_holdings", "SOXX_holdings_2026_layout.csv")
ISHARES_TEMPLATE = fixture_bytes("etf_holdings", "SOXX_holdings_template_not_available.csv")
VANECK = fixture_bytes("etf_holdings", "SMH_vaneck_holdings.json")
INVESCO_JSON = fixture_bytes("etf_holdings", "QQQ_invesco_holdings.json")
INVESCO_CSV = fixture_bytes("etf_holdings", "QQQ_invesco_holdings.csv")
USER_CSV = fixture_bytes("etf_holdings", "user_etf_holdings.csv")


def hold(content: bytes, origin: str = "download.csv", **hints: str):  # type: ignore[no-untyped-def]
    return parse(Payload("etf_holdings", content, origin, FETCHED, live=False, hints=dict(hints)))


def weights(frame: pl.DataFrame, etf: str | None = None) -> dict[str, float]:
    f = frame if etf is None else frame.filter(pl.col("etf") == etf)
    return dict(f.select("symbol", "weight_frac").iter_rows())


def one(frame: pl.DataFrame, symbol: str) -> dict[str, object]:
    rows = frame.filter(pl.col("symbol") == symbol).rows(named=True)
    assert len(rows) == 1, rows
    return rows[0]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- iShares CSV --------------------------------------------------------------------------------


def test_ishares_2023_layout_reads_bom_crlf_separators_and_stops_before_the_disclaimer():
    frame = hold(ISHARES_2023).frame
    equities = frame.filter(pl.col("asset_class") == "equity")
    assert weights(equities) == {"NVDA": 0.30, "AMD": 0.255, "AVGO": 0.20, "MU": 0.143, "LRCX": 0.10}
    assert set(frame["etf"]) == {"SOXX"}  # line 1 "iShares Semiconductor ETF" -> SOXX via config
    assert set(frame["as_of_date"]) == {date(2026, 11, 19)}
    assert set(frame["series_source"]) == {"issuer"} and set(frame["source_format"]) == {"ishares_csv"}
    assert one(frame, "NVDA")["name"] == "NVIDIA CORP"


def test_ishares_cash_lines_are_summed_into_one_row_and_futures_into_another():
    frame = hold(ISHARES_2023).frame
    cash, fut = one(frame, "_CASH"), one(frame, "_FUTURES")
    # XTSLA 0.17 + WFFUT 0.04 + USD CASH -0.01 = 0.20%
    assert cash["weight_frac"] == pytest.approx(0.0020, abs=1e-12) and cash["asset_class"] == "cash"
    assert cash["name"] == "XTSLA; WFFUT; USD"
    assert fut["weight_frac"] == 0.0 and fut["asset_class"] == "future" and fut["name"] == "IXTZ6"
    assert frame.height == 7
    assert frame["weight_frac"].sum() == pytest.approx(1.0)


def test_ishares_2026_layout_every_field_quoted_with_quantity_column():
    frame = hold(ISHARES_2026, "SOXX_holdings.csv").frame
    assert weights(frame.filter(pl.col("asset_class") == "equity")) == {
        "NVDA": 0.0887, "AMD": 0.0851, "AVGO": 0.0796, "MU": 0.0774, "TSM": 0.6677,
    }  # fmt: skip
    assert one(frame, "_CASH")["weight_frac"] == pytest.approx(0.0015, abs=1e-12)  # 0.12 + 0.02 + 0.01
    assert set(frame["as_of_date"]) == {date(2026, 11, 25)}


def test_issuer_file_is_available_at_the_next_nyse_session_open():
    # Thu 2026-11-19 -> Fri 2026-11-20 09:30 EST
    assert set(hold(ISHARES_2023).frame["rule_available_at"]) == {utc(2026, 11, 20, 14, 30)}
    # Wed 2026-11-25 -> Thanksgiving Thu 11-26 closed -> Fri 2026-11-27 09:30 EST
    assert set(hold(ISHARES_2026).frame["rule_available_at"]) == {utc(2026, 11, 27, 14, 30)}


def test_ishares_template_for_a_date_without_a_file_is_not_data():
    with pytest.raises(EmptyDataError, match=r"Fund Holdings as of,\"-\".*no holdings published"):
        hold(ISHARES_TEMPLATE)


def test_ishares_renamed_weight_column_is_schema_drift():
    renamed = ISHARES_2026.replace(b"Weight (%)", b"Weight")
    with pytest.raises(SchemaDriftError, match=r"header lacks \['Weight \(%\)'\]"):
        hold(renamed)


def test_ishares_file_cut_mid_row_is_refused_as_truncated():
    cut = ISHARES_2026[: ISHARES_2026.index(b'"MU"') + 40]
    with pytest.raises(PayloadError, match=r"line 14 has 3 of 15 fields \(the file ends mid-row: truncated"):
        hold(cut)


def test_ishares_file_cut_at_a_line_end_fails_the_weight_sum():
    cut = ISHARES_2026[: ISHARES_2026.index(b'"MU"')]  # NVDA, AMD, AVGO only: 25.34%
    with pytest.raises(ValidationError, match=r"SOXX 2026-11-25: weights sum to 25.34%, not 100% ± 2%"):
        hold(cut)


def test_ishares_fund_comes_from_hint_then_fund_name_then_file_name():
    unnamed = ISHARES_2026.replace(b"iShares Semiconductor ETF", b"iShares Expanded Tech-Software Sector ETF")
    assert set(hold(unnamed, "IGV_holdings.csv").frame["etf"]) == {"IGV"}  # iShares' own download name
    assert set(hold(unnamed, "x/ishares_SOXX_2026.csv").frame["etf"]) == {"SOXX"}  # a universe ETF token
    assert set(hold(unnamed, "download.csv", etf="IGV").frame["etf"]) == {"IGV"}
    with pytest.raises(PayloadError, match="cannot tell which ETF"):
        hold(unnamed, "download.csv")


def test_html_page_served_with_200_is_refused():
    page = b"<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>Reference #18.5c</BODY></HTML>"
    with pytest.raises(PayloadError, match=r"HTML/XML page, not data.*Access Denied"):
        hold(page)


def test_equity_weight_above_100_percent_is_refused():
    bad = ISHARES_2023.replace(b",30,", b",130,")
    with pytest.raises(ValidationError, match=r"weight 130% of NVDA outside \[0%, 100%\] \(line 11\)"):
        hold(bad)


def test_duplicate_symbol_in_a_file_is_refused():
    lines = ISHARES_2026.split(b"\n")
    mu = next(x for x in lines if x.startswith(b'"MU"'))
    dup = ISHARES_2026.replace(mu, mu + b"\n" + mu.replace(b'"7.74"', b'"0.01"'))
    with pytest.raises(ValidationError, match=r"duplicate symbol MU \(line 14 and line 15\)"):
        hold(dup)


def test_text_where_a_weight_belongs_is_refused():
    with pytest.raises(ValidationError, match=r"text where a number belongs: Weight \(%\)='n/a%x' \(line 12\)"):
        hold(ISHARES_2023.replace(b",25.5,", b",n/a%x,"))


def test_unknown_asset_class_is_refused_not_guessed():
    with pytest.raises(ValidationError, match=r"unknown asset class 'Crypto' \(line 16\)"):
        hold(ISHARES_2023.replace(b"Money Market", b"Crypto"))


# --- VanEck JSON --------------------------------------------------------------------------------


def test_vaneck_json_reads_labels_and_string_weights():
    frame = hold(VANECK, "GetDataset.json").frame
    assert weights(frame.filter(pl.col("asset_class") == "equity")) == {
        "NVDA": 0.40, "TSM": 0.20, "AMD": 0.15, "MU": 0.1494, "SKHY": 0.10,
    }  # fmt: skip
    assert set(frame["etf"]) == {"SMH"} and set(frame["as_of_date"]) == {date(2026, 11, 19)}
    assert set(frame["source_format"]) == {"vaneck_json"}


def test_vaneck_cash_and_the_minus_zero_residual_make_one_cash_row():
    frame = hold(VANECK).frame
    cash = one(frame, "_CASH")
    assert cash["weight_frac"] == pytest.approx(0.0006, abs=1e-12)  # -USD CASH- 0.06 + " -- " -0.00
    assert cash["name"] == "-USD CASH-; Other/Cash"
    assert frame.height == 6 and frame["weight_frac"].sum() == pytest.approx(1.0)


def test_vaneck_us_formatted_as_of_date_is_read():
    doc = json.loads(VANECK)
    doc["AsOfDate"] = "11/19/2026"
    assert set(hold(json.dumps(doc).encode()).frame["as_of_date"]) == {date(2026, 11, 19)}


def test_vaneck_truncated_json_is_refused():
    with pytest.raises(PayloadError, match=r"not valid JSON \(truncated download\?\)"):
        hold(VANECK[:-300])


def test_vaneck_renamed_weight_key_is_schema_drift():
    with pytest.raises(SchemaDriftError, match=r"Holdings\[0\] lacks \['Weight'\]"):
        hold(VANECK.replace(b'"Weight":', b'"WeightPct":'))


# --- Invesco JSON and CSV -----------------------------------------------------------------------


def test_invesco_json_dates_holdings_by_effective_business_date():
    frame = hold(INVESCO_JSON, "qqq.json").frame
    assert set(frame["as_of_date"]) == {date(2026, 9, 4)}  # not effectiveDate 2026-09-07 (Labor Day)
    assert set(frame["rule_available_at"]) == {utc(2026, 9, 8, 13, 30)}  # Tue after Labor Day, 09:30 EDT
    assert set(frame["etf"]) == {"QQQ"}  # top-level "cusip": "QQQ"


def test_invesco_future_and_contra_cancel_and_collateral_without_ticker_is_cash():
    batch = hold(INVESCO_JSON)
    frame = batch.frame
    assert weights(frame) == pytest.approx(
        {"NVDA": 0.40, "AAPL": 0.30, "MSFT": 0.20, "ASML": 0.09886855, "_FUTURES": 0.0, "_CASH": 0.00113145},
        abs=1e-12,
    )
    assert one(frame, "_FUTURES")["name"] == "NQU6; NQU6_"
    assert one(frame, "_CASH")["name"] == "USD; CASH COLLATERAL; USDPDV"
    assert one(frame, "ASML")["asset_class"] == "equity"  # American Depository Receipt - NY
    assert batch.warnings == ["QQQ 2026-09-04: 1 non-equity lines without a weight counted as 0"]


def test_invesco_issuer_names_lose_their_html_entities():
    snap = invesco.read_json(json.loads(INVESCO_JSON), Payload("etf_holdings", b"", "q.json", FETCHED))
    assert [h.name for h in snap.holdings if h.symbol == "USD"] == ["CASH & EQUIVALENTS"]


def test_invesco_json_without_effective_business_date_is_refused():
    doc = json.loads(INVESCO_JSON)
    del doc["effectiveBusinessDate"]
    with pytest.raises(SchemaDriftError, match=r"without 'effectiveBusinessDate'.*'effectiveDate' can be a holiday"):
        hold(json.dumps(doc).encode())


def test_invesco_top_holdings_extract_is_refused_as_a_partial_list():
    doc = json.loads(INVESCO_JSON)
    doc["holdings"] = doc["holdings"][:2]
    doc["totalNumberOfHoldings"] = 108
    with pytest.raises(ValidationError, match=r"sum to 70%.*partial or truncated.*\(2 rows of the 108"):
        hold(json.dumps(doc).encode())


def test_invesco_csv_strips_the_trailing_space_of_tickers():
    frame = hold(INVESCO_CSV, "holdings.csv").frame
    assert weights(frame) == {
        "AAPL": 0.40, "MSFT": 0.30, "AMZN": 0.195, "GOOGL": 0.05, "GOOG": 0.04998, "ASML": 0.005,
    }  # fmt: skip
    assert set(frame["etf"]) == {"QQQ"} and set(frame["as_of_date"]) == {date(2020, 7, 2)}
    # Thu 2020-07-02; Fri 07-03 closed (July 4th on a Saturday) -> Mon 07-06 09:30 EDT
    assert set(frame["rule_available_at"]) == {utc(2020, 7, 6, 13, 30)}
    assert set(frame["source_format"]) == {"invesco_csv"}


def test_invesco_csv_cut_mid_row_is_refused():
    with pytest.raises(PayloadError, match=r"line 7 has 8 of 10 fields \(the file ends mid-row"):
        hold(INVESCO_CSV[:-40])


# --- SSGA xlsx ----------------------------------------------------------------------------------


def test_ssga_workbook_reads_the_as_of_line_and_percent_weights():
    frame = hold(ssga_holdings_xlsx(), "holdings-daily-us-en-xlk.xlsx").frame
    assert set(frame["etf"]) == {"XLK"} and set(frame["as_of_date"]) == {date(2025, 11, 18)}
    assert one(frame, "NVDA")["weight_frac"] == pytest.approx(0.1459997, abs=1e-15)
    cash, fut = one(frame, "_CASH"), one(frame, "_FUTURES")
    assert cash["weight_frac"] == pytest.approx(0.00079023, abs=1e-12)  # money market + US dollar
    assert cash["name"] == "SSI US GOV MONEY MARKET CLASS; US DOLLAR"
    assert fut["weight_frac"] == pytest.approx(0.0000206, abs=1e-12) and fut["name"] == "IXTZ5"
    assert frame.height == 7 and set(frame["source_format"]) == {"ssga_xlsx"}
    assert set(frame["rule_available_at"]) == {utc(2025, 11, 19, 14, 30)}


def test_ssga_truncated_workbook_is_refused():
    book = ssga_holdings_xlsx()
    with pytest.raises(PayloadError, match=r"not a readable xlsx workbook \(truncated download\?\)"):
        hold(book[: len(book) // 2])


def test_ssga_header_without_weight_is_schema_drift():
    header = [("Weight %" if h == "Weight" else h) for h in HEADER]
    with pytest.raises(SchemaDriftError, match="no header row starting with 'Name' and holding 'Weight'"):
        hold(ssga_holdings_xlsx(header=header))


def test_ssga_weight_sum_far_from_100_percent_is_refused():
    with pytest.raises(ValidationError, match=r"XLK 2025-11-18: weights sum to 45.17%, not 100% ± 2%"):
        hold(ssga_holdings_xlsx(rows=[r for r in ROWS if r[1] != "ORCL"]))


# --- bring-your-own CSV -------------------------------------------------------------------------


def test_user_csv_quarter_end_rows_are_nport_and_public_60_days_later():
    frame = hold(USER_CSV).frame.filter(pl.col("etf") == "XLK")
    assert set(frame["series_source"]) == {"nport"} and set(frame["as_of_date"]) == {date(2023, 9, 30)}
    assert set(frame["rule_available_at"]) == {utc(2023, 11, 29, 14, 30)}  # 2023-09-30 + 60 d, 09:30 EST
    # XLK's N-PORT "STT" is the State Street cash sweep and "CME" the E-mini futures margin
    assert one(frame, "_CASH")["weight_frac"] == pytest.approx(0.00176064)
    assert one(frame, "_FUTURES")["weight_frac"] == pytest.approx(5.178e-05)
    assert "STT" not in weights(frame) and "CME" not in weights(frame)


def test_user_csv_other_rows_are_issuer_snapshots_public_at_the_next_session():
    frame = hold(USER_CSV).frame
    smh = frame.filter(pl.col("etf") == "SMH")
    assert set(smh["series_source"]) == {"user_csv"} and set(smh["rule_available_at"]) == {utc(2026, 10, 2, 13, 30)}
    assert weights(smh)["NVDA"] == 0.1927
    qqq = frame.filter(pl.col("etf") == "QQQ")
    assert weights(qqq) == {"NVDA": 0.08853649, "AAPL": 0.9, "_CASH": 0.00101538, "_FUTURES": 0.00115584}


def test_user_csv_source_column_overrides_the_quarter_end_rule():
    text = b"as_of_date,etf,symbol,weight_frac,source\n2023-09-29,XLK,MSFT,1.0,nport\n2023-09-30,XLK,AAPL,1.0,issuer\n"
    frame = hold(text).frame.sort("as_of_date")
    assert frame["series_source"].to_list() == ["nport", "user_csv"]
    assert frame["rule_available_at"].to_list() == [utc(2023, 11, 28, 14, 30), utc(2023, 10, 2, 13, 30)]


def test_user_csv_weight_in_percent_instead_of_fraction_is_refused():
    with pytest.raises(ValidationError, match=r"weight 1927% of NVDA outside \[0%, 100%\] \(line 2\)"):
        hold(USER_CSV.replace(b"NVDA,0.1927", b"NVDA,19.27"))


def test_user_csv_duplicate_symbol_is_refused():
    text = USER_CSV + b"2026-10-01,SMH,NVDA,0.0\n"
    with pytest.raises(ValidationError, match=r"SMH 2026-10-01: duplicate symbol NVDA \(line 2 and line 16\)"):
        hold(text)


def test_user_csv_extra_column_loads_with_a_warning():
    text = b"as_of_date,etf,symbol,weight_frac,vendor\n2026-10-01,SMH,NVDA,1.0,x\n"
    batch = hold(text)
    assert batch.warnings == ["unknown extra columns ['vendor'] (loaded, ignored)"]
    assert weights(batch.frame) == {"NVDA": 1.0}


def test_user_csv_unknown_asset_class_value_is_refused():
    text = b"as_of_date,etf,symbol,weight_frac,asset_class\n2026-10-01,SMH,NVDA,1.0,crypto\n"
    with pytest.raises(ValidationError, match=r"unknown asset_class 'crypto' \(line 2"):
        hold(text)


# --- every layout -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [ISHARES_2023, ISHARES_2026, VANECK, INVESCO_JSON, INVESCO_CSV, USER_CSV, ssga_holdings_xlsx()],
    ids=["ishares2023", "ishares2026", "vaneck", "invesco_json", "invesco_csv", "user_csv", "ssga"],
)
def test_frame_has_exactly_the_spec_columns_typed(content):
    frame = hold(content, "SOXX_holdings.csv").frame
    assert frame.columns == [*SPEC.key, *SPEC.values, *SPEC.attributes, "rule_available_at"]
    assert dict(frame.schema) == COLUMNS | {"rule_available_at": pl.Datetime("us", "UTC")}
    assert frame.select(pl.col("symbol").is_duplicated().over("etf", "as_of_date").any()).item() is False


def test_unknown_layout_is_schema_drift_and_empty_body_is_empty_data():
    with pytest.raises(SchemaDriftError, match="not a known holdings layout"):
        hold(b"date,close\n2026-01-02,1.0\n")
    with pytest.raises(EmptyDataError):
        hold(b"  \n")
    with pytest.raises(SchemaDriftError, match="not a VanEck or Invesco holdings JSON"):
        hold(b'{"data": []}')
