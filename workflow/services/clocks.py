"""A complaint's clocks as rows of the deadline table, kept in step inside each use case's transaction.

The deadline table is the truth: the scheduler fires from it and `show` reads
countdowns from it. This module is the one place that arms, cancels, suspends
(paused clock), moves (resumed clock, changed severity, extension), lists and
claims (fires) deadline rows: the SLA clocks, the ladder, compensation step timers.
What a transition's events do to the clocks is in workflow/services/effects.py.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, bindparam, func, insert, or_, select, update
from sqlmodel import Session

from states.definition import CANCELLED, CLOSED, RESOLVED
from workflow.adapters.bulk import insert_dicts
from workflow.adapters.db import before_commit, connection_of
from workflow.adapters.models import COMPLAINTS, CUSTOMERS, DEADLINES, EVENTS, PAUSES
from workflow.adapters.prepared import Prepared
from workflow.adapters.records import ComplaintChanges, ComplaintSnapshot
from workflow.bootstrap import Redress
from workflow.domain.sla import (
    BusinessCalendar,
    ClockPlan,
    NoPolicy,
    add_business_time,
    business_minutes_between,
    plan_for,
)
from workflow.domain.vocabulary import ROLES

FIRST_RESPONSE_KINDS = ("first_response_warning", "first_response")
RESOLUTION_KINDS = ("resolution_warning", "resolution", "escalation")
BREACH_KINDS = ("first_response", "resolution")
# The clocks a pause stops and a resume moves; compensation and survey timers run on regardless.
SLA_KINDS = FIRST_RESPONSE_KINDS + RESOLUTION_KINDS
# The longest wait on the customer the policy allows: when it fires the clock runs again by itself.
PAUSE_LIMIT = "pause_limit"
CANCEL = "cancel"  # the trigger that stops a clock without resolving anything
# States in which the clock has stopped: it counts nothing until a reopen starts a fresh one.
STOPPED_STATES = (RESOLVED, CLOSED, CANCELLED)

_PENDING = (DEADLINES.c.fired_at.is_(None)) & (DEADLINES.c.cancelled_at.is_(None))
# Built once: the scheduler runs these for every deadline it fires.
_INSERT = insert(DEADLINES)
_ARM = Prepared(_INSERT)
_TIER = select(CUSTOMERS.c.tier).where(CUSTOMERS.c.id == bindparam("customer_id"))


# A complaint's next breach, what the queue is ordered by: the earliest due time of its resolution clock and,
# while unanswered, its first-response clock, already passed or not; none while paused (due times unset) or
# once they stopped. Kept in complaint.next_breach_at so the queue reads an index instead of every open
# complaint's deadlines: whatever here arms, cancels, suspends or moves one of those deadlines names its
# complaint, and the unit of work writes each named complaint's next breach once, just before it commits (a
# first response cancels its clock, so it names the complaint too).
NEXT_BREACH = (
    select(func.min(DEADLINES.c.due_at))
    .where(DEADLINES.c.complaint_id == COMPLAINTS.c.id, DEADLINES.c.cancelled_at.is_(None),
           or_(DEADLINES.c.kind == "resolution",
               and_(DEADLINES.c.kind == "first_response", COMPLAINTS.c.first_responded_at.is_(None))))
    .correlate(COMPLAINTS)
    .scalar_subquery()
)
_WRITE_NEXT_BREACH = (update(COMPLAINTS).where(COMPLAINTS.c.id == bindparam("complaint_id"))
                      .values(next_breach_at=NEXT_BREACH))
_MOVED = "complaints whose next breach moved"


def breach_moved(session: Session, complaint_id: int) -> None:
    """The complaint's breach deadlines changed in this unit of work: its next breach is written before commit."""
    moved = session.info.get(_MOVED)
    if moved is None:
        moved = session.info[_MOVED] = set()
        before_commit(session, _write_next_breach)
    moved.add(complaint_id)


def _write_next_breach(session: Session) -> None:
    """Recounted from the deadlines themselves (a savepoint rolled back leaves nothing stale), in id order."""
    moved = session.info.pop(_MOVED, set())
    if moved:
        connection_of(session).execute(_WRITE_NEXT_BREACH, [{"complaint_id": i} for i in sorted(moved)])


