"""Compensation steps: planned by the rules at resolution, added or removed by agents, approved by a higher role.

Money waits for approval when it passes any of the requester's limits: per step, per complaint, per day.

Every step has a due time, kept as a `step` row of the deadline table so the
scheduler fires it like any other timer: an apology letter is sent at its
time; a refund, replacement, voucher, gift or call that is not marked done by
then escalates the complaint like any other breach.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, bindparam, func, insert, select, update
from sqlmodel import Session

from states.compensation import (
    APPROVED,
    AUTOMATIC_KINDS,
    AWAITING_APPROVAL,
    CANCELLED,
    DONE,
    MONEY_KINDS,
    PLANNED,
    STEP_KINDS,
    STEP_OPEN_STATES,
    STEP_STATES,
    StepTransitionRefused,
    next_step_state,
)
from states.definition import CANCELLED as COMPLAINT_CANCELLED
from states.definition import CLOSED as COMPLAINT_CLOSED
from workflow.adapters.db import insert_returning_id
from workflow.adapters.models import COMPLAINTS, STEPS, USERS
from workflow.adapters.records import ComplaintSnapshot, hold, optional_text, required_text
from workflow.bootstrap import Redress
from workflow.config import MAX_AMOUNT
from workflow.domain.errors import ConcurrentChange, InvalidInput, InvalidTransition, NotFound, PermissionDenied
from workflow.domain.permissions import (
    APPROVER_MEASURES,
    Money,
    Person,
    decision_refusal,
    may_approve,
    passed_limit,
    rank,
    removal_refusal,
    require,
)
from workflow.domain.sla import BusinessCalendar, add_business_time
from workflow.domain.vocabulary import ROLES
from workflow.services import clocks
from workflow.services.people import acting_user

STEP = clocks.STEP
# What the customer is told when a step is carried out; the others are silent.
NOTICES = {"apology_letter": "apology_letter", "replacement": "replacement_notice",
           "refund": "refund_notice", "voucher": "voucher"}
_INSERT_STEP = insert(STEPS)
_STEP_BY_ID = select(STEPS).where(STEPS.c.id == bindparam("step_id"))
_UPDATE_IF_VERSION = update(STEPS).where(
    STEPS.c.id == bindparam("where_id"), STEPS.c.version == bindparam("where_version")
)
# What a complaint's steps and one requester's steps in a day come to, cancelled ones aside: one query.
_TOTALS = select(
    select(func.coalesce(func.sum(STEPS.c.amount_minor), 0))
    .where(STEPS.c.complaint_id == bindparam("complaint_id"), STEPS.c.state != CANCELLED).scalar_subquery(),
    select(func.coalesce(func.sum(STEPS.c.amount_minor), 0))
    .where(STEPS.c.requested_by_id == bindparam("requester_id"), STEPS.c.created_at >= bindparam("day_start"),
           STEPS.c.created_at < bindparam("day_end"), STEPS.c.state != CANCELLED).scalar_subquery(),
)
# Steps one person asks for at the same moment on different complaints queue on their row, so both cannot pass
# under the daily limit (PostgreSQL; a SQLite writer holds the whole file). One complaint's serialise on `hold`.
_LOCK_REQUESTER = select(USERS.c.id).where(USERS.c.id == bindparam("user_id")).with_for_update()
# Why money waits for approval, by the limit it passes; and why an approver's own limit refuses it.
_WAITS = {"step": "{amount} is above the {role} limit of {limit} per step",
          "complaint": "it brings {number}'s steps to {amount}, above the {role} limit of {limit} per complaint",
          "day": "it brings {name}'s steps today to {amount}, above the {role} limit of {limit} a day"}
_BEYOND_APPROVER = {"step": "step {step} is {amount}; a {role} may approve up to {limit}",
                    "complaint": "step {step} brings {number}'s steps to {amount}; a {role} may approve up to "
                                 "{limit} per complaint"}


@dataclass(frozen=True)
class StepOutcome:
    """What a step action did, for the caller to report."""

    id: int
    complaint: str
    kind: str
    from_state: str
    to_state: str
    detail: str = ""
    approval_reason: str = ""  # which limit a step waiting for approval passes


@dataclass(frozen=True)
class PlannedStep:
    """A step just planned, as the agent hears it: waiting for approval names the least role that may approve."""

    id: int
    kind: str
    state: str
    amount: str | None  # '299.00', or None for a step without money
    currency: str | None
    due_at: str  # ISO
    approver_role: str | None = None
    approval_reason: str = ""  # which limit it passes, when it waits


def parse_amount(text: str | Decimal | None) -> int | None:
    """'128.50' -> 12850 minor units; refuses negatives, zero and more than two decimals."""
    if text is None or str(text).strip() == "":
        return None
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise InvalidInput(f"amount '{text}' is not a number; write e.g. 20 or 128.50") from None
    # The range first: quantizing a huge value (1E+400) would itself raise.
    if not value.is_finite() or not 0 < value <= MAX_AMOUNT or value != value.quantize(Decimal("0.01")):
        raise InvalidInput(f"amount '{text}' is not allowed; a positive amount with at most two decimals, "
                           f"up to {MAX_AMOUNT:.2f}")
    return int(value * 100)


def _amount_text(minor: int | None) -> str | None:
    return f"{Decimal(minor) / 100:.2f}" if minor is not None else None


def _money_text(minor: int | None, currency: str | None) -> str:
    return f"{Decimal(minor or 0) / 100:.2f} {currency}" if minor is not None else ""


def _limits(app: Redress, role: str) -> Money:
    return Money(*(int(limit * 100) for limit in app.config.compensation.limits(role)))


def _local_day(app: Redress, now: datetime) -> tuple[datetime, datetime]:
    """The local day (in the configured timezone) `now` falls in, as UTC instants [start, end)."""
    zone = ZoneInfo(app.config.timezone)
    day = now.astimezone(zone).date()
    return tuple(datetime.combine(d, time(0), tzinfo=zone).astimezone(UTC)  # type: ignore[return-value]
                 for d in (day, day + timedelta(days=1)))


def _totals(app: Redress, session: Session, complaint_id: int, requester_id: int, now: datetime) -> tuple[int, int]:
    """What the complaint's steps and the requester's steps today come to (minor units, cancelled ones aside)."""
    day_start, day_end = _local_day(app, now)
    complaint_total, day_total = session.execute(_TOTALS, {
        "complaint_id": complaint_id, "requester_id": requester_id, "day_start": day_start, "day_end": day_end,
    }).one()
    return int(complaint_total), int(day_total)


def _money_words(app: Redress, template: str, money: Money, measure: str, role: str, **names: Any) -> str:
    """A limit's sentence with the amount on `measure` and `role`'s limit there, written as money."""
    currency = app.config.compensation.currency
    return template.format(amount=_money_text(getattr(money, measure), currency), role=role,
                           limit=_money_text(getattr(_limits(app, role), measure), currency), **names)


def _needs_approval(
    app: Redress, session: Session, complaint: ComplaintSnapshot, requester: Row, kind: str,
    amount_minor: int | None, now: datetime,
) -> tuple[Money, str]:
    """The new step's money on each measure, and why it waits for approval ('' when it does not)."""
    if kind not in MONEY_KINDS:
        return Money(0, 0, 0), ""
    session.execute(_LOCK_REQUESTER, {"user_id": requester.id})
    complaint_total, day_total = _totals(app, session, complaint.id, requester.id, now)
    amount = amount_minor or 0
    money = Money(amount, complaint_total + amount, day_total + amount)
    measure = passed_limit(money, _limits(app, requester.role))
    if measure is None:
        return money, ""
    return money, _money_words(app, _WAITS[measure], money, measure, requester.role, number=complaint.number,
                               name=requester.name)


