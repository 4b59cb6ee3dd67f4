"""Per-dataset expectation rules: ``flows.quality.rules.<dataset>`` (see ``flows.quality.suites``)."""
