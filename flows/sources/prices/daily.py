"""Daily prices (OHLCV) for the universe's tickers, ETFs and market proxy: parse (SOURCES.md §5).

Grain: trade date x symbol x ``series_source``. Key: ``(date, symbol, series_source)``.
Units: ``open``, ``high``, ``low``, ``close``, ``adj_close`` in USD per share, on the basis the
series states (table below); ``volume`` in shares. Cadence: NYSE trading days.

available_at (rule): 16:00 New York on the trade date (``config/calendar.yaml`` ``prices``): a bar
of day D exists at D's close, so D's prices can be used for decisions at D's close, not before.
A bar whose session had not closed when the payload was fetched (an intraday fetch, or a file
imported before 16:00 holding today's bar) is partial: it is dropped, with a count. Live
observations never replace the rule (``observed_grace`` = 0): seeing a bar later than the close
says nothing new about when it existed.

Formats (detected from the content, never from the file name alone):
- the bring-your-own CSV ``date,symbol,open,high,low,close,adj_close,volume`` (``adj_close`` may be
  empty; ``ticker`` is accepted for ``symbol``);
- Yahoo/yfinance per-ticker CSV ``Date,Open,High,Low,Close[,Adj Close],Volume`` (dates may carry a
  time and offset, ``2000-06-05 00:00:00+00:00``). The symbol comes from the ``symbol`` hint
  (``flowscope import prices FILE --symbol NVDA``, any ticker) or the file name's first ``_`` token
  (``NVDA.csv``, ``NVDA_robinfrank.csv``, ``SOXX_landon.csv``), which must then be a symbol of
  ``config/universe.yaml`` (a name like ``prices.csv`` or ``export.csv`` is refused, not guessed).
  yfinance exports whose header is in the wrong (alphabetical) order are recognised from the values
  and remapped, with a warning (PROVENANCE §5: ``SMH_hjyssg.csv``);
- the Alpha Vantage daily CSV ``timestamp,open,high,low,close,volume`` (newest first, CRLF;
  ``adjusted_close`` when present), symbol as for Yahoo files;
- the Cboe delayed-quotes historical JSON ``{symbol, data: [{date, open, high, low, close,
  stock_volume|volume}]}`` (numbers possibly strings; rows quoting close 0 before the listing are
  dropped; open/high/low of 0 mean "not reported" and are stored as null);
- the Nasdaq historical JSON ``{data: {symbol, tradesTable: {rows: [{date "MM/DD/YYYY", open
  "$1.23", high, low, close, volume "1,234"}]}}, status: {rCode}}`` (``N/A`` = missing).

series_source (each publication kept apart; ``analytics.prices`` ranks them, best first):

| rank | series_source | from | OHLC basis | adj_close |
| --- | --- | --- | --- | --- |
| 1 | ``yahoo_csv_adj`` | Yahoo/yfinance CSV with Adj Close | split-adjusted | split + dividend adjusted |
| 2 | ``yahoo_csv`` | Yahoo/yfinance CSV without it (or Stooq's same layout) | split-adj., no dividends | null |
| 3 | ``nasdaq_api`` | Nasdaq historical JSON (live) | split back-adjusted [verify] | null |
| 4 | ``cboe_delayed`` | Cboe delayed-quotes JSON (live) | unverified [verify] | null |
| 5 | ``alphavantage_csv`` | Alpha Vantage daily CSV | as traded (no adjustment) | ``adjusted_close`` if given |
| 6 | ``user_csv`` | the bring-your-own CSV | as supplied | as supplied |

The ranking prefers the documented adjustment basis; sources with a known basis fill history and the
live sources fill the days no file covers. ``return_1d`` is computed inside one series (never across
two vendors). Revisions: a changed bar of the same series is a new version (a final volume replacing
the one exported on the day, a vendor's split back-adjustment); overlapping vendors never revise
each other.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from flows.calendar import is_trading_day
from flows.config import calendar_config, universe
from flows.errors import ConfigError, EmptyDataError, PayloadError, SchemaDriftError, ValidationError
from flows.pit import ny_time_to_utc
from flows.sources.base import DatasetSpec, ParsedBatch, Payload
from flows.sources.textio import decode_text, ends_mid_line, normalise_name, read_csv_rows, reject_error_pages

# Best first; sql/analytics/prices.sql ranks in the same order (a test compares them).
SERIES_RANK: dict[str, int] = {
    "yahoo_csv_adj": 1,
    "yahoo_csv": 2,
    "nasdaq_api": 3,
    "cboe_delayed": 4,
    "alphavantage_csv": 5,
    "user_csv": 6,
}
CBOE_URL = "https://cdn.cboe.com/api/global/delayed_quotes/charts/historical/{symbol}.json"
NASDAQ_URL = "https://api.nasdaq.com/api/quote/{symbol}/historical"

COLUMNS = {
    "date": pl.Date,
    "symbol": pl.Utf8,
    "series_source": pl.Utf8,
    "open": pl.Float64,
    "high": pl.Float64,
    "low": pl.Float64,
    "close": pl.Float64,
    "adj_close": pl.Float64,
    "volume": pl.Int64,
}
PRICE_FIELDS = ("open", "high", "low", "close", "adj_close")
# open/close may sit outside [low, high] by rounding only (vendors round to cents or 4 dp).
OHLC_TOLERANCE_FRAC = 0.0005

_SYMBOL = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")
_MISSING = {"", "null", "none", "nan", "n/a", "na", "-", "."}
_HTMLISH = re.compile(r"<\s*(html|head|body|script|title|!doctype)", re.IGNORECASE)
_ALIASES = {"ticker": "symbol", "timestamp": "date", "datetime": "date", "adjusted_close": "adj_close"}


# ----------------------------------------------------------------------------------- helpers


def parse_date(text: str) -> date | None:
    """``YYYY-MM-DD`` (optionally followed by a time/offset: ``2000-06-05 00:00:00+00:00``) or
    ``MM/DD/YYYY``; None when not a date."""
    s = str(text).strip()
    if re.match(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?)?$", s):
        try:
            return date.fromisoformat(s[:10])
        except ValueError:
            return None
    try:
        return datetime.strptime(s, "%m/%d/%Y").date()
    except ValueError:
        return None


def _num(value: Any, column: str, where: str) -> float | None:
    """A number as vendors write it (``$1,234.50``, ``"12.3"``, 12.3); None for missing markers."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        f = float(value)
    else:
        s = str(value).strip().replace(",", "").replace("$", "")
        if s.lower() in _MISSING:
            return None
        try:
            f = float(s)
        except ValueError:
            raise ValidationError(f"text where a number belongs: {column}={value!r} ({where})") from None
    if math.isnan(f):
        return None
    if math.isinf(f):
        raise ValidationError(f"infinite {column}={value!r} ({where})")
    return f


