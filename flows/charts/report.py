"""The daily report page: one self-contained ``index.html`` that opens offline.

Vega, Vega-Lite and vega-embed are inlined (``vl_convert.javascript_bundle``, no CDN) and every
chart spec carries its data, so the page makes no request outside ``file://``. The page holds, in
order: the headline reading per ticker with the rule that fired and the values it read, the
freshness panel, the validation summary, then the charts by section. Each chart also links its PNG,
SVG and JSON snapshots.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import polars as pl
import vl_convert as vlc

from flows.charts.export import VL_VERSION, Exported

CSS = """
body{font-family:'Liberation Sans',Arial,sans-serif;margin:24px;color:#222;max-width:1500px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px;margin:6px 0 12px}th,td{border:1px solid #ddd;padding:3px 7px;
text-align:left;vertical-align:top}th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.regime{font-weight:bold}.stale,.fail{color:#c0392b;font-weight:bold}.fresh,.pass{color:#2e7d32}.muted{color:#777}
.chart{margin:14px 0 22px}.links{font-size:12px;color:#555}code{background:#f6f6f6;padding:1px 3px}
"""


def _fmt(v: object, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return '<span class="muted">n/a</span>'
    if isinstance(v, float):
        return f"{v:+.{digits}f}"
    return html.escape(str(v))


def headline_table(head: pl.DataFrame, readings: dict[str, str]) -> str:
    rows = []
    for r in head.iter_rows(named=True):
        regime = r["regime"]
        reading = readings.get(regime, "") if regime else "no scores for this ticker on the as-of day"
        rows.append(
            f"<tr><td><b>{html.escape(r['symbol'])}</b></td><td class='regime'>{_fmt(regime)}</td>"
            f"<td>{html.escape(reading)}</td><td><code>{_fmt(r['rule'])}</code></td>"
            + "".join(f"<td class='num'>{_fmt(r[k])}</td>" for k in ("cps", "pfd", "z_fm", "z_pm"))
            + f"<td>{_fmt(r['date'])}</td></tr>"
        )
    return (
        "<table id='headline-table'><tr><th>ticker</th><th>regime</th><th>reading</th><th>rule that fired</th>"
        "<th>CPS</th><th>PFD</th><th>z FM</th><th>z PM</th><th>scored day</th></tr>" + "".join(rows) + "</table>"
    )


def freshness_table(fresh: pl.DataFrame) -> str:
    rows = []
    for r in fresh.iter_rows(named=True):
        avail = r["last_available_at"].strftime("%Y-%m-%d %H:%M UTC") if r["last_available_at"] else None
        rows.append(
            f"<tr><td>{html.escape(r['dataset'])}</td><td class='{r['status']}'>{r['status']}</td>"
            f"<td>{_fmt(r['last_date'])}</td><td>{_fmt(avail)}</td><td class='num'>{_fmt(r['age_days'])}</td>"
            f"<td class='num'>{r['stale_after_days']}</td></tr>"
        )
    return (
        "<table id='freshness-table'><tr><th>dataset</th><th>status</th><th>last date</th><th>available_at</th>"
        "<th>age (days)</th><th>stale after</th></tr>" + "".join(rows) + "</table>"
    )


def validation_table(val: pl.DataFrame) -> str:
    if val.height == 0:
        return (
            "<p class='muted'>No validation recorded yet (the load gate and <code>flowscope validate</code>"
            " write them).</p>"
        )
    ok = int(val["success"].sum())
    rows = []
    for r in val.iter_rows(named=True):
        cls, word = ("pass", "pass") if r["success"] else ("fail", "FAIL")
        rows.append(
            f"<tr><td>{html.escape(r['suite'])}</td><td class='{cls}'>{word}</td>"
            f"<td class='num'>{r['passed']}/{r['evaluated']}</td><td>{_fmt(r['failures'])}</td>"
            f"<td>{r['validated_at']:%Y-%m-%d %H:%M}</td></tr>"
        )
    return (
        f"<p id='validation-summary'>{ok} of {val.height} suites passed at their latest run.</p>"
        "<table id='validation-table'><tr><th>suite</th><th>result</th><th>expectations passed</th><th>failures</th>"
        "<th>validated at (UTC)</th></tr>" + "".join(rows) + "</table>"
    )


def render(
    as_of: date,
    charts: Sequence[Exported],
    head: pl.DataFrame,
    fresh: pl.DataFrame,
    val: pl.DataFrame,
    readings: dict[str, str],
    out: Path,
    notes: Sequence[str] = (),
) -> Path:
    """Write ``out`` (index.html) with links relative to its folder."""
    bundle = vlc.javascript_bundle(vl_version=VL_VERSION)
    sections: dict[str, list[Exported]] = {}
    for c in charts:
        sections.setdefault(c.section or "Charts", []).append(c)
    body, embeds = [], []
    for section, items in sections.items():
        body.append(f"<h2>{html.escape(section)}</h2>")
        for c in items:
            links = " · ".join(f"<a href='{p.name}'>{fmt.upper()}</a>" for fmt, p in c.files.items())
            body.append(f"<div class='chart'><div id='chart-{c.chart_id}'></div><div class='links'>{links}</div></div>")
            embeds.append(f"show({json.dumps('#chart-' + c.chart_id)}, {json.dumps(c.spec, default=str)});")
    stale = fresh.filter(pl.col("status") != "fresh")["dataset"].to_list() if fresh.height else []
    note_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>flowscope — {as_of.isoformat()}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval';
 style-src 'unsafe-inline'; img-src data: blob:; font-src data:">
<style>{CSS}</style>
<script>{bundle}</script></head>
<body>
<h1>flowscope daily report — as of {as_of.isoformat()}</h1>
<p class="muted">Is capital (fund flows, options and futures positioning, short covering) or are fundamentals
(revenue, earnings) driving each name? Scores use only data public by the as-of day's close.
{"Stale or empty datasets: " + html.escape(", ".join(stale)) + "." if stale else "All datasets fresh."}</p>
<h2>Headline per ticker</h2>
{headline_table(head, readings)}
<h2>Data freshness</h2>
{freshness_table(fresh)}
<h2>Validation</h2>
{validation_table(val)}
{"<ul class='muted'>" + note_html + "</ul>" if note_html else ""}
{"".join(body)}
<script>
function show(el, spec) {{
  vegaEmbed(el, spec, {{actions: false, renderer: "svg"}}).catch(function (e) {{ console.error(e); }});
}}
{chr(10).join(embeds)}
</script>
</body></html>
"""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
