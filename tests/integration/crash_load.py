"""Subprocess body of the crash test: one atomic load of the files given (like a multi-page fetch).

Run as ``python -m tests.integration.crash_load FILE...`` with FLOWSCOPE_WAREHOUSE set and
optionally FLOWSCOPE_CRASH_AT=N (the process SIGKILLs itself at the N-th crashpoint).
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path

from flows.config import get_settings
from flows.loader import ingest
from flows.sources import get_spec
from flows.sources.base import Payload
from flows.warehouse import connect_write, writer_lock


def main(files: list[str]) -> int:
    settings = get_settings()
    seen = datetime(2026, 8, 10, 12, 0, tzinfo=UTC)
    payloads = [Payload("cftc_tff", Path(f).read_bytes(), f, seen) for f in files]
    with writer_lock(settings):
        con = connect_write(settings)
        results = ingest(con, get_spec("cftc_tff"), payloads, settings.raw_dir, load_date=date(2026, 8, 10))
        con.close()
    from flows import loader

    print(",".join(r.outcome for r in results), f"crashpoints={loader._crash_counter}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
