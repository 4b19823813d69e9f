"""A leaver's departure: their open complaints handed over and their account deactivated, in one audited step.

Every open complaint goes to a named active user (`hand_over`: the work stays where it stands) or back to the
team queue (`unassign`: unstarted work waits for triage, so anyone can take it), each with its own event at the
version read. If any complaint cannot be handed over, nothing is: the leaver stays active with all their work.
The leaver's earlier events keep their name: their history stays theirs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, bindparam, select, update
from sqlmodel import Session

from states.definition import Trigger
from workflow.adapters.models import COMPLAINTS, USERS
from workflow.adapters.records import ComplaintSnapshot, optional_text, required_text
from workflow.bootstrap import Redress
from workflow.domain.errors import ConcurrentChange, InvalidInput
from workflow.domain.permissions import require
from workflow.services.audit import changes_of, record_change
from workflow.services.people import acting_user, find_user, known_user
from workflow.services.transition import apply_transition

TEAM_QUEUE = "the team queue"

_DEACTIVATE = (update(USERS).where(USERS.c.id == bindparam("user_id"), USERS.c.deactivated_at.is_(None))
               .values(deactivated_at=bindparam("now")))
_OPEN_WORK = (select(COMPLAINTS).where(COMPLAINTS.c.assignee_id == bindparam("user_id"),
                                       COMPLAINTS.c.is_open.is_(True))
              .order_by(COMPLAINTS.c.id))


@dataclass(frozen=True)
class HandedOver:
    """One complaint as it changed hands."""

    number: str
    from_state: str
    to_state: str
    version: int


@dataclass(frozen=True)
class Departure:
    """What deactivating a user did: where their work went, and each complaint it moved."""

    user: str
    to: str  # a user's name, or TEAM_QUEUE
    reason: str
    complaints: list[HandedOver] = field(default_factory=list)


def open_work(session: Session, user_id: int) -> list[ComplaintSnapshot]:
    """The open complaints a user holds, oldest first."""
    return [ComplaintSnapshot.of(row) for row in session.execute(_OPEN_WORK, {"user_id": user_id})]


def deactivate_user(
    app: Redress, actor: str | None, name: str, *, reason: str | None, handover_to: str | None = None,
    to_queue: bool = False, expected: Mapping[str, int] | None = None,
) -> Departure:
    """Deactivate a leaver and hand over every open complaint they hold (managers only).

    `expected` is the list the manager was shown (number -> version): if the leaver's open work differs from
    it now, the step refuses and says which complaint changed.
    """
    reason = required_text(reason, "reason", "why the user is deactivated", app.config.limits.reason)
    if handover_to and to_queue:
        raise InvalidInput("give either --handover-to NAME or --to-queue, not both")
    with app.uow() as uow:
        session = uow.session
        manager = acting_user(session, actor)
        require(manager, "deactivate_user")
        leaver = known_user(session, name)
        if leaver.id == manager.id:
            raise InvalidInput(f"{name} cannot deactivate themselves; another manager must")
        heir = find_user(session, handover_to) if handover_to else None
        if heir is not None and heir.id == leaver.id:
            raise InvalidInput(f"{name} cannot hand their work over to themselves")
        now = app.clock.now()
        # Deactivated first: from here on nobody can give the leaver work (find_user waits for this row's lock),
        # so the open work read next is all there is.
        if session.execute(_DEACTIVATE, {"user_id": leaver.id, "now": now}).rowcount != 1:  # type: ignore[attr-defined]
            raise InvalidInput(f"{name} is already deactivated")
        work = open_work(session, leaver.id)
        _check_expected(work, expected, name)
        if work and heir is None and not to_queue:
            raise InvalidInput(f"{name} holds {len(work)} open complaints ({_numbers(work)}); say where they go: "
                               "--handover-to NAME or --to-queue")
        departure = Departure(name, heir.name if heir else TEAM_QUEUE, reason)
        for complaint in work:
            departure.complaints.append(_hand_over(app, session, manager, leaver, heir, complaint, reason))
        changes: dict[str, list[Any]] = {"active": [True, False]}
        changes.update({f"assignee of {c.number}": [name, heir.name if heir else None] for c in work})
        record_change(session, now, manager.name, "user", leaver.id, "deactivate", changes, reason)
        uow.commit()
        return departure


def _hand_over(app: Redress, session: Session, manager: Row, leaver: Row, heir: Row | None,
               complaint: ComplaintSnapshot, reason: str) -> HandedOver:
    """One complaint's change of hands, as the manager, with the leaver's name and the reason in the event."""
    to = heir.name if heir else TEAM_QUEUE
    try:
        outcome = apply_transition(
            app, session, complaint, manager, Trigger.HAND_OVER if heir else Trigger.UNASSIGN,
            note=f"{leaver.name} left; handed over to {to}: {reason}",
            data={"from": leaver.name, "to": heir.name if heir else None, "reason": reason},
            assignee_id=heir.id if heir else None,
        )
    except ConcurrentChange:
        raise ConcurrentChange(f"{complaint.number} changed while {leaver.name}'s complaints were handed over; "
                               f"nothing was handed over and {leaver.name} is still active: try again") from None
    return HandedOver(complaint.number, outcome.from_state, outcome.to_state, outcome.version)


def _check_expected(work: list[ComplaintSnapshot], expected: Mapping[str, int] | None, name: str) -> None:
    """Refuse when the leaver's open work is not what the manager was shown."""
    if expected is None:
        return
    now = {c.number: c.version for c in work}
    changed = sorted(n for n in now.keys() | expected.keys() if now.get(n) != expected.get(n))
    if changed:
        raise ConcurrentChange(f"{name}'s open complaints changed since you read them ({', '.join(changed)}); "
                               f"nothing was handed over and {name} is still active: look again")


def _numbers(work: list[ComplaintSnapshot]) -> str:
    shown = ", ".join(c.number for c in work[:5])
    return shown + (f" and {len(work) - 5} more" if len(work) > 5 else "")


def reactivate_user(app: Redress, actor: str | None, name: str, reason: str | None = None) -> None:
    """Let a deactivated user act again (managers only); their complaints stay with whoever took them over."""
    reason = optional_text(reason, "reason", app.config.limits.reason)
    with app.uow() as uow:
        session = uow.session
        manager = acting_user(session, actor)
        require(manager, "reactivate_user")
        user = known_user(session, name)
        if user.deactivated_at is None:
            raise InvalidInput(f"{name} is active")
        session.execute(update(USERS).where(USERS.c.id == user.id).values(deactivated_at=None))
        record_change(session, app.clock.now(), manager.name, "user", user.id, "reactivate",
                      {"active": [False, True]}, reason)
        uow.commit()


def user_profile(app: Redress, name: str) -> dict[str, Any]:
    """A member of staff: role, contact, whether active, the open complaints they hold, and their audit lines."""
    with app.uow(write=False) as uow:
        session = uow.session
        user = session.execute(select(USERS).where(USERS.c.id == known_user(session, name).id)).one()
        return {
            "name": user.name, "display_name": user.display_name, "role": user.role, "email": user.email,
            "active": user.deactivated_at is None,
            "deactivated_at": user.deactivated_at.isoformat() if user.deactivated_at else None,
            "open_complaints": [{"number": c.number, "state": c.state, "severity": c.severity,
                                 "version": c.version, "summary": c.summary}
                                for c in open_work(session, user.id)],
            "changes": changes_of(session, "user", user.id),
        }
