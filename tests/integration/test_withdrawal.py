"""A cancelled complaint's unsent customer messages are withdrawn, in the cancel's transaction and on its trail."""

from __future__ import annotations

from datetime import timedelta

import pytest

import notifications.channels as channels
from notifications.sender import deliver_due, settle_interrupted
from tests.conftest import file_one
from tests.integration.test_outbox import customer_channels
from workflow.config import EmailChannel, FolderChannel
from workflow.domain.errors import InvalidInput
from workflow.read.outbox import list_messages
from workflow.read.queries import history
from workflow.services.lifecycle import cancel
from workflow.services.outbox import retry_message


def _smtp_for_customers(app, port: int) -> None:
    email = EmailChannel(type="email", host="127.0.0.1", port=port, sender="care@shop.cn")
    app.config = app.config.model_copy(
        update={"messages": app.config.messages.model_copy(update={"email": email})}
    )


def test_cancelling_a_complaint_whose_acknowledgement_is_queued_sends_the_customer_nothing(app, smtp):
    inbox, port = smtp
    _smtp_for_customers(app, port)
    original = file_one(app, email="anna@example.com", language="en")
    duplicate = file_one(app, email="anna@example.com", language="en")

    cancel(app, "amy", duplicate, "duplicate", duplicate_of=original)
    report = deliver_due(app)

    assert report.sent == 1 and deliver_due(app).sent == 0
    assert [mail["Subject"] for _, mail in inbox.received] == [f"We have received your complaint {original}"]
    [withdrawn] = list_messages(app, status="withdrawn")
    assert withdrawn["kind"] == "acknowledgement" and withdrawn["attempts"] == 0
    assert list_messages(app, status="withdrawn", complaint=duplicate) == [withdrawn]
    assert withdrawn["last_error"] == "complaint cancelled (duplicate)"
    *_, cancelled, withdrawal = history(app, duplicate)["events"]
    assert (cancelled["trigger"], cancelled["to_state"]) == ("cancel", "cancelled")
    assert (withdrawal["trigger"], withdrawal["from_state"], withdrawal["to_state"]) == (
        "messages_withdrawn", "cancelled", "cancelled")
    assert withdrawal["data"] == {"messages": [withdrawn["id"]]} and "duplicate" in withdrawal["note"]
    with pytest.raises(InvalidInput, match="withdrawn; only failed or uncertain"):
        retry_message(app, "sup", withdrawn["id"])


def test_a_message_that_failed_is_withdrawn_too_so_a_later_retry_cannot_send_it(app, tmp_path):
    (tmp_path / "a-file").write_text("")
    app.config = app.config.model_copy(update={
        "messages": app.config.messages.model_copy(
            update={"sms": FolderChannel(type="folder", path=str(tmp_path / "a-file" / "sms"))}),
        "outbox": app.config.outbox.model_copy(update={"max_attempts": 1})})
    number = file_one(app)  # a phone-only customer: the acknowledgement goes by SMS, to a folder that cannot exist
    assert deliver_due(app).failed == 1
    assert [m["status"] for m in list_messages(app, complaint=number)] == ["failed"]

    cancel(app, "amy", number, "withdrawn")

    assert [m["status"] for m in list_messages(app, complaint=number)] == ["withdrawn"]
    assert list_messages(app, status="failed") == []


def test_an_acknowledgement_already_sent_stays_sent_and_nothing_is_withdrawn(app, smtp):
    inbox, port = smtp
    _smtp_for_customers(app, port)
    number = file_one(app, email="anna@example.com", language="en")
    assert deliver_due(app).sent == 1

    cancel(app, "amy", number, "withdrawn")

    assert [m["status"] for m in list_messages(app, complaint=number)] == ["sent"]
    assert [e["trigger"] for e in history(app, number)["events"]][-1] == "cancel"
    assert len(inbox.received) == 1


def test_a_withdrawn_message_that_a_frozen_sender_delivers_after_all_reads_sent(app, tmp_path, monkeypatch):
    """The sender froze past its lease, another requeued the SMS, the cancel withdrew it, then the frozen sender
    wrote it: the customer has it, so the outbox says `sent`, not `withdrawn`."""
    customer_channels(app, sms=FolderChannel(type="folder", path=str(tmp_path / "sms")), lease_seconds=30)
    number = file_one(app)
    real_send = channels.Deliverer.send

    def frozen_then_delivered(self, channel, message):
        app.clock.pin(app.clock.now() + timedelta(seconds=31))
        settle_interrupted(app)  # another sender's verdict: stopped, send again
        cancel(app, "amy", number, "withdrawn")
        assert [m["status"] for m in list_messages(app, complaint=number)] == ["withdrawn"]
        real_send(self, channel, message)

    monkeypatch.setattr(channels.Deliverer, "send", frozen_then_delivered)
    assert deliver_due(app).sent == 1
    assert [m["status"] for m in list_messages(app, complaint=number)] == ["sent"]
    assert len(list((tmp_path / "sms").iterdir())) == 1
