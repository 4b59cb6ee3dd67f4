"""The bring-your-own CSV ``as_of_date,etf,symbol,weight_frac[,source][,asset_class]``.

``weight_frac`` is a fraction of net assets (0.1927 = 19.27%). Optional columns:

- ``source``: ``issuer`` (an issuer file re-expressed) or ``nport`` (weights from an SEC N-PORT-P
  filing, public ``nport_lag_days`` after the report period). **Without it, a row dated on a calendar
  quarter end (03-31, 06-30, 09-30, 12-31) is taken as N-PORT-derived** (``shared/data/canonical``:
  the XLK quarterly weights 2019-Q3..2023-Q4 are report-period ends, some on weekends). The rule
  errs on the safe side: an issuer snapshot that happens to fall on a quarter end is only treated
  as known 60 days later, never earlier than it was public. Give ``source`` to override it.
- ``asset_class``: ``equity``, ``cash``, ``future`` or ``other``. Without it: a futures contract
  ticker (``NQU6``, ``IXTZ5``) is a future; ``USD``, ``CASH``, ``-`` and the issuers' cash and
  collateral tickers are cash; in XLK's N-PORT weights ``STT`` (the State Street cash sweep, filed
  under State Street's CIK) is cash and ``CME`` (E-mini futures margin, filed under CME's CIK) is a
  future: neither company is an S&P 500 technology stock. Everything else is an equity.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flows.errors import PayloadError, SchemaDriftError, ValidationError
from flows.sources.etf.holdings_formats.common import (
    ASSET_CLASSES,
    FUTURE_TICKER,
    Snapshot,
    clean_symbol,
    decimal_or_none,
    holding,
    parse_us_date,
)
from flows.sources.textio import normalise_name, read_csv_rows

REQUIRED = ("as_of_date", "etf", "symbol", "weight_frac")
OPTIONAL = ("source", "asset_class")
CASH_SYMBOLS = frozenset({"USD", "CASH", "XTSLA", "WFFUT", "USDPDV", "-USD CASH-"})
NON_EQUITY_BY_ETF: dict[tuple[str, str], str] = {("XLK", "STT"): "cash", ("XLK", "CME"): "future"}
_SOURCES = {"issuer": "issuer", "nport": "nport", "n-port": "nport", "nport-p": "nport", "n_port": "nport"}
QUARTER_ENDS = ((3, 31), (6, 30), (9, 30), (12, 31))


def looks_like(text: str) -> bool:
    return normalise_name(text.lstrip().split("\n", 1)[0]).startswith("as_of_date")


def is_quarter_end(d: date) -> bool:
    return (d.month, d.day) in QUARTER_ENDS


def _series(value: str | None, as_of: date, where: str) -> str:
    if value is None or not value.strip():
        return "nport" if is_quarter_end(as_of) else "user_csv"
    s = _SOURCES.get(value.strip().lower())
    if s is None:
        raise ValidationError(f"unknown source {value!r} ({where}; expected issuer or nport)")
    return "user_csv" if s == "issuer" else s


def _asset_class(value: str | None, etf: str, symbol: str, where: str) -> str:
    if value is not None and value.strip():
        s = value.strip().lower()
        if s not in ASSET_CLASSES:
            raise ValidationError(f"unknown asset_class {value!r} ({where}; expected {', '.join(ASSET_CLASSES)})")
        return s
    if not symbol or symbol in CASH_SYMBOLS:
        return "cash"
    if FUTURE_TICKER.match(symbol):
        return "future"
    return NON_EQUITY_BY_ETF.get((etf, symbol), "equity")


def read(text: str) -> tuple[list[Snapshot], list[str]]:
    rows = read_csv_rows(text)
    header = [normalise_name(h) for h in rows[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise SchemaDriftError(f"holdings CSV header lacks {missing}; expected {','.join(REQUIRED)}")
    idx = {h: i for i, h in enumerate(header)}
    snaps: dict[tuple[str, date, str], Snapshot] = {}
    for n, r in enumerate(rows[1:], start=2):
        if len(r) != len(header):
            raise PayloadError(f"line {n} has {len(r)} of {len(header)} fields (truncated?)")
        where = f"line {n}"

        def get(name: str, r: list[str] = r) -> Any:
            return r[idx[name]] if name in idx else None

        as_of = parse_us_date(get("as_of_date"), ("%m/%d/%Y",), f"as_of_date ({where})")
        etf = get("etf").strip().upper()
        if not etf:
            raise ValidationError(f"empty etf ({where})")
        symbol = clean_symbol(get("symbol"))
        series = _series(get("source"), as_of, where)
        snap = snaps.setdefault((etf, as_of, series), Snapshot(etf, as_of, "user_csv", series))
        snap.holdings.append(
            holding(
                symbol,
                "",
                _asset_class(get("asset_class"), etf, symbol, where),
                decimal_or_none(get("weight_frac"), "weight_frac", where),
                where,
            )
        )
    unknown = [h for h in header if h not in (*REQUIRED, *OPTIONAL)]
    warnings = [f"unknown extra columns {unknown} (loaded, ignored)"] if unknown else []
    return list(snaps.values()), warnings
