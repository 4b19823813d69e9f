"""Every alert reaches a person or shows that it did not: empty levels fall through upwards, then to a fallback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from notifications.sender import deliver_due
from tests.conftest import file_one
from workflow.adapters.models import COMPLAINTS, USERS
from workflow.config import AlertsConfig, EmailChannel, LogChannel
from workflow.read.outbox import list_messages
from workflow.read.queries import history
from workflow.services.firing import fire_due
from workflow.services.handover import deactivate_user
from workflow.services.outbox import retry_message

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
NOBODY = "no staff at supervisor or above and no alerts.fallback_email"


def alerts_through(app, channel, fallback_email: str | None = None) -> None:
    """Staff alerts through `channel` only; customer messages off, so the outbox holds alerts alone."""
    app.config = app.config.model_copy(update={
        "alerts": AlertsConfig(channels=[channel], fallback_email=fallback_email),
        "messages": app.config.messages.model_copy(update={"email": None, "sms": None}),
    })


def staff(app, name: str, **values: str) -> None:
    with app.engine.begin() as connection:
        connection.execute(update(USERS).where(USERS.c.name == name).values(**values))


def breach_to_supervisor(app) -> str:
    """A critical complaint (it starts at senior) whose first response is breached: it climbs to supervisor."""
    number = file_one(app, severity="critical")
    app.clock.pin(T0 + timedelta(minutes=15))
    fire_due(app)
    return number


def last_breach(app, number: str) -> dict:
    return [e for e in history(app, number)["events"] if e["trigger"] == "sla_breach"][-1]


def test_an_alert_for_a_level_nobody_holds_reaches_the_next_level_up(app, smtp):
    inbox, port = smtp
    alerts_through(app, EmailChannel(type="email", host="127.0.0.1", port=port, sender="redress@example.cn"))
    staff(app, "sup", role="agent")  # nobody is a supervisor now
    staff(app, "boss", email="boss@example.cn")

    number = breach_to_supervisor(app)

    assert deliver_due(app).sent == 1
    assert [recipients for recipients, _ in inbox.received] == [["boss@example.cn"]]
    breach = last_breach(app, number)
    assert breach["data"]["to_level"] == "supervisor" and breach["data"]["alerted"] == ["boss"]


def test_a_leaver_gets_no_alerts_the_level_falls_through_to_those_still_here(app, smtp):
    inbox, port = smtp
    alerts_through(app, EmailChannel(type="email", host="127.0.0.1", port=port, sender="redress@example.cn"))
    staff(app, "boss", email="boss@example.cn")
    deactivate_user(app, "boss", "sup", reason="left the company")

    number = breach_to_supervisor(app)

    assert deliver_due(app).sent == 1
    assert [recipients for recipients, _ in inbox.received] == [["boss@example.cn"]]
    assert last_breach(app, number)["data"]["alerted"] == ["boss"]


def test_an_alert_nobody_holds_goes_to_the_fallback_address(app, smtp):
    inbox, port = smtp
    alerts_through(app, EmailChannel(type="email", host="127.0.0.1", port=port, sender="redress@example.cn"),
                   fallback_email="duty@example.cn")
    staff(app, "sup", role="agent")
    staff(app, "boss", role="agent")

    number = breach_to_supervisor(app)

    assert deliver_due(app).sent == 1
    assert [recipients for recipients, _ in inbox.received] == [["duty@example.cn"]]
    assert last_breach(app, number)["data"]["alerted"] == ["duty@example.cn"]


def test_an_alert_that_reaches_nobody_is_failed_with_its_reason_and_a_retry_still_sends_nothing(app, capsys):
    alerts_through(app, LogChannel(type="log"))
    staff(app, "sup", role="agent")
    staff(app, "boss", role="agent")

    number = breach_to_supervisor(app)
    report = deliver_due(app)

    assert report.sent == 1  # the warning before it, to the senior agents where the complaint started
    assert capsys.readouterr().err.count("ALERT to") == 1
    [alert] = list_messages(app, status="failed", complaint=number)
    assert (alert["kind"], alert["recipient"], alert["last_error"]) == ("sla_breach", "", NOBODY)
    assert [m["kind"] for m in list_messages(app, status="sent")] == ["sla_warning"]
    breach = last_breach(app, number)
    assert breach["data"]["alerted"] == [] and breach["data"]["alert_failed"] == NOBODY

    staff(app, "amy", role="supervisor")  # someone who may retry it: the alert still names nobody
    app.config = app.config.model_copy(update={"outbox": app.config.outbox.model_copy(update={"max_attempts": 1})})
    retry_message(app, "amy", alert["id"])
    assert deliver_due(app).failed == 1 and "ALERT" not in capsys.readouterr().err
    assert list_messages(app, status="failed", complaint=number)[0]["last_error"] == "the message names no recipient"


def test_an_email_alert_to_staff_without_an_address_is_failed_not_dropped(app, smtp):
    inbox, port = smtp
    alerts_through(app, EmailChannel(type="email", host="127.0.0.1", port=port, sender="redress@example.cn"))

    number = breach_to_supervisor(app)  # sup has no email address

    assert deliver_due(app).sent == 0 and inbox.received == []
    warning, breach = sorted(list_messages(app, status="failed", complaint=number), key=lambda m: m["id"])
    assert warning["last_error"] == "nobody alerted has an email address (sen)"
    assert breach["last_error"] == "nobody alerted has an email address (sup)"


def test_a_deadline_that_cannot_fire_alerts_the_fallback_when_there_is_no_manager(app, capsys):
    alerts_through(app, LogChannel(type="log"), fallback_email="duty@example.cn")
    number = file_one(app, severity="critical")
    with app.engine.begin() as connection:  # a severity the config no longer knows: its deadline cannot fire
        connection.execute(update(COMPLAINTS).where(COMPLAINTS.c.number == number).values(severity="retired"))
    staff(app, "boss", role="supervisor")

    app.clock.pin(T0 + timedelta(minutes=15))
    fire_due(app)

    [alert] = [m for m in list_messages(app, complaint=number) if m["kind"] == "deadline_failed"]
    assert (alert["status"], alert["recipient"]) == ("pending", "duty@example.cn")
    deliver_due(app)
    assert "ALERT to duty@example.cn: [Redress] " + number + " first response deadline could not fire" in (
        capsys.readouterr().err)