def _least_approver(app: Redress, money: Money, requester_role: str) -> str | None:
    """The lowest role above the requester's whose limits per step and per complaint cover the money; None when no
    role's do."""
    return next((role for role in ROLES if rank(role) > rank(requester_role)
                 and passed_limit(money, _limits(app, role), APPROVER_MEASURES) is None), None)


def _due_at(
    app: Redress, session: Session, complaint: ComplaintSnapshot, kind: str, now: datetime, at_once: bool,
) -> datetime:
    if at_once:
        return now
    minutes = app.config.compensation.due_after(kind)
    return add_business_time(now, minutes, step_calendar(app, session, complaint))


def step_calendar(app: Redress, session: Session, complaint: ComplaintSnapshot) -> BusinessCalendar:
    """The calendar steps fall due in: compensation.calendar, else the complaint's SLA calendar."""
    name = app.config.compensation.calendar
    if name is None:
        name = clocks.plan(app, session, complaint.severity, complaint.customer_id).calendar
    return app.calendar(name)


def create_step(
    app: Redress, session: Session, complaint: ComplaintSnapshot, requester: Row, kind: str, amount_minor: int | None,
    *, source: str, reason: str, now: datetime, at_once: bool = False,
) -> PlannedStep:
    """Insert a step and its timer; money above any of the requester's limits waits for approval."""
    from workflow.adapters.records import append_event

    money, waits_because = _needs_approval(app, session, complaint, requester, kind, amount_minor, now)
    state = AWAITING_APPROVAL if waits_because else PLANNED
    due = _due_at(app, session, complaint, kind, now, at_once)
    currency = app.config.compensation.currency if kind in MONEY_KINDS else None
    step_id = insert_returning_id(
        session, _INSERT_STEP,
        {"complaint_id": complaint.id, "kind": kind, "state": state, "amount_minor": amount_minor,
         "currency": currency, "due_at": due, "source": source, "reason": reason, "requested_by_id": requester.id,
         "decided_by_id": None, "decided_at": None, "done_by": None, "done_at": None, "note": "",
         "created_at": now, "version": 1},
    )
    clocks.arm_step_timer(session, complaint.id, step_id, due, now)
    append_event(session, complaint.id, now, requester.name, "compensation_planned", complaint.state,
                  complaint.state, reason,
                  {"step": step_id, "kind": kind, "state": state, "source": source,
                   "amount": _money_text(amount_minor, currency), "due_at": due.isoformat(),
                   **({"waits": waits_because} if waits_because else {})})
    return PlannedStep(step_id, kind, state, _amount_text(amount_minor), currency, due.isoformat(),
                       _least_approver(app, money, requester.role) if waits_because else None, waits_because)


