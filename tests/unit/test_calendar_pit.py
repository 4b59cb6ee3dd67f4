"""Trading and federal calendars, publication rules and the observed-vs-rule choice.

Expected dates come from the published NYSE holiday lists, the OPM federal holiday rules and the
CFTC's own release schedule (e.g. its 2024 list: Jun 24*, Jul 8*, Dec 2*, Dec 30*, "*Delayed
release date due to a Federal holiday"), plus config/calendar.yaml for shutdown catch-ups.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from flows.calendar import (
    add_business_days,
    easter,
    federal_holidays,
    is_federal_business_day,
    is_trading_day,
    last_trading_day_on_or_before,
    nyse_holidays,
    previous_trading_day,
    trading_days,
)
from flows.config import calendar_config
from flows.pit import (
    cboe_available_at,
    cftc_available_at,
    cftc_release_date,
    ny_time_to_utc,
    resolve_available_at,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(scope="module")
def cftc_cal() -> dict:  # type: ignore[type-arg]
    return calendar_config()["cftc_tff"]


# --- NYSE --------------------------------------------------------------------------------------


def test_nyse_holidays_2024_are_the_published_ten():
    assert nyse_holidays(2024) == {
        date(2024, 1, 1),
        date(2024, 1, 15),
        date(2024, 2, 19),
        date(2024, 3, 29),  # Good Friday
        date(2024, 5, 27),
        date(2024, 6, 19),
        date(2024, 7, 4),
        date(2024, 9, 2),
        date(2024, 11, 28),
        date(2024, 12, 25),
    }


def test_nyse_holidays_2023_move_sunday_new_year_to_monday():
    assert nyse_holidays(2023) == {
        date(2023, 1, 2),
        date(2023, 1, 16),
        date(2023, 2, 20),
        date(2023, 4, 7),
        date(2023, 5, 29),
        date(2023, 6, 19),
        date(2023, 7, 4),
        date(2023, 9, 4),
        date(2023, 11, 23),
        date(2023, 12, 25),
    }


def test_nyse_holidays_2025_with_good_friday_in_april():
    assert nyse_holidays(2025) == {
        date(2025, 1, 1),
        date(2025, 1, 20),
        date(2025, 2, 17),
        date(2025, 4, 18),
        date(2025, 5, 26),
        date(2025, 6, 19),
        date(2025, 7, 4),
        date(2025, 9, 1),
        date(2025, 11, 27),
        date(2025, 12, 25),
    }


def test_sunday_juneteenth_2022_is_observed_monday():
    assert date(2022, 6, 20) in nyse_holidays(2022)
    assert not is_trading_day(date(2022, 6, 20))
    assert is_trading_day(date(2022, 6, 17))


def test_juneteenth_is_no_nyse_holiday_before_2022():
    assert is_trading_day(date(2021, 6, 18))  # federal holiday (observed), NYSE open
    assert not is_federal_business_day(date(2021, 6, 18))


def test_saturday_juneteenth_2027_closes_friday():
    assert date(2027, 6, 18) in nyse_holidays(2027)


def test_saturday_christmas_2021_closes_friday_dec_24():
    assert not is_trading_day(date(2021, 12, 24))


def test_dec_31_2021_is_a_trading_day_although_jan_1_2022_is_a_saturday():
    assert is_trading_day(date(2021, 12, 31))
    assert date(2021, 12, 31) not in nyse_holidays(2021)
    assert not any(d.month == 12 and d.day == 31 for d in nyse_holidays(2022))


def test_unscheduled_closures_are_not_trading_days():
    for d in (date(2025, 1, 9), date(2018, 12, 5), date(2012, 10, 29), date(2012, 10, 30), date(2007, 1, 2)):
        assert d.weekday() < 5
        assert not is_trading_day(d), d
    assert is_trading_day(date(2025, 1, 8)) and is_trading_day(date(2025, 1, 10))


def test_weekends_are_not_trading_days():
    assert not is_trading_day(date(2024, 7, 6))
    assert not is_trading_day(date(2024, 7, 7))


@pytest.mark.parametrize(
    ("year", "sunday"),
    [
        (2000, date(2000, 4, 23)),
        (2019, date(2019, 4, 21)),
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2038, date(2038, 4, 25)),
        (2285, date(2285, 3, 22)),
    ],
)
def test_easter_sunday(year: int, sunday: date):
    assert easter(year) == sunday


def test_trading_days_skip_good_friday_and_the_weekend():
    assert list(trading_days(date(2024, 3, 25), date(2024, 4, 1))) == [
        date(2024, 3, 25),
        date(2024, 3, 26),
        date(2024, 3, 27),
        date(2024, 3, 28),
        date(2024, 4, 1),
    ]


def test_previous_trading_day_skips_holidays_and_closures():
    assert previous_trading_day(date(2024, 7, 5)) == date(2024, 7, 3)
    assert previous_trading_day(date(2025, 1, 10)) == date(2025, 1, 8)  # 2025-01-09 closed
    assert previous_trading_day(date(2024, 1, 2)) == date(2023, 12, 29)
    assert last_trading_day_on_or_before(date(2024, 3, 30)) == date(2024, 3, 28)
    assert last_trading_day_on_or_before(date(2024, 3, 28)) == date(2024, 3, 28)


# --- federal -----------------------------------------------------------------------------------


def test_federal_holidays_2024_include_columbus_and_veterans_day():
    assert federal_holidays(2024) == {
        date(2024, 1, 1),
        date(2024, 1, 15),
        date(2024, 2, 19),
        date(2024, 5, 27),
        date(2024, 6, 19),
        date(2024, 7, 4),
        date(2024, 9, 2),
        date(2024, 10, 14),
        date(2024, 11, 11),
        date(2024, 11, 28),
        date(2024, 12, 25),
    }
    assert is_trading_day(date(2024, 10, 14)) and is_trading_day(date(2024, 11, 11))  # NYSE open
    assert is_federal_business_day(date(2024, 3, 29))  # Good Friday is not federal


def test_saturday_veterans_day_2023_is_observed_friday():
    assert date(2023, 11, 10) in federal_holidays(2023)
    assert not is_federal_business_day(date(2023, 11, 10))


def test_saturday_new_year_2022_is_observed_on_dec_31_2021_federally():
    assert date(2021, 12, 31) in federal_holidays(2021)
    assert not is_federal_business_day(date(2021, 12, 31))
    assert all(d.year == 2022 for d in federal_holidays(2022))


def test_add_business_days_counts_federal_days_by_default_and_nyse_on_request():
    assert add_business_days(date(2024, 10, 11), 1) == date(2024, 10, 15)  # Columbus Day skipped
    assert add_business_days(date(2024, 10, 11), 1, federal=False) == date(2024, 10, 14)
    assert add_business_days(date(2024, 7, 8), -2) == date(2024, 7, 3)


# --- CFTC release dates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "available_at"),
    [
        pytest.param(date(2026, 8, 4), utc(2026, 8, 7, 19, 30), id="normal-week-EDT"),
        pytest.param(date(2024, 7, 2), utc(2024, 7, 8, 19, 30), id="july-4-thursday"),
        pytest.param(date(2023, 11, 21), utc(2023, 11, 27, 20, 30), id="thanksgiving-EST"),
        pytest.param(date(2024, 11, 26), utc(2024, 12, 2, 20, 30), id="thanksgiving-2024"),
        pytest.param(date(2024, 6, 18), utc(2024, 6, 24, 19, 30), id="juneteenth-wednesday"),
        pytest.param(date(2024, 12, 24), utc(2024, 12, 30, 20, 30), id="christmas-wednesday"),
        pytest.param(date(2024, 9, 3), utc(2024, 9, 6, 19, 30), id="labor-day-before-as-of"),
        pytest.param(date(2020, 11, 10), utc(2020, 11, 16, 20, 30), id="veterans-day-wednesday"),
        pytest.param(date(2021, 6, 15), utc(2021, 6, 21, 19, 30), id="first-juneteenth-friday"),
        pytest.param(date(2023, 7, 3), utc(2023, 7, 7, 19, 30), id="monday-as-of"),
    ],
)
def test_cftc_release_is_third_federal_business_day_1530_new_york(cftc_cal, as_of, available_at):  # type: ignore[no-untyped-def]
    assert cftc_available_at(as_of, cftc_cal) == available_at


def test_cftc_catch_up_overrides_from_the_config(cftc_cal):  # type: ignore[no-untyped-def]
    assert cftc_release_date(date(2025, 9, 30), cftc_cal) == date(2025, 11, 19)
    assert cftc_release_date(date(2025, 12, 9), cftc_cal) == date(2025, 12, 30)
    assert cftc_available_at(date(2025, 9, 30), cftc_cal) == utc(2025, 11, 19, 20, 30)


def test_cftc_shutdown_backlog_uses_the_cleared_date(cftc_cal):  # type: ignore[no-untyped-def]
    assert cftc_available_at(date(2025, 10, 7), cftc_cal) == utc(2026, 1, 23, 20, 30)
    assert cftc_available_at(date(2026, 1, 13), cftc_cal) == utc(2026, 1, 23, 20, 30)  # last in backlog
    # 2018-19 lapse: cleared Friday 2019-03-08, still EST (DST began 2019-03-10)
    assert cftc_available_at(date(2019, 1, 8), cftc_cal) == utc(2019, 3, 8, 20, 30)
    assert cftc_available_at(date(2018, 12, 31), cftc_cal) == utc(2019, 3, 8, 20, 30)  # Monday as-of


def test_cftc_rule_applies_just_outside_the_backlogs(cftc_cal):  # type: ignore[no-untyped-def]
    assert cftc_release_date(date(2018, 12, 18), cftc_cal) == date(2018, 12, 21)
    assert cftc_release_date(date(2019, 3, 5), cftc_cal) == date(2019, 3, 8)
    assert cftc_release_date(date(2025, 9, 23), cftc_cal) == date(2025, 9, 26)
    assert cftc_release_date(date(2026, 1, 20), cftc_cal) == date(2026, 1, 23)


def test_cftc_override_wins_over_a_backlog_and_accepts_yaml_dates():
    cal = {
        "release_time": "15:30",
        "release_overrides": {date(2025, 10, 14): date(2025, 11, 25)},  # unquoted YAML gives dates
        "shutdown_backlogs": [{"from": "2025-09-30", "to": "2026-01-13", "cleared": "2026-01-23"}],
    }
    assert cftc_release_date(date(2025, 10, 14), cal) == date(2025, 11, 25)
    assert cftc_release_date(date(2025, 10, 21), cal) == date(2026, 1, 23)


def test_cftc_defaults_without_config_entries():
    assert cftc_available_at(date(2026, 8, 4), {}) == utc(2026, 8, 7, 19, 30)
    cal = {"release_time": "16:00", "business_days_after_as_of": 4}
    assert cftc_available_at(date(2026, 8, 4), cal) == utc(2026, 8, 10, 20, 0)


# --- Cboe and New York times -------------------------------------------------------------------


def test_cboe_rule_is_trade_date_1800_new_york_from_the_config():
    cal = calendar_config()["cboe_putcall"]
    assert cboe_available_at(date(2024, 1, 5), cal) == utc(2024, 1, 5, 23, 0)  # EST
    assert cboe_available_at(date(2024, 7, 5), cal) == utc(2024, 7, 5, 22, 0)  # EDT


def test_new_york_time_follows_daylight_saving_changes():
    assert ny_time_to_utc(date(2024, 3, 8), "18:00") == utc(2024, 3, 8, 23, 0)
    assert ny_time_to_utc(date(2024, 3, 11), "18:00") == utc(2024, 3, 11, 22, 0)
    assert ny_time_to_utc(date(2024, 11, 1), "15:30") == utc(2024, 11, 1, 19, 30)
    assert ny_time_to_utc(date(2024, 11, 4), "15:30") == utc(2024, 11, 4, 20, 30)


# --- observed vs rule --------------------------------------------------------------------------

RULE = utc(2026, 8, 7, 19, 30)
GRACE = timedelta(days=3)


def test_observation_within_grace_wins_even_when_later_than_the_rule():
    seen = utc(2026, 8, 7, 19, 42)
    assert resolve_available_at(RULE, seen, GRACE) == (seen, "observed")


def test_observation_at_the_end_of_grace_still_counts():
    assert resolve_available_at(RULE, RULE + GRACE, GRACE) == (RULE + GRACE, "observed")


def test_observation_earlier_than_the_rule_wins():
    seen = utc(2026, 8, 7, 19, 25)
    assert resolve_available_at(RULE, seen, GRACE) == (seen, "observed")


def test_later_backfill_falls_back_to_the_rule():
    assert resolve_available_at(RULE, RULE + GRACE + timedelta(seconds=1), GRACE) == (RULE, "rule")
    assert resolve_available_at(RULE, utc(2026, 9, 1, 12, 0), GRACE) == (RULE, "rule")


def test_no_observation_uses_the_rule():
    assert resolve_available_at(RULE, None, GRACE) == (RULE, "rule")
