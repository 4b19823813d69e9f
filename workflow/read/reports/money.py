"""Compensation: the steps created in the period (on complaints matching the filters). Spend is the money of
steps carried out, by kind, category and member tier; per approver, what they decided and how long the steps
waited for them; and the steps overdue now (open past their due time), refunds first, the oldest first.
Money stays in minor units with its currency, so sums are exact.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlmodel import Session

from states.compensation import CANCELLED, DONE, MONEY_KINDS, STEP_KINDS, STEP_OPEN_STATES
from workflow.adapters.models import COMPLAINTS as C
from workflow.adapters.models import CUSTOMERS, STEPS, USERS
from workflow.read.reports.model import Chart, Column, Report, Table
from workflow.read.reports.scope import Scope, count_where, percentiles, rounded

_STEPS = STEPS.join(C, C.c.id == STEPS.c.complaint_id).join(CUSTOMERS, CUSTOMERS.c.id == C.c.customer_id)
_MONEY = func.coalesce(STEPS.c.amount_minor, 0)


def _spend_columns() -> list[Any]:
    return [func.count().label("steps"), count_where(STEPS.c.state == DONE).label("done"),
            func.coalesce(func.sum(case((STEPS.c.state == DONE, _MONEY), else_=0)), 0).label("spent"),
            func.coalesce(func.sum(case((STEPS.c.state.in_(STEP_OPEN_STATES), _MONEY), else_=0)), 0)
            .label("committed")]


_SPEND = (Column("steps"), Column("done"), Column("currency", "text"), Column("spent", "money"),
          Column("committed", "money"))


def money_report(session: Session, scope: Scope, now: datetime, currency: str, overdue_rows: int = 100) -> Report:
    report = Report("compensation", scope.since, scope.until, scope.filters, currency=currency)
    created = [scope.within(STEPS.c.created_at), *scope.matching()]
    money = STEPS.c.currency.is_(None) | (STEPS.c.currency == currency)  # steps without money count as steps
    for name, key in (("kind", STEPS.c.kind), ("category", C.c.category), ("tier", CUSTOMERS.c.tier)):
        rows = {row.k: row for row in session.execute(select(key.label("k"), *_spend_columns()).select_from(_STEPS)
                                                      .where(*created, money).group_by(key))}
        order = list(STEP_KINDS) if name == "kind" else sorted(rows)
        report.tables.append(Table(f"by_{name}", (Column(name, "label"), *_SPEND),
                                   [(k, int(rows[k].steps), int(rows[k].done), currency, int(rows[k].spent),
                                     int(rows[k].committed)) for k in order if k in rows]))
    report.charts.append(Chart("spend_by_kind", "by_kind", "kind", ("spent",)))
    report.tables.append(_approvers(session, scope, created, money, currency))
    late = and_(STEPS.c.state.in_(STEP_OPEN_STATES), STEPS.c.due_at < now)
    total = session.execute(select(*_spend_columns(), count_where(late).label("overdue"),
                                   count_where(and_(late, STEPS.c.kind == "refund")).label("stalled"))
                            .select_from(_STEPS).where(*created, money)).one()
    report.figures = [("steps", "count", int(total.steps)), ("done", "count", int(total.done)),
                      ("spent", "money", int(total.spent)), ("committed", "money", int(total.committed)),
                      ("overdue", "count", int(total.overdue)), ("refunds_stalled", "count", int(total.stalled))]
    assignee = USERS.alias("assignee")
    overdue = (select(C.c.number, STEPS.c.kind, STEPS.c.state, STEPS.c.currency, STEPS.c.amount_minor, STEPS.c.due_at,
                      scope.minutes_between(STEPS.c.due_at, now).label("late"),
                      func.coalesce(assignee.c.name, "").label("agent"))
               .select_from(_STEPS.outerjoin(assignee, assignee.c.id == C.c.assignee_id))
               .where(*created, late)
               .order_by((STEPS.c.kind != "refund"), STEPS.c.due_at, STEPS.c.id).limit(overdue_rows))
    report.tables.append(Table("overdue", (Column("complaint", "text"), Column("kind", "label"),
                                           Column("state", "label"), Column("currency", "text"),
                                           Column("amount", "money"), Column("due_at", "time"),
                                           Column("late_hours", "hours"), Column("agent", "text")),
                               [(r.number, r.kind, r.state, r.currency if r.kind in MONEY_KINDS else None,
                                 r.amount_minor, r.due_at, round(float(r.late) / 60.0, 2), r.agent)
                                for r in session.execute(overdue)]))
    return report


def _approvers(session: Session, scope: Scope, created: list[Any], money: Any, currency: str) -> Table:
    """Per person who decided a step above someone's limit: approved, rejected, the money approved, and the
    hours the steps waited for them (median, p90)."""
    decided = [*created, money, STEPS.c.decided_by_id.is_not(None), STEPS.c.decided_at.is_not(None)]
    approved = STEPS.c.state != CANCELLED
    rows = session.execute(
        select(USERS.c.name, STEPS.c.decided_by_id, count_where(approved).label("approved"),
               count_where(STEPS.c.state == CANCELLED).label("rejected"),
               func.coalesce(func.sum(case((approved, _MONEY), else_=0)), 0).label("amount"))
        .select_from(_STEPS.join(USERS, USERS.c.id == STEPS.c.decided_by_id)).where(*decided)
        .group_by(USERS.c.name, STEPS.c.decided_by_id).order_by(USERS.c.name))
    waited = percentiles(session, scope.minutes_between(STEPS.c.created_at, STEPS.c.decided_at) / 60.0, decided,
                         key=STEPS.c.decided_by_id, select_from=_STEPS, steps=10)  # to 6 minutes
    return Table("by_approver", (Column("approver", "text"), Column("approved"), Column("rejected"),
                                 Column("currency", "text"), Column("approved_amount", "money"),
                                 Column("turnaround_p50", "hours"), Column("turnaround_p90", "hours")),
                 [(r.name, int(r.approved), int(r.rejected), currency, int(r.amount),
                   rounded(waited.get(r.decided_by_id, {}).get(50)), rounded(waited.get(r.decided_by_id, {}).get(90)))
                  for r in rows])
