"""FRED (Federal Reserve Bank of St. Louis) series: rates parser (``rates``) and live client (``client``)."""