def _check_symbol(raw: str, how: str) -> str:
    s = raw.strip().upper().lstrip("_^")
    if not _SYMBOL.match(s):
        raise PayloadError(f"{raw!r} ({how}) is not a ticker symbol: name the file like NVDA.csv or pass --symbol NVDA")
    return s


def _file_symbol(payload: Payload) -> str:
    """Symbol of a per-ticker file: the ``symbol`` hint, else the file name's first ``_`` token."""
    if payload.hints.get("symbol"):
        return _check_symbol(payload.hints["symbol"], "the symbol hint")
    name = payload.origin.rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    symbol = _check_symbol(stem.split("_", 1)[0], f"from the file name {name}")
    known = _universe_symbols()
    if known and symbol not in known:
        raise PayloadError(
            f"{symbol} (from the file name {name}) is not a symbol of config/universe.yaml: "
            f"pass --symbol {symbol} to import it anyway, or the right ticker"
        )
    return symbol


def _agree_with_hint(symbol: str, payload: Payload) -> str:
    hint = payload.hints.get("symbol")
    if hint and _check_symbol(hint, "the symbol hint") != symbol:
        raise ValidationError(f"the payload holds {symbol} but the symbol hint says {hint.strip().upper()}")
    return symbol


class _Bars:
    """Collects bars, checking each one; remembers what it dropped or repaired."""

    def __init__(self, series: str) -> None:
        self.series = series
        self.rows: list[dict[str, Any]] = []
        self.dropped: dict[str, int] = {}
        self.zero_fields = 0
        self.flat_zero_volume: list[str] = []

    def drop(self, why: str) -> None:
        self.dropped[why] = self.dropped.get(why, 0) + 1

    def add(self, d: date, symbol: str, values: dict[str, Any], where: str, *, zero_close_is_prelisting: bool = False):  # type: ignore[no-untyped-def]
        p = {f: _num(values.get(f), f, where) for f in PRICE_FIELDS}
        vol = _num(values.get("volume"), "volume", where)
        if all(p[f] is None for f in ("open", "high", "low", "close")):
            self.drop("rows without any price")
            return
        close = p["close"]
        if close is None:
            raise ValidationError(f"no close on {d} ({where})")
        if close <= 0:
            if close == 0 and zero_close_is_prelisting:
                self.drop("rows quoting close 0 (before the listing)")
                return
            raise ValidationError(f"close must be > 0, got {close} on {d} ({where})")
        for f in ("open", "high", "low", "adj_close"):
            v = p[f]
            if v is not None and v < 0:
                raise ValidationError(f"negative {f} {v} on {d} ({where})")
            if v == 0:
                p[f] = None  # 0 = not reported (Cboe, old Yahoo rows)
                self.zero_fields += 1
        if vol is not None:
            if vol < 0:
                raise ValidationError(f"negative volume {values.get('volume')!r} on {d} ({where})")
            vol = round(vol)
        hi, lo = p["high"], p["low"]
        if hi is not None and lo is not None:
            if hi < lo:
                raise ValidationError(f"high {hi} < low {lo} on {d} ({where})")
            tol = OHLC_TOLERANCE_FRAC * hi
            for f in ("open", "close"):
                v = p[f]
                if v is not None and (v > hi + tol or v < lo - tol):
                    raise ValidationError(f"{f} {v} outside [low {lo}, high {hi}] on {d} ({where})")
        if vol == 0 and p["open"] == hi == lo == close:
            self.flat_zero_volume.append(f"{symbol} {d}")
        self.rows.append({"date": d, "symbol": symbol, "series_source": self.series, **p, "volume": vol})

    def batch(self) -> ParsedBatch:
        warnings = []
        if self.zero_fields:
            warnings.append(f"{self.zero_fields} open/high/low/adj_close values of 0 stored as missing (not reported)")
        if self.flat_zero_volume:
            warnings.append(
                f"{len(self.flat_zero_volume)} bars with volume 0 and open = high = low = close (a vendor "
                f"placeholder for a day without reported trading?), kept: {', '.join(self.flat_zero_volume[:3])}"
            )
        return ParsedBatch(pl.DataFrame(self.rows, schema=COLUMNS), warnings=warnings, dropped=dict(self.dropped))


