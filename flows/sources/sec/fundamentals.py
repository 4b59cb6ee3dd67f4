"""The fundamentals mart: point-in-time quarterly and annual revenue, net income and diluted EPS.

Built from ``raw.sec__facts`` (+ ``raw.sec__tickers`` for symbols, + ``raw.vendor__fundamentals``)
into ``marts.fundamentals`` by ``rebuild(con)``, which every load of those datasets calls
(``DatasetSpec.after_load``); ``analytics.fundamentals`` selects from it, honouring ``as_of``.
The computation (``compute``) is pure polars/Python on frames, so it is tested without a warehouse.
It feeds the Price-Fundamental Divergence score (METHODS §4, Score 2: SUE from quarterly EPS, YoY
revenue growth; TTM diluted EPS labelled as such when only filings are available, §4.1).

Rules (SOURCES §6.3-6.4, METHODS §4.5) and where we deviate:

1. **Inputs.** us-gaap duration facts: revenue (``REVENUE_TAGS``, SOURCES §6.3 order),
   ``NetIncomeLoss``, ``WeightedAverageNumberOfDilutedSharesOutstanding``,
   ``EarningsPerShareDiluted``; the latest version of each raw row. Facts whose period ends after
   their filing date are ignored.
2. **Periods by length, never by ``fp``**: ``end - start`` of 80-100 days = quarter, 170-190 =
   half-year YTD, 260-285 = nine-month YTD, 350-371 = fiscal year (52/53-week years). Apple's FY2020
   10-K holds a 363-day and a 90-day revenue fact, both ``fp=FY``: one year, one quarter.
3. **Tagging error (PROVENANCE §11):** a quarter-length revenue fact within 0.5% of a year-length
   revenue fact (any revenue tag, any filing) ending the same day holds a full-year value (Oracle's
   10-K "three-month" rows FY2018-2022): dropped, counted in the rebuild note.
4. **First filed wins.** Per (company, tag, start, end) the value of the earliest filing (``filed``,
   then ``available_at``); later comparatives, restatements and amendments never overwrite it.
5. **Splits** are detected from diluted/basic weighted share counts: the same period reported again
   in a later filing at ~N times (N in ``SPLIT_FACTORS``, 2% tolerance, at least two periods
   agreeing) is a split between the last filing seen on the old basis and the first seen on the new
   one (NVDA 4:1 2021, 10:1 2024; AAPL 7:1 2014, 4:1 2020; AVGO and LRCX 10:1 2024); a filing in the
   window with no later report takes the basis whose level its counts match. SOURCES suggests dei
   data too: the trimmed files carry no dei, and cover-page counts are instants that are never
   re-reported, so they cannot show a basis change. Counts tagged in thousands (NVDA's 2010-2011
   filings: 542,307 for 542 million) are found the same way (a later report ~1000x, or a count
   below 1/300 of the company's level) and multiplied by 1000 (flag ``shares_rescaled``).
   Shares as first filed are multiplied
   and EPS divided by the product of the splits after their filing, i.e. everything is on the basis
   of the latest filing ("today's"; a split after the latest filing is unknown until a filing
   restates). This uses later filings, but only as a unit conversion, consistent with split-adjusted
   prices; ratios (growth, P/E on adjusted prices) are unchanged.
6. **Quarters.** Reported quarter-length facts, plus quarters derived from consecutive year-to-date
   periods of the same fiscal-year start, each as first reported (rule 7): Q = YTD_k - YTD_(k-1)
   (Q4 = FY - nine months, matched on ``start``; also Q2 = H1 - Q1, Q3 = 9M - H1 when a 10-Q lacks
   the 3-month fact). The two periods may carry different tags (NVDA FY2021: the year only under
   RevenueFromContract..., the nine months only under Revenues; ``revenue_tag`` then names both).
   Weighted shares are not additive: Q shares = (YTD_k x days_k - YTD_(k-1) x days_(k-1)) / days_Q
   (day-weighted, split-adjusted first); against the 3-month counts companies do report, the median
   error is 0.1% (up to ~25% around loss quarters, where anti-dilution changes the count). EPS is
   never differenced.
7. **Choice per (company, period):** among the candidates (tags x reported/derived), the earliest
   filed; ties: reported before derived ("prefer a reported 90-day fact"), then the tag order of
   SOURCES §6.3. Deviation: SOURCES ranks tags by preference alone; we rank by first filing first,
   because pure preference would take ASC 606 revenue first filed in a *later* 10-K's comparatives
   (AMD, MSFT 2016-2017: different values), i.e. not what was known then, and would hide the period
   until that later filing. A candidate below half of another candidate for the same period is a
   partial line (Oracle's ``SalesRevenueNet`` = hardware only) and is ignored. ``revenue_tag``
   records the winner.
8. **EPS:** the reported ``EarningsPerShareDiluted`` of the period (split-adjusted) when present;
   else net income / diluted weighted shares of the same period (``eps_method =
   derived_ni_over_shares``, flag ``eps_derived``: the trimmed companyfacts carry no EPS); fiscal Q4
   EPS = Q4 net income / Q4 shares, never FY EPS minus nine-month EPS. No EPS when either input is
   missing (flag ``eps_missing``), e.g. AVGO quarters after 2019 (``NetIncomeLoss`` not kept).
9. **TTM** (quarter rows only): sum of the last four quarters when they are consecutive (each period
   end 80-100 days after the previous); ``ttm_eps_diluted_usd`` is the sum of four quarterly diluted
   EPS on today's basis (a TTM figure, not a fiscal-year EPS). Null when any quarter is missing.
10. **Versions and available_at.** Each value keeps the ``available_at`` of its inputs (raw: filed
    date 22:00 ET, ``flows.sources.sec.facts``). A row is versioned at every moment one of its
    inputs (or of its TTM quarters) became public: version k holds only what was public then, its
    ``available_at`` is that moment (so every value of the version was public) and ``filed_date``
    the latest filing among its inputs. Without versions, one late input (Oracle's net income of
    2011 only in the next year's comparative) would hold back a revenue public a year earlier.
    The view shows the latest version with ``available_at <= as_of``.
11. **Symbols:** CIK -> ticker from ``raw.sec__tickers`` (a ``config/universe.yaml`` ticker first,
    else the lowest ``listing_rank``), else the facts' own ``ticker``, else ``CIK##########``.
12. **Vendor rows** (``raw.vendor__fundamentals``): the first-filed version of each (symbol, period),
    period end snapped to the SEC quarter end of that symbol within 10 days, source ``vendor``,
    TTM over vendor quarters only; the view prefers an SEC row for the same period.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

import duckdb
import polars as pl

from flows.config import universe
from flows.errors import FlowscopeError

REVENUE_TAGS = (
    "RevenueFromContractWithCustomerExcludingAssessedTax",
    "Revenues",
    "SalesRevenueNet",
    "RevenueFromContractWithCustomerIncludingAssessedTax",
)
NET_INCOME_TAG = "NetIncomeLoss"
SHARES_TAG = "WeightedAverageNumberOfDilutedSharesOutstanding"
BASIC_SHARES_TAG = "WeightedAverageNumberOfSharesOutstandingBasic"
EPS_TAG = "EarningsPerShareDiluted"
FAMILIES: dict[str, tuple[tuple[str, ...], str]] = {
    "revenue": (REVENUE_TAGS, "USD"),
    "net_income": ((NET_INCOME_TAG,), "USD"),
    "shares": ((SHARES_TAG,), "shares"),
    "eps": ((EPS_TAG,), "USD/shares"),
}
ALL_TAGS = (*REVENUE_TAGS, NET_INCOME_TAG, SHARES_TAG, BASIC_SHARES_TAG, EPS_TAG)

KINDS = (("quarter", 80, 100), ("half", 170, 190), ("nine", 260, 285), ("year", 350, 371))
TRAP_TOLERANCE = 0.005
PARTIAL_BELOW = 0.5
SPLIT_FACTORS = (1.5, 2, 3, 4, 5, 6, 7, 8, 10, 15, 20, 25, 30, 50)
SPLIT_TOLERANCE = 0.02
SPLIT_MIN_SUPPORT = 2
VENDOR_SNAP_DAYS = 10
SCALE_GAP = 300

FACT_SCHEMA: dict[str, Any] = {
    "cik": pl.Utf8,
    "tag": pl.Utf8,
    "unit": pl.Utf8,
    "period_start": pl.Date,
    "period_end": pl.Date,
    "accn": pl.Utf8,
    "value": pl.Float64,
    "form": pl.Utf8,
    "filed_date": pl.Date,
    "available_at": pl.Datetime("us", "UTC"),
    "ticker": pl.Utf8,
}
TICKER_SCHEMA: dict[str, Any] = {"ticker": pl.Utf8, "cik": pl.Utf8, "listing_rank": pl.Int64}
VENDOR_SCHEMA: dict[str, Any] = {
    "symbol": pl.Utf8,
    "fiscal_period_end": pl.Date,
    "filed_date": pl.Date,
    "revenue_usd": pl.Float64,
    "eps_diluted_usd": pl.Float64,
    "net_income_usd": pl.Float64,
    "available_at": pl.Datetime("us", "UTC"),
    "version": pl.Int64,
}
MART_SCHEMA: dict[str, Any] = {
    "symbol": pl.Utf8,
    "cik": pl.Utf8,
    "source": pl.Utf8,
    "fiscal_period_start": pl.Date,
    "fiscal_period_end": pl.Date,
    "period_kind": pl.Utf8,
    "filed_date": pl.Date,
    "available_at": pl.Datetime("us", "UTC"),
    "version": pl.Int64,
    "revenue_usd": pl.Float64,
    "revenue_tag": pl.Utf8,
    "revenue_method": pl.Utf8,
    "net_income_usd": pl.Float64,
    "net_income_method": pl.Utf8,
    "diluted_shares": pl.Float64,
    "shares_method": pl.Utf8,
    "eps_diluted_usd": pl.Float64,
    "eps_method": pl.Utf8,
    "split_factor": pl.Float64,
    "ttm_revenue_usd": pl.Float64,
    "ttm_net_income_usd": pl.Float64,
    "ttm_eps_diluted_usd": pl.Float64,
    "flags": pl.Utf8,
}


# ---------------------------------------------------------------------------------------------
# Splits


@dataclass
class Split:
    """A stock split seen in the filings: ``factor`` new shares per old share (4.0 for 4:1, 0.1 for
    a 1:10 reverse split), effective after the filing of ``lo`` (last seen on the old basis) and by
    the filing of ``hi`` (first seen on the new basis)."""

    factor: float
    lo: date
    hi: date
    support: int = 1


def _as_split_factor(ratio: float) -> float | None:
    for f in SPLIT_FACTORS:
        if abs(ratio / f - 1) <= SPLIT_TOLERANCE:
            return float(f)
        if abs(ratio * f - 1) <= SPLIT_TOLERANCE:
            return 1 / f
    return None


def detect_splits(observations: Iterable[tuple[Any, date, float]]) -> list[Split]:
    """Splits from share counts ``(period, filed, value)`` reported more than once (see rule 5).

    Consecutive reports of one period at a split ratio support a split between their filing dates;
    reports at the same basis (ratio ~1) narrow the window; reports at the same basis across a
    window refute it; a window holding two splits whose product is its factor is a double count."""
    by_period: dict[Any, dict[date, float]] = defaultdict(dict)
    for period, filed, value in observations:
        if value and value > 0:
            by_period[period].setdefault(filed, value)
    split_pairs: list[tuple[float, date, date]] = []
    same_pairs: list[tuple[date, date]] = []
    for seen in by_period.values():
        ordered = sorted(seen.items())
        for (fa, va), (fb, vb) in pairwise(ordered):
            ratio = vb / va
            if abs(ratio - 1) <= SPLIT_TOLERANCE:
                same_pairs.append((fa, fb))
            elif (f := _as_split_factor(ratio)) is not None:
                split_pairs.append((f, fa, fb))
    events: list[Split] = []
    for f, a, b in sorted(split_pairs, key=lambda p: (p[1], p[2])):
        for e in events:
            if e.factor == f and max(e.lo, a) < min(e.hi, b):
                e.lo, e.hi, e.support = max(e.lo, a), min(e.hi, b), e.support + 1
                break
        else:
            events.append(Split(f, a, b))
    events = [e for e in events if e.support >= SPLIT_MIN_SUPPORT]
    changed = True
    while changed:
        changed = False
        for e in events:
            for a, b in same_pairs:
                if a <= e.lo < b < e.hi:
                    e.lo, changed = b, True
                elif e.lo < a < e.hi <= b:
                    e.hi, changed = a, True
    _resolve_by_level(events, [(f, v) for seen in by_period.values() for f, v in seen.items()])
    kept = []
    for e in events:
        refuted = sum(1 for a, b in same_pairs if a <= e.lo and b >= e.hi)
        inner = [o for o in events if o is not e and o.lo >= e.lo and o.hi <= e.hi]
        products = [x.factor * y.factor for i, x in enumerate(inner) for y in inner[i + 1 :]]
        double = any(abs(p / e.factor - 1) <= SPLIT_TOLERANCE for p in products)
        if refuted < e.support and not double:
            kept.append(e)
    return sorted(kept, key=lambda e: e.hi)


def _resolve_by_level(events: list[Split], points: list[tuple[date, float]]) -> None:
    """Counts filed inside a split window with no later report of the same period (the newest
    filings) take the basis whose level they match: the median of the year before ``lo`` (old) or
    the year after ``hi`` (new), also read x1000 (tagged in thousands); counts far from both decide
    nothing."""
    year = timedelta(days=365)
    for e in events:
        old = [v for f, v in points if e.lo - year <= f <= e.lo]
        new = [v for f, v in points if e.hi <= f <= e.hi + year]
        if not old or not new:
            continue
        old_level, new_level = sorted(old)[len(old) // 2], sorted(new)[len(new) // 2]
        for f, v in sorted(points):
            if not e.lo < f < e.hi:
                continue
            # a count tagged in thousands is compared at its intended scale
            d_old = min(abs(math.log(x / old_level)) for x in (v, v * 1000))
            d_new = min(abs(math.log(x / new_level)) for x in (v, v * 1000))
            if min(d_old, d_new) > math.log(SCALE_GAP**0.5):
                continue
            if d_new < d_old:
                e.hi = min(e.hi, f)
            else:
                e.lo = max(e.lo, f)


def thousands_filings(observations: Iterable[tuple[Any, str, date, float]]) -> set[str]:
    """Filings (accession numbers) whose share counts are tagged in thousands: a period reported
    again ~1000 times larger (times a split factor, if one fell in between) in another filing."""
    by_period: dict[Any, list[tuple[date, str, float]]] = defaultdict(list)
    for period, accn, filed, value in observations:
        if value and value > 0:
            by_period[period].append((filed, accn, value))
    out: set[str] = set()
    for seen in by_period.values():
        for (_, accn_a, va), (_, accn_b, vb) in pairwise(sorted(seen)):
            for small, ratio in ((accn_a, vb / va), (accn_b, va / vb)):
                scaled = ratio / 1000
                if abs(scaled - 1) <= SPLIT_TOLERANCE or _as_split_factor(scaled) is not None:
                    out.add(small)
    return out


def split_factor_at(filed: date, splits: Sequence[Split]) -> float:
    """Shares on today's basis per share as reported in a filing of ``filed``."""
    out = 1.0
    for s in splits:
        if filed < s.hi:
            out *= s.factor
    return out


