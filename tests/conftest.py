"""Shared test fixtures: a temporary warehouse, the network blocked, the shared real data.

- Every test runs with the network blocked (only loopback is allowed, for Prefect's own
  temporary API server): live clients are tested on recorded payloads through respx.
- ``warehouse`` points FLOWSCOPE_WAREHOUSE at a fresh file under tmp_path.
- ``shared_data`` is ../shared/data; tests that need it skip with a reason when it is absent.
- ``prefect_harness`` starts Prefect's test harness once per session (about 10 s), only for the
  tests that ask for it.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_DATA = Path(os.environ.get("FLOWSCOPE_SHARED_DATA", REPO.parent / "shared" / "data"))

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: object) -> object:
    host = address[0] if isinstance(address, tuple) else None
    if host is not None:
        try:
            allowed = ipaddress.ip_address(host).is_loopback
        except ValueError:
            allowed = host == "localhost"
        if not allowed:
            raise ConnectionRefusedError(f"network blocked in tests: {address}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Settings for a fresh warehouse file in tmp_path (FLOWSCOPE_WAREHOUSE set for the test)."""
    from flows.config import get_settings

    path = tmp_path / "wh" / "flowscope.duckdb"
    monkeypatch.setenv("FLOWSCOPE_WAREHOUSE", str(path))
    return get_settings()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (../shared/data is not part of the repo)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with (
        prefect_test_harness(server_startup_timeout=90),
        temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        yield


def fixture_bytes(*parts: str) -> bytes:
    return FIXTURES.joinpath(*parts).read_bytes()
