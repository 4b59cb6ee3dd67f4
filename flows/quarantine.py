"""Quarantine: refused payloads kept for inspection with the reason they were refused.

``<warehouse dir>/quarantine/<dataset>/<sha256[:16]>_<file name>`` holds the payload bytes as
received and ``<same>.reason.json`` the dataset, origin, time, reason and, when a suite failed,
the validation result. The raw store keeps the payload too (by hash); quarantine is the place a
person looks. ``flowscope daily --offline`` skips quarantined payloads when it replays raw/.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flows.sources.base import Payload

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def quarantine(root: Path, payload: Payload, reason: str, validation: dict[str, Any] | None = None) -> Path:
    """Keep a refused payload and its reason; returns the payload's quarantine path."""
    name = _SAFE.sub("_", payload.origin.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0])[-80:] or "payload"
    folder = root / payload.dataset
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{payload.sha256[:16]}_{name}"
    if not path.exists():
        path.write_bytes(payload.content)
    record = {
        "dataset": payload.dataset,
        "origin": payload.origin,
        "sha256": payload.sha256,
        "bytes": len(payload.content),
        "fetched_at": payload.fetched_at.isoformat(),
        "quarantined_at": datetime.now(UTC).isoformat(),
        "reason": reason,
        "validation": validation,
    }
    path.with_name(path.name + ".reason.json").write_text(json.dumps(record, indent=1, default=str))
    return path


def quarantined(root: Path, dataset: str) -> dict[str, dict[str, Any]]:
    """sha256 -> reason record of every payload quarantined for ``dataset``."""
    out = {}
    for f in sorted((root / dataset).glob("*.reason.json")):
        rec = json.loads(f.read_text())
        out[rec["sha256"]] = rec
    return out
