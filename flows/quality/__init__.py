"""Data quality: Great Expectations suites (``expectations/``) that gate loads and publishing."""
