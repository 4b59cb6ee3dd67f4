"""flowscope: an open flow-and-positioning signal pipeline (DuckDB + Prefect + polars + GX)."""

__version__ = "0.1.0"