# ---------------------------------------------------------------------------------------------
# Steps


def _kind_expr(days: pl.Expr) -> pl.Expr:
    expr = pl.lit(None, dtype=pl.Utf8)
    for name, lo, hi in reversed(KINDS):
        expr = pl.when(days.is_between(lo, hi)).then(pl.lit(name)).otherwise(expr)
    return expr


def _classify(facts: pl.DataFrame) -> pl.DataFrame:
    """Family, period kind by length, tag rank; drop what the mart does not use."""
    family = pl.lit(None, dtype=pl.Utf8)
    for name, (tags, unit) in FAMILIES.items():
        family = pl.when(pl.col("tag").is_in(tags) & (pl.col("unit") == unit)).then(pl.lit(name)).otherwise(family)
    rank = pl.col("tag").replace_strict({t: i for i, t in enumerate(REVENUE_TAGS)}, default=0, return_dtype=pl.Int64)
    days = (pl.col("period_end") - pl.col("period_start")).dt.total_days()
    return (
        facts.with_columns(family.alias("family"), _kind_expr(days).alias("kind"), rank.alias("tag_rank"))
        .filter(pl.col("family").is_not_null() & pl.col("kind").is_not_null())
        .filter(pl.col("period_end") <= pl.col("filed_date"))
    )


