"""Business-time arithmetic against hand-worked cases, and its properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.adapters.holiday_cache import public_days
from workflow.domain.sla import (
    BusinessCalendar,
    add_business_time,
    build_calendar,
    business_minutes_between,
    is_open,
    parse_duration,
    parse_hours,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NINE_TO_SIX = {day: ["09:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")}


def calendar(**overrides) -> BusinessCalendar:
    settings_ = dict(timezone_name="Asia/Shanghai", always_open=False, hours=NINE_TO_SIX, holidays_country=None,
                     closed_dates=[], working_days=[], working_day_hours=["09:00-18:00"], years=range(2025, 2028),
                     public_days=public_days)
    settings_.update(overrides)
    return build_calendar(**settings_)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def test_friday_evening_complaint_with_30_minutes_is_due_monday_0920():
    assert add_business_time(local(2026, 11, 20, 17, 50), 30, calendar()) == local(2026, 11, 23, 9, 20)


def test_a_complaint_filed_at_night_starts_its_clock_at_opening():
    assert add_business_time(local(2026, 11, 18, 22, 0), 60, calendar()) == local(2026, 11, 19, 10, 0)
    assert add_business_time(local(2026, 11, 21, 12, 0), 0, calendar()) == local(2026, 11, 23, 9, 0)


def test_a_deadline_landing_on_closing_time_stays_there_when_nothing_is_added():
    at_close = add_business_time(local(2026, 11, 20, 17, 0), 60, calendar())
    assert at_close == local(2026, 11, 20, 18, 0)
    assert add_business_time(at_close, 0, calendar()) == at_close


def test_a_long_target_spans_several_working_days():
    # 20 working hours from Wednesday 10:00: 8h Wed, 9h Thu, 3h Fri -> Friday 12:00.
    assert add_business_time(local(2026, 11, 18, 10, 0), 20 * 60, calendar()) == local(2026, 11, 20, 12, 0)


def test_public_holidays_are_skipped():
    # National Day 2026: 1-7 October are days off in China (the package knows the substituted days).
    cal = calendar(holidays_country="CN")
    assert add_business_time(local(2026, 9, 30, 17, 0), 120, cal) == local(2026, 10, 8, 10, 0)


def test_an_adjusted_saturday_working_day_is_counted():
    # Saturday 10 October 2026 is a working day in China (调休).
    cal = calendar(holidays_country="CN")
    assert add_business_time(local(2026, 10, 9, 17, 0), 120, cal) == local(2026, 10, 10, 10, 0)


def test_closed_dates_and_extra_working_days_from_config():
    cal = calendar(closed_dates=[date(2026, 11, 23)], working_days=[date(2026, 11, 21)])
    assert add_business_time(local(2026, 11, 20, 17, 0), 120, cal) == local(2026, 11, 21, 10, 0)
    assert add_business_time(local(2026, 11, 21, 17, 0), 120, cal) == local(2026, 11, 24, 10, 0)


def test_a_24x7_calendar_counts_every_minute():
    cal = calendar(always_open=True)
    start = local(2026, 11, 21, 23, 50)
    assert add_business_time(start, 30, cal) == local(2026, 11, 22, 0, 20)
    assert business_minutes_between(start, start + timedelta(hours=5), cal) == 300


def test_minutes_between_counts_only_working_time():
    cal = calendar()
    assert business_minutes_between(local(2026, 11, 20, 17, 50), local(2026, 11, 23, 9, 20), cal) == 30
    assert business_minutes_between(local(2026, 11, 23, 9, 20), local(2026, 11, 20, 17, 50), cal) == -30


def test_a_paused_clock_resumes_with_what_was_left():
    # 60 minutes from Monday 09:00, paused 09:20-14:00 while waiting on the customer.
    cal = calendar()
    start, paused, resumed = local(2026, 11, 23, 9, 0), local(2026, 11, 23, 9, 20), local(2026, 11, 23, 14, 0)
    remaining = 60 - business_minutes_between(start, paused, cal)
    assert add_business_time(resumed, remaining, cal) == local(2026, 11, 23, 14, 40)


def test_a_calendar_that_never_opens_is_an_error():
    with pytest.raises(ValueError, match="no working hours"):
        add_business_time(local(2026, 1, 1, 0, 0), 10, calendar(hours={}))


@pytest.mark.parametrize("text,minutes", [("30m", 30), ("4h", 240), ("1h30m", 90), ("45", 45)])
def test_durations_parse(text, minutes):
    assert parse_duration(text) == minutes


@pytest.mark.parametrize("text", ["", "4 days", "h", "-5m"])
def test_bad_durations_are_refused(text):
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_bad_hours_are_refused():
    assert parse_hours("09:00-18:00") == (540, 1080)
    for text in ("18:00-09:00", "9-18", "09:00-25:00"):
        with pytest.raises(ValueError):
            parse_hours(text)


# --- properties ---------------------------------------------------------------------

CAL = calendar(holidays_country="CN", hours={**NINE_TO_SIX, "sat": ["10:00-12:00"]})
moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 6, 30), timezones=st.just(UTC)
)
durations = st.integers(min_value=0, max_value=60 * 60)


@settings(max_examples=300, deadline=None)
@given(start=moments, minutes=durations)
def test_a_deadline_is_never_inside_closed_hours(start, minutes):
    assert is_open(add_business_time(start, minutes, CAL), CAL)


@settings(max_examples=200, deadline=None)
@given(start=moments, minutes=durations, pause=st.integers(min_value=0, max_value=7 * 24 * 60))
def test_adding_a_pause_never_makes_a_deadline_earlier(start, minutes, pause):
    # The clock is stopped for `pause` wall minutes at the start, then runs `minutes`.
    resumed = start + timedelta(minutes=pause)
    assert add_business_time(resumed, minutes, CAL) >= add_business_time(start, minutes, CAL)


@settings(max_examples=300, deadline=None)
@given(start=moments, first=durations, second=durations)
def test_splitting_a_duration_in_two_additions_gives_the_same_deadline(start, first, second):
    once = add_business_time(start, first + second, CAL)
    twice = add_business_time(add_business_time(start, first, CAL), second, CAL)
    assert once == twice


@settings(max_examples=200, deadline=None)
@given(start=moments, minutes=st.integers(min_value=1, max_value=60 * 60))
def test_minutes_between_inverts_adding(start, minutes):
    due = add_business_time(start, minutes, CAL)
    assert business_minutes_between(start, due, CAL) == pytest.approx(minutes)


def test_working_minutes_over_four_years_are_counted_not_given_up_on():
    calendar = BusinessCalendar(timezone="UTC", weekly=(((540, 1080),),) * 5 + ((), ()))
    start = datetime(2022, 11, 28, 9, 0, tzinfo=UTC)  # a Monday
    end = start + timedelta(weeks=4 * 52)
    assert business_minutes_between(start, end, calendar) == 4 * 52 * 5 * 9 * 60
    assert business_minutes_between(end, start, calendar) == -(4 * 52 * 5 * 9 * 60)
