"""Quiet hours: staff alerts wait for their level's staff calendar and arrive as one digest; compensation steps
fall due in their own business calendar, not a critical complaint's 24x7 clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from notifications.sender import deliver_due
from tests.conftest import file_one
from workflow.adapters.models import MESSAGES
from workflow.services import lifecycle as svc
from workflow.services.compensation import list_steps
from workflow.services.firing import fire_due

SHANGHAI = timedelta(hours=8)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A November 2026 local time in Shanghai, as UTC (the 19th is a Thursday)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - SHANGHAI


def staff_messages(app) -> list:
    with app.uow(write=False) as uow:
        return uow.session.execute(
            select(MESSAGES.c.id, MESSAGES.c.kind, MESSAGES.c.recipient, MESSAGES.c.status, MESSAGES.c.subject,
                   MESSAGES.c.body, MESSAGES.c.next_attempt_at, MESSAGES.c.last_error)
            .where(MESSAGES.c.audience == "staff").order_by(MESSAGES.c.id)).all()


def at(app, moment: datetime) -> None:
    app.clock.pin(moment)
    fire_due(app)
    deliver_due(app)


def test_alerts_raised_at_night_arrive_in_the_nine_oclock_digest_and_the_on_call_manager_is_told_at_once(app):
    numbers = []
    for minute, phone in ((30, "13900000001"), (40, "13900000002")):
        app.clock.pin(local(19, 22, minute))
        numbers.append(file_one(app, severity="critical", phone=phone, name=f"客户{minute}"))
    at(app, local(19, 23))  # both first responses breached (22:45, 22:55): the supervisors' level
    breaches = [m for m in staff_messages(app) if m.kind == "sla_breach"]
    assert [(m.recipient, m.status) for m in breaches] == [("sup", "held"), ("sup", "held")]
    assert {m.next_attempt_at for m in breaches} == {local(20, 9)}  # Friday's opening
    at(app, local(19, 23, 30))  # a ladder step later: the manager, who is not in quiet hours
    climbs = [m for m in staff_messages(app) if m.kind == "escalate"]
    assert [(m.recipient, m.status) for m in climbs] == [("boss", "sent"), ("boss", "sent")]

    at(app, local(20, 8, 59))
    assert all(m.status == "held" for m in staff_messages(app) if m.recipient == "sup")
    at(app, local(20, 9))
    to_sup = [m for m in staff_messages(app) if m.recipient == "sup"]
    [digest] = [m for m in to_sup if m.kind == "staff_digest"]
    assert digest.status == "sent" and digest.subject == "[Redress] 2 alerts raised while you were off"
    assert all(number in digest.body for number in numbers)
    assert {m.status for m in to_sup if m.kind == "sla_breach"} == {"digested"}
    assert {m.last_error for m in to_sup if m.kind == "sla_breach"} == {f"sent in digest message {digest.id}"}
    digests = [(m.recipient, m.status) for m in staff_messages(app) if m.kind == "staff_digest"]
    assert digests == [("sen", "sent"), ("sup", "sent")]  # the seniors had the two warnings
    at(app, local(20, 9, 5))
    assert [(m.recipient, m.status) for m in staff_messages(app) if m.kind == "staff_digest"] == digests


def test_one_held_alert_goes_out_as_it_was_written(app):
    app.clock.pin(local(19, 22, 30))
    file_one(app, severity="critical")
    at(app, local(19, 22, 50))
    [breach] = [m for m in staff_messages(app) if m.kind == "sla_breach"]
    assert breach.status == "held"
    at(app, local(20, 9))
    assert [(m.kind, m.status) for m in staff_messages(app) if m.recipient == "sup"] == [("sla_breach", "sent")]


def test_a_critical_complaints_steps_fall_due_in_office_hours(app):
    app.clock.pin(local(19, 22, 0))
    number = file_one(app, severity="critical")
    for step in (svc.triage, svc.assign, svc.start):
        step(app, "amy", number)
    svc.resolve(app, "amy", number, "replaced the kettle")  # plans an apology letter and a follow-up call
    call = next(s for s in list_steps(app, number) if s["kind"] == "follow_up_call")
    # 9h of office time from Thursday 22:00: Friday 09:00-18:00, not Friday 07:00 on the 24x7 clock.
    assert call["due_at"] == local(20, 18).isoformat()


def test_an_assignees_warning_keeps_the_assignees_hours_whatever_the_complaints_level(app):
    app.clock.pin(local(19, 22, 0))
    number = file_one(app, severity="critical")
    for step in (svc.triage, svc.assign):
        step(app, "amy", number)
    at(app, local(19, 23, 0))  # first response breached at 22:15, the ladder at 22:45: the manager's level
    at(app, local(20, 0, 5))  # the resolution warning at midnight goes to amy, an agent, off until 09:00
    [warning] = [m for m in staff_messages(app) if m.kind == "sla_warning" and "resolution" in m.subject]
    assert (warning.recipient, warning.status, warning.next_attempt_at) == ("amy", "held", local(20, 9))
    assert number in warning.subject
    assert [m.status for m in staff_messages(app) if m.kind == "escalate"] == ["sent"]  # the manager, at once
