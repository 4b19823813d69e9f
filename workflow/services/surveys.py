"""The satisfaction follow-up: a survey queued at closing, the answer (by call, link or reply), and its policy.

The survey is a customer message (workflow/services/survey_messages.py) that waits in the outbox until
`survey.after_close` of business time has passed, so a closed complaint keeps no timer of its own; reopening
or answering first withdraws it. Answers are kept with the complaint's agent and category so scores can be
reported per complaint, agent and category.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, func, insert, select, update
from sqlmodel import Session

from states.definition import CLOSED, RESOLVED, Trigger
from workflow.adapters.models import CUSTOMERS, SURVEYS, USERS
from workflow.adapters.records import (
    ComplaintSnapshot,
    change_complaint,
    load_complaint,
    optional_text,
    required_text,
)
from workflow.bootstrap import Redress
from workflow.domain.errors import InvalidInput, InvalidTransition, NotFound
from workflow.domain.permissions import require
from workflow.services import compensation
from workflow.services.people import acting_user, system_user
from workflow.services.survey_links import LinkClaim, LinkRefused, claim_of
from workflow.services.survey_messages import withdraw
from workflow.services.transition import apply_transition


@dataclass(frozen=True)
class SurveyOutcome:
    complaint: str
    score: int
    low: bool
    follow_up: str  # "", "reopened", "follow_up_call planned" or "reopened, follow_up_call planned"


def record(app: Redress, actor: str | None, ref: str, score: int, comment: str | None = None) -> SurveyOutcome:
    """Store the score an agent took on a call; a low score reopens the complaint or plans a follow-up call."""
    with app.uow() as uow:
        session = uow.session
        user = acting_user(session, actor)
        require(user, "record_survey")
        outcome = record_answer(app, session, load_complaint(session, ref), user, score, comment or "", via="call")
        uow.commit()
        return outcome


# How the note of the answer's event says it came (an answer taken on a call carries only its comment).
_CAME = {"call": "", "link": "answered on the survey page", "email": "answered by email reply",
         "sms": "answered by SMS reply"}


def record_answer(app: Redress, session: Session, complaint: ComplaintSnapshot, actor: Row, score: int,
                  comment: str, *, via: str) -> SurveyOutcome:
    """Every survey answer, however it came: one per complaint, once resolved or closed; a low score acts by policy.

    A follow-up call is work with a deadline, and work lives on an open complaint: a closed complaint is
    reopened for it, so no closed complaint keeps an open step. Runs in the caller's transaction.
    """
    if not 1 <= score <= 5:
        raise InvalidInput(f"score {score} is not allowed; scores are 1 to 5")
    if via not in _CAME:
        raise InvalidInput(f"'{via}' is not a way a survey answer comes; ways: {', '.join(_CAME)}")
    comment = optional_text(comment, "comment", app.config.limits.note)
    policy = app.config.compensation.survey
    why, _ = why_not_answerable(session, complaint)
    if why == "answered":
        raise InvalidInput(f"{complaint.number} already has a survey answer; one answer per complaint")
    if why == "reopened":
        raise InvalidTransition(
            f"{complaint.number} is {complaint.state}; a survey answer is taken once it is resolved or closed"
        )
    now = app.clock.now()
    note = "; ".join(part for part in (_CAME[via], comment) if part)
    # The version-checked change first: of two answers at the same moment (a double click, a call and a link),
    # the second waits for the complaint's row and is refused as a concurrent change, never a duplicate row.
    change_complaint(session, complaint, now, actor.name, "survey_answered", note, {"score": score, "via": via})
    session.execute(insert(SURVEYS), {
        "complaint_id": complaint.id, "score": score, "comment": comment, "agent_id": complaint.assignee_id,
        "category": complaint.category, "recorded_by_id": actor.id, "recorded_at": now, "via": via,
    })
    withdraw(session, complaint.id, complaint.state, actor.name, "the customer has answered", now)
    low = score <= policy.low_score
    follow_up = ""
    reason = f"low satisfaction score {score}"
    if low and (policy.on_low_score == "reopen" or complaint.state == CLOSED):
        apply_transition(app, session, load_complaint(session, complaint.id), actor, Trigger.REOPEN, note=reason,
                         closed_at=None)
        follow_up = "reopened"
    if low and policy.on_low_score == "follow_up_call":
        compensation.create_step(app, session, load_complaint(session, complaint.id), actor, "follow_up_call",
                                 None, source="policy", reason=reason, now=now)
        follow_up = "reopened, follow_up_call planned" if follow_up else "follow_up_call planned"
    return SurveyOutcome(complaint.number, score, low, follow_up)


def why_not_answerable(session: Session, complaint: ComplaintSnapshot) -> tuple[str, Row | None]:
    """Why the complaint takes no survey answer now, with the answer it has: "answered" (one answer per
    complaint), "reopened" (answers are taken once it is resolved or closed), or "" when it takes one."""
    given = session.execute(select(SURVEYS.c.id, SURVEYS.c.score, SURVEYS.c.comment)
                            .where(SURVEYS.c.complaint_id == complaint.id)).first()
    if given is not None:
        return "answered", given
    return ("" if complaint.state in (RESOLVED, CLOSED) else "reopened"), None


# The system user that answers links (and, by `mail.actor`, takes mail), named the first time it acts.
SYSTEM_NAME = "Customer replies (mail and survey links)"


@dataclass(frozen=True)
class LinkAnswer:
    """What the survey page shows: the score kept, in the customer's language (a template locale)."""

    language: str
    score: int
    low: bool = False
    comment: str = ""


