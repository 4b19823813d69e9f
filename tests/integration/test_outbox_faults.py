"""The sender against hostile receivers and crashes: no message lost, none sent twice beyond what the README
allows, no pass dies of a reply, and `max_attempts` counts real attempts only."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

import notifications.channels as channels
import notifications.sender as sender
from notifications.sender import deliver_due, settle_interrupted
from tests.integration.test_outbox import customer_channels, file_for
from tests.servers import Hook
from workflow.adapters.models import ATTEMPTS, MESSAGES
from workflow.config import EmailChannel, FolderChannel, WebhookChannel
from workflow.read.outbox import list_messages, show_message


def file_many(app, count: int) -> None:
    for n in range(count):
        file_for(app, phone=f"1380013{n:04d}", email=f"c{n}@example.com", name=f"Customer {n}")


def outbox(app) -> dict[str, tuple[str, list[str]]]:
    """Each message by the Message-ID its email carries: (status, outcomes of its attempts in order)."""
    with app.uow(write=False) as uow:
        messages = uow.session.execute(select(MESSAGES.c.id, MESSAGES.c.idempotency_key, MESSAGES.c.status)).all()
        attempts = uow.session.execute(
            select(ATTEMPTS.c.message_id, ATTEMPTS.c.outcome).order_by(ATTEMPTS.c.message_id, ATTEMPTS.c.number)
        ).all()
    outcomes: dict[int, list[str]] = {}
    for message_id, outcome in attempts:
        outcomes.setdefault(message_id, []).append(outcome)
    return {f"<{m.idempotency_key}@redress>": (m.status, outcomes.get(m.id, [])) for m in messages}


def later(app, seconds: float) -> None:
    app.clock.pin(app.clock.now() + timedelta(seconds=seconds))


def email_to(port: int, **settings) -> EmailChannel:
    return EmailChannel(type="email", host="127.0.0.1", port=port, **settings)


def test_a_server_refusing_at_random_keeps_each_email_once_and_each_refusal_is_one_real_attempt(sqlite_app, smtp):
    app, (inbox, port) = sqlite_app, smtp
    inbox.refuse_chance = 0.5
    customer_channels(app, email=email_to(port), max_attempts=3, backoff_seconds=1)
    file_many(app, 30)
    for _ in range(6):
        deliver_due(app)
        later(app, 10)
    state, kept = outbox(app), inbox.kept()
    assert {status for status, _ in state.values()} == {"sent", "failed"}
    for key, (status, outcomes) in state.items():
        assert len(outcomes) == inbox.seen[key]  # every attempt reached the server; no claim without a try
        assert kept[key] == (status == "sent")
        assert outcomes == ["failed"] * (len(outcomes) - 1) + ["sent" if status == "sent" else "failed"]
        assert len(outcomes) == 3 if status == "failed" else len(outcomes) <= 3
    assert 0 < sum(status == "failed" for status, _ in state.values()) < 30


def test_a_connection_dropped_while_the_content_is_still_being_written_is_retried_and_arrives_once(
        sqlite_app, smtp_dropping_mid_data):
    app, server = sqlite_app, smtp_dropping_mid_data
    customer_channels(app, email=email_to(server.port))
    file_for(app)
    # Larger than the client's largest send buffer: the server resets while the client is still writing.
    with app.uow() as uow:
        uow.session.execute(update(MESSAGES).values(body="a long complaint history\n" * 250_000))
        uow.commit()
    report = deliver_due(app)
    assert (report.retried, report.uncertain) == (1, 0)
    later(app, 2)
    assert deliver_due(app).sent == 1
    assert len(server.received) == 1 and server.server.connections == 2
    [(status, outcomes)] = outbox(app).values()
    assert (status, outcomes) == ("sent", ["failed", "sent"])


def test_a_server_that_keeps_the_email_then_cuts_the_connection_leaves_it_uncertain_for_good(app, smtp):
    inbox, port = smtp
    inbox.cut_after_store = 1
    customer_channels(app, email=email_to(port))
    file_many(app, 3)
    report = deliver_due(app)
    assert (report.sent, report.uncertain, report.retried) == (2, 1, 0)  # the pass goes on after the cut
    for _ in range(3):
        later(app, 3600)
        assert deliver_due(app) == sender.DeliveryReport(0, 0, 0)
    assert set(inbox.kept().values()) == {1} and len(inbox.kept()) == 3
    [uncertain] = list_messages(app, status="uncertain")
    assert [a["outcome"] for a in show_message(app, uncertain["id"])["attempt_log"]] == ["uncertain"]
    assert "SMTPServerDisconnected" in uncertain["last_error"] and "Check, then retry" in uncertain["last_error"]


def test_a_250_that_comes_after_the_clients_timeout_leaves_the_email_uncertain_and_it_is_not_sent_again(
        sqlite_app, smtp):
    app, (inbox, port) = sqlite_app, smtp
    # Only the final reply is late; the client's timeout leaves room for a busy machine's slow EHLO, MAIL, RCPT.
    inbox.delay_seconds = 2.5
    customer_channels(app, email=email_to(port, timeout_seconds=1.0))
    file_for(app)
    assert deliver_due(app).uncertain == 1
    inbox.delay_seconds = 0
    later(app, 3600)
    assert deliver_due(app).sent == 0
    assert list(inbox.kept().values()) == [1]
    [(status, outcomes)] = outbox(app).values()
    assert (status, outcomes) == ("uncertain", ["uncertain"])


def test_a_refusal_after_the_content_is_a_definite_no_and_is_retried(sqlite_app, smtp):
    app, (inbox, port) = sqlite_app, smtp
    inbox.refusals = 1
    customer_channels(app, email=email_to(port))
    file_for(app)
    assert deliver_due(app).retried == 1
    later(app, 2)
    assert deliver_due(app).sent == 1
    [(status, outcomes)] = outbox(app).values()
    assert (status, outcomes) == ("sent", ["failed", "sent"]) and list(inbox.seen.values()) == [2]


def test_a_webhook_answering_500_is_retried_and_fails_after_max_attempts_real_attempts(sqlite_app, webhook):
    app = sqlite_app
    Hook.failures, Hook.failure_status = 10, 500
    customer_channels(app, sms=WebhookChannel(type="webhook", url=webhook), max_attempts=3)
    file_for(app, email=None)
    reports = []
    for _ in range(5):
        reports.append(deliver_due(app))
        later(app, 60)
    assert [(r.retried, r.failed) for r in reports] == [(1, 0), (1, 0), (0, 1), (0, 0), (0, 0)]
    assert Hook.failures == 7 and Hook.posts == []  # three POSTs, one per attempt
    [failed] = list_messages(app, status="failed")
    assert failed["attempts"] == 3 and "500" in failed["last_error"]


def test_a_webhook_answering_after_the_timeout_gets_the_message_again_with_the_same_idempotency_key(
        sqlite_app, webhook):
    app = sqlite_app
    Hook.late_seconds = 0.6
    customer_channels(app, sms=WebhookChannel(type="webhook", url=webhook, timeout_seconds=0.2))
    file_for(app, email=None)
    first = deliver_due(app)
    assert first.retried == 1
    Hook.late_seconds = 0
    later(app, 2)
    assert deliver_due(app).sent == 1
    [(first_key, _), (second_key, _)] = Hook.posts  # at least once: the gateway saw it twice, with one key
    assert first_key == second_key
    [(status, outcomes)] = outbox(app).values()
    assert (status, outcomes) == ("sent", ["failed", "sent"])


def test_a_malformed_http_status_line_is_one_failed_attempt_and_the_pass_goes_on(sqlite_app, garbled_http):
    app, gateway = sqlite_app, garbled_http
    customer_channels(app, sms=WebhookChannel(type="webhook", url=gateway.url))
    file_for(app, email=None, phone="13800000001")
    file_for(app, email=None, phone="13800000002")
    assert deliver_due(app).retried == 2  # both garbled answers; neither ends the pass
    later(app, 2)
    assert deliver_due(app).sent == 2
    assert len(gateway.keys) == 2
    for message in list_messages(app):
        log = show_message(app, message["id"])["attempt_log"]
        assert [a["outcome"] for a in log] == ["failed", "sent"] and "BadStatusLine" in log[0]["error"]


@pytest.mark.parametrize("where", [channels.FolderKind, channels.Deliverer])
def test_any_exception_from_a_channel_is_one_failed_attempt(sqlite_app, monkeypatch, tmp_path, where):
    app = sqlite_app
    customer_channels(app, email=FolderChannel(type="folder", path=str(tmp_path)), max_attempts=1)
    file_for(app)
    file_for(app, phone="13800000002", email="b@example.com")
    monkeypatch.setattr(where, "send", lambda *_: 1 / 0)
    assert deliver_due(app).failed == 2
    assert [m["last_error"] for m in list_messages(app, status="failed")] == ["ZeroDivisionError: division by zero"] * 2


def test_a_crash_mid_drain_leaves_only_the_message_in_flight_in_doubt(app, smtp, monkeypatch):
    inbox, port = smtp
    customer_channels(app, email=email_to(port), lease_seconds=30)
    file_many(app, 5)
    real_send, sends = channels.Deliverer.send, []

    def dies_on_the_third(self, channel, message):
        sends.append(message.id)
        if len(sends) == 3:
            real_send(self, channel, message)
            raise KeyboardInterrupt  # killed after the server has the third, before the record
        real_send(self, channel, message)

    monkeypatch.setattr(channels.Deliverer, "send", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        deliver_due(app)
    monkeypatch.undo()
    statuses = [status for status, _ in outbox(app).values()]
    assert sorted(statuses) == ["pending", "pending", "sending", "sent", "sent"]
    assert deliver_due(app).sent == 2  # the rest go at once; the one in flight waits for its lease
    later(app, 31)
    assert deliver_due(app).uncertain == 1
    assert set(inbox.kept().values()) == {1} and len(inbox.kept()) == 5
    with app.uow(write=False) as uow:
        senders = set(uow.session.execute(select(ATTEMPTS.c.sender)).scalars())
    assert len(senders) == 1 and senders.pop().endswith(f":{__import__('os').getpid()}")


@pytest.mark.parametrize("max_attempts, after", [(1, "failed"), (2, "sent")])
def test_an_interrupted_message_that_resends_safely_is_requeued_only_within_max_attempts(
        sqlite_app, tmp_path, monkeypatch, max_attempts, after):
    app = sqlite_app
    customer_channels(app, email=FolderChannel(type="folder", path=str(tmp_path)), max_attempts=max_attempts)
    file_for(app)
    monkeypatch.setattr(sender, "_record", lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        deliver_due(app)
    monkeypatch.undo()
    later(app, 61)
    report = deliver_due(app)
    assert (report.failed, report.requeued, report.sent) == ((1, 0, 0) if after == "failed" else (0, 1, 1))
    [(status, outcomes)] = outbox(app).values()
    assert (status, outcomes) == (after, ["uncertain"] if after == "failed" else ["uncertain", "sent"])


def test_a_live_sender_renews_its_lease_so_another_never_judges_its_slow_send_interrupted(sqlite_app, smtp):
    app, (inbox, port) = sqlite_app, smtp
    inbox.delay_seconds = 1.0
    customer_channels(app, email=email_to(port), lease_seconds=0.3)
    file_for(app)
    started = app.clock.now()
    slow = threading.Thread(target=deliver_due, args=(app,))
    slow.start()
    deadline = time.monotonic() + 5
    while not inbox.received and time.monotonic() < deadline:
        time.sleep(0.01)
    later(app, 10)  # far past the lease the claim was given
    while _lease(app) <= app.clock.now() and time.monotonic() < deadline:
        time.sleep(0.01)  # the renewer, every 0.1 s, moves it past the new now
    assert _lease(app) > app.clock.now() > started
    assert settle_interrupted(app) == 0  # another sender finds nothing to settle
    slow.join(timeout=5)
    assert [status for status, _ in outbox(app).values()] == ["sent"]


def _lease(app):
    from datetime import UTC

    with app.uow(write=False) as uow:
        lease = uow.session.execute(select(MESSAGES.c.lease_until)).scalar_one()
    return lease.replace(tzinfo=UTC) if lease and lease.tzinfo is None else lease


def test_a_sender_judged_stopped_that_then_hears_250_records_the_email_sent(app, smtp, monkeypatch):
    """Frozen past its lease (a suspended machine), its email was marked uncertain by another sender; the late
    `250` is definite news, so the email reads `sent` and nobody is invited to send it twice."""
    inbox, port = smtp
    customer_channels(app, email=email_to(port), lease_seconds=30)
    file_for(app)
    real_send = channels.Deliverer.send
    verdicts = []

    def frozen_then_delivered(self, channel, message):
        later(app, 31)  # the lease ran out while this sender was frozen
        verdicts.append(settle_interrupted(app))  # another sender's verdict
        real_send(self, channel, message)

    monkeypatch.setattr(channels.Deliverer, "send", frozen_then_delivered)
    assert deliver_due(app).sent == 1
    assert verdicts == [1]
    [(status, outcomes)] = outbox(app).values()
    assert (status, outcomes) == ("sent", ["sent"]) and len(inbox.kept()) == 1
