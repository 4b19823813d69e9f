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
from workflow.adapters.models import PAUSES
from workflow.bootstrap import Redress
from workflow.domain.clock import parse_period_edge
from workflow.domain.errors import ConfigError, InvalidInput
from workflow.domain.permissions import require
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
    ran to the policy's limit, still open, and the working time they held the clocks (supervisor or above)."""
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
        .group_by(PAUSES.c.paused_by).order_by(held.desc(), PAUSES.c.paused_by)
    )
    if start is not None:
        query = query.where(PAUSES.c.started_at >= start)
    if end is not None:
        query = query.where(PAUSES.c.started_at < end)
    with app.uow(write=False) as uow:
        require(acting_user(uow.session, actor), "pause_report")
        return [{"agent": row.paused_by, "pauses": row.pauses, "complaints": row.complaints,
                 "repeated": row.pauses - row.complaints, "ran_to_limit": int(row.limit or 0),
                 "still_waiting": int(row.waiting or 0), "business_minutes": round(float(row.held), 1),
                 "longest_minutes": None if row.longest is None else round(float(row.longest), 1)}
                for row in uow.session.execute(query)]
