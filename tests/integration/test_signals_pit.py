"""Point-in-time: a score for day D uses only rows public by D's close (issue [4/5 Signals]).

Rows dated after D, and rows dated before D but published after it (a holiday-delayed COT week, a
late revision), are added to the warehouse; every score and regime for D must stay exactly the same,
while a later day sees them. Point-in-time is enforced twice (inputs read as of D's decision time,
and statistics carried to days by publication time): breaking both makes this test fail.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from flows import loader
from flows.calendar import trading_days
from flows.signals.publish import publish
from flows.sources.cboe.put_call import SPEC as PUT_CALL
from flows.sources.cftc.tff import SPEC as TFF
from flows.warehouse import connect_write
from tests.helpers import payload, tff_line, tff_text

D = date(2025, 6, 20)  # a Friday; Juneteenth (Thu) delays the 2025-06-17 COT report to Monday 06-23


def cot_text(weeks: list[date], seed: int, bump: float = 0.0) -> bytes:
    rng = np.random.default_rng(seed)
    lines = []
    for wk in weeks:
        am = int(150_000 + rng.normal(0, 20_000) + bump)
        lines.append(tff_line("209742", wk.isoformat(), 400_000, am_long=am, am_short=50_000, lev_long=60_000,
                              lev_short=int(120_000 + rng.normal(0, 15_000))))  # fmt: skip
        es = "E-MINI S&P 500 - CHICAGO MERCANTILE EXCHANGE"
        lines.append(tff_line("13874A", wk.isoformat(), 2_500_000, am_long=am * 5, am_short=300_000,
                              lev_long=200_000, lev_short=700_000, name=es))  # fmt: skip
    return tff_text(lines)


def pcr_csv(days: list[date], seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    rows = [f"{d},equity,{0.6 + 0.1 * rng.standard_normal():.2f}" for d in days]
    return ("date,segment,put_call_ratio\n" + "\n".join(rows) + "\n").encode()


def snapshot(con, day: date) -> tuple[list, list]:  # type: ignore[no-untyped-def]
    scores = con.execute(
        "select symbol, score, value, z, percentile, warmup, age_days from signals.scores where date = ? order by all",
        [day],
    ).fetchall()
    regimes = con.execute(
        "select symbol, regime, rule, cps from signals.regimes where date = ? order by all", [day]
    ).fetchall()
    return scores, regimes


def test_rows_published_after_d_do_not_change_scores_for_d(warehouse, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    con = connect_write(warehouse)
    tuesdays = [date(2022, 1, 4) + timedelta(weeks=i) for i in range(183)]  # to 2025-07-01
    delayed = date(2025, 6, 17)  # dated before D, published after D's close
    before_d = [t for t in tuesdays if t < delayed]
    pc_days = list(trading_days(date(2023, 1, 3), D))
    loader.ingest(con, TFF, [payload("cftc_tff", cot_text(before_d, 1))], warehouse.raw_dir, load_date=D)
    loader.ingest(con, PUT_CALL, [payload("cboe_putcall", pcr_csv(pc_days, 2), origin="pc.csv")], warehouse.raw_dir,
                  load_date=D)  # fmt: skip
    publish(con, D, full=True, history_start=date(2025, 1, 2))
    base = snapshot(con, D)
    assert any(s[1] == "cps" and s[3] is not None for s in base[0]), "the test needs real CPS values for D"
    assert any(s[1] == "fut" and s[2] is not None for s in base[0])

    # 1. the delayed week (dated before D, public only on 06-23) and rows dated after D
    after = [t for t in tuesdays if t >= delayed]
    res = loader.ingest(con, TFF, [payload("cftc_tff", cot_text(after, 3, bump=100_000))], warehouse.raw_dir,
                        load_date=date(2025, 8, 1))  # fmt: skip
    assert res[0].rows_new == 2 * len(after)
    published = con.execute("select min(available_at) from raw.cftc__tff where report_date = ?", [delayed]).fetchall()
    assert published[0][0] == datetime(2025, 6, 23, 19, 30, tzinfo=UTC)
    after_days = list(trading_days(D + timedelta(days=1), date(2025, 7, 31)))
    pc_after = payload("cboe_putcall", pcr_csv(after_days, 4), origin="pc_after.csv")
    assert loader.ingest(con, PUT_CALL, [pc_after], warehouse.raw_dir, load_date=date(2025, 8, 1))[0].rows_new > 0
    # 2. a revision of a week before D, first seen (published) after D
    revised_week = before_d[-1]
    late = payload("cftc_tff", cot_text([revised_week], 9, bump=50_000), fetched_at=datetime(2025, 7, 15, tzinfo=UTC))
    res = loader.ingest(con, TFF, [late], warehouse.raw_dir, load_date=date(2025, 7, 15))
    assert res[0].rows_revised == 2
    # 3. a revision of a put/call day before D (a dataset the scores read through its view), first
    #    seen after D: the view shows only the newest version, the scores of D must not
    pc_rev = "date,segment,put_call_ratio\n" + f"{pc_days[-3]},equity,1.95\n"
    late_pc = payload(
        "cboe_putcall", pc_rev.encode(), origin="pc_rev.csv", fetched_at=datetime(2025, 7, 16, tzinfo=UTC)
    )
    res = loader.ingest(con, PUT_CALL, [late_pc], warehouse.raw_dir, load_date=date(2025, 7, 16))
    assert res[0].rows_revised == 1
    publish(con, D, full=True, history_start=date(2025, 1, 2))
    assert snapshot(con, D) == base

    publish(con, date(2025, 7, 31), full=True, history_start=date(2025, 1, 2))
    later = con.execute(
        "select value from signals.scores where symbol = 'NQ' and score = 'fut' and date = '2025-07-31'"
    ).fetchall()
    at_d = con.execute(
        "select value from signals.scores where symbol = 'NQ' and score = 'fut' and date = ?", [D]
    ).fetchall()
    assert later and at_d and later != at_d  # the new data is used from its publication on
    # a rebuild as of a later day recomputes D from every version: D still gets what was public on D
    assert snapshot(con, D) == base
    pcs_after = con.execute(
        "select value from signals.scores where symbol = 'MARKET' and score = 'pcs' and date = '2025-07-16'"
    ).fetchall()
    assert (
        pcs_after
        and pcs_after
        != con.execute(
            "select value from signals.scores where symbol = 'MARKET' and score = 'pcs' and date = '2025-07-15'"
        ).fetchall()
    )
    con.close()


def test_increment_matches_a_full_rebuild(warehouse) -> None:  # type: ignore[no-untyped-def]
    con = connect_write(warehouse)
    tuesdays = [date(2023, 1, 3) + timedelta(weeks=i) for i in range(130)]
    loader.ingest(con, TFF, [payload("cftc_tff", cot_text(tuesdays, 5))], warehouse.raw_dir, load_date=date(2025, 8, 1))
    pc = list(trading_days(date(2023, 1, 3), date(2025, 7, 31)))
    loader.ingest(con, PUT_CALL, [payload("cboe_putcall", pcr_csv(pc, 6), origin="pc.csv")], warehouse.raw_dir,
                  load_date=date(2025, 8, 1))  # fmt: skip
    publish(con, date(2025, 7, 24), full=True, history_start=date(2025, 1, 2))
    inc = publish(con, date(2025, 7, 31))
    assert inc.mode == "increment" and inc.days == 5
    incremental = con.sql("select * exclude (computed_at) from signals.scores order by all").pl()
    publish(con, date(2025, 7, 31), full=True, history_start=date(2025, 1, 2))
    rebuilt = con.sql("select * exclude (computed_at) from signals.scores order by all").pl()
    assert incremental.height == rebuilt.height
    assert incremental.equals(rebuilt)
    _ = pl
    con.close()