def _drop_full_year_quarters(facts: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Rule 3: quarter-length revenue facts holding a full-year value."""
    years = (
        facts.filter((pl.col("family") == "revenue") & (pl.col("kind") == "year"))
        .select("cik", "period_end", pl.col("value").alias("_year_value"))
        .unique()
    )
    facts = facts.with_row_index("_row")
    trap = (
        facts.filter((pl.col("family") == "revenue") & (pl.col("kind") == "quarter"))
        .join(years, on=["cik", "period_end"])
        .filter((pl.col("value") - pl.col("_year_value")).abs() <= TRAP_TOLERANCE * pl.col("_year_value").abs())
        .select("_row")
        .unique()
    )
    return facts.join(trap, on="_row", how="anti").drop("_row"), trap.height


def _first_filed(facts: pl.DataFrame) -> pl.DataFrame:
    """Rule 4: the earliest filing's value per (company, tag, unit, start, end)."""
    return facts.sort("filed_date", "available_at", "accn").unique(
        subset=["cik", "tag", "unit", "period_start", "period_end"], keep="first", maintain_order=True
    )


def _rescale_shares(first: pl.DataFrame, thousands: set[tuple[str, str]]) -> pl.DataFrame:
    """Share counts tagged in thousands (NVDA's 2010-2011 filings: 542,307 for 542 million) are
    multiplied by 1000 and flagged (``shares_rescaled``): the filings found by ``thousands_filings``,
    then any split-adjusted count below 1/``SCALE_GAP`` of the company's median (a real count never
    drops that far once splits are adjusted)."""
    shares = pl.col("family") == "shares"
    listed = pl.DataFrame(list(thousands), schema={"cik": pl.Utf8, "accn": pl.Utf8}, orient="row")
    first = first.join(listed.with_columns(pl.lit(True).alias("_k")), on=["cik", "accn"], how="left")
    in_k = shares & pl.col("_k").fill_null(False)
    first = first.with_columns(
        pl.when(in_k).then(pl.col("value") * 1000).otherwise(pl.col("value")).alias("value"), in_k.alias("rescaled")
    ).drop("_k")
    median = pl.col("value").filter(shares).median().over("cik")
    low = shares & (pl.col("value") * SCALE_GAP < median)
    return first.with_columns(
        pl.when(low).then(pl.col("value") * 1000).otherwise(pl.col("value")).alias("value"),
        (pl.col("rescaled") | low).alias("rescaled"),
    )


def _split_table(facts: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, list[Split]], set[tuple[str, str]]]:
    """Rule 5: filings with share counts in thousands, split events per company, and the split
    factor per (company, filing date)."""
    shares = facts.filter(pl.col("tag").is_in([SHARES_TAG, BASIC_SHARES_TAG]) & (pl.col("unit") == "shares"))
    obs: dict[str, list[tuple[Any, str, date, float]]] = defaultdict(list)
    for cik, tag, start, end, accn, filed, value in shares.select(
        "cik", "tag", "period_start", "period_end", "accn", "filed_date", "value"
    ).iter_rows():
        obs[cik].append(((tag, start, end), accn, filed, value))
    thousands = {(cik, accn) for cik, o in obs.items() for accn in thousands_filings(o)}
    splits = {
        cik: detect_splits((p, f, v * 1000 if (cik, a) in thousands else v) for p, a, f, v in o)
        for cik, o in obs.items()
    }
    pairs = facts.select("cik", "filed_date").unique()
    factors = [split_factor_at(f, splits.get(c, [])) for c, f in pairs.iter_rows()]
    return pairs.with_columns(pl.Series("split_factor", factors, dtype=pl.Float64)), splits, thousands


