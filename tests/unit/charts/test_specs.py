"""Chart specs: fields, encodings, titles (window and as-of), gaps kept as gaps, hand-made frames."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import polars as pl
import pytest
import vl_convert as vlc

from flows.charts import common
from flows.charts import market_charts as mc
from flows.charts import score_charts as sc
from flows.charts.export import VL_VERSION

AS_OF = date(2026, 6, 30)


def spec(chart: Any) -> dict[str, Any]:
    return chart.to_dict()


def walk(node: Any):  # type: ignore[no-untyped-def]
    """Every dict inside a spec (depth first)."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def encodings(s: dict[str, Any]) -> list[dict[str, Any]]:
    return [n["encoding"] for n in walk(s) if isinstance(n.get("encoding"), dict)]


def fields(s: dict[str, Any]) -> set[str]:
    out = set()
    for enc in encodings(s):
        for ch in enc.values():
            for item in ch if isinstance(ch, list) else [ch]:
                if isinstance(item, dict) and "field" in item:
                    out.add(item["field"])
    return out


def rows(s: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for data in s.get("datasets", {}).values() for r in data]


def assert_titled(s: dict[str, Any], name_part: str, window_part: str) -> None:
    t = s["title"]
    assert name_part in t["text"]
    assert t["subtitle"][0].startswith("window: ") and window_part in t["subtitle"][0]
    assert t["subtitle"][-1] == f"as of {AS_OF.isoformat()}"


def days(n: int, start: date = date(2026, 6, 1)) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]


# ---- common ----------------------------------------------------------------------------------------


def test_complete_grid_makes_missing_days_null_rows_never_zero() -> None:
    f = pl.DataFrame({"d": [date(2026, 6, 1), date(2026, 6, 3)], "sym": ["A", "A"], "v": [1.5, 2.5]})
    g = common.complete_grid(f, "d", days(3), by="sym")
    assert g["d"].to_list() == days(3)
    assert g["v"].to_list() == [1.5, None, 2.5]


def test_regime_runs_are_contiguous_and_shade_up_to_the_next_run() -> None:
    f = pl.DataFrame({"date": days(5), "regime": ["neutral", "neutral", "washout", "washout", "neutral"]})
    r = common.regime_runs(f)
    assert r.rows() == [
        (date(2026, 6, 1), date(2026, 6, 2), "neutral", date(2026, 6, 3)),
        (date(2026, 6, 3), date(2026, 6, 4), "washout", date(2026, 6, 5)),
        (date(2026, 6, 5), date(2026, 6, 5), "neutral", date(2026, 6, 6)),
    ]


def test_a_null_in_a_line_breaks_the_line_in_the_compiled_vega() -> None:
    """Vega-Lite draws a line only where the value is valid (``defined``): a null is a gap."""
    frame = pl.DataFrame(
        {"trade_date": days(3) * 2, "segment": ["equity"] * 3 + ["index"] * 3,
         "put_call_ratio": [0.6, None, 0.7, 1.1, 1.0, 0.9], "avg": [None] * 6, "z": [0.1, None, 0.2, 0, 0, 0]}
    )  # fmt: skip
    s = spec(mc.put_call(frame, AS_OF, "3 trading days", 5, "252 trading days"))
    assert {"trade_date", "ratio", "segment", "line", "z"} <= fields(s)
    data = rows(s)
    eq_missing = [r for r in data if r.get("segment") == "equity" and str(r["trade_date"]).startswith("2026-06-02")]
    assert eq_missing and all(r.get("ratio") is None and r.get("put_call_ratio", None) is None for r in eq_missing)
    vega = json.dumps(vlc.vegalite_to_vega(s, vl_version=VL_VERSION))
    assert '"defined"' in vega and 'isValid(datum[\\"ratio\\"])' in vega


# ---- scores ----------------------------------------------------------------------------------------


def heat_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {"symbol": ["NVDA", "NVDA", "AMD", "AMD"], "component": ["ETF flow", "short covering"] * 2,
         "snapshot": ["today"] * 4, "snapshot_date": [AS_OF] * 4, "z": [1.26, None, -2.5, 0.0]}
    )  # fmt: skip


