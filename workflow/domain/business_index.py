"""A calendar's working time over a span as a running total: business time by bisection instead of a walk.

An import plans the clocks of tens of thousands of complaints at once; walking the calendar for each of their
deadlines (workflow/domain/sla.py) would cost more than writing them. The index lists the span's working
stretches, as sla.py counts them, with the minutes worked before each, so the minutes between two instants and
the instant a number of minutes after another are each one bisection. Outside its span, or for zero minutes,
it asks sla.py, so its answers are always sla.py's. Pure: no database, no clock.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import datetime, timedelta

from workflow.domain.sla import BusinessCalendar, add_business_time, business_minutes_between, stretches_between

_MICRO = timedelta(microseconds=1)


class BusinessIndex:
    """The working stretches of `calendar` within [start, end), with the working time before each."""

    def __init__(self, calendar: BusinessCalendar, start: datetime, end: datetime) -> None:
        self.calendar, self.start, self.end = calendar, start, end
        self._starts: list[datetime] = []
        self._ends: list[datetime] = []
        self._before: list[int] = []  # microseconds worked in the span before each stretch
        self._after: list[int] = []  # ... and up to its end
        total = 0
        if not calendar.always_open:
            for stretch_start, stretch_end in stretches_between(start, end, calendar):
                if stretch_end <= stretch_start:
                    continue
                self._starts.append(stretch_start)
                self._ends.append(stretch_end)
                self._before.append(total)
                total += (stretch_end - stretch_start) // _MICRO
                self._after.append(total)

    def _covers(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def _worked_until(self, moment: datetime) -> int:
        """Microseconds worked in the span before `moment` (inside the span)."""
        i = bisect_right(self._starts, moment) - 1
        if i < 0:
            return 0
        return self._before[i] + (min(moment, self._ends[i]) - self._starts[i]) // _MICRO

    def minutes_between(self, start: datetime, end: datetime) -> float:
        """Working minutes in [start, end), as sla.business_minutes_between counts them."""
        if self.calendar.always_open or end < start or not (self._covers(start) and self._covers(end)):
            return business_minutes_between(start, end, self.calendar)
        worked = self._worked_until(end) - self._worked_until(start)
        return timedelta(microseconds=worked).total_seconds() / 60

    def add(self, start: datetime, minutes: float) -> datetime:
        """The instant `minutes` of working time after `start`, as sla.add_business_time finds it."""
        if self.calendar.always_open or minutes <= 0 or not self._covers(start):
            return add_business_time(start, minutes, self.calendar)
        target = self._worked_until(start) + timedelta(minutes=minutes) // _MICRO
        i = bisect_left(self._after, target)
        if i >= len(self._after):  # beyond the span
            return add_business_time(start, minutes, self.calendar)
        return self._starts[i] + timedelta(microseconds=target - self._before[i])
