"""Benchmark: five years of FINRA Reg SHO daily files imported streamed, in bounded memory.

Generates ``--days`` trading days (default 1260, about five years) of ``CNMSshvolYYYYMMDD.txt``
files in the real format (header ``Date|Symbol|ShortVolume|ShortExemptVolume|TotalVolume|Market``,
~10,000 symbols a day, fractional volumes with 6 decimals as FINRA publishes them since 2023-24,
``B,Q,N`` facility lists, symbols with ``/``, the record-count footer) into a temporary folder,
then, each in a child process of its own so that ``ru_maxrss`` is the peak of that path alone:

1. the real import path, ``flows.pipeline.import_paths`` (file by file: raw store, parse, checks,
   the Great Expectations gate, a versioned merge per file) into a temporary warehouse;
2. a naive baseline measured in the same run: every file parsed with the same parser and held in
   one frame at once (what "read everything, then load" would need before writing anything).

With ``--gate-baseline``, a third child reads everything into one frame and runs the load gate
once on it (what loading five years as one batch would need before its merge; several GiB).

Prints ``key: value`` lines (rows, throughput, peak RSS, the ratios of the peaks, where the time
per file goes: parse, Great Expectations gate, merge, other = raw store, load log, state).
``--days 60`` runs in about half a minute; the default five years in about 16 minutes on 2 vCPUs.
``--duckdb-memory-limit 256MB`` caps DuckDB's buffer pool in the import child (a benchmark knob:
the product keeps DuckDB's default). Usage:

    .venv/bin/python benchmarks/bench_short_volume_import.py [--days N] [--symbols N] [--keep DIR]
        [--gate-baseline] [--no-baseline] [--profile N] [--duckdb-memory-limit SIZE]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import string
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

END = date(2026, 8, 31)


def trading_days_back(n: int, end: date = END) -> list[date]:
    from flows.calendar import previous_trading_day

    days = [end]
    while len(days) < n:
        days.append(previous_trading_day(days[-1]))
    return sorted(days)


def universe(n: int, seed: int = 7) -> list[str]:
    """n distinct symbols: 1-5 upper-case letters, about 1% with a class suffix (``RDS/A``)."""
    import random

    rng = random.Random(seed)
    out: set[str] = set()
    while len(out) < n:
        length = rng.choices([1, 2, 3, 4, 5], weights=[1, 3, 25, 60, 11])[0]
        sym = "".join(rng.choices(string.ascii_uppercase, k=length))
        if rng.random() < 0.01:
            sym += "/" + rng.choice("ABW")
        out.add(sym)
    return sorted(out)


def generate(folder: Path, days: list[date], n_symbols: int, seed: int = 11) -> int:
    """Write one CNMSshvol file per day; returns the number of data rows written."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    symbols = np.array(universe(n_symbols))
    # per-symbol scale: off-exchange volumes are heavy-tailed (a few names trade 10^7+ a day)
    scale = rng.lognormal(mean=11.0, sigma=2.0, size=len(symbols))
    markets = np.array(["B,Q,N", "Q,N", "B,Q", "Q", "N", "B,N"])
    market_p = np.array([0.86, 0.06, 0.03, 0.03, 0.01, 0.01])
    folder.mkdir(parents=True, exist_ok=True)
    total_rows = 0
    for d in days:
        present = rng.random(len(symbols)) < 0.985  # listings come and go
        idx = np.flatnonzero(present)
        total = np.round(scale[idx] * rng.lognormal(0.0, 0.5, idx.size), 6)
        short_frac = rng.beta(9.0, 11.0, idx.size)
        short = np.round(total * short_frac, 6)
        exempt = np.floor(short * rng.beta(0.5, 60.0, idx.size))
        frame = pl.DataFrame(
            {
                "Date": [d.strftime("%Y%m%d")] * idx.size,
                "Symbol": symbols[idx],
                "ShortVolume": short,
                "ShortExemptVolume": exempt.astype(np.int64),
                "TotalVolume": total,
                "Market": rng.choice(markets, size=idx.size, p=market_p),
            }
        )
        body = frame.write_csv(separator="|", quote_style="never", float_precision=6, line_terminator="\n")
        (folder / f"CNMSshvol{d:%Y%m%d}.txt").write_text(body + f"{idx.size}\n")
        total_rows += idx.size
    return total_rows


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


