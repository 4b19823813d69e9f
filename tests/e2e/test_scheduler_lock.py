"""The scheduler lock with real processes: on PostgreSQL the chores' leader whose session the server ends, and a
server restart; on SQLite one scheduler per database, the same file under other names, and `redress tick` /
`redress outbox send` beside a scheduler."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from tests.e2e.scheduling import (
    REDRESS,
    Scheduler,
    counts,
    engine_app,
    fast_config,
    file_critical,
    fired_more_than_once,
    redress_env,
    wait_for,
)
from workflow.adapters.scheduler_lock import ADVISORY_KEY, one_off_run
from workflow.bootstrap import Redress

_LOCK_HOLDERS = (
    "SELECT l.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.objid = %s AND l.granted "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def _admin(url: str) -> psycopg.Connection:
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def lock_holders(url: str) -> list[str]:
    """The application names of the sessions holding the scheduler lock ("redress scheduler pid N")."""
    with _admin(url) as connection:
        return [name for _, name in connection.execute(_LOCK_HOLDERS, (ADVISORY_KEY,)).fetchall()]


def end_the_lock_holders_session(url: str) -> int:
    with _admin(url) as connection:
        rows = connection.execute(_LOCK_HOLDERS, (ADVISORY_KEY,)).fetchall()
        for pid, _ in rows:
            connection.execute("SELECT pg_terminate_backend(%s)", (pid,))
    return len(rows)


class Filing(threading.Thread):
    """Files a critical complaint every quarter second, so deadlines keep falling due (2 s and 4 s later)."""

    def __init__(self, app: Redress) -> None:
        super().__init__(daemon=True)
        self.app = app
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.25):
            file_critical(self.app, 1)

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=10)


def leads(scheduler: Scheduler) -> bool:
    """Whether the scheduler's last word on the chores is that it leads them."""
    for line in reversed(scheduler.lines):
        if "no longer leads the chores" in line:
            return False
        if "leads the chores" in line:
            return True
    return False


@pytest.mark.postgres
def test_when_the_chores_leaders_session_ends_another_leads_and_both_go_on_firing(tmp_path, postgres_url):
    config = fast_config(tmp_path)
    app = engine_app(config, postgres_url)
    file_critical(app, 1)
    first = Scheduler(config, postgres_url)
    second = None
    filing = Filing(app)
    try:
        assert wait_for(lambda: leads(first), 15), first.lines
        second = Scheduler(config, postgres_url)
        assert wait_for(lambda: second.said("beside any other schedulers"), 15)
        filing.start()
        assert wait_for(lambda: first.said("scheduler: fired"), 15)
        assert not leads(second)
        mark, second_mark = len(first.lines), len(second.lines)
        ended_at = time.monotonic()
        assert end_the_lock_holders_session(postgres_url) == 1
        assert wait_for(lambda: first.said("no longer leads the chores", mark), 5), first.lines[mark:]
        noticed = first.when("no longer leads the chores", mark)
        assert noticed is not None and noticed - ended_at < 2.0
        assert wait_for(lambda: leads(second), 5), second.lines[second_mark:]
        assert wait_for(lambda: first.said("scheduler: fired", mark + 1) and second.said("scheduler: fired"), 15)
        assert first.alive() and second.alive()
        assert lock_holders(postgres_url) == [f"redress scheduler pid {second.process.pid}"]
        filing.stop()
        assert wait_for(lambda: counts(app)[2] == 0, 15)
    finally:
        filing.stop()
        outputs = [s.stop() for s in (first, second) if s is not None]
    assert fired_more_than_once(app) == []
    fired, events, _ = counts(app)  # nothing due was left pending (checked above, while both were running)
    assert fired == events
    assert all("Traceback" not in output for output in outputs)


def one_leads(pair: tuple[Scheduler, Scheduler], url: str) -> bool:
    """One scheduler says it leads and it is the lock's one holder. Until both have looked again after a restart,
    the one that led may not have said yet that it lost the lock the other now holds."""
    leaders = [s for s in pair if leads(s)]
    return len(leaders) == 1 and lock_holders(url) == [f"redress scheduler pid {leaders[0].process.pid}"]


def test_after_postgresql_restarts_both_schedulers_work_again_and_one_leads_the_chores(tmp_path, private_postgres):
    url = private_postgres.url
    config = fast_config(tmp_path)
    app = engine_app(config, url)
    file_critical(app, 0)  # just the staff
    first = Scheduler(config, url)
    second = None
    try:
        assert wait_for(lambda: leads(first), 15)
        second = Scheduler(config, url)
        assert wait_for(lambda: second.said("beside any other schedulers"), 15)
        pair = (first, second)
        for _ in range(2):
            marks = [len(s.lines) for s in pair]
            private_postgres.restart()
            app.engine.dispose()
            # The leader loses its session (and says so); then exactly one leads again.
            assert wait_for(lambda: first.said("", marks[0]) or second.said("", marks[1]), 10)  # noqa: B023
            assert wait_for(lambda: one_leads(pair, url), 20), [first.lines, second.lines, lock_holders(url)]
            assert first.alive() and second.alive()
        file_critical(app, 2)  # a warning 2 s and a breach 4 s ahead each: fired once, by either
        assert wait_for(lambda: counts(app)[0] == 4, 15), [counts(app), first.lines, second.lines]
    finally:
        outputs = [s.stop() for s in (first, second) if s is not None]
    assert fired_more_than_once(app) == []
    assert all("Traceback" not in output for output in outputs)
    assert sum(output.count("\n") for output in outputs) < 200, outputs  # an error is a line, not a flood


