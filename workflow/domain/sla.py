"""Business-time arithmetic: pure functions over a working calendar. No database, no clock.

A calendar says when the call centre works: hours per weekday in a timezone,
closed public holidays, and extra working days (China moves weekend days to
stretch holidays). Deadlines are computed by adding business minutes, so a
deadline never falls inside closed hours.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from workflow.domain.errors import ConfigError
from workflow.domain.vocabulary import ROLES

if TYPE_CHECKING:
    from workflow.config import Config

Interval = tuple[int, int]  # minutes after local midnight, [start, end)

# Searching further than this for an opening means the calendar never opens.
_MAX_DAYS = 3 * 366


class CalendarNeverOpens(ValueError):
    """The calendar has no working minute within three years."""


class NoPolicy(ConfigError):
    """A complaint's severity or member tier is no longer in config.yaml, so its clocks cannot be planned."""


@dataclass(frozen=True, eq=False)
class BusinessCalendar:
    """When the clock runs. `always_open` is the 24x7 calendar critical severities may use."""

    timezone: str = "Asia/Shanghai"
    weekly: tuple[tuple[Interval, ...], ...] = field(default_factory=lambda: ((),) * 7)  # Monday first
    closed_dates: frozenset[date] = frozenset()
    extra_working_days: Mapping[date, tuple[Interval, ...]] = field(default_factory=dict)
    always_open: bool = False
    # Names of public holidays and of the weekend days worked instead of them, for explanations only.
    day_names: Mapping[date, str] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.timezone)

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        """Working intervals on a local calendar day (extra working days beat holidays beat weekdays)."""
        if self.always_open:
            return ((0, 24 * 60),)
        extra = self.extra_working_days.get(day)
        if extra is not None:
            return extra
        if day in self.closed_dates:
            return ()
        return self.weekly[day.weekday()]

    def why_closed(self, day: date) -> str:
        """Why no minute of `day` counts: a named public holiday, a company closed day, or a day without hours."""
        if day in self.closed_dates:
            name = self.day_names.get(day)
            return f"holiday: {name}" if name else "company closed day"
        return f"no working hours on {day.strftime('%A')}s"

    def why_open(self, day: date) -> str | None:
        """Why a day that is normally closed counts (an adjusted working day), or None for an ordinary one."""
        if day not in self.extra_working_days or self.always_open:
            return None
        name = self.day_names.get(day)
        return f"adjusted working day ({name})" if name else "adjusted working day"


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _local_bounds(calendar: BusinessCalendar, day: date, interval: Interval) -> tuple[datetime, datetime]:
    zone = calendar.zone
    midnight = datetime.combine(day, time(0), tzinfo=zone)
    start = (midnight + timedelta(minutes=interval[0])).astimezone(UTC)
    end = (midnight + timedelta(minutes=interval[1])).astimezone(UTC)
    return start, end


