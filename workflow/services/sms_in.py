"""Text messages in, posted by an SMS gateway with its API key (scope `inbound`).

A text has no thread headers: it belongs to the sender's latest complaint when that one is open, or resolved
or closed within `mail.reopen_within_days`; otherwise it files a new complaint. A digit answering a survey that
went out is the score. The gateway's message id makes a repeat post harmless (taken once).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Row, insert, select
from sqlmodel import Session

from workflow.adapters.db import insert_returning_id
from workflow.adapters.models import COMPLAINTS, CUSTOMERS, INBOUND
from workflow.adapters.records import ComplaintSnapshot, checked_text, load_complaint, required_text
from workflow.bootstrap import Redress
from workflow.domain.errors import PermissionDenied
from workflow.domain.permissions import person_refusal
from workflow.services import replies
from workflow.services.lifecycle import file_in_session
from workflow.services.mail_in import answer_by_score, is_blocked, over_sender_limit, storable
from workflow.services.people import acting_user, normalize_phone

SMS_MAILBOX = "sms"  # the inbound records of texts, beside the mailboxes'
# Gateways send numbers in international form (+8613800138000); agents type the mainland form (13800138000).
HOME_COUNTRY_CODE = "+86"


@dataclass(frozen=True)
class TextTaken:
    outcome: str  # filed, joined, resumed, reopened, survey, blocked, limited
    complaint: str | None
    already: bool = False  # the gateway posted this message before


def take_text(app: Redress, actor: str | None, sender: str, text: str, message_id: str) -> TextTaken:
    """Take one text message from the gateway, once per `message_id`."""
    message_id = required_text(message_id, "message_id", "the gateway's id, so a repeat is taken once", 255)
    words = required_text(text, "text", "what the customer wrote", app.config.limits.note)
    phone = normalize_phone(checked_text(sender.strip(), "sender", 32))
    with app.uow() as uow:
        session = uow.session
        phone = _as_stored(session, phone)
        user = acting_user(session, actor)
        if not user.is_system:
            raise PermissionDenied(person_refusal(user.name, "take_inbound"))
        earlier = session.execute(select(INBOUND.c.outcome, COMPLAINTS.c.number)
                                  .outerjoin(COMPLAINTS, COMPLAINTS.c.id == INBOUND.c.complaint_id)
                                  .where(INBOUND.c.mailbox == SMS_MAILBOX, INBOUND.c.mailbox_key == message_id)).first()
        if earlier is not None:
            return TextTaken(earlier.outcome, earlier.number, already=True)
        outcome, complaint_id, detail = _act(app, session, user, phone, words)
        now = app.clock.now()
        insert_returning_id(session, insert(INBOUND), {
            "mailbox": SMS_MAILBOX, "mailbox_key": message_id, "message_id": f"sms-{message_id}"[:255],
            "sender": phone, "subject": "", "sent_at": None, "taken_at": now, "outcome": outcome, "detail": detail,
            "complaint_id": complaint_id, "text": words, "raw": None})
        number = session.execute(select(COMPLAINTS.c.number).where(COMPLAINTS.c.id == complaint_id)).scalar()
        uow.commit()
        return TextTaken(outcome, number)


def _as_stored(session: Session, phone: str) -> str:
    """The number as the customer's profile keeps it: an international number of the home country matches a
    profile written without the country code."""
    if phone.startswith(HOME_COUNTRY_CODE):
        national = phone[len(HOME_COUNTRY_CODE):]
        if session.execute(select(CUSTOMERS.c.id).where(CUSTOMERS.c.phone == national)).first() is not None:
            return national
    return phone


def _act(app: Redress, session: Session, user: Row, phone: str, words: str) -> tuple[str, int | None, str]:

    if is_blocked(phone, app.config.mail.blocked_senders):
        return "blocked", None, f"{phone} is on mail.blocked_senders"
    flood = over_sender_limit(app, session, phone)
    if flood:
        return "limited", None, flood
    facts = {"via": "sms"}
    latest = session.execute(
        select(COMPLAINTS.c.id).join(CUSTOMERS, CUSTOMERS.c.id == COMPLAINTS.c.customer_id)
        .where(CUSTOMERS.c.phone == phone).order_by(COMPLAINTS.c.id.desc()).limit(1)).scalar()
    complaint = load_complaint(session, latest) if latest is not None else None
    scored = answer_by_score(app, session, complaint, user, words, via="sms") if complaint is not None else None
    if scored is not None:
        return "survey", complaint.id if complaint else None, scored

    def file_text(follows: ComplaintSnapshot | None = None) -> tuple[int, str]:
        filed = file_in_session(
            app, session, user, channel="sms", category=app.config.mail.category,
            summary=storable(words, app.config.limits.summary), phone=phone, email=None, name=phone, tier=None,
            language=None, order_ref=None, severity=None, follows_id=follows.id if follows else None,
            data={**facts, **({"follows": follows.number} if follows else {})})
        return filed.id, filed.number

    if complaint is not None and (complaint.is_open or replies.within_reopen_window(app, session, complaint,
                                                                                     app.clock.now())):
        heard = replies.hear(app, session, complaint, user, words, channel="sms", data=facts,
                             file_follow_on=file_text)
        return heard.outcome, heard.complaint_id, ""
    return "filed", file_text()[0], ""
