"""The customer's own words reaching a complaint (an email reply, an SMS), and what they do to it.

One rule for every channel a customer writes in by:
- waiting on the customer: the reply resumes it (the clock runs again), audited as the customer's reply;
- resolved or closed within `mail.reopen_within_days`: it reopens;
- closed or cancelled longer ago: a new complaint is filed that follows the old one;
- any other open state: the words join the timeline.
The assignee is alerted every time, and the words are an event, so `show`, `history` and the terminal app put
them next to what Redress sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Row, select
from sqlmodel import Session

from states.definition import CANCELLED, CLOSED, RESOLVED, WAITING_CUSTOMER, Trigger
from workflow.adapters.models import EVENTS, USERS
from workflow.adapters.records import ComplaintSnapshot, change_complaint, load_complaint
from workflow.bootstrap import Redress
from workflow.domain.vocabulary import ROLES
from workflow.services.alert_recipients import Recipients, StaffByLevel, alert_recipients
from workflow.services.transition import apply_transition

CUSTOMER_MESSAGE = "customer_message"  # the event of words that change nothing but the timeline
_REOPENABLE = (RESOLVED, CLOSED)


@dataclass(frozen=True)
class Heard:
    """What the customer's words did: resumed, reopened, joined, follow_on (a new complaint), or blocked (a reply
    to a complaint cancelled as spam, never answered), and where."""

    outcome: str
    complaint_id: int
    number: str


def hear(
    app: Redress, session: Session, complaint: ComplaintSnapshot, actor: Row, words: str, *, channel: str,
    data: dict[str, Any] | None = None, file_follow_on: Any = None,
) -> Heard:
    """Put the customer's `words` on `complaint` by the rule above, in the caller's transaction.

    `file_follow_on(follows: ComplaintSnapshot) -> (id, number)` files the complaint that continues a closed one;
    the caller knows how (the channel's customer, language and attachments).
    """
    now = app.clock.now()
    if complaint.state == CANCELLED and complaint.cancel_reason == "spam":
        return Heard("blocked", complaint.id, complaint.number)  # never answered: that would feed the spammer
    if complaint.state == CANCELLED and complaint.duplicate_of_id is not None:
        complaint = load_complaint(session, complaint.duplicate_of_id)  # the words belong with the original
    facts = {"from_customer": True, "channel": channel, **(data or {})}
    note = words or "(no text)"
    if complaint.state == WAITING_CUSTOMER:
        apply_transition(app, session, complaint, actor, Trigger.CUSTOMER_REPLIED, note=note, data=facts)
        heard = Heard("resumed", complaint.id, complaint.number)
    elif complaint.state in _REOPENABLE and within_reopen_window(app, session, complaint, now):
        if _gone(session, complaint.assignee_id):  # reopened to the team, not to someone who left
            apply_transition(app, session, complaint, actor, Trigger.REOPEN, note=note, data=facts, closed_at=None,
                             assignee_id=None)
        else:
            apply_transition(app, session, complaint, actor, Trigger.REOPEN, note=note, data=facts, closed_at=None)
        heard = Heard("reopened", complaint.id, complaint.number)
    elif not complaint.is_open:
        follows_id, number = file_follow_on(complaint)
        change_complaint(session, complaint, now, actor.name, CUSTOMER_MESSAGE,  # our note, not their words
                         f"the customer wrote again; filed as {number}",
                         {**facts, "from_customer": False, "follow_on": number})
        _alert(app, session, load_complaint(session, follows_id), f"the customer wrote again about {complaint.number}",
               now)
        return Heard("follow_on", follows_id, number)
    else:
        change_complaint(session, complaint, now, actor.name, CUSTOMER_MESSAGE, note, facts)
        heard = Heard("joined", complaint.id, complaint.number)
    _alert(app, session, load_complaint(session, complaint.id), f"the customer replied ({heard.outcome})", now)
    return heard


def within_reopen_window(app: Redress, session: Session, complaint: ComplaintSnapshot, now: Any) -> bool:
    """Resolved or closed at most `mail.reopen_within_days` ago (measured from the last resolve or close)."""
    ended = complaint.closed_at or session.execute(
        select(EVENTS.c.at).where(EVENTS.c.complaint_id == complaint.id, EVENTS.c.to_state == RESOLVED)
        .order_by(EVENTS.c.id.desc()).limit(1)
    ).scalar() or complaint.updated_at
    return bool(now - ended <= timedelta(days=app.config.mail.reopen_within_days))


def _gone(session: Session, user_id: int | None) -> bool:
    """The user left (deactivated): work and alerts go to the staff still here."""
    return user_id is not None and session.execute(
        select(USERS.c.deactivated_at).where(USERS.c.id == user_id)).scalar() is not None


def _alert(app: Redress, session: Session, complaint: ComplaintSnapshot, headline: str, now: Any) -> None:
    """Tell the assignee; a complaint nobody holds yet tells the staff at its level, as an SLA alert would."""
    from notifications.outbox import queue_staff_alert  # deferred: templates load only to queue

    person = session.execute(select(USERS.c.name, USERS.c.email, USERS.c.role).where(
        USERS.c.id == complaint.assignee_id, USERS.c.deactivated_at.is_(None))).first()
    if person is not None:
        recipients, level = Recipients([(person.name, person.email)]), person.role
    else:
        fallback = app.config.alerts.fallback_email
        recipients = alert_recipients(StaffByLevel(session), complaint.escalation_level, fallback)
        level = ROLES[complaint.escalation_level]
    queue_staff_alert(app, session, complaint=complaint, kind="customer_reply", headline=headline, level=level,
                      recipients=recipients, now=now)