def test_heatmap_shows_missing_as_na_not_as_a_coloured_zero() -> None:
    s = spec(sc.component_heatmap(heat_frame(), AS_OF))
    assert_titled(s, "components", "252d")
    assert s["facet"]["column"]["field"] == "snapshot_label"
    layers = s["spec"]["layer"]
    rect = next(lyr for lyr in layers if lyr["mark"]["type"] == "rect")
    assert rect["encoding"]["color"]["field"] == "z" and rect["encoding"]["color"]["scale"]["domain"] == [-3, 3]
    assert {"filter": "isValid(datum.z)"} in rect["transform"]  # no rect, so no colour, for a missing z
    texts = {(r["symbol"], r["component"]): r["z_text"] for r in rows(s)}
    assert texts[("NVDA", "short covering")] == "n/a"
    assert texts[("AMD", "short covering")] == "0.0"  # a real zero stays a zero
    assert texts[("NVDA", "ETF flow")] == "1.3" and texts[("AMD", "ETF flow")] == "-2.5"


def test_score_history_has_bands_value_regimes_and_events() -> None:
    d = days(6)
    hist = pl.DataFrame(
        {"date": d * 2, "score": ["cps"] * 6 + ["pfd"] * 6, "value": [0.1, 0.3, None, 0.5, 0.2, 0.4] * 2,
         "p10": [-1.0] * 12, "p50": [0.0] * 12, "p90": [1.0] * 12}
    )  # fmt: skip
    reg = pl.DataFrame({"date": d, "regime": ["neutral"] * 3 + ["capital-led"] * 3})
    ev = pl.DataFrame({"date": [d[2]], "event": ["earnings_filing"], "symbol": ["NVDA"], "label": ["10-Q"]})
    s = spec(sc.score_history(hist, reg, ev, "NVDA", AS_OF, "504 trading days", "252 trading days"))
    assert_titled(s, "NVDA", "504 trading days")
    assert len(s["vconcat"]) == 2
    f = fields(s)
    assert {"p10", "p90", "p50", "value", "start", "until", "regime", "event"} <= f
    fills = [e["fill"] for e in encodings(s) if "fill" in e]
    assert fills and fills[0]["scale"]["domain"] == common.REGIMES
    assert "252 trading days" in " ".join(s["title"]["subtitle"])


def test_score_history_without_fundamentals_says_so_and_without_any_score_draws_no_axis() -> None:
    hist = pl.DataFrame(
        {"date": days(2) * 2, "score": ["cps", "cps", "pfd", "pfd"], "value": [0.1, 0.2, None, None],
         "p10": [None] * 4, "p50": [None] * 4, "p90": [None] * 4}, schema_overrides={"p10": pl.Float64,
         "p50": pl.Float64, "p90": pl.Float64},
    )  # fmt: skip
    reg = pl.DataFrame(schema={"date": pl.Date, "regime": pl.String})
    s = spec(sc.score_history(hist, reg, None, "SPY", AS_OF, "504 trading days", "252 trading days"))
    assert len(s["vconcat"]) == 1 and any("no PFD" in line for line in s["title"]["subtitle"])
    empty = spec(sc.score_history(hist.with_columns(pl.lit(None, pl.Float64).alias("value")), reg, None, "SPY",
                                  AS_OF, "504 trading days", "252 trading days"))  # fmt: skip
    assert empty["mark"]["type"] == "text" and "no CPS or PFD" in rows(empty)[0]["text"]


def test_decomposition_bars_stack_eps_and_multiple_with_the_total_as_a_tick() -> None:
    f = pl.DataFrame(
        {"symbol": ["NVDA", "NVDA"], "horizon": ["1m", "YTD"], "dlog_price": [0.10, 0.30],
         "dlog_eps": [0.04, None], "dlog_pe": [0.06, None]}
    )  # fmt: skip
    s = spec(sc.decomposition_bars(f, AS_OF, ["1m", "3m", "6m", "YTD"]))
    assert_titled(s, "EPS vs multiple", "1m, 3m, 6m, YTD")
    layers = s["spec"]["layer"]
    bar = next(lyr for lyr in layers if lyr["mark"]["type"] == "bar")
    assert bar["encoding"]["y"]["field"] == "dlog" and bar["encoding"]["color"]["field"] == "part"
    assert bar["encoding"]["x"]["sort"] == ["1m", "3m", "6m", "YTD"]
    data = rows(s)
    ytd = [r for r in data if r["horizon"] == "YTD"]
    assert all(r["dlog"] is None for r in ytd)  # negative EPS: no bars, never zero-height bars
    one = {r["part"]: r["dlog"] for r in data if r["horizon"] == "1m"}
    assert one == {"EPS (TTM, first filed)": 0.04, "multiple (P/E)": 0.06}


