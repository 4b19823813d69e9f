"""The transition step every use case that moves a complaint takes, in the use case's transaction.

The machine answers with the next state and the events it causes; the clock effects give the columns
that change with the state; one UPDATE at the version read writes them with the audit event; then the
other effects run (workflow/services/effects.py). Lifecycle, surveys and supervision all import it from here.
Starting, resolving and closing someone else's complaint is refused here, so no use case can forget it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, select
from sqlmodel import Session
from typing_extensions import Unpack

from states.definition import FINAL_STATES, Trigger
from states.events import step
from states.machine import TriggerNotAllowed
from workflow.adapters.models import USERS
from workflow.adapters.records import ComplaintChanges, ComplaintSnapshot, change_complaint
from workflow.bootstrap import Redress
from workflow.domain.errors import ConcurrentChange, InvalidTransition, PermissionDenied
from workflow.domain.permissions import Person, others_complaint_refusal
from workflow.services import effects
from workflow.services.compensation import PlannedStep

# What only the assignee does to their complaint, or a senior or above giving a reason (the note): as the user says it.
ASSIGNEES_OWN: dict[str, str] = {Trigger.START: "start", Trigger.RESOLVE: "resolve", Trigger.CLOSE: "close"}


@dataclass(frozen=True)
class Outcome:
    """What a use case did to a complaint, for the caller to report."""

    id: int
    number: str
    trigger: str
    from_state: str
    to_state: str
    version: int
    detail: str = ""
    answer: str = ""  # the policy manual's text the agent reads to the customer, in the customer's language
    planned_steps: tuple[PlannedStep, ...] = ()  # compensation steps the transition planned


@dataclass(frozen=True)
class SystemActor:
    """The engine itself acting (the scheduler): a name in the trail, no account, no role to check."""

    name: str
    id: None = None
    role: str = "system"


def check_version(complaint: ComplaintSnapshot, expected: int | None) -> None:
    """Refuse to act on a complaint that changed since the caller read it at version `expected`."""
    if expected is not None and expected != complaint.version:
        raise ConcurrentChange(
            f"{complaint.number} changed since you read it (version {expected}, now {complaint.version}); "
            "look at it again before acting",
            current_version=complaint.version,
        )


def _refuse_someone_elses(session: Session, complaint: ComplaintSnapshot, actor: Row | SystemActor, trigger: str,
                          note: str) -> None:
    """The assignee rule (workflow/domain/permissions.py) for the triggers that are the assignee's own."""
    if trigger not in ASSIGNEES_OWN or complaint.assignee_id is None or isinstance(actor, SystemActor):
        return
    assignee = session.execute(select(USERS.c.name, USERS.c.role).where(USERS.c.id == complaint.assignee_id)).one()
    refused = others_complaint_refusal(Person(actor.id, actor.name, actor.role),
                                       Person(complaint.assignee_id, assignee.name, assignee.role),
                                       complaint.number, ASSIGNEES_OWN[trigger], note)
    if refused:
        raise PermissionDenied(refused)


def apply_transition(
    app: Redress,
    session: Session,
    complaint: ComplaintSnapshot,
    actor: Row | SystemActor,
    trigger: str,
    *,
    note: str = "",
    data: dict[str, Any] | None = None,
    **changes: Unpack[ComplaintChanges],
) -> Outcome:
    """Move the complaint by `trigger` (the machine decides), apply `changes` and the effects, append the event.

    The update says WHERE version = <the version read>: if another transaction
    changed the complaint in between, nothing is written and the caller is told.
    """
    from_state = complaint.state
    try:
        # whether someone holds it once this change is made (a reopen that also unassigns goes to the team)
        assignee_after = changes.get("assignee_id", complaint.assignee_id)
        moved = step(from_state, trigger, has_assignee=assignee_after is not None,
                     first_response_given=complaint.first_responded_at is not None,
                     pause_states=frozenset(app.config.sla.pause_states))
    except TriggerNotAllowed as refused:
        raise InvalidTransition(f"{complaint.number}: {refused}") from None
    _refuse_someone_elses(session, complaint, actor, trigger, note)
    now = app.clock.now()
    to_state = moved.to_state.value
    trigger = str(trigger)  # stored as the plain word, whether given as a Trigger or as text
    values: ComplaintChanges = {**changes, "state": to_state, "is_open": to_state not in FINAL_STATES}
    if to_state in FINAL_STATES and from_state not in FINAL_STATES:
        values["closed_at"] = now
    happened = effects.Happened(app, session, complaint, actor, to_state, note, changes, now, trigger=trigger,
                                data=data or {})
    values.update(effects.before_write(moved.events, happened))
    version = change_complaint(session, complaint, now, actor.name, trigger, note, data, to_state=to_state,
                               **values)
    effects.after_write(moved.events, happened)
    return Outcome(complaint.id, complaint.number, trigger, from_state, to_state, version,
                   planned_steps=tuple(happened.planned))
