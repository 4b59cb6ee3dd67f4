"""Daily prices (OHLCV): parser (``daily``) and live providers (``providers``)."""
