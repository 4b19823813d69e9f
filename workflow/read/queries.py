"""Read models: what `show`, `queue`, `history` and `customer show` display, as plain JSON-ready dicts."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select as select_columns
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from states.definition import STATES
from states.machine import allowed_triggers
from workflow.adapters.models import COMPLAINTS, Complaint, Customer, Event, User
from workflow.adapters.records import ComplaintSnapshot, load_complaint
from workflow.bootstrap import Redress
from workflow.domain.errors import InvalidInput, checked_limit
from workflow.domain.sla import business_minutes_between
from workflow.read.countdown import MOST_URGENT_FIRST, countdown, countdown_deadlines
from workflow.read.inbound import attachments_of, conversation_of
from workflow.read.pauses import complaint_pauses
from workflow.services import clocks
from workflow.services.audit import changes_of
from workflow.services.compensation import steps_of
from workflow.services.people import acting_user, find_customer


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _customer_dict(customer: Any) -> dict[str, Any]:
    return {
        "id": customer.id,
        "name": customer.name,
        "phone": customer.phone,
        "email": customer.email,
        "tier": customer.tier,
        "language": customer.language,
    }


def _user_name(session: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    return user.name if user else None


# The clocks an agent works against; warnings only announce them, and step and survey timers are not SLA clocks.
_CLOCK_KINDS = ("first_response", "resolution", "escalation")


def _number_of(session: Session, complaint_id: int | None) -> str | None:
    if complaint_id is None:
        return None
    number: str | None = session.execute(
        select_columns(COMPLAINTS.c.number).where(COMPLAINTS.c.id == complaint_id)).scalar()
    return number


def _clocks(app: Redress, complaint: ComplaintSnapshot, sla: dict[str, Any]) -> list[dict[str, Any]]:
    """Each clock's latest deadline that still matters, with business time left or overdue (never negative).

    A pending deadline counts down; a breached one counts how long it has been overdue, while the complaint is
    open and (for the first response) still unanswered. A paused clock has no due time, only time left.
    """
    latest = {d["kind"]: d for d in sla["deadlines"] if d["kind"] in _CLOCK_KINDS}
    now = app.clock.now()
    calendar = app.calendar(sla["calendar"]) if sla.get("calendar") else None
    shown = []
    for kind in _CLOCK_KINDS:
        deadline = latest.get(kind)
        if deadline is None or deadline["cancelled_at"]:
            continue
        left = deadline["remaining_business_minutes"]
        if not deadline["pending"]:
            if (not complaint.is_open or kind not in clocks.BREACH_KINDS
                    or (kind == "first_response" and complaint.first_responded_at is not None)):
                continue
            due = datetime.fromisoformat(deadline["due_at"])
            left = -business_minutes_between(due, now, calendar) if calendar and due < now else None
        shown.append({
            "kind": kind,
            "due_at": deadline["due_at"],
            "paused": deadline["pending"] and deadline["due_at"] is None,
            "breached": not deadline["pending"],
            "business_minutes_left": max(left, 0.0) if left is not None else None,
            "business_minutes_overdue": round(-left, 1) if left is not None and left < 0 else None,
        })
    return shown


def complaint_detail(app: Redress, ref: str) -> dict[str, Any]:
    """Everything an agent needs to pick up a complaint: its clocks, its compensation steps, what may happen next."""
    with app.uow(write=False) as uow:
        session = uow.session
        complaint = load_complaint(session, ref)
        customer = session.get(Customer, complaint.customer_id)
        duplicate_of = session.get(Complaint, complaint.duplicate_of_id) if complaint.duplicate_of_id else None
        sla = clocks.report(app, session, complaint)
        detail = {
            "id": complaint.id,
            "number": complaint.number,
            "state": complaint.state,
            "severity": complaint.severity,
            "severity_reason": complaint.severity_reason,
            "category": complaint.category,
            "channel": complaint.channel,
            "summary": complaint.summary,
            "order_ref": complaint.order_ref,
            "customer": _customer_dict(customer) if customer else None,
            "assignee": _user_name(session, complaint.assignee_id),
            "owner": complaint.owner,
            "escalation_level": complaint.escalation_level,
            "resolution": complaint.resolution,
            "cancel_reason": complaint.cancel_reason,
            "duplicate_of": duplicate_of.number if duplicate_of else None,
            "created_by": _user_name(session, complaint.created_by_id),
            "created_at": _iso(complaint.created_at),
            "updated_at": _iso(complaint.updated_at),
            "closed_at": _iso(complaint.closed_at),
            "version": complaint.version,
            "allowed_actions": allowed_triggers(complaint.state),
            "first_responded_at": _iso(complaint.first_responded_at),
            "escalated_at": _iso(complaint.escalated_at),
            "sla": sla,
            "clocks": _clocks(app, complaint, sla),
            "compensation_steps": steps_of(session, complaint.id),
            "pauses": complaint_pauses(session, complaint.id),
            "follows": _number_of(session, complaint.follows_id),
            "conversation": conversation_of(session, complaint.id),
            "attachments": attachments_of(session, complaint.id),
        }
    return detail


# The one queue order, for `redress queue` and the terminal app's queues alike.
# A closed or cancelled complaint's clock has stopped: nothing to count down, nothing urgent.
_NO_COUNTDOWN = {"paused": False, "next_deadline": None, "remaining_minutes": None, "urgency": None}


def queue(
    app: Redress,
    *,
    actor: str | None = None,
    mine: bool = False,
    state: str | None = None,
    include_closed: bool = False,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Complaints by risk (workflow/read/countdown.py), each with business time left to its next deadline."""
    if state is not None and state not in STATES:
        raise InvalidInput(f"state '{state}' is not allowed; states: {', '.join(STATES)}")
    checked_limit(limit)
    now = app.clock.now()
    with app.uow(write=False) as uow:
        session = uow.session
        assignee = aliased(User)
        query = (
            # Columns, not Complaint objects: building fifty full ORM objects was most of the read's time.
            select_columns(
                *(col(getattr(Complaint, name)) for name in (
                    "id", "number", "state", "severity", "escalation_level", "category", "channel")),
                col(Customer.name).label("customer"), col(assignee.name).label("assignee"),
                *(col(getattr(Complaint, name)) for name in ("owner", "summary", "created_at", "updated_at")),
                col(Customer.tier), col(Complaint.sla_paused_at), col(Complaint.next_breach_at),
                col(Complaint.is_open))
            .join(Customer, col(Customer.id) == Complaint.customer_id)
            .outerjoin(assignee, col(assignee.id) == Complaint.assignee_id)
        )
        if mine:
            query = query.where(col(Complaint.assignee_id) == acting_user(session, actor).id)
        if state is not None:
            query = query.where(col(Complaint.state) == state)
        elif not include_closed:
            query = query.where(col(Complaint.is_open) == True)  # noqa: E712 - SQL, not Python
        if include_closed or state is not None:
            query = query.order_by(col(Complaint.is_open).desc())
        rows = list(session.execute(query.order_by(*MOST_URGENT_FIRST).limit(limit)))
        deadlines = countdown_deadlines(session, [row.id for row in rows if row.is_open])
    shown = ("id", "number", "state", "severity", "escalation_level", "category", "channel", "customer", "assignee",
             "owner", "summary")
    return [
        {**{key: getattr(row, key) for key in shown}, "created_at": _iso(row.created_at),
         "updated_at": _iso(row.updated_at),
         **(countdown(app, row, deadlines.get(row.id, []), now) if row.is_open else _NO_COUNTDOWN)}
        for row in rows
    ]


