"""Readers for each published ETF holdings layout (see ``flows.sources.etf.holdings``).

One module per issuer: ``ishares`` (CSV download), ``vaneck`` (HoldingsBlock JSON), ``invesco``
(dng-api JSON and CSV download), ``ssga`` (daily holdings xlsx), ``user_csv`` (bring your own).
Each returns ``common.Snapshot`` objects with rows as published; aggregation and checks are shared.
"""
