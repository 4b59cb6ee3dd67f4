"""The ``flowscope`` command: thin wrappers over ``flows.pipeline``, ``flows.daily`` and the warehouse.

Every command states what it reads, what it writes and how long it may take.
"""

from __future__ import annotations

import os
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from flows.errors import FlowscopeError

app = typer.Typer(
    help=(
        "flowscope: an open flow-and-positioning pipeline (CFTC COT, Cboe put/call, ...) into a "
        "DuckDB warehouse.\n\nThe warehouse is warehouse/flowscope.duckdb unless FLOWSCOPE_WAREHOUSE "
        "names another file; raw payloads are kept beside it in raw/. Start with `flowscope import` "
        "(local files) or `flowscope daily` (live), then `flowscope status` and `flowscope sql`."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ALLOWED_SQL = {"SELECT", "EXPLAIN", "VARIABLE_SET", "SET", "PRAGMA"}


def _fail(msg: str, code: int = 1) -> None:
    typer.secho(f"error: {msg}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _print_rows(rows: list[dict[str, object]], fmt: str = "table") -> None:
    import polars as pl

    frame = pl.DataFrame(rows) if rows else pl.DataFrame()
    _print_frame(frame, fmt)


def _print_frame(frame, fmt: str) -> None:  # type: ignore[no-untyped-def]
    import polars as pl

    if fmt == "csv":
        sys.stdout.write(frame.write_csv())
    elif fmt == "json":
        sys.stdout.write(frame.write_json() + "\n")
    else:
        with pl.Config(
            tbl_rows=500,
            tbl_cols=-1,
            fmt_str_lengths=80,
            tbl_width_chars=250,
            tbl_hide_dataframe_shape=True,
            tbl_hide_column_data_types=True,
        ):
            typer.echo(str(frame))
        typer.echo(f"({frame.height} rows)")


@app.command("import")
def import_cmd(
    dataset: Annotated[str, typer.Argument(help="cftc_tff or cboe_putcall (see `flowscope datasets`).")],
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (folders are read recursively).")],
    segment: Annotated[
        str | None,
        typer.Option(
            help="cboe_putcall archives only: the segment (total, equity, index, etp, vix, spx) "
            "when neither the file's preamble, header nor name says it."
        ),
    ] = None,
    symbol: Annotated[
        str | None,
        typer.Option(
            help="prices per-ticker files only (Yahoo-style, Alpha Vantage): the ticker when the file "
            "name does not start with it (NVDA.csv, NVDA_vendor.csv)."
        ),
    ] = None,
    load_date: Annotated[
        str | None,
        typer.Option(
            help="Treat the load as made on this date (YYYY-MM-DD): rows dated after it are refused. Default: today."
        ),
    ] = None,
) -> None:
    """Import local files in the publisher's native format (or the documented CSV).

    Reads: the files given; the format is detected from the content (e.g. CFTC annual text, zip,
    weekly file or API JSON). Writes: each file's bytes to raw/ (by sha256), its rows to the
    warehouse as one all-or-nothing load, and a line in meta.loads. A bad file gets a one-line error
    and loads nothing; the other files go on. Importing the same file again changes nothing.
    Time: about a second per MB.
    """
    hints = {k: v for k, v in (("segment", segment), ("symbol", symbol)) if v}
    ld = date.fromisoformat(load_date) if load_date else None
    failed = 0

    def show(res) -> None:  # type: ignore[no-untyped-def]
        nonlocal failed
        if res.ok:
            typer.echo(f"{res.outcome:>9}  {res.summary()}")
            for w in res.warnings:
                typer.secho(f"  warning: {w}", fg=typer.colors.YELLOW)
        else:
            failed += 1
            typer.secho(f"error: {res.summary()}", fg=typer.colors.RED, err=True)

    from flows.pipeline import import_paths

    try:
        import_paths(dataset, paths, hints=hints, load_date=ld, on_result=show)
    except FlowscopeError as exc:
        _fail(str(exc))
    if failed:
        raise typer.Exit(1)


@app.command()
def daily(
    as_of: Annotated[str | None, typer.Option(help="The day to run for (YYYY-MM-DD). Default: today.")] = None,
    datasets: Annotated[str | None, typer.Option(help="Comma-separated datasets (default: all).")] = None,
    offline: Annotated[bool, typer.Option(help="Make no network call: rebuild from what warehouse/raw holds.")] = False,
    signals: Annotated[
        bool, typer.Option(help="After loading, compute the scores for --as-of and the days since the last build.")
    ] = True,
    charts: Annotated[
        bool, typer.Option(help="Last step: chart snapshots and index.html in exports/<as-of>/ (`flowscope charts`).")
    ] = True,
) -> None:
    """Run the daily pipeline (a Prefect flow, local mode: no server needed).

    For each dataset, independently: fetch from the publisher (or, with --offline, replay the raw
    store), keep the raw payload, parse, check, and load in one transaction. One failing dataset does
    not stop the others. Ends with a summary table (also a Prefect table artifact `daily-summary`);
    exits 1 if any dataset failed. Then the scores (--signals) and the charts (--charts, last).
    Reads: the publishers' sites or warehouse/raw. Writes: the warehouse, raw/, exports/<as-of>/ and
    Prefect's local state (PREFECT_HOME). Time: ~15 s of Prefect start-up, plus ~1 s per Cboe day
    fetched (rate-limited), a few seconds per CFTC page, the score build (seconds for one new day,
    minutes for a first full build) and ~15 s of charts.
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    from flows.config import get_settings
    from flows.warehouse import writer_lock

    names = [d.strip() for d in datasets.split(",")] if datasets else None
    try:
        # Take the writer lock before Prefect starts: a second run stops here, at once, in one line.
        with writer_lock(get_settings()):
            from flows.daily import daily as daily_flow

            rows = daily_flow(
                as_of=date.fromisoformat(as_of) if as_of else None, datasets=names, offline=offline, signals=signals,
                charts=charts,
            )
    except FlowscopeError as exc:
        _fail(str(exc))
    _print_rows([{k: v for k, v in r.items() if k != "message"} for r in rows])
    bad = ("failed", "quarantined")
    for r in rows:
        if r["message"]:
            colour = typer.colors.RED if r["outcome"] in bad else None
            typer.secho(f"{r['dataset']}: {r['message']}", fg=colour, err=r["outcome"] in bad)
    if any(r["outcome"] in bad for r in rows):
        raise typer.Exit(1)


@app.command()
def sql(
    query: Annotated[
        str, typer.Argument(help='SQL to run (read-only), e.g. "select * from analytics.cot_positioning limit 5".')
    ],
    format: Annotated[str, typer.Option("--format", "-f", help="table, csv or json.")] = "table",
    as_of: Annotated[
        str | None,
        typer.Option(
            help="Answer as known at this moment (YYYY-MM-DD or ISO timestamp, UTC): "
            "sets the `as_of` variable the analytics views read."
        ),
    ] = None,
) -> None:
    """Query the warehouse, read-only (writes are refused).

    Reads: the last committed state of the warehouse (while a load is running, it waits up to 10 s
    and then asks you to retry). Views: analytics.cot_positioning, analytics.put_call (see README).
    Writes: nothing. Time: interactive.
    """
    import duckdb

    from flows.warehouse import connect_read

    if format not in ("table", "csv", "json"):
        _fail("--format must be table, csv or json", 2)
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        _fail(f"cannot parse the query: {exc}", 2)
    for st in statements:
        kind = str(st.type).rsplit(".", 1)[-1]
        if kind not in ALLOWED_SQL:
            _fail(
                f"flowscope sql is read-only: {kind} statements are refused "
                "(use flowscope import/daily to change the warehouse)",
                2,
            )
    if not statements:
        _fail("empty query", 2)
    try:
        con = connect_read()
    except FlowscopeError as exc:
        _fail(str(exc))
    try:
        if as_of:
            ts = datetime.fromisoformat(as_of)
            iso = ts.isoformat() if ts.tzinfo else ts.isoformat() + "+00:00"
            con.execute("set variable as_of = ?::timestamptz", [iso]).fetchall()
        for st in statements[:-1]:
            con.execute(st.query).fetchall()
        frame = con.sql(statements[-1].query).pl()
    except duckdb.Error as exc:
        _fail(str(exc).splitlines()[0])
    finally:
        con.close()
    _print_frame(frame, format)


@app.command()
def status(
    format: Annotated[str, typer.Option("--format", "-f", help="table, csv or json.")] = "table",
    today: Annotated[str | None, typer.Option(help="Judge staleness as of this date (default: today).")] = None,
) -> None:
    """Per dataset: rows, first and last date, newest available_at, last load and its outcome,
    payloads that failed to load, and whether the data is stale for its cadence.

    Reads: the warehouse (read-only). Writes: nothing. Time: under a second.
    """
    from flows.status import dataset_status
    from flows.warehouse import connect_read

    try:
        con = connect_read()
    except FlowscopeError as exc:
        _fail(str(exc))
    try:
        rows = dataset_status(con, date.fromisoformat(today) if today else date.today())
    finally:
        con.close()
    _print_rows(rows, format)


@app.command()
def charts(
    as_of: Annotated[str | None, typer.Option(help="The day to draw (YYYY-MM-DD). Default: today.")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default: <warehouse dir>/exports/<as-of>/).")] = None,
    catalysts: Annotated[
        Path | None, typer.Option(help="CSV `date,label` of event-study catalysts (default: config/catalysts.csv).")
    ] = None,
) -> None:
    """Chart snapshots and the daily report page for --as-of, from what was public that day.

    Charts (config/charts.yaml): ticker x component z-score heatmap (today, 1 and 4 weeks ago); CPS
    and PFD histories per ticker with 10/50/90 percentile bands and regime shading; EPS vs multiple
    bars (1m, 3m, 6m, YTD); COT net positioning of asset managers and leveraged funds in ES and NQ
    with z-scores; equity and index put/call with the 5-day average and z-score; ETF flows with
    streaks; short interest and days to cover; scenario odds with counts; the event calendar (option
    expiries, COT and FINRA releases, SEC filings, catalysts) and an event study around the
    catalysts; a data freshness panel. Each chart states its window and as-of date; missing data are
    gaps, never zeros. Writes PNG (2x), SVG and Vega-Lite JSON per chart and a self-contained
    index.html (Vega inlined: opens offline, no CDN) with the headline reading per ticker and the
    rule behind it, the freshness panel and the validation summary. Reads: the warehouse
    (read-only; raw data as public at the as-of day's 16:00 New York). Time: ~15 s.
    """
    from flows.charts.build import build_charts
    from flows.warehouse import connect_read

    try:
        day = date.fromisoformat(as_of) if as_of else datetime.now(ZoneInfo("America/New_York")).date()
    except ValueError:
        _fail(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)")
    try:
        con = connect_read()
        try:
            res = build_charts(con, day, out, catalysts_path=catalysts, progress=lambda m: typer.echo(m, err=True))
        finally:
            con.close()
    except FlowscopeError as exc:
        _fail(str(exc))
    for note in res.notes:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)
    typer.echo(res.line())
    typer.echo(f"report: {res.index}")


@app.command()
def serve(
    cron: Annotated[str | None, typer.Option(help="Cron expression (default: config/charts.yaml schedule.cron, "
                                                  "'30 18 * * 1-5' = weekdays 18:30).")] = None,
    timezone: Annotated[str | None, typer.Option(help="Time zone of the cron (default: America/New_York).")] = None,
    offline: Annotated[bool, typer.Option(help="Scheduled runs replay warehouse/raw instead of fetching.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Print the deployment and its schedule, then exit.")] = False,
) -> None:
    """Serve the daily flow as a Prefect deployment on a cron schedule (needs a Prefect server).

    Schedules only run against a real Prefect server (the temporary local API cannot schedule):

      1. in one terminal: `.venv/bin/prefect server start` (UI and API on http://127.0.0.1:4200);
      2. in another: `PREFECT_API_URL=http://127.0.0.1:4200/api ./run flowscope serve`.

    The deployment `flowscope-daily/flowscope-daily` runs `flowscope daily` (ingest, scores, charts)
    for the day of each run, by default on weekdays at 18:30 America/New_York, after the US close
    and the evening publications (Cboe, FINRA short volume). Change the time in config/charts.yaml
    (schedule.cron, schedule.timezone) or with --cron/--timezone. The process keeps running and
    starts each scheduled run; stop it with Ctrl-C (the deployment is paused). Reads/writes: as
    `flowscope daily`.
    """
    from flows.deploy import deployment, describe

    dep = deployment(cron=cron, timezone=timezone, offline=offline)
    typer.echo(describe(dep))
    if dry_run:
        return
    if not os.environ.get("PREFECT_API_URL"):
        _fail("PREFECT_API_URL is not set: start `prefect server start` and set "
              "PREFECT_API_URL=http://127.0.0.1:4200/api (schedules need a real server; see --help)", 2)
    from prefect import serve as prefect_serve

    prefect_serve(dep)


@app.command()
def validate(
    as_of: Annotated[
        str | None, typer.Option(help="Judge 'no future dates' and freshness as of this date (default: today).")
    ] = None,
    html_out: Annotated[
        Path | None,
        typer.Option(
            "--html", help="Where to write the report page (default: <warehouse dir>/exports/validation/index.html)."
        ),
    ] = None,
    format: Annotated[str, typer.Option("--format", "-f", help="table, csv or json.")] = "table",
) -> None:
    """Rerun every expectation suite on the warehouse and print a readable summary.

    Suites (expectations/*.json): the latest versions of each raw table, the analytics views (with
    freshness against each dataset's cadence, reported as a warning), and meta.loads /
    meta.ingest_state. Reads: the warehouse (read-only). Writes: meta.validations and a
    self-contained HTML report that opens offline. Exits 1 if a critical expectation failed.
    Time: ~5 s (Great Expectations start-up) plus well under a second per suite.
    """
    from flows.config import get_settings
    from flows.quality import run as vrun
    from flows.warehouse import connect_read, connect_write, writer_lock

    day = date.fromisoformat(as_of) if as_of else date.today()
    settings = get_settings()
    try:
        con = connect_read(settings)
        try:
            frames = vrun.read_frames(con)
            loaded = vrun.loaded_datasets(con)
        finally:
            con.close()
        results = vrun.validate_all(frames, day, loaded)
        page = vrun.render_html(results, day, html_out or settings.exports_dir / "validation" / "index.html")
        try:
            with writer_lock(settings, wait_s=10):
                wcon = connect_write(settings)
                run_id = vrun.record(wcon, results)
                wcon.close()
        except FlowscopeError as exc:
            run_id = f"not recorded ({exc})"
    except FlowscopeError as exc:
        _fail(str(exc))
    _print_rows(vrun.summary_rows(results), format)
    if format == "table":
        typer.echo(f"run {run_id}; report: {page}")
    if not all(r.success for _, r in results):
        raise typer.Exit(1)


@app.command()
def expectations(
    write: Annotated[
        bool, typer.Option(help="Rewrite expectations/*.json from flows/quality/rules (then review the diff).")
    ] = False,
) -> None:
    """Check (default) or rewrite the expectation suites kept as JSON in expectations/.

    The suites that run are the JSON files; they are generated from flows/quality/rules/*.py so
    that a change to a suite is a reviewed diff, never a side effect of a run. Without --write,
    exits 1 if a JSON file differs from its declaration. Reads/writes: expectations/. Time: instant.
    """
    import json as _json

    from flows.quality.suites import build_suites, suite_json, suite_path, write_suites

    if write:
        for p in write_suites():
            typer.echo(f"wrote {p}")
        return
    stale = []
    for name, exps in build_suites().items():
        path = suite_path(name)
        if not path.exists() or _json.loads(path.read_text()) != suite_json(name, exps):
            stale.append(str(path))
    if stale:
        _fail(
            "suites differ from flows/quality/rules (run `flowscope expectations --write` and review): "
            + ", ".join(stale)
        )
    typer.echo("expectations/ matches flows/quality/rules")


@app.command()
def datasets() -> None:
    """List the datasets with their table, view, grain and cadence. Reads and writes nothing."""
    from flows.sources import DATASETS

    _print_rows(
        [
            {
                "dataset": s.name,
                "table": s.table,
                "view": s.view,
                "key": ", ".join(s.key),
                "cadence_days": s.cadence.days,
                "description": s.description,
            }
            for s in DATASETS.values()
        ]
    )


@app.command()
def evaluate(
    data: Annotated[
        Path | None,
        typer.Option(
            help="CSV with a date column and numeric columns, one row per date (daily, weekly or monthly). "
            "Without --data: the project's own scores (cps, pfd from signals.scores) against forward returns."
        ),
    ] = None,
    y: Annotated[
        str | None,
        typer.Option(
            "--y",
            help="Column to predict, per row (e.g. a daily log return: row t holds the return from t-1 to t). "
            "Not already shifted: the target is built from it.",
        ),
    ] = None,
    x: Annotated[
        str | None, typer.Option("--x", help="Predictor column: its value at row t must be known at t.")
    ] = None,
    horizon: Annotated[
        int | None, typer.Option(help="H in rows: the target at row t is the mean of y over rows t+1..t+H.")
    ] = None,
    nw_lags: Annotated[
        int | None,
        typer.Option(help="Newey-West lags. Default: max(H-1, floor(4*(T/100)^(2/9))); Rapach et al. use H."),
    ] = None,
    start: Annotated[str | None, typer.Option(help="First date to read (YYYY-MM-DD).")] = None,
    end: Annotated[
        str | None, typer.Option(help="Last date to read (YYYY-MM-DD): no y after it enters any target.")
    ] = None,
    oos_start: Annotated[
        str | None,
        typer.Option(
            help="Date of the first out-of-sample forecast (made with x there, for the next H rows). "
            "Adds R²_OS and Clark-West."
        ),
    ] = None,
    date_col: Annotated[str, typer.Option(help="Name of the date column.")] = "date",
    format: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """Predictive regression of mean future y on x_t, with Newey-West t-stats and an out-of-sample test.

    Row t pairs x_t with the MEAN of y over rows t+1..t+H (Rapach-Ringgenberg-Zhou convention; H counts
    rows, not calendar days). Prints beta, the Newey-West (Bartlett) t-stat and its lags, R² (a fraction),
    T and the effective sample size T/H, and the same regression on every H-th row (no overlapping
    targets). With --oos-start: recursive (expanding-window) forecasts, each fitted only on targets
    complete by its date; Campbell-Thompson R²_OS against the prevailing mean of y and the Clark-West
    statistic with its one-sided p-value. Dates: YYYY-MM-DD, YYYY-MM, YYYYMMDD or YYYYMM.
    Reads: the CSV only (without --data: signals.scores and analytics.prices, read-only).
    Writes: nothing. Time: a second or two of start-up; the statistics take ~0.1 s for 10,000 rows.
    """
    from flows.signals.evaluate import EvaluationError
    from flows.signals.evaluate_file import evaluate_series, read_series_csv, report_rows

    if format not in ("table", "json"):
        _fail("--format must be table or json", 2)
    if data is None:
        _evaluate_project_scores(format, horizon)
        return
    missing = [n for n, v in (("--y", y), ("--x", x), ("--horizon", horizon)) if v is None]
    if missing:
        _fail(f"--data needs {', '.join(missing)}", 2)
    if horizon < 1 or (nw_lags is not None and nw_lags < 0):  # type: ignore[operator]
        _fail("--horizon must be >= 1 and --nw-lags >= 0", 2)
    try:
        start_d, end_d, oos_d = (date.fromisoformat(d) if d else None for d in (start, end, oos_start))
    except ValueError as exc:
        _fail(f"dates must be YYYY-MM-DD ({exc})", 2)
    try:
        frame = read_series_csv(data, date_col=date_col, columns=[y, x])  # type: ignore[list-item]
        report = evaluate_series(
            frame,
            y_col=y,  # type: ignore[arg-type]
            x_col=x,  # type: ignore[arg-type]
            horizon=horizon,  # type: ignore[arg-type]
            date_col=date_col,
            nw_lags=nw_lags,
            start=start_d,
            end=end_d,
            oos_start=oos_d,
        )
    except EvaluationError as exc:
        _fail(str(exc))
    if format == "json":
        import json as _json

        typer.echo(_json.dumps(report, indent=2))
    else:
        _print_rows(report_rows(report))  # type: ignore[arg-type]


def _evaluate_project_scores(fmt: str, horizon: int | None) -> None:
    """Evaluate cps and pfd from signals.scores against forward returns (see flows.signals.evaluate_scores)."""
    import json as _json

    from flows.signals.evaluate_scores import evaluate_scores
    from flows.warehouse import connect_read

    horizons = (horizon,) if horizon else (1, 5, 10, 20)
    try:
        con = connect_read()
    except FlowscopeError as exc:
        _fail(str(exc))
    try:
        res = evaluate_scores(con, horizons=horizons)
    finally:
        con.close()
    if not any(res.values()):
        _fail("no scores to evaluate: run `flowscope daily` (it builds signals.scores) first")
    if fmt == "json":
        typer.echo(
            _json.dumps({s: {k: v.to_dicts() for k, v in parts.items()} for s, parts in res.items()}, default=str)
        )
        return
    for score, parts in res.items():
        for name, frame in parts.items():
            typer.echo(f"\n{score}: {name.replace('_', ' ')} (effective n = T/h beside every result)")
            _print_frame(frame, "table")


def main() -> None:  # pragma: no cover
    try:
        app()
    except FlowscopeError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