def _matches(rule: Any, complaint: ComplaintSnapshot, tier: str, was_breached: bool) -> bool:
    when = rule.when
    return ((not when.severity or complaint.severity in when.severity)
            and (not when.category or complaint.category in when.category)
            and (not when.tier or tier in when.tier)
            and (when.breached is None or when.breached == was_breached))


def _rule_reason(index: int, when: Any) -> str:
    """The step's reason names the rule and what it matched, e.g. "compensation rule 2: severity high/critical"."""
    matched = [f"{name} {'/'.join(values)}" for name, values in
               (("severity", when.severity), ("category", when.category), ("tier", when.tier)) if values]
    if when.breached is not None:
        matched.insert(0, "SLA breached" if when.breached else "SLA met")
    return f"compensation rule {index + 1}" + (f": {', '.join(matched)}" if matched else "")


def plan_for_resolution(
    app: Redress, session: Session, complaint: ComplaintSnapshot, actor: Row, now: datetime,
) -> list[PlannedStep]:
    """Plan the steps the rules give a complaint being resolved; once per complaint (not again after reopening)."""
    already = session.execute(
        select(STEPS.c.id).where(STEPS.c.complaint_id == complaint.id, STEPS.c.source == "policy").limit(1)
    ).first()
    if already is not None:
        return []
    tier = clocks.tier_of(session, complaint.customer_id)
    was_breached = clocks.ever_breached(session, complaint.id)
    chosen: dict[str, tuple[int | None, int]] = {}
    for index, rule in enumerate(app.config.compensation.rules):
        if _matches(rule, complaint, tier, was_breached):
            for step in rule.steps:
                amount = int(step.amount * 100) if step.amount is not None else None
                chosen.setdefault(step.kind, (amount, index))
    return [
        create_step(app, session, complaint, actor, kind, amount, source="policy",
                    reason=_rule_reason(index, app.config.compensation.rules[index].when),
                    now=now, at_once=kind == "apology_letter" and was_breached)
        for kind, (amount, index) in sorted(chosen.items(), key=lambda item: STEP_KINDS.index(item[0]))
    ]


