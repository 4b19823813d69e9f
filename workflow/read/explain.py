"""`redress explain`: how each deadline of a complaint was reached, from its recorded history.

The audit trail says when the clock ran (filing, pauses with their reasons, resumes, severity changes, stops,
reopens) and who gave it more time. The spans it ran in are counted through `workflow.domain.clock_story`
with the walk every due time is computed by, so the explanation lands on the stored due time; when it does
not (config.yaml changed since the deadline was planned), it says so and shows both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from states.definition import Trigger
from workflow.adapters.models import CUSTOMERS, EVENTS, STEPS
from workflow.adapters.records import load_complaint
from workflow.bootstrap import Redress
from workflow.domain.clock_story import Counted, Gap, Skipped, Span, Story, count
from workflow.domain.errors import InvalidInput
from workflow.domain.sla import (
    BusinessCalendar,
    NoPolicy,
    add_business_time,
    business_minutes_between,
    business_time,
    plan_for,
)
from workflow.domain.vocabulary import ROLES
from workflow.services import clocks
from workflow.services.replan import REPLAN

STOPPED_STATES = clocks.STOPPED_STATES
# The events that arm the next ladder step (workflow/services/firing.py, supervision.lower_escalation).
LADDER_TRIGGERS = ("sla_breach", "escalate", "lower_escalation")
# The events the scheduler writes as it fires a deadline, naming its kind.
FIRING_TRIGGERS = ("sla_warning", "sla_breach", "escalate")
SLA_EXPLAINED = ("first_response_warning", "first_response", "resolution_warning", "resolution", "escalation")
EXPLAINED_KINDS = (*SLA_EXPLAINED, clocks.STEP)
# Replays within this of the stored due time agree: business minutes are floats, the shown times are minutes.
_AGREES_WITHIN_SECONDS = 1.0


@dataclass
class _Life:
    """One run of the clock (filing to now, or a reopen to now): its spans, gaps and re-plans, oldest first."""

    started: datetime
    parts: list[Span | Gap] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    severities: list[tuple[datetime, int, str]] = field(default_factory=list)  # (since, event id, severity)
    resumed: list[tuple[datetime, int]] = field(default_factory=list)  # (at, event id): each re-plans what pends
    paused: list[tuple[datetime, int]] = field(default_factory=list)  # (at, event id): each suspends what pends
    fired: dict[tuple[str, datetime], int] = field(default_factory=dict)  # (kind, at) -> the firing's event id
    ladder: list[tuple[datetime, str]] = field(default_factory=list)  # ladder steps armed, with the severity then
    arming: list[tuple[datetime, int, str]] = field(default_factory=list)  # (at, event id, "sla" or "ladder")
    replanned: list[tuple[datetime, int]] = field(default_factory=list)  # (at, event id): `redress sla replan`


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


class _Clock:
    """Replays the trail's events into lives of the clock."""

    def __init__(self, app: Redress) -> None:
        self.app = app
        self.pause_states = frozenset(app.config.sla.pause_states)
        self.lives: list[_Life] = []
        self.severity = ""
        self.open_at: datetime | None = None  # the running span's start
        self.gap: tuple[datetime, str, str, str] | None = None  # (start, what, reason, by)

    def calendar_name(self, severity: str) -> str:
        policy = self.app.config.sla.policies.get(severity)
        if policy is None:
            raise NoPolicy(f"severity '{severity}' has no SLA policy in config.yaml; policies: "
                           f"{', '.join(self.app.config.sla.policies)}")
        return policy.calendar

    def _close_span(self, at: datetime) -> None:
        if self.open_at is not None:
            name = self.calendar_name(self.severity)
            self.lives[-1].parts.append(Span(self.open_at, at, name, self.app.calendar(name)))
            self.open_at = None

    def _close_gap(self, at: datetime | None) -> None:
        if self.gap is not None:
            start, what, reason, by = self.gap
            name = self.calendar_name(self.severity)
            held = business_minutes_between(start, at or self.app.clock.now(), self.app.calendar(name))
            self.lives[-1].parts.append(Gap(start, at, what, reason, by, round(held, 1)))
            self.gap = None

    def _start_life(self, at: datetime) -> None:
        self.lives.append(_Life(at, severities=[(at, 0, self.severity)]))
        self.open_at, self.gap = at, None

    def play(self, event: Any) -> None:
        data = json.loads(event.data or "{}")
        if event.trigger == "file":
            self.severity = data.get("severity", self.severity)
            self._start_life(event.at)
            self.lives[-1].arming.append((event.at, event.id, "sla"))
            return
        if not self.lives:
            return
        life = self.lives[-1]
        if event.trigger == Trigger.REOPEN:
            self._close_gap(event.at)
            self._start_life(event.at)
            self.lives[-1].arming.append((event.at, event.id, "sla"))
            self.lives[-1].changes.append({"at": _iso(event.at), "what": "reopened", "by": event.actor,
                                           "reason": event.note, "detail": "a fresh resolution clock"})
            return
        if event.trigger == Trigger.CHANGE_SEVERITY:
            running = self.open_at is not None
            self._close_span(event.at)
            life.changes.append({"at": _iso(event.at), "what": "severity", "by": event.actor, "reason": event.note,
                                 "detail": f"{data.get('from')} -> {data.get('to')}: targets re-planned, "
                                           "the time already counted kept"})
            self.severity = data.get("to", self.severity)
            life.severities.append((event.at, event.id, self.severity))
            life.arming.append((event.at, event.id, "sla"))
            if running:
                self.open_at = event.at
            return
        if event.trigger in FIRING_TRIGGERS and "deadline" in data:
            life.fired[(data["deadline"], event.at)] = event.id
        if event.trigger in LADDER_TRIGGERS:
            life.ladder.append((event.at, self.severity))
            life.arming.append((event.at, event.id, "ladder"))
        if event.trigger == REPLAN:
            life.replanned.append((event.at, event.id))
            life.changes.append({"at": _iso(event.at), "event": event.id, "what": "replan", "by": event.actor,
                                 "reason": event.note, "detail": f"re-planned under a changed policy, "
                                 f"{business_time(data.get('used_minutes') or 0)} used kept"})
            return
        if event.trigger == "extend_deadline":
            life.changes.append({"at": _iso(event.at), "event": event.id, "what": "extension", "by": event.actor,
                                 "reason": event.note,
                                 "by_minutes": data.get("by_minutes"),
                                 "detail": f"+{business_time(data.get('by_minutes') or 0)} on the resolution clock"})
            return
        was, now = event.from_state, event.to_state
        if now in STOPPED_STATES and was not in STOPPED_STATES:
            self._close_span(event.at)
            self._close_gap(event.at)
            self.gap = (event.at, "stopped", f"{now}", event.actor)
        elif now in self.pause_states and was not in self.pause_states and self.open_at is not None:
            self._close_span(event.at)
            reason = ": ".join(part for part in (data.get("pause_reason"), event.note) if part)
            self.gap = (event.at, "paused", reason or "no reason given", event.actor)
            life.paused.append((event.at, event.id))
        elif was in self.pause_states and now not in self.pause_states and now not in STOPPED_STATES:
            self._close_gap(event.at)
            self.open_at = event.at
            life.resumed.append((event.at, event.id))

    def finish(self) -> None:
        """The span or gap still open now stays open-ended (None): the clock runs on, or waits."""
        if self.open_at is not None:
            name = self.calendar_name(self.severity)
            self.lives[-1].parts.append(Span(self.open_at, None, name, self.app.calendar(name)))
        else:
            self._close_gap(None)


