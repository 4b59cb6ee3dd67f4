"""Regime rules from config: first match wins, the rule is reported, missing evidence never fires."""

from __future__ import annotations

import pytest

from flows.config import load_config
from flows.errors import ConfigError
from flows.signals.regimes import classify, parse_rules

RULES = parse_rules(load_config("signals")["regimes"])


@pytest.mark.parametrize(
    ("values", "label"),
    [
        ({"cps": -1.5, "pfd": 2.0, "z_fm": 1.0}, "washout"),
        ({"cps": 1.5, "pfd": 1.5, "z_fm": 0.0}, "capital-led"),
        ({"cps": 1.5, "pfd": 0.2, "z_fm": 0.8}, "crowded but confirmed"),
        ({"cps": 0.2, "pfd": 0.4, "z_fm": 0.8}, "fundamental-led"),
        ({"cps": 0.2, "pfd": 0.9, "z_fm": 0.8}, "neutral"),  # fundamentals up but price ran further
        ({"cps": 1.5, "pfd": None, "z_fm": None}, "neutral"),  # no fundamental evidence: no label
    ],
)
def test_config_rules_label_as_methods_says(values, label) -> None:  # type: ignore[no-untyped-def]
    got, rule = classify(values, RULES)
    assert got == label
    assert rule == next(r.text for r in RULES if r.label == label)


def test_boundaries_follow_the_written_comparison() -> None:
    assert classify({"cps": 1.0, "pfd": 2.0, "z_fm": 0}, RULES)[0] == "neutral"  # cps > 1 is strict
    assert classify({"cps": 0, "pfd": 0.5, "z_fm": 0.51}, RULES)[0] == "fundamental-led"  # pfd <= 0.5


def test_malformed_rules_are_refused_clearly() -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        parse_rules([{"label": "x", "rule": "cps >> 1"}, {"label": "n", "rule": "true"}])
    with pytest.raises(ConfigError, match="catch-all"):
        parse_rules([{"label": "x", "rule": "cps > 1"}])
    with pytest.raises(ConfigError, match="cannot read"):
        parse_rules([{"label": "x", "rule": "__import__('os')"}, {"label": "n", "rule": "true"}])