CAND_COLS = ("cik", "family", "tag", "tag_rank", "kind", "period_start", "period_end", "value", "filed_date",
             "available_at", "method", "rescaled")  # fmt: skip


def _choose(cands: pl.DataFrame, group: Sequence[str]) -> pl.DataFrame:
    """Rule 7: one candidate per ``group``: partial revenue lines out, then the earliest filed,
    reported before derived, then the tag order of SOURCES §6.3."""
    group = list(group)
    top = pl.col("value").max().over(group)
    partial = (pl.col("family") == "revenue") & (top > 0) & (pl.col("value") < PARTIAL_BELOW * top)
    method_rank = pl.when(pl.col("method") == "reported").then(0).otherwise(1)
    return (
        cands.filter(~partial)
        .sort("filed_date", method_rank, "tag_rank", "available_at")
        .unique(subset=group, keep="first", maintain_order=True)
    )


def _periods(first: pl.DataFrame) -> pl.DataFrame:
    """Rule 7 per reported period: the value of (company, family, start, end) as first reported,
    whichever tag carried it."""
    reported = first.with_columns(pl.lit("reported").alias("method")).select(CAND_COLS)
    return _choose(reported, ["cik", "family", "kind", "period_start", "period_end"])


def _derived_quarters(periods: pl.DataFrame) -> pl.DataFrame:
    """Rule 6: quarters from consecutive year-to-date periods of one fiscal year (same start):
    Q = YTD_k - YTD_(k-1) for flows, day-weighted for weighted-average shares; never EPS."""
    chain = (
        periods.filter(pl.col("family") != "eps")
        .sort("cik", "family", "period_start", "period_end")
        .with_columns(
            pl.col(c).shift(1).over("cik", "family", "period_start").alias(f"prev_{c}")
            for c in ("period_end", "value", "filed_date", "available_at", "tag", "rescaled")
        )
        .filter(pl.col("prev_period_end").is_not_null())
        .with_columns((pl.col("period_end") - pl.col("prev_period_end")).dt.total_days().alias("gap"))
        .filter((pl.col("gap") - 1).is_between(80, 100))
    )
    days_cur = (pl.col("period_end") - pl.col("period_start")).dt.total_days() + 1
    days_prev = (pl.col("prev_period_end") - pl.col("period_start")).dt.total_days() + 1
    weighted = (pl.col("value") * days_cur - pl.col("prev_value") * days_prev) / pl.col("gap")
    shares = pl.col("family") == "shares"
    return chain.select(
        "cik",
        "family",
        pl.when(pl.col("tag") == pl.col("prev_tag"))
        .then(pl.col("tag"))
        .otherwise(pl.concat_str("tag", pl.lit(" - "), "prev_tag"))
        .alias("tag"),
        "tag_rank",
        pl.lit("quarter").alias("kind"),
        (pl.col("prev_period_end") + timedelta(days=1)).alias("period_start"),
        "period_end",
        pl.when(shares).then(weighted).otherwise(pl.col("value") - pl.col("prev_value")).alias("value"),
        pl.max_horizontal("filed_date", "prev_filed_date").alias("filed_date"),
        pl.max_horizontal("available_at", "prev_available_at").alias("available_at"),
        pl.when(shares).then(pl.lit("ytd_day_weighted")).otherwise(pl.lit("ytd_difference")).alias("method"),
        (pl.col("rescaled") | pl.col("prev_rescaled")).alias("rescaled"),
    )


