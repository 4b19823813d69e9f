"""Customer messages: the values a template sees, and writing the rendered message into the outbox.

A message is queued inside the transaction of the change that causes it, so a
customer is told about exactly the changes that happened. A template that does
not render queues nothing to send: the row is written `failed` with the reason,
for an operator to see in `redress outbox list --status failed`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, insert, select, update
from sqlmodel import Session

from notifications.rendering import FORMS, Rendered, Renderer, RenderFailed
from workflow.adapters.models import COMPLAINTS, CUSTOMERS, MESSAGES, STEPS
from workflow.adapters.prepared import Prepared
from workflow.adapters.records import ComplaintSnapshot, append_event
from workflow.domain.vocabulary import checked_language

CUSTOMER_EMAIL = "customer_email"
CUSTOMER_SMS = "customer_sms"
STAFF_ALERT = "staff_alert"  # the one template for staff (notifications/outbox.py), never sent to a customer
_INSERT = Prepared(insert(MESSAGES))
_COMPLAINT = select(COMPLAINTS).where(COMPLAINTS.c.id == bindparam("complaint_id"))
_CUSTOMER = select(CUSTOMERS).where(CUSTOMERS.c.id == bindparam("customer_id"))
_STEP = select(STEPS).where(STEPS.c.id == bindparam("step_id"))
# Not yet sent: waiting, or failed and open to a retry. A message being sent or that may have arrived stays.
_WITHDRAW = (
    update(MESSAGES)
    .where(MESSAGES.c.complaint_id == bindparam("of_complaint"), MESSAGES.c.audience == "customer",
           MESSAGES.c.status.in_(("pending", "failed")))
    .values(status="withdrawn", last_error=bindparam("why"), lease_until=None)
    .returning(MESSAGES.c.id)
)
_WITHDRAW_KIND = _WITHDRAW.where(MESSAGES.c.kind == bindparam("of_kind"))


def _label(items: list[Any], name: str, locale: str) -> str:
    item = next((i for i in items if i.name == name), None)
    return (item.label.get(locale) if item is not None else None) or name


def complaint_values(app: Any, complaint: ComplaintSnapshot, customer: Any, locale: str) -> dict[str, Any]:
    """What every template about a complaint may use; category and severity in the reader's language.

    `has_email` and `has_phone` say how the customer can be reached, so no wording claims a mailbox or a call
    the customer does not have.
    """
    config = app.config
    return {
        "customer": {"name": customer.name, "has_email": bool(getattr(customer, "email", None)),
                     "has_phone": bool(getattr(customer, "phone", None))},
        "complaint": {
            "number": complaint.number, "summary": complaint.summary, "resolution": complaint.resolution or "",
            "category": _label(config.categories, complaint.category, locale),
            "severity": _label(config.severities, complaint.severity, locale),
            "state": complaint.state, "filed_at": complaint.created_at,
            "closed_at": complaint.closed_at or app.clock.now(),
        },
    }


def step_values(step: Row) -> dict[str, Any]:
    return {"step": {"kind": step.kind, "amount_minor": step.amount_minor or 0, "currency": step.currency or "",
                     "due_at": step.due_at, "done_at": step.done_at or step.due_at, "note": step.note}}


def render_for_complaint(
    app: Any, session: Session, template: str, complaint: Any, customer: Any, *, language: str | None = None,
    step_id: int | None = None, extra: dict[str, Any] | None = None, forms: tuple[str, ...] = FORMS,
) -> Rendered:
    """Render `template` about a complaint in the customer's language (or `language`)."""
    renderer: Renderer = app.renderer
    locale = renderer.locale_for(language or customer.language)
    values = complaint_values(app, complaint, customer, locale) | (extra or {})
    if step_id is not None:
        values |= step_values(session.execute(_STEP, {"step_id": step_id}).one())
    return renderer.render(template, locale, values, forms)


def customer_channel(messages: Any, customer: Any) -> tuple[str, str] | None:
    """How a customer is reached, as (route, address): email when we have an address that has not bounced and an
    email channel, else SMS when we have a phone and an SMS channel, else None (the customer is not written to)."""
    if customer.email and messages.email is not None and getattr(customer, "email_bounced_at", None) is None:
        return CUSTOMER_EMAIL, customer.email
    if customer.phone and messages.sms is not None:
        return CUSTOMER_SMS, customer.phone
    return None