# ---- child processes ---------------------------------------------------------------------------


def child_import(folder: Path, warehouse: Path, profile: int, memory_limit: str = "") -> dict[str, object]:
    """The real import path, file by file; per-file wall times and where they go."""
    os.environ["FLOWSCOPE_WAREHOUSE"] = str(warehouse)
    from flows import loader
    from flows.pipeline import import_paths

    if memory_limit:  # benchmark knob: cap DuckDB's buffer pool (the product leaves DuckDB's default)
        from flows import warehouse as wh

        configure = wh._configure

        def capped(con):  # type: ignore[no-untyped-def]
            configure(con)
            con.execute(f"set memory_limit = '{memory_limit}'")

        wh._configure = capped
    parts = ("parse", "gate", "merge")
    timings: dict[str, list[float]] = {name: [] for name in parts}

    def timed(name, fn):  # type: ignore[no-untyped-def]
        def wrapper(*a, **kw):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                timings[name].append(time.perf_counter() - t)

        return wrapper

    loader._parse_one = timed("parse", loader._parse_one)
    loader._gate = timed("gate", loader._gate)
    loader._merge = timed("merge", loader._merge)
    per_file: list[float] = []
    last = [time.perf_counter()]

    def on_result(res):  # type: ignore[no-untyped-def]
        now = time.perf_counter()
        per_file.append(now - last[0])
        last[0] = now
        if res.outcome != "loaded":
            raise SystemExit(f"unexpected outcome {res.outcome}: {res.message}")
        if len(per_file) % 100 == 0:
            print(f"  {len(per_file)} files, {now - t0:.0f} s, rss {peak_rss_mib():.0f} MiB", file=sys.stderr)

    files = sorted(folder.glob("CNMSshvol*.txt"))
    if profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
    t0 = time.perf_counter()
    results = import_paths("finra_short_volume", files, load_date=END, on_result=on_result)
    elapsed = time.perf_counter() - t0
    if profile:
        prof.disable()
        pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(profile)
    rows = sum(r.rows_new for r in results)
    k = max(1, min(50, len(per_file) // 4))
    timings["other"] = [t - sum(timings[p][i] for p in parts) for i, t in enumerate(per_file)]
    out: dict[str, object] = {
        "rows": rows,
        "files": len(results),
        "seconds": elapsed,
        "peak_rss_mib": peak_rss_mib(),
        "first_files_s": sum(per_file[:k]) / k,
        "last_files_s": sum(per_file[-k:]) / k,
        "warehouse_mib": warehouse.stat().st_size / 2**20,
    }
    for name, values in timings.items():
        out[f"{name}_s"] = sum(values)
        out[f"{name}_first_ms"] = 1000 * sum(values[:k]) / k
        out[f"{name}_last_ms"] = 1000 * sum(values[-k:]) / k
    return out


def read_all(folder: Path):  # type: ignore[no-untyped-def]
    """Every file parsed with the real parser, all held in one polars frame."""
    from datetime import UTC, datetime

    import polars as pl

    from flows.sources.base import Payload
    from flows.sources.finra.short_volume import parse

    return pl.concat(
        [
            parse(Payload("finra_short_volume", f.read_bytes(), str(f), datetime.now(UTC))).frame
            for f in sorted(folder.glob("CNMSshvol*.txt"))
        ]
    )


def child_read_all(folder: Path) -> dict[str, object]:
    """Naive baseline: every file parsed (same parser) and held in one frame before any write."""
    t0 = time.perf_counter()
    frame = read_all(folder)
    return {"rows": frame.height, "seconds": time.perf_counter() - t0, "peak_rss_mib": peak_rss_mib()}


def child_read_all_gate(folder: Path) -> dict[str, object]:
    """Second baseline: the same frame, then the load gate run once on all of it (what loading
    everything as one batch would need before its merge)."""
    from flows.quality.gate import validate_frame

    t0 = time.perf_counter()
    frame = read_all(folder).rename({"rule_available_at": "available_at"})
    report = validate_frame("raw__finra__short_volume", frame, load_date=END)
    return {
        "rows": frame.height,
        "success": report.success,
        "seconds": time.perf_counter() - t0,
        "peak_rss_mib": peak_rss_mib(),
    }


def run_child(*args: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, __file__, *args], check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=1260, help="trading days of files (default 1260, ~5 years)")
    ap.add_argument("--symbols", type=int, default=10_000, help="symbols in the universe (default 10000)")
    ap.add_argument("--keep", type=Path, help="generate into (and keep) this folder instead of a temp dir")
    ap.add_argument("--profile", type=int, default=0, help="print the N top cProfile entries of the import")
    ap.add_argument("--no-baseline", action="store_true", help="skip the read-everything baseline")
    ap.add_argument("--duckdb-memory-limit", default="", help="e.g. 256MB: cap DuckDB's buffer pool in the import")
    ap.add_argument(
        "--gate-baseline", action="store_true", help="also: read everything, then gate it as one batch (needs GBs)"
    )
    ap.add_argument("--child", choices=["import", "read_all", "read_all_gate"], help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--warehouse", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child == "import":
        print(json.dumps(child_import(a.folder, a.warehouse, a.profile, a.duckdb_memory_limit)))
        return
    if a.child == "read_all":
        print(json.dumps(child_read_all(a.folder)))
        return
    if a.child == "read_all_gate":
        print(json.dumps(child_read_all_gate(a.folder)))
        return

    work = Path(tempfile.mkdtemp(prefix="bench_short_volume_"))
    folder = a.keep or work / "files"
    try:
        t = time.perf_counter()
        generated = generate(folder, trading_days_back(a.days), a.symbols)
        size = sum(f.stat().st_size for f in folder.glob("CNMSshvol*.txt"))
        print(f"short_volume_files: {a.days}")
        print(f"short_volume_generated_rows: {generated}")
        print(f"short_volume_files_mib: {size / 2**20:.0f}")
        print(f"short_volume_generate_s: {time.perf_counter() - t:.1f}")
        imp = run_child("--child", "import", "--folder", str(folder), "--warehouse",
                        str(work / "wh" / "flowscope.duckdb"), "--profile", str(a.profile),
                        "--duckdb-memory-limit", a.duckdb_memory_limit)  # fmt: skip
        rows, secs = int(imp["rows"]), float(imp["seconds"])  # type: ignore[arg-type]
        print(f"short_volume_rows: {rows}")
        print(f"short_volume_import_s: {secs:.1f}")
        print(f"short_volume_import_rows_per_s: {rows / secs:.0f}")
        print(f"short_volume_import_s_per_file: {secs / a.days:.3f}")
        print(f"short_volume_import_first_files_s_per_file: {imp['first_files_s']:.3f}")
        print(f"short_volume_import_last_files_s_per_file: {imp['last_files_s']:.3f}")
        for part in ("parse", "gate", "merge", "other"):
            print(f"short_volume_import_{part}_s: {imp[f'{part}_s']:.1f}")
            first, last = imp[f"{part}_first_ms"], imp[f"{part}_last_ms"]
            print(f"short_volume_import_{part}_ms_per_file_first_last: {first:.0f} {last:.0f}")
        print(f"short_volume_warehouse_mib: {imp['warehouse_mib']:.0f}")
        print(f"short_volume_peak_rss_mib: {imp['peak_rss_mib']:.0f}")
        if rows != generated:
            raise SystemExit(f"imported {rows} rows, generated {generated}")
        if not a.no_baseline:
            base = run_child("--child", "read_all", "--folder", str(folder))
            print(f"short_volume_read_all_peak_rss_mib: {base['peak_rss_mib']:.0f}")
            print(f"short_volume_read_all_s: {base['seconds']:.1f}")
            ratio = float(imp["peak_rss_mib"]) / float(base["peak_rss_mib"])  # type: ignore[arg-type]
            print(f"short_volume_peak_rss_ratio_vs_read_all: {ratio:.2f}")
        if a.gate_baseline:
            gated = run_child("--child", "read_all_gate", "--folder", str(folder))
            print(f"short_volume_read_all_gate_peak_rss_mib: {gated['peak_rss_mib']:.0f}")
            print(f"short_volume_read_all_gate_s: {gated['seconds']:.1f}")
            ratio = float(imp["peak_rss_mib"]) / float(gated["peak_rss_mib"])  # type: ignore[arg-type]
            print(f"short_volume_peak_rss_ratio_vs_read_all_then_gate: {ratio:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