def next_breach(deadlines: list[tuple[str, datetime | None]]) -> datetime | None:
    """The next breach of a complaint whose only deadlines are these (kind, due): one filed or imported."""
    return min((due for kind, due in deadlines if kind in BREACH_KINDS and due is not None), default=None)


def _of_kinds(kinds: tuple[str, ...]) -> Any:
    """One kind compares with `=`: an expanding IN is re-rendered at every execution."""
    return DEADLINES.c.kind == kinds[0] if len(kinds) == 1 else DEADLINES.c.kind.in_(kinds)


@functools.cache
def _cancel_statement(kinds: tuple[str, ...]) -> Any:
    """Built once per set of kinds."""
    return (
        update(DEADLINES)
        .where(DEADLINES.c.complaint_id == bindparam("of_complaint"), _of_kinds(kinds), _PENDING)
        .values(cancelled_at=bindparam("now"))
    )


@functools.cache
def _suspend_statement(kinds: tuple[str, ...]) -> Any:
    """Built once per set of kinds."""
    return (
        update(DEADLINES)
        .where(DEADLINES.c.complaint_id == bindparam("of_complaint"), _of_kinds(kinds), _PENDING)
        .values(due_at=None)
    )


def pending_kinds(session: Session, complaint_id: int, kinds: tuple[str, ...]) -> tuple[str, ...]:
    """Which of `kinds` the complaint has a pending deadline of."""
    found = set(session.execute(
        select(DEADLINES.c.kind).where(DEADLINES.c.complaint_id == complaint_id, DEADLINES.c.kind.in_(kinds),
                                       _PENDING)
    ).scalars())
    return tuple(kind for kind in kinds if kind in found)


def tier_of(session: Session, customer_id: int) -> str:
    return session.execute(_TIER, {"customer_id": customer_id}).scalar_one()


def plan(app: Redress, session: Session, severity: str, customer_id: int) -> ClockPlan:
    return plan_for(app.config, severity, tier_of(session, customer_id))


def arm(
    app: Redress, session: Session, complaint_id: int, clock_plan: ClockPlan, kinds: list[tuple[str, float]],
    *, checkpoint: Checkpoint, now: datetime, level: int | None = None,
) -> None:
    """Insert deadlines at business-time offsets from the clock's start, counted on from a checkpoint."""
    calendar = app.calendar(clock_plan.calendar)
    rows = [
        {"complaint_id": complaint_id, "kind": kind, "level": level, "offset_minutes": offset,
         "due_at": checkpoint.due(offset, calendar), "fired_at": None, "cancelled_at": None, "created_at": now}
        for kind, offset in kinds
    ]
    if rows:
        connection_of(session).execute(_INSERT, rows)
        if any(kind in BREACH_KINDS for kind, _ in kinds):
            breach_moved(session, complaint_id)


def cancel(session: Session, complaint_id: int, kinds: tuple[str, ...], now: datetime) -> None:
    connection_of(session).execute(_cancel_statement(kinds), {"of_complaint": complaint_id, "now": now})
    if any(kind in BREACH_KINDS for kind in kinds):
        breach_moved(session, complaint_id)


def opening(app: Redress, clock_plan: ClockPlan, now: datetime) -> list[tuple[str, float, datetime]]:
    """A new complaint's clocks, (kind, offset, due): first response and resolution, each with its warning.

    Planned before the complaint is written, so it is written with its next breach (`next_breach`)."""
    index = app.business_index(clock_plan.calendar)
    return [(kind, offset, index.add(now, offset)) for kind, offset in clock_plan.arming(first_response=True)]


def start(session: Session, complaint_id: int, clocks: list[tuple[str, float, datetime]], now: datetime) -> None:
    """Arm a new complaint's `opening` clocks (its next breach was written with it)."""
    _ARM.run_many(session, [
        {"complaint_id": complaint_id, "kind": kind, "level": None, "offset_minutes": offset, "due_at": due,
         "fired_at": None, "cancelled_at": None, "created_at": now} for kind, offset, due in clocks])


