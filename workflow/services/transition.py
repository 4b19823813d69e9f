"""The transition step every use case that moves a complaint takes, in the use case's transaction.

The machine answers with the next state and the events it causes; the clock effects give the columns
that change with the state; one UPDATE at the version read writes them with the audit event; then the
other effects run (workflow/services/effects.py). Lifecycle, surveys and supervision all import it from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row
from sqlmodel import Session
from typing_extensions import Unpack

from states.definition import FINAL_STATES
from states.events import step
from states.machine import TriggerNotAllowed
from workflow.adapters.records import ComplaintChanges, ComplaintSnapshot, change_complaint
from workflow.bootstrap import Redress
from workflow.domain.errors import ConcurrentChange, InvalidTransition
from workflow.services import effects
from workflow.services.compensation import PlannedStep


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


def check_version(complaint: ComplaintSnapshot, expected: int | None) -> None:
    """Refuse to act on a complaint that changed since the caller read it at version `expected`."""
    if expected is not None and expected != complaint.version:
        raise ConcurrentChange(
            f"{complaint.number} changed since you read it (version {expected}, now {complaint.version}); "
            "look at it again before acting",
            current_version=complaint.version,
        )


def apply_transition(
    app: Redress,
    session: Session,
    complaint: ComplaintSnapshot,
    actor: Row,
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
        moved = step(from_state, trigger, has_assignee=complaint.assignee_id is not None,
                     first_response_given=complaint.first_responded_at is not None,
                     pause_states=frozenset(app.config.sla.pause_states))
    except TriggerNotAllowed as refused:
        raise InvalidTransition(f"{complaint.number}: {refused}") from None
    now = app.clock.now()
    to_state = moved.to_state.value
    trigger = str(trigger)  # stored as the plain word, whether given as a Trigger or as text
    values: ComplaintChanges = {**changes, "state": to_state, "is_open": to_state not in FINAL_STATES}
    if to_state in FINAL_STATES and from_state not in FINAL_STATES:
        values["closed_at"] = now
    happened = effects.Happened(app, session, complaint, actor, to_state, note, changes, now)
    values.update(effects.before_write(moved.events, happened))
    version = change_complaint(session, complaint, now, actor.name, trigger, note, data, to_state=to_state,
                               **values)
    effects.after_write(moved.events, happened)
    return Outcome(complaint.id, complaint.number, trigger, from_state, to_state, version,
                   planned_steps=tuple(happened.planned))
