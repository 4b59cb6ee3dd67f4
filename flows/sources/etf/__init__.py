"""ETF sources: holdings weights (``holdings``), and fund shares/flows (``shares``, ``flows``)."""