def test_scenario_bars_carry_probability_interval_and_count() -> None:
    f = pl.DataFrame(
        {"symbol": ["SPY"] * 3, "condition": ["regime = neutral"] * 3, "horizon_days": [5] * 3,
         "outcome_bucket": ["pessimistic", "baseline", "optimistic"], "probability": [0.25, 0.5, 0.25],
         "ci_low": [0.2, 0.45, 0.2], "ci_high": [0.3, 0.55, 0.3], "n": [250, 500, 250]}
    )  # fmt: skip
    s = spec(sc.scenario_bars(f, AS_OF))
    assert s["title"]["subtitle"][-1] == f"as of {AS_OF}"
    assert {"probability", "ci_low", "ci_high", "label", "outcome_bucket"} <= fields(s)
    labels = sorted(r["label"] for r in rows(s))
    assert labels == ["25% (n=250)", "25% (n=250)", "50% (n=500)"]


# ---- market ----------------------------------------------------------------------------------------


def test_cot_chart_has_one_panel_per_market_with_net_and_z() -> None:
    tues = [date(2026, 6, 2), date(2026, 6, 9), date(2026, 6, 16)]
    rows_ = []
    for m in ("ES", "NQ"):
        for g, v in (("asset managers", 0.3), ("leveraged funds", -0.2)):
            rows_ += [{"report_date": t, "market": m, "group": g, "net_frac_oi": None if i == 1 else v, "z": 0.5}
                      for i, t in enumerate(tues)]  # fmt: skip
    s = spec(mc.cot_positioning(pl.DataFrame(rows_), AS_OF, "156 weeks", "156 weeks"))
    assert_titled(s, "COT", "156 weeks")
    assert [p["title"] for p in s["hconcat"]] == ["ES", "NQ"]
    assert {"net_frac_oi", "z", "group", "report_date"} <= fields(s)
    nq = [r for r in rows(s) if r.get("market") == "NQ"]
    assert len(nq) == 6 and sum(r["net_frac_oi"] is None for r in nq) == 2  # the missing week is a gap


def test_streaks_count_same_sign_days_and_reset_on_a_gap() -> None:
    f = pl.DataFrame({"symbol": ["SMH"] * 6, "date": days(6), "flow_usd": [5.0, 3.0, -1.0, None, 2.0, 4.0]})
    assert mc.streaks(f)["streak"].to_list() == [1, 2, -1, 0, 1, 2]


def test_etf_flows_chart_labels_the_current_streak_and_drops_no_day_to_zero() -> None:
    f = mc.streaks(pl.DataFrame({"symbol": ["SMH"] * 4, "date": days(4), "flow_usd": [1e6, None, 2e6, 3e6]}))
    s = spec(mc.etf_flows(f, AS_OF, "63 trading days"))
    assert_titled(s, "ETF", "63 trading days")
    panel = s["vconcat"][0]
    assert panel["title"]["text"] == "SMH: inflow 2 day(s) to 2026-06-04"
    assert {"filter": "isValid(datum.flow_usd)"} in panel["transform"]
    assert [r["flow_musd"] for r in rows(s)] == [1.0, None, 2.0, 3.0]


def test_short_interest_facets_symbols_and_names_the_ones_without_data() -> None:
    f = pl.DataFrame(
        {"settlement_date": [date(2026, 5, 15), date(2026, 5, 29)] * 2, "symbol": ["NVDA", "NVDA", "APLD", "APLD"],
         "short_interest_shares": [2.9e8, None, None, None], "days_to_cover": [1.2, None, None, None]}
    )  # fmt: skip
    s = spec(mc.short_interest(f, AS_OF, "48 settlements"))
    assert_titled(s, "short interest", "48 settlements")
    assert s["facet"]["field"] == "symbol"
    assert {r["symbol"] for r in rows(s)} == {"NVDA"}
    assert any("APLD" in line for line in s["title"]["subtitle"])