def _level_name(level: int | None) -> str | None:
    return ROLES[level] if level is not None and 0 <= level < len(ROLES) else None


def _severity_at(life: _Life, at: datetime) -> str:
    current = life.severities[0][2]
    for since, _, severity in life.severities:
        if since <= at:
            current = severity
    return current


def _severity_before(life: _Life, event_id: int) -> str:
    """The severity in force when event `event_id` happened (changes in the same instant count in their order)."""
    return [severity for _, changed, severity in life.severities if changed < event_id][-1]


def _policy_target(app: Redress, kind: str, severity: str, tier: str, life: _Life, row: Any) -> dict[str, Any]:
    """What the policy gives this kind of deadline, and the steps from it to the stored target."""
    policy = app.config.sla.policies[severity]
    factor = app.config.tier(tier).sla_factor
    plan = plan_for(app.config, severity, tier)
    base = {"first_response": policy.first_response, "first_response_warning": policy.first_response * policy.warn_at,
            "resolution": policy.resolution, "resolution_warning": policy.resolution * policy.warn_at}
    extensions = [c for c in life.changes if c["what"] == "extension" and kind in clocks.RESOLUTION_KINDS
                  and _while_pending(life, row, datetime.fromisoformat(c["at"]), c["event"])]
    extended = sum(c.get("by_minutes") or 0 for c in extensions)
    if kind == "escalation":
        armed_after = row.offset_minutes - extended - plan.climb_every
        policy_minutes = armed_after + plan.climb_every
        how = (f"climbs to {_level_name(row.level)} {business_time(plan.climb_every)} after it was armed, "
               f"when the clock had run {business_time(armed_after)}")
    else:
        policy_minutes = base[kind] * factor
        how = (f"policy '{severity}': {business_time(base[kind])}"
               + (f" x tier '{tier}' factor {factor:g}" if factor != 1 else ""))
    return {"severity": severity, "tier": tier, "tier_factor": factor, "calendar": policy.calendar,
            "policy_minutes": round(policy_minutes, 1), "extensions": extensions,
            "how": how, "matches_policy": abs(policy_minutes + extended - row.offset_minutes) < 1e-6}