def queue_customer_message(
    app: Any, session: Session, template: str, complaint_id: int, now: datetime, *,
    step_id: int | None = None, extra: dict[str, Any] | None = None, complaint: Any = None, customer: Any = None,
    send_at: datetime | None = None,
) -> int:
    """Render and queue one message to the customer: email when we have an address, else SMS, else nothing.

    `complaint` and `customer` may be handed in when the caller has just written them. A message with
    `send_at` waits in the outbox until then, where a later change can still withdraw it.
    """
    if complaint is None:
        complaint = session.execute(_COMPLAINT, {"complaint_id": complaint_id}).one()
    if customer is None:
        customer = session.execute(_CUSTOMER, {"customer_id": complaint.customer_id}).one()
    reached = customer_channel(app.config.messages, customer)
    if reached is None:
        return 0
    channel, recipient = reached
    row: dict[str, Any] = {
        "complaint_id": complaint_id, "kind": template, "audience": "customer", "channel": channel,
        "recipient": recipient, "idempotency_key": uuid.uuid4().hex, "attempts": 0, "next_attempt_at": send_at or now,
        "created_at": now, "sent_at": None,
    }
    forms = ("sms",) if channel == CUSTOMER_SMS else ("txt", "html")
    try:
        rendered = render_for_complaint(app, session, template, complaint, customer, step_id=step_id,
                                        extra=extra, forms=forms)
    except RenderFailed as error:
        row |= {"status": "failed", "locale": None, "subject": f"({template} not rendered)", "body": "",
                "body_html": None, "last_error": str(error)}
    else:
        body = rendered.sms if channel == CUSTOMER_SMS else rendered.text
        html = None if channel == CUSTOMER_SMS else rendered.html
        row |= {"status": "pending", "locale": rendered.locale, "subject": rendered.subject, "body": body,
                "body_html": html, "last_error": None}
    _INSERT.run(session, row)
    return 1


def withdraw_customer_messages(
    session: Session, complaint_id: int, state: str, actor: str, why: str, now: datetime, *, kind: str | None = None,
) -> list[int]:
    """Withdraw the complaint's customer messages not yet sent (of one `kind`, or all), noting it on its audit
    trail; their ids.

    Called in the transaction of the change that makes them untrue (a cancel, a reopen), with the state after it.
    """
    statement, params = (_WITHDRAW, {}) if kind is None else (_WITHDRAW_KIND, {"of_kind": kind})
    ids = sorted(row.id for row in session.execute(statement, {"of_complaint": complaint_id, "why": why} | params))
    if ids:
        append_event(session, complaint_id, now, actor, "messages_withdrawn", state, state,
                     f"{len(ids)} message(s) to the customer withdrawn: {why}", {"messages": ids})
    return ids


@dataclass(frozen=True)
class Preview:
    """What a template would give now about a complaint, and the route it would take to the customer."""

    template: str
    rendered: Rendered
    number: str
    state: str  # the complaint's
    channel: str | None  # customer_email or customer_sms; None for a staff alert or a customer we cannot reach
    recipient: str | None


def preview(app: Any, template: str, ref: str, *, language: str | None = None,
            step_id: int | None = None) -> Preview:
    """What the customer would get from `template` about complaint `ref` now (nothing is queued)."""
    from notifications.rendering import RenderFailed
    from workflow.adapters.models import EVENTS
    from workflow.adapters.records import load_complaint
    from workflow.domain.errors import NotFound, TemplateBroken

    checked_language(language, "locale")
    with app.uow(write=False) as uow:
        session = uow.session
        complaint = load_complaint(session, ref)
        answer = session.execute(
            select(EVENTS.c.note).where(EVENTS.c.complaint_id == complaint.id, EVENTS.c.trigger == "respond")
            .order_by(EVENTS.c.id.desc()).limit(1)
        ).scalar()
        extra = {"agent_message": answer or "(the agent's answer)",
                 "alert": {"headline": "(what happened)", "level": "supervisor"}}
        kinds = {"apology_letter": "apology_letter", "replacement_notice": "replacement",
                 "refund_notice": "refund", "voucher": "voucher"}
        if step_id is None and template in kinds:
            step_id = session.execute(
                select(STEPS.c.id).where(STEPS.c.complaint_id == complaint.id, STEPS.c.kind == kinds[template])
                .order_by(STEPS.c.id.desc()).limit(1)
            ).scalar()
            if step_id is None and template != "apology_letter":
                raise NotFound(f"{complaint.number} has no {kinds[template]} step; add one or pass --step")
        customer = session.execute(_CUSTOMER, {"customer_id": complaint.customer_id}).one()
        try:
            rendered = render_for_complaint(app, session, template, complaint, customer, language=language,
                                            step_id=step_id, extra=extra)
        except RenderFailed as failure:
            raise TemplateBroken(str(failure)) from None
        reached = None if template == STAFF_ALERT else customer_channel(app.config.messages, customer)
        channel, recipient = reached or (None, None)
        return Preview(template, rendered, complaint.number, complaint.state, channel, recipient)
