"""Staff alerts through real channels (an SMTP server and an HTTP server on localhost), and supervisor review."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notifications.sender import DeliveryReport, deliver_due
from tests.conftest import file_one
from tests.servers import Hook
from workflow.adapters.models import USERS
from workflow.config import AlertsConfig, EmailChannel, OutboxConfig, WebhookChannel
from workflow.domain.errors import InvalidInput, PermissionDenied
from workflow.read.outbox import list_messages
from workflow.read.queries import complaint_detail, history
from workflow.services import lifecycle as svc
from workflow.services.firing import fire_due
from workflow.services.outbox import retry_message
from workflow.services.supervision import acknowledge, escalation_board, extend_deadline, lower_escalation

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def use_channels(app, *channels, max_attempts: int = 5) -> None:
    """Staff alerts through `channels`; customer messages switched off so only alerts are delivered."""
    app.config = app.config.model_copy(update={
        "alerts": AlertsConfig(channels=list(channels)),
        "outbox": OutboxConfig(max_attempts=max_attempts, backoff_seconds=2),
        "messages": app.config.messages.model_copy(update={"email": None, "sms": None}),
    })


def give_email(app, name: str, email: str) -> None:
    with app.uow() as uow:
        uow.session.execute(USERS.update().where(USERS.c.name == name).values(email=email))
        uow.commit()


def breach(app) -> str:
    """A critical complaint whose first response is breached: the supervisors are alerted."""
    number = file_one(app, severity="critical")
    app.clock.pin(T0 + timedelta(minutes=15))
    fire_due(app)
    return number


def test_a_breach_alert_arrives_once_by_email(app, smtp):
    inbox, port = smtp
    use_channels(app, EmailChannel(type="email", host="127.0.0.1", port=port, sender="redress@example.cn"))
    give_email(app, "sup", "sup@example.cn")
    number = breach(app)
    assert deliver_due(app).sent == 1
    assert deliver_due(app).sent == 0
    assert len(inbox.received) == 1
    recipients, mail = inbox.received[0]
    assert recipients == ["sup@example.cn"]
    assert mail["Subject"] == f"[Redress] {number} first response deadline breached, escalated to supervisor"
    assert number in mail.get_body(("plain",)).get_content()
    assert number in mail.get_body(("html",)).get_content()


def test_a_server_that_refuses_the_first_attempts_gets_the_message_on_a_retry(app, smtp):
    inbox, port = smtp
    inbox.refusals = 2
    use_channels(app, EmailChannel(type="email", host="127.0.0.1", port=port))
    give_email(app, "sup", "sup@example.cn")
    breach(app)
    assert deliver_due(app).retried == 1
    assert deliver_due(app).sent == 0  # backing off: not due again yet
    app.clock.pin(app.clock.now() + timedelta(seconds=2))
    assert deliver_due(app).retried == 1
    app.clock.pin(app.clock.now() + timedelta(seconds=4))
    assert deliver_due(app).sent == 1
    assert len(inbox.received) == 1
    [message] = list_messages(app, status="sent")
    assert message["attempts"] == 3


def test_webhook_alerts_are_posted_as_json_and_retried(app, webhook):
    use_channels(app, WebhookChannel(type="webhook", url=webhook))
    Hook.failures = 1  # the first POST (the warning's) gets a 503
    number = breach(app)
    assert deliver_due(app) == DeliveryReport(sent=1, retried=1, failed=0)
    app.clock.pin(app.clock.now() + timedelta(seconds=2))
    assert deliver_due(app) == DeliveryReport(sent=1, retried=0, failed=0)
    assert sorted(body["kind"] for _, body in Hook.posts) == ["sla_breach", "sla_warning"]
    for key, body in Hook.posts:
        assert number in body["subject"] and body["idempotency_key"] == key


def test_a_failing_channel_never_blocks_the_escalation_and_is_visible(app):
    use_channels(app, WebhookChannel(type="webhook", url="http://127.0.0.1:9/unreachable"), max_attempts=2)
    number = breach(app)
    assert complaint_detail(app, number)["escalation_level"] == 2
    deliver_due(app)
    app.clock.pin(app.clock.now() + timedelta(seconds=5))
    assert deliver_due(app).failed == 2  # the warning's and the breach's alerts
    [failed] = [m for m in list_messages(app, status="failed") if m["kind"] == "sla_breach"]
    assert failed["attempts"] == 2 and failed["last_error"]
    with pytest.raises(PermissionDenied):
        retry_message(app, "amy", failed["id"])
    retry_message(app, "sup", failed["id"])
    assert list_messages(app, status="pending")[0]["id"] == failed["id"]


def test_the_board_lists_escalations_by_level_and_time_past_the_deadline(app):
    first = breach(app)
    app.clock.pin(T0 + timedelta(minutes=20))
    second = file_one(app, severity="critical", phone="13900000009", name="B")
    app.clock.pin(T0 + timedelta(minutes=50))
    fire_due(app)  # first climbs to manager at 45m; second breaches at 35m
    board = escalation_board(app, "sup")
    assert [(row["number"], row["level"]) for row in board] == [(first, "manager"), (second, "supervisor")]
    assert board[0]["minutes_past_deadline"] == 35 and board[1]["minutes_past_deadline"] == 15
    assert [row["number"] for row in escalation_board(app, "sup", level="supervisor")] == [second]
    assert [row["number"] for row in escalation_board(app, "sup", limit=1)] == [first]
    with pytest.raises(InvalidInput, match="limit 0 is not allowed; give 1 to 10000"):
        escalation_board(app, "sup", limit=0)


def test_supervisors_review_escalations_with_a_reason_and_agents_cannot(app):
    number = breach(app)
    svc.triage(app, "amy", number)
    for action in (lambda who: acknowledge(app, who, number, "on it"),
                   lambda who: extend_deadline(app, who, number, "2h", "waiting on the courier"),
                   lambda who: lower_escalation(app, who, number, "senior", "handled")):
        with pytest.raises(PermissionDenied, match="needs supervisor or above"):
            action("amy")
    with pytest.raises(InvalidInput, match="reason is required"):
        acknowledge(app, "sup", number, "")

    acknowledge(app, "sup", number, "calling the customer now")
    assert escalation_board(app, "sup")[0]["acknowledged"] is True

    before = {d["kind"]: d["due_at"] for d in complaint_detail(app, number)["sla"]["deadlines"] if d["pending"]}
    extend_deadline(app, "sup", number, "2h", "waiting on the courier")
    after = {d["kind"]: d["due_at"] for d in complaint_detail(app, number)["sla"]["deadlines"] if d["pending"]}
    for kind in ("resolution", "escalation"):
        moved = datetime.fromisoformat(after[kind]) - datetime.fromisoformat(before[kind])
        assert moved == timedelta(hours=2), kind

    lower_escalation(app, "sup", number, "senior", "the customer accepted the plan")
    assert complaint_detail(app, number)["escalation_level"] == 1
    svc.assign(app, "sup", number, "bob", note="bob knows this courier")
    trail = history(app, number)["events"]
    assert [e["trigger"] for e in trail][-4:] == ["acknowledge_escalation", "extend_deadline",
                                                  "lower_escalation", "assign"]
    assert all(e["actor"] == "sup" for e in trail[-4:])
    assert complaint_detail(app, number)["assignee"] == "bob"
