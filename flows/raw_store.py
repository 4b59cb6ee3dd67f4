"""The raw store: every payload, fetched or imported, kept by content hash before it is parsed.

Layout: ``<warehouse dir>/raw/<dataset>/<sha[:2]>/<sha256>.gz`` plus ``<sha256>.json`` (origin,
first fetched_at, live flag, hints, byte count). Files are immutable: the same content is stored
once, and the metadata of its first arrival is kept. ``flowscope daily --offline`` replays from here.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from flows.sources.base import Payload


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def payload_path(raw_dir: Path, dataset: str, sha256: str) -> Path:
    return raw_dir / dataset / sha256[:2] / f"{sha256}.gz"


def save_raw(raw_dir: Path, payload: Payload) -> Path:
    """Keep the payload (idempotent). Returns the path of the stored, gzipped bytes."""
    path = payload_path(raw_dir, payload.dataset, payload.sha256)
    meta_path = path.with_suffix(".json")
    from flows.loader import crashpoint

    if not path.exists():
        _atomic_write(path, gzip.compress(payload.content, compresslevel=6, mtime=0))
        crashpoint("raw bytes written")
    if not meta_path.exists():
        meta = {
            "dataset": payload.dataset,
            "origin": payload.origin,
            "fetched_at": payload.fetched_at.isoformat(),
            "live": payload.live,
            "hints": payload.hints,
            "bytes": len(payload.content),
            "sha256": payload.sha256,
        }
        _atomic_write(meta_path, json.dumps(meta, indent=1).encode())
    return path


def read_raw(path: Path) -> Payload:
    """Rebuild a payload from the store (content and first-arrival metadata)."""
    meta = json.loads(path.with_suffix(".json").read_text())
    return Payload(
        dataset=meta["dataset"],
        content=gzip.decompress(path.read_bytes()),
        origin=meta["origin"],
        fetched_at=datetime.fromisoformat(meta["fetched_at"]),
        live=bool(meta["live"]),
        hints=dict(meta.get("hints") or {}),
    )


def iter_raw(raw_dir: Path, dataset: str) -> Iterator[Path]:
    """Stored payload paths of a dataset, oldest first arrival first (replay order)."""
    base = raw_dir / dataset
    if not base.exists():
        return iter(())
    items = []
    for meta_path in base.glob("*/*.json"):
        meta = json.loads(meta_path.read_text())
        items.append((meta["fetched_at"], meta["origin"], meta_path.with_suffix(".gz")))
    return iter(p for _, _, p in sorted(items))
