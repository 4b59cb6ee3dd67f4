"""Settings: where the warehouse lives, which universe we score, how we talk to publishers.

Everything comes from the environment (no secrets in code) and from the YAML files in `config/`:

- ``FLOWSCOPE_WAREHOUSE``: the DuckDB file (default ``warehouse/flowscope.duckdb`` in the repo).
  Raw payloads, quarantine and exports live beside it (``<dir>/raw``, ``<dir>/quarantine``,
  ``<dir>/exports``), so pointing the variable at a new file gives a complete, separate warehouse.
- ``FLOWSCOPE_CONFIG_DIR``: the folder with ``universe.yaml`` and ``calendar.yaml`` (default ``config/``).
- ``FLOWSCOPE_USER_AGENT``: the browser-like User-Agent for hosts that refuse bare clients (Cboe).
- ``CFTC_APP_TOKEN``: optional Socrata app token (sent as ``X-App-Token``), avoids throttling.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from flows.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]

BROWSER_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


@dataclass(frozen=True)
class Settings:
    """Resolved paths and network settings for one process."""

    warehouse_path: Path
    config_dir: Path
    user_agent: str = BROWSER_USER_AGENT
    cftc_app_token: str | None = None
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def warehouse_dir(self) -> Path:
        return self.warehouse_path.parent

    @property
    def raw_dir(self) -> Path:
        return self.warehouse_dir / "raw"

    @property
    def quarantine_dir(self) -> Path:
        return self.warehouse_dir / "quarantine"

    @property
    def exports_dir(self) -> Path:
        return self.warehouse_dir / "exports"

    @property
    def lock_path(self) -> Path:
        return self.warehouse_path.with_suffix(self.warehouse_path.suffix + ".lock")


def get_settings() -> Settings:
    """Build settings from the environment (read on every call: tests change the environment)."""
    wh = os.environ.get("FLOWSCOPE_WAREHOUSE")
    warehouse_path = Path(wh).expanduser() if wh else REPO_ROOT / "warehouse" / "flowscope.duckdb"
    cfg = os.environ.get("FLOWSCOPE_CONFIG_DIR")
    config_dir = Path(cfg).expanduser() if cfg else REPO_ROOT / "config"
    return Settings(
        warehouse_path=warehouse_path.resolve(),
        config_dir=config_dir.resolve(),
        user_agent=os.environ.get("FLOWSCOPE_USER_AGENT", BROWSER_USER_AGENT),
        cftc_app_token=os.environ.get("CFTC_APP_TOKEN") or None,
    )


@lru_cache(maxsize=16)
def _read_yaml(path: str, mtime: float) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return data


def load_config(name: str, settings: Settings | None = None) -> dict[str, Any]:
    """Read ``config/<name>.yaml`` (cached until the file changes)."""
    settings = settings or get_settings()
    path = settings.config_dir / f"{name}.yaml"
    if not path.exists():
        raise ConfigError(f"config file {path} is missing (set FLOWSCOPE_CONFIG_DIR?)")
    return _read_yaml(str(path), path.stat().st_mtime)


def universe(settings: Settings | None = None) -> dict[str, Any]:
    """The universe: tickers, ETFs, market proxy and the CFTC contract codes scores use."""
    return load_config("universe", settings)


def calendar_config(settings: Settings | None = None) -> dict[str, Any]:
    """Publication calendars (release times, overrides, shutdown backlogs)."""
    return load_config("calendar", settings)
