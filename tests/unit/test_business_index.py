"""The business-time index answers as the calendar walk does (workflow/domain/sla.py), inside its span and out."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from workflow.domain.business_index import BusinessIndex
from workflow.domain.sla import add_business_time, build_calendar, business_minutes_between


def test_the_index_agrees_with_the_walk_on_random_instants_and_amounts():
    calendar = build_calendar(
        timezone_name="Asia/Shanghai", always_open=False, holidays_country=None, years=range(2026, 2027),
        hours={day: ["09:00-12:00", "13:30-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
        closed_dates=[date(2026, 10, 1), date(2026, 10, 2)], working_days=[date(2026, 10, 10)],
        working_day_hours=["09:00-18:00"])
    start = datetime(2026, 9, 20, tzinfo=UTC)
    index = BusinessIndex(calendar, start, start + timedelta(days=40))
    rng = random.Random(3)
    for _ in range(2000):
        at = start + timedelta(minutes=rng.randrange(-3000, 60 * 24 * 45), microseconds=rng.choice((0, 1, 999999)))
        minutes = rng.choice((0.0, 0.5, 45.0, 270.0, 540.0, 1620.0, rng.uniform(0, 5000)))
        assert index.add(at, minutes) == add_business_time(at, minutes, calendar), (at, minutes)
        end = at + timedelta(minutes=rng.randrange(0, 20000))
        assert index.minutes_between(at, end) == business_minutes_between(at, end, calendar), (at, end)


def test_the_engine_plans_a_new_complaints_clocks_from_an_index_it_builds_again_as_time_moves_on(tmp_path):
    from tests.conftest import CONFIG, PINNED
    from workflow.bootstrap import bootstrap
    from workflow.domain.clock import Clock
    from workflow.domain.sla import plan_for
    from workflow.services.clocks import opening

    clock = Clock(PINNED)
    app = bootstrap(str(CONFIG), f"sqlite:///{tmp_path / 'redress.db'}", clock)
    plan = plan_for(app.config, "medium", app.config.tier_names[0])  # office hours and holidays
    calendar = app.calendar(plan.calendar)
    rng = random.Random(5)
    first = app.business_index(plan.calendar)
    for step in range(400):  # a clock moving on by hours and days, across the index's rebuilds
        clock.pin(PINNED + timedelta(days=step * 0.75, minutes=rng.randrange(0, 600)))
        now = clock.now()
        for kind, offset, due in opening(app, plan, now):
            assert due == add_business_time(now, offset, calendar), (kind, now)
    later = app.business_index(plan.calendar)
    assert later is not first and later.start <= clock.now() < later.end
    assert app.business_index(plan.calendar) is later  # kept while the clock stays within its month
    app._calendars.clear()  # a calendar built again (as for other years) is never answered by an old index
    assert app.business_index(plan.calendar).calendar is app.calendar(plan.calendar)


def test_hours_that_end_inside_a_daylight_saving_gap_count_no_minute_twice():
    """New York skips from 02:00 to 03:00 on 2027-03-14: hours 00:00-02:30 and 03:00-12:00 that Sunday are
    05:00-16:00 UTC without a break. The bound 02:30 names no instant; read with the offset before the gap it
    fell after 03:00's start, and the walk counted 07:00-07:30 twice while the index disagreed with it."""
    calendar = build_calendar(
        timezone_name="America/New_York", always_open=False, holidays_country=None, years=range(2027, 2028),
        hours={"sun": ["00:00-02:30", "03:00-12:00"]}, closed_dates=[], working_days=[], working_day_hours=[])
    sunday = datetime(2027, 3, 14, 5, 0, tzinfo=UTC)
    assert business_minutes_between(sunday, sunday + timedelta(hours=11), calendar) == 11 * 60
    assert add_business_time(sunday, 11 * 60, calendar) == sunday + timedelta(hours=11)
    index = BusinessIndex(calendar, sunday - timedelta(days=1), sunday + timedelta(days=14))
    for minutes in (45.0, 60.0, 150.0, 360.0, 480.0, 660.0, 700.0):
        for start in (sunday, sunday + timedelta(hours=2), sunday + timedelta(hours=2, minutes=20)):
            assert index.add(start, minutes) == add_business_time(start, minutes, calendar), (start, minutes)
