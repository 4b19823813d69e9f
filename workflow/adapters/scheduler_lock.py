"""The scheduler lock: who fires deadlines and delivers the outbox on a database, and who does the chores.

On SQLite it is a file lock named after the database file's real path, held by `redress scheduler` for its
life or by `redress tick` / `redress outbox send` for one run: one process at a time does everything. On
PostgreSQL every scheduler fires and delivers side by side (each batch and message is claimed row by row with
SKIP LOCKED), and the lock, a session advisory lock on a dedicated connection, only says which one leads the
singleton chores (mailbox polling, the monthly report pack). A session can end under its holder, so the
holder asks `lost()` often and stops its chores when it says why.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from sqlalchemy import create_engine, exc, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import NullPool

from workflow.adapters.db import redact, unavailable
from workflow.bootstrap import Redress
from workflow.domain.errors import DatabaseUnavailable, SchedulerBusy

SCHEDULER = "scheduler"
ADVISORY_KEY = 583_020_551  # the key every Redress scheduler of a database agrees on (below 2**32: objid)
_HOLDER_PREFIX = "redress scheduler pid "
_HOLDER = text(
    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.classid = 0 AND l.objid = :key AND l.objsubid = 1 AND l.granted "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
_STILL_HELD = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = :key "
    "AND objsubid = 1 AND granted AND pid = pg_backend_pid())"
)


class SchedulerLock(Protocol):
    side_by_side: bool  # True: schedulers fire and deliver together; the lock only elects the chores' leader

    def try_acquire(self) -> bool:
        """Take the lock if it is free; False if the caller may wait for it, SchedulerBusy if it must not."""

    def holder(self) -> str:
        """Who holds the lock, for a message ("another scheduler (pid 42)")."""

    def lost(self) -> str | None:
        """None while the lock is still ours, else why it is not (the lock is then released)."""

    def moved(self) -> str | None:
        """None while the database is the one the lock was taken on, else what happened to it (a SQLite file
        deleted or replaced)."""

    def release(self) -> None: ...


def _described(command: str, pid: str) -> str:
    return f"another scheduler (pid {pid})" if command == SCHEDULER else f"`redress {command}` (pid {pid})"


class NoLock:
    """Nothing to share: an in-memory SQLite database, or a one-off run on PostgreSQL."""

    side_by_side = False

    def try_acquire(self) -> bool:
        return True

    def holder(self) -> str:
        return "nobody"

    def lost(self) -> str | None:
        return None

    def moved(self) -> str | None:
        return None

    def release(self) -> None:
        pass


class FileLock:
    """An flock on `<real path of the database>.scheduler.lock`, which holds "<pid> <command>" while held."""

    side_by_side = False

    def __init__(self, database: str, command: str) -> None:
        self.database = os.path.realpath(database)
        self.path = f"{self.database}.scheduler.lock"
        self.command = command
        self._fd: int | None = None
        self._waiting_for = "another process"
        self._database_file: os.stat_result | None = None  # the file the lock was taken on

    def try_acquire(self) -> bool:
        import fcntl

        try:
            self._database_file = os.stat(self.database)
        except OSError:  # not made yet: nothing to watch
            self._database_file = None
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise DatabaseUnavailable(f"cannot use database {self.database}: cannot open its scheduler lock "
                                      f"{self.path}: {error.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            command, pid = self._read_holder(fd)
            os.close(fd)
            return self._busy(command, pid)
        record = f"{os.getpid()} {self.command}\n".encode()
        os.pwrite(fd, record, 0)
        os.ftruncate(fd, len(record))
        self._fd = fd
        return True

    def _busy(self, command: str, pid: str) -> bool:
        """A scheduler waits for a one-off run to end; everything else is refused with who is in the way."""
        if self.command == SCHEDULER:
            if command == SCHEDULER:
                raise SchedulerBusy(f"another scheduler (pid {pid}) is already running on {self.database}; "
                                    "SQLite allows one scheduler per database")
            self._waiting_for = _described(command, pid)
            return False
        if command == SCHEDULER:
            raise SchedulerBusy(f"a scheduler (pid {pid}) is active on {self.database} and already fires "
                                f"deadlines and delivers the outbox; `redress {self.command}` is not needed")
        raise SchedulerBusy(f"`redress {command}` (pid {pid}) is already running on {self.database}; "
                            "try again when it ends")

    @staticmethod
    def _read_holder(fd: int) -> tuple[str, str]:
        """(command, pid) from the lock file; a holder that has only just taken it may not have written yet."""
        for _ in range(5):
            first = os.pread(fd, 200, 0).decode(errors="replace").partition("\n")[0].split(maxsplit=1)
            if first:
                return (first[1] if len(first) > 1 else SCHEDULER), first[0]
            time.sleep(0.02)
        return SCHEDULER, "unknown"

    def holder(self) -> str:
        return self._waiting_for

    def moved(self) -> str | None:
        """The database file at the path is gone or another file: connections open on the old one would write
        into a file nobody reads (an unlinked inode) or into the wrong database."""
        if self._database_file is None:
            return None
        try:
            now = os.stat(self.database)
        except FileNotFoundError:
            return f"the database file {self.database} was deleted"
        except OSError as error:
            return f"the database file {self.database} cannot be read: {error.strerror}"
        if not os.path.samestat(now, self._database_file):
            return f"the database file {self.database} was replaced by another file"
        return None

    def lost(self) -> str | None:
        if self._fd is None:
            return "the lock was released"
        try:
            same = os.path.samestat(os.fstat(self._fd), os.stat(self.path))
        except OSError:
            same = False
        if same:
            return None
        self.release()
        return f"the lock file {self.path} was removed or replaced"

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)  # no stale pid for the next reader; closing lets go of the flock
            os.close(self._fd)
            self._fd = None


class AdvisoryLock:
    """A session advisory lock on a connection of its own, which the holder checks for its life."""

    side_by_side = True

    def __init__(self, url: str) -> None:
        self.url = url
        name = f"{_HOLDER_PREFIX}{os.getpid()}"
        self._engine = create_engine(url, poolclass=NullPool, connect_args=_lock_connection_args(name))
        self._connection: Connection | None = None

    def _execute(self, statement: Any) -> Any:
        """One statement on the lock's connection (opened on first use); any failure discards the connection."""
        try:
            if self._connection is None:
                self._connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            return self._connection.execute(statement, {"key": ADVISORY_KEY}).scalar()
        except exc.SQLAlchemyError as error:
            self._discard()
            raise unavailable(self.url, error) from None

    def try_acquire(self) -> bool:
        return bool(self._execute(text("SELECT pg_try_advisory_lock(:key)")))

    def holder(self) -> str:
        name = self._execute(_HOLDER) or ""
        pid = name.removeprefix(_HOLDER_PREFIX) if name.startswith(_HOLDER_PREFIX) else "unknown"
        return _described(SCHEDULER, pid)

    def moved(self) -> str | None:
        return None

    def lost(self) -> str | None:
        try:
            held = self._execute(_STILL_HELD)
        except DatabaseUnavailable as error:
            return str(error)
        if held:
            return None
        self._discard()
        return f"the session on {redact(self.url)} no longer holds the scheduler lock"

    def _discard(self) -> None:
        """Close the connection (ending the session ends its lock); a broken one is only dropped."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.invalidate()
            connection.close()
        except exc.SQLAlchemyError:
            pass

    def release(self) -> None:
        self._discard()


def _lock_connection_args(name: str) -> dict[str, Any]:
    """Short timeouts on the lock's connection, so a dead server or network is noticed in seconds."""
    args: dict[str, Any] = {"connect_timeout": 5, "application_name": name, "keepalives": 1,
                            "keepalives_idle": 5, "keepalives_interval": 1, "keepalives_count": 3}
    try:
        import psycopg

        if psycopg.pq.version() >= 120000:  # libpq 12 knows tcp_user_timeout: unanswered queries fail too
            args["tcp_user_timeout"] = 5000
    except ImportError:  # pragma: no cover - PostgreSQL URLs need psycopg
        pass
    return args


def scheduler_lock(app: Redress, command: str) -> SchedulerLock:
    """The lock `command` needs on this database (`scheduler`, `tick` or `outbox send`)."""
    if app.engine.dialect.name == "sqlite":
        database = make_url(app.url).database
        if not database or database == ":memory:":
            return NoLock()
        return FileLock(database, command)
    return AdvisoryLock(app.url) if command == SCHEDULER else NoLock()


@contextmanager
def one_off_run(app: Redress, command: str) -> Iterator[None]:
    """Hold the lock for one run of `redress tick` or `redress outbox send`; SchedulerBusy while it is taken."""
    app.check()  # no lock file is made beside a database that cannot be used
    lock = scheduler_lock(app, command)
    if not lock.try_acquire():
        raise SchedulerBusy(f"{lock.holder()} holds the scheduler lock")
    try:
        yield
    finally:
        lock.release()
