"""The real `redress scheduler` process: real APScheduler timers, crashes, and a second scheduler."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from tests.conftest import CONFIG
from workflow.bootstrap import bootstrap
from workflow.clock import Clock
from workflow.migrate import upgrade
from workflow.models import DEADLINES, EVENTS
from workflow.people import add_user
from workflow.services import file_complaint

REDRESS = Path(sys.executable).parent / "redress"
SCHEDULER_EVENTS = ("sla_warning", "sla_breach", "escalate")


def fast_config(tmp_path: Path, **policy: str) -> Path:
    """The shipped config with a critical policy measured in seconds, so real timers fire within a test."""
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    config["sla"]["policies"]["critical"] = {
        "calendar": "always", "first_response": "4s", "resolution": "1h", "warn_at": 0.5,
        "start_level": "senior", "climb_every": "30m", **policy,
    }
    config["scheduler"] = {"sweep_seconds": 0.5, "batch_size": 100}
    config["policy_manual"] = str(CONFIG.parent / "policy_manual.yaml")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def engine_app(config: Path, url: str, now: datetime | None = None):
    app = bootstrap(str(config), url, Clock(now) if now else Clock())
    upgrade(app.engine)
    return app


class Scheduler:
    """A `redress scheduler` subprocess whose output is collected by a thread, so tests never block on it."""

    def __init__(self, config: Path, url: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
        env.update(REDRESS_CONFIG=str(config), REDRESS_DB=url, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen([str(REDRESS), "scheduler"], env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._reader.join(timeout=5)
        return "".join(self.lines)


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def counts(app) -> tuple[int, int, int]:
    """(deadlines fired, scheduler events, deadlines due and still pending)."""
    with app.uow(write=False) as uow:
        fired = uow.session.execute(
            select(func.count()).select_from(DEADLINES).where(DEADLINES.c.fired_at.is_not(None))).scalar_one()
        events = uow.session.execute(
            select(func.count()).select_from(EVENTS).where(EVENTS.c.trigger.in_(SCHEDULER_EVENTS))).scalar_one()
        due = uow.session.execute(
            select(func.count()).select_from(DEADLINES).where(
                DEADLINES.c.fired_at.is_(None), DEADLINES.c.cancelled_at.is_(None),
                DEADLINES.c.due_at <= datetime.now(UTC))).scalar_one()
    return fired, events, due


def file_critical(app, count: int) -> None:
    with app.uow(write=False) as uow:
        from workflow.models import USERS

        has_users = uow.session.execute(select(func.count()).select_from(USERS)).scalar_one()
    if not has_users:
        add_user(app, None, "boss", "manager")
        add_user(app, "boss", "sup", "supervisor")
    for i in range(count):
        file_complaint(app, "boss", channel="phone", category="delivery", summary="late",
                       phone=f"139{i:08d}", name="客户", severity="critical")


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
