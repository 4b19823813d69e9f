"""Waits on the customer: each complaint's pauses, and paused time per agent over a period.

A pause row is written when the clock stops for the customer and closed when it runs again
(workflow/services/clocks.py), so what is read here is what the clock did, not what someone later remembers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlmodel import Session

from states.definition import Trigger
from workflow.adapters.models import COMPLAINTS, CUSTOMERS, PAUSES
from workflow.bootstrap import Redress
from workflow.domain.clock import parse_period_edge
from workflow.domain.errors import ConfigError, InvalidInput
from workflow.domain.permissions import require
from workflow.domain.sla import NoPolicy, business_minutes_between, plan_for
from workflow.services.people import acting_user


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def complaint_pauses(session: Session, complaint_id: int) -> list[dict[str, Any]]:
    """Every wait on the customer of one complaint, oldest first; the open one has no end."""
    rows = session.execute(select(PAUSES).where(PAUSES.c.complaint_id == complaint_id).order_by(PAUSES.c.id))
    return [{"by": row.paused_by, "reason": row.reason, "started_at": _iso(row.started_at),
             "limit_at": _iso(row.limit_at), "ended_at": _iso(row.ended_at), "ended_by": row.ended_by,
             "ended_how": row.ended_how,
             "business_minutes": None if row.business_minutes is None else round(row.business_minutes, 1)}
            for row in rows]


def _edge(app: Redress, value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_period_edge(value, option, app.config.timezone)
    except ConfigError as error:
        raise InvalidInput(str(error)) from None


def paused_time_by_agent(app: Redress, actor: str | None, since: str | None = None,
                         until: str | None = None) -> list[dict[str, Any]]:
    """Per agent who parked complaints (pauses begun in the period): how many, on how many complaints, how many
    ran to the policy's limit, still open, and the working time they held the clocks, open waits up to now
    (supervisor or above)."""
    start, end = _edge(app, since, "--since"), _edge(app, until, "--until")
    if start is not None and end is not None and start >= end:
        raise InvalidInput(f"--since {since} is not before --until {until}")
    held = func.coalesce(func.sum(PAUSES.c.business_minutes), 0.0)
    query = (
        select(PAUSES.c.paused_by, func.count().label("pauses"),
               func.count(func.distinct(PAUSES.c.complaint_id)).label("complaints"),
               func.sum(case((PAUSES.c.ended_how == Trigger.PAUSE_LIMIT_REACHED.value, 1), else_=0)).label("limit"),
               func.sum(case((PAUSES.c.ended_at.is_(None), 1), else_=0)).label("waiting"),
               held.label("held"), func.max(PAUSES.c.business_minutes).label("longest"))
        .group_by(PAUSES.c.paused_by)
    )
    period = [PAUSES.c.started_at >= start] if start is not None else []
    period += [PAUSES.c.started_at < end] if end is not None else []
    with app.uow(write=False) as uow:
        session = uow.session
        require(acting_user(session, actor), "pause_report")
        rows = [{"agent": row.paused_by, "pauses": row.pauses, "complaints": row.complaints,
                 "repeated": row.pauses - row.complaints, "ran_to_limit": int(row.limit or 0),
                 "still_waiting": int(row.waiting or 0), "business_minutes": float(row.held),
                 "longest_minutes": None if row.longest is None else float(row.longest)}
                for row in session.execute(query.where(*period))]
        _add_open_waits(app, session, rows, period)
    for row in rows:
        row["business_minutes"] = round(row["business_minutes"], 1)
        row["longest_minutes"] = None if row["longest_minutes"] is None else round(row["longest_minutes"], 1)
    return sorted(rows, key=lambda row: (-row["business_minutes"], row["agent"]))


_OPEN_WAITS = (
    select(PAUSES.c.paused_by, PAUSES.c.started_at, COMPLAINTS.c.severity, CUSTOMERS.c.tier)
    .join(COMPLAINTS, COMPLAINTS.c.id == PAUSES.c.complaint_id)
    .join(CUSTOMERS, CUSTOMERS.c.id == COMPLAINTS.c.customer_id)
    .where(PAUSES.c.ended_at.is_(None))
)


def held_by_agent(app: Redress, session: Session, conditions: list[Any]) -> dict[str, float]:
    """Business minutes each agent's waits (those meeting `conditions`, on the pause and its complaint) held the
    clocks; a wait still open counts up to now, on its complaint's calendar."""
    ended = (select(PAUSES.c.paused_by, func.coalesce(func.sum(PAUSES.c.business_minutes), 0.0).label("held"))
             .join(COMPLAINTS, COMPLAINTS.c.id == PAUSES.c.complaint_id)
             .where(PAUSES.c.ended_at.is_not(None), *conditions).group_by(PAUSES.c.paused_by))
    held = {row.paused_by: float(row.held) for row in session.execute(ended)}
    now = app.clock.now()
    for wait in session.execute(_OPEN_WAITS.where(*conditions)):
        try:
            calendar = app.calendar(plan_for(app.config, wait.severity, wait.tier).calendar)
        except NoPolicy:
            continue
        held[wait.paused_by] = held.get(wait.paused_by, 0.0) + business_minutes_between(wait.started_at, now, calendar)
    return held


def _add_open_waits(app: Redress, session: Session, rows: list[dict[str, Any]], period: list[Any]) -> None:
    """Waits still open hold the clock up to now: counted on each complaint's calendar (they are few, and the
    longest, so the ones a supervisor most needs to see)."""
    now = app.clock.now()
    by_agent = {row["agent"]: row for row in rows}
    for wait in session.execute(_OPEN_WAITS.where(*period)):
        try:
            calendar = app.calendar(plan_for(app.config, wait.severity, wait.tier).calendar)
        except NoPolicy:
            continue  # a complaint from an older config: counted as waiting, its time unknown
        held = business_minutes_between(wait.started_at, now, calendar)
        row = by_agent[wait.paused_by]
        row["business_minutes"] += held
        row["longest_minutes"] = max(row["longest_minutes"] or 0.0, held)
