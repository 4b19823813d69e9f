"""How a clock reached a deadline, told as the stretches of working time it counted: pure, no database.

A clock runs in spans (from filing to a pause, from a resume to the next pause, ...), each on the calendar of
the severity it had then. Counting a deadline's business minutes through those spans with `sla.walk`, the same
walk every due time is computed by, gives each counted stretch of working time, each day skipped and why, each
adjusted working day counted, and the instant the minutes run out. `redress explain` shows this story, and a
replay that does not land on the stored due time is shown as such, never hidden.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from workflow.domain.sla import BusinessCalendar, walk


@dataclass(frozen=True)
class Span:
    """The clock ran from `start` to `end` (None: it is still running) on `calendar`."""

    start: datetime
    end: datetime | None
    calendar_name: str
    calendar: BusinessCalendar


@dataclass(frozen=True)
class Gap:
    """The clock did not run from `start` to `end`: a pause (with its reason) or a stopped clock."""

    start: datetime
    end: datetime | None
    what: str  # "paused" or "stopped"
    reason: str
    by: str
    business_minutes: float | None = None  # working time the pause held back, on the calendar it interrupted


@dataclass(frozen=True)
class Counted:
    """A stretch of working time the clock counted, with the running total after it."""

    start: datetime
    end: datetime
    minutes: float
    total: float
    calendar_name: str
    note: str | None  # an adjusted working day, say


@dataclass(frozen=True)
class Skipped:
    """A local calendar day on which no minute counted, and why."""

    day: date
    why: str
    calendar_name: str


Line = Counted | Skipped | Gap


@dataclass(frozen=True)
class Story:
    lines: tuple[Line, ...]
    counted: float  # business minutes counted, at most the target
    reached: datetime | None  # when the target was reached; None while minutes are still left
    left: float  # business minutes still to count (0 once reached)


def _minutes(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 60


def _days_between(first: date, last: date) -> Iterable[date]:
    """The days strictly between two local dates."""
    day = first + timedelta(days=1)
    while day < last:
        yield day
        day += timedelta(days=1)


def _skipped(span: Span, after: datetime, before: datetime) -> list[Skipped]:
    """The closed days between two moments of one span (a day with hours is never skipped within a span)."""
    zone = span.calendar.zone
    return [Skipped(day, span.calendar.why_closed(day), span.calendar_name)
            for day in _days_between(after.astimezone(zone).date(), before.astimezone(zone).date())
            if not span.calendar.intervals_on(day)]


def count(spans: Sequence[Span | Gap], target: float) -> Story:
    """Count `target` business minutes through the spans in order, telling each stretch, skipped day and gap."""
    lines: list[Line] = []
    total = 0.0
    for part in spans:
        if isinstance(part, Gap):
            lines.append(part)
            continue
        cursor = part.start
        for start, end in walk(part.start, max(target - total, 0.0), part.calendar):
            if part.end is not None and start >= part.end:
                break
            clipped = min(end, part.end) if part.end is not None else end
            lines.extend(_skipped(part, cursor, start))
            total += _minutes(start, clipped)
            lines.append(Counted(start, clipped, _minutes(start, clipped), total, part.calendar_name,
                                 part.calendar.why_open(start.astimezone(part.calendar.zone).date())))
            cursor = clipped
        if target - total < 1e-6:  # the walk's last stretch ended inside the span (or nothing was left)
            return Story(tuple(lines), target, cursor, 0.0)
    return Story(tuple(lines), total, None, target - total)
