"""What the scheduler did to my open complaints since I last looked: warnings, breaches and escalations.

The terminal app asks on each refresh and tells the agent at once, so a warning
is not only a line in the scheduler's log. Each call reads only the events
appended since the last one seen (a range of the event table's primary key).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from workflow.adapters.models import COMPLAINTS, EVENTS
from workflow.bootstrap import Redress
from workflow.services.people import acting_user

# The audit triggers workflow/services/firing.py writes when a deadline fires against a complaint.
WARNED = "sla_warning"
ESCALATED = ("sla_breach", "escalate", "step_overdue")


@dataclass(frozen=True)
class News:
    """One thing the scheduler did to one of my complaints."""

    event_id: int
    number: str
    trigger: str
    what: str  # the scheduler's headline, e.g. "first response deadline breached, escalated to senior"

    @property
    def escalated(self) -> bool:
        return self.trigger in ESCALATED


def latest_event(app: Redress) -> int:
    """The newest event's id: news starts after it, so opening the app does not replay the past."""
    with app.uow(write=False) as uow:
        return uow.session.execute(select(func.max(EVENTS.c.id))).scalar() or 0


def news_since(app: Redress, actor: str, after: int) -> tuple[int, list[News]]:
    """The scheduler's warnings and escalations on `actor`'s open complaints after event `after`, oldest first.

    Returns the newest event id read with them, to pass as `after` next time.
    """
    with app.uow(write=False) as uow:
        session = uow.session
        newest = session.execute(select(func.max(EVENTS.c.id))).scalar() or 0
        if newest <= after:
            return after, []
        me = acting_user(session, actor).id
        rows = session.execute(
            select(EVENTS.c.id, EVENTS.c.trigger, EVENTS.c.note, COMPLAINTS.c.number)
            .join(COMPLAINTS, COMPLAINTS.c.id == EVENTS.c.complaint_id)
            .where(EVENTS.c.id > after, EVENTS.c.id <= newest, EVENTS.c.trigger.in_((WARNED, *ESCALATED)),
                   COMPLAINTS.c.assignee_id == me, COMPLAINTS.c.is_open.is_(True))
            .order_by(EVENTS.c.id)
        )
        return newest, [News(r.id, r.number, r.trigger, r.note) for r in rows]
