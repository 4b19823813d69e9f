"""The scheduler lock in-process on real databases, and a delivery pass that is told to stop."""

from __future__ import annotations

import os

import psycopg
import pytest
from sqlalchemy import func, select

from notifications.sender import deliver_due
from tests.conftest import file_one
from workflow.adapters.models import ATTEMPTS, MESSAGES
from workflow.adapters.scheduler_lock import ADVISORY_KEY, AdvisoryLock, FileLock


def test_a_delivery_pass_told_to_stop_sends_nothing_more_and_leaves_the_rest_pending(app):
    for phone in ("13800138001", "13800138002", "13800138003"):
        file_one(app, phone=phone)  # an acknowledgement each
    folder = app.config.resolve_path(app.config.messages.email.path)  # customer mail is written as .eml files

    def should_stop() -> bool:
        return len(list(folder.glob("*.eml"))) >= 1  # stop once the first message is out

    report = deliver_due(app, should_stop=should_stop)
    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    with app.uow(write=False) as uow:
        statuses = sorted(uow.session.execute(select(MESSAGES.c.status, MESSAGES.c.attempts)).all())
        attempts = uow.session.execute(select(func.count()).select_from(ATTEMPTS)).scalar_one()
    assert statuses == [("pending", 0), ("pending", 0), ("sent", 1)] and attempts == 1
    assert deliver_due(app, should_stop=lambda: True).sent == 0
    assert deliver_due(app).sent == 2


def test_a_lock_file_removed_under_its_holder_counts_as_lost(tmp_path):
    database = str(tmp_path / "redress.db")
    held = FileLock(database, "scheduler")
    assert held.try_acquire() and held.lost() is None
    os.remove(held.path)
    assert held.lost() == f"the lock file {held.path} was removed or replaced"
    successor = FileLock(database, "scheduler")
    assert successor.try_acquire()
    successor.release()


@pytest.mark.postgres
def test_an_advisory_lock_whose_session_is_ended_says_so_and_frees_the_lock(postgres_url):
    held, waiting = AdvisoryLock(postgres_url), AdvisoryLock(postgres_url)
    try:
        assert held.try_acquire() and held.lost() is None
        assert not waiting.try_acquire()
        assert waiting.holder() == f"another scheduler (pid {os.getpid()})"
        with psycopg.connect(postgres_url.replace("+psycopg", ""), autocommit=True) as admin:
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s "
                "AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                (ADVISORY_KEY,)).fetchall()
        assert ended == [(True,)]
        reason = held.lost()
        assert reason is not None and "terminating connection due to administrator command" in reason
        assert "\n" not in reason
        assert waiting.try_acquire()
        assert held.lost() is not None  # no new session of its own: a holder that lost the lock has to retake it
    finally:
        held.release()
        waiting.release()
