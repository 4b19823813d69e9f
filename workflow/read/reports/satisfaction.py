"""Satisfaction: the scores recorded in the period (on complaints matching the filters): how they spread, the
average by agent, category and member tier, the response rate (of the complaints sent a survey in the period,
the share answered, whenever and however the answer came), and
what customers who scored low said, with their complaints. Their words are shown as text, never as markup.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from workflow.adapters.models import COMPLAINTS as C
from workflow.adapters.models import CUSTOMERS, MESSAGES, SURVEYS, USERS
from workflow.read.reports.model import Chart, Column, Report, Table
from workflow.read.reports.scope import Scope, count_where

SCORES = range(1, 6)
_ANSWERED = SURVEYS.join(C, C.c.id == SURVEYS.c.complaint_id).join(CUSTOMERS, CUSTOMERS.c.id == C.c.customer_id)
_SPLIT = (Column("answers"), Column("average", "score"), Column("low"))


def satisfaction_report(session: Session, scope: Scope, low_score: int, verbatims: int = 100) -> Report:
    report = Report("satisfaction", scope.since, scope.until, scope.filters)
    answered = [scope.within(SURVEYS.c.recorded_at), *scope.matching()]
    spread = dict(session.execute(select(SURVEYS.c.score, func.count()).select_from(_ANSWERED).where(*answered)
                                  .group_by(SURVEYS.c.score)).all())
    answers = sum(spread.values())
    report.tables.append(Table("distribution", (Column("score", "label"), Column("answers"), Column("share", "ratio")),
                               [(score, spread.get(score, 0), spread.get(score, 0) / answers if answers else None)
                                for score in SCORES]))
    report.charts.append(Chart("score_distribution", "distribution", "score", ("answers",)))
    sent = (select(MESSAGES.c.complaint_id.label("complaint_id"), SURVEYS.c.id.label("answer"))
            .select_from(MESSAGES.join(C, C.c.id == MESSAGES.c.complaint_id)
                         .outerjoin(SURVEYS, SURVEYS.c.complaint_id == MESSAGES.c.complaint_id))
            .where(MESSAGES.c.kind == "survey", MESSAGES.c.status == "sent", scope.within(MESSAGES.c.created_at),
                   *scope.matching()).subquery())
    asked, replied = session.execute(select(func.count(func.distinct(sent.c.complaint_id)),
                                            func.count(func.distinct(sent.c.answer)))).one()
    average = sum(score * n for score, n in spread.items()) / answers if answers else None
    report.figures = [("answers", "count", answers), ("average", "score", average),
                      ("surveys_sent", "count", asked), ("surveys_answered", "count", replied),
                      ("response_rate", "ratio", replied / asked if asked else None),
                      ("low_scores", "count", sum(n for score, n in spread.items() if score <= low_score))]
    agent = func.coalesce(USERS.c.name, "")
    for name, key, joined in (("agent", agent, _ANSWERED.outerjoin(USERS, USERS.c.id == SURVEYS.c.agent_id)),
                              ("category", C.c.category, _ANSWERED), ("tier", CUSTOMERS.c.tier, _ANSWERED)):
        rows = session.execute(select(key.label("k"), *_split_columns(low_score)).select_from(joined)
                               .where(*answered).group_by(key).order_by(key))
        report.tables.append(Table(f"by_{name}", (Column(name, "text" if name == "agent" else "label"), *_SPLIT),
                                   [(row.k, int(row.answers), float(row.average), int(row.low)) for row in rows]))
    said = (select(C.c.number, SURVEYS.c.score, SURVEYS.c.recorded_at, agent.label("agent"), C.c.category,
                   CUSTOMERS.c.tier, SURVEYS.c.comment)
            .select_from(_ANSWERED.outerjoin(USERS, USERS.c.id == SURVEYS.c.agent_id))
            .where(*answered, SURVEYS.c.score <= low_score, SURVEYS.c.comment != "")
            .order_by(SURVEYS.c.score, SURVEYS.c.recorded_at, C.c.number).limit(verbatims))
    report.tables.append(Table("verbatims", (Column("complaint", "text"), Column("score", "label"),
                                             Column("recorded_at", "time"), Column("agent", "text"),
                                             Column("category", "label"), Column("tier", "label"),
                                             Column("comment", "text")),
                               [tuple(row) for row in session.execute(said)]))
    return report


def _split_columns(low_score: int) -> list[Any]:
    return [func.count().label("answers"), func.avg(SURVEYS.c.score).label("average"),
            count_where(SURVEYS.c.score <= low_score).label("low")]
