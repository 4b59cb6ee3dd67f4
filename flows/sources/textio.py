"""Byte-level helpers shared by parsers: decoding, sniffing error pages, strict CSV reading."""

from __future__ import annotations

import csv
import io
import re

from flows.errors import EmptyDataError, PayloadError

_HTML = re.compile(rb"^\s*(<!doctype html|<html|<head|<body|<\?xml[^>]*>\s*<error)", re.IGNORECASE)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def reject_error_pages(content: bytes) -> None:
    """Raise a clear error for an empty body or an HTML/XML error page served as data."""
    if not content.strip():
        raise EmptyDataError(f"empty payload ({len(content)} bytes)")
    head = content[:2048].lstrip(b"\xef\xbb\xbf")
    if _HTML.match(head):
        title = _TITLE.search(content[:8192])
        what = title.group(1).decode("utf-8", "replace").strip()[:80] if title else head[:60].decode("utf-8", "replace")
        raise PayloadError(f"an HTML/XML page, not data ({what!r})")


def decode_text(content: bytes) -> str:
    """Decode text as publishers serve it: UTF-8 with or without BOM, UTF-16 with BOM, or latin-1."""
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8")
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return content.decode("utf-16")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content.decode("latin-1")


def read_csv_rows(text: str, *, skipinitialspace: bool = True) -> list[list[str]]:
    """All rows of a CSV text (quotes honoured, CRLF or LF), fields stripped, blank rows dropped."""
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=skipinitialspace)
    try:
        return [[f.strip() for f in row] for row in reader if any(f.strip() for f in row)]
    except csv.Error as exc:
        raise PayloadError(f"not a readable CSV: {exc}") from exc


def ends_mid_line(text: str) -> bool:
    """True when the text does not end with a line break (a possible truncation)."""
    return bool(text) and not text.endswith(("\n", "\r"))


def normalise_name(name: str) -> str:
    """Header name -> comparable key: lower case, separators as underscores."""
    return re.sub(r"[^0-9a-z+]+", "_", name.strip().lower()).strip("_")
