"""Regime labels from rules kept in ``config/signals.yaml`` (METHODS.md §4.4).

A rule is a conjunction of comparisons, e.g. ``"cps > 1 and pfd > 1"``, or ``"true"``. Names are
score values (cps, pfd, z_fm, z_pm, ...); numbers are plain decimals. Rules are evaluated in order;
the first that holds gives the label and is stored beside it. A comparison on a missing value is
false (a regime needs its evidence). Rules are parsed, never ``eval``-ed.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flows.errors import ConfigError

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_CLAUSE = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(<=|>=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class Rule:
    label: str
    text: str
    clauses: tuple[tuple[str, str, float], ...]  # empty = always true

    def holds(self, values: Mapping[str, float | None]) -> bool:
        for name, op, threshold in self.clauses:
            v = values.get(name)
            if v is None or (isinstance(v, float) and math.isnan(v)) or not _OPS[op](v, threshold):
                return False
        return True


def parse_rules(spec: Sequence[Mapping[str, str]]) -> list[Rule]:
    """Parse the ``regimes`` list of the config; a malformed rule is a clear ConfigError."""
    rules = []
    for item in spec:
        label, text = str(item.get("label", "")).strip(), str(item.get("rule", "")).strip()
        if not label or not text:
            raise ConfigError(f"regime rule needs a label and a rule: {dict(item)}")
        if text.lower() == "true":
            rules.append(Rule(label, text, ()))
            continue
        clauses = []
        for part in re.split(r"\s+and\s+", text):
            m = _CLAUSE.match(part)
            if not m:
                raise ConfigError(f"regime {label!r}: cannot read {part!r} (use e.g. 'cps > 1 and pfd <= 0.5')")
            clauses.append((m.group(1), m.group(2), float(m.group(3))))
        rules.append(Rule(label, text, tuple(clauses)))
    if not rules or rules[-1].clauses:
        raise ConfigError("the last regime rule must be a catch-all ('true'), so every day gets a label")
    return rules


def classify(values: Mapping[str, float | None], rules: Sequence[Rule]) -> tuple[str, str]:
    """(label, rule text) of the first rule that holds."""
    for rule in rules:
        if rule.holds(values):
            return rule.label, rule.text
    raise AssertionError("unreachable: the last rule is a catch-all")
