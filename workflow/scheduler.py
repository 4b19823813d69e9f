"""`redress scheduler`: the one long-running process, and the only place that imports APScheduler.

APScheduler only wakes us up; the deadline table says when and `fire_due` says
what. A sweep job runs every `scheduler.sweep_seconds`; each sweep ends by
setting one date job at the next due time before the following sweep, so the
sweeps chain from deadline to deadline and each fires within a fraction of a
second of its due time, with one job in the store whatever the load. On start the
first sweep catches up everything missed while no scheduler ran.

On SQLite one scheduler works a database (`workflow.adapters.scheduler_lock`): a second
one refuses to start. On PostgreSQL any number fire and deliver side by side, each batch
and message claimed with SKIP LOCKED, so none is done twice and a killed one's claims
(its open transaction, its message leases) pass to the others; one of them, holding the
lock, also leads the chores (mailbox polling, the monthly report pack) and the others
take over when its session ends. A lock or a leadership that is lost stops the work it
covered at its next transaction and is said in one line. A database error while taking or
watching the lock is one line (not repeated while it stays the same) and a new connection
is tried a second later.

A database that cannot be used (unreachable, read-only, not a database, a missing file or folder) is one line
and a wait that doubles from a second up to half a minute; the line is repeated only when the error or the
wait changes, and the scheduler says so when the database works again. On SQLite it watches the database
file at its real path: deleted or replaced by another file, the jobs stop at once (no write goes to the old
file), the pooled connections are dropped, and it waits for a usable database at that path and starts again.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from notifications.sender import deliver_due
from workflow.adapters.db import database_fault, redact
from workflow.adapters.models import DEADLINES
from workflow.adapters.scheduler_lock import SCHEDULER, NoLock, SchedulerLock, scheduler_lock
from workflow.bootstrap import Redress
from workflow.domain.errors import DatabaseUnavailable, describe_error
from workflow.services.firing import fire_due

_WATCH_SECONDS = 0.5  # how often the active scheduler checks it still holds the lock
_RETRY_SECONDS = 1.0  # how often a standby tries the lock, and the first wait after a database error
_MAX_BACKOFF_SECONDS = 30.0
_REPORT_CHECK_SECONDS = 300.0  # how often the active scheduler looks whether the monthly report pack is due


class Backoff:
    """Waits that double after each failure up to a cap; a line to say only when the error or the wait changes."""

    def __init__(self, first: float = _RETRY_SECONDS, cap: float = _MAX_BACKOFF_SECONDS) -> None:
        self.first, self.cap = first, cap
        self.delay = 0.0
        self._next_try = 0.0
        self._last_line: str | None = None

    def ready(self) -> bool:
        return time.monotonic() >= self._next_try

    def failed(self, error: str) -> str | None:
        self.delay = min(self.cap, self.delay * 2) if self.delay else self.first
        self._next_try = time.monotonic() + self.delay
        line = f"{error}; trying again in {self.delay:g}s"
        if line == self._last_line:
            return None
        self._last_line = line
        return line

    def succeeded(self) -> bool:
        """Reset; True when this ends a run of failures (worth saying)."""
        recovered = self.delay > 0
        self.delay, self._next_try, self._last_line = 0.0, 0.0, None
        return recovered


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
        self.chores = threading.Event()  # set while this scheduler runs the chores (it leads them on PostgreSQL)
        logger = logging.getLogger("apscheduler.scheduler")
        if not any(isinstance(f, _QuietOverlap) for f in logger.filters):
            logger.addFilter(_QuietOverlap())
        self.scheduler = self._new_scheduler()
        self.fired_total = 0
        self.lock: SchedulerLock = NoLock()
        self._sweeps = Backoff()
        self._deliveries = Backoff()
        self._mail = Backoff()
        self._reports = Backoff()
        self._mailbox_errors: dict[str, str | None] = {}  # what each mailbox said last, so a fault is said once

    @staticmethod
    def _new_scheduler() -> Any:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        # One worker: sweeps and date jobs never overlap, so batches stay small and ordered.
        return BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(1), "outbox": ThreadPoolExecutor(1),
                       "mail": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    def should_stop(self) -> bool:
        """Asked between transactions (and between messages): stop when exiting, no longer active, or when the
        SQLite file is no longer the one the scheduler started on."""
        return self.stopping.is_set() or self.halted.is_set() or self.lock.moved() is not None

    def _failed(self, backoff: Backoff, what: str, error: Exception) -> None:
        """One line for a failed pass (never a traceback, never SQL), and the wait before the next one."""
        fault = database_fault(self.app.url, error)
        line = backoff.failed(f"scheduler: {what}{fault or describe_error(error)}")
        if line:
            self.say(line)

    def _recovered(self, backoff: Backoff, what: str) -> None:
        if backoff.succeeded():
            self.say(f"scheduler: {what}database {redact(self.app.url)} works again")

    def sweep(self) -> None:
        if not self._sweeps.ready():
            return
        try:
            report = fire_due(self.app, should_stop=self.should_stop)
            self._recovered(self._sweeps, "")
            if report.fired:
                self.fired_total += report.fired
                self.say(f"scheduler: fired {report.fired} deadline(s) in {report.batches} batch(es)")
            if report.failed:
                self.say(f"scheduler: {report.failed} deadline(s) failed to fire; kept with their errors for "
                         "another try (`redress deadlines failed`)")
            if not self.should_stop():
                self._plan_next_due()
        except Exception as error:  # noqa: BLE001 - the batch rolled back; a later sweep fires it
            self._failed(self._sweeps, "", error)

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
        if not self._deliveries.ready():
            return
        try:
            report = deliver_due(self.app, should_stop=self.should_stop)
        except Exception as error:  # noqa: BLE001 - what was claimed and not recorded is settled on a later pass
            self._failed(self._deliveries, "outbox: ", error)
            return
        self._recovered(self._deliveries, "outbox: ")
        if report.retried or report.failed:
            self.say(f"scheduler: outbox sent {report.sent}, will retry {report.retried}, failed {report.failed}")

    def read_mail(self) -> None:
        """Take new mail from every configured mailbox; a mailbox that cannot be read is said once, not each time."""
        from workflow.services.mail_in import fetch

        if not self._mail.ready():
            return
        try:
            runs = fetch(self.app, should_stop=self.chores_should_stop)
        except Exception as error:  # noqa: BLE001 - what was not recorded stays in its mailbox for the next pass
            self._failed(self._mail, "mail: ", error)
            return
        self._recovered(self._mail, "mail: ")
        taken = sum(len(run.taken) for run in runs)
        if taken:
            self.say(f"scheduler: took {taken} message(s) from the mailboxes")
        for run in runs:
            if run.error != self._mailbox_errors.get(run.mailbox):
                self.say(f"scheduler: mail: {run.error or run.mailbox + ' is read again'}")
            self._mailbox_errors[run.mailbox] = run.error

    def run(self) -> int:
        """Work until SIGTERM or Ctrl-C; the batch in progress finishes before the process exits.

        On SQLite: stand by until the lock is ours, work while it stays ours, and stand by again if it is lost.
        On PostgreSQL: work at once beside the others, and lead the chores while the lock is ours.
        """
        def stop(signum: int, _frame: object) -> None:
            self.say(f"scheduler: {signal.Signals(signum).name} received; finishing the current batch")
            self.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        lock = self.lock = scheduler_lock(self.app, SCHEDULER)
        try:
            if lock.side_by_side:
                self._run_side_by_side(lock)
                return 0
            while self._become_active(lock):
                self.start()
                line = self._watch(lock)
                if line is None:
                    self.stop()
                    break
                self._halt()
                lock.release()
                self.app.forget_database()  # no pooled connection stays on an old file or a dead session
                self.say(line)
                self.stopping.wait(2 * _RETRY_SECONDS)  # a standby, trying every second, goes first
        finally:
            lock.release()
        return 0

    def _run_side_by_side(self, lock: SchedulerLock) -> None:
        """Fire and deliver beside any other schedulers of the database; lead the chores while the lock is ours.

        Losing the lock (its session ended, the server restarted) stops only the chores; a database that cannot
        be used is said by the sweeps, which wait and try again.
        """
        if not self._wait_for_database():
            return
        self.start(chores=False)
        next_try = 0.0
        while not self.stopping.wait(_WATCH_SECONDS):
            if self.chores.is_set():
                reason = lock.lost()
                if reason is not None:
                    self._stop_chores()
                    self.say(f"scheduler: no longer leads the chores ({reason}); still firing and sending")
                continue
            if time.monotonic() < next_try:
                continue
            next_try = time.monotonic() + _RETRY_SECONDS
            try:
                if lock.try_acquire():
                    self._start_chores()
                    self.say(f"scheduler: leads the chores ({self._chore_names()})")
            except DatabaseUnavailable:
                continue  # the sweeps say what is wrong with the database
        self.stop()

    def _wait_for_database(self) -> bool:
        """Wait until the database can be used (True), saying what is wrong once per error, or until told to
        stop (False)."""
        errors = Backoff()
        while not self.stopping.is_set():
            try:
                self.app.check()
            except DatabaseUnavailable as error:
                self.app.forget_database()
                self._failed(errors, "", error)
                self.stopping.wait(errors.delay)
                continue
            self._recovered(errors, "")
            return True
        return False

    def _become_active(self, lock: SchedulerLock) -> bool:
        """Try the lock every second until it is ours on a usable database (True) or the process is told to
        stop (False).

        A database that cannot be used is one line (repeated only when the error or the wait changes) and a
        doubling wait; the lock's connection is dropped and a new one is tried.
        """
        waited = False
        errors = Backoff()
        while not self.stopping.is_set():
            try:
                self.app.check()  # before the lock, so no lock file is made beside a missing database
                if lock.try_acquire():
                    self._recovered(errors, "")
                    if waited:
                        self.say("scheduler: the scheduler lock is free; taking over")
                    return True
                holder = lock.holder()
            except DatabaseUnavailable as error:
                self.app.forget_database()
                self._failed(errors, "", error)
                self.stopping.wait(errors.delay)
                continue
            if not waited or errors.succeeded():
                self.say(f"scheduler: {holder} holds this database's scheduler lock; standing by")
            waited = True
            self.stopping.wait(_RETRY_SECONDS)
        return False

    def _watch(self, lock: SchedulerLock) -> str | None:
        """Check the lock and the database file every half second while active: the line saying why the jobs
        must stop, or None once told to stop."""
        while not self.stopping.wait(_WATCH_SECONDS):
            moved = lock.moved()
            if moved is not None:
                return (f"scheduler: {moved}; stopped firing and sending, waiting for a usable database at "
                        "that path")
            reason = lock.lost()
            if reason is not None:
                return (f"scheduler: lost the scheduler lock ({reason}); stopped firing and sending, "
                        "trying to become active again")
        return None

    def mail_reports(self) -> None:
        """The monthly report pack, once it is due and until it is queued (a chore for the active scheduler)."""
        from workflow.read.reports.mailing import mail_due_pack

        if not self._reports.ready():
            return
        try:
            month, queued = mail_due_pack(self.app)
        except Exception as error:  # noqa: BLE001 - nothing was queued; the next pass tries again
            self._failed(self._reports, "reports: ", error)
            return
        self._recovered(self._reports, "reports: ")
        if queued:
            self.say(f"scheduler: the {month} report pack is queued for {queued} reader(s)")

    def start(self, *, chores: bool = True) -> None:
        """Start the jobs; the first sweep runs at once and catches up what was missed."""
        seconds = self.app.config.scheduler.sweep_seconds
        self.halted.clear()
        self._sweeps, self._deliveries, self._mail, self._reports = Backoff(), Backoff(), Backoff(), Backoff()
        # At once in real time, which APScheduler keeps: with a clock pinned days back it would first count
        # every interval missed since then (about 3 s of start-up per week at 0.5 s).
        self.scheduler.add_job(self.sweep, "interval", seconds=seconds, id="sweep",
                               next_run_time=datetime.now(UTC))
        self.scheduler.add_job(self.deliver, "interval", seconds=1, id="deliver", executor="outbox")
        self.scheduler.start()
        if chores:
            self._start_chores()
        where = self.app.engine.url.render_as_string(hide_password=True)
        if self.lock.side_by_side:
            self.say(f"scheduler: firing and sending on {where} beside any other schedulers, sweeping every "
                     f"{seconds}s (pid {os.getpid()})")
        else:
            self.say(f"scheduler: active on {where}, sweeping every {seconds}s (pid {os.getpid()})")

    def _chore_names(self) -> str:
        names = (["mailbox polling"] * bool(self.app.config.mail.mailboxes)
                 + ["the monthly report pack"] * (self.app.config.reports.mail.day is not None))
        return ", ".join(names) or "none configured"

    def _start_chores(self) -> None:
        """The jobs only one scheduler of a database runs: reading the mailboxes, the monthly report pack."""
        self.chores.set()
        self._mail, self._reports = Backoff(), Backoff()
        if self.app.config.mail.mailboxes:
            self.scheduler.add_job(self.read_mail, "interval", seconds=self.app.config.mail.fetch_every_seconds,
                                   id="mail", executor="mail", next_run_time=datetime.now(UTC),
                                   replace_existing=True)
        if self.app.config.reports.mail.day is not None:
            self.scheduler.add_job(self.mail_reports, "interval", seconds=_REPORT_CHECK_SECONDS, id="reports",
                                   executor="mail", next_run_time=datetime.now(UTC), replace_existing=True)

    def _stop_chores(self) -> None:
        """No more chore passes; one in progress stops at its next message (`chores_should_stop`)."""
        self.chores.clear()
        for job in ("mail", "reports"):
            if self.scheduler.get_job(job) is not None:
                self.scheduler.remove_job(job)

    def chores_should_stop(self) -> bool:
        return self.should_stop() or not self.chores.is_set()

    def _halt(self) -> None:
        """Stop the jobs: the work in progress stops at its next transaction (or message) and is waited for."""
        self.halted.set()
        self.chores.clear()
        self.scheduler.shutdown(wait=True)
        self.scheduler = self._new_scheduler()  # a stopped APScheduler cannot be started again

    def stop(self) -> None:
        """Let the batch in progress finish, then stop."""
        self.stopping.set()
        self._halt()
        self.say(f"scheduler: stopped after firing {self.fired_total} deadline(s)")


def run_scheduler(app: Redress, say: Callable[[str], None]) -> int:
    return DeadlineScheduler(app, say).run()