def _one_line_error(args: list[str], config: Path, url: str, cwd: Path | None = None) -> tuple[int, str]:
    result = subprocess.run([str(REDRESS), *args], env=redress_env(config, url), cwd=cwd, capture_output=True,
                            text=True, timeout=60)
    assert result.stderr.count("\n") <= 1 and "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stderr.strip() or result.stdout.strip()


def _run_alone(args: list[str], config: Path, url: str) -> tuple[int, str]:
    """A one-off run with no scheduler beside it: its report on stdout; on stderr only the log channel's alerts."""
    result = subprocess.run([str(REDRESS), *args], env=redress_env(config, url), capture_output=True, text=True,
                            timeout=60)
    assert all(line.startswith("ALERT to ") for line in result.stderr.splitlines()), result.stderr
    return result.returncode, result.stdout.strip()


def test_a_second_scheduler_on_the_same_sqlite_file_by_another_name_is_refused(tmp_path):
    folder = tmp_path / "data"
    (folder / "sub").mkdir(parents=True)
    database = folder / "redress.db"
    config = fast_config(tmp_path)
    engine_app(config, f"sqlite:///{database}")
    (tmp_path / "link.db").symlink_to(database)
    (tmp_path / "linked").symlink_to(folder)
    first = Scheduler(config, str(database))
    try:
        assert wait_for(lambda: first.said("active on"), 15)
        for name, cwd in ((str(tmp_path / "link.db"), None),           # a symlink to the file
                          ("sqlite:///link.db", tmp_path),             # the same, relative
                          ("../redress.db", folder / "sub"),           # `..` from another folder
                          (f"sqlite:///{folder}/sub/../redress.db", None),
                          ("linked/./sub/../redress.db", tmp_path)):   # through a symlinked folder
            second = Scheduler(config, name, cwd=cwd)
            assert second.process.wait(timeout=30) == 10, (name, second.stop())
            output = second.stop()
            assert output.count("\n") == 1 and "Traceback" not in output, output
            assert f"another scheduler (pid {first.process.pid}) is already running on {database}" in output
        assert first.alive()
    finally:
        first.stop()


def test_tick_and_outbox_send_are_refused_beside_a_scheduler_on_sqlite_and_work_without_one(tmp_path):
    database = tmp_path / "redress.db"
    (tmp_path / "link.db").symlink_to(database)
    config = fast_config(tmp_path)
    app = engine_app(config, str(database), now=datetime.now(UTC) - timedelta(hours=2))
    file_critical(app, 2)  # their deadlines are all due by now
    first = Scheduler(config, str(database))
    try:
        assert wait_for(lambda: first.said("active on"), 15)
        for command in (["tick"], ["outbox", "send"]):
            for name in (str(database), str(tmp_path / "link.db")):
                code, message = _one_line_error(command, config, name)
                assert code == 10
                assert message == (f"error: a scheduler (pid {first.process.pid}) is active on {database} and "
                                   "already fires deadlines and delivers the outbox; "
                                   f"`redress {' '.join(command)}` is not needed")
    finally:
        first.stop()
    file_critical(app, 2)  # more due deadlines, for the tick below
    code, message = _run_alone(["tick"], config, str(tmp_path / "link.db"))
    assert code == 0 and message.splitlines()[-1].startswith("fired 8 deadline(s)"), message
    code, message = _run_alone(["outbox", "send"], config, str(database))
    assert code == 0 and message.splitlines()[-1].startswith("sent "), message
    again = Scheduler(config, str(database))  # the one-off runs let go of the lock
    try:
        assert wait_for(lambda: again.said("active on"), 15)
    finally:
        again.stop()


def test_a_scheduler_started_during_a_one_off_run_on_sqlite_waits_for_it_to_end(tmp_path, sqlite_url):
    config = fast_config(tmp_path)
    app = engine_app(config, sqlite_url)
    with one_off_run(app, "tick"):
        scheduler = Scheduler(config, sqlite_url)
        try:
            assert wait_for(lambda: scheduler.said("standing by"), 15)
            assert scheduler.said(f"`redress tick` (pid {os.getpid()}) holds this database's scheduler lock")
            assert not scheduler.said("active on")
        except BaseException:
            scheduler.stop()
            raise
    try:
        assert wait_for(lambda: scheduler.said("taking over") and scheduler.said("active on"), 5)
    finally:
        scheduler.stop()