def _line(line: Counted | Skipped | Gap) -> dict[str, Any]:
    if isinstance(line, Counted):
        return {"type": "counted", "start": _iso(line.start), "end": _iso(line.end),
                "minutes": round(line.minutes, 1), "total": round(line.total, 1),
                "calendar": line.calendar_name, "note": line.note}
    if isinstance(line, Skipped):
        return {"type": "skipped", "day": line.day.isoformat(), "why": line.why, "calendar": line.calendar_name}
    return {"type": line.what, "start": _iso(line.start), "end": _iso(line.end), "reason": line.reason,
            "by": line.by, "business_minutes": line.business_minutes}


def _agrees(story: Story, stored: datetime | None) -> bool:
    if story.reached is None or stored is None:
        return story.reached is None and stored is None
    return abs((story.reached - stored).total_seconds()) <= _AGREES_WITHIN_SECONDS


def _while_pending(life: _Life, row: Any, moment: datetime, event_id: int) -> bool:
    """Whether the change of event `event_id` at `moment` reached the deadline: armed by then, not yet fired (in
    the same instant, the events' order says which came first) or cancelled."""
    if row.created_at > moment or (row.cancelled_at is not None and moment > row.cancelled_at):
        return False
    if moment == row.created_at:  # armed in the same instant: only a later event reached it
        group = "ladder" if row.kind == "escalation" else "sla"
        armed_by = max((e for at, e, g in life.arming if at == moment and g == group), default=0)
        if event_id < armed_by:
            return False
    if row.fired_at is None or moment < row.fired_at:
        return True
    firing = life.fired.get((row.kind, row.fired_at))
    return moment == row.fired_at and firing is not None and event_id < firing


def _armed_severity(life: _Life, row: Any) -> str:
    """The severity a deadline was armed under: a ladder step's is the one its arming event saw (a severity
    change in the same instant may come after it)."""
    if row.kind == "escalation":
        armed = [severity for at, severity in life.ladder if at <= row.created_at]
        if armed:
            return armed[-1]
    return _severity_at(life, row.created_at)