@dataclass(frozen=True)
class Checkpoint:
    """The clock had run `minutes` of business time at the instant `at`.

    Kept on the complaint and moved at each pause, resume, severity change and
    escalation, so business time is counted from the last checkpoint and never
    walks back to a clock started years ago.
    """

    at: datetime
    minutes: float

    def due(self, offset: float, calendar: BusinessCalendar) -> datetime:
        """When the clock reaches `offset` minutes, running on from here (now, if it has already passed)."""
        return add_business_time(self.at, max(offset - self.minutes, 0.0), calendar)

    def columns(self) -> ComplaintChanges:
        return {"sla_clock_at": self.at, "sla_clock_minutes": self.minutes}


def elapsed(app: Redress, complaint: ComplaintSnapshot, clock_plan: ClockPlan, now: datetime) -> float:
    """Business minutes the clock has run at `now` (frozen while paused, and where it stopped once resolved,
    closed or cancelled: `stop` keeps that as the checkpoint)."""
    if complaint.sla_started_at is None:
        return 0.0
    if complaint.state in STOPPED_STATES:
        return float(complaint.sla_clock_minutes)
    since = complaint.sla_clock_at or complaint.sla_started_at
    until = complaint.sla_paused_at or now
    if until <= since:
        return float(complaint.sla_clock_minutes)
    calendar = app.calendar(clock_plan.calendar)
    return float(complaint.sla_clock_minutes) + business_minutes_between(since, until, calendar)


def checkpoint_at(app: Redress, complaint: ComplaintSnapshot, clock_plan: ClockPlan, now: datetime) -> Checkpoint:
    return Checkpoint(now, elapsed(app, complaint, clock_plan, now))


def suspend(session: Session, complaint_id: int, kinds: tuple[str, ...] = SLA_KINDS) -> None:
    """A paused clock's pending deadlines have no due time until it runs again."""
    session.execute(_suspend_statement(kinds), {"of_complaint": complaint_id})
    breach_moved(session, complaint_id)


def _move_pending(
    app: Redress, session: Session, complaint_id: int, clock_plan: ClockPlan, checkpoint: Checkpoint,
    *, kinds: tuple[str, ...] | None = None, shift: float = 0.0, paused_now: bool = False,
) -> None:
    """Recompute due times of pending deadlines from their offsets (optionally shifting the offsets).

    While the clock is paused the offsets move but the due times stay unset.
    """
    calendar = app.calendar(clock_plan.calendar)
    query = select(DEADLINES.c.id, DEADLINES.c.offset_minutes).where(
        DEADLINES.c.complaint_id == complaint_id, DEADLINES.c.kind.in_(kinds or SLA_KINDS), _PENDING
    )
    moves = [
        {"row_id": row.id, "offset_minutes": row.offset_minutes + shift,
         "due_at": None if paused_now else checkpoint.due(row.offset_minutes + shift, calendar)}
        for row in session.execute(query)
    ]
    if moves:
        session.execute(_MOVE, moves, execution_options={"synchronize_session": False})
        breach_moved(session, complaint_id)


_MOVE = update(DEADLINES).where(DEADLINES.c.id == bindparam("row_id"))


def move(session: Session, complaint_id: int, deadline_id: int, offset: float, due: datetime | None) -> None:
    """Put one pending deadline at a new offset and due time (a re-planned clock)."""
    session.execute(_MOVE, {"row_id": deadline_id, "offset_minutes": offset, "due_at": due})
    breach_moved(session, complaint_id)


def has_clock(complaint: ComplaintSnapshot) -> bool:
    """Whether the complaint's SLA clock was ever started (rows from before clocks have none to keep)."""
    return complaint.sla_started_at is not None


# What the events of a transition do to the clocks. Each returns the complaint columns that change with
# them, written in the transition's own UPDATE.

