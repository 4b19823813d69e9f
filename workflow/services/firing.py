"""Firing due deadlines: warnings, breaches and climbs up the escalation ladder.

Each batch is one transaction that marks its deadlines fired (`WHERE fired_at
IS NULL`) together with their effects: a crash loses no deadline (the batch
rolls back and fires again) and never fires one twice (a fired row is never
picked again). On PostgreSQL a batch locks its deadlines and complaints and
skips those another batch holds, so any number of schedulers fire side by side,
each its own deadlines. A batch's warnings, breaches and ladder steps are
written set-wise (workflow/services/breaches.py): a handful of statements per
batch, not several per deadline.
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
from workflow.adapters.records import SNAPSHOT_COLUMNS, SNAPSHOT_FIELDS, ComplaintSnapshot
from workflow.bootstrap import Redress
from workflow.domain.errors import ConcurrentChange
from workflow.domain.sla import business_time
from workflow.domain.vocabulary import ROLES
from workflow.services import breaches, clocks, compensation, survey_messages
from workflow.services.alert_recipients import Recipients, StaffByLevel, alert_recipients
from workflow.services.clocks import claim_all_due, claim_due, due_deadlines
from workflow.services.failed_deadlines import record_failure
from workflow.services.transition import SystemActor, apply_transition

SCHEDULER = breaches.SCHEDULER


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

    Straight through, the batch's warnings, breaches and ladder steps are written together, in rounds of one
    deadline per complaint (`_split`); the other kinds follow one at a time. Isolated, each deadline runs in a
    savepoint; a concurrent change leaves it pending for the next batch, unless `conflict_fails` (the batch
    kept conflicting), when it is set aside like any other failure.
    """
    with app.uow() as uow:
        session = uow.session
        due = [row for row in due_deadlines(session, now, size + len(skip)) if row.id not in skip][:size]
        if not due:
            return None
        complaints = _lock_complaints(session, {row.complaint_id for row in due})
        skip.update(row.id for row in due if row.complaint_id not in complaints)  # another batch holds them
        due = [row for row in due if row.complaint_id in complaints]
        people = StaffByLevel(session)
        if not isolated:
            rounds, one_by_one = _split(due)
            try:
                fired = 0
                complaint_of = {row.id: row.complaint_id for row in due}
                for place, together in enumerate(rounds):
                    if place:  # this round's complaints, as the rounds before left them
                        complaints = _lock_complaints(session, {complaint_of[i] for i in together})
                    fired += _fire_together(app, session, people, together, complaints, now)
                fired += sum(_fire_one(app, session, people, deadline_id, now) for deadline_id in one_by_one)
            except (ConcurrentChange, OperationalError, InterfaceError):
                raise
            except Exception as error:
                raise _DeadlineRaised from error
            uow.commit()
            return fired, 0
        fired = failed = 0
        for deadline_id in (row.id for row in due):
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


# Kinds with effects of their own (a compensation step, a survey, a wait's limit) fire one at a time.
_ONE_AT_A_TIME = (compensation.STEP, survey_messages.SURVEY, clocks.PAUSE_LIMIT)


def _split(due: list[Row]) -> tuple[list[list[int]], list[int]]:
    """(rounds written together, deadlines fired one at a time after them).

    Round k holds the k-th due deadline of each complaint, so a complaint's deadlines are written in order,
    each seeing what the one before it wrote, exactly as firing them one by one would. From a complaint's
    first deadline of a kind with effects of its own, its deadlines go one at a time.
    """
    rounds: list[list[int]] = []
    one_by_one: list[int] = []
    taken: dict[int, int] = {}
    alone: set[int] = set()
    for row in due:
        if row.complaint_id in alone or row.kind in _ONE_AT_A_TIME:
            alone.add(row.complaint_id)
            one_by_one.append(row.id)
            continue
        place = taken.get(row.complaint_id, 0)
        taken[row.complaint_id] = place + 1
        if place == len(rounds):
            rounds.append([])
        rounds[place].append(row.id)
    return rounds, one_by_one


_COMPLAINTS = (
    select(*SNAPSHOT_COLUMNS, CUSTOMERS.c.tier.label("customer_tier"))
    .join(CUSTOMERS, CUSTOMERS.c.id == COMPLAINTS.c.customer_id)
    .where(COMPLAINTS.c.id.in_(bindparam("complaint_ids", expanding=True)))
    .order_by(COMPLAINTS.c.id)
    .with_for_update(of=COMPLAINTS, skip_locked=True)
)
_USERS = select(USERS.c.id, USERS.c.name, USERS.c.email, USERS.c.role).where(
    USERS.c.id.in_(bindparam("user_ids", expanding=True)))