def cancel_open_steps(
    session: Session, complaint_id: int, state: str, actor: str, reason: str, now: datetime,
) -> None:
    """A cancelled complaint takes its open steps with it; `state` is the complaint's state after the transition."""
    from workflow.adapters.records import append_event

    rows = session.execute(
        select(STEPS.c.id, STEPS.c.kind).where(STEPS.c.complaint_id == complaint_id,
                                               STEPS.c.state.in_(STEP_OPEN_STATES))
    ).all()
    for row in rows:
        session.execute(update(STEPS).where(STEPS.c.id == row.id)
                        .values(state="cancelled", note=reason, version=STEPS.c.version + 1))
        clocks.cancel_step_timer(session, row.id, now)
        append_event(session, complaint_id, now, actor, "compensation_cancelled", state, state, reason,
                     {"step": row.id, "kind": row.kind})


def refuse_closing_with_open_steps(session: Session, complaint: ComplaintSnapshot) -> None:
    """A closed complaint keeps no open step: what was promised is done or removed (with a reason) first."""
    rows = session.execute(
        select(STEPS.c.id).where(STEPS.c.complaint_id == complaint.id, STEPS.c.state.in_(STEP_OPEN_STATES))
        .order_by(STEPS.c.id)
    ).scalars().all()
    if rows:
        raise InvalidTransition(
            f"{complaint.number} has open compensation steps: {', '.join(describe(session, i) for i in rows)}; "
            "complete or remove them before closing"
        )


def _load_step(session: Session, step_id: int) -> Row:
    step = session.execute(_STEP_BY_ID, {"step_id": step_id}).first()
    if step is None:
        raise NotFound(f"no compensation step {step_id}")
    return step


def _complaint_of(session: Session, step: Row) -> ComplaintSnapshot:
    return ComplaintSnapshot.of(session.execute(select(COMPLAINTS).where(COMPLAINTS.c.id == step.complaint_id)).one())


def _move(
    app: Redress, session: Session, step: Row, actor: str, trigger: str, *, event_note: str, now: datetime,
    **changes: Any,
) -> StepOutcome:
    """Move a step by `trigger` (its machine decides), with a version check and an event on the complaint."""
    from workflow.adapters.records import append_event

    complaint = _complaint_of(session, step)
    try:
        to_state = next_step_state(step.state, trigger)
    except StepTransitionRefused as refused:
        raise InvalidTransition(f"step {step.id} ({step.kind}): {refused}") from None
    hold(session, complaint, now)
    updated = session.execute(_UPDATE_IF_VERSION, {
        **changes, "state": to_state, "version": step.version + 1, "where_id": step.id, "where_version": step.version,
    })
    if updated.rowcount != 1:  # type: ignore[attr-defined]
        raise ConcurrentChange(f"step {step.id} was changed by someone else at the same moment; look at it again")
    if to_state in (DONE, "cancelled"):
        clocks.cancel_step_timer(session, step.id, now)
    append_event(session, complaint.id, now, actor, f"compensation_{trigger}", complaint.state,
                  complaint.state, event_note, {"step": step.id, "kind": step.kind,
                                                "amount": _money_text(step.amount_minor, step.currency)})
    return StepOutcome(step.id, complaint.number, step.kind, step.state, to_state, event_note)