# --------------------------------------------------------------------------------- CSV formats


def _header_index(header: list[str]) -> dict[str, int]:
    idx: dict[str, int] = {}
    for i, h in enumerate(header):
        name = normalise_name(h)
        idx.setdefault(_ALIASES.get(name, name), i)
    return idx


def _require(idx: dict[str, int], needed: tuple[str, ...], header: list[str], what: str) -> None:
    missing = [c for c in needed if c not in idx]
    if missing:
        raise SchemaDriftError(f"{what} header {header} lacks {missing} (renamed or missing columns)")


def _check_fields(rows: list[list[str]], width: int, text: str) -> None:
    """Every line has the header's field count; a text cut mid-line loses its last line."""
    for n, r in enumerate(rows[1:], start=2):
        if len(r) < width:
            last = n == len(rows)
            raise PayloadError(
                f"line {n} has {len(r)} of {width} fields" + (" (file cut mid-line: truncated?)" if last else "")
            )
    if ends_mid_line(text) and len(rows) > 3:
        # A cut inside the last field keeps the field count: compare its digit count with the lines
        # before it (volume is the last field of every price layout; a lost digit divides it by 10).
        last = rows[-1][width - 1].replace(".", "").replace(",", "")
        before = [r[width - 1].replace(".", "").replace(",", "") for r in rows[max(1, len(rows) - 21) : -1]]
        shortest = min((len(b) for b in before if b), default=0)
        if not last or len(last) < shortest:
            raise PayloadError(
                f"the file ends mid-line and its last line {','.join(rows[-1])!r} looks cut (truncated download?)"
            )


