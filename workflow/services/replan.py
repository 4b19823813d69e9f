"""Re-planning running clocks after config.yaml's policies or calendars change, keeping the time already used.

A clock's used time is counted on the calendars it ran on: the previous config.yaml (`previous`), or the
one now configured when none is given (then the stretch since each clock's last checkpoint is counted on
today's calendars, and the report says so). What is left of each pending target is then counted on the new
calendars from now: first response and resolution from the new policy (a supervisor's extensions kept), the
next ladder step by the new climb. Each complaint that moves is re-planned in its own savepoint, audited
(`sla_replan`, every move with its old and new due time) and checkpointed at the time used; one that fails is
reported with its error and the others go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session

from states.definition import ACTIVE_STATES
from workflow.adapters.models import COMPLAINTS, CUSTOMERS, DEADLINES
from workflow.adapters.records import ComplaintSnapshot, change_complaint
from workflow.bootstrap import Redress
from workflow.config import Config
from workflow.domain.permissions import require
from workflow.domain.sla import ClockPlan, NoPolicy, plan_for
from workflow.services import clocks
from workflow.services.people import acting_user

REPLAN = "sla_replan"
_SAME_WITHIN_MINUTES = 1e-6


@dataclass(frozen=True)
class Move:
    kind: str
    level: int | None
    from_target: float  # business minutes from the clock's start
    to_target: float
    from_due: datetime | None  # None while the clock is paused
    to_due: datetime | None


@dataclass(frozen=True)
class Replanned:
    number: str
    severity: str
    used_minutes: float  # business time the clock had counted when re-planned: kept
    moves: list[Move]


@dataclass(frozen=True)
class ReplanReport:
    dry_run: bool
    counted_on: str  # which calendars counted the time used
    checked: int  # running clocks looked at
    replanned: list[Replanned] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)  # {number, error}: left as they were


_RUNNING = (
    select(COMPLAINTS, CUSTOMERS.c.tier.label("customer_tier"))
    .join(CUSTOMERS, CUSTOMERS.c.id == COMPLAINTS.c.customer_id)
    .where(COMPLAINTS.c.state.in_([str(s) for s in ACTIVE_STATES]), COMPLAINTS.c.sla_started_at.is_not(None))
    .order_by(COMPLAINTS.c.id)
)
_PENDING_SLA = (
    select(DEADLINES.c.id, DEADLINES.c.kind, DEADLINES.c.level, DEADLINES.c.offset_minutes, DEADLINES.c.due_at)
    .where(DEADLINES.c.complaint_id == bindparam("complaint_id"), DEADLINES.c.kind.in_(clocks.SLA_KINDS),
           DEADLINES.c.fired_at.is_(None), DEADLINES.c.cancelled_at.is_(None))
    .order_by(DEADLINES.c.id)
)


def new_target(kind: str, offset: float, was: ClockPlan, now: ClockPlan, extended: float) -> float:
    """Where a pending deadline of `kind` falls on the clock under the new plan."""
    if kind == "first_response":
        return now.first_response
    if kind == "first_response_warning":
        return now.first_response * now.warn_at
    if kind == "resolution":
        return now.resolution + extended
    if kind == "resolution_warning":
        return now.resolution * now.warn_at + extended
    return offset - was.climb_every + now.climb_every  # the next ladder step: armed one climb after a breach


def replan(app: Redress, actor: str | None, *, dry_run: bool = True, previous: Config | None = None) -> ReplanReport:
    """Re-plan every running clock under the config now loaded (manager or above); `dry_run` writes nothing."""
    was_app = app.with_calendars(config=previous) if previous else app
    counted_on = ("the previous config's calendars" if previous
                  else "the calendars now configured (no previous config.yaml given)")
    now = app.clock.now()
    with app.uow(write=not dry_run) as uow:
        session = uow.session
        user = acting_user(session, actor)
        require(user, "replan_clocks")
        rows = session.execute(_RUNNING).all()
        report = ReplanReport(dry_run, counted_on, len(rows))
        for row in rows:
            complaint = ComplaintSnapshot.of(row)
            try:
                with session.begin_nested():
                    done = _replan_one(app, was_app, session, complaint, row.customer_tier, now, user.name,
                                       dry_run)
            except NoPolicy as error:
                report.failed.append({"number": complaint.number, "error": str(error)})
                continue
            except Exception as error:  # noqa: BLE001 - one complaint that cannot be re-planned must not stop the rest
                report.failed.append({"number": complaint.number, "error": f"{type(error).__name__}: {error}"})
                continue
            if done is not None:
                report.replanned.append(done)
        if not dry_run:
            uow.commit()
    return report


def _replan_one(app: Redress, was_app: Redress, session: Session, complaint: ComplaintSnapshot, tier: str,
                now: datetime, by: str, dry_run: bool) -> Replanned | None:
    was = plan_for(was_app.config, complaint.severity, tier)
    plan = plan_for(app.config, complaint.severity, tier)
    used = clocks.elapsed(was_app, complaint, was, now)
    here = clocks.Checkpoint(now, used)
    calendar = app.calendar(plan.calendar)
    paused = complaint.sla_paused_at is not None
    extended = clocks.extended_minutes(session, complaint)
    moves: list[Move] = []
    for row in session.execute(_PENDING_SLA, {"complaint_id": complaint.id}):
        target = new_target(row.kind, row.offset_minutes, was, plan, extended)
        if row.due_at is not None and row.due_at <= now and target <= used:
            continue  # due under both plans: it fires at the next sweep either way, and keeps the time it fell due
        due = None if paused else here.due(target, calendar)
        if abs(target - row.offset_minutes) > _SAME_WITHIN_MINUTES or due != row.due_at:
            moves.append(Move(row.kind, row.level, row.offset_minutes, target, row.due_at, due))
            if not dry_run:
                clocks.move(session, complaint.id, row.id, target, due)
    recounted = clocks.elapsed(app, complaint, plan, now)  # what the new calendars alone would say was used
    if not moves and abs(recounted - used) <= _SAME_WITHIN_MINUTES:
        return None
    replanned = Replanned(complaint.number, complaint.severity, round(used, 1), moves)
    if not dry_run:
        change_complaint(session, complaint, now, by, REPLAN,
                         f"re-planned under the current SLA policy; {round(used, 1)} business minutes kept",
                         {"used_minutes": round(used, 1), "moves": [_move_data(m) for m in moves]},
                         **here.columns())
    return replanned


def _move_data(move: Move) -> dict[str, Any]:
    return {"kind": move.kind, "from_target": round(move.from_target, 1), "to_target": round(move.to_target, 1),
            "from_due": move.from_due.isoformat() if move.from_due else None,
            "to_due": move.to_due.isoformat() if move.to_due else None}