def _lock_complaints(session: Session, complaint_ids: set[int]) -> dict[int, tuple[ComplaintSnapshot, str]]:
    """The batch's complaints with their customers' tiers, locked on PostgreSQL for the batch: a complaint
    another scheduler's batch (or an agent) holds is skipped, and its deadlines wait for the next sweep."""
    rows = session.execute(_COMPLAINTS, {"complaint_ids": sorted(complaint_ids)})
    width = len(SNAPSHOT_FIELDS)
    return {row.id: (ComplaintSnapshot(*row[:width]), row.customer_tier) for row in rows}


def _fire_together(app: Redress, session: Session, people: StaffByLevel, deadline_ids: list[int],
                   complaints: dict[int, tuple[ComplaintSnapshot, str]], now: datetime) -> int:
    """Claim, decide and write warnings, breaches and ladder steps of distinct complaints set-wise."""
    deadlines = claim_all_due(session, deadline_ids, now)
    warnings = [row for row in deadlines if row.kind.endswith("_warning")]
    targets = clocks.dues_of_targets(session, [(row.complaint_id, row.kind) for row in warnings])
    assignee_ids = {complaints[row.complaint_id][0].assignee_id for row in warnings} - {None}
    assignees = ({row.id: row for row in session.execute(_USERS, {"user_ids": sorted(assignee_ids)})}
                 if assignee_ids else {})
    firings = []
    for deadline in deadlines:
        complaint, tier = complaints[deadline.complaint_id]
        if deadline.kind.endswith("_warning"):
            firings.append(breaches.warning(app, people, complaint, deadline,
                                            targets[(complaint.id, deadline.kind)] or now,
                                            assignees.get(complaint.assignee_id)))
        else:
            firings.append(breaches.climb(app, people, complaint, tier, deadline, now))
    breaches.write_all(app, session, firings, now)
    return len(deadlines)


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


def _fire_one(app: Redress, session: Session, people: StaffByLevel, deadline_id: int, now: datetime) -> int:
    deadline = claim_due(session, deadline_id, now)
    if deadline is None:
        return 0  # cancelled, paused, moved or fired by someone else since it was read
    row = session.execute(_COMPLAINT, {"complaint_id": deadline.complaint_id}).one()
    complaint, tier = ComplaintSnapshot.of(row), row.customer_tier
    if deadline.kind == compensation.STEP:
        if compensation.on_step_due(app, session, deadline.step_id, now) == "overdue":
            step = compensation.describe(session, deadline.step_id)
            compensation.remind_again(app, session, complaint, deadline.step_id, now)  # climbs again if still stalled
            breaches.write_one(app, session, breaches.climb(app, people, complaint, tier, deadline, now,
                                                            f"{step} not done by its deadline"), now)
    elif deadline.kind == survey_messages.SURVEY:
        survey_messages.send(app, session, complaint, now)
    elif deadline.kind == clocks.PAUSE_LIMIT:
        _pause_ran_out(app, session, people, complaint, deadline, now)
    elif deadline.kind.endswith("_warning"):
        target_due = clocks.due_of_target(session, complaint.id, deadline.kind) or now
        breaches.write_one(app, session, breaches.warning(app, people, complaint, deadline, target_due,
                                                          _assignee(session, complaint)), now)
    else:
        breaches.write_one(app, session, breaches.climb(app, people, complaint, tier, deadline, now), now)
    return 1


def _assignee(session: Session, complaint: ComplaintSnapshot) -> Row | None:
    """The assignee's user row (name, email, role), or None when unassigned."""
    if complaint.assignee_id is None:
        return None
    return session.execute(_USER, {"user_id": complaint.assignee_id}).one()


def _pause_ran_out(app: Redress, session: Session, people: StaffByLevel, complaint: ComplaintSnapshot,
                   deadline: Row, now: datetime) -> None:
    """The longest wait on the customer ran out: the clock runs again, and the assignee and supervisors know."""
    if complaint.state != WAITING_CUSTOMER:
        return  # left the wait in the same instant: resuming cancels the limit, so nothing is left to do
    supervisor = ROLES.index("supervisor")
    found = [breaches.assignee_recipients(app, people, complaint, _assignee(session, complaint)),
             alert_recipients(people, supervisor, app.config.alerts.fallback_email)]
    people_told = list(dict.fromkeys(person for recipients in found for person in recipients.people))
    recipients = Recipients(people_told) if people_told else found[-1]
    headline = (f"waited on the customer for {business_time(deadline.offset_minutes)}, the longest pause of its "
                "policy: the clock runs again")
    apply_transition(app, session, complaint, SystemActor(SCHEDULER), Trigger.PAUSE_LIMIT_REACHED, note=headline,
                     data={"deadline": deadline.kind, "due_at": deadline.due_at.isoformat(),
                           "max_pause_minutes": deadline.offset_minutes, **breaches.alerted(recipients)})
    queue_staff_alert(app, session, complaint=complaint, kind="pause_limit", headline=headline,
                      level=ROLES[supervisor], recipients=recipients, now=now)