def _running_at(life: _Life, moment: datetime) -> bool:
    return any(isinstance(p, Span) and p.start <= moment and (p.end is None or moment < p.end) for p in life.parts)


def _as_planned(parts: list[Span | Gap], planned_at: datetime, planned_on: str, calendar: BusinessCalendar,
                *, paused: bool) -> list[Span | Gap]:
    """The clock's spans as the deadline was last planned: as they ran until then, and (unless it waits in a pause)
    running on from then on the calendar of that moment, whatever came after (a stop cancels the deadline, a
    pause takes its due time away, and both are told beside it)."""
    if paused:
        return [Span(p.start, p.end, planned_on, calendar) if isinstance(p, Span) and p.start >= planned_at else p
                for p in parts]
    before: list[Span | Gap] = []
    for part in parts:
        if part.start >= planned_at:
            break
        if isinstance(part, Span) and (part.end is None or part.end > planned_at):
            part = Span(part.start, planned_at, part.calendar_name, part.calendar)
        before.append(part)
    last = before[-1] if before else None
    if isinstance(last, Span) and last.end == planned_at and last.calendar_name == planned_on:
        return [*before[:-1], Span(last.start, None, planned_on, calendar)]  # one span, told as one
    return [*before, Span(planned_at, None, planned_on, calendar)]


def _explain_sla(app: Redress, row: Any, life: _Life, tier: str) -> dict[str, Any]:
    severity = _armed_severity(life, row)
    target = _policy_target(app, row.kind, severity, tier, life, row)
    # A deadline is planned when armed and again at each resume and extension, on the calendar of that moment;
    # a later severity change re-arms the SLA targets but leaves a ladder step on the calendar it was planned on.
    replans = [*((m, event) for m, event in life.resumed if _while_pending(life, row, m, event)),
               *((m, event) for m, event in life.replanned
                 if _running_at(life, m) and _while_pending(life, row, m, event)),
               *((datetime.fromisoformat(c["at"]), c["event"]) for c in target["extensions"]
                 if _running_at(life, datetime.fromisoformat(c["at"])))]  # while paused it moves no due time
    planned_at, planned_under = row.created_at, severity
    if replans:
        last_at, last_event = max(replans)
        if last_at >= row.created_at:
            planned_at, planned_under = last_at, _severity_before(life, last_event)
    planned_on = plan_for(app.config, planned_under, tier).calendar
    calendar = app.calendar(planned_on)
    # A pause after that takes the due time away (clocks.suspend) until the next resume plans it again.
    suspended = any(at >= planned_at and _while_pending(life, row, at, event) for at, event in life.paused)
    story = count(_as_planned(life.parts, planned_at, planned_on, calendar, paused=suspended), row.offset_minutes)
    if suspended:
        return {"target_minutes": round(row.offset_minutes, 1), "target": target,
                "story": Story(story.lines, story.counted, None, row.offset_minutes - story.counted)}
    target["planned"] = {"at": _iso(planned_at), "calendar": planned_on}
    # One whose target had already passed when it was planned fell due at that moment's next working minute
    # (clocks.Checkpoint.due), not in the past.
    due_then = add_business_time(planned_at, 0.0, calendar)
    if story.reached is not None and story.reached < due_then:
        target["due_at_once"] = {"at": _iso(due_then), "because": "the target had already passed when the "
                                 "deadline was last planned (armed, resumed or extended), so it fell due then"}
        story = Story(story.lines, story.counted, due_then, story.left)
    return {"target_minutes": round(row.offset_minutes, 1), "target": target, "story": story}


