"""Retrying failed and uncertain messages in bulk: filters, the supervisor's right, and the audit trail."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.integration.test_outbox import customer_channels, file_for
from workflow.adapters.models import COMPLAINTS, EVENTS, MESSAGES
from workflow.config import FolderChannel
from workflow.domain.errors import InvalidInput, NotFound, PermissionDenied
from workflow.read.outbox import list_messages
from workflow.services.outbox import RetryFilter, retry_messages


@pytest.fixture
def outbox(app, tmp_path):
    """Four acknowledgements an hour apart, left failed, uncertain, failed and sent; returns their ids."""
    customer_channels(app, email=FolderChannel(type="folder", path=str(tmp_path)))
    start = app.clock.now()
    for n in range(4):
        app.clock.pin(start + timedelta(hours=n))
        file_for(app, phone=f"1380000000{n}", email=f"c{n}@example.com")
    with app.uow() as uow:
        ids = list(uow.session.execute(select(MESSAGES.c.id).order_by(MESSAGES.c.id)).scalars())
        for message_id, status in zip(ids, ["failed", "uncertain", "failed", "sent"], strict=True):
            uow.session.execute(update(MESSAGES).where(MESSAGES.c.id == message_id)
                                .values(status=status, attempts=5, last_error="it went wrong"))
        uow.commit()
    return ids


def retried_events(app) -> list[tuple[int, str, str, str, list[int]]]:
    with app.uow(write=False) as uow:
        rows = uow.session.execute(
            select(EVENTS, COMPLAINTS.c.state).join(COMPLAINTS, COMPLAINTS.c.id == EVENTS.c.complaint_id)
            .where(EVENTS.c.trigger == "message_retried").order_by(EVENTS.c.id)
        ).all()
    assert all(r.from_state == r.to_state == r.state for r in rows)
    return [(r.complaint_id, r.actor, r.note, r.state, json.loads(r.data)["messages"]) for r in rows]


def statuses(app) -> list[tuple[str, int]]:
    return [(m["status"], m["attempts"]) for m in reversed(list_messages(app))]


def test_retrying_by_status_queues_only_those_and_notes_it_on_each_complaint(app, outbox):
    report = retry_messages(app, "sup", RetryFilter(status="failed"))
    assert (report.queued, report.complaints, report.never_rendered) == (2, 2, 0)
    assert statuses(app) == [("pending", 0), ("uncertain", 5), ("pending", 0), ("sent", 5)]
    with app.uow(write=False) as uow:
        rows = uow.session.execute(select(MESSAGES.c.id, MESSAGES.c.complaint_id))
        complaint_of = {r.id: r.complaint_id for r in rows}
    assert [(c, actor, note, ids) for c, actor, note, _, ids in retried_events(app)] == [
        (complaint_of[outbox[0]], "sup", "1 message(s) queued again", [outbox[0]]),
        (complaint_of[outbox[2]], "sup", "1 message(s) queued again", [outbox[2]]),
    ]


def test_without_a_status_only_failed_messages_are_retried_and_uncertain_ones_only_when_asked_for(app, outbox):
    """An uncertain email may have arrived: a broad filter must not send it again."""
    since = (app.clock.now() - timedelta(hours=2, minutes=30)).isoformat()  # the second and third messages
    until = (app.clock.now() - timedelta(minutes=30)).isoformat()
    assert retry_messages(app, "sup", RetryFilter(since=since, until=until)).queued == 1
    assert statuses(app) == [("failed", 5), ("uncertain", 5), ("pending", 0), ("sent", 5)]
    assert retry_messages(app, "sup", RetryFilter(status="uncertain", since=since, until=until)).queued == 1
    assert statuses(app) == [("failed", 5), ("pending", 0), ("pending", 0), ("sent", 5)]


def test_retrying_one_complaints_messages(app, outbox):
    with app.uow(write=False) as uow:
        number = uow.session.execute(
            select(COMPLAINTS.c.number).join(MESSAGES, MESSAGES.c.complaint_id == COMPLAINTS.c.id)
            .where(MESSAGES.c.id == outbox[1])
        ).scalar_one()
    assert retry_messages(app, "sup", RetryFilter(complaint=number)).queued == 0  # its message is uncertain
    assert retry_messages(app, "sup", RetryFilter(complaint=number, status="uncertain")).queued == 1
    assert statuses(app)[1] == ("pending", 0)
    with pytest.raises(NotFound, match="no complaint C-20261120-9999"):
        retry_messages(app, "sup", RetryFilter(complaint="C-20261120-9999"))


def test_an_agent_may_not_retry_and_nothing_changes(app, outbox):
    with pytest.raises(PermissionDenied, match="amy is an agent; retrying messages needs supervisor or above"):
        retry_messages(app, "amy", RetryFilter(status="failed"))
    assert statuses(app) == [("failed", 5), ("uncertain", 5), ("failed", 5), ("sent", 5)]
    assert retried_events(app) == []


def test_a_message_never_rendered_is_counted_not_queued(app, outbox):
    with app.uow() as uow:
        uow.session.execute(update(MESSAGES).where(MESSAGES.c.id == outbox[0]).values(body=""))
        uow.commit()
    report = retry_messages(app, "sup", RetryFilter(status="failed"))
    assert (report.queued, report.never_rendered) == (1, 1)
    with pytest.raises(InvalidInput, match=f"message {outbox[0]} was never rendered"):
        retry_messages(app, "sup", RetryFilter(message_id=outbox[0]))


@pytest.mark.parametrize("which, message", [
    (RetryFilter(), "say which messages to retry: a message id, or --status, --complaint, --since or --until"),
    (RetryFilter(status="sent"), "--status 'sent' is not allowed; retry takes failed or uncertain"),
    (RetryFilter(since="yesterday"), "--since: 'yesterday' is not an ISO 8601 time"),
    (RetryFilter(until="9999-12-31T23:59:59-12:00"), "--until: '9999-12-31T23:59:59-12:00' is outside the years"),
    (RetryFilter(since="2026-11-21", until="2026-11-20"), "--since 2026-11-21 is not before --until 2026-11-20"),
    (RetryFilter(message_id=1, status="failed"), "give a message id or filters"),
])
def test_a_filter_that_says_nothing_or_makes_no_sense_is_refused(sqlite_app, which, message):
    with pytest.raises(InvalidInput) as refused:
        retry_messages(sqlite_app, "sup", which)
    assert str(refused.value).startswith(message)