def _select(first: pl.DataFrame) -> pl.DataFrame:
    """Rules 6-7: one value per (company, family, quarter|year, period end)."""
    periods = _periods(first)
    cands = pl.concat(
        [periods.filter(pl.col("kind").is_in(["quarter", "year"])), _derived_quarters(periods)],
        how="vertical_relaxed",
    )
    return _choose(cands, ["cik", "family", "kind", "period_end"])


def _wide(chosen: pl.DataFrame) -> pl.DataFrame:
    """One row per (company, kind, period end) with a column group per family, each with its own
    filing date and availability."""
    out: pl.DataFrame | None = None
    for fam in FAMILIES:
        part = chosen.filter(pl.col("family") == fam).select(
            "cik",
            pl.col("kind").alias("period_kind"),
            pl.col("period_end").alias("fiscal_period_end"),
            pl.col("period_start").alias(f"{fam}_start"),
            pl.col("value").alias(fam),
            pl.col("tag").alias(f"{fam}_tag"),
            pl.col("method").alias(f"{fam}_method"),
            pl.col("filed_date").alias(f"{fam}_filed"),
            pl.col("available_at").alias(f"{fam}_avail"),
            pl.col("rescaled").alias(f"{fam}_rescaled"),
        )
        keys = ["cik", "period_kind", "fiscal_period_end"]
        out = part if out is None else out.join(part, on=keys, how="full", coalesce=True)
    assert out is not None
    fy_ends = out.filter(pl.col("period_kind") == "year").select(
        "cik", "fiscal_period_end", pl.lit(True).alias("_fy_end")
    )
    return out.join(fy_ends, on=["cik", "fiscal_period_end"], how="left").with_columns(
        pl.coalesce(*[f"{f}_start" for f in FAMILIES]).alias("fiscal_period_start"),
        pl.col("_fy_end").fill_null(False),
    )


