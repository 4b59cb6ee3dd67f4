"""Compute the signals for a day (and the days since the last build) and write them atomically.

``publish(as_of)``: reads every input public by ``as_of``'s decision time, computes the days not
yet built (all of them with ``full=True``), with a look-back so trailing windows are complete, and
replaces those days' rows in ``signals.*`` in one transaction, with a line in ``signals.build_log``.
Persistence profiles and scenario odds are computed for ``as_of`` itself.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import duckdb
import polars as pl

from flows.calendar import trading_days
from flows.config import Settings, get_settings, load_config, universe
from flows.signals.build import compute, persistence_rows, scenario_rows
from flows.signals.inputs import load_inputs
from flows.signals.timeline import decision_time

LOOKBACK_TRADING_DAYS = 900  # > the longest trailing chain: 252-day z of a 126-day trend, plus warm-up


@dataclass
class PublishResult:
    as_of: date
    mode: str
    days: int
    scores: int
    regimes: int
    persistence: int
    scenarios: int
    notes: list[str]

    def line(self) -> str:
        return (f"signals {self.mode} to {self.as_of}: {self.days} days, {self.scores} scores, {self.regimes} regimes, "
                f"{self.persistence} persistence rows, {self.scenarios} scenario rows")  # fmt: skip


def _last_built(con: duckdb.DuckDBPyConnection) -> date | None:
    sql = "select max(last_date) from signals.build_log where mode in ('full', 'increment')"
    return con.execute(sql).fetchall()[0][0]


def _first_input_date(con: duckdb.DuckDBPyConnection) -> date | None:
    """The earliest day any price, put/call or COT row describes (the start of a full build)."""
    sql = """select least((select min(date) from analytics.prices), (select min(trade_date) from analytics.put_call),
                          (select min(report_date) from analytics.cot_positioning))"""
    return con.execute(sql).fetchall()[0][0]


def publish(con: duckdb.DuckDBPyConnection, as_of: date, *, full: bool = False, settings: Settings | None = None,
            history_start: date | None = None) -> PublishResult:  # fmt: skip
    """Build and write. ``con`` is a read-write connection (the caller holds the writer lock)."""
    settings = settings or get_settings()
    cfg, uni = load_config("signals", settings), universe(settings)
    started = datetime.now(UTC)
    cot_codes = [c["emini"] for c in uni["cot_contracts"].values()]
    inputs, notes = load_inputs(con, decision_time(as_of, cfg["decision_time"]), cot_codes)
    last = None if full else _last_built(con)
    first = history_start or _first_input_date(con) or as_of
    new_from = first if last is None or last >= as_of else last + timedelta(days=1)
    new_days = list(trading_days(new_from, as_of))
    mode = "full" if last is None else "increment"
    if not new_days:
        return PublishResult(as_of, "up to date", 0, 0, 0, 0, 0, notes)
    # the look-back is not limited by history_start: trailing windows of the first written day are full
    calc = list(trading_days(new_days[0] - timedelta(days=LOOKBACK_TRADING_DAYS * 7 // 5), as_of))
    built = compute(inputs, calc, cfg, uni, write_from=new_days[0])
    keep = pl.col("date") >= new_days[0]
    scores = built.scores.filter(keep) if built.scores.height else built.scores
    regimes = built.regimes.filter(keep) if built.regimes.height else built.regimes
    persistence = persistence_rows(inputs, as_of, uni)
    history = con.sql("select date, symbol, regime from signals.regimes where date < ?", params=[new_days[0]]).pl()
    all_regimes = pl.concat([history, regimes.select("date", "symbol", "regime")]) if regimes.height else history
    scenarios = scenario_rows(all_regimes, inputs.latest("prices"), as_of, cfg)
    _write(con, new_days[0], as_of, scores, regimes, persistence, scenarios, mode, started, notes)
    return PublishResult(as_of, mode, len(new_days), scores.height, regimes.height, persistence.height,
                         scenarios.height, notes + built.notes)  # fmt: skip


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    if frame.height == 0:
        return
    con.register("_frame", frame.with_columns(pl.lit(datetime.now(UTC)).alias("computed_at")).to_arrow())
    try:
        con.execute(f"insert into {table} by name select * from _frame")
    finally:
        con.unregister("_frame")


def _write(con: duckdb.DuckDBPyConnection, first: date, last: date, scores: pl.DataFrame, regimes: pl.DataFrame,
           persistence: pl.DataFrame, scenarios: pl.DataFrame, mode: str, started: datetime,
           notes: list[str]) -> None:  # fmt: skip
    con.execute("begin")
    try:
        for table in ("signals.scores", "signals.regimes"):
            con.execute(f"delete from {table} where date between ? and ?", [first, last])
        con.execute("delete from signals.persistence where date = ?", [last])
        con.execute("delete from signals.scenarios where as_of = ?", [last])
        _insert(con, "signals.scores", scores)
        _insert(con, "signals.regimes", regimes)
        _insert(con, "signals.persistence", persistence)
        _insert(con, "signals.scenarios", scenarios)
        con.execute(
            "insert into signals.build_log values (?, ?, now(), ?, ?, ?, ?, ?)",
            [f"signals-{uuid.uuid4().hex[:10]}", started, first, last, mode, scores.height, "; ".join(notes)[:2000]],
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
