"""Daily prices parser: every format on fixtures written in the real layouts, and every error path.

Fixtures (``tests/fixtures/prices/``): a Yahoo/yfinance export without Adj Close (``NVDA.csv``,
float32 noise), one with it (``SOXX_landon.csv``), an Alpha Vantage daily CSV (newest first, CRLF),
the bring-your-own CSV, a yfinance export with the header in the wrong (alphabetical) order, a Cboe
delayed-quotes JSON (string numbers, a pre-listing row quoting 0, an open of 0), a Nasdaq JSON
(``$`` and thousands separators, ``N/A``), Nasdaq's rCode 400 answer and a Stooq proof-of-work page.
Expected values are computed by hand from the fixture lines quoted in the tests.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from flows.errors import EmptyDataError, PayloadError, SchemaDriftError, ValidationError
from flows.sources.prices.daily import SPEC, parse
from tests.conftest import fixture_bytes
from tests.helpers import payload

YAHOO_HEADER = "Date,Open,High,Low,Close,Volume\n"


def parsed(name: str, content: bytes | None = None, **hints: str) -> pl.DataFrame:
    body = content if content is not None else fixture_bytes("prices", name)
    return parse(payload("prices", body, f"/data/{name}", **hints)).frame


def row(frame: pl.DataFrame, day: str, symbol: str | None = None) -> dict:
    f = frame.filter(pl.col("date") == date.fromisoformat(day))
    if symbol:
        f = f.filter(pl.col("symbol") == symbol)
    assert f.height == 1
    return f.row(0, named=True)


def test_frame_has_exactly_the_spec_columns_typed() -> None:
    frame = parsed("NVDA.csv")
    assert frame.columns == [*SPEC.columns, "rule_available_at"]
    assert frame.schema["date"] == pl.Date and frame.schema["volume"] == pl.Int64
    assert frame.schema["close"] == pl.Float64 and frame.schema["symbol"] == pl.Utf8


def test_yahoo_csv_takes_the_symbol_from_the_file_name_and_keeps_float_noise() -> None:
    frame = parsed("NVDA.csv")
    # "2024-06-06,101.9000015258789,103.0,96.5,96.9000015258789,412386000"
    r = row(frame, "2024-06-06")
    assert (r["symbol"], r["series_source"]) == ("NVDA", "yahoo_csv")
    assert (r["open"], r["high"], r["low"], r["close"], r["adj_close"], r["volume"]) == (
        101.9000015258789, 103.0, 96.5, 96.9000015258789, None, 412386000
    )  # fmt: skip
    assert frame.height == 4


def test_first_underscore_token_of_the_file_name_is_the_symbol() -> None:
    body = fixture_bytes("prices", "NVDA.csv")
    assert parse(payload("prices", body, "/x/NVDA_robinfrank.csv")).frame["symbol"].unique().to_list() == ["NVDA"]
    assert parse(payload("prices", body, "/x/SOXX_landon.csv")).frame["symbol"].unique().to_list() == ["SOXX"]


def test_symbol_hint_wins_over_the_file_name() -> None:
    frame = parse(payload("prices", fixture_bytes("prices", "NVDA.csv"), "/x/SMH.csv", symbol="amd")).frame
    assert frame["symbol"].unique().to_list() == ["AMD"]


def test_a_file_name_that_is_no_universe_ticker_needs_the_symbol_option() -> None:
    body = fixture_bytes("prices", "NVDA.csv")
    with pytest.raises(PayloadError, match="pass --symbol PRICES"):
        parse(payload("prices", body, "/x/prices.csv"))
    with pytest.raises(PayloadError, match="not a ticker symbol"):
        parse(payload("prices", body, "/x/2024-06 export.csv"))


def test_symbol_hint_outside_the_universe_loads_with_a_warning() -> None:
    batch = parse(payload("prices", fixture_bytes("prices", "NVDA.csv"), "/x/brk.b.csv", symbol="BRK.B"))
    assert batch.frame["symbol"].unique().to_list() == ["BRK.B"]
    assert any("not in config/universe.yaml" in w and "BRK.B" in w for w in batch.warnings)


def test_yahoo_csv_with_adj_close_is_its_own_series() -> None:
    # "2024-06-05,231.5,236.0,231.0,235.0,233.0,5000000"
    r = row(parsed("SOXX_landon.csv"), "2024-06-05")
    assert (r["symbol"], r["series_source"], r["close"], r["adj_close"], r["volume"]) == (
        "SOXX", "yahoo_csv_adj", 235.0, 233.0, 5000000
    )  # fmt: skip


def test_alpha_vantage_csv_newest_first_with_crlf() -> None:
    content = fixture_bytes("prices", "SPY_vendor_alphavantage.csv")
    assert b"\r\n" in content
    frame = parsed("SPY_vendor_alphavantage.csv", content)
    # "2024-06-07,534.9900,536.0000,533.1000,534.0100,43000000"
    r = row(frame, "2024-06-07")
    assert (r["symbol"], r["series_source"], r["open"], r["close"], r["volume"]) == (
        "SPY", "alphavantage_csv", 534.99, 534.01, 43000000
    )  # fmt: skip
    assert sorted(frame["date"].to_list()) == [date(2024, 6, 5), date(2024, 6, 6), date(2024, 6, 7)]


def test_canonical_csv_with_empty_adj_close_and_several_symbols() -> None:
    frame = parsed("prices_canonical.csv")
    assert set(frame["series_source"]) == {"user_csv"}
    assert row(frame, "2024-06-04", "NVDA")["adj_close"] is None
    # "2024-06-05,SMH,251.0,255.0,250.5,254.0,252.5,7000000"
    r = row(frame, "2024-06-05", "SMH")
    assert (r["open"], r["high"], r["low"], r["close"], r["adj_close"], r["volume"]) == (
        251.0, 255.0, 250.5, 254.0, 252.5, 7000000
    )  # fmt: skip


def test_canonical_csv_refuses_a_symbol_hint_that_contradicts_its_rows() -> None:
    with pytest.raises(ValidationError, match="holds NVDA but the symbol hint says SMH"):
        parsed("prices_canonical.csv", symbol="SMH")


def test_mislabelled_yfinance_header_is_remapped_from_the_values() -> None:
    batch = parse(payload("prices", fixture_bytes("prices", "SMH_mislabelled_yfinance.csv"), "/x/SMH_hjyssg.csv"))
    # "2024-06-04 00:00:00+00:00,251.0,252.0,255.0,248.0,250.0,6000000" under Open,High,Low,Close,Adj Close
    # holds Adj Close 251, Close 252, High 255, Low 248, Open 250.
    r = row(batch.frame, "2024-06-04")
    assert (r["open"], r["high"], r["low"], r["close"], r["adj_close"]) == (250.0, 255.0, 248.0, 252.0, 251.0)
    assert any("wrong order" in w for w in batch.warnings)


def test_cboe_json_drops_prelisting_rows_and_treats_zero_open_as_missing() -> None:
    batch = parse(payload("prices", fixture_bytes("prices", "cboe_NVDA_historical.json"), "https://cdn/NVDA.json"))
    frame = batch.frame
    assert set(frame["series_source"]) == {"cboe_delayed"} and set(frame["symbol"]) == {"NVDA"}
    assert frame.height == 3 and batch.dropped == {"rows quoting close 0 (before the listing)": 1}
    # {"date": "2024-06-04", "open": "0.00", "high": "100.50", "low": "98.75", "close": "100.00", ...}
    r = row(frame, "2024-06-04")
    assert (r["open"], r["high"], r["close"], r["volume"]) == (None, 100.5, 100.0, 300000000)
    assert any("of 0 stored as missing" in w for w in batch.warnings)
    assert row(frame, "2024-06-06")["volume"] == 412386000  # numbers, not strings, are read too


def test_cboe_json_symbol_contradicting_the_hint_is_refused() -> None:
    with pytest.raises(ValidationError, match="holds NVDA but the symbol hint says AMD"):
        parsed("cboe_NVDA_historical.json", symbol="AMD")


def test_nasdaq_json_reads_dollar_and_thousands_and_na() -> None:
    frame = parsed("nasdaq_SPY_historical.json")
    assert set(frame["series_source"]) == {"nasdaq_api"}
    # {"date": "06/07/2024", "close": "$534.01", "volume": "43,000,000", "open": "$534.99", ...}
    r = row(frame, "2024-06-07")
    assert (r["symbol"], r["open"], r["close"], r["volume"]) == ("SPY", 534.99, 534.01, 43000000)
    assert row(frame, "2024-06-06")["volume"] is None  # "N/A"
    assert row(frame, "2024-06-05")["close"] == 534.67  # ETF rows come without "$"


def test_nasdaq_answer_without_data_is_refused_with_its_status() -> None:
    with pytest.raises(PayloadError, match="rCode 400"):
        parsed("nasdaq_rcode400.json")


def test_available_at_is_the_close_of_the_trade_date_in_new_york() -> None:
    frame = parsed("NVDA.csv")
    # 2024-06-04 is in EDT: 16:00 New York = 20:00 UTC
    assert row(frame, "2024-06-04")["rule_available_at"] == datetime(2024, 6, 4, 20, 0, tzinfo=UTC)
    winter = parsed("w.csv", (YAHOO_HEADER + "2024-01-05,10,11,9,10.5,100\n").encode(), symbol="NVDA")
    assert winter["rule_available_at"].to_list() == [datetime(2024, 1, 5, 21, 0, tzinfo=UTC)]  # EST


def test_bar_of_a_session_still_open_when_fetched_is_dropped_as_partial() -> None:
    body = (YAHOO_HEADER + "2024-06-06,10,11,9,10.5,100\n2024-06-07,10.5,11,10,10.8,40\n").encode()
    fetched = datetime(2024, 6, 7, 15, 0, tzinfo=UTC)  # 11:00 New York, before the 16:00 close
    batch = parse(payload("prices", body, "/x/NVDA.csv", fetched_at=fetched))
    assert batch.frame["date"].to_list() == [date(2024, 6, 6)]
    assert batch.dropped == {"bars of sessions not closed when fetched (partial)": 1}


def test_zero_volume_flat_bar_is_kept_with_a_warning() -> None:
    # AMD.csv has "2015-01-02,2.67...,2.67...,2.67...,2.67...,0": a vendor placeholder
    body = (YAHOO_HEADER + "2014-12-31,2.70,2.72,2.66,2.67,9000000\n2015-01-02,2.67,2.67,2.67,2.67,0\n").encode()
    batch = parse(payload("prices", body, "/x/AMD.csv"))
    assert row(batch.frame, "2015-01-02")["volume"] == 0
    assert any("volume 0" in w and "AMD 2015-01-02" in w for w in batch.warnings)


def test_unknown_extra_column_loads_with_a_warning() -> None:
    body = b"Date,Open,High,Low,Close,Volume,Dividends\n2024-06-04,1,2,0.5,1.5,10,0\n"
    batch = parse(payload("prices", body, "/x/NVDA.csv"))
    assert batch.frame.height == 1 and batch.warnings == ["unknown extra columns ['dividends'] (loaded, ignored)"]


# --------------------------------------------------------------------------------- error paths


def test_stooq_proof_of_work_page_served_with_200_is_refused_as_html() -> None:
    with pytest.raises(PayloadError, match="HTML"):
        parsed("NVDA.csv", fixture_bytes("prices", "stooq_proof_of_work.html"))


def test_html_without_a_doctype_is_refused_too() -> None:
    with pytest.raises(PayloadError, match="HTML page"):
        parsed("NVDA.csv", b"\n  <script>crypto.subtle.digest('SHA-256', x); fetch('/__verify')</script>\n")


def test_empty_body_and_header_only_are_empty_data() -> None:
    with pytest.raises(EmptyDataError):
        parsed("NVDA.csv", b"")
    with pytest.raises(EmptyDataError, match="no price rows"):
        parsed("NVDA.csv", YAHOO_HEADER.encode())


def test_line_cut_short_is_a_truncation() -> None:
    content = fixture_bytes("prices", "NVDA.csv")
    with pytest.raises(PayloadError, match=r"line 5 has 2 of 6 fields \(file cut mid-line: truncated\?\)"):
        parsed("NVDA.csv", content[: content.rindex(b",98.0")])


def test_last_field_cut_mid_number_is_a_truncation() -> None:
    content = fixture_bytes("prices", "NVDA.csv").rstrip(b"\n")  # last volume 198000000 ...
    with pytest.raises(PayloadError, match="looks cut"):
        parsed("NVDA.csv", content[:-5])  # ... cut to 1980
    assert parsed("NVDA.csv", content).height == 4  # no final line break alone is not a cut


def test_renamed_column_is_schema_drift() -> None:
    body = b"Date,Open,High,Low,Last,Volume\n2024-06-04,1,2,0.5,1.5,10\n"
    with pytest.raises(SchemaDriftError, match=r"lacks \['close'\]"):
        parsed("NVDA.csv", body)
    with pytest.raises(SchemaDriftError, match="not a price CSV"):
        parsed("NVDA.csv", b"Day,Open,High,Low,Close,Volume\n2024-06-04,1,2,0.5,1.5,10\n")


def test_high_below_low_is_refused_with_its_line() -> None:
    body = (YAHOO_HEADER + "2024-06-04,1,2,0.5,1.5,10\n2024-06-05,1.5,1.4,1.6,1.5,10\n").encode()
    with pytest.raises(ValidationError, match=r"high 1.4 < low 1.6 on 2024-06-05 \(line 3\)"):
        parsed("NVDA.csv", body)


def test_close_outside_the_day_range_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"close 2.5 outside \[low 0.5, high 2.0\]"):
        parsed("NVDA.csv", (YAHOO_HEADER + "2024-06-04,1,2,0.5,2.5,10\n").encode())


def test_negative_volume_is_refused() -> None:
    with pytest.raises(ValidationError, match="negative volume '-10' on 2024-06-04"):
        parsed("NVDA.csv", (YAHOO_HEADER + "2024-06-04,1,2,0.5,1.5,-10\n").encode())


def test_text_where_a_number_belongs_is_refused_with_column_and_line() -> None:
    with pytest.raises(ValidationError, match=r"text where a number belongs: high='n/q' \(line 2\)"):
        parsed("NVDA.csv", (YAHOO_HEADER + "2024-06-04,1,n/q,0.5,1.5,10\n").encode())


def test_zero_or_negative_close_in_a_csv_is_refused() -> None:
    with pytest.raises(ValidationError, match="close must be > 0"):
        parsed("NVDA.csv", (YAHOO_HEADER + "2024-06-04,0,0,0,0,10\n").encode())


def test_unreadable_date_is_refused() -> None:
    with pytest.raises(ValidationError, match="unreadable date '06-04-2024'"):
        parsed("NVDA.csv", (YAHOO_HEADER + "06-04-2024,1,2,0.5,1.5,10\n").encode())


def test_truncated_json_is_a_payload_error() -> None:
    content = fixture_bytes("prices", "cboe_NVDA_historical.json")
    with pytest.raises(PayloadError, match="not valid JSON"):
        parsed("x.json", content[:120])
