"""The satisfaction follow-up: a survey queued at closing, the answer taken on a call-back, and its policy.

The survey is a customer message (workflow/services/survey_messages.py) that waits in the outbox until
`survey.after_close` of business time has passed, so a closed complaint keeps no timer of its own; reopening
or answering first withdraws it. Answers are kept with the complaint's agent and category so scores can be
reported per complaint, agent and category.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select

from states.definition import CLOSED, RESOLVED, Trigger
from workflow.adapters.models import SURVEYS, USERS
from workflow.adapters.records import change_complaint, load_complaint, optional_text
from workflow.bootstrap import Redress
from workflow.domain.errors import InvalidInput, InvalidTransition
from workflow.domain.permissions import require
from workflow.services import compensation
from workflow.services.people import acting_user
from workflow.services.survey_messages import withdraw
from workflow.services.transition import apply_transition


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
            apply_transition(app, session, load_complaint(session, complaint.id), user, Trigger.REOPEN, note=reason,
                             closed_at=None)
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