def accepts_steps(complaint_state: str) -> bool:
    """A cancelled complaint (spam, duplicate, withdrawn) gets no compensation."""
    return complaint_state != COMPLAINT_CANCELLED


def add_step(
    app: Redress, actor: str | None, ref: str, kind: str, *, amount: str | None = None, reason: str | None = None,
) -> StepOutcome:
    """An agent adds a step to a complaint, with a reason; money above their limit waits for approval."""
    from workflow.adapters.records import load_complaint

    if kind not in STEP_KINDS:
        raise InvalidInput(f"step kind '{kind}' is not allowed; kinds: {', '.join(STEP_KINDS)}")
    reason = required_text(reason, "reason", "why the customer gets this step", app.config.limits.reason)
    amount_minor = parse_amount(amount)
    if kind in MONEY_KINDS and amount_minor is None:
        raise InvalidInput(f"amount is required for a {kind}: how much, e.g. --amount 50")
    if kind not in MONEY_KINDS and amount_minor is not None:
        raise InvalidInput(f"a {kind} carries no amount; amounts are for {', '.join(sorted(MONEY_KINDS))}")
    with app.uow() as uow:
        user = acting_user(uow.session, actor)
        require(user, "add_step")
        complaint = load_complaint(uow.session, ref)
        if not accepts_steps(complaint.state):
            raise InvalidTransition(f"{complaint.number} is cancelled; a cancelled complaint gets no compensation")
        if complaint.state == COMPLAINT_CLOSED:  # closed means nothing is left to do for the customer
            raise InvalidTransition(f"{complaint.number} is closed; reopen it to add a compensation step")
        now = app.clock.now()
        hold(uow.session, complaint, now)  # a cancel at the same moment either waits for this or refuses it
        planned = create_step(app, uow.session, complaint, user, kind, amount_minor, source="agent",
                              reason=reason, now=now)
        uow.commit()
        return StepOutcome(planned.id, complaint.number, kind, "", planned.state, reason, planned.approval_reason)


def _person(session: Session, user_id: int) -> Person:
    user = session.execute(select(USERS.c.name, USERS.c.role).where(USERS.c.id == user_id)).one()
    return Person(user_id, user.name, user.role)


def _approver_check(app: Redress, session: Session, approver: Row, step: Row, action: str, now: datetime) -> None:
    """The approval rule (workflow/domain/permissions.py), with the step's money in the refusal."""
    deciding = Person(approver.id, approver.name, approver.role)
    refused = decision_refusal(deciding, _person(session, step.requested_by_id), step.id, action)
    if refused:
        raise PermissionDenied(refused)
    if action != "approve":
        return
    complaint_total, day_total = _totals(app, session, step.complaint_id, step.requested_by_id, now)
    money = Money(step.amount_minor or 0, complaint_total, day_total)  # the step itself is counted already
    measure = passed_limit(money, _limits(app, approver.role), APPROVER_MEASURES)
    if measure is not None:
        raise PermissionDenied(_money_words(app, _BEYOND_APPROVER[measure], money, measure, approver.role,
                                            step=step.id, number=_complaint_of(session, step).number))


def approve_step(app: Redress, actor: str | None, step_id: int, note: str | None = None) -> StepOutcome:
    """Approve money above the requester's limit."""
    return _decide(app, actor, step_id, "approve", optional_text(note, "note", app.config.limits.note))


def reject_step(app: Redress, actor: str | None, step_id: int, reason: str | None) -> StepOutcome:
    """Refuse a request for money, with a reason; the step is cancelled."""
    return _decide(app, actor, step_id, "reject",
                   required_text(reason, "reason", "why the request is refused", app.config.limits.reason))


