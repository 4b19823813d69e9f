"""The real `redress scheduler` process: real APScheduler timers, crashes, and a second scheduler."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.e2e.scheduling import SCHEDULER_EVENTS, Scheduler, counts, engine_app, fast_config, file_critical, wait_for
from workflow.clock import Clock
from workflow.models import DEADLINES, EVENTS


def test_the_real_scheduler_fires_a_deadline_due_in_two_seconds(tmp_path, sqlite_url):
    config = fast_config(tmp_path)
    app = engine_app(config, sqlite_url)
    scheduler = Scheduler(config, sqlite_url)
    try:
        assert wait_for(lambda: scheduler.said("active"), 15)
        file_critical(app, 1)  # warning due in 2 s, breach in 4 s
        assert wait_for(lambda: counts(app)[0] >= 2, 10)
        with app.uow(write=False) as uow:
            rows = uow.session.execute(
                select(DEADLINES.c.kind, DEADLINES.c.due_at, DEADLINES.c.fired_at)
                .where(DEADLINES.c.fired_at.is_not(None))).all()
        lateness = {row.kind: (row.fired_at - row.due_at).total_seconds() for row in rows}
        assert set(lateness) == {"first_response_warning", "first_response"}
        assert all(0 <= late < 1.0 for late in lateness.values()), lateness
    finally:
        output = scheduler.stop()
    assert "SIGTERM received; finishing the current batch" in output
    assert "stopped after firing 2 deadline(s)" in output


def test_a_second_scheduler_on_sqlite_refuses_to_start(tmp_path, sqlite_url):
    config = fast_config(tmp_path)
    engine_app(config, sqlite_url)
    first = Scheduler(config, sqlite_url)
    try:
        assert wait_for(lambda: first.said("active"), 15)
        second = Scheduler(config, sqlite_url)
        assert second.process.wait(timeout=30) == 10
        output = second.stop()
        assert f"another scheduler (pid {first.process.pid})" in output and "Traceback" not in output
    finally:
        first.stop()


def test_killed_mid_batch_then_restarted_every_deadline_fires_exactly_once(tmp_path, sqlite_url):
    config = fast_config(tmp_path)
    past = datetime.now(UTC) - timedelta(hours=2)
    app = engine_app(config, sqlite_url, now=past)
    file_critical(app, 1500)  # each has a warning, a breach and a resolution warning due by now
    _, _, due = counts(app)
    assert due >= 3000
    scheduler = Scheduler(config, sqlite_url)
    assert wait_for(lambda: counts(app)[0] > 0, 30), "the scheduler never fired anything"
    scheduler.kill()
    fired, events, due = counts(app)
    assert 0 < fired and due > 0, "the kill did not land in the middle of the catch-up"
    assert events == fired
    restarted = Scheduler(config, sqlite_url)
    try:
        assert wait_for(lambda: counts(app)[2] == 0, 60)
    finally:
        restarted.stop()
    fired, events, due = counts(app)
    assert due == 0 and events == fired
    with app.uow(write=False) as uow:
        duplicates = uow.session.execute(
            select(EVENTS.c.complaint_id, EVENTS.c.data, func.count())
            .where(EVENTS.c.trigger.in_(SCHEDULER_EVENTS))
            .group_by(EVENTS.c.complaint_id, EVENTS.c.data).having(func.count() > 1)).all()
    assert duplicates == []


@pytest.mark.postgres
def test_two_schedulers_on_postgresql_never_double_fire_and_the_standby_takes_over(tmp_path, postgres_url):
    config = fast_config(tmp_path)
    past = datetime.now(UTC) - timedelta(hours=2)
    app = engine_app(config, postgres_url, now=past)
    file_critical(app, 200)
    first = Scheduler(config, postgres_url)
    assert wait_for(lambda: first.said("active"), 15)
    second = Scheduler(config, postgres_url)
    try:
        assert wait_for(lambda: second.said("standing by"), 15)
        assert wait_for(lambda: counts(app)[2] == 0, 60)
        assert counts(app)[0] == 800  # two first-response and two resolution deadlines each
        first.kill()
        assert wait_for(lambda: second.said("taking over"), 15)
        app.clock = Clock()
        file_critical(app, 5)  # new deadlines 2-4 s ahead: only the former standby is left to fire them
        assert wait_for(lambda: counts(app)[0] == 810, 20)
    finally:
        second.stop()
        first.stop()
    fired, events, due = counts(app)
    assert events == fired
