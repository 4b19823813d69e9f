"""A complaint's recorded history replayed through a policy: when each deadline falls, which are met, how far it
climbs and how many staff alerts it raises.

Pure: the history (filing, severity changes, waits on the customer, extensions, first response, stops and
reopens) comes in as plain records and the policy as two functions, so the same code replays what happened
under today's config.yaml (and lands on the recorded due times) and under a proposed one (`redress whatif`).
The clock rules are the engine's (workflow/services/clocks.py): business time counted on the severity's
calendar, pauses not counted, a severity change re-targets what is pending and keeps the time used, a
supervisor's extension moves the resolution clock and the next ladder step, a breach climbs one level and
arms the ladder, a wait longer than the policy's longest pause resumes the clock by itself. One difference is
deliberate: the replay fires each deadline at its due instant, as a scheduler that never lags would, and before
anything else recorded at that same instant.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from workflow.domain.sla import BusinessCalendar, ClockPlan, add_business_time, business_minutes_between

TOP_LEVEL = 3  # manager: the ladder's last rung (workflow.domain.vocabulary.ROLES)
FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"
_WARNING = "_warning"
_LADDER = "escalation"


@dataclass(frozen=True)
class Moment:
    """One recorded change that matters to the clock: pause (value: whether a longest pause applies), resume,
    limit (the scheduler ended a wait at the limit of its day), severity (value: the new one), extend (value:
    business minutes), lower (value: the level a supervisor lowered to), responded, stop (value: the state it
    stopped in), reopen."""

    at: datetime
    order: int  # the event's id: same-instant moments keep their recorded order
    what: str
    value: str | float | None = None


@dataclass(frozen=True)
class History:
    complaint_id: int
    number: str
    tier: str
    filed_at: datetime
    severity: str  # at filing
    moments: tuple[Moment, ...]


@dataclass
class Fate:
    """What the policy made of one complaint, up to `until`."""

    due: dict[str, datetime | None] = field(default_factory=dict)  # the last due time of each clock's deadline
    breached: set[str] = field(default_factory=set)  # first_response, resolution
    met: set[str] = field(default_factory=set)
    climbs: Counter[int] = field(default_factory=Counter)  # levels reached by climbing
    alerts: int = 0  # staff alerts: warnings, breaches, ladder steps, waits that ran to the limit


Plans = Callable[[str, str], ClockPlan]  # (severity, tier) -> the plan
Calendars = Callable[[str], BusinessCalendar]


class _Life:
    """One run of the clock, from filing or a reopen to a stop (or `until`)."""

    def __init__(self, plan_of: Callable[[str], ClockPlan], calendars: Calendars, fate: Fate, severity: str,
                 start: datetime, level: int, first_response: bool) -> None:
        self.plan_of, self.calendars, self.fate = plan_of, calendars, fate
        self.severity, self.level = severity, level
        self.at, self.used, self.running, self.extended = start, 0.0, True, 0.0
        self.paused_at: datetime | None = None
        self.limit_at: datetime | None = None  # the wait's longest end, fixed when it began (clocks.pause)
        self.kept_waiting = False  # the trail's wait ended at a shorter limit than this policy's
        self.targets: dict[str, float] = {}
        self.ladder: float | None = None
        # A severity change leaves the next ladder step where it was planned (clocks.retarget re-arms only the
        # SLA targets): its instant, until a pause, resume or extension plans it again on the calendar then.
        self.ladder_due: datetime | None = None
        self.armed: dict[str, int] = {}  # the order deadlines were armed in: same-instant ones fire in it (row ids)
        self._arming = 0
        self.retarget(first_response=first_response)

    @property
    def plan(self) -> ClockPlan:
        return self.plan_of(self.severity)

    @property
    def calendar(self) -> BusinessCalendar:
        return self.calendars(self.plan.calendar)

    def retarget(self, *, first_response: bool | None = None) -> None:
        """The pending deadlines' targets under the plan of the severity now (fired ones stay fired)."""
        plan = self.plan
        every = {FIRST_RESPONSE + _WARNING: plan.first_response * plan.warn_at, FIRST_RESPONSE: plan.first_response,
                 RESOLUTION + _WARNING: plan.resolution * plan.warn_at + self.extended,
                 RESOLUTION: plan.resolution + self.extended}
        kinds = list(every)[0 if first_response else 2:] if first_response is not None else list(self.targets)
        self.targets = {kind: every[kind] for kind in kinds}
        for kind in kinds:
            self._arm(kind)
        self._plan_dues()

    def _arm(self, kind: str) -> None:
        self._arming += 1
        self.armed[kind] = self._arming

    def _plan_dues(self) -> None:
        for kind, target in self.targets.items():
            if not kind.endswith(_WARNING):
                self.fate.due[kind] = (add_business_time(self.at, max(target - self.used, 0.0), self.calendar)
                                       if self.running else None)

    def run_until(self, until: datetime) -> None:
        """Count the clock on to `until`, firing what falls due before it."""
        if not self.running:
            self._pause_limit(until)
            if not self.running:
                self.at = max(self.at, until)  # paused: the time goes by uncounted
                return
        calendar = self.calendar
        while True:  # a deadline due at the very instant of the next change fires first, as the scheduler's does
            dues = [(self.ladder_due if kind == _LADDER and self.ladder_due is not None
                     else add_business_time(self.at, max(target - self.used, 0.0), calendar), self.armed[kind], kind)
                    for kind, target in self._armed()]
            if not dues or min(dues)[0] > until:
                break
            due_at, _, due_kind = min(dues)  # same instant: in the order they were armed, as the scheduler fires
            self.used += business_minutes_between(self.at, due_at, calendar)
            self.at = due_at
            self._fire(due_kind, due_at)
        self.used += business_minutes_between(self.at, until, calendar)
        self.at = until

    def _armed(self) -> list[tuple[str, float]]:
        armed = list(self.targets.items())
        return armed + [(_LADDER, self.ladder)] if self.ladder is not None else armed

    def _fire(self, kind: str, at: datetime) -> None:
        self.fate.alerts += 1
        if kind == _LADDER:
            self.ladder, self.ladder_due = None, None
        else:
            del self.targets[kind]
            if kind.endswith(_WARNING):
                return
            self.fate.due[kind] = at
            self.fate.breached.add(kind)
        if self.level < TOP_LEVEL:  # at the top a breach alerts again but climbs nowhere
            self.level += 1
            self.fate.climbs[self.level] += 1
        self._arm_ladder()

    def _arm_ladder(self) -> None:
        self.ladder = self.used + self.plan.climb_every if self.level < TOP_LEVEL else None
        self.ladder_due = None
        self._arm(_LADDER)

    def _pause_limit(self, until: datetime) -> None:
        """A wait longer than the policy's longest pause ends at the limit: the clock runs again, staff told."""
        if self.limit_at is not None and self.limit_at <= until:
            self.fate.alerts += 1
            self._resume(self.limit_at)
            self.run_until(until)

    def _resume(self, at: datetime) -> None:
        self.at, self.running, self.paused_at, self.limit_at, self.kept_waiting = at, True, None, None, False
        self.ladder_due = None
        self._plan_dues()

    def apply(self, moment: Moment) -> None:
        what = moment.what
        if self.kept_waiting and not self.running:  # the first thing done after the trail's limit ends the wait
            self._resume(moment.at)
        if what == "pause" and self.running:
            self.running, self.paused_at = False, moment.at
            limit = self.plan.max_pause
            self.limit_at = (add_business_time(moment.at, limit, self.calendar)
                             if moment.value and limit is not None else None)
            self.ladder_due = None
            self._plan_dues()
        elif what == "resume" and not self.running:
            self._resume(moment.at)
        elif what == "limit" and not self.running:
            self.kept_waiting = True  # this policy's limit is later (or none): the wait goes on
        elif what == "lower":
            self.level = int(moment.value or 0)
            self._arm_ladder()
        elif what == "severity":
            if self.running and self.ladder is not None and self.ladder_due is None:
                self.ladder_due = add_business_time(self.at, max(self.ladder - self.used, 0.0), self.calendar)
            self.severity = str(moment.value)
            self.retarget()
        elif what == "extend":
            minutes = float(moment.value or 0.0)
            self.extended += minutes
            for kind in [k for k in self.targets if k.startswith(RESOLUTION)]:
                self.targets[kind] += minutes
            if self.ladder is not None:
                self.ladder += minutes
            self.ladder_due = None
            self._plan_dues()
        elif what == "responded":
            for kind in (FIRST_RESPONSE + _WARNING, FIRST_RESPONSE):
                if self.targets.pop(kind, None) is not None and kind == FIRST_RESPONSE:
                    self.fate.met.add(FIRST_RESPONSE)

    def stop(self, *, resolved: bool) -> None:
        if resolved and RESOLUTION in self.targets:
            self.fate.met.add(RESOLUTION)
        self.targets, self.ladder = {}, None


def replay(history: History, plans: Plans, calendars: Calendars, until: datetime) -> Fate:
    """The history's fate under a policy, counted to `until` (now, or the end of what is looked at)."""
    fate = Fate()

    def plan_of(severity: str) -> ClockPlan:
        return plans(severity, history.tier)

    life = _Life(plan_of, calendars, fate, history.severity, history.filed_at,
                 plan_of(history.severity).start_level, first_response=True)
    alive = True
    for moment in history.moments:
        if moment.at > until:
            break
        if alive:
            life.run_until(moment.at)
        if moment.what == "stop" and alive:
            life.stop(resolved=moment.value != "cancelled")
            alive = False
        elif moment.what == "reopen":
            life = _Life(plan_of, calendars, fate, life.severity, moment.at, life.level, first_response=False)
            alive = True
        elif alive:
            life.apply(moment)
        elif moment.what == "severity":
            life.severity = str(moment.value)
    if alive:
        life.run_until(max(until, life.at))
    return fate