def _decide(app: Redress, actor: str | None, step_id: int, decision: str, note: str) -> StepOutcome:
    with app.uow() as uow:
        user = acting_user(uow.session, actor)
        require(user, f"{decision}_step")
        step = _load_step(uow.session, step_id)
        if step.state != AWAITING_APPROVAL:
            raise InvalidTransition(f"step {step.id} ({step.kind}) is {step.state}; only a step awaiting approval "
                                    f"can be {decision}d")
        now = app.clock.now()
        _approver_check(app, uow.session, user, step, decision, now)
        changes = {"note": note} if decision == "reject" else {}
        outcome = _move(app, uow.session, step, user.name, decision, event_note=note, now=now,
                        decided_by_id=user.id, decided_at=now, **changes)
        uow.commit()
        return outcome


def _refuse_removing_approved(session: Session, remover: Row, step: Row) -> None:
    """An approved step is removed only by the approver's role or above (workflow/domain/permissions.py)."""
    if step.state != APPROVED or step.decided_by_id is None:
        return
    refused = removal_refusal(Person(remover.id, remover.name, remover.role), _person(session, step.decided_by_id),
                              step.id)
    if refused:
        raise PermissionDenied(refused)


def refuse_cancelling_approved_steps(session: Session, complaint: ComplaintSnapshot, user: Row) -> None:
    """Cancelling a complaint cancels its open steps: one approved by a higher role than the user's stays theirs."""
    approved = session.execute(select(STEPS).where(STEPS.c.complaint_id == complaint.id, STEPS.c.state == APPROVED)
                               .order_by(STEPS.c.id)).all()
    for step in approved:
        try:
            _refuse_removing_approved(session, user, step)
        except PermissionDenied as refused:
            raise PermissionDenied(f"cancelling {complaint.number} would remove its steps: {refused}") from None


def remove_step(app: Redress, actor: str | None, step_id: int, reason: str | None) -> StepOutcome:
    """An agent takes a step out of the plan, with a reason; an approved one needs the approver's role or above."""
    reason = required_text(reason, "reason", "why the step is removed", app.config.limits.reason)
    with app.uow() as uow:
        user = acting_user(uow.session, actor)
        require(user, "remove_step")
        step = _load_step(uow.session, step_id)
        _refuse_removing_approved(uow.session, user, step)
        outcome = _move(app, uow.session, step, user.name, "cancel", event_note=reason, now=app.clock.now(),
                        note=reason)
        uow.commit()
        return outcome


def complete_step(app: Redress, actor: str | None, step_id: int, note: str | None = None) -> StepOutcome:
    """Mark a step carried out (the refund paid, the replacement shipped); the customer is told."""
    note = optional_text(note, "note", app.config.limits.note)
    with app.uow() as uow:
        user = acting_user(uow.session, actor)
        require(user, "complete_step")
        step = _load_step(uow.session, step_id)
        outcome = _complete(app, uow.session, step, user.name, note, app.clock.now())
        uow.commit()
        return outcome


def _complete(app: Redress, session: Session, step: Row, by: str, note: str, now: datetime) -> StepOutcome:
    from notifications.customer import queue_customer_message

    if step.state == AWAITING_APPROVAL:
        raise InvalidTransition(f"step {step.id} ({step.kind}) is awaiting approval; it cannot be done before "
                                "someone approves it")
    outcome = _move(app, session, step, by, "complete", event_note=note, now=now, done_by=by, done_at=now,
                    note=note)
    if step.kind in NOTICES:
        queue_customer_message(app, session, NOTICES[step.kind], step.complaint_id, now, step_id=step.id)
    return outcome


def on_step_due(app: Redress, session: Session, step_id: int, now: datetime) -> str:
    """The scheduler reached a step's due time: 'sent' (carried out), 'overdue' (escalate) or 'none'."""
    step = session.execute(_STEP_BY_ID, {"step_id": step_id}).one()
    if step.state not in (PLANNED, APPROVED, AWAITING_APPROVAL):
        return "none"
    if step.kind in AUTOMATIC_KINDS and step.state != AWAITING_APPROVAL:
        _complete(app, session, step, "scheduler", "sent by the scheduler at its due time", now)
        return "sent"
    return "overdue"