@lru_cache(maxsize=65536)
def _periods_on(calendar: BusinessCalendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    """A day's working periods as UTC instants, worked out once per calendar and day: every due time, countdown
    and replay walks the same few weeks again and again.

    A bound inside a daylight-saving gap (02:30 on the night clocks skip from 02:00 to 03:00) names no instant
    and is read with the offset before the gap, so it can fall after the next period's start: each period starts
    no earlier than the one before it ends, so no minute is counted twice."""
    periods: list[tuple[datetime, datetime]] = []
    for interval in calendar.intervals_on(day):
        start, end = _local_bounds(calendar, day, interval)
        if periods:
            start = max(start, periods[-1][1])
        if end > start:
            periods.append((start, end))
    return tuple(periods)


def _open_periods(calendar: BusinessCalendar, start: datetime, until: datetime | None = None):
    """Working periods (UTC start, UTC end) that end after `start`, in order, up to `until` when given.

    Without `until` the search gives up after three years without an opening.
    """
    zone = calendar.zone
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = day + timedelta(days=_MAX_DAYS) if until is None else until.astimezone(zone).date() + timedelta(days=1)
    while day <= last:
        for period_start, period_end in _periods_on(calendar, day):
            if period_end > start:
                yield max(period_start, start), period_end
        day += timedelta(days=1)
    if until is None:
        raise CalendarNeverOpens("the business calendar has no working hours within three years")


def walk(start: datetime, minutes: float, calendar: BusinessCalendar) -> Iterator[tuple[datetime, datetime]]:
    """The working stretches (UTC start, UTC end) that `minutes` of business time from `start` count, in order.

    The last one ends at the instant the time is used up. This is the one walk every due time is computed by,
    and the one `redress explain` shows, so an explanation cannot tell a different story from the deadline.
    Zero minutes from a closed moment is a stretch of no length at the next opening.
    """
    if minutes < 0:
        raise ValueError("cannot add negative business time")
    if calendar.always_open:
        yield start, start + timedelta(minutes=minutes)
        return
    if minutes == 0 and is_open(start, calendar):
        return
    remaining = timedelta(minutes=minutes)
    for period_start, period_end in _open_periods(calendar, start):
        available = period_end - period_start
        if remaining <= available:
            yield period_start, period_start + remaining
            return
        yield period_start, period_end
        remaining -= available


def add_business_time(start: datetime, minutes: float, calendar: BusinessCalendar) -> datetime:
    """The instant `minutes` of working time after `start` (the end of the last stretch `walk` counts).

    Zero minutes from a closed moment is the next opening, so a deadline is
    never inside closed hours: a complaint filed Friday 17:50 with 30 minutes
    in 09:00-18:00 is due Monday 09:20.
    """
    due = start
    for _, due in walk(start, minutes, calendar):  # noqa: B007 (the last stretch's end is the answer)
        pass
    return due


def stretches_between(
    start: datetime, end: datetime, calendar: BusinessCalendar,
) -> Iterator[tuple[datetime, datetime]]:
    """The working stretches within [start, end), in order: what `business_minutes_between` adds up."""
    if end <= start:
        return
    if calendar.always_open:
        yield start, end
        return
    for period_start, period_end in _open_periods(calendar, start, until=end):
        if period_start >= end:
            break
        yield period_start, min(period_end, end)


def business_minutes_between(start: datetime, end: datetime, calendar: BusinessCalendar) -> float:
    """Working minutes in [start, end); negative when end is before start."""
    if end < start:
        return -business_minutes_between(end, start, calendar)
    if calendar.always_open:
        return (end - start).total_seconds() / 60
    total = timedelta()
    for stretch_start, stretch_end in stretches_between(start, end, calendar):
        total += stretch_end - stretch_start
    return total.total_seconds() / 60


def is_open(moment: datetime, calendar: BusinessCalendar) -> bool:
    """Whether `moment` is inside working hours (the closing instant counts as inside)."""
    if calendar.always_open:
        return True
    local_day = moment.astimezone(calendar.zone).date()
    for day in (local_day - timedelta(days=1), local_day):
        for interval in calendar.intervals_on(day):
            period_start, period_end = _local_bounds(calendar, day, interval)
            if period_start <= moment <= period_end:
                return True
    return False


def parse_duration(text: str) -> float:
    """'90m', '4h', '1h30m', '45s' or a bare number of minutes -> minutes."""
    value = str(text).strip().lower()
    if value.isdigit():
        return int(value)
    match = re.fullmatch(r"(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?", value)
    if not value or match is None or not any(match.groups()):
        raise ValueError(f"'{text}' is not a duration; write e.g. 30m, 4h or 1h30m")
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return hours * 60 + minutes + seconds / 60


def parse_hours(text: str) -> Interval:
    """'09:00-18:00' -> (540, 1080)."""

    match = re.fullmatch(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", str(text).strip())
    if match is None:
        raise ValueError(f"'{text}' is not a span of hours; write e.g. 09:00-18:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if not (0 <= start < end <= 24 * 60) or m1 > 59 or m2 > 59:
        raise ValueError(f"'{text}' is not a span of hours within one day; write e.g. 09:00-18:00")
    return start, end


def build_calendar(
    *,
    timezone_name: str,
    always_open: bool,
    hours: Mapping[Any, list[str]],
    holidays_country: str | None,
    closed_dates: list[date],
    working_days: list[date],
    working_day_hours: list[str],
    years: range,
    public_days: Callable[[str, range], tuple[dict[date, str], set[date]]] | None = None,
) -> BusinessCalendar:
    """A calendar from configuration; `public_days(country, years)` supplies public holidays (with their names)
    and adjusted workdays (the holiday cache, handed in by the wiring so the rules here stay free of I/O)."""
    weekdays = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    weekly = tuple(tuple(parse_hours(span) for span in hours.get(day, [])) for day in weekdays)
    closed = set(closed_dates)
    worked = set(working_days)
    names: dict[date, str] = {}
    if holidays_country:
        if public_days is None:
            raise ConfigError(f"calendar with holidays_country {holidays_country} needs a holiday source")
        public, substituted = public_days(holidays_country, years)
        names.update(public)
        closed.update(public)
        worked.update(substituted)
    extra_hours = tuple(parse_hours(span) for span in working_day_hours)
    return BusinessCalendar(
        timezone=timezone_name,
        weekly=weekly,
        closed_dates=frozenset(closed - worked),
        extra_working_days={day: extra_hours for day in worked},
        always_open=always_open,
        day_names={day: name for day, name in names.items() if name},
    )


@dataclass(frozen=True)
class ClockPlan:
    """One complaint's SLA targets in business minutes, after its member tier's factor."""

    calendar: str
    first_response: float
    resolution: float
    warn_at: float
    start_level: int
    climb_every: float
    max_pause: float | None = None  # business minutes a wait on the customer may last; None: no limit

    def arming(self, *, first_response: bool) -> list[tuple[str, float]]:
        """(kind, offset) of the deadlines a fresh clock arms; reopened clocks skip the first response."""
        kinds = [("resolution_warning", self.resolution * self.warn_at), ("resolution", self.resolution)]
        if first_response:
            kinds = [("first_response_warning", self.first_response * self.warn_at),
                     ("first_response", self.first_response), *kinds]
        return kinds


def plan_for(config: Config, severity: str, tier: str) -> ClockPlan:
    """The SLA policy of `severity`, with targets shortened (or lengthened) by the tier's factor."""
    if severity not in config.sla.policies:
        raise NoPolicy(f"severity '{severity}' has no SLA policy in config.yaml; policies: "
                       f"{', '.join(config.sla.policies)}")
    if tier not in config.tier_names:
        raise NoPolicy(f"member tier '{tier}' is not in config.yaml; tiers: {', '.join(config.tier_names)}")
    policy = config.sla.policies[severity]
    factor = config.tier(tier).sla_factor
    return ClockPlan(
        calendar=policy.calendar,
        first_response=policy.first_response * factor,
        resolution=policy.resolution * factor,
        warn_at=policy.warn_at,
        start_level=ROLES.index(policy.start_level),
        climb_every=policy.climb_every,
        max_pause=policy.max_pause,
    )


def business_time(minutes: float) -> str:
    """Business minutes as '45m' or '26h 05m' (a business day is the calendar's, so no days)."""
    whole = round(minutes)
    return f"{whole}m" if whole < 60 else f"{whole // 60}h {whole % 60:02d}m"
