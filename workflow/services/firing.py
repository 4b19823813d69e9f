"""Firing due deadlines: warnings, breaches and climbs up the escalation ladder.

Each batch is one transaction that marks its deadlines fired (`WHERE fired_at
IS NULL`) together with their effects: a crash loses no deadline (the batch
rolls back and fires again) and never fires one twice (a fired row is never
picked again, even by a second scheduler).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, bindparam, select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import Session

from notifications.outbox import queue_staff_alert
from states.definition import WAITING_CUSTOMER, Trigger
from workflow.adapters.db import is_lock_conflict
from workflow.adapters.models import COMPLAINTS, CUSTOMERS, USERS
from workflow.adapters.records import ComplaintChanges, ComplaintSnapshot, change_complaint
from workflow.bootstrap import Redress
from workflow.domain.clock import local_minute
from workflow.domain.errors import ConcurrentChange
from workflow.domain.sla import business_time, plan_for
from workflow.domain.vocabulary import ROLES
from workflow.services import clocks, compensation, survey_messages
from workflow.services.alert_recipients import Recipients, StaffByLevel, alert_recipients
from workflow.services.clocks import claim_due, due_ids
from workflow.services.failed_deadlines import record_failure
from workflow.services.transition import SystemActor, apply_transition

SCHEDULER = "scheduler"


@dataclass(frozen=True)
class FireReport:
    fired: int
    batches: int
    failed: int = 0  # deadlines whose firing raised: kept with their error, retried later


def fire_due(app: Redress, *, batch_size: int | None = None, max_batches: int | None = None,
             should_stop: object = None) -> FireReport:
    """Fire every deadline due at the clock's now, in batches of one transaction each.

    A batch first runs straight through. If one of its deadlines raises, the
    batch is rolled back and run again with each deadline in a savepoint of
    its own: the ones that raise are set aside with their error
    (workflow/services/failed_deadlines.py) and the rest fire. A batch that keeps
    meeting a concurrent change is run the same way, so no row can hold the
    others back for ever.
    """
    size = batch_size or app.config.scheduler.batch_size
    fired = batches = failed = conflicts = 0
    skip: set[int] = set()  # rows that could neither fire nor record why: left for the next sweep
    while max_batches is None or batches < max_batches:
        if callable(should_stop) and should_stop():
            break
        now = app.clock.now()
        try:
            stuck = conflicts >= _CONFLICTS_BEFORE_ISOLATING
            outcome = _fire_batch(app, now, size, skip, isolated=stuck, conflict_fails=stuck)
        except ConcurrentChange:
            conflicts += 1
            continue  # an agent changed a complaint mid-batch: nothing was written, fire the batch again
        except _DeadlineRaised:
            outcome = _fire_batch(app, now, size, skip, isolated=True, conflict_fails=False)
        if outcome is None:
            break
        conflicts = 0
        fired += outcome[0]
        failed += outcome[1]
        batches += 1
    return FireReport(fired, batches, failed)


_CONFLICTS_BEFORE_ISOLATING = 3


class _DeadlineRaised(Exception):
    """A deadline of a straight-through batch raised: the batch is run again, one savepoint per deadline."""


def _fire_batch(app: Redress, now: datetime, size: int, skip: set[int], *,
                isolated: bool, conflict_fails: bool) -> tuple[int, int] | None:
    """Fire one batch in one transaction; (fired, failed), or None when nothing is due.

    Isolated, each deadline runs in a savepoint; a concurrent change leaves it pending for the next batch,
    unless `conflict_fails` (the batch kept conflicting), when it is set aside like any other failure.
    """
    with app.uow() as uow:
        session = uow.session
        ids = [i for i in due_ids(session, now, size + len(skip)) if i not in skip][:size]
        if not ids:
            return None
        people = StaffByLevel(session)
        fired = failed = 0
        for deadline_id in ids:
            if not isolated:
                try:
                    fired += _fire_one(app, session, people, deadline_id, now)
                except (ConcurrentChange, OperationalError, InterfaceError):
                    raise
                except Exception as error:
                    raise _DeadlineRaised from error
                continue
            try:
                with session.begin_nested():
                    fired += _fire_one(app, session, people, deadline_id, now)
            except ConcurrentChange as conflict:
                if conflict_fails:
                    failed += _set_aside(app, session, deadline_id, conflict, now, skip)
            except (OperationalError, InterfaceError) as error:
                if not is_lock_conflict(error):
                    raise  # the database itself, not this row: the whole batch waits for the next sweep
                if conflict_fails:  # a transaction on this complaint and this batch kept waiting on each other
                    failed += _set_aside(app, session, deadline_id, ConcurrentChange(str(error.orig)), now, skip)
            except Exception as error:  # noqa: BLE001 - any fault of one row must not stop the others
                failed += _set_aside(app, session, deadline_id, error, now, skip)
        uow.commit()
    return fired, failed


def _set_aside(app: Redress, session: Session, deadline_id: int, error: Exception, now: datetime,
               skip: set[int]) -> int:
    """Record why a deadline could not fire (1), or skip it for this call if even that fails (0)."""
    try:
        with session.begin_nested():
            record_failure(app, session, deadline_id, error, now)
        return 1
    except (OperationalError, InterfaceError):
        raise
    except Exception:  # noqa: BLE001 - left pending and unrecorded; the next sweep tries it again
        skip.add(deadline_id)
        return 0


_COMPLAINT = (
    select(COMPLAINTS, CUSTOMERS.c.tier.label("customer_tier"))
    .join(CUSTOMERS, CUSTOMERS.c.id == COMPLAINTS.c.customer_id)
    .where(COMPLAINTS.c.id == bindparam("complaint_id"))
)
_USER = select(USERS.c.name, USERS.c.email, USERS.c.role).where(USERS.c.id == bindparam("user_id"))
# The version bump with each effect tells agents holding an old view; a conflict rolls the batch back.
_CONFLICT = "{} changed while its deadline fired; the batch will retry"


def _fire_one(app: Redress, session: Session, people: StaffByLevel, deadline_id: int, now: datetime) -> int:
    deadline = claim_due(session, deadline_id, now)
    if deadline is None:
        return 0  # cancelled, paused, moved or fired by someone else since it was read
    row = session.execute(_COMPLAINT, {"complaint_id": deadline.complaint_id}).one()
    complaint, tier = ComplaintSnapshot.of(row), row.customer_tier
    if deadline.kind == compensation.STEP:
        if compensation.on_step_due(app, session, deadline.step_id, now) == "overdue":
            step = compensation.describe(session, deadline.step_id)
            _climb(app, session, people, complaint, tier, deadline, now, f"{step} not done by its deadline")
    elif deadline.kind == survey_messages.SURVEY:
        survey_messages.send(app, session, complaint, now)
    elif deadline.kind == clocks.PAUSE_LIMIT:
        _pause_ran_out(app, session, people, complaint, deadline, now)
    elif deadline.kind.endswith("_warning"):
        _warn(app, session, people, complaint, deadline, now)
    else:
        _climb(app, session, people, complaint, tier, deadline, now)
    return 1


def _assignee(app: Redress, session: Session, people: StaffByLevel, complaint: ComplaintSnapshot) -> Recipients:
    if complaint.assignee_id is None:
        return alert_recipients(people, complaint.escalation_level, app.config.alerts.fallback_email)
    row = session.execute(_USER, {"user_id": complaint.assignee_id}).one()
    return Recipients([(row.name, row.email)])


def _alerted(recipients: Recipients) -> dict[str, object]:
    """What the audit trail says about who was alerted, and why nobody was."""
    if recipients.nobody_because is None:
        return {"alerted": recipients.names}
    return {"alerted": [], "alert_failed": recipients.nobody_because}


def _alert(app: Redress, session: Session, complaint: ComplaintSnapshot, level: int, kind: str, headline: str,
           recipients: Recipients, now: datetime, hours_of: str | None = None) -> None:
    queue_staff_alert(app, session, complaint=complaint, kind=kind, headline=headline, level=ROLES[level],
                      recipients=recipients, now=now, hours_of=hours_of)


def _assignee_role(session: Session, complaint: ComplaintSnapshot) -> str | None:
    """The role whose staff hours an alert to the assignee keeps (None: unassigned, the level's people get it)."""
    if complaint.assignee_id is None:
        return None
    return str(session.execute(_USER, {"user_id": complaint.assignee_id}).one().role)


def _warn(
    app: Redress, session: Session, people: StaffByLevel, complaint: ComplaintSnapshot, deadline: Row, now: datetime,
) -> None:
    target = deadline.kind.removesuffix("_warning").replace("_", " ")
    due = local_minute(clocks.due_of_target(session, complaint.id, deadline.kind) or now, app.config.timezone)
    recipients = _assignee(app, session, people, complaint)
    change_complaint(session, complaint, now, SCHEDULER, "sla_warning", f"{target} due {due}",
                     {"deadline": deadline.kind, "due_at": deadline.due_at.isoformat(), **_alerted(recipients)},
                     conflict=_CONFLICT.format(complaint.number))
    _alert(app, session, complaint, complaint.escalation_level, "sla_warning", f"{target} due {due}",
           recipients, now, hours_of=_assignee_role(session, complaint))


def _pause_ran_out(app: Redress, session: Session, people: StaffByLevel, complaint: ComplaintSnapshot,
                   deadline: Row, now: datetime) -> None:
    """The longest wait on the customer ran out: the clock runs again, and the assignee and supervisors know."""
    if complaint.state != WAITING_CUSTOMER:
        return  # left the wait in the same instant: resuming cancels the limit, so nothing is left to do
    supervisor = ROLES.index("supervisor")
    found = [_assignee(app, session, people, complaint),
             alert_recipients(people, supervisor, app.config.alerts.fallback_email)]
    people_told = list(dict.fromkeys(person for recipients in found for person in recipients.people))
    recipients = Recipients(people_told) if people_told else found[-1]
    headline = (f"waited on the customer for {business_time(deadline.offset_minutes)}, the longest pause of its "
                "policy: the clock runs again")
    apply_transition(app, session, complaint, SystemActor(SCHEDULER), Trigger.PAUSE_LIMIT_REACHED, note=headline,
                     data={"deadline": deadline.kind, "due_at": deadline.due_at.isoformat(),
                           "max_pause_minutes": deadline.offset_minutes, **_alerted(recipients)})
    _alert(app, session, complaint, supervisor, "pause_limit", headline, recipients, now)


def _climb(app: Redress, session: Session, people: StaffByLevel, complaint: ComplaintSnapshot, tier: str,
           deadline: Row, now: datetime, headline: str | None = None) -> None:
    """A breach, an overdue compensation step or a ladder step: one level up, alert the people there."""
    top = len(ROLES) - 1
    level = min(complaint.escalation_level + 1, top)
    if headline is None:
        headline = (f"{deadline.kind.replace('_', ' ')} deadline breached" if deadline.kind in clocks.BREACH_KINDS
                    else "still unresolved: next step of the escalation ladder")
    if level > complaint.escalation_level:
        headline += f", escalated to {ROLES[level]}"
    recipients = alert_recipients(people, level, app.config.alerts.fallback_email)
    trigger = ("sla_breach" if deadline.kind in clocks.BREACH_KINDS
               else "step_overdue" if deadline.kind == compensation.STEP else "escalate")
    checkpoint: ComplaintChanges = {}
    if deadline.kind == compensation.STEP:
        compensation.remind_again(app, session, complaint, deadline.step_id, now)  # climbs again if still stalled
    else:
        clock_plan = plan_for(app.config, complaint.severity, tier)
        checkpoint = clocks.arm_next_step(app, session, complaint, level + 1, now, clock_plan)
    climbed: ComplaintChanges = {**checkpoint, "escalation_level": level, "escalated_at": now,
                                 "escalation_acked_at": None, "peak_level": max(complaint.peak_level, level),
                                 "first_escalated_at": complaint.first_escalated_at or now}
    if deadline.kind == "first_response" and complaint.first_response_breached_at is None:
        climbed["first_response_breached_at"] = now
    elif deadline.kind == "resolution" and complaint.resolution_breached_at is None:
        climbed["resolution_breached_at"] = now
    change_complaint(session, complaint, now, SCHEDULER, trigger, headline,
                     {"deadline": deadline.kind, "due_at": deadline.due_at.isoformat(),
                      "from_level": ROLES[complaint.escalation_level], "to_level": ROLES[level],
                      **_alerted(recipients)}, conflict=_CONFLICT.format(complaint.number), **climbed)
    _alert(app, session, complaint, level, trigger, headline, recipients, now)