def remind_again(app: Redress, session: Session, complaint: ComplaintSnapshot, step_id: int, now: datetime) -> None:
    """An overdue step gets a new timer `climb_every` later: while it stays undone it keeps climbing."""
    clock_plan = clocks.plan(app, session, complaint.severity, complaint.customer_id)
    due = add_business_time(now, clock_plan.climb_every, step_calendar(app, session, complaint))
    clocks.arm_step_timer(session, complaint.id, step_id, due, now)


def describe(session: Session, step_id: int) -> str:
    """'refund 128.50 CNY (step 7)', for alerts and the timeline."""
    step = session.execute(_STEP_BY_ID, {"step_id": step_id}).one()
    amount = _money_text(step.amount_minor, step.currency)
    return f"{step.kind.replace('_', ' ')}{' ' + amount if amount else ''} (step {step.id})"


_REQUESTER = USERS.alias("requester")
_OTHERS = STEPS.alias("others")
_COMPLAINT_TOTAL = (select(func.coalesce(func.sum(_OTHERS.c.amount_minor), 0))
                    .where(_OTHERS.c.complaint_id == STEPS.c.complaint_id, _OTHERS.c.state != CANCELLED)
                    .scalar_subquery())


def _steps_query(*, with_total: bool, limit: int) -> Any:
    return (
        select(STEPS, COMPLAINTS.c.number, _REQUESTER.c.name.label("requested_by"),
               _REQUESTER.c.role.label("requester_role"),
               *([_COMPLAINT_TOTAL.label("complaint_total")] if with_total else []))
        .join(COMPLAINTS, COMPLAINTS.c.id == STEPS.c.complaint_id)
        .join(_REQUESTER, _REQUESTER.c.id == STEPS.c.requested_by_id)
        .order_by(STEPS.c.due_at, STEPS.c.id).limit(limit)
    )


def list_steps(
    app: Redress, ref: str | None = None, *, state: str | None = None, approvable_by: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Steps of one complaint, or across complaints by state, or those waiting for `approvable_by`'s approval."""
    from workflow.adapters.records import load_complaint

    if state is not None and state not in STEP_STATES:
        raise InvalidInput(f"step state '{state}' is not allowed; states: {', '.join(STEP_STATES)}")
    query = _steps_query(with_total=approvable_by is not None, limit=limit)
    with app.uow(write=False) as uow:
        if ref is not None:
            query = query.where(STEPS.c.complaint_id == load_complaint(uow.session, ref).id)
        if state is not None:
            query = query.where(STEPS.c.state == state)
        rows = list(uow.session.execute(query))
        if approvable_by is not None:
            approver = acting_user(uow.session, approvable_by)
            deciding = Person(approver.id, approver.name, approver.role)
            limits = _limits(app, approver.role)
            rows = [r for r in rows if r.state == AWAITING_APPROVAL
                    and may_approve(deciding, Person(r.requested_by_id, r.requested_by, r.requester_role),
                                    Money(r.amount_minor or 0, r.complaint_total, 0), limits)]
        return [_step_row(r) for r in rows]


def steps_of(session: Session, complaint_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """One complaint's steps, soonest due first, read in the caller's transaction (the complaint view's)."""
    return [_step_row(r) for r in session.execute(
        _steps_query(with_total=False, limit=limit).where(STEPS.c.complaint_id == complaint_id))]


def _step_row(r: Any) -> dict[str, Any]:
    return {"id": r.id, "complaint": r.number, "kind": r.kind, "state": r.state,
            "amount": _amount_text(r.amount_minor),
            "currency": r.currency, "due_at": r.due_at.isoformat(), "source": r.source, "reason": r.reason,
            "requested_by": r.requested_by, "done_by": r.done_by,
            "done_at": r.done_at.isoformat() if r.done_at else None, "note": r.note}