def stop_first_response(app: Redress, session: Session, complaint: ComplaintSnapshot,
                        now: datetime) -> ComplaintChanges:
    """The customer had a first answer: the first-response clock and its warning stop; the business time it
    took is kept for reports."""
    cancel(session, complaint.id, FIRST_RESPONSE_KINDS, now)
    try:
        took: float | None = elapsed(app, complaint, plan(app, session, complaint.severity, complaint.customer_id),
                                     now) if has_clock(complaint) else None
    except NoPolicy:
        took = None
    return {"first_responded_at": now, "first_response_minutes": took}


def stop(app: Redress, session: Session, complaint: ComplaintSnapshot, now: datetime, *, by: str,
         how: str) -> ComplaintChanges:
    """Resolved, closed or cancelled: no SLA clock runs on; the time it ran is kept where it stopped."""
    cancel(session, complaint.id, SLA_KINDS + (PAUSE_LIMIT,), now)
    try:
        clock_plan = plan(app, session, complaint.severity, complaint.customer_id)
    except NoPolicy:  # a row from an older config: the clock still stops, its last checkpoint stands
        _end_pause(session, complaint.id, now, by, how, None)
        return {"sla_paused_at": None}
    if complaint.sla_paused_at is not None:
        _end_pause(session, complaint.id, now, by, how,
                   business_minutes_between(complaint.sla_paused_at, now, app.calendar(clock_plan.calendar)))
    here = checkpoint_at(app, complaint, clock_plan, now)
    changes = here.columns() | {"sla_paused_at": None}
    if how != CANCEL and complaint.state not in STOPPED_STATES and has_clock(complaint):
        # Resolved (or closed while being worked): the time to resolution, summed over reopens (each starts at 0).
        changes |= {"resolved_at": now, "resolution_minutes": (complaint.resolution_minutes or 0.0) + here.minutes}
    return changes


def pause(app: Redress, session: Session, complaint: ComplaintSnapshot, now: datetime, *, by: str,
          reason: str | None, limited: bool) -> ComplaintChanges:
    """The clock stops where it stands; its pending deadlines have no due time until it runs again.

    The pause is kept with who and why. A wait on the customer (`limited`) under a policy with a longest pause
    gets its limit armed, in the clock's own business time.
    """
    clock_plan = plan(app, session, complaint.severity, complaint.customer_id)
    here = checkpoint_at(app, complaint, clock_plan, now)
    suspend(session, complaint.id)
    limit_at = None
    if limited and clock_plan.max_pause is not None:
        limit_at = add_business_time(now, clock_plan.max_pause, app.calendar(clock_plan.calendar))
        session.execute(_INSERT, {
            "complaint_id": complaint.id, "kind": PAUSE_LIMIT, "level": None, "offset_minutes": clock_plan.max_pause,
            "due_at": limit_at, "fired_at": None, "cancelled_at": None, "created_at": now})
    session.execute(insert(PAUSES).values(complaint_id=complaint.id, paused_by=by, reason=reason, started_at=now,
                                          limit_at=limit_at))
    return here.columns() | {"sla_paused_at": now}


def resume(app: Redress, session: Session, complaint: ComplaintSnapshot, now: datetime, *, by: str,
           how: str) -> ComplaintChanges:
    """The clock runs on from where it stopped; pending deadlines fall due again, later by the pause."""
    if complaint.sla_paused_at is None:
        return {}
    clock_plan = plan(app, session, complaint.severity, complaint.customer_id)
    resumed_at = now
    if how == LIMIT_REACHED:  # the clock runs again from the limit, however late the scheduler got to it
        limit_at = session.execute(_OPEN_LIMIT, {"complaint_id": complaint.id}).scalar()
        resumed_at = min(limit_at or now, now)
    here = checkpoint_at(app, complaint, clock_plan, resumed_at)
    calendar = app.calendar(clock_plan.calendar)
    held = business_minutes_between(complaint.sla_paused_at, resumed_at, calendar)
    cancel(session, complaint.id, (PAUSE_LIMIT,), now)
    _end_pause(session, complaint.id, resumed_at, by, how, held)
    _move_pending(app, session, complaint.id, clock_plan, here)
    return here.columns() | {"sla_paused_at": None, "sla_paused_minutes": complaint.sla_paused_minutes + held}