def history(app: Redress, ref: str) -> dict[str, Any]:
    """The complaint's audit trail, oldest first."""
    with app.uow(write=False) as uow:
        complaint = load_complaint(uow.session, ref)
        events = uow.session.exec(
            select(Event).where(Event.complaint_id == complaint.id).order_by(col(Event.id))
        ).all()
        return {
            "number": complaint.number,
            "events": [
                {
                    "id": e.id,
                    "at": _iso(e.at),
                    "actor": e.actor,
                    "trigger": e.trigger,
                    "from_state": e.from_state,
                    "to_state": e.to_state,
                    "note": e.note,
                    "data": json.loads(e.data),
                }
                for e in events
            ],
        }


def customer_detail(app: Redress, ref: str) -> dict[str, Any]:
    """The shared customer profile and every complaint they made, newest first."""
    with app.uow(write=False) as uow:
        session = uow.session
        customer = find_customer(session, ref)
        complaints = session.exec(
            select(Complaint)
            .where(Complaint.customer_id == customer.id)
            .order_by(col(Complaint.created_at).desc())
        ).all()
        return {
            **_customer_dict(customer),
            "created_at": _iso(customer.created_at),
            "changes": changes_of(session, "customer", customer.id),
            "complaints": [
                {
                    "number": c.number,
                    "state": c.state,
                    "severity": c.severity,
                    "category": c.category,
                    "summary": c.summary,
                    "created_at": _iso(c.created_at),
                }
                for c in complaints
            ],
        }
