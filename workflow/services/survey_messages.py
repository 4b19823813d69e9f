"""The satisfaction survey as a customer message: queued at closing (with its one-click score links when a
signing secret is set), withdrawn by reopening or an answer.

Apart from the survey use cases (workflow/services/surveys.py) because closing a complaint queues it: the
effects of a transition import this module, and the use cases import the transition step.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from states.definition import CLOSED
from workflow.adapters.models import MESSAGES, SURVEYS
from workflow.adapters.records import ComplaintSnapshot, append_event, change_complaint
from workflow.bootstrap import Redress
from workflow.domain.sla import add_business_time
from workflow.services import clocks
from workflow.services.survey_links import links_for

SURVEY = "survey"


def arm(app: Redress, session: Session, complaint: ComplaintSnapshot, actor: str, now: datetime) -> None:
    """Queue the survey to go out `survey.after_close` of business time after closing.

    Once per complaint, and never to a customer who has already answered (on a call before closing).
    `complaint` is the row as read before closing; the event carries the closed state.
    """
    from notifications.customer import queue_customer_message  # deferred: templates load only to queue

    asked = session.execute(
        select(MESSAGES.c.id).where(MESSAGES.c.complaint_id == complaint.id, MESSAGES.c.kind == SURVEY,
                                    MESSAGES.c.status != "withdrawn").limit(1)
    ).first()
    answered = session.execute(select(SURVEYS.c.id).where(SURVEYS.c.complaint_id == complaint.id)).first()
    if asked is not None or answered is not None:
        return
    clock_plan = clocks.plan(app, session, complaint.severity, complaint.customer_id)
    minutes = app.config.compensation.survey.after_close
    due = add_business_time(now, minutes, app.calendar(clock_plan.calendar))
    queued = queue_customer_message(app, session, SURVEY, complaint.id, now, send_at=due,
                                    extra=survey_values(app, complaint.id, now))
    note = "satisfaction survey queued to go out" if queued else "no email or phone to send the survey to"
    append_event(session, complaint.id, now, actor, "survey_queued", CLOSED, CLOSED, note,
                 {"send_at": due.isoformat()} if queued else None)


def survey_values(app: Redress, complaint_id: int, now: datetime) -> dict[str, Any]:
    """The survey template's own values: `links`, score -> one-click address (valid from `now`), or None when
    links are not configured and the customer is asked to reply instead."""
    return {"links": links_for(app, complaint_id, now)}


def withdraw(session: Session, complaint_id: int, state: str, actor: str, why: str, now: datetime) -> None:
    """A reopened or answered complaint's survey not yet sent is not sent; `state` is the state after the change."""
    from notifications.customer import withdraw_customer_messages  # deferred: templates load only to queue

    withdraw_customer_messages(session, complaint_id, state, actor, why, now, kind=SURVEY)


def send(app: Redress, session: Session, complaint: ComplaintSnapshot, now: datetime) -> None:
    """A survey timer armed by an earlier version fired: ask the customer, note it on the timeline."""
    from notifications.customer import queue_customer_message  # deferred: templates load only to queue

    queued = queue_customer_message(app, session, SURVEY, complaint.id, now,
                                    extra=survey_values(app, complaint.id, now))
    change_complaint(session, complaint, now, "scheduler", "survey_sent",
                     "satisfaction survey sent" if queued else "no email or phone to send the survey to")
