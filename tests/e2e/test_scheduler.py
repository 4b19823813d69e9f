"""The real `redress scheduler` process: real APScheduler timers, crashes, and a second scheduler."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.e2e.scheduling import (
    Scheduler,
    counts,
    engine_app,
    fast_config,
    file_critical,
    fired_more_than_once,
    wait_for,
)
from workflow.adapters.models import DEADLINES
from workflow.domain.clock import Clock


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


# Complaints filed two hours back, four due deadlines each: about as many as each database catches up in 3 s.
_CATCH_UP = {"sqlite": 1500, "postgresql": 500}


def test_killed_again_and_again_during_catch_up_then_restarted_every_deadline_fires_exactly_once(
        tmp_path, database_url):
    config = fast_config(tmp_path)
    app = engine_app(config, database_url, now=datetime.now(UTC) - timedelta(hours=2))
    file_critical(app, _CATCH_UP[app.engine.dialect.name])
    _, _, due = counts(app)
    assert due >= 2000
    for _ in range(3):
        fired_before = counts(app)[0]
        scheduler = Scheduler(config, database_url)
        assert wait_for(lambda: counts(app)[0] > fired_before, 30), scheduler.stop()  # noqa: B023
        scheduler.kill()  # SIGKILL, most likely in the middle of a batch's transaction
        fired, events, left = counts(app)
        assert left > 0, "the kill did not land in the middle of the catch-up"
        assert events == fired
    restarted = Scheduler(config, database_url)
    try:
        assert wait_for(lambda: counts(app)[2] == 0, 60)
    finally:
        output = restarted.stop()
    fired, events, left = counts(app)
    assert left == 0 and fired == events == due
    assert fired_more_than_once(app) == []
    assert "Traceback" not in output


@pytest.mark.postgres
def test_two_schedulers_on_postgresql_share_the_backlog_never_double_fire_and_the_survivor_leads(tmp_path,
                                                                                                  postgres_url):
    config = fast_config(tmp_path)
    past = datetime.now(UTC) - timedelta(hours=2)
    app = engine_app(config, postgres_url, now=past)
    file_critical(app, 200)
    first = Scheduler(config, postgres_url)
    second = Scheduler(config, postgres_url)
    try:
        assert wait_for(lambda: first.said("beside any other") and second.said("beside any other"), 15)
        assert wait_for(lambda: counts(app)[2] == 0, 60)
        assert counts(app)[0] == 800  # two first-response and two resolution deadlines each
        # The chores' leader is elected beside the firing, and the backlog may be done before either says it.
        assert wait_for(lambda: first.said("leads the chores") or second.said("leads the chores"), 15)
        leader, other = (first, second) if first.said("leads the chores") else (second, first)
        assert leader.said("leads the chores") and not other.said("leads the chores")
        leader.kill()
        assert wait_for(lambda: other.said("leads the chores"), 15)
        app.clock = Clock()
        file_critical(app, 5)  # new deadlines 2-4 s ahead: only the survivor is left to fire them
        assert wait_for(lambda: counts(app)[0] == 810, 20)
    finally:
        second.stop()
        first.stop()
    fired, events, due = counts(app)
    assert events == fired