# The trigger by which the scheduler ends a wait at the policy's limit (states.definition.Trigger).
LIMIT_REACHED = "pause_limit_reached"
_OPEN_LIMIT = select(PAUSES.c.limit_at).where(PAUSES.c.complaint_id == bindparam("complaint_id"),
                                              PAUSES.c.ended_at.is_(None))


def _end_pause(session: Session, complaint_id: int, now: datetime, by: str, how: str, held: float | None) -> None:
    """The complaint's open pause (if any) ends now, by `how` (the trigger), having held the clock `held` minutes."""
    session.execute(
        update(PAUSES).where(PAUSES.c.complaint_id == complaint_id, PAUSES.c.ended_at.is_(None))
        .values(ended_at=now, ended_by=by, ended_how=how, business_minutes=held))


def restart(app: Redress, session: Session, complaint: ComplaintSnapshot, now: datetime) -> ComplaintChanges:
    """A reopened complaint gets a fresh resolution clock by its policy."""
    clock_plan = plan(app, session, complaint.severity, complaint.customer_id)
    fresh = Checkpoint(now, 0.0)
    arm(app, session, complaint.id, clock_plan, clock_plan.arming(first_response=False), checkpoint=fresh, now=now)
    return fresh.columns() | {"sla_started_at": now, "sla_paused_at": None, "sla_paused_minutes": 0.0,
                              "reopens": complaint.reopens + 1}


def retarget(
    app: Redress, session: Session, complaint: ComplaintSnapshot, severity: str, now: datetime,
) -> ComplaintChanges:
    """New targets for the deadlines still pending, counted on from where the clock stands now.

    One that fired stays fired (its breach was alerted and climbed once, and is not re-armed under new targets);
    a supervisor's extensions of the resolution clock are kept.
    """
    tier = tier_of(session, complaint.customer_id)
    running_plan = plan_for(app.config, complaint.severity, tier)
    clock_plan = plan_for(app.config, severity, tier)
    here = checkpoint_at(app, complaint, running_plan, now)  # counted on the calendar the clock ran on
    running = pending_kinds(session, complaint.id, FIRST_RESPONSE_KINDS + RESOLUTION_KINDS[:2])
    if running:
        cancel(session, complaint.id, running, now)
    extended = extended_minutes(session, complaint)
    kinds = [(k, o + (extended if k in RESOLUTION_KINDS else 0.0))
             for k, o in clock_plan.arming(first_response=True) if k in running]
    arm(app, session, complaint.id, clock_plan, kinds, checkpoint=here, now=now)
    if complaint.sla_paused_at is not None:
        suspend(session, complaint.id)
    return here.columns()


_EXTENSIONS = (
    select(EVENTS.c.data)
    .where(EVENTS.c.complaint_id == bindparam("complaint_id"), EVENTS.c.trigger == "extend_deadline",
           EVENTS.c.at >= bindparam("since"))
)
def extended_minutes(session: Session, complaint: ComplaintSnapshot) -> float:
    """Business minutes supervisors added to the clock now running (since it started or was reopened)."""
    rows = session.execute(_EXTENSIONS, {"complaint_id": complaint.id, "since": complaint.sla_started_at})
    return float(sum(json.loads(data or "{}").get("by_minutes") or 0 for data in rows.scalars()))


def extend(app: Redress, session: Session, complaint: ComplaintSnapshot, minutes: float) -> None:
    """Push every pending resolution deadline (and the next ladder step) later by `minutes` of business time."""
    clock_plan = plan(app, session, complaint.severity, complaint.customer_id)
    here = checkpoint_at(app, complaint, clock_plan, app.clock.now())
    _move_pending(app, session, complaint.id, clock_plan, here, kinds=RESOLUTION_KINDS, shift=minutes,
                  paused_now=complaint.sla_paused_at is not None)