def _explain_step(app: Redress, session: Any, row: Any, life: _Life, tier: str, reminder: bool) -> dict[str, Any]:
    """A compensation step's timer: due a fixed business time after it was planned on the steps' calendar,
    at once when the step is carried out at once, or `climb_every` after it was found overdue (a reminder)."""
    step = session.execute(select(STEPS.c.kind).where(STEPS.c.id == row.step_id)).one()
    severity = _severity_at(life, row.created_at)
    plan = plan_for(app.config, severity, tier)
    if reminder:
        minutes, how = plan.climb_every, f"step '{step.kind}' still undone: reminded {business_time(plan.climb_every)}"
    else:
        minutes = app.config.compensation.due_after(step.kind)
        how = f"step '{step.kind}': due {business_time(minutes)} of business time after it was planned"
    calendar_name = app.config.compensation.calendar or plan.calendar  # compensation.step_calendar
    target = {"severity": severity, "tier": tier, "calendar": calendar_name, "policy_minutes": minutes,
              "step": step.kind, "extensions": [], "matches_policy": True, "how": how}
    if row.due_at == row.created_at:  # carried out at once (money within the agent's limit, a letter now)
        target["how"] = f"step '{step.kind}': carried out at once"
        return {"target_minutes": 0.0, "target": target, "story": Story((), 0.0, row.created_at, 0.0)}
    story = count([Span(row.created_at, None, calendar_name, app.calendar(calendar_name))], minutes)
    return {"target_minutes": minutes, "target": target, "story": story}


def explain(app: Redress, ref: str, deadline: str | None = None) -> dict[str, Any]:
    """How each deadline of the complaint's current clock was reached (only `deadline`'s kind when given)."""
    if deadline is not None and deadline not in EXPLAINED_KINDS:
        raise InvalidInput(f"deadline '{deadline}' is not a kind; kinds: {', '.join(EXPLAINED_KINDS)}")
    with app.uow(write=False) as uow:
        session = uow.session
        complaint = load_complaint(session, ref)
        tier = session.execute(select(CUSTOMERS.c.tier).where(CUSTOMERS.c.id == complaint.customer_id)).scalar_one()
        clock = _Clock(app)
        try:
            for event in session.execute(select(EVENTS).where(EVENTS.c.complaint_id == complaint.id)
                                         .order_by(EVENTS.c.id)):
                clock.play(event)
            clock.finish()
        except NoPolicy as error:
            return {"number": complaint.number, "problem": str(error), "deadlines": [], "changes": []}
        if not clock.lives or complaint.sla_started_at is None:
            return {"number": complaint.number, "problem": "its clock never started", "deadlines": [], "changes": []}
        life = clock.lives[-1]
        rows = [row for row in clocks.all_deadlines(session, complaint.id)
                if row.kind in EXPLAINED_KINDS and row.created_at >= life.started
                and (deadline is None or row.kind == deadline)]
        latest: dict[tuple[str, int | None], Any] = {}
        timers: dict[int | None, int] = {}
        for row in rows:  # the latest of each kind; every step's own timer
            latest[(row.kind, row.step_id)] = row
            timers[row.step_id] = timers.get(row.step_id, 0) + 1
        explained = []
        for row in sorted(latest.values(), key=lambda r: (r.due_at is None, r.due_at or r.created_at, r.id)):
            try:
                told = (_explain_step(app, session, row, life, tier, reminder=timers[row.step_id] > 1)
                        if row.kind == clocks.STEP
                        else _explain_sla(app, row, life, tier))
            except NoPolicy as error:
                explained.append({"kind": row.kind, "problem": str(error)})
                continue
            story: Story = told["story"]
            explained.append({
                "kind": row.kind, "level": _level_name(row.level),
                "status": ("fired" if row.fired_at else "cancelled" if row.cancelled_at
                           else "paused" if row.due_at is None else "pending"),
                "due_at": _iso(row.due_at), "replayed_due_at": _iso(story.reached),
                "agrees": _agrees(story, row.due_at),
                "target_minutes": told["target_minutes"], "counted_minutes": round(story.counted, 1),
                "left_minutes": round(story.left, 1), "policy": told["target"],
                "lines": [_line(line) for line in story.lines],
            })
        return {"number": complaint.number, "severity": complaint.severity, "tier": tier,
                "state": complaint.state, "clock_started_at": _iso(life.started),
                "changes": life.changes, "deadlines": explained}
