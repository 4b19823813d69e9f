"""Driving the real `redress scheduler` in a subprocess, and counting what it fired, for the scheduler tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import yaml
from sqlalchemy import func, select

from tests.conftest import CONFIG
from workflow.adapters.migrate import upgrade
from workflow.adapters.models import DEADLINES, EVENTS, USERS
from workflow.bootstrap import Redress, bootstrap
from workflow.domain.clock import Clock
from workflow.services.lifecycle import file_complaint
from workflow.services.people import add_user

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


def engine_app(config: Path, url: str, now: datetime | None = None) -> Redress:
    app = bootstrap(str(config), url, Clock(now) if now else Clock())
    upgrade(app.engine)
    return app


def redress_env(config: Path, url: str) -> dict[str, str]:
    """The environment of a `redress` subprocess on this config and database, and nothing else of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
    env.update(REDRESS_CONFIG=str(config), REDRESS_DB=url, PYTHONUNBUFFERED="1")
    return env


class Scheduler:
    """A `redress scheduler` subprocess whose output is collected by a thread, so tests never block on it."""

    def __init__(self, config: Path, url: str, cwd: Path | None = None, **extra_env: str) -> None:
        self.process = subprocess.Popen([str(REDRESS), "scheduler"], env=redress_env(config, url) | extra_env, cwd=cwd,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.stamps: list[float] = []  # time.monotonic() when each line was read
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.stamps.append(time.monotonic())
            self.lines.append(line)

    def said(self, text: str, since: int = 0) -> bool:
        """Whether a line from the `since`-th on contains `text`."""
        return any(text in line for line in self.lines[since:])

    def when(self, text: str, since: int = 0) -> float | None:
        """The monotonic time the first such line was read."""
        return next((self.stamps[i] for i in range(since, len(self.lines)) if text in self.lines[i]), None)

    def state(self) -> str | None:
        """'active' or 'standing by', by the last line that said either."""
        for line in reversed(self.lines):
            if "active on" in line or "taking over" in line:
                return "active"
            if "standing by" in line or "lost the scheduler lock" in line:
                return "standing by"
        return None

    def alive(self) -> bool:
        return self.process.poll() is None

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


def wait_for(condition: Callable[[], object], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


def counts(app: Redress) -> tuple[int, int, int]:
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


def fired_more_than_once(app: Redress) -> list[tuple[int, str, str]]:
    """The deadlines (complaint, kind, due time) with more than one scheduler event: should be none."""
    with app.uow(write=False) as uow:
        rows = uow.session.execute(
            select(EVENTS.c.complaint_id, EVENTS.c.data).where(EVENTS.c.trigger.in_(SCHEDULER_EVENTS))).all()
    data = [(row.complaint_id, json.loads(row.data)) for row in rows]
    per_deadline = Counter((complaint, fields["deadline"], fields["due_at"]) for complaint, fields in data)
    return [deadline for deadline, times in per_deadline.items() if times > 1]


def file_critical(app: Redress, count: int) -> None:
    with app.uow(write=False) as uow:
        has_users = uow.session.execute(select(func.count()).select_from(USERS)).scalar_one()
    if not has_users:
        add_user(app, None, "boss", "manager")
        add_user(app, "boss", "sup", "supervisor")
    for i in range(count):
        file_complaint(app, "boss", channel="phone", category="delivery", summary="late",
                       phone=f"139{i:08d}", name="客户", severity="critical")
