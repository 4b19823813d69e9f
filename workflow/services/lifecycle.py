"""The complaint use cases, one function each, each one transaction with its audit events.

Functions take primitives (user names, complaint numbers, text) and return small
records, so the CLI, the TUI and tests all call them the same way.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, bindparam, func, insert, select
from sqlmodel import Session
from typing_extensions import Unpack

from states.definition import ASSIGNED, RECEIVED, RESOLVED, Trigger
from workflow.adapters.db import connection_of
from workflow.adapters.models import COMPLAINTS, CUSTOMERS, PAUSES, NumberSequence
from workflow.adapters.prepared import Prepared
from workflow.adapters.records import (
    SNAPSHOT_FIELDS,
    ComplaintChanges,
    ComplaintSnapshot,
    append_filing_event,
    column_limit,
    filing_event,
    load_complaint,
    optional_text,
    required_text,
)
from workflow.bootstrap import Redress
from workflow.domain.errors import InvalidInput
from workflow.domain.permissions import require
from workflow.domain.severity import suggest_severity
from workflow.domain.sla import plan_for
from workflow.domain.vocabulary import CANCEL_REASONS, CHANNELS
from workflow.services import clocks, compensation, effects
from workflow.services.people import (
    CustomerRecord,
    acting_user,
    acting_user_and_complaint,
    find_or_create_customer,
    find_user,
    lookup_customer,
)
from workflow.services.transition import Outcome, apply_transition, check_version

if TYPE_CHECKING:
    from workflow.services.kb import PolicyAnswer



# Statements built once and executed with parameters: building a statement
# afresh per call costs more than SQLite takes to run it.
_INSERT_COMPLAINT = Prepared(insert(COMPLAINTS))


def _act(
    app: Redress,
    actor: str | None,
    ref: str | int,
    trigger: str,
    *,
    expected_version: int | None = None,
    note: str = "",
    data: dict[str, Any] | None = None,
    **changes: Unpack[ComplaintChanges],
) -> Outcome:
    """The common shape of a use case: one transaction, acting user, version check, transition."""
    with app.uow() as uow:
        user, complaint = acting_user_and_complaint(uow.session, actor, ref)
        check_version(complaint, expected_version)
        outcome = apply_transition(app, uow.session, complaint, user, trigger, note=note, data=data, **changes)
        uow.commit()
        return outcome


def _next_number(app: Redress, session: Session) -> str:
    """C-<business day>-<sequence>: unique, readable on the phone, and ordered by day."""
    day = app.clock.now().astimezone(ZoneInfo(app.config.timezone)).strftime("%Y%m%d")
    last = _number_upsert(connection_of(session).dialect.name).scalar(session, {"day": day})
    return f"C-{day}-{last:04d}"


@cache
def _number_upsert(dialect_name: str) -> Prepared:
    """INSERT ... ON CONFLICT DO UPDATE ... RETURNING, built once per dialect (both speak it)."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect: Any = postgresql if dialect_name == "postgresql" else sqlite
    # On the table, not the ORM class: an ORM-enabled INSERT costs twice the statement itself.
    table = NumberSequence.__table__  # type: ignore[attr-defined]
    return Prepared(
        dialect.insert(table)
        .values(day=bindparam("day"), last=1)
        .on_conflict_do_update(index_elements=["day"], set_={"last": table.c.last + 1})
        .returning(table.c.last)
    )


