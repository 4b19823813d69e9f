"""The satisfaction follow-up: a survey timer armed at closing, the answer taken on a call-back, and its policy.

Answers are kept with the complaint's agent and category so scores can be
reported per complaint, agent and category.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, insert, select, update
from sqlmodel import Session

from states.definition import CLOSED, RESOLVED
from workflow import clocks
from workflow.bootstrap import Redress
from workflow.errors import InvalidInput, InvalidTransition
from workflow.models import DEADLINES, SURVEYS, USERS
from workflow.people import acting_user
from workflow.sla import add_business_time, parse_duration

SURVEY = "survey"
_INSERT_DEADLINE = insert(DEADLINES)


def arm(app: Redress, session: Session, complaint: Row, now: datetime) -> None:
    """The survey goes out `survey.after_close` of business time after closing (once per complaint)."""
    asked = session.execute(
        select(DEADLINES.c.id).where(DEADLINES.c.complaint_id == complaint.id, DEADLINES.c.kind == SURVEY,
                                     DEADLINES.c.cancelled_at.is_(None)).limit(1)
    ).first()
    if asked is not None:
        return
    clock_plan = clocks.plan(app, session, complaint.severity, complaint.customer_id)
    minutes = parse_duration(app.config.compensation.survey.after_close)
    due = add_business_time(now, minutes, app.calendar(clock_plan.calendar))
    session.execute(_INSERT_DEADLINE, {
        "complaint_id": complaint.id, "kind": SURVEY, "level": None, "offset_minutes": 0.0, "due_at": due,
        "fired_at": None, "cancelled_at": None, "created_at": now, "step_id": None,
    })


def cancel(session: Session, complaint_id: int, now: datetime) -> None:
    """A reopened complaint is not surveyed until it closes again."""
    clocks.cancel(session, complaint_id, (SURVEY,), now)


def send(app: Redress, session: Session, complaint: Row, now: datetime) -> None:
    """The survey timer fired: ask the customer, note it on the timeline."""
    from notifications.customer import queue_customer_message
    from workflow.records import change_complaint

    queued = queue_customer_message(app, session, "survey", complaint.id, now)
    change_complaint(session, complaint, now, "scheduler", "survey_sent",
                     "satisfaction survey sent" if queued else "no email or phone to send the survey to")


@dataclass(frozen=True)
class SurveyOutcome:
    complaint: str
    score: int
    low: bool
    follow_up: str  # "", "reopened" or "follow_up_call planned"


def record(app: Redress, actor: str | None, ref: str, score: int, comment: str | None = None) -> SurveyOutcome:
    """Store the customer's 1-5 score; a low score reopens the complaint or plans a follow-up call, by policy."""
    from workflow import compensation
    from workflow.records import change_complaint, load_complaint, optional_text
    from workflow.services import _record

    if not 1 <= score <= 5:
        raise InvalidInput(f"score {score} is not allowed; scores are 1 to 5")
    comment = optional_text(comment, "comment", app.config.limits.note)
    policy = app.config.compensation.survey
    with app.uow() as uow:
        session = uow.session
        user = acting_user(session, actor)
        complaint = load_complaint(session, ref)
        if complaint.state not in (RESOLVED, CLOSED):
            raise InvalidTransition(
                f"{complaint.number} is {complaint.state}; a survey answer is taken once it is resolved or closed"
            )
        if session.execute(select(SURVEYS.c.id).where(SURVEYS.c.complaint_id == complaint.id)).first():
            raise InvalidInput(f"{complaint.number} already has a survey answer; one answer per complaint")
        now = app.clock.now()
        session.execute(insert(SURVEYS), {
            "complaint_id": complaint.id, "score": score, "comment": (comment or "").strip(),
            "agent_id": complaint.assignee_id, "category": complaint.category, "recorded_by_id": user.id,
            "recorded_at": now,
        })
        session.execute(update(DEADLINES).where(DEADLINES.c.complaint_id == complaint.id, DEADLINES.c.kind == SURVEY,
                                                DEADLINES.c.fired_at.is_(None), DEADLINES.c.cancelled_at.is_(None))
                        .values(cancelled_at=now))
        change_complaint(session, complaint, now, user.name, "survey_answered", (comment or "").strip(),
                         {"score": score})
        low = score <= policy.low_score
        follow_up = ""
        if low and policy.on_low_score == "reopen":
            _record(app, session, load_complaint(session, complaint.id), user, "reopen",
                    note=f"low satisfaction score {score}", closed_at=None)
            follow_up = "reopened"
        elif low:
            compensation.create_step(app, session, load_complaint(session, complaint.id), user, "follow_up_call",
                                     None, source="policy", reason=f"low satisfaction score {score}", now=now)
            follow_up = "follow_up_call planned"
        uow.commit()
        return SurveyOutcome(complaint.number, score, low, follow_up)


def scores(app: Redress, by: str) -> list[dict[str, Any]]:
    """Average score and count per agent or per category."""
    if by not in ("agent", "category"):
        raise InvalidInput(f"'{by}' is not allowed; group scores by agent or category")
    key = USERS.c.name if by == "agent" else SURVEYS.c.category
    query = select(key.label("key"), func.count().label("answers"), func.avg(SURVEYS.c.score).label("average"))
    if by == "agent":
        query = query.select_from(SURVEYS.outerjoin(USERS, USERS.c.id == SURVEYS.c.agent_id))
    query = query.group_by(key).order_by(key)
    with app.uow(write=False) as uow:
        return [{by: row.key or "(nobody)", "answers": row.answers, "average": round(float(row.average), 2)}
                for row in uow.session.execute(query)]
