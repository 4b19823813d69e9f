"""Mail taken in as staff read it: what came, what it became, the customer's files, and the conversation on a
complaint (the customer's words next to what Redress sent them)."""

from __future__ import annotations

import base64
import json
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from workflow.adapters.models import ATTACHMENTS, COMPLAINTS, EVENTS, INBOUND, MESSAGES
from workflow.adapters.records import load_complaint
from workflow.domain.errors import InvalidInput, NotFound, checked_limit
from workflow.domain.vocabulary import INBOUND_OUTCOMES as OUTCOMES

_LISTED = (INBOUND.c.id, INBOUND.c.mailbox, INBOUND.c.sender, INBOUND.c.subject, INBOUND.c.taken_at,
           INBOUND.c.outcome, INBOUND.c.detail, COMPLAINTS.c.number)


def _inbound_dict(row: Any) -> dict[str, Any]:
    return {"id": row.id, "mailbox": row.mailbox, "sender": row.sender, "subject": row.subject,
            "taken_at": row.taken_at.isoformat(), "outcome": row.outcome, "detail": row.detail,
            "complaint": row.number}


def list_inbound(app: Any, *, outcome: str | None = None, mailbox: str | None = None, complaint: str | None = None,
                 limit: int = 50) -> list[dict[str, Any]]:
    """Messages taken in, newest first, for `redress mail list`."""
    if outcome is not None and outcome not in OUTCOMES:
        raise InvalidInput(f"outcome '{outcome}' is not allowed; outcomes: {', '.join(OUTCOMES)}")
    query = (select(*_LISTED).outerjoin(COMPLAINTS, COMPLAINTS.c.id == INBOUND.c.complaint_id)
             .order_by(INBOUND.c.id.desc()).limit(checked_limit(limit)))
    if outcome is not None:
        query = query.where(INBOUND.c.outcome == outcome)
    if mailbox is not None:
        query = query.where(INBOUND.c.mailbox == mailbox)
    with app.uow(write=False) as uow:
        if complaint is not None:
            query = query.where(INBOUND.c.complaint_id == load_complaint(uow.session, complaint).id)
        return [_inbound_dict(row) for row in uow.session.execute(query)]


def show_inbound(app: Any, inbound_id: int) -> dict[str, Any]:
    """One message taken in: its whole text (quotes and signature included) and the files it brought."""
    with app.uow(write=False) as uow:
        row = uow.session.execute(
            select(*_LISTED, INBOUND.c.message_id, INBOUND.c.sent_at, INBOUND.c.text, INBOUND.c.mailbox_key)
            .outerjoin(COMPLAINTS, COMPLAINTS.c.id == INBOUND.c.complaint_id).where(INBOUND.c.id == inbound_id)
        ).first()
        if row is None:
            raise NotFound(f"no message {inbound_id} taken in; see `redress mail list`")
        files = uow.session.execute(_ATTACHMENT_LIST.where(ATTACHMENTS.c.inbound_id == inbound_id))
        return _inbound_dict(row) | {
            "message_id": row.message_id, "mailbox_key": row.mailbox_key,
            "sent_at": row.sent_at.isoformat() if row.sent_at else None, "text": row.text,
            "attachments": [_attachment_dict(file) for file in files]}


_ATTACHMENT_LIST = select(ATTACHMENTS.c.id, ATTACHMENTS.c.filename, ATTACHMENTS.c.content_type, ATTACHMENTS.c.size,
                          ATTACHMENTS.c.sha256, ATTACHMENTS.c.note, ATTACHMENTS.c.created_at,
                          (ATTACHMENTS.c.content.is_not(None)).label("kept")).order_by(ATTACHMENTS.c.id)


def _attachment_dict(row: Any) -> dict[str, Any]:
    return {"id": row.id, "filename": row.filename, "content_type": row.content_type, "size": row.size,
            "sha256": row.sha256, "kept": bool(row.kept), "note": row.note, "received_at": row.created_at.isoformat()}


def attachments_of(session: Session, complaint_id: int) -> list[dict[str, Any]]:
    """The files the customer sent about a complaint (names, declared types, sizes), for `show`."""
    return [_attachment_dict(row) for row in
            session.execute(_ATTACHMENT_LIST.where(ATTACHMENTS.c.complaint_id == complaint_id))]


def attachment_file(app: Any, attachment_id: int) -> dict[str, Any]:
    """One file's bytes (base64), to save it: Redress never opens it."""
    with app.uow(write=False) as uow:
        row = uow.session.execute(select(ATTACHMENTS, COMPLAINTS.c.number)
                                  .join(COMPLAINTS, COMPLAINTS.c.id == ATTACHMENTS.c.complaint_id)
                                  .where(ATTACHMENTS.c.id == attachment_id)).first()
    if row is None:
        raise NotFound(f"no attachment {attachment_id}")
    if row.content is None:
        raise NotFound(f"attachment {attachment_id} ({row.filename}) was {row.note}")
    return {"id": row.id, "complaint": row.number, "filename": row.filename, "content_type": row.content_type,
            "size": row.size, "content_base64": base64.b64encode(row.content).decode("ascii")}


def conversation_of(session: Session, complaint_id: int) -> list[dict[str, Any]]:
    """What the customer wrote and what Redress sent them, oldest first."""
    said = [
        {"at": row.at.isoformat(), "direction": "in", "channel": data.get("channel") or data.get("via") or "",
         "subject": data.get("inbound_subject", ""), "text": row.note, "status": "received"}
        for row in session.execute(select(EVENTS.c.at, EVENTS.c.note, EVENTS.c.data, EVENTS.c.trigger)
                                   .where(EVENTS.c.complaint_id == complaint_id).order_by(EVENTS.c.id))
        if (data := json.loads(row.data or "{}")).get("from_customer") or (
            row.trigger == "file" and data.get("via") in ("email", "sms"))
    ]
    sent = [
        {"at": row.created_at.isoformat(), "direction": "out", "channel": row.channel,
         "subject": row.subject, "text": row.body, "status": row.status}
        for row in session.execute(select(MESSAGES.c.created_at, MESSAGES.c.sent_at, MESSAGES.c.channel,
                                          MESSAGES.c.subject, MESSAGES.c.body, MESSAGES.c.status)
                                   .where(MESSAGES.c.complaint_id == complaint_id,
                                          MESSAGES.c.audience == "customer",
                                          MESSAGES.c.status.in_(("sent", "sending", "pending", "uncertain"))))
    ]
    return sorted(said + sent, key=lambda entry: entry["at"])