def arm_next_step(
    app: Redress, session: Session, complaint: ComplaintSnapshot, level: int, now: datetime,
    clock_plan: ClockPlan | None = None,
) -> ComplaintChanges:
    """Replace the pending ladder step with one that climbs to `level` after `climb_every` more business time.

    Returns the clock's new checkpoint columns for the complaint (none when no clock runs).
    """
    cancel(session, complaint.id, ("escalation",), now)
    if not _climbs_on(complaint, level):
        return {}
    clock_plan = clock_plan or plan(app, session, complaint.severity, complaint.customer_id)
    row, columns = next_ladder_step(app, complaint, level, now, clock_plan)
    if row is not None:
        session.execute(_INSERT, row)
    return columns


def _climbs_on(complaint: ComplaintSnapshot, level: int) -> bool:
    """A ladder step to `level` exists below the top, on an open complaint whose clock was started."""
    return level < len(ROLES) and complaint.sla_started_at is not None and complaint.is_open


def next_ladder_step(app: Redress, complaint: ComplaintSnapshot, level: int, now: datetime,
                     clock_plan: ClockPlan) -> tuple[dict[str, Any] | None, ComplaintChanges]:
    """The ladder step that climbs to `level` after `climb_every` more business time (no due time while the
    clock is paused), and the clock's checkpoint columns; (None, {}) at the top or with no clock running."""
    if not _climbs_on(complaint, level):
        return None, {}
    here = checkpoint_at(app, complaint, clock_plan, now)
    offset = here.minutes + clock_plan.climb_every
    due = None if complaint.sla_paused_at is not None else here.due(offset, app.calendar(clock_plan.calendar))
    row = {"complaint_id": complaint.id, "kind": "escalation", "level": level, "offset_minutes": offset,
           "due_at": due, "fired_at": None, "cancelled_at": None, "created_at": now}
    return row, here.columns()


def replace_ladder_steps(session: Session, complaint_ids: list[int], rows: list[dict[str, Any]],
                         now: datetime) -> None:
    """`arm_next_step` for many complaints at once: their pending ladder steps cancelled, the new ones armed."""
    if complaint_ids:
        session.execute(_cancel_statement(("escalation",)), [{"of_complaint": i, "now": now} for i in complaint_ids])
    insert_dicts(session.connection(), DEADLINES, rows)


# A compensation step's timer: a `step` row pointing at its step, due when the step is.
STEP = "step"
_CANCEL_STEP_TIMER = (
    update(DEADLINES)
    .where(DEADLINES.c.step_id == bindparam("of_step"), _PENDING)
    .values(cancelled_at=bindparam("now"))
)


def arm_step_timer(session: Session, complaint_id: int, step_id: int, due: datetime, now: datetime) -> None:
    """Insert the timer that fires when the step falls due (sent, or escalated if not done)."""
    session.execute(_INSERT, {
        "complaint_id": complaint_id, "kind": STEP, "level": None, "offset_minutes": 0.0, "due_at": due,
        "fired_at": None, "cancelled_at": None, "created_at": now, "step_id": step_id,
    })


def cancel_step_timer(session: Session, step_id: int, now: datetime) -> None:
    """A step done or cancelled keeps no pending timer."""
    session.execute(_CANCEL_STEP_TIMER, {"of_step": step_id, "now": now})


# A deadline that failed to fire waits for its retry time; one set aside for good waits for an operator.
_READY = DEADLINES.c.set_aside_at.is_(None) & (
    DEADLINES.c.retry_at.is_(None) | (DEADLINES.c.retry_at <= bindparam("ready_at")))
_DUE = (
    select(DEADLINES.c.id, DEADLINES.c.complaint_id, DEADLINES.c.kind)
    .where(DEADLINES.c.fired_at.is_(None), DEADLINES.c.cancelled_at.is_(None),
           DEADLINES.c.due_at <= bindparam("now"), _READY)
    .order_by(DEADLINES.c.due_at, DEADLINES.c.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)  # SQLite has no row locks: its one scheduler needs none
)
# Marks one deadline fired if it is still pending and due (a supervisor may have moved it since it was
# read) and returns it: one statement instead of an update and a read.
_MARK_FIRED = (
    update(DEADLINES)
    .where(DEADLINES.c.id == bindparam("row_id"), _PENDING, DEADLINES.c.set_aside_at.is_(None),
           DEADLINES.c.due_at <= bindparam("fired"))
    .values(fired_at=bindparam("fired"))
    .returning(*DEADLINES.c)
)
_MARK_ALL_FIRED = (
    update(DEADLINES)
    .where(DEADLINES.c.id.in_(bindparam("row_ids", expanding=True)), _PENDING, DEADLINES.c.set_aside_at.is_(None),
           DEADLINES.c.due_at <= bindparam("fired"))
    .values(fired_at=bindparam("fired"))
    .returning(*DEADLINES.c)
)


