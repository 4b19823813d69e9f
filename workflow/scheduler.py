"""`redress scheduler`: the one long-running process, and the only place that imports APScheduler.

APScheduler only wakes us up; the deadline table says when and `fire_due` says
what. A sweep job runs every `scheduler.sweep_seconds`; each sweep ends by
setting one date job at the next due time before the following sweep, so the
sweeps chain from deadline to deadline and each fires within a fraction of a
second of its due time, with one job in the store whatever the load. On start the
first sweep catches up everything missed while no scheduler ran.

One scheduler per database: on SQLite a second one refuses to start (a lock
file beside the database); on PostgreSQL it stands by on an advisory lock and
takes over when the active one's session ends.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from notifications.sender import deliver_due
from workflow.bootstrap import Redress
from workflow.errors import DatabaseUnavailable, SchedulerBusy
from workflow.firing import fire_due
from workflow.models import DEADLINES

_ADVISORY_KEY = 583_020_551  # the key every Redress scheduler of a database agrees on


class _QuietOverlap(logging.Filter):
    """A sweep still running when the next one is due is expected (the next is skipped), not a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


class SingleSchedulerLock:
    """Makes sure only one scheduler fires deadlines for a database."""

    def __init__(self, app: Redress, say: Callable[[str], None]) -> None:
        self._app = app
        self._say = say
        self._handle: Any = None

    def acquire(self, stopping: threading.Event) -> bool:
        """Take the lock; on PostgreSQL wait for it (standby) until `stopping` is set."""
        if self._app.engine.dialect.name == "sqlite":
            self._acquire_file()
            return True
        return self._acquire_advisory(stopping)

    def _acquire_file(self) -> None:
        import fcntl

        database = make_url(self._app.url).database or "redress"
        path = Path(f"{database}.scheduler.lock")
        handle = open(path, "a+")  # noqa: SIM115 - held for the life of the process
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise SchedulerBusy(
                f"another scheduler (pid {holder}) is already running on {database}; "
                "SQLite allows one scheduler per database"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def _acquire_advisory(self, stopping: threading.Event) -> bool:
        connection = self._app.engine.connect()
        announced = False
        while not stopping.is_set():
            if connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": _ADVISORY_KEY}).scalar():
                connection.commit()
                self._handle = connection
                if announced:
                    self._say("scheduler: the active scheduler is gone; taking over")
                return True
            connection.commit()
            if not announced:
                self._say("scheduler: another scheduler is active on this database; standing by")
                announced = True
            stopping.wait(1.0)
        connection.close()
        return False

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class DeadlineScheduler:
    """APScheduler wiring: a sweep job, a date job at the next due time, and an outbox delivery job."""

    def __init__(self, app: Redress, say: Callable[[str], None]) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        self.app = app
        self.say = say
        self.stopping = threading.Event()
        # One worker: sweeps and date jobs never overlap, so batches stay small and ordered.
        logger = logging.getLogger("apscheduler.scheduler")
        if not any(isinstance(f, _QuietOverlap) for f in logger.filters):
            logger.addFilter(_QuietOverlap())
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(1), "outbox": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self.fired_total = 0

    def sweep(self) -> None:
        try:
            report = fire_due(self.app, should_stop=self.stopping.is_set)
        except DatabaseUnavailable as error:  # the batch rolled back; the next sweep fires it
            self.say(f"scheduler: {error}; trying again at the next sweep")
            return
        if report.fired:
            self.fired_total += report.fired
            self.say(f"scheduler: fired {report.fired} deadline(s) in {report.batches} batch(es)")
        if not self.stopping.is_set():
            self._plan_next_due()

    def _plan_next_due(self) -> None:
        """A date job at the first due time before the next sweep (one job, moved by each sweep).

        Up to two instances: the one planning this is still running when the next one may already be due,
        and the single worker runs them one after the other.
        """
        now = self.app.clock.now()
        horizon = now + timedelta(seconds=2 * self.app.config.scheduler.sweep_seconds)
        with self.app.uow(write=False) as uow:
            next_due = uow.session.execute(
                select(func.min(DEADLINES.c.due_at))
                .where(DEADLINES.c.fired_at.is_(None), DEADLINES.c.cancelled_at.is_(None),
                       DEADLINES.c.due_at > now, DEADLINES.c.due_at <= horizon)
            ).scalar()
        if next_due is not None:
            self.scheduler.add_job(self.sweep, "date", run_date=next_due, id="next-due", replace_existing=True,
                                   max_instances=2)

    def deliver(self) -> None:
        try:
            report = deliver_due(self.app)
        except DatabaseUnavailable as error:  # what was claimed and not recorded is settled on the next pass
            self.say(f"scheduler: outbox: {error}; trying again in a second")
            return
        if report.retried or report.failed:
            self.say(f"scheduler: outbox sent {report.sent}, will retry {report.retried}, failed {report.failed}")

    def run(self) -> int:
        """Run until SIGTERM or Ctrl-C; the batch in progress finishes before the process exits."""
        done = threading.Event()

        def stop(signum: int, _frame: object) -> None:
            self.say(f"scheduler: {signal.Signals(signum).name} received; finishing the current batch")
            self.stopping.set()
            done.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        lock = SingleSchedulerLock(self.app, self.say)
        if not lock.acquire(self.stopping):
            return 0
        try:
            self.start()
            while not done.wait(0.5):
                pass
            self.stop()
        finally:
            lock.release()
        return 0

    def start(self) -> None:
        """Start the jobs; the first sweep runs at once and catches up what was missed."""
        seconds = self.app.config.scheduler.sweep_seconds
        # At once in real time, which APScheduler keeps: with a clock pinned days back it would first count
        # every interval missed since then (about 3 s of start-up per week at 0.5 s).
        self.scheduler.add_job(self.sweep, "interval", seconds=seconds, id="sweep",
                               next_run_time=datetime.now(UTC))
        self.scheduler.add_job(self.deliver, "interval", seconds=1, id="deliver", executor="outbox")
        self.scheduler.start()
        self.say(f"scheduler: active on {self.app.engine.url.render_as_string(hide_password=True)}, "
                 f"sweeping every {seconds}s (pid {os.getpid()})")

    def stop(self) -> None:
        """Let the batch in progress finish, then stop."""
        self.stopping.set()
        self.scheduler.shutdown(wait=True)
        self.say(f"scheduler: stopped after firing {self.fired_total} deadline(s)")


def run_scheduler(app: Redress, say: Callable[[str], None]) -> int:
    return DeadlineScheduler(app, say).run()