def file_complaint(
    app: Redress,
    actor: str | None,
    *,
    channel: str,
    category: str,
    summary: str,
    phone: str | None = None,
    email: str | None = None,
    name: str | None = None,
    tier: str | None = None,
    language: str | None = None,
    order_ref: str | None = None,
    severity: str | None = None,
    answer_id: str | None = None,
) -> Outcome:
    """Record a complaint from any channel; suggest a severity from intensity when none is given.

    With `answer_id` the agent answered on the line from the policy manual: the
    complaint is recorded, answered and closed in the same transaction.
    """
    config = app.config
    if channel not in CHANNELS:
        raise InvalidInput(f"channel '{channel}' is not allowed; channels: {', '.join(CHANNELS)}")
    if category not in config.category_names:
        raise InvalidInput(f"category '{category}' is not allowed; categories: {', '.join(config.category_names)}")
    if severity is not None and severity not in config.severity_names:
        raise InvalidInput(f"severity '{severity}' is not allowed; severities: {', '.join(config.severity_names)}")
    summary = required_text(summary, "summary", "what the customer complains about", config.limits.summary)
    order_ref = optional_text(order_ref, "order reference", column_limit(COMPLAINTS.c.order_ref)) or None
    name = optional_text(name, "name", column_limit(CUSTOMERS.c.name)) or None
    policy = app.manual.get(answer_id) if answer_id else None
    with app.uow() as uow:
        outcome = file_in_session(
            app, uow.session, acting_user(uow.session, actor), channel=channel, category=category, summary=summary,
            phone=phone, email=email, name=name, tier=tier, language=language, order_ref=order_ref,
            severity=severity, policy=policy)
        uow.commit()
        return outcome


