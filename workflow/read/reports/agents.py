"""An agent's month, the performance review. For each agent, the complaints filed in the period that are theirs
(assigned to them, or answered by them at first contact from the policy manual): how many (handled), closed,
answered at first contact, their median first response (business minutes), breaches, and the share of the
resolved ones reopened. Then the time their waits on customers held the clocks (waits begun in the period), the
satisfaction scores recorded for them in the period, and the compensation steps created in the period on their
complaints: done, overdue now, and refunds stalled past their due time. The team's median of each figure is a
table of its own, beside them.
"""

from __future__ import annotations

from datetime import datetime
from statistics import median
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlmodel import Session

from states.compensation import DONE, STEP_OPEN_STATES
from workflow.adapters.models import COMPLAINTS as C
from workflow.adapters.models import PAUSES, STEPS, SURVEYS, USERS
from workflow.bootstrap import Redress
from workflow.read.pauses import held_by_agent
from workflow.read.reports.model import Column, Report, Table
from workflow.read.reports.scope import Scope, count_where, percentiles
from workflow.read.reports.sla import FR_BREACHED, RES_BREACHED

# Whose complaint it is: the assignee; one answered at first contact from the manual, by whoever answered it.
OWNER = func.coalesce(C.c.assignee_id, case((C.c.first_contact.is_(True), C.c.created_by_id)))

COLUMNS = (Column("handled"), Column("closed"), Column("first_contact"), Column("first_response_p50", "minutes"),
           Column("breaches"), Column("reopened_share", "ratio"), Column("paused_minutes", "minutes"),
           Column("satisfaction", "score"), Column("answers"), Column("steps_done"), Column("steps_overdue"),
           Column("refunds_stalled"))


def agents_report(app: Redress, session: Session, scope: Scope, now: datetime) -> Report:
    figures: dict[int, dict[str, Any]] = {}

    def of(agent_id: int) -> dict[str, Any]:
        return figures.setdefault(agent_id, {c.key: None for c in COLUMNS})

    team = scope.filed(agent=False)
    handled = (select(OWNER.label("owner"), func.count().label("handled"),
                      count_where(C.c.state == "closed").label("closed"),
                      count_where(C.c.first_contact.is_(True)).label("first_contact"),
                      count_where(or_(FR_BREACHED, RES_BREACHED)).label("breaches"),
                      count_where(C.c.resolved_at.is_not(None)).label("resolved"),
                      count_where(C.c.reopens > 0).label("reopened"))
               .where(*team, OWNER.is_not(None)).group_by(OWNER))
    for row in session.execute(handled):
        of(row.owner).update(handled=row.handled, closed=int(row.closed), first_contact=int(row.first_contact),
                                   breaches=int(row.breaches),
                                   reopened_share=row.reopened / row.resolved if row.resolved else None)
    for agent_id, ranks in percentiles(session, C.c.first_response_minutes, team, key=OWNER).items():
        if agent_id is not None:
            of(agent_id)["first_response_p50"] = ranks[50]
    scores = (select(SURVEYS.c.agent_id, func.count().label("answers"), func.avg(SURVEYS.c.score).label("average"))
              .join(C, C.c.id == SURVEYS.c.complaint_id)
              .where(scope.within(SURVEYS.c.recorded_at), SURVEYS.c.agent_id.is_not(None), *scope.matching(agent=False))
              .group_by(SURVEYS.c.agent_id))
    for row in session.execute(scores):
        of(row.agent_id).update(answers=row.answers, satisfaction=float(row.average))
    open_and_late = and_(STEPS.c.state.in_(STEP_OPEN_STATES), STEPS.c.due_at < now)
    steps = (select(OWNER.label("owner"), count_where(STEPS.c.state == DONE).label("done"),
                    count_where(open_and_late).label("overdue"),
                    count_where(and_(open_and_late, STEPS.c.kind == "refund")).label("stalled"))
             .join(C, C.c.id == STEPS.c.complaint_id)
             .where(scope.within(STEPS.c.created_at), OWNER.is_not(None), *scope.matching(agent=False))
             .group_by(OWNER))
    for row in session.execute(steps):
        of(row.owner).update(steps_done=int(row.done), steps_overdue=int(row.overdue),
                                   refunds_stalled=int(row.stalled))
    names = dict(session.execute(select(USERS.c.name, USERS.c.id)).all())
    held = held_by_agent(app, session, [scope.within(PAUSES.c.started_at), *scope.matching(agent=False)])
    for name, minutes in held.items():
        if name in names:
            of(names[name])["paused_minutes"] = minutes
    by_id = {user_id: name for name, user_id in names.items()}
    rows = sorted(((by_id[agent_id], *(values[c.key] for c in COLUMNS)) for agent_id, values in figures.items()),
                  key=lambda row: row[0])
    team_median = tuple(_median([row[i + 1] for row in rows]) for i in range(len(COLUMNS)))
    if scope.agent_id is not None:
        rows = [row for row in rows if row[0] == by_id.get(scope.agent_id)]
    report = Report("agents", scope.since, scope.until, scope.filters)
    report.tables = [Table("agents", (Column("agent", "text"), *COLUMNS), rows),
                     Table("team_median", COLUMNS, [team_median])]
    report.figures = [("agents_counted", "count", len(rows))]
    return report


def _median(values: list[Any]) -> float | None:
    """The median over the agents with a figure (an agent with no answers has no satisfaction to count)."""
    present = [v for v in values if v is not None]
    return float(median(present)) if present else None
