"""etf_flows: the vendor CSV ``date,symbol,flow_usd[,aum_usd]`` and the flow-lag configuration.

Fixture tests/fixtures/etf/vendor_etf_flows.csv: SMH lines copied in the layout of the canonical
Bloomberg export (USD, not millions), a Saturday row (2026-03-07), and XLK with empty cells and a 0.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest
import yaml

from flows.config import REPO_ROOT
from flows.errors import ConfigError, EmptyDataError, PayloadError, SchemaDriftError, ValidationError
from flows.sources.etf import flows
from flows.sources.etf.pit_rules import NON_TRADING
from tests.conftest import fixture_bytes
from tests.etf_builders import etf_payload

VENDOR = fixture_bytes("etf", "vendor_etf_flows.csv")


def parse(content: bytes, origin: str = "vendor.csv"):  # type: ignore[no-untyped-def]
    return flows.parse(etf_payload("etf_flows", content, origin))


def test_vendor_rows_missing_is_null_zero_is_zero_and_weekends_dropped() -> None:
    batch = parse(VENDOR)
    got = batch.frame.sort("symbol", "date").select("date", "symbol", "flow_usd", "aum_usd").rows()
    assert got == [
        (date(2026, 3, 5), "SMH", 257_019_300.0, 44_975_156_200.0),
        (date(2026, 3, 6), "SMH", -589_923_700.0, 42_699_769_500.0),
        (date(2026, 3, 9), "SMH", 650_658_900.0, 44_892_257_800.0),
        (date(2026, 3, 5), "XLK", None, None),
        (date(2026, 3, 6), "XLK", 0.0, None),
    ]
    assert batch.dropped == {NON_TRADING: 1}  # 2026-03-07 is a Saturday


def test_vendor_flow_of_friday_is_public_monday_0900_new_york() -> None:
    f = parse(VENDOR).frame
    fri = f.filter((f["symbol"] == "SMH") & (f["date"] == date(2026, 3, 6))).row(0, named=True)
    assert fri["next_trading_date"] == date(2026, 3, 9) and fri["prev_trading_date"] == date(2026, 3, 5)
    assert fri["rule_available_at"] == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)  # 09:00 EDT (DST from Mar 8)


def test_vendor_csv_without_aum_column_loads() -> None:
    f = parse(b"date,symbol,flow_usd\n2026-03-06,QQQ,-1.5e8\n").frame
    assert f.select("flow_usd", "aum_usd").rows() == [(-150_000_000.0, None)]


def test_vendor_csv_error_paths() -> None:
    with pytest.raises(SchemaDriftError, match=r"lacks \['flow_usd'\]"):
        parse(b"date,symbol,flow\n2026-03-06,SMH,1\n")
    with pytest.raises(SchemaDriftError, match="not the vendor flows CSV"):
        parse(b"Date,SMH US Equity\n2026-03-06,1\n")
    with pytest.raises(ValidationError, match=r"flow_usd='n/a!' \(line 2\)"):
        parse(b"date,symbol,flow_usd\n2026-03-06,SMH,n/a!\n")
    with pytest.raises(ValidationError, match=r"negative aum_usd, first -1\.0 on 2026-03-06"):
        parse(b"date,symbol,flow_usd,aum_usd\n2026-03-06,SMH,1,-1\n")
    with pytest.raises(ValidationError, match=r"not an ETF ticker: 'smh us equity'"):
        parse(b"date,symbol,flow_usd\n2026-03-06,smh us equity,1\n")
    with pytest.raises(PayloadError, match="HTML"):
        parse(b"<!DOCTYPE html><html><head><title>Sign in</title></head></html>")
    with pytest.raises(EmptyDataError):
        parse(b"")
    with pytest.raises(PayloadError, match="line 3 has 2 of 4 fields"):
        parse(b"date,symbol,flow_usd,aum_usd\n2026-03-05,SMH,1,2\n2026-03-06,SMH")


def test_duplicate_vendor_key_with_other_values_is_refused_by_the_loader(warehouse) -> None:  # type: ignore[no-untyped-def]
    from flows.loader import ingest
    from flows.warehouse import connect_write

    body = b"date,symbol,flow_usd\n2026-03-06,SMH,1.0\n2026-03-06,SMH,2.0\n"
    con = connect_write(warehouse)
    try:
        [res] = ingest(con, flows.SPEC, [etf_payload("etf_flows", body, "dup.csv")], warehouse.raw_dir,
                       load_date=date(2026, 3, 31))  # fmt: skip
        assert res.outcome == "quarantined"
        assert "same key appears with different values" in res.message and "symbol=SMH" in res.message
        assert con.execute("select count(*) from raw.etf__vendor_flows").fetchone() == (0,)
    finally:
        con.close()


# --- the lag L of the flow view ---------------------------------------------------------------


def test_configured_lag_reads_calendar_yaml_and_accepts_only_0_or_1() -> None:
    assert flows.configured_lag({"etf_flows": {"lag_trading_days": 0}}) == 0
    assert flows.configured_lag({"etf_flows": {}}) == flows.DEFAULT_LAG == 1
    for bad in (2, -1, True, "1"):
        with pytest.raises(ConfigError, match="lag_trading_days must be one of"):
            flows.configured_lag({"etf_flows": {"lag_trading_days": bad}})


def test_set_flow_lag_sets_the_variable_the_view_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "config"
    cfg.mkdir()
    cal = yaml.safe_load((REPO_ROOT / "config" / "calendar.yaml").read_text())
    cal["etf_flows"]["lag_trading_days"] = 0
    (cfg / "calendar.yaml").write_text(yaml.safe_dump(cal))
    monkeypatch.setenv("FLOWSCOPE_CONFIG_DIR", str(cfg))
    con = duckdb.connect()
    assert flows.set_flow_lag(con) == 0
    assert con.execute(f"select getvariable('{flows.LAG_VARIABLE}')").fetchone() == (0,)
    assert flows.set_flow_lag(con, 1) == 1
    assert con.execute(f"select getvariable('{flows.LAG_VARIABLE}')").fetchone() == (1,)


def test_view_fallback_lag_equals_the_configured_default() -> None:
    """Until the warehouse sets the variable on every connection, the SQL fallback is the default."""
    sql = (REPO_ROOT / "sql" / "analytics" / "etf_flows.sql").read_text()
    fallback = re.search(r"coalesce\(getvariable\('etf_flow_lag_days'\)::integer, (\d+)\)", sql)
    assert fallback and int(fallback.group(1)) == flows.configured_lag() == flows.DEFAULT_LAG