def test_freshness_marks_stale_and_empty_datasets() -> None:
    f = pl.DataFrame(
        {"dataset": ["cftc_tff", "finra_short_interest", "sec_tickers"],
         "last_date": [date(2026, 6, 23), date(2026, 5, 15), None],
         "last_available_at": [None, None, None], "age_days": [7, 46, None], "stale_after_days": [10, 30, 30],
         "status": ["fresh", "stale", "empty"]},
        schema_overrides={"last_available_at": pl.Datetime("us", "UTC")},
    )  # fmt: skip
    s = spec(mc.freshness(f, AS_OF))
    assert s["title"]["subtitle"][-1] == f"as of {AS_OF}"
    status = s["hconcat"][0]["encoding"]["color"]
    assert status["field"] == "status" and status["scale"]["domain"] == ["fresh", "stale", "empty"]
    by = {r["dataset"]: r for r in rows(s)}
    assert by["finra_short_interest"]["age_text"] == "46 d (limit 30 d)" and by["sec_tickers"]["age_text"] == "—"


def test_event_timeline_and_rules_use_the_event_type() -> None:
    ev = pl.DataFrame(
        {"date": [date(2026, 6, 18), date(2026, 6, 26)], "event": ["triple_witching", "cot_release"],
         "symbol": [None, None], "label": ["June expiry", "COT"]}, schema_overrides={"symbol": pl.String},
    )  # fmt: skip
    s = spec(mc.event_timeline(ev, AS_OF, "504 trading days"))
    assert_titled(s, "Event calendar", "504 trading days")
    assert s["encoding"]["y"]["field"] == "event"
    rules = common.event_rules(ev, ["triple_witching"])
    assert rules is not None and rules.to_dict()["encoding"]["stroke"]["field"] == "event"
    assert common.event_rules(ev, ["catalyst"]) is None


@pytest.mark.parametrize("fn", ["cot", "put_call", "flows", "si", "decomp", "scen", "heat", "events"])
def test_an_empty_frame_gives_a_chart_that_says_why(fn: str) -> None:
    empty = {
        "cot": lambda: mc.cot_positioning(pl.DataFrame({"net_frac_oi": []}, schema={"net_frac_oi": pl.Float64}),
                                          AS_OF, "156 weeks", "156 weeks"),
        "put_call": lambda: mc.put_call(pl.DataFrame({"put_call_ratio": []}, schema={"put_call_ratio": pl.Float64}),
                                        AS_OF, "252 trading days", 5, "252"),
        "flows": lambda: mc.etf_flows(pl.DataFrame({"flow_usd": []}, schema={"flow_usd": pl.Float64}), AS_OF, "63"),
        "si": lambda: mc.short_interest(pl.DataFrame({"short_interest_shares": []},
                                                     schema={"short_interest_shares": pl.Float64}), AS_OF, "48"),
        "decomp": lambda: sc.decomposition_bars(pl.DataFrame(), AS_OF, ["1m"]),
        "scen": lambda: sc.scenario_bars(pl.DataFrame(), AS_OF),
        "heat": lambda: sc.component_heatmap(pl.DataFrame(), AS_OF),
        "events": lambda: mc.event_timeline(pl.DataFrame(), AS_OF, "504"),
    }[fn]()  # fmt: skip
    s = spec(empty)
    assert s["mark"]["type"] == "text" and rows(s)[0]["text"]
    assert s["title"]["subtitle"][-1] == f"as of {AS_OF}"


def test_svg_ids_are_renumbered_so_the_same_chart_gives_the_same_file() -> None:
    from flows.charts.export import stable_svg

    a = '<path fill="url(#gradient_4)"/><linearGradient id="gradient_4"/><g clip-path="url(#clip7)"/><x id="clip7"/>'
    b = '<path fill="url(#gradient_0)"/><linearGradient id="gradient_0"/><g clip-path="url(#clip_0)"/><x id="clip_0"/>'
    assert stable_svg(a) == b
    two = stable_svg('<a id="gradient_9"/><b id="gradient_3"/><c fill="url(#gradient_9)"/>')
    assert two == '<a id="gradient_0"/><b id="gradient_1"/><c fill="url(#gradient_0)"/>'