def due_deadlines(session: Session, now: datetime, limit: int) -> list[Row]:
    """Pending deadlines due at `now`, oldest first (reads the partial index): id, complaint and kind.

    On PostgreSQL the rows are locked, skipping those another scheduler's batch holds, so schedulers running
    side by side each take deadlines of their own; the lock ends with the batch's transaction (or its
    process: a killed scheduler's batch rolls back and its deadlines are free again).
    """
    return list(session.execute(_DUE, {"now": now, "ready_at": now, "limit": limit}))


def claim_due(session: Session, deadline_id: int, now: datetime) -> Row | None:
    """Mark the deadline fired and return it, or None if it was cancelled, paused, moved or fired since read."""
    return session.execute(_MARK_FIRED, {"row_id": deadline_id, "fired": now}).first()


def claim_all_due(session: Session, deadline_ids: list[int], now: datetime) -> list[Row]:
    """`claim_due` for many deadlines with one statement: those still pending and due, marked fired, in the
    order they fall due."""
    if not deadline_ids:
        return []
    rows = session.execute(_MARK_ALL_FIRED, {"row_ids": deadline_ids, "fired": now}).all()
    return sorted(rows, key=lambda row: (row.due_at, row.id))


# Counted in the UPDATE itself, so a concurrent `deadlines retry` (which resets the count) is never lost.
_COUNT_FAILURE = (
    update(DEADLINES)
    .where(DEADLINES.c.id == bindparam("row_id"))
    .values(fire_attempts=DEADLINES.c.fire_attempts + 1, fire_error=bindparam("error"))
    .returning(DEADLINES.c.complaint_id, DEADLINES.c.kind, DEADLINES.c.fire_attempts)
)
_PLAN_RETRY = (update(DEADLINES).where(DEADLINES.c.id == bindparam("row_id"))
               .values(retry_at=bindparam("retry_at"), set_aside_at=bindparam("set_aside_at")))
_REQUEUE = (update(DEADLINES).where(DEADLINES.c.id == bindparam("row_id"))
            .values(fire_attempts=0, retry_at=bindparam("now"), set_aside_at=None))


def count_failure(session: Session, deadline_id: int, error: str) -> Row:
    """Keep a firing's error on its deadline and count the try; the deadline's complaint, kind and tries so far."""
    return session.execute(_COUNT_FAILURE, {"row_id": deadline_id, "error": error}).one()


def plan_retry(session: Session, deadline_id: int, retry_at: datetime | None, set_aside_at: datetime | None) -> None:
    """When a failed deadline is tried again, or that it is set aside for an operator."""
    session.execute(_PLAN_RETRY, {"row_id": deadline_id, "retry_at": retry_at, "set_aside_at": set_aside_at})


def requeue(session: Session, deadline_id: int, now: datetime) -> None:
    """A failed deadline fires again at the next sweep, with a fresh round of tries."""
    session.execute(_REQUEUE, {"row_id": deadline_id, "now": now})


_BREACHED = (select(DEADLINES.c.id)
             .where(DEADLINES.c.complaint_id == bindparam("complaint_id"), DEADLINES.c.kind.in_(BREACH_KINDS),
                    DEADLINES.c.fired_at.is_not(None)).limit(1))


def ever_breached(session: Session, complaint_id: int) -> bool:
    """Whether a first-response or resolution deadline of the complaint ever fired."""
    return session.execute(_BREACHED, {"complaint_id": complaint_id}).first() is not None


