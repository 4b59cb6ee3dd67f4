"""``flowscope charts`` end to end on a small synthetic universe in the warehouse schema.

The universe (benchmarks/synthetic_universe.py: 3 tickers + 4 ETFs + SPY, 2 years of prices, COT,
put/call, short interest, ETF shares and holdings, fundamentals) is built once for the module, the
scores are published, then the charts: every chart in PNG, SVG and Vega-Lite JSON plus index.html.
The report page is opened in a real headless Chromium (Debian's ``chromium``; ``./run test``
installs it): not blank, no console error, no request outside ``file://``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("charts")
    keys = ("FLOWSCOPE_WAREHOUSE", "FLOWSCOPE_CONFIG_DIR")
    saved = {k: os.environ.get(k) for k in keys}  # build_universe sets them: restored below for the next modules
    try:
        yield from _built(work)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _built(work: Path) -> Iterator[dict[str, Any]]:
    from synthetic_universe import UniverseSpec, build_universe

    with pytest.MonkeyPatch.context() as mp:
        for k in ("FLOWSCOPE_WAREHOUSE", "FLOWSCOPE_CONFIG_DIR"):
            mp.delenv(k, raising=False)
        uni = build_universe(work / "u", UniverseSpec(tickers=3, years=2))
        for k, v in uni.env().items():
            mp.setenv(k, v)
        from flows.signals.publish import publish
        from flows.warehouse import connect_read, connect_write

        as_of = uni.days[-1]
        con = connect_write()
        publish(con, as_of, full=True)
        con.close()
        catalysts = work / "catalysts.csv"
        first, mid = uni.days[300], uni.days[-60]
        catalysts.write_text(f"date,label\n{first},synthetic catalyst A\n{mid},synthetic catalyst B\n")
        from flows.charts.build import build_charts

        con = connect_read()
        res = build_charts(con, as_of, catalysts_path=catalysts)
        con.close()
        yield {"uni": uni, "as_of": as_of, "res": res, "catalysts": catalysts, "work": work}


def expected_ids(uni: Any) -> set[str]:
    fixed = {"component_heatmap", "decomposition", "scenario_odds", "cot_positioning", "put_call", "etf_flows",
             "short_interest", "event_calendar", "event_study", "freshness"}  # fmt: skip
    return fixed | {f"score_history_{s}" for s in uni.symbols}


def test_every_chart_is_written_as_png_svg_and_vega_lite_json(built: dict[str, Any]) -> None:
    res, uni = built["res"], built["uni"]
    assert res.out_dir == Path(uni.warehouse).parent / "exports" / built["as_of"].isoformat()
    assert {c.chart_id for c in res.charts} == expected_ids(uni)
    for c in res.charts:
        png, svg, js = c.files["png"].read_bytes(), c.files["svg"].read_text(), c.files["json"].read_text()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000, c.chart_id
        width = int.from_bytes(png[16:20], "big")
        assert width >= 2 * 300, f"{c.chart_id}: PNG {width}px wide is not 2x"
        assert "<svg" in svg[:500] and "</svg>" in svg[-50:]
        spec = json.loads(js)
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
        assert spec["datasets"], f"{c.chart_id}: data must travel inside the spec"
    assert (res.out_dir / "index.html").exists()
    assert not [p for p in res.out_dir.parent.iterdir() if p.name.startswith(".")]  # no temp folder left


def test_each_chart_states_its_window_and_as_of(built: dict[str, Any]) -> None:
    for c in built["res"].charts:
        title = json.loads(c.files["json"].read_text())["title"]
        assert title["text"], c.chart_id
        assert title["subtitle"][0].startswith("window: "), c.chart_id
        assert title["subtitle"][-1] == f"as of {built['as_of']}", c.chart_id


def test_the_charts_show_the_scores_and_data_of_the_as_of_day(built: dict[str, Any]) -> None:
    uni, res = built["uni"], built["res"]
    by = {c.chart_id: c.spec for c in res.charts}
    heat = [r for d in by["component_heatmap"]["datasets"].values() for r in d]
    today = {r["snapshot_date"] for r in heat if r["snapshot"] == "today"}
    assert today == {built["as_of"].isoformat()} or today == {f"{built['as_of']}T00:00:00"}
    assert any(r["z"] is not None for r in heat if r["symbol"] == uni.tickers[0])
    cot = [r for d in by["cot_positioning"]["datasets"].values() for r in d if "net_frac_oi" in r]
    assert cot and max(r["report_date"][:10] for r in cot) <= built["as_of"].isoformat()
    assert any(r["net_frac_oi"] is not None for r in cot)
    study = [r for d in by["event_study"]["datasets"].values() for r in d if "mean_car" in r]
    assert {r["rel_day"] for r in study} >= {-10, 0, 20}


def test_a_second_run_of_the_same_day_gives_the_same_files(built: dict[str, Any]) -> None:
    from flows.charts.build import build_charts
    from flows.warehouse import connect_read

    res = built["res"]
    before = {p.name: p.read_bytes() for p in res.out_dir.iterdir() if p.suffix in (".json", ".svg")}
    con = connect_read()
    again = build_charts(con, built["as_of"], catalysts_path=built["catalysts"])
    con.close()
    after = {p.name: p.read_bytes() for p in again.out_dir.iterdir() if p.suffix in (".json", ".svg")}
    assert before.keys() == after.keys()
    assert [k for k in before if before[k] != after[k]] == []


def test_a_failing_chart_leaves_the_previous_export_whole(built: dict[str, Any], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from flows.charts import market_charts
    from flows.charts.build import build_charts
    from flows.warehouse import connect_read

    out = built["res"].out_dir
    before = sorted(p.name for p in out.iterdir())

    def boom(*a: object, **k: object) -> None:
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr(market_charts, "short_interest", boom)
    con = connect_read()
    with pytest.raises(RuntimeError, match="renderer exploded"):
        build_charts(con, built["as_of"], catalysts_path=built["catalysts"])
    con.close()
    assert sorted(p.name for p in out.iterdir()) == before
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_charts_of_an_earlier_day_use_only_what_was_public_then(built: dict[str, Any], tmp_path: Path) -> None:
    from flows.charts.build import build_charts
    from flows.warehouse import connect_read

    uni = built["uni"]
    early = uni.days[-30]
    con = connect_read()
    res = build_charts(con, early, tmp_path / "early", catalysts_path=built["catalysts"])
    con.close()
    by = {c.chart_id: c.spec for c in res.charts}
    pcr = [r for d in by["put_call"]["datasets"].values() for r in d if r.get("ratio") is not None]
    assert max(r["trade_date"][:10] for r in pcr) <= early.isoformat()
    fresh = [r for d in by["freshness"]["datasets"].values() for r in d]
    prices = next(r for r in fresh if r["dataset"] == "prices")
    assert prices["last_date_text"] <= early.isoformat()
    assert all(c.spec["title"]["subtitle"][-1] == f"as of {early}" for c in res.charts)


def test_charts_cli_prints_the_report_path(built: dict[str, Any], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from flows.cli import app

    out = tmp_path / "cli"
    res = CliRunner().invoke(app, ["charts", "--as-of", built["as_of"].isoformat(), "--out", str(out),
                                   "--catalysts", str(built["catalysts"])])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert f"report: {out / 'index.html'}" in res.stdout
    assert len(list(out.glob("*.png"))) == len(expected_ids(built["uni"]))


def test_report_page_renders_offline_in_headless_chromium(built: dict[str, Any], tmp_path: Path) -> None:
    from tests.browser import find_chromium, open_page

    if find_chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing on CI: ./run test installs Debian's chromium package")
        pytest.skip("chromium not installed (Debian package `chromium`; ./run test installs it when it can)")
    # the page alone, copied away from its PNG/SVG siblings: it must need nothing but itself
    page = tmp_path / "alone" / "index.html"
    page.parent.mkdir()
    shutil.copy(built["res"].index, page)
    n = len(built["res"].charts)
    report = open_page(
        page,
        ready_js=f"document.querySelectorAll('.chart svg.marks').length >= {n}",
        probe_js="({charts: document.querySelectorAll('.chart').length,"
        " drawn: document.querySelectorAll('.chart svg.marks').length,"
        " marks: document.querySelectorAll('.chart svg.marks path, .chart svg.marks rect').length,"
        " headline: document.querySelectorAll('#headline-table tr').length - 1})",
    )
    assert report.probe["charts"] == n and report.probe["drawn"] == n, report.probe
    assert report.probe["marks"] > 10 * n
    assert report.probe["headline"] == len(built["uni"].symbols)
    assert report.errors == []
    assert [u for u in report.requests if not u.startswith("file://")] == []
    stats = report.screenshot_stats
    assert stats["height"] > 2000 and stats["ink_frac"] > 0.03 and stats["colors"] > 50, stats


def test_event_window_before_first_price_is_reported_not_invented(built: dict[str, Any], tmp_path: Path) -> None:
    """A catalyst before any price history gives no event path (never a zero line)."""
    from flows.charts.build import build_charts
    from flows.warehouse import connect_read

    early = tmp_path / "early.csv"
    early.write_text(f"date,label\n{built['uni'].days[0] - timedelta(days=400)},before the data\n")
    con = connect_read()
    res = build_charts(con, built["as_of"], tmp_path / "e", catalysts_path=early)
    con.close()
    spec = next(c.spec for c in res.charts if c.chart_id == "event_study")
    assert spec["mark"]["type"] == "text"  # the "why there is nothing" placeholder, not an axis at zero
    assert "no catalyst with enough price history" in next(r for d in spec["datasets"].values() for r in d)["text"]


def test_a_revision_published_after_d_changes_no_chart_of_d(built: dict[str, Any], tmp_path: Path) -> None:
    """D's equity put/call is published at 18:00, after D's 16:00 decision time: not in D's charts.
    A revision of the day before, published on D's evening, is not in D's charts either, but is in
    the next day's."""
    from flows.charts import frames
    from flows.signals.timeline import decision_time
    from flows.warehouse import connect_read, connect_write

    uni = built["uni"]
    prev, d, nxt = uni.days[-3], uni.days[-2], uni.days[-1]
    con = connect_read()
    before = frames.put_call(con, d, ["equity"], 20, 5, 60)
    con.close()
    assert before.filter(pl.col("trade_date") == d)["put_call_ratio"].to_list() == [None]
    old = before.filter(pl.col("trade_date") == prev)["put_call_ratio"].item()
    assert old is not None
    con = connect_write()
    con.execute("""insert into raw.cboe__put_call
                   select * replace (version + 1 as version, put_call_ratio * 2 as put_call_ratio,
                                     ?::timestamptz as available_at)
                   from raw.cboe__put_call where trade_date = ? and segment = 'equity'
                   qualify version = max(version) over ()""",
                [(decision_time(d) + timedelta(hours=3)).isoformat(), prev]).fetchall()  # fmt: skip
    con.close()
    con = connect_read()
    after = frames.put_call(con, d, ["equity"], 20, 5, 60)
    later = frames.put_call(con, nxt, ["equity"], 20, 5, 60)
    con.close()
    assert after.equals(before)
    assert later.filter(pl.col("trade_date") == prev)["put_call_ratio"].item() == pytest.approx(2 * old)