def _versions(rows: pl.DataFrame, factors: pl.DataFrame) -> pl.DataFrame:
    """Rules 8-10: the row as known at every moment one of its inputs became public.

    ``rows``: one row per (symbol, source, kind, period end) with, per family, the value, tag,
    method, filing date and ``available_at`` of its input. For every availability time ``t`` of the
    symbol, each row keeps only the inputs public at ``t``; EPS, flags, the row's filing date and
    the TTM (over the quarters as known at ``t``) follow. Consecutive identical states collapse, so
    each version's ``available_at`` is the moment its content first became public."""
    key = ["symbol", "source", "period_kind", "fiscal_period_end"]
    times = (
        pl.concat([rows.select("symbol", "source", pl.col(f"{f}_avail").alias("t")) for f in FAMILIES])
        .drop_nulls()
        .unique()
    )
    masked = [
        pl.when(pl.col(f"{f}_avail") <= pl.col("t")).then(pl.col(c)).alias(c)
        for f in FAMILIES
        for c in (f, f"{f}_tag", f"{f}_method", f"{f}_filed", f"{f}_rescaled")
    ]
    x = (
        rows.join(times, on=["symbol", "source"])
        .with_columns(masked)
        .filter(pl.any_horizontal(pl.col(f).is_not_null() for f in FAMILIES))
    )
    has_eps = pl.col("eps").is_not_null()
    derivable = pl.col("net_income").is_not_null() & pl.col("shares").is_not_null() & (pl.col("shares") > 0)
    derived = (pl.col("revenue_method") == "ytd_difference") | (pl.col("net_income_method") == "ytd_difference")
    x = x.with_columns(
        pl.when(has_eps).then(pl.col("eps")).when(derivable).then(pl.col("net_income") / pl.col("shares"))
        .alias("eps_diluted_usd"),
        pl.when(has_eps).then(pl.col("eps_method")).when(derivable).then(pl.lit("derived_ni_over_shares"))
        .alias("eps_method"),
        pl.max_horizontal(*[f"{f}_filed" for f in FAMILIES]).alias("filed_date"),
    ).join(factors, on=["cik", "filed_date"], how="left")  # fmt: skip
    flags = [
        pl.when(pl.col("eps_method") == "derived_ni_over_shares").then(pl.lit("eps_derived")),
        pl.when(pl.col("eps_method").is_null()).then(pl.lit("eps_missing")),
        pl.when(derived & (pl.col("period_kind") == "quarter")).then(
            pl.when(pl.col("_fy_end")).then(pl.lit("q4_derived")).otherwise(pl.lit("quarter_derived"))
        ),
        pl.when(pl.col("shares_method") == "ytd_day_weighted").then(pl.lit("shares_day_weighted")),
        pl.when(pl.col("shares_rescaled").fill_null(False)).then(pl.lit("shares_rescaled")),
        pl.when(pl.col("split_factor").fill_null(1) != 1).then(pl.lit("split_adjusted")),
        pl.col("vendor_flag"),
    ]
    x = x.with_columns(
        pl.concat_str(flags, separator=",", ignore_nulls=True).replace("", None).alias("flags"),
        pl.col("revenue").alias("revenue_usd"),
        pl.col("net_income").alias("net_income_usd"),
        pl.col("shares").alias("diluted_shares"),
    )
    x = _ttm(x)
    content = [c for c in MART_SCHEMA if c not in ("available_at", "version")]
    x = x.sort(*key, "t").with_columns(pl.struct(content).hash().alias("_h"))
    changed = pl.col("_h") != pl.col("_h").shift(1).over(key)
    return (
        x.filter(changed.fill_null(True))
        .with_columns(pl.col("t").alias("available_at"), pl.int_range(1, pl.len() + 1).over(key).alias("version"))
        .select(list(MART_SCHEMA))
    )


def _ttm(x: pl.DataFrame) -> pl.DataFrame:
    """Rule 9: per symbol and moment, the sum of four consecutive quarters (period ends 80-100 days
    apart), on quarter rows only."""
    by = ["symbol", "source", "t"]
    q = x.filter(pl.col("period_kind") == "quarter").sort(*by, "fiscal_period_end")
    ends = [pl.col("fiscal_period_end").shift(i).over(by) for i in range(4)]
    consecutive = pl.all_horizontal(
        (ends[i] - ends[i + 1]).dt.total_days().is_between(80, 100).fill_null(False) for i in range(3)
    )

    def window_sum(col: str) -> pl.Expr:
        parts = [pl.col(col).shift(i).over(by) for i in range(4)]
        return pl.when(consecutive & pl.all_horizontal(p.is_not_null() for p in parts)).then(pl.sum_horizontal(parts))

    q = q.with_columns(
        window_sum("revenue_usd").alias("ttm_revenue_usd"),
        window_sum("net_income_usd").alias("ttm_net_income_usd"),
        window_sum("eps_diluted_usd").alias("ttm_eps_diluted_usd"),
    )
    return pl.concat([q, x.filter(pl.col("period_kind") != "quarter")], how="diagonal_relaxed")


