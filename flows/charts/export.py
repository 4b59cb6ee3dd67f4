"""Write chart snapshots: PNG (2x), SVG and Vega-Lite JSON per chart, rendered offline by vl-convert.

The rendering is told it may load nothing (``allowed_base_urls=[]``): every chart carries its data
inline, so a spec that tried to fetch would fail here rather than in a strategist's browser.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import altair as alt
import vl_convert as vlc

VL_VERSION = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])  # e.g. "6.4"
FORMATS = ("png", "svg", "json")


@dataclass(frozen=True)
class Exported:
    chart_id: str
    title: str
    section: str
    spec: dict[str, Any]
    files: dict[str, Path]


def chart_spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The Vega-Lite spec with data inlined (``datasets``)."""
    return chart.to_dict()


def title_of(spec: dict[str, Any]) -> str:
    title = spec.get("title")
    if isinstance(title, dict):
        return str(title.get("text", ""))
    return str(title or "")


def stable_svg(svg: str) -> str:
    """Number the SVG's gradient and clip ids from 0 in order of appearance: the Vega runtime inside
    vl-convert counts them across renders of one process, so the same chart would differ by id."""
    ids: dict[str, str] = {}

    def rename(m: re.Match[str]) -> str:
        kind = m.group(1)
        return ids.setdefault(m.group(0), f"{kind}_{sum(v.startswith(kind + '_') for v in ids.values())}")

    return re.sub(r"\b(gradient|clip)_?(\d+)\b", rename, svg)


def write_chart(
    chart: alt.TopLevelMixin, chart_id: str, out_dir: Path, *, section: str = "", scale: float = 2.0
) -> Exported:
    """Write ``<chart_id>.png`` (``scale`` x CSS pixels), ``.svg`` and ``.json`` into ``out_dir``."""
    spec = chart_spec(chart)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {fmt: out_dir / f"{chart_id}.{fmt}" for fmt in FORMATS}
    files["json"].write_text(json.dumps(spec, indent=1, default=str), encoding="utf-8")
    svg = vlc.vegalite_to_svg(spec, vl_version=VL_VERSION, allowed_base_urls=[])
    files["svg"].write_text(stable_svg(svg), encoding="utf-8")
    files["png"].write_bytes(vlc.vegalite_to_png(spec, vl_version=VL_VERSION, scale=scale, allowed_base_urls=[]))
    return Exported(chart_id, title_of(spec), section, spec, files)
