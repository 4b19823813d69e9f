"""Time left, in business time, and the order of risk: what every queue (the CLI's, the terminal app's) shows.

The queue is ordered by risk: complaints still being worked before resolved ones, then by their next breach
(the earliest due time of the first-response clock while unanswered and of the resolution clock, already passed
or not; none while paused), then escalation level, severity and age. Ordering by the due instant is ordering by
time left, whatever calendar each complaint runs on: the breach happens at that instant.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from workflow.adapters.models import DEADLINES, QUEUE_ORDER
from workflow.bootstrap import Redress
from workflow.domain.sla import NoPolicy, business_minutes_between, plan_for
from workflow.services import clocks

# The deadlines a countdown counts down to (warnings only colour the row).
TARGET_KINDS = ("first_response", "resolution", "escalation", "step")

# The order is kept where its index is (workflow/adapters/models.py) and the next breach where its clocks are
# (workflow/services/clocks.py NEXT_BREACH, in complaint.next_breach_at).
MOST_URGENT_FIRST = QUEUE_ORDER


def countdown_deadlines(session: Any, ids: list[int]) -> dict[int, list[Any]]:
    """Each complaint's deadlines still to come, and its breach deadlines that fired (not cancelled): one
    query. `fired_at` tells them apart."""
    if not ids:
        return {}
    found: dict[int, list[Any]] = {}
    for row in session.execute(
        select(DEADLINES.c.complaint_id, DEADLINES.c.kind, DEADLINES.c.due_at, DEADLINES.c.fired_at)
        .where(DEADLINES.c.complaint_id.in_(ids), DEADLINES.c.cancelled_at.is_(None),
               or_(DEADLINES.c.fired_at.is_(None), DEADLINES.c.kind.in_(clocks.BREACH_KINDS)))
    ):
        found.setdefault(row.complaint_id, []).append(row)
    return found


def countdown(app: Redress, row: Any, deadlines: list[Any], now: datetime) -> dict[str, Any]:
    """The nearest target deadline in business minutes (negative once passed), and how urgent it looks: ok,
    warning, breached. `row` carries severity, tier, escalation_level, sla_paused_at and next_breach_at.

    A complaint past its next breach counts from that breach, fired or not: the time since is what the agent
    must see (the queue is ordered by it), not the time to the next escalation step that followed it."""
    pending = [d for d in deadlines if d.fired_at is None]
    targets = [d for d in pending if d.kind in TARGET_KINDS and d.due_at is not None]
    warned = {d.kind.removesuffix("_warning") for d in pending if d.kind.endswith("_warning")}
    nearest = min(targets, key=lambda d: d.due_at) if targets else None
    breach_at = row.next_breach_at
    if breach_at is not None and breach_at <= now:
        nearest = next((d for d in deadlines if d.kind in clocks.BREACH_KINDS and d.due_at == breach_at), nearest)
    remaining = None
    try:
        clock_plan = plan_for(app.config, row.severity, row.tier)
    except NoPolicy:  # a row from an older config: listed, with no countdown, rather than hiding the queue
        clock_plan = None
    if nearest is not None and clock_plan is not None:
        remaining = business_minutes_between(now, nearest.due_at, app.calendar(clock_plan.calendar))
    start_level = clock_plan.start_level if clock_plan else 0
    if row.escalation_level > start_level or (remaining is not None and remaining < 0):
        urgency = "breached"
    elif nearest is not None and nearest.kind in clocks.BREACH_KINDS and nearest.kind not in warned:
        urgency = "warning"  # its warning has already fired
    else:
        urgency = "ok"
    return {
        "paused": row.sla_paused_at is not None,
        "next_deadline": nearest.kind if nearest is not None else None,
        "remaining_minutes": None if remaining is None else round(remaining, 1),
        "urgency": urgency,
    }


def countdown_text(remaining_minutes: float | None, paused: bool) -> str:
    """'2h05m', '-0h40m' (past due), 'paused' or '-': business time, as the agent reads it."""
    if paused:
        return "paused"
    if remaining_minutes is None:
        return "-"
    sign = "-" if remaining_minutes < 0 else ""
    minutes = int(abs(remaining_minutes))
    return f"{sign}{minutes // 60}h{minutes % 60:02d}m"
