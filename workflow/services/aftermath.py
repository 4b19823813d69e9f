"""What follows a complaint's transition beyond its clocks: the customer is told, amends are planned, a survey queued.

Called by the service layer inside the transition's transaction, after the
complaint row is written, so messages render from the complaint as it now is.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, select
from sqlmodel import Session

from states.definition import CANCELLED, CLOSED, RESOLVED
from workflow.adapters.models import COMPLAINTS
from workflow.bootstrap import Redress
from workflow.services import compensation, surveys


def after_transition(
    app: Redress, session: Session, before: Row, actor: Row, trigger: str, to_state: str, note: str, now: datetime,
) -> None:
    from notifications.customer import queue_customer_message

    if trigger == "respond" and before.first_responded_at is None:
        queue_customer_message(app, session, "first_response", before.id, now, extra={"agent_message": note})
    if to_state == RESOLVED and trigger == "resolve":
        queue_customer_message(app, session, "resolution", before.id, now)
        resolved = session.execute(select(COMPLAINTS).where(COMPLAINTS.c.id == before.id)).one()
        compensation.plan_for_resolution(app, session, resolved, actor, now)
    if trigger == "answer_from_manual":
        queue_customer_message(app, session, "resolution", before.id, now)
    if to_state == CLOSED and before.state != CLOSED:
        surveys.arm(app, session, before, actor.name, now)
    if trigger == "reopen":
        surveys.withdraw(session, before.id, to_state, actor.name, f"reopened: {note}".rstrip(": "), now)
    if to_state == CANCELLED:
        compensation.cancel_open_steps(session, before.id, to_state, actor.name,
                                       f"complaint cancelled: {note}".rstrip(": "), now)