def _extra_columns(idx: dict[str, int], known: set[str]) -> list[str]:
    return [c for c in idx if c not in known]


def _parse_canonical(rows: list[list[str]], text: str, payload: Payload) -> ParsedBatch:
    header = rows[0]
    idx = _header_index(header)
    _require(idx, ("date", "symbol", "open", "high", "low", "close", "volume"), header, "price CSV")
    _check_fields(rows, len(header), text)
    hint = payload.hints.get("symbol")
    hint_symbol = _check_symbol(hint, "the symbol hint") if hint else None
    bars = _Bars("user_csv")
    for n, r in enumerate(rows[1:], start=2):
        where = f"line {n}"
        d = parse_date(r[idx["date"]])
        if d is None:
            raise ValidationError(f"unreadable date {r[idx['date']]!r} ({where})")
        symbol = r[idx["symbol"]].strip().upper()
        if not _SYMBOL.match(symbol):
            raise ValidationError(f"not a ticker symbol: {r[idx['symbol']]!r} ({where})")
        if hint_symbol and symbol != hint_symbol:
            raise ValidationError(f"{where} holds {symbol} but the symbol hint says {hint_symbol}")
        bars.add(d, symbol, {c: r[i] for c, i in idx.items()}, where)
    batch = bars.batch()
    extra = _extra_columns(idx, {"date", "symbol", "volume", *PRICE_FIELDS})
    if extra:
        batch.warnings.append(f"unknown extra columns {extra} (loaded, ignored)")
    return batch


def _mislabelled_yfinance(rows: list[list[str]], idx: dict[str, int]) -> dict[str, int] | None:
    """yfinance exports written with the columns in alphabetical order (Adj Close, Close, High, Low,
    Open) under the labels Open, High, Low, Close, Adj Close (PROVENANCE §5). Returns the true
    column positions when the values prove it: the labels give high < low on most rows, and the
    remap is consistent on every row."""
    if "adj_close" not in idx:
        return None
    body = rows[1:]

    def val(r: list[str], col: str) -> float | None:
        try:
            return float(r[idx[col]])
        except (ValueError, IndexError):
            return None

    inverted = sum(
        1 for r in body if (h := val(r, "high")) is not None and (lo := val(r, "low")) is not None and h < lo
    )
    if inverted * 2 <= len(body):
        return None
    remap = {**idx, "adj_close": idx["open"], "close": idx["high"], "high": idx["low"], "low": idx["close"],
             "open": idx["adj_close"]}  # fmt: skip
    for r in body:
        try:
            o, h, lo, c = (float(r[remap[k]]) for k in ("open", "high", "low", "close"))
        except (ValueError, IndexError):
            return None
        tol = OHLC_TOLERANCE_FRAC * h
        if h < lo or not (lo - tol <= o <= h + tol and lo - tol <= c <= h + tol):
            return None
    return remap


def _parse_per_ticker(rows: list[list[str]], text: str, payload: Payload, layout: str) -> ParsedBatch:
    header = rows[0]
    idx = _header_index(header)
    what = "Alpha Vantage daily CSV" if layout == "alphavantage" else "Yahoo-style CSV"
    _require(idx, ("date", "open", "high", "low", "close", "volume"), header, what)
    _check_fields(rows, len(header), text)
    symbol = _file_symbol(payload)
    warnings: list[str] = []
    if layout == "alphavantage":
        series = "alphavantage_csv"
    else:
        series = "yahoo_csv_adj" if "adj_close" in idx else "yahoo_csv"
        remap = _mislabelled_yfinance(rows, idx)
        if remap is not None:
            idx = remap
            warnings.append(
                "the header's labels are in the wrong order (yfinance alphabetical export: the values "
                "under Open, High, Low, Close, Adj Close are Adj Close, Close, High, Low, Open); remapped"
            )
    bars = _Bars(series)
    for n, r in enumerate(rows[1:], start=2):
        where = f"line {n}"
        d = parse_date(r[idx["date"]])
        if d is None:
            raise ValidationError(f"unreadable date {r[idx['date']]!r} ({where})")
        bars.add(d, symbol, {c: r[i] for c, i in idx.items()}, where)
    batch = bars.batch()
    batch.warnings[:0] = warnings
    known = {"date", "volume", *PRICE_FIELDS, "dividend_amount", "split_coefficient"}
    extra = _extra_columns(idx, known)
    if extra:
        batch.warnings.append(f"unknown extra columns {extra} (loaded, ignored)")
    return batch


