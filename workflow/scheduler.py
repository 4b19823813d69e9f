"""`redress scheduler`: the one long-running process, and the only place that imports APScheduler.

APScheduler only wakes us up; the deadline table says when and `fire_due` says
what. A sweep job runs every `scheduler.sweep_seconds`; each sweep ends by
setting one date job at the next due time before the following sweep, so the
sweeps chain from deadline to deadline and each fires within a fraction of a
second of its due time, with one job in the store whatever the load. On start the
first sweep catches up everything missed while no scheduler ran.

One active scheduler per database (`workflow.scheduler_lock`): on SQLite a
second one refuses to start; on PostgreSQL it stands by and takes over when the
active one's session ends. The active one checks its lock every half second;
when it is lost it stops its jobs (the batch or message in progress stops at
its next transaction), says so in one line and stands by again. A database
error while taking or watching the lock is one line (not repeated while it
stays the same) and a new connection is tried a second later, so a server
restart leaves one active and the others standing by.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from notifications.sender import deliver_due
from workflow.bootstrap import Redress
from workflow.errors import DatabaseUnavailable
from workflow.firing import fire_due
from workflow.models import DEADLINES
from workflow.scheduler_lock import SCHEDULER, SchedulerLock, scheduler_lock

_WATCH_SECONDS = 0.5  # how often the active scheduler checks it still holds the lock
_RETRY_SECONDS = 1.0  # how often a standby tries the lock, and how long to wait after a database error


class _QuietOverlap(logging.Filter):
    """A sweep still running when the next one is due is expected (the next is skipped), not a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


class DeadlineScheduler:
    """APScheduler wiring: a sweep job, a date job at the next due time, and an outbox delivery job."""

    def __init__(self, app: Redress, say: Callable[[str], None]) -> None:
        self.app = app
        self.say = say
        self.stopping = threading.Event()  # SIGTERM or Ctrl-C: finish the batch, then exit
        self.halted = threading.Event()  # set from losing the lock until the jobs start again
        logger = logging.getLogger("apscheduler.scheduler")
        if not any(isinstance(f, _QuietOverlap) for f in logger.filters):
            logger.addFilter(_QuietOverlap())
        self.scheduler = self._new_scheduler()
        self.fired_total = 0

    @staticmethod
    def _new_scheduler() -> Any:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        # One worker: sweeps and date jobs never overlap, so batches stay small and ordered.
        return BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(1), "outbox": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    def should_stop(self) -> bool:
        """Asked between transactions (and between messages): stop when exiting or no longer active."""
        return self.stopping.is_set() or self.halted.is_set()

    def sweep(self) -> None:
        try:
            report = fire_due(self.app, should_stop=self.should_stop)
            if report.fired:
                self.fired_total += report.fired
                self.say(f"scheduler: fired {report.fired} deadline(s) in {report.batches} batch(es)")
            if report.failed:
                self.say(f"scheduler: {report.failed} deadline(s) failed to fire; kept with their errors for "
                         "another try (`redress deadlines failed`)")
            if not self.should_stop():
                self._plan_next_due()
        except DatabaseUnavailable as error:  # the batch rolled back; the next sweep fires it
            self.say(f"scheduler: {error}; trying again at the next sweep")

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
            report = deliver_due(self.app, should_stop=self.should_stop)
        except DatabaseUnavailable as error:  # what was claimed and not recorded is settled on the next pass
            self.say(f"scheduler: outbox: {error}; trying again in a second")
            return
        if report.retried or report.failed:
            self.say(f"scheduler: outbox sent {report.sent}, will retry {report.retried}, failed {report.failed}")

    def run(self) -> int:
        """Stand by until the lock is ours, work while it stays ours, and stand by again if it is lost.

        Runs until SIGTERM or Ctrl-C; the batch in progress finishes before the process exits.
        """
        def stop(signum: int, _frame: object) -> None:
            self.say(f"scheduler: {signal.Signals(signum).name} received; finishing the current batch")
            self.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        lock = scheduler_lock(self.app, SCHEDULER)
        try:
            while self._become_active(lock):
                self.start()
                reason = self._watch(lock)
                if reason is None:
                    self.stop()
                    break
                self._halt()
                self.say(f"scheduler: lost the scheduler lock ({reason}); stopped firing and sending, "
                         "trying to become active again")
                self.stopping.wait(2 * _RETRY_SECONDS)  # a standby, trying every second, goes first
        finally:
            lock.release()
        return 0

    def _become_active(self, lock: SchedulerLock) -> bool:
        """Try the lock every second until it is ours (True) or the process is told to stop (False).

        A database error is one line (repeated only when it changes); the lock's connection is dropped and a
        new one is tried after a second.
        """
        waited = False
        last_error = None
        while not self.stopping.is_set():
            try:
                if lock.try_acquire():
                    if waited:
                        self.say("scheduler: the scheduler lock is free; taking over")
                    return True
                holder = lock.holder()
            except DatabaseUnavailable as error:
                line = f"scheduler: {error}; trying again in a second"
                if line != last_error:
                    self.say(line)
                last_error = line
            else:
                if not waited or last_error:
                    self.say(f"scheduler: {holder} holds this database's scheduler lock; standing by")
                waited, last_error = True, None
            self.stopping.wait(_RETRY_SECONDS)
        return False

    def _watch(self, lock: SchedulerLock) -> str | None:
        """Check the lock every half second while active: why it was lost, or None once told to stop."""
        while not self.stopping.wait(_WATCH_SECONDS):
            reason = lock.lost()
            if reason is not None:
                return reason
        return None

    def start(self) -> None:
        """Start the jobs; the first sweep runs at once and catches up what was missed."""
        seconds = self.app.config.scheduler.sweep_seconds
        self.halted.clear()
        # At once in real time, which APScheduler keeps: with a clock pinned days back it would first count
        # every interval missed since then (about 3 s of start-up per week at 0.5 s).
        self.scheduler.add_job(self.sweep, "interval", seconds=seconds, id="sweep",
                               next_run_time=datetime.now(UTC))
        self.scheduler.add_job(self.deliver, "interval", seconds=1, id="deliver", executor="outbox")
        self.scheduler.start()
        self.say(f"scheduler: active on {self.app.engine.url.render_as_string(hide_password=True)}, "
                 f"sweeping every {seconds}s (pid {os.getpid()})")

    def _halt(self) -> None:
        """Stop the jobs: the work in progress stops at its next transaction (or message) and is waited for."""
        self.halted.set()
        self.scheduler.shutdown(wait=True)
        self.scheduler = self._new_scheduler()  # a stopped APScheduler cannot be started again

    def stop(self) -> None:
        """Let the batch in progress finish, then stop."""
        self.stopping.set()
        self._halt()
        self.say(f"scheduler: stopped after firing {self.fired_total} deadline(s)")


def run_scheduler(app: Redress, say: Callable[[str], None]) -> int:
    return DeadlineScheduler(app, say).run()
