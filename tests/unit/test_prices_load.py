"""Prices through the loader, the gate and analytics.prices: vendors side by side (never revisions of
each other), the source ranking, return_1d inside one series, revisions and point in time, and the
``--symbol`` import option. Fixtures: ``tests/fixtures/prices/`` (see test_prices_parse.py)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from typer.testing import CliRunner

from flows import loader
from flows.cli import app
from flows.quality.gate import validate_frame
from flows.sources.prices.daily import SERIES_RANK, SPEC, parse
from flows.warehouse import SQL_DIR, connect_write
from tests.conftest import fixture_bytes
from tests.helpers import payload

LOAD_DATE = date(2024, 6, 30)


@pytest.fixture
def con(warehouse):  # type: ignore[no-untyped-def]
    c = connect_write(warehouse)
    yield c
    c.close()


def load(con, warehouse, content: bytes, origin: str, **kw):  # type: ignore[no-untyped-def]
    fetched = kw.pop("fetched_at", None)
    p = payload("prices", content, origin, fetched_at=fetched, **kw)
    return loader.ingest(con, SPEC, [p], warehouse.raw_dir, load_date=LOAD_DATE)


def view(con, symbol: str) -> dict[date, dict]:  # type: ignore[no-untyped-def]
    frame = con.sql(f"select * from analytics.prices where symbol = '{symbol}' order by date").pl()
    return {r["date"]: r for r in frame.iter_rows(named=True)}


def nasdaq_json(symbol: str, bars: list[tuple[str, float]]) -> bytes:
    rows = [
        {"date": f"{d[5:7]}/{d[8:10]}/{d[:4]}", "close": f"${c:.2f}", "volume": "1,000", "open": f"${c:.2f}",
         "high": f"${c + 1:.2f}", "low": f"${c - 1:.2f}"}
        for d, c in bars
    ]  # fmt: skip
    doc = {"data": {"symbol": symbol, "tradesTable": {"rows": rows}}, "status": {"rCode": 200}}
    return json.dumps(doc).encode()


def test_overlapping_vendors_are_kept_side_by_side_not_as_revisions(con, warehouse):  # type: ignore[no-untyped-def]
    assert load(con, warehouse, fixture_bytes("prices", "NVDA.csv"), "/f/NVDA.csv")[0].rows_new == 4
    # the same NVDA days with other values from two other publications
    res = load(con, warehouse, fixture_bytes("prices", "prices_canonical.csv"), "/f/prices.csv")
    assert (res[0].outcome, res[0].rows_new, res[0].rows_revised) == ("loaded", 4, 0)
    res = load(con, warehouse, fixture_bytes("prices", "cboe_NVDA_historical.json"), "https://cdn/NVDA.json")
    assert (res[0].rows_new, res[0].rows_revised) == (3, 0)
    by_series = dict(
        con.execute(
            "select series_source, count(*) from raw.prices__daily where symbol = 'NVDA' and version = 1 group by 1"
        ).fetchall()
    )
    assert by_series == {"yahoo_csv": 4, "user_csv": 2, "cboe_delayed": 3}
    assert con.execute("select max(version) from raw.prices__daily").fetchone() == (1,)


def test_view_keeps_one_row_per_day_from_the_best_ranked_source(con, warehouse):  # type: ignore[no-untyped-def]
    for name in ("prices_canonical.csv", "NVDA.csv"):
        load(con, warehouse, fixture_bytes("prices", name), f"/f/{name}")
    load(con, warehouse, fixture_bytes("prices", "cboe_NVDA_historical.json"), "https://cdn/NVDA.json")
    nvda = view(con, "NVDA")
    # NVDA.csv "2024-06-05,100.25,102.5,100.0,102.0,250000000" beats cboe (102.00) and user_csv (102.1)
    assert (nvda[date(2024, 6, 5)]["series_source"], nvda[date(2024, 6, 5)]["close"]) == ("yahoo_csv", 102.0)
    assert len(nvda) == 4
    smh = view(con, "SMH")  # only the user CSV has SMH
    assert smh[date(2024, 6, 5)]["series_source"] == "user_csv" and smh[date(2024, 6, 5)]["adj_close"] == 252.5


def test_return_1d_is_a_fraction_inside_one_series(con, warehouse):  # type: ignore[no-untyped-def]
    load(con, warehouse, fixture_bytes("prices", "NVDA.csv"), "/f/NVDA.csv")
    load(con, warehouse, fixture_bytes("prices", "SOXX_landon.csv"), "/f/SOXX_landon.csv")
    nvda = view(con, "NVDA")
    assert nvda[date(2024, 6, 4)]["return_1d"] is None  # first row
    assert nvda[date(2024, 6, 5)]["return_1d"] == pytest.approx(102.0 / 100.0 - 1)  # 0.02
    assert nvda[date(2024, 6, 6)]["return_1d"] == pytest.approx(96.9000015258789 / 102.0 - 1)  # -0.05
    soxx = view(con, "SOXX")  # adj_close when both bars have one: 233.0 / 229.0 - 1, not 235 / 231 - 1
    assert soxx[date(2024, 6, 5)]["return_1d"] == pytest.approx(233.0 / 229.0 - 1)


def test_return_1d_continues_in_the_next_source_from_its_own_previous_bar(con, warehouse):  # type: ignore[no-untyped-def]
    load(con, warehouse, fixture_bytes("prices", "NVDA.csv"), "/f/NVDA.csv")  # to 2024-06-07, close 97.5
    bars = [("2024-06-06", 96.0), ("2024-06-07", 98.0), ("2024-06-10", 99.0)]
    load(con, warehouse, nasdaq_json("NVDA", bars), "https://api.nasdaq.com/x")
    nvda = view(con, "NVDA")
    assert nvda[date(2024, 6, 7)]["series_source"] == "yahoo_csv"
    r = nvda[date(2024, 6, 10)]
    # Nasdaq's own previous close (98.00), not Yahoo's 97.5 of the same day
    assert (r["series_source"], r["return_1d"]) == ("nasdaq_api", pytest.approx(99.0 / 98.0 - 1))


def test_return_1d_is_null_when_the_series_skips_the_previous_date(con, warehouse):  # type: ignore[no-untyped-def]
    load(con, warehouse, fixture_bytes("prices", "NVDA.csv"), "/f/NVDA.csv")  # has 2024-06-07
    load(con, warehouse, nasdaq_json("NVDA", [("2024-06-06", 96.0), ("2024-06-10", 99.0)]), "https://n/x")
    r = view(con, "NVDA")[date(2024, 6, 10)]
    assert r["series_source"] == "nasdaq_api" and r["return_1d"] is None  # 99/96 would span two days


def test_changed_bar_of_the_same_series_is_a_revision_seen_as_of_then(con, warehouse):  # type: ignore[no-untyped-def]
    first = fixture_bytes("prices", "NVDA.csv")
    load(con, warehouse, first, "/f/NVDA.csv")
    # a later export of the same vendor: the last day's volume was final only later
    later = first.replace(b"97.5,198000000", b"97.5,199500000")
    seen = datetime(2024, 6, 10, 12, tzinfo=UTC)
    res = load(con, warehouse, later, "/f/NVDA_later.csv", fetched_at=seen)
    assert (res[0].rows_revised, res[0].rows_unchanged) == (1, 3)
    assert view(con, "NVDA")[date(2024, 6, 7)]["volume"] == 199500000
    con.execute("set variable as_of = timestamptz '2024-06-09 00:00:00+00'")
    assert view(con, "NVDA")[date(2024, 6, 7)]["volume"] == 198000000
    con.execute("set variable as_of = timestamptz '2024-06-07 19:59:00+00'")  # before the close of 06-07
    assert date(2024, 6, 7) not in view(con, "NVDA") and date(2024, 6, 6) in view(con, "NVDA")
    con.execute("reset variable as_of")


def test_duplicate_day_with_different_values_is_quarantined(con, warehouse):  # type: ignore[no-untyped-def]
    body = b"Date,Open,High,Low,Close,Volume\n2024-06-04,1,2,0.5,1.5,10\n2024-06-04,1,2,0.5,1.6,10\n"
    res = load(con, warehouse, body, "/f/NVDA.csv")
    assert res[0].outcome == "quarantined" and "same key appears with different values" in res[0].message
    assert con.execute("select count(*) from raw.prices__daily").fetchone() == (0,)


def test_series_rank_of_the_view_is_the_parsers_rank() -> None:
    sql = (SQL_DIR / "analytics" / "prices.sql").read_text()
    ranked = dict(re.findall(r"when '([a-z_]+)' then (\d+)", sql))
    assert {k: int(v) for k, v in ranked.items()} == SERIES_RANK


def test_import_command_passes_the_symbol_option(warehouse, tmp_path):  # type: ignore[no-untyped-def]
    f = tmp_path / "export.csv"
    f.write_bytes(fixture_bytes("prices", "NVDA.csv"))
    runner = CliRunner()
    res = runner.invoke(app, ["import", "prices", str(f), "--symbol", "NVDA", "--load-date", "2024-06-30"])
    assert res.exit_code == 0, res.output
    out = runner.invoke(app, ["sql", "select distinct symbol from raw.prices__daily", "-f", "csv"])
    assert out.stdout.split() == ["symbol", "NVDA"]
    bad = runner.invoke(app, ["import", "prices", str(f), "--load-date", "2024-06-30"])
    assert bad.exit_code == 1 and "--symbol" in bad.output  # "export" is not a ticker


def gate_frame() -> pl.DataFrame:
    frame = parse(payload("prices", fixture_bytes("prices", "NVDA.csv"), "/f/NVDA.csv")).frame
    return frame.rename({"rule_available_at": "available_at"})


def test_load_gate_passes_a_clean_batch() -> None:
    report = validate_frame("raw__prices__daily", gate_frame(), load_date=LOAD_DATE)
    assert report.success and report.failures == []


def test_load_gate_refuses_high_below_low_and_a_bar_public_before_its_close() -> None:
    frame = gate_frame().with_columns(
        pl.when(pl.col("date") == date(2024, 6, 5)).then(99.0).otherwise(pl.col("high")).alias("high"),
        pl.when(pl.col("date") == date(2024, 6, 6))
        .then(pl.col("available_at") - timedelta(hours=1))
        .otherwise(pl.col("available_at"))
        .alias("available_at"),
    )
    report = validate_frame("raw__prices__daily", frame, load_date=LOAD_DATE)
    failed = {f.column for f in report.failures}
    assert not report.success
    assert {"_check_high_minus_low", "_check_hours_after_close"} <= failed


def test_view_suite_warns_on_a_split_sized_move_without_blocking() -> None:
    frame = gate_frame().with_columns(
        pl.Series("return_1d", [None, 0.02, -0.9, 0.006]), pl.lit("yahoo_csv").alias("series_source")
    )
    report = validate_frame("analytics__prices", frame, load_date=LOAD_DATE)
    assert report.success
    assert [(w.column, w.unexpected_count) for w in report.warnings] == [("return_1d", 1)]