def _parse_csv(text: str, payload: Payload) -> ParsedBatch:
    rows = read_csv_rows(text)
    if not rows:
        raise EmptyDataError("no lines")
    first = [normalise_name(h) for h in rows[0]]
    names = {_ALIASES.get(h, h) for h in first}
    if "symbol" in names:
        return _parse_canonical(rows, text, payload)
    if first and first[0] == "timestamp":
        return _parse_per_ticker(rows, text, payload, "alphavantage")
    if first and first[0] in ("date", "datetime"):
        return _parse_per_ticker(rows, text, payload, "yahoo")
    raise SchemaDriftError(
        f"not a price CSV: header {rows[0][:8]} (expected Date,Open,High,Low,Close[,Adj Close],Volume, "
        "timestamp,open,high,low,close,volume or date,symbol,open,high,low,close,adj_close,volume)"
    )


# -------------------------------------------------------------------------------- JSON formats


def _parse_cboe_json(doc: dict[str, Any], payload: Payload) -> ParsedBatch:
    data = doc.get("data")
    if not isinstance(data, list):
        raise SchemaDriftError(f"Cboe historical JSON without a 'data' list (keys {list(doc)[:6]})")
    if doc.get("symbol"):
        symbol = _agree_with_hint(_check_symbol(str(doc["symbol"]), "the JSON's symbol"), payload)
    else:
        symbol = _file_symbol(payload)
    bars = _Bars("cboe_delayed")
    for n, row in enumerate(data):
        where = f"data[{n}]"
        if not isinstance(row, dict) or "date" not in row or "close" not in row:
            raise SchemaDriftError(f"{where} lacks date/close: {str(row)[:80]}")
        d = parse_date(str(row["date"]))
        if d is None:
            raise ValidationError(f"unreadable date {row['date']!r} ({where})")
        values = {**row, "volume": row.get("stock_volume", row.get("volume"))}
        bars.add(d, symbol, values, where, zero_close_is_prelisting=True)
    return bars.batch()


def _parse_nasdaq_json(doc: dict[str, Any], payload: Payload) -> ParsedBatch:
    status = doc.get("status") or {}
    data = doc.get("data")
    if not isinstance(data, dict):
        code = status.get("rCode") if isinstance(status, dict) else None
        msg = status.get("bCodeMessage") if isinstance(status, dict) else None
        raise PayloadError(f"Nasdaq API answered without data (rCode {code}: {msg})")
    table = data.get("tradesTable") or {}
    rows = table.get("rows") if isinstance(table, dict) else None
    if rows is None:
        raise SchemaDriftError(f"Nasdaq JSON without data.tradesTable.rows (data keys {list(data)[:6]})")
    if data.get("symbol"):
        symbol = _agree_with_hint(_check_symbol(str(data["symbol"]), "the JSON's symbol"), payload)
    else:
        symbol = _file_symbol(payload)
    bars = _Bars("nasdaq_api")
    for n, row in enumerate(rows):
        where = f"tradesTable.rows[{n}]"
        if not isinstance(row, dict) or "date" not in row or "close" not in row:
            raise SchemaDriftError(f"{where} lacks date/close: {str(row)[:80]}")
        d = parse_date(str(row["date"]))
        if d is None:
            raise ValidationError(f"unreadable date {row['date']!r} ({where})")
        bars.add(d, symbol, row, where)
    return bars.batch()