_DUE_OF_KIND = select(DEADLINES.c.due_at).where(
    DEADLINES.c.complaint_id == bindparam("complaint_id"), DEADLINES.c.kind == bindparam("kind"), _PENDING
)


def due_of_target(session: Session, complaint_id: int, warning_kind: str) -> datetime | None:
    """When the deadline a warning warns about falls due."""
    return session.execute(
        _DUE_OF_KIND, {"complaint_id": complaint_id, "kind": warning_kind.removesuffix("_warning")}
    ).scalar()


_DUES_OF_KINDS = select(DEADLINES.c.complaint_id, DEADLINES.c.kind, DEADLINES.c.due_at).where(
    DEADLINES.c.complaint_id.in_(bindparam("complaint_ids", expanding=True)),
    DEADLINES.c.kind.in_(bindparam("kinds", expanding=True)), _PENDING,
)


def dues_of_targets(session: Session, warnings: list[tuple[int, str]]) -> dict[tuple[int, str], datetime | None]:
    """`due_of_target` for many (complaint id, warning kind) pairs with one statement."""
    if not warnings:
        return {}
    found = {(row.complaint_id, row.kind): row.due_at for row in session.execute(_DUES_OF_KINDS, {
        "complaint_ids": sorted({complaint_id for complaint_id, _ in warnings}),
        "kinds": sorted({kind.removesuffix("_warning") for _, kind in warnings})})}
    return {(complaint_id, kind): found.get((complaint_id, kind.removesuffix("_warning")))
            for complaint_id, kind in warnings}


def all_deadlines(session: Session, complaint_id: int) -> list[Row]:
    """Every deadline of the complaint, in the order they were armed."""
    return list(
        session.execute(
            select(DEADLINES).where(DEADLINES.c.complaint_id == complaint_id).order_by(DEADLINES.c.id)
        )
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _deadline(row: Row, remaining: float | None) -> dict[str, Any]:
    return {
        "kind": row.kind, "level": row.level, "due_at": _iso(row.due_at),
        "fired_at": _iso(row.fired_at), "cancelled_at": _iso(row.cancelled_at),
        "pending": row.fired_at is None and row.cancelled_at is None,
        "remaining_business_minutes": round(remaining, 1) if remaining is not None else None,
        "failed_to_fire": row.fire_error, "step_id": row.step_id,
    }


def report(app: Redress, session: Session, complaint: ComplaintSnapshot) -> dict[str, Any]:
    """The complaint's clocks for `show`: elapsed and remaining business minutes, and every deadline."""
    if complaint.sla_started_at is None:
        return {"started_at": None, "paused": False, "deadlines": []}
    try:
        clock_plan = plan(app, session, complaint.severity, complaint.customer_id)
    except NoPolicy as error:  # a row from an older config: show what is stored, and why nothing more
        return {"started_at": _iso(complaint.sla_started_at), "paused": complaint.sla_paused_at is not None,
                "problem": str(error), "next_deadline": None,
                "deadlines": [_deadline(row, None) for row in all_deadlines(session, complaint.id)]}
    calendar = app.calendar(clock_plan.calendar)
    steps_calendar = app.calendar(app.config.compensation.calendar or clock_plan.calendar)
    now = app.clock.now()
    ran = elapsed(app, complaint, clock_plan, now)
    deadlines = []
    for row in all_deadlines(session, complaint.id):
        remaining = None
        if row.fired_at is None and row.cancelled_at is None:
            remaining = (row.offset_minutes - ran if row.due_at is None
                         else business_minutes_between(now, row.due_at,
                                                       steps_calendar if row.kind == STEP else calendar))
        deadlines.append(_deadline(row, remaining))
    upcoming = [d for d in deadlines if d["pending"]]
    return {
        "calendar": clock_plan.calendar,
        "started_at": _iso(complaint.sla_started_at),
        "paused": complaint.sla_paused_at is not None,
        "elapsed_business_minutes": round(ran, 1),
        "next_deadline": min(upcoming, key=lambda d: d["remaining_business_minutes"]) if upcoming else None,
        "deadlines": deadlines,
    }
