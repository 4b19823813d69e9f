"""The satisfaction follow-up: a survey queued at closing, the answer taken on a call-back, and its policy.

The survey is a customer message that waits in the outbox until `survey.after_close` of business time has
passed, so a closed complaint keeps no timer of its own; reopening or answering first withdraws it. Answers
are kept with the complaint's agent and category so scores can be reported per complaint, agent and category.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, insert, select
from sqlmodel import Session

from states.definition import CLOSED, RESOLVED
from workflow.adapters.models import MESSAGES, SURVEYS, USERS
from workflow.bootstrap import Redress
from workflow.domain.errors import InvalidInput, InvalidTransition
from workflow.domain.permissions import require
from workflow.domain.sla import add_business_time, parse_duration
from workflow.services import clocks
from workflow.services.people import acting_user
from workflow.services.records import append_event

SURVEY = "survey"


def arm(app: Redress, session: Session, complaint: Row, actor: str, now: datetime) -> None:
    """Queue the survey to go out `survey.after_close` of business time after closing.

    Once per complaint, and never to a customer who has already answered (on a call before closing).
    `complaint` is the row as read before closing; the event carries the closed state.
    """
    from notifications.customer import queue_customer_message

    asked = session.execute(
        select(MESSAGES.c.id).where(MESSAGES.c.complaint_id == complaint.id, MESSAGES.c.kind == SURVEY,
                                    MESSAGES.c.status != "withdrawn").limit(1)
    ).first()
    answered = session.execute(select(SURVEYS.c.id).where(SURVEYS.c.complaint_id == complaint.id)).first()
    if asked is not None or answered is not None:
        return
    clock_plan = clocks.plan(app, session, complaint.severity, complaint.customer_id)
    minutes = parse_duration(app.config.compensation.survey.after_close)
    due = add_business_time(now, minutes, app.calendar(clock_plan.calendar))
    queued = queue_customer_message(app, session, SURVEY, complaint.id, now, send_at=due)
    note = "satisfaction survey queued to go out" if queued else "no email or phone to send the survey to"
    append_event(session, complaint.id, now, actor, "survey_queued", CLOSED, CLOSED, note,
                 {"send_at": due.isoformat()} if queued else None)


def withdraw(session: Session, complaint_id: int, state: str, actor: str, why: str, now: datetime) -> None:
    """A reopened or answered complaint's survey not yet sent is not sent; `state` is the state after the change."""
    from notifications.customer import withdraw_customer_messages

    withdraw_customer_messages(session, complaint_id, state, actor, why, now, kind=SURVEY)


def send(app: Redress, session: Session, complaint: Row, now: datetime) -> None:
    """A survey timer armed by an earlier version fired: ask the customer, note it on the timeline."""
    from notifications.customer import queue_customer_message
    from workflow.services.records import change_complaint

    queued = queue_customer_message(app, session, SURVEY, complaint.id, now)
    change_complaint(session, complaint, now, "scheduler", "survey_sent",
                     "satisfaction survey sent" if queued else "no email or phone to send the survey to")


@dataclass(frozen=True)
class SurveyOutcome:
    complaint: str
    score: int
    low: bool
    follow_up: str  # "", "reopened", "follow_up_call planned" or "reopened, follow_up_call planned"


def record(app: Redress, actor: str | None, ref: str, score: int, comment: str | None = None) -> SurveyOutcome:
    """Store the customer's 1-5 score; a low score reopens the complaint or plans a follow-up call, by policy.

    A follow-up call is work with a deadline, and work lives on an open complaint: a closed complaint is
    reopened for it, so no closed complaint keeps an open step.
    """
    from workflow.services import compensation
    from workflow.services.lifecycle import _record
    from workflow.services.records import change_complaint, load_complaint, optional_text

    if not 1 <= score <= 5:
        raise InvalidInput(f"score {score} is not allowed; scores are 1 to 5")
    comment = optional_text(comment, "comment", app.config.limits.note)
    policy = app.config.compensation.survey
    with app.uow() as uow:
        session = uow.session
        user = acting_user(session, actor)
        require(user, "record_survey")
        complaint = load_complaint(session, ref)
        if session.execute(select(SURVEYS.c.id).where(SURVEYS.c.complaint_id == complaint.id)).first():
            raise InvalidInput(f"{complaint.number} already has a survey answer; one answer per complaint")
        if complaint.state not in (RESOLVED, CLOSED):
            raise InvalidTransition(
                f"{complaint.number} is {complaint.state}; a survey answer is taken once it is resolved or closed"
            )
        now = app.clock.now()
        session.execute(insert(SURVEYS), {
            "complaint_id": complaint.id, "score": score, "comment": (comment or "").strip(),
            "agent_id": complaint.assignee_id, "category": complaint.category, "recorded_by_id": user.id,
            "recorded_at": now,
        })
        change_complaint(session, complaint, now, user.name, "survey_answered", (comment or "").strip(),
                         {"score": score})
        withdraw(session, complaint.id, complaint.state, user.name, "the customer has answered", now)
        low = score <= policy.low_score
        follow_up = ""
        reason = f"low satisfaction score {score}"
        if low and (policy.on_low_score == "reopen" or complaint.state == CLOSED):
            _record(app, session, load_complaint(session, complaint.id), user, "reopen", note=reason, closed_at=None)
            follow_up = "reopened"
        if low and policy.on_low_score == "follow_up_call":
            compensation.create_step(app, session, load_complaint(session, complaint.id), user, "follow_up_call",
                                     None, source="policy", reason=reason, now=now)
            follow_up = "reopened, follow_up_call planned" if follow_up else "follow_up_call planned"
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
