"""``flowscope charts``: every chart of the day as PNG (2x), SVG and Vega-Lite JSON, and index.html.

Reads the warehouse as it was public at the as-of day's decision time (``flows.charts.frames``),
draws the charts (``score_charts``, ``market_charts``, pure functions), writes them under
``<warehouse dir>/exports/<as_of>/`` (or ``out``) and renders the report page
(``flows.charts.report``). The folder is written beside the old one and swapped in at the end, so a
failed run leaves the previous export of that day whole; running a day twice gives the same files.

Takes about 10-30 s for the default universe (one PNG/SVG render per chart, ~0.1 s each).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import altair as alt
import duckdb
import polars as pl

from flows.charts import frames
from flows.charts import market_charts as mc
from flows.charts import score_charts as sc
from flows.charts.export import Exported, write_chart
from flows.charts.report import render
from flows.config import Settings, calendar_config, get_settings, load_config, universe


@dataclass
class ChartsResult:
    as_of: date
    out_dir: Path
    index: Path
    charts: list[Exported] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        return f"charts {self.as_of}: {len(self.charts)} charts x PNG/SVG/JSON + index.html in {self.out_dir}"


def _events(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    start: date,
    tickers: list[str],
    catalysts: pl.DataFrame | None,
    notes: list[str],
    settings: Settings,
) -> pl.DataFrame:
    """The event calendar between start and as_of, with the catalysts as ``catalyst`` events."""
    from flows.charts.events import event_calendar

    cols = {"date": pl.Date, "event": pl.String, "symbol": pl.String, "label": pl.String}
    try:
        ev = event_calendar(con, start, as_of, as_of, tickers, calendar_config(settings)).select(list(cols))
    except Exception as exc:  # an event source missing must not cost the other charts
        notes.append(f"event calendar incomplete: {exc}")
        ev = pl.DataFrame(schema=cols)
    if catalysts is not None and catalysts.height:
        cat = catalysts.filter(pl.col("date").is_between(start, as_of)).select(
            "date", pl.lit("catalyst").alias("event"), pl.lit(None, pl.String).alias("symbol"), "label"
        )
        ev = pl.concat([ev, cat.cast(cols)])
    return ev.sort("date")


def build_charts(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    out: Path | None = None,
    *,
    settings: Settings | None = None,
    catalysts_path: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> ChartsResult:
    """Draw and write every chart for ``as_of``; ``con`` may be read-only."""
    settings = settings or get_settings()
    cfg, uni, sig = load_config("charts", settings), universe(settings), load_config("signals", settings)
    hhmm = sig.get("decision_time", "16:00")
    win = cfg["windows"]
    tickers, etfs, market = list(uni["tickers"]), list(uni["etfs"]), uni["market"]
    symbols = [*tickers, *etfs, market]
    final = out or settings.exports_dir / as_of.isoformat()
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    notes: list[str] = []
    say = progress or (lambda _msg: None)
    charts: list[Exported] = []
    scale = float(cfg.get("png_scale_factor", 2))

    def emit(chart: alt.TopLevelMixin, chart_id: str, section: str) -> None:
        charts.append(write_chart(chart, chart_id, tmp, section=section, scale=scale))
        say(f"  {chart_id}")

    try:
        scored = frames.last_scored_day(con, as_of)
        if scored is None:
            notes.append("no scores in the warehouse: run `flowscope daily` (the score charts say so)")
        elif scored < as_of:
            notes.append(f"newest scores are for {scored} (before the as-of day {as_of})")
        catalysts = _catalysts(settings, cfg, catalysts_path, notes)
        history_start = frames.trading_grid(as_of, int(win["score_history_days"]))[0]
        events = _events(con, as_of, history_start, tickers, catalysts, notes, settings)

        say("scores")
        emit(
            sc.component_heatmap(
                frames.heatmap(
                    con, as_of, cfg["heatmap_components"], win["heatmap_lookbacks_days"], [*symbols, "MARKET"]
                ),
                as_of,
            ),
            "component_heatmap",
            "Scores",
        )
        market_events = events.filter(
            pl.col("symbol").is_null() & pl.col("event").is_in(["catalyst", "triple_witching"])
        )
        for sym in symbols:
            hist = frames.score_history(con, sym, as_of, int(win["score_history_days"]), int(win["band_days"]))
            reg = frames.regimes(con, sym, history_start, as_of)
            ev = pl.concat([market_events, events.filter(pl.col("symbol") == sym)])
            emit(
                sc.score_history(
                    hist,
                    reg,
                    ev,
                    sym,
                    as_of,
                    f"{win['score_history_days']} trading days",
                    f"{win['band_days']} trading days",
                ),
                f"score_history_{sym}",
                "Score histories",
            )
        horizons = {str(k): v for k, v in cfg["decomposition_horizons"].items()}
        emit(
            sc.decomposition_bars(frames.decomposition(con, as_of, horizons, tickers, hhmm), as_of, list(horizons)),
            "decomposition",
            "Scores",
        )
        emit(sc.scenario_bars(frames.scenarios(con, as_of), as_of), "scenario_odds", "Scores")

        say("positioning")
        codes = {label.upper(): uni["cot_contracts"][label]["emini"] for label in ("es", "nq")}
        emit(
            mc.cot_positioning(
                frames.cot(con, as_of, codes, int(win["cot_weeks"]), int(win["cot_z_weeks"]), hhmm),
                as_of,
                f"{win['cot_weeks']} weeks",
                f"{win['cot_z_weeks']} weeks",
                events,
            ),
            "cot_positioning",
            "Positioning",
        )
        emit(
            mc.put_call(
                frames.put_call(
                    con,
                    as_of,
                    cfg["put_call_segments"],
                    int(win["put_call_days"]),
                    int(win["put_call_avg_days"]),
                    int(win["put_call_z_days"]),
                    hhmm,
                ),
                as_of,
                f"{win['put_call_days']} trading days",
                int(win["put_call_avg_days"]),
                f"{win['put_call_z_days']} trading days",
                events,
            ),
            "put_call",
            "Positioning",
        )
        emit(
            mc.etf_flows(
                frames.etf_flows(con, as_of, [*etfs, market], int(win["etf_flow_days"]), hhmm),
                as_of,
                f"{win['etf_flow_days']} trading days",
            ),
            "etf_flows",
            "Flows",
        )
        emit(
            mc.short_interest(
                frames.short_interest(con, as_of, symbols, int(win["short_interest_obs"]), hhmm),
                as_of,
                f"{win['short_interest_obs']} settlements",
            ),
            "short_interest",
            "Flows",
        )

        say("events")
        emit(mc.event_timeline(events, as_of, f"{win['score_history_days']} trading days"), "event_calendar", "Events")
        study = cfg.get("event_study", {})
        if catalysts is not None and catalysts.height:
            emit(_event_study_chart(con, as_of, catalysts, study, market, notes), "event_study", "Events")

        say("data")
        fresh = frames.freshness(con, as_of, hhmm)
        emit(mc.freshness(fresh, as_of), "freshness", "Data")
        head = frames.headline(con, as_of, symbols)
        val = frames.validation_summary(con, as_of)
        index = render(as_of, charts, head, fresh, val, cfg.get("readings", {}), tmp / "index.html", notes)
        _swap(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    moved = [
        Exported(c.chart_id, c.title, c.section, c.spec, {k: final / p.name for k, p in c.files.items()})
        for c in charts
    ]
    return ChartsResult(as_of, final, final / index.name, moved, notes)


def _catalysts(settings: Settings, cfg: dict[str, Any], path: Path | None, notes: list[str]) -> pl.DataFrame | None:
    from flows.charts.event_study import read_catalysts

    if path is None:
        name = cfg.get("catalysts_file")
        if not name:
            return None
        path = settings.config_dir / name
        if not path.exists():
            notes.append(f"no catalysts file at {path}: event study skipped")
            return None
    return read_catalysts(path)


def _event_study_chart(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    catalysts: pl.DataFrame,
    study: dict[str, Any],
    market: str,
    notes: list[str],
) -> alt.TopLevelMixin:
    from flows.charts.event_study import average_event_path, event_inputs, event_study

    pre, post = int(study.get("pre_days", 10)), int(study.get("post_days", 20))
    symbols = list(study.get("symbols", []))
    # only events whose whole window had ended by the as-of day
    done = catalysts.filter(pl.col("date") <= as_of - timedelta(days=int(post * 1.5) + 3))
    returns, flows = event_inputs(con, as_of, [*symbols, market])
    res = event_study(returns, done, market=market, pre=pre, post=post, flows=flows)
    res = res.filter(pl.col("symbol") != market)
    avg = average_event_path(res)
    if done.height < catalysts.height:
        notes.append(f"event study: {catalysts.height - done.height} catalyst(s) too recent for a +{post}-day window")
    return mc.event_study(avg, as_of, pre, post, done.height)


def _swap(tmp: Path, final: Path) -> None:
    """Replace ``final`` by ``tmp`` (rename; the old folder is removed only after the new is in place)."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
    tmp.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
