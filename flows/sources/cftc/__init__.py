"""CFTC Commitments of Traders."""
