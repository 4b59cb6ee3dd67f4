"""Bring-your-own vendor exports (files a user supplies; no publisher to fetch from)."""
