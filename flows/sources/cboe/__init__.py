"""Cboe options market statistics."""
