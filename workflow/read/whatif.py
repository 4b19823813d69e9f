"""`redress whatif`: every complaint filed in a period replayed through a proposed config.yaml, next to what
actually happened (`actual`, from the trail) and to the same replay under the config now loaded (`current`).

The current replay fires every deadline on time, as a live scheduler does; where the trail has fewer climbs or
alerts than it, the scheduler was not running (a demo database, a stopped server). Compare `what_if` with
`current` for the policy's effect, and with `actual` for what the customers lived through.

The recorded history (workflow/domain/replay.py) is read in two queries; what actually happened is the trail's
own breaches, climbs and alerts. The same replay under the config now loaded must land on the recorded due
times: the report counts how many it reproduced, so a manager can see the comparison is sound before trusting it.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from states.definition import CANCELLED, CLOSED, RESOLVED, WAITING_CUSTOMER, Trigger
from workflow.adapters.models import COMPLAINTS, CUSTOMERS, DEADLINES, EVENTS
from workflow.bootstrap import Redress
from workflow.config import Config
from workflow.domain.clock import parse_period_edge
from workflow.domain.errors import ConfigError, InvalidInput
from workflow.domain.permissions import require
from workflow.domain.replay import FIRST_RESPONSE, RESOLUTION, Fate, History, Moment, replay
from workflow.domain.sla import NoPolicy, plan_for
from workflow.domain.vocabulary import ROLES
from workflow.services.people import acting_user

CLOCKS = (FIRST_RESPONSE, RESOLUTION)
_STOPPED = frozenset(state.value for state in (RESOLVED, CLOSED, CANCELLED))
_FIRST_ANSWERS = frozenset(t.value for t in (Trigger.RESPOND, Trigger.RESOLVE, Trigger.ANSWER_FROM_MANUAL))
_ALERTING = ("sla_warning", "sla_breach", "escalate", Trigger.PAUSE_LIMIT_REACHED.value)
_CLIMBING = ("sla_breach", "escalate")
_AGREES_WITHIN = timedelta(seconds=1)
_SEVERITY, _EXTEND, _REOPEN = Trigger.CHANGE_SEVERITY.value, "extend_deadline", Trigger.REOPEN.value
_LIMIT, _LOWER, _REPLAN = Trigger.PAUSE_LIMIT_REACHED.value, "lower_escalation", "sla_replan"
_LIMITED = WAITING_CUSTOMER.value  # the wait a longest pause ends (effects._pause_clock)


def _edge(app: Redress, value: str, option: str) -> datetime:
    try:
        return parse_period_edge(value, option, app.config.timezone)
    except ConfigError as error:
        raise InvalidInput(str(error)) from None


def moments_of(events: list[Any], first_responded_at: datetime | None, pause_states: frozenset[str]
               ) -> tuple[str, tuple[Moment, ...]]:
    """A complaint's events as the clock sees them (pause states are the policy's); its severity at filing.

    Read as plain tuples and strings: a period of 100,000 complaints is millions of events."""
    severity, moments, answered = "", [], False
    for event_id, _, at, trigger, from_state, to_state, data in events:
        order = event_id * 2
        if not answered and at == first_responded_at and trigger in _FIRST_ANSWERS:
            moments.append(Moment(at, order, "responded"))
            answered = True
        if from_state == to_state:  # recorded beside the state: only its data can matter
            if trigger == _SEVERITY:
                moments.append(Moment(at, order, "severity", json.loads(data).get("to")))
            elif trigger == _EXTEND:
                moments.append(Moment(at, order, "extend", float(json.loads(data).get("by_minutes") or 0)))
            elif trigger == _LOWER:
                moments.append(Moment(at, order, "lower", ROLES.index(json.loads(data)["to_level"])))
            continue
        if trigger == "file":
            severity = json.loads(data or "{}").get("severity", severity)
        elif trigger == _REOPEN:
            moments.append(Moment(at, order + 1, "reopen"))
        elif trigger == _LIMIT:
            moments.append(Moment(at, order + 1, "limit"))
        elif to_state in _STOPPED and from_state not in _STOPPED:
            moments.append(Moment(at, order + 1, "stop", to_state))
        elif to_state in pause_states and from_state not in pause_states:
            moments.append(Moment(at, order + 1, "pause", to_state == _LIMITED))
        elif from_state in pause_states and to_state not in pause_states:
            moments.append(Moment(at, order + 1, "resume"))
    return severity, tuple(sorted(moments, key=lambda m: (m.at, m.order)))


class _Policy:
    """Plans and calendars of one config.yaml, each built once."""

    def __init__(self, app: Redress) -> None:
        self.app = app
        self.pause_states = frozenset(app.config.sla.pause_states)
        self._plans: dict[tuple[str, str], Any] = {}

    def plan(self, severity: str, tier: str) -> Any:
        key = (severity, tier)
        if key not in self._plans:
            self._plans[key] = plan_for(self.app.config, severity, tier)
        return self._plans[key]

    def history(self, complaint: Any, events: list[Any]) -> History:
        severity, moments = moments_of(events, complaint.first_responded_at, self.pause_states)
        return History(complaint.id, complaint.number, complaint.tier, complaint.created_at,
                       severity or complaint.severity, moments)

    def replay(self, history: History, until: datetime) -> Fate:
        return replay(history, self.plan, self.app.calendar, until)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _load(app: Redress, start: datetime, end: datetime) -> tuple[Any, dict[int, list[Any]], dict[int, Any]]:
    """The complaints filed in the period, their events in order, and their last first-response and resolution
    deadline rows."""
    with app.uow(write=False) as uow:
        session = uow.session
        filed = (select(COMPLAINTS.c.id).where(COMPLAINTS.c.created_at >= start, COMPLAINTS.c.created_at < end)
                 .scalar_subquery())
        complaints = session.execute(
            select(COMPLAINTS.c.id, COMPLAINTS.c.number, COMPLAINTS.c.severity, COMPLAINTS.c.created_at,
                   COMPLAINTS.c.first_responded_at, CUSTOMERS.c.tier)
            .join(CUSTOMERS, CUSTOMERS.c.id == COMPLAINTS.c.customer_id)
            .where(COMPLAINTS.c.id.in_(filed)).order_by(COMPLAINTS.c.id)).all()
        events: dict[int, list[Any]] = defaultdict(list)
        for event in session.execute(
                select(EVENTS.c.id, EVENTS.c.complaint_id, EVENTS.c.at, EVENTS.c.trigger, EVENTS.c.from_state,
                       EVENTS.c.to_state, EVENTS.c.data)
                .where(EVENTS.c.complaint_id.in_(filed)).order_by(EVENTS.c.complaint_id, EVENTS.c.at, EVENTS.c.id)):
            events[event.complaint_id].append(event)
        recorded: dict[int, dict[str, Any]] = defaultdict(dict)
        for row in session.execute(
                select(DEADLINES.c.complaint_id, DEADLINES.c.kind, DEADLINES.c.due_at, DEADLINES.c.fired_at,
                       DEADLINES.c.cancelled_at)
                .where(DEADLINES.c.complaint_id.in_(filed), DEADLINES.c.kind.in_(CLOCKS)).order_by(DEADLINES.c.id)):
            recorded[row.complaint_id][row.kind] = row
    return complaints, events, recorded


def _happened(events: list[Any], first_responded_at: datetime | None) -> tuple[set[str], set[str], Counter[int], int]:
    """What the trail says: clocks breached, clocks met, levels climbed to, staff alerts raised."""
    breached: set[str] = set()
    climbs: Counter[int] = Counter()
    alerts = 0
    stopped = False
    for event in events:
        if event.trigger in _ALERTING:
            alerts += 1
        data = json.loads(event.data or "{}") if event.trigger in _CLIMBING else {}
        if event.trigger == "sla_breach" and data.get("deadline") in CLOCKS:
            breached.add(data["deadline"])
        if event.trigger in _CLIMBING and data.get("to_level") in ROLES and data.get("from_level") != data["to_level"]:
            climbs[ROLES.index(data["to_level"])] += 1
        if event.to_state in (RESOLVED, CLOSED) and event.from_state not in _STOPPED:
            stopped = True
    met = {kind for kind, done in ((FIRST_RESPONSE, first_responded_at is not None), (RESOLUTION, stopped))
           if done and kind not in breached}
    return breached, met, climbs, alerts


def what_if(app: Redress, actor: str | None, proposed: Config, since: str, until: str,
            list_limit: int = 50) -> dict[str, Any]:
    """Every complaint filed in [since, until) under `proposed`, next to what happened (manager or above)."""
    start, end = _edge(app, since, "--from"), _edge(app, until, "--to")
    if start >= end:
        raise InvalidInput(f"--from {since} is not before --to {until}")
    with app.uow(write=False) as uow:
        require(acting_user(uow.session, actor), "what_if")
    now = app.clock.now()
    complaints, events, recorded = _load(app, start, end)
    years = range(min(start.year, now.year) - 1, max(end.year, now.year) + 3)  # holidays of the whole period
    current = _Policy(app.with_calendars(calendar_years=years))
    proposal = _Policy(app.with_calendars(config=proposed, calendar_years=years))
    same_pauses = proposal.pause_states == current.pause_states  # then one reading of each history serves both
    table: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    climbs: dict[str, Counter[int]] = {"actual": Counter(), "current": Counter(), "what_if": Counter()}
    alerts = Counter[str]()
    changed: list[dict[str, Any]] = []
    reproduced = compared = replanned = 0
    problems: list[dict[str, str]] = []
    for complaint in complaints:
        trail = events.get(complaint.id, [])
        history = current.history(complaint, trail)
        try:
            now_fate = current.replay(history, now)
            new_fate = proposal.replay(history if same_pauses else proposal.history(complaint, trail), now)
        except NoPolicy as error:
            problems.append({"number": complaint.number, "error": str(error)})
            continue
        rows = recorded.get(complaint.id, {})
        moved = any(event.trigger == _REPLAN for event in trail)
        replanned += moved  # re-planned under the config.yaml of its day: today's cannot land on its due times
        for kind, row in rows.items() if not moved else ():
            compared += 1
            due, replayed = row.due_at, now_fate.due.get(kind)
            reproduced += (due is None and replayed is None) or (
                due is not None and replayed is not None and abs(due - replayed) <= _AGREES_WITHIN)
        breached, met, climbed, raised = _happened(trail, complaint.first_responded_at)
        breached |= {kind for kind, row in rows.items()  # overdue, and no scheduler has run since to fire it
                     if row.fired_at is None and row.cancelled_at is None and row.due_at is not None
                     and row.due_at < now}
        met -= breached
        for kind in CLOCKS:
            row = table[(kind, complaint.severity)]
            row["actual_met"] += kind in met
            row["actual_breached"] += kind in breached
            row["current_met"] += kind in now_fate.met and kind not in now_fate.breached
            row["current_breached"] += kind in now_fate.breached
            row["what_if_met"] += kind in new_fate.met and kind not in new_fate.breached
            row["what_if_breached"] += kind in new_fate.breached
            if (kind in breached) != (kind in new_fate.breached):
                changed.append({"number": complaint.number, "severity": complaint.severity, "clock": kind,
                                "actual": "breached" if kind in breached else "met" if kind in met else "open",
                                "what_if": "breached" if kind in new_fate.breached else "met",
                                "what_if_due": _iso(new_fate.due.get(kind))})
        climbs["actual"].update(climbed)
        climbs["current"].update(now_fate.climbs)
        climbs["what_if"].update(new_fate.climbs)
        alerts["actual"] += raised
        alerts["current"] += now_fate.alerts
        alerts["what_if"] += new_fate.alerts
    return {
        "from": start.isoformat(), "to": end.isoformat(), "complaints": len(complaints),
        "identity": {"compared": compared, "reproduced": reproduced, "replanned_not_compared": replanned},
        "clocks": [{"clock": kind, "severity": severity, **dict(counts)}
                   for (kind, severity), counts in sorted(table.items(), key=lambda item: (
                       CLOCKS.index(item[0][0]), app.config.severity_names.index(item[0][1])
                       if item[0][1] in app.config.severity_names else 99))],
        "escalations": [{"level": ROLES[level], **{name: counts[level] for name, counts in climbs.items()}}
                        for level in range(1, len(ROLES))],
        "staff_alerts": dict(alerts),
        "changed_fate": changed[:list_limit], "changed_fate_total": len(changed),
        "not_replayed": problems,
    }