def symbols_for(
    ciks: Iterable[str], tickers: pl.DataFrame, fact_tickers: dict[str, str], universe_tickers: Sequence[str]
) -> dict[str, str]:
    """Rule 11: CIK -> symbol."""
    wanted = {t.upper() for t in universe_tickers}
    best: dict[str, tuple[int, int, str]] = {}
    for ticker, cik, rank in tickers.select("ticker", "cik", "listing_rank").iter_rows():
        cand = (0 if ticker in wanted else 1, rank if rank is not None else 1 << 40, ticker)
        if cik not in best or cand < best[cik]:
            best[cik] = cand
    return {c: best[c][2] if c in best else fact_tickers.get(c) or f"CIK{c}" for c in ciks}


def _vendor_rows(vendor: pl.DataFrame, sec_quarters: pl.DataFrame) -> pl.DataFrame:
    """Rule 12: first-filed vendor quarters, snapped to SEC period ends, in the ``_versions`` layout."""
    first = vendor.sort("filed_date", "version").unique(
        subset=["symbol", "fiscal_period_end"], keep="first", maintain_order=True
    )
    snap = (
        first.select("symbol", "fiscal_period_end")
        .join(
            sec_quarters.select(
                "symbol", pl.col("fiscal_period_end").alias("sec_end"), pl.col("fiscal_period_start").alias("sec_start")
            ).unique(),
            on="symbol",
        )
        .with_columns((pl.col("sec_end") - pl.col("fiscal_period_end")).dt.total_days().abs().alias("_d"))
        .filter(pl.col("_d") <= VENDOR_SNAP_DAYS)
        .sort("_d")
        .unique(subset=["symbol", "fiscal_period_end"], keep="first")
        .drop("_d")
    )
    out = first.join(snap, on=["symbol", "fiscal_period_end"], how="left").with_columns(
        pl.coalesce("sec_end", "fiscal_period_end").alias("fiscal_period_end"),
        pl.when(pl.col("sec_end").is_not_null() & (pl.col("sec_end") != pl.col("fiscal_period_end")))
        .then(pl.lit("vendor_period_end_snapped"))
        .alias("vendor_flag"),
    )
    fams = {"revenue": "revenue_usd", "net_income": "net_income_usd", "shares": None, "eps": "eps_diluted_usd"}
    cols = [
        "symbol",
        pl.lit(None, dtype=pl.Utf8).alias("cik"),
        pl.lit("vendor").alias("source"),
        pl.lit("quarter").alias("period_kind"),
        "fiscal_period_end",
        pl.col("sec_start").alias("fiscal_period_start"),
        pl.lit(False).alias("_fy_end"),
        "vendor_flag",
    ]
    for fam, col in fams.items():
        present = pl.col(col).is_not_null() if col else pl.lit(False)
        cols += [
            (pl.col(col) if col else pl.lit(None, dtype=pl.Float64)).alias(fam),
            pl.lit(None, dtype=pl.Utf8).alias(f"{fam}_tag"),
            pl.when(present).then(pl.lit("vendor")).alias(f"{fam}_method"),
            pl.when(present).then(pl.col("filed_date")).alias(f"{fam}_filed"),
            pl.when(present).then(pl.col("available_at")).alias(f"{fam}_avail"),
            pl.lit(False).alias(f"{fam}_rescaled"),
        ]
    return out.select(cols)


@dataclass
class MartBuild:
    frame: pl.DataFrame
    full_year_quarters_dropped: int
    splits: dict[str, list[Split]]


