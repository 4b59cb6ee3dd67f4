"""The DuckDB warehouse: connections, schema migrations from ``sql/``, and the writer lock.

- ``sql/schema/NNN_*.sql`` are migrations, applied once each, in order, recorded in
  ``meta.schema_migrations``.
- ``sql/analytics/<view>.sql`` each hold one ``select``; they are (re)created as
  ``analytics.<view>`` on every read-write connection, so views always match the code.
- DuckDB allows one writer process. Writers take an OS file lock (``<db>.lock``) first, so a second
  ``flowscope daily`` fails at once with "already running (pid N)" instead of a lock traceback.
  Readers open ``read_only`` and retry briefly while a writer holds the file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from flows.config import REPO_ROOT, Settings, get_settings
from flows.errors import WarehouseBusyError

SQL_DIR = REPO_ROOT / "sql"
_LOCK_HINT = re.compile(r"PID (\d+)")
_held: dict[str, int] = {}


def _configure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("set TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    set_view_variables(con)


def set_view_variables(con: duckdb.DuckDBPyConnection) -> None:
    """Session variables the analytics views read, from config (e.g. the ETF flow lag)."""
    from flows.config import calendar_config

    lag = (calendar_config().get("etf_flows") or {}).get("lag_trading_days")
    if lag is not None:
        if int(lag) not in (0, 1):
            from flows.errors import ConfigError

            raise ConfigError(f"config/calendar.yaml etf_flows.lag_trading_days must be 0 or 1, not {lag!r}")
        con.execute(f"set variable etf_flow_lag_days = {int(lag)}")


def migrate(con: duckdb.DuckDBPyConnection, sql_dir: Path = SQL_DIR) -> list[str]:
    """Apply pending migrations and recreate the analytics views. Returns migrations applied."""
    con.execute("create schema if not exists meta")
    con.execute(
        "create table if not exists meta.schema_migrations ("
        " name varchar primary key, applied_at timestamptz default now())"
    )
    done = {r[0] for r in con.execute("select name from meta.schema_migrations").fetchall()}
    applied = []
    for path in sorted((sql_dir / "schema").glob("*.sql")):
        if path.name in done:
            continue
        con.execute("begin")
        try:
            con.execute(path.read_text())
            con.execute("insert into meta.schema_migrations (name) values (?)", [path.name])
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
        applied.append(path.name)
    create_views(con, sql_dir)
    return applied


def create_views(con: duckdb.DuckDBPyConnection, sql_dir: Path = SQL_DIR) -> None:
    """(Re)create ``analytics.<stem>`` from each ``sql/analytics/<stem>.sql`` (one select each)."""
    con.execute("create schema if not exists analytics")
    for path in sorted((sql_dir / "analytics").glob("*.sql")):
        body = path.read_text().strip().rstrip(";")
        con.execute(f"create or replace view analytics.{path.stem} as\n{body}")


@contextlib.contextmanager
def writer_lock(settings: Settings | None = None, wait_s: float = 0.0) -> Iterator[None]:
    """Hold the warehouse's writer lock, or fail with "already running (pid N)".

    ``wait_s`` bounds how long to wait for another writer to finish (0 = fail at once).
    """
    settings = settings or get_settings()
    key = str(settings.lock_path)
    if _held.get(key):  # re-entrant within this process (the CLI holds it around the flow)
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    settings.lock_path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(settings.lock_path, "a+")  # noqa: SIM115 - held for the context's lifetime
    deadline = time.monotonic() + wait_s
    try:
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    fh.seek(0)
                    pid = fh.read().strip() or "?"
                    raise WarehouseBusyError(
                        f"flowscope is already running (pid {pid}) and holds "
                        f"{settings.warehouse_path}; wait for it to finish"
                    ) from None
                time.sleep(0.2)
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        _held[key] = 1
        try:
            yield
        finally:
            _held[key] = 0
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


def connect_write(settings: Settings | None = None) -> duckdb.DuckDBPyConnection:
    """A read-write connection with the schema migrated. Callers should hold ``writer_lock``."""
    settings = settings or get_settings()
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(settings.warehouse_path))
    except duckdb.IOException as exc:
        raise _busy(settings, exc) from None
    _configure(con)
    migrate(con)
    return con


def connect_read(settings: Settings | None = None, wait_s: float = 10.0) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the last committed state.

    If a writer holds the file, retry for up to ``wait_s`` seconds, then raise a clear
    ``WarehouseBusyError`` (never a raw lock traceback). A missing warehouse is created first.
    """
    settings = settings or get_settings()
    if not settings.warehouse_path.exists():
        with writer_lock(settings, wait_s=wait_s):
            connect_write(settings).close()
    deadline = time.monotonic() + wait_s
    while True:
        try:
            con = duckdb.connect(str(settings.warehouse_path), read_only=True)
            _configure(con)
            return con
        except duckdb.IOException as exc:
            if time.monotonic() >= deadline:
                raise _busy(settings, exc) from None
            time.sleep(0.25)


def _busy(settings: Settings, exc: Exception) -> WarehouseBusyError:
    match = _LOCK_HINT.search(str(exc))
    who = f"pid {match.group(1)}" if match else "another process"
    return WarehouseBusyError(f"the warehouse {settings.warehouse_path} is being written by {who}; retry in a moment")
