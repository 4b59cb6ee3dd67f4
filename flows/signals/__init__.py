"""Signals: persistence measures, normalisation, scores and their evaluation (METHODS.md §1, §4, §6)."""