def compute(
    facts: pl.DataFrame,
    tickers: pl.DataFrame | None = None,
    vendor: pl.DataFrame | None = None,
    universe_tickers: Sequence[str] = (),
) -> MartBuild:
    """The mart from raw frames (``FACT_SCHEMA``, ``TICKER_SCHEMA``, ``VENDOR_SCHEMA``)."""
    tickers = tickers if tickers is not None else pl.DataFrame(schema=TICKER_SCHEMA)
    vendor = vendor if vendor is not None else pl.DataFrame(schema=VENDOR_SCHEMA)
    facts = facts.select(list(FACT_SCHEMA)).cast(FACT_SCHEMA)  # type: ignore[arg-type]
    factors, splits, thousands = _split_table(facts)
    classified, dropped = _drop_full_year_quarters(_classify(facts))
    first = _first_filed(classified).join(factors, on=["cik", "filed_date"], how="left")
    first = _rescale_shares(
        first.with_columns(
            pl.when(pl.col("family") == "shares")
            .then(pl.col("value") * pl.col("split_factor"))
            .when(pl.col("family") == "eps")
            .then(pl.col("value") / pl.col("split_factor"))
            .otherwise(pl.col("value"))
            .alias("value")
        ),
        thousands,
    )
    parts = []
    sec_quarters = pl.DataFrame(
        schema={"symbol": pl.Utf8, "fiscal_period_end": pl.Date, "fiscal_period_start": pl.Date}
    )
    chosen = _select(first)
    if not chosen.is_empty():
        wide = _wide(chosen)
        fact_tickers = dict(facts.filter(pl.col("ticker").is_not_null()).select("cik", "ticker").unique().iter_rows())
        sym = symbols_for(wide["cik"].unique().to_list(), tickers, fact_tickers, universe_tickers)
        wide = wide.with_columns(
            pl.col("cik").replace_strict(sym, return_dtype=pl.Utf8).alias("symbol"),
            pl.lit("sec").alias("source"),
            pl.lit(None, dtype=pl.Utf8).alias("vendor_flag"),
        )
        sec_quarters = wide.filter(pl.col("period_kind") == "quarter").select(
            "symbol", "fiscal_period_end", "fiscal_period_start"
        )
        parts.append(_versions(wide, factors))
    if not vendor.is_empty():
        vend = _vendor_rows(vendor, sec_quarters)
        no_factor = pl.DataFrame(schema={"cik": pl.Utf8, "filed_date": pl.Date, "split_factor": pl.Float64})
        parts.append(_versions(vend, no_factor).with_columns(pl.lit(None, dtype=pl.Float64).alias("split_factor")))
    frame = (pl.concat(parts, how="vertical_relaxed") if parts else pl.DataFrame(schema=MART_SCHEMA)).sort(
        "symbol", "source", "period_kind", "fiscal_period_end", "version"
    )
    return MartBuild(frame.cast(MART_SCHEMA), dropped, splits)  # type: ignore[arg-type]


def latest(frame: pl.DataFrame, as_of: datetime | None = None) -> pl.DataFrame:
    """What ``analytics.fundamentals`` shows: per (symbol, kind, period end), the latest version
    public at ``as_of`` (default: all), SEC before vendor."""
    known = frame if as_of is None else frame.filter(pl.col("available_at") <= as_of)
    return (
        known.sort("version", descending=True)
        .unique(subset=["symbol", "source", "period_kind", "fiscal_period_end"], keep="first")
        .sort(pl.col("source").replace_strict({"sec": 0}, default=1, return_dtype=pl.Int64))
        .unique(subset=["symbol", "period_kind", "fiscal_period_end"], keep="first")
        .sort("symbol", "period_kind", "fiscal_period_end")
    )


# ---------------------------------------------------------------------------------------------
# Warehouse


def read_inputs(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The latest version of every raw row the mart uses."""
    tags = ", ".join(f"'{t}'" for t in ALL_TAGS)
    facts = con.sql(
        f"""
        select {", ".join(FACT_SCHEMA)}
        from raw.sec__facts
        where taxonomy = 'us-gaap' and period_type = 'duration' and tag in ({tags})
        qualify row_number() over (
            partition by cik, taxonomy, tag, unit, period_start, period_end, accn order by version desc
        ) = 1
        """
    ).pl()
    tickers = con.sql(
        "select ticker, cik, listing_rank from raw.sec__tickers"
        " qualify row_number() over (partition by ticker order by version desc) = 1"
    ).pl()
    vendor = con.sql(f"select {', '.join(VENDOR_SCHEMA)} from raw.vendor__fundamentals").pl()
    return (
        facts.cast(FACT_SCHEMA),  # type: ignore[arg-type]
        tickers.cast(TICKER_SCHEMA),  # type: ignore[arg-type]
        vendor.cast(VENDOR_SCHEMA),  # type: ignore[arg-type]
    )


def rebuild(con: duckdb.DuckDBPyConnection, universe_tickers: Sequence[str] | None = None) -> str:
    """Recompute ``marts.fundamentals`` from the raw tables, in one transaction; returns a note."""
    if universe_tickers is None:
        try:
            universe_tickers = list(universe().get("tickers") or [])
        except FlowscopeError:  # a missing universe only loses the symbol preference
            universe_tickers = []
    facts, tickers, vendor = read_inputs(con)
    build = compute(facts, tickers, vendor, universe_tickers)
    frame = build.frame.with_columns(pl.lit(datetime.now(UTC)).cast(pl.Datetime("us", "UTC")).alias("built_at"))
    con.execute("begin")
    try:
        con.execute("delete from marts.fundamentals")
        con.register("_fundamentals", frame.to_arrow())
        try:
            con.execute("insert into marts.fundamentals by name select * from _fundamentals")
        finally:
            con.unregister("_fundamentals")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    kinds = dict(frame.group_by("period_kind").len().iter_rows())
    note = (
        f"rebuilt marts.fundamentals: {frame.height} rows ({kinds.get('quarter', 0)} quarters, "
        f"{kinds.get('year', 0)} years) for {frame['symbol'].n_unique()} symbols"
    )
    if build.full_year_quarters_dropped:
        note += f"; dropped {build.full_year_quarters_dropped} quarter-length revenue facts holding a full-year value"
    return note