def file_in_session(
    app: Redress, session: Session, user: Row, *, channel: str, category: str, summary: str, phone: str | None,
    email: str | None, name: str | None, tier: str | None, language: str | None, order_ref: str | None,
    severity: str | None, policy: PolicyAnswer | None = None, follows_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> Outcome:
    """File a complaint in the caller's transaction, from checked input: mail taken in files with its record.

    `follows_id` names the closed complaint this one continues; `data` goes on the filing event.
    """
    config = app.config
    customer = find_or_create_customer(
        app, session, phone=phone, email=email, name=name, tier=tier, language=language
    )
    if severity is None:
        severity, reason = _suggested_severity(app, session, customer, summary, order_ref)
    else:
        reason = f"set by {user.name} at intake"
    now = app.clock.now()
    number = _next_number(app, session)
    clock_plan = plan_for(config, severity, customer.tier)
    opening = clocks.opening(app, clock_plan, now)
    filing = filing_event(number, now, user.name, RECEIVED, summary, {
        "channel": channel, "category": category, "severity": severity, "severity_reason": reason,
        "new_customer": customer.created, **(data or {})})
    row = {"number": number, "state": RECEIVED, "is_open": True, "severity": severity,
           "severity_rank": config.severity_rank(severity), "severity_reason": reason, "category": category,
           "channel": channel, "customer_id": customer.id, "summary": summary, "order_ref": order_ref,
           "escalation_level": clock_plan.start_level, "created_by_id": user.id, "created_at": now,
           "updated_at": now, "version": 1, "sla_started_at": now, "sla_paused_minutes": 0.0,
           "sla_clock_at": now, "sla_clock_minutes": 0.0, "event_head": filing.hash, "follows_id": follows_id,
           "peak_level": clock_plan.start_level, "reopens": 0, "first_contact": False,
           "next_breach_at": clocks.next_breach([(kind, due) for kind, _, due in opening])}
    complaint_id = _INSERT_COMPLAINT.insert(session, row)
    clocks.start(session, complaint_id, opening, now)
    append_filing_event(session, complaint_id, filing)
    outcome = Outcome(complaint_id, number, "file", "", RECEIVED, 1, reason)
    if policy is None:
        from notifications.customer import queue_customer_message  # deferred: templates load only to queue

        # The rows just written, handed over rather than read back: filing is the hottest path.
        unset: dict[str, Any] = {name: None for name in SNAPSHOT_FIELDS if name != "id" and name not in row}
        filed = ComplaintSnapshot(id=complaint_id, **unset, **row)
        queue_customer_message(app, session, effects.ACKNOWLEDGEMENT, complaint_id, now, complaint=filed,
                               customer=customer)
    else:
        complaint = load_complaint(session, complaint_id)
        answered = _answer(app, session, complaint, user, policy, customer.language)
        outcome = replace(outcome, to_state=answered.to_state, version=answered.version, answer=answered.answer)
    return outcome


def _suggested_severity(
    app: Redress, session: Session, customer: CustomerRecord, summary: str, order_ref: str | None
) -> tuple[str, str]:
    intensity = app.config.intensity
    now = app.clock.now()
    same_order = recent = 0
    if not customer.created:
        if order_ref:
            same_order = session.execute(_COUNT_SAME_ORDER, {
                "customer_id": customer.id, "order_ref": order_ref,
                "since": now - timedelta(days=intensity.repeat_contact.window_days),
            }).scalar_one()
        recent = session.execute(_COUNT_RECENT, {
            "customer_id": customer.id, "since": now - timedelta(days=intensity.history.window_days),
        }).scalar_one()
    suggestion = suggest_severity(
        app.config, text=summary, tier=customer.tier,
        earlier_contacts_same_order=same_order, recent_complaints=recent,
    )
    return suggestion.severity, f"suggested: {suggestion.explanation}"


_COUNT_RECENT = select(func.count()).select_from(COMPLAINTS).where(
    COMPLAINTS.c.customer_id == bindparam("customer_id"), COMPLAINTS.c.created_at >= bindparam("since")
)
_COUNT_SAME_ORDER = _COUNT_RECENT.where(COMPLAINTS.c.order_ref == bindparam("order_ref"))


def suggest_for_intake(
    app: Redress, *, phone: str | None, email: str | None, summary: str, order_ref: str | None = None,
    tier: str | None = None,
) -> dict[str, Any]:
    """The customer a phone or email finds, and the severity `file_complaint` would suggest; writes nothing."""
    with app.uow(write=False) as uow:
        found = lookup_customer(uow.session, phone, email)
        customer = (CustomerRecord(found.id, found.name, found.tier, found.language, created=False) if found
                    else CustomerRecord(0, "", tier or app.config.tier_names[0], app.config.default_language,
                                        created=True))
        severity, reason = _suggested_severity(app, uow.session, customer, summary or "", order_ref or None)
        return {"customer": None if found is None else {
                    "id": found.id, "name": found.name, "phone": found.phone, "email": found.email,
                    "tier": found.tier, "language": found.language},
                "severity": severity, "reason": reason}


def triage(app: Redress, actor: str | None, ref: str | int, *, expected_version: int | None = None) -> Outcome:
    """Confirm the complaint's category and severity and put it on the open list."""
    return _act(app, actor, ref, Trigger.TRIAGE, expected_version=expected_version)


def change_severity(
    app: Redress, actor: str | None, ref: str | int, severity: str, reason: str | None,
    *, expected_version: int | None = None,
) -> Outcome:
    """Raise or lower a severity with a reason; lowering needs a senior agent or above."""
    config = app.config
    if severity not in config.severity_names:
        raise InvalidInput(f"severity '{severity}' is not allowed; severities: {', '.join(config.severity_names)}")
    reason = required_text(reason, "reason", "say why the severity changes", config.limits.reason)
    with app.uow() as uow:
        user = acting_user(uow.session, actor)
        complaint = load_complaint(uow.session, ref)
        check_version(complaint, expected_version)
        if severity == complaint.severity:
            raise InvalidInput(f"{complaint.number} is already {severity}")
        if config.severity_rank(severity) < complaint.severity_rank:
            require(user, "lower_severity")
        outcome = apply_transition(
            app, uow.session, complaint, user, Trigger.CHANGE_SEVERITY, note=reason,
            data={"from": complaint.severity, "to": severity},
            severity=severity, severity_rank=config.severity_rank(severity),
            severity_reason=f"changed by {user.name}: {reason}",
        )
        uow.commit()
        return outcome


def assign(
    app: Redress, actor: str | None, ref: str | int, assignee: str | None = None,
    *, note: str | None = None, expected_version: int | None = None,
) -> Outcome:
    """Give the complaint to an agent; agents may take it themselves, seniors may give it to anyone."""
    note = optional_text(note, "message", app.config.limits.note)
    with app.uow() as uow:
        user = acting_user(uow.session, actor)
        target = find_user(uow.session, assignee) if assignee else user
        if target.id != user.id:
            require(user, "assign_others")
        complaint = load_complaint(uow.session, ref)
        check_version(complaint, expected_version)
        if complaint.assignee_id == target.id and complaint.state == ASSIGNED:
            raise InvalidInput(f"{complaint.number} is already assigned to {target.name}")
        outcome = apply_transition(
            app, uow.session, complaint, user, Trigger.ASSIGN,
            note=f"assigned to {target.name}" + (f": {note}" if note else ""),
            data={"assignee": target.name}, assignee_id=target.id,
        )
        uow.commit()
        return outcome


def start(
    app: Redress, actor: str | None, ref: str | int, *, note: str | None = None, expected_version: int | None = None
) -> Outcome:
    """The assignee starts working on the complaint; a senior or above starting someone else's says why (`note`)."""
    note = optional_text(note, "message", app.config.limits.note)
    return _act(app, actor, ref, Trigger.START, expected_version=expected_version, note=note)


def respond(
    app: Redress, actor: str | None, ref: str | int, message: str | None, *, expected_version: int | None = None
) -> Outcome:
    """Record an answer given to the customer (call, email, chat)."""
    message = required_text(message, "message", "what the customer was told", app.config.limits.note)
    return _act(app, actor, ref, Trigger.RESPOND, expected_version=expected_version, note=message)


def wait_for_customer(
    app: Redress, actor: str | None, ref: str | int, note: str | None, *, reason: str | None = None,
    expected_version: int | None = None,
) -> Outcome:
    """Park the complaint until the customer sends what is needed; the clock stops, for one of the configured
    reasons (sla.pause_reasons) and at most for the policy's longest pause."""
    note = required_text(note, "note", "what we are waiting for from the customer", app.config.limits.note)
    reasons = app.config.sla.pause_reasons
    reason = (reason or "").strip() or None
    if reasons and reason not in reasons:
        given = f"'{reason}' is not a pause reason" if reason else "a reason is required to wait on the customer"
        raise InvalidInput(f"{given}; allowed: {', '.join(reasons)}")
    if reason is not None and len(reason) > column_limit(PAUSES.c.reason):
        raise InvalidInput(f"the reason is longer than {column_limit(PAUSES.c.reason)} characters")
    return _act(app, actor, ref, Trigger.WAIT_FOR_CUSTOMER, expected_version=expected_version, note=note,
                data={"pause_reason": reason} if reason else None)


def customer_replied(
    app: Redress, actor: str | None, ref: str | int, note: str | None = None, *, expected_version: int | None = None
) -> Outcome:
    """The customer came back; work resumes."""
    note = optional_text(note, "note", app.config.limits.note)
    return _act(app, actor, ref, Trigger.CUSTOMER_REPLIED, expected_version=expected_version, note=note)


def route(
    app: Redress, actor: str | None, ref: str | int, owner: str | None, note: str | None = None,
    *, expected_version: int | None = None,
) -> Outcome:
    """Hand the complaint to a responsible owner (a department or person) to investigate."""
    owner = required_text(owner, "owner", "the department or person responsible", column_limit(COMPLAINTS.c.owner))
    configured = app.config.owners
    if configured and not app.config.owners_free_text and owner not in configured:
        raise InvalidInput(f"owner '{owner}' is not a configured owner; owners: {', '.join(configured)}")
    note = optional_text(note, "message", app.config.limits.note)
    return _act(
        app, actor, ref, Trigger.ROUTE, expected_version=expected_version,
        note=note, data={"owner": owner}, owner=owner,
    )


def owner_feedback(
    app: Redress, actor: str | None, ref: str | int, feedback: str | None, *, expected_version: int | None = None
) -> Outcome:
    """The owner reported back; the agent takes it from here and answers the customer."""
    feedback = required_text(feedback, "feedback", "what the responsible owner found or decided",
                             app.config.limits.note)
    return _act(app, actor, ref, Trigger.OWNER_FEEDBACK, expected_version=expected_version, note=feedback)


def resolve(
    app: Redress, actor: str | None, ref: str | int, resolution: str | None, *, expected_version: int | None = None
) -> Outcome:
    """Record what was done for the customer (the assignee, or a senior or above: the resolution says why)."""
    resolution = required_text(resolution, "resolution", "what was done for the customer", app.config.limits.note)
    return _act(
        app, actor, ref, Trigger.RESOLVE, expected_version=expected_version, note=resolution, resolution=resolution
    )


def close(
    app: Redress, actor: str | None, ref: str | int, note: str | None = None, *, expected_version: int | None = None
) -> Outcome:
    """Close the complaint number once the customer has the answer and every compensation step is done or removed.

    Someone else's complaint is closed by a senior or above, with a note saying why."""
    note = optional_text(note, "message", app.config.limits.note)
    with app.uow() as uow:
        user, complaint = acting_user_and_complaint(uow.session, actor, ref)
        check_version(complaint, expected_version)
        if complaint.state == RESOLVED:  # in any other state the machine refuses, and says why
            compensation.refuse_closing_with_open_steps(uow.session, complaint)
        outcome = apply_transition(app, uow.session, complaint, user, Trigger.CLOSE, note=note or "")
        uow.commit()
        return outcome


def reopen(
    app: Redress, actor: str | None, ref: str | int, reason: str | None, *, expected_version: int | None = None
) -> Outcome:
    """Reopen a resolved or closed complaint, for example when the customer calls back unhappy."""
    reason = required_text(reason, "reason", "why the complaint is reopened", app.config.limits.reason)
    return _act(app, actor, ref, Trigger.REOPEN, expected_version=expected_version, note=reason, closed_at=None)


def cancel(
    app: Redress, actor: str | None, ref: str | int, reason: str, *, duplicate_of: str | None = None,
    note: str | None = None, expected_version: int | None = None,
) -> Outcome:
    """Cancel a duplicate, spam or withdrawn complaint. Spam needs a senior; a duplicate names its original."""
    if reason not in CANCEL_REASONS:
        raise InvalidInput(f"cancel reason '{reason}' is not allowed; reasons: {', '.join(CANCEL_REASONS)}")
    if reason == "duplicate" and not duplicate_of:
        raise InvalidInput("duplicate-of is required: the number of the complaint this one duplicates")
    note = optional_text(note, "message", app.config.limits.note)
    with app.uow() as uow:
        user = acting_user(uow.session, actor)
        if reason == "spam":
            require(user, "cancel_as_spam")
        complaint = load_complaint(uow.session, ref)
        check_version(complaint, expected_version)
        compensation.refuse_cancelling_approved_steps(uow.session, complaint, user)
        changes: dict[str, Any] = {"cancel_reason": reason}
        data: dict[str, Any] = {"reason": reason}
        if duplicate_of:
            original = load_complaint(uow.session, duplicate_of)
            if original.id == complaint.id:
                raise InvalidInput(f"{complaint.number} cannot duplicate itself")
            changes["duplicate_of_id"] = original.id
            data["duplicate_of"] = original.number
        outcome = apply_transition(app, uow.session, complaint, user, Trigger.CANCEL, note=note, data=data,
                                   **changes)
        uow.commit()
        return outcome


def answer_from_manual(
    app: Redress, actor: str | None, ref: str | int, answer_id: str, *, expected_version: int | None = None
) -> Outcome:
    """Answer on the line from the policy manual and close the complaint in the same step."""
    policy = app.manual.get(answer_id)
    with app.uow() as uow:
        user = acting_user(uow.session, actor)
        complaint = load_complaint(uow.session, ref)
        check_version(complaint, expected_version)
        language = uow.session.execute(
            select(CUSTOMERS.c.language).where(CUSTOMERS.c.id == complaint.customer_id)
        ).scalar_one()
        outcome = _answer(app, uow.session, complaint, user, policy, language)
        uow.commit()
        return outcome


def _answer(
    app: Redress, session: Session, complaint: ComplaintSnapshot, user: Row, policy: PolicyAnswer, language: str
) -> Outcome:
    """Give the manual's answer in the customer's language, record it as the resolution, close; the outcome
    carries the text, for the agent to read out."""
    from workflow.services.kb import answer_for

    given = answer_for(app, policy, language)
    outcome = apply_transition(
        app, session, complaint, user, Trigger.ANSWER_FROM_MANUAL, note=given.answer,
        data={"policy_answer": policy.id, "title": given.title, "language": given.language},
        resolution=given.answer, first_contact=True,
    )
    return replace(outcome, answer=given.answer)


def add_note(
    app: Redress, actor: str | None, ref: str | int, text: str | None, *, expected_version: int | None = None
) -> Outcome:
    """An internal note on the timeline, in any state."""
    text = required_text(text, "note", "what to add to the timeline", app.config.limits.note)
    return _act(app, actor, ref, Trigger.NOTE, expected_version=expected_version, note=text)

