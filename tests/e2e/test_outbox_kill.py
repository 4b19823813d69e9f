"""The installed `redress outbox send` killed with SIGKILL mid-drain, and two senders at once, against a real
SMTP server: every email arrives exactly once, or (at most one per kill) is `uncertain` and arrived at most once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from tests.conftest import CONFIG, PINNED
from workflow.adapters.migrate import upgrade
from workflow.adapters.models import ATTEMPTS, MESSAGES
from workflow.bootstrap import bootstrap
from workflow.domain.clock import Clock
from workflow.services import lifecycle as svc
from workflow.services.people import add_user

REDRESS = str(Path(sys.executable).with_name("redress"))
LEASE = 30


def queued(url: str, port: int, tmp_path: Path, count: int, clock: Clock, lease: float = LEASE) -> dict[str, str]:
    """A database with `count` acknowledgements waiting for an SMTP server; the environment to send them."""
    settings = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    settings["messages"]["email"] = {"type": "email", "host": "127.0.0.1", "port": port}
    settings["messages"]["sms"] = None
    settings["policy_manual"] = str(CONFIG.parent / "policy_manual.yaml")
    settings["outbox"] = {"lease_seconds": lease}
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    app = bootstrap(str(config), url, clock)
    upgrade(app.engine)
    add_user(app, None, "boss", "manager")
    for n in range(count):
        svc.file_complaint(app, "boss", channel="email", category="delivery", summary="parcel late",
                           email=f"c{n}@example.com", name=f"Customer {n}", language="en", severity="low")
    app.engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
    return env | {"REDRESS_CONFIG": str(config), "REDRESS_DB": url}


def at(env: dict[str, str], seconds: float) -> dict[str, str]:
    """The environment with the clock pinned `seconds` after the suite's pinned instant."""
    return env | {"REDRESS_NOW": (PINNED + timedelta(seconds=seconds)).isoformat()}


def outcome(url: str) -> tuple[dict[str, str], list[str]]:
    """Each message's status by the Message-ID its email carries; the sender named on every attempt."""
    app = bootstrap(str(CONFIG), url, Clock(PINNED))
    with app.uow(write=False) as uow:
        statuses = {f"<{key}@redress>": status for key, status in
                    uow.session.execute(select(MESSAGES.c.idempotency_key, MESSAGES.c.status))}
        senders = list(uow.session.execute(select(ATTEMPTS.c.sender)).scalars())
    app.engine.dispose()
    return statuses, senders


def test_killing_the_sender_three_times_mid_drain_loses_nothing_and_sends_nothing_twice(database_url, smtp,
                                                                                         tmp_path):
    inbox, port = smtp
    inbox.delay_seconds = 0.01  # slowish, so each kill lands in the middle of the drain
    env = queued(database_url, port, tmp_path, 120, Clock(PINNED))
    kills = 0
    for run in range(3):
        before = len(inbox.received)
        process = subprocess.Popen([REDRESS, "outbox", "send"], env=at(env, run * (LEASE + 1)),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while len(inbox.received) < before + 15 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert process.poll() is None, f"the sender finished before the kill: {process.stderr.read()}"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        kills += 1
    # Past the last lease: the sender settles what the killed ones held and sends the rest.
    final = subprocess.run([REDRESS, "outbox", "send"], env=at(env, 3 * (LEASE + 1)), capture_output=True,
                           text=True, timeout=60, check=False)
    assert final.returncode == 0, final.stderr

    statuses, senders = outcome(database_url)
    kept = inbox.kept()
    assert len(statuses) == 120 and set(statuses.values()) <= {"sent", "uncertain"}
    uncertain = [key for key, status in statuses.items() if status == "uncertain"]
    assert len(uncertain) <= kills
    for key, status in statuses.items():
        assert kept[key] == 1 if status == "sent" else kept[key] <= 1, (key, status, kept[key])
    assert sum(kept.values()) == len(inbox.received)  # nothing the server kept is unaccounted for
    assert len(set(senders)) == kills + 1  # each process signed its attempts


@pytest.mark.postgres  # on SQLite a second sender is refused outright (tests/e2e/test_scheduler_lock.py)
def test_a_second_sender_never_judges_a_live_slow_sender_interrupted(postgres_url, smtp, tmp_path):
    database_url = postgres_url
    inbox, port = smtp
    inbox.delay_seconds = 2.5  # each send outlasts the lease several times over: only renewal keeps it
    env = queued(database_url, port, tmp_path, 4, Clock(), lease=0.5)  # real time: leases really run out
    first = subprocess.Popen([REDRESS, "outbox", "send"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    deadline = time.monotonic() + 20
    while not inbox.received and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.6)  # the first sender's claim is older than its lease now
    second = subprocess.run([REDRESS, "outbox", "send"], env=env, capture_output=True, text=True, timeout=60,
                            check=False)
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0 and second.returncode == 0, err + second.stderr
    # The second sender looked for interrupted sends while the first one's first send was still under way.
    assert inbox.received_at[1] < inbox.received_at[0] + inbox.delay_seconds
    statuses, senders = outcome(database_url)
    assert set(statuses.values()) == {"sent"} and len(statuses) == 4
    assert set(inbox.kept().values()) == {1} and len(inbox.kept()) == 4
    assert "uncertain 0" in out and "uncertain 0, requeued after a stopped sender 0" in second.stdout
    assert len(senders) == 4 and len(set(senders)) == 2  # one attempt per message, shared by both senders


@pytest.mark.parametrize("command", [["tick"], ["outbox", "send"]])
def test_ctrl_c_stops_a_one_off_run_after_the_email_in_flight_which_is_recorded(sqlite_url, smtp, tmp_path,
                                                                                 command):
    inbox, port = smtp
    inbox.delay_seconds = 0.5
    env = at(queued(sqlite_url, port, tmp_path, 6, Clock(PINNED)), 0)
    run = subprocess.Popen([REDRESS, *command], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not inbox.received and time.monotonic() < deadline:
        time.sleep(0.01)
    run.send_signal(signal.SIGINT)  # while the server holds the first email, before its 250
    out, err = run.communicate(timeout=30)
    assert run.returncode == 0 and "Traceback" not in err, err
    statuses, _ = outcome(sqlite_url)
    sent = [key for key, status in statuses.items() if status == "sent"]
    assert sorted(set(statuses.values())) == ["pending", "sent"]  # nothing left in doubt
    assert len(sent) == len(inbox.kept()) and set(inbox.kept().values()) == {1}


@pytest.fixture(autouse=True)
def _bounded():
    started = time.monotonic()
    yield
    assert time.monotonic() - started < 60, "a fault-injection test must stay bounded"