def _parse_json(text: str, payload: Payload) -> ParsedBatch:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PayloadError(f"not valid JSON (truncated?): {exc}") from None
    if not isinstance(doc, dict):
        raise SchemaDriftError(f"a JSON {type(doc).__name__}, not a price document")
    if isinstance(doc.get("data"), list):
        return _parse_cboe_json(doc, payload)
    if isinstance(doc.get("data"), dict) or "status" in doc:
        return _parse_nasdaq_json(doc, payload)
    raise SchemaDriftError(f"not a known price JSON (keys {list(doc)[:6]}): expected Cboe or Nasdaq historical")


# ----------------------------------------------------------------------------------- entry point


def close_at(d: date, cal: dict[str, Any] | None = None) -> datetime:
    """available_at of trade date ``d``'s bar: the configured close time (16:00) in New York, as UTC."""
    cal = cal if cal is not None else _calendar()
    return ny_time_to_utc(d, str(cal.get("release_time", "16:00")))


def _calendar() -> dict[str, Any]:
    cal = calendar_config().get("prices")
    if not isinstance(cal, dict):
        raise ConfigError("config/calendar.yaml has no 'prices' section (release_time of daily bars)")
    return cal


def _universe_symbols() -> set[str]:
    try:
        u = universe()
    except ConfigError:
        return set()
    return {str(s).upper() for s in [*(u.get("tickers") or []), *(u.get("etfs") or []), u.get("market") or ""] if s}


def parse(payload: Payload) -> ParsedBatch:
    """Read any supported price payload into ``raw.prices__daily`` rows (see the module docstring)."""
    reject_error_pages(payload.content)
    text = decode_text(payload.content)
    stripped = text.lstrip()
    if _HTMLISH.search(stripped[:2048]) and not stripped.startswith(("{", "[")):
        raise PayloadError("an HTML page, not data (a bot challenge or an error page served with 200?)")
    batch = _parse_json(stripped, payload) if stripped.startswith(("{", "[")) else _parse_csv(text, payload)
    if batch.frame.is_empty():
        raise EmptyDataError("no price rows")
    cal = _calendar()
    closes = {d: close_at(d, cal) for d in batch.frame["date"].unique().to_list()}
    frame = batch.frame.with_columns(
        pl.col("date").replace_strict(closes, return_dtype=pl.Datetime("us", "UTC")).alias("rule_available_at")
    )
    partial = frame.filter(pl.col("rule_available_at") > payload.fetched_at)
    if partial.height:
        batch.dropped["bars of sessions not closed when fetched (partial)"] = partial.height
        frame = frame.filter(pl.col("rule_available_at") <= payload.fetched_at)
        if frame.is_empty():
            raise EmptyDataError(f"only bars of sessions still open when fetched ({partial['date'].min()})")
    closed = [d for d in frame["date"].unique().sort().to_list() if not is_trading_day(d)]
    if closed:
        batch.warnings.append(f"{len(closed)} dates the NYSE was closed (kept): {', '.join(map(str, closed[:3]))}")
    known = _universe_symbols()
    outside = sorted(set(frame["symbol"].unique().to_list()) - known) if known else []
    if outside:
        batch.warnings.append(f"symbols not in config/universe.yaml (loaded): {', '.join(outside[:5])}")
    batch.frame = frame
    return batch


SPEC = DatasetSpec(
    name="prices",
    source="prices",
    table="raw.prices__daily",
    view="analytics.prices",
    key=("date", "symbol", "series_source"),
    values=("open", "high", "low", "close", "adj_close", "volume"),
    attributes=(),
    date_column="date",
    cadence=timedelta(days=1),
    stale_after=timedelta(days=5),
    observed_grace=timedelta(0),
    parse=parse,
    description="Daily OHLCV of the universe (Yahoo/Alpha Vantage/user CSVs; Cboe and Nasdaq JSON live)",
    source_url=CBOE_URL,
    units={
        "open": "USD per share",
        "high": "USD per share",
        "low": "USD per share",
        "close": "USD per share",
        "adj_close": "USD per share (split + dividend adjusted)",
        "volume": "shares",
    },
    live="flows.sources.prices.providers:live",
)