def answer_by_link(app: Redress, token: str) -> LinkAnswer:
    """The customer clicked a score in the survey email: record it as the system user (`mail.actor`).

    The answer itself makes the link single use: any second click, of any score, is refused as answered.
    """
    claim = claim_of(app, token)
    with app.uow() as uow:
        session = uow.session
        complaint, language = _linked(app, session, claim)
        why, given = why_not_answerable(session, complaint)
        if why:
            raise LinkRefused(why, language, given.score if given else None)
        actor = system_user(app, session, app.config.mail.actor, SYSTEM_NAME)
        outcome = record_answer(app, session, complaint, actor, claim.score, "", via="link")
        uow.commit()
    return LinkAnswer(language, outcome.score, outcome.low)


def comment_by_link(app: Redress, token: str, comment: str | None) -> LinkAnswer:
    """The optional comment under a score given by link: once, on the timeline and in the answer."""
    claim = claim_of(app, token)
    with app.uow() as uow:
        session = uow.session
        complaint, language = _linked(app, session, claim)
        _, given = why_not_answerable(session, complaint)
        if given is None:
            raise LinkRefused("unanswered", language)
        if given.comment:
            raise LinkRefused("commented", language, given.score)
        try:
            text = required_text(comment, "comment", "what the customer wants to tell us", app.config.limits.note)
        except InvalidInput:
            raise LinkRefused("comment", language, given.score) from None
        actor = system_user(app, session, app.config.mail.actor, SYSTEM_NAME)
        now = app.clock.now()
        session.execute(update(SURVEYS).where(SURVEYS.c.id == given.id, SURVEYS.c.comment == "")
                        .values(comment=text))
        change_complaint(session, complaint, now, actor.name, "survey_commented",
                         f"comment on the survey page: {text}", {"via": "link"})
        uow.commit()
    return LinkAnswer(language, given.score, comment=text)


def _linked(app: Redress, session: Session, claim: LinkClaim) -> tuple[ComplaintSnapshot, str]:
    """The complaint a genuine link names and its customer's page language; refused when gone or expired."""
    try:
        complaint = load_complaint(session, claim.complaint_id)
    except NotFound:
        raise LinkRefused("unknown") from None
    language = session.execute(select(CUSTOMERS.c.language).where(CUSTOMERS.c.id == complaint.customer_id)).scalar()
    locale = app.renderer.locale_for(language)
    if claim.expires_at <= app.clock.now():
        raise LinkRefused("expired", locale)
    return complaint, locale


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
