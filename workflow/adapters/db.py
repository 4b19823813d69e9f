"""Engine creation and the unit of work: one use case, one transaction, nothing half-written."""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, cast

from sqlalchemy import event, exc, text
from sqlalchemy.engine import Connection, CursorResult, Engine, make_url
from sqlmodel import Session, create_engine

from workflow.adapters.checkpoints import FALLBACK_PAGES, Checkpointer
from workflow.domain.errors import (
    ConcurrentChange,
    ConfigError,
    DatabaseUnavailable,
    InvalidInput,
    RedressError,
    describe_error,
)

_log = logging.getLogger("redress.db")

# The Alembic revision this code expects; tests check it is the migrations' head.
SCHEMA_REVISION = "0015"


_SUPPORTED = "Redress works with SQLite (a file path or sqlite:///path) and PostgreSQL (postgresql://...)"


def database_url(value: str, base_dir: Path) -> str:
    """A full SQLAlchemy URL: a bare path or relative sqlite path is made absolute against `base_dir`.

    A URL Redress cannot use (another database, a driver that is not installed) is a ConfigError.
    """
    if "://" not in value:
        value = f"sqlite:///{value}"
    try:
        url = make_url(value)
    except exc.ArgumentError:
        raise ConfigError(f"database URL {redact(value)} is not a URL Redress can read; {_SUPPORTED}") from None
    backend, _, driver = url.drivername.partition("+")
    if backend not in ("sqlite", "postgresql", "postgres") or driver not in ("", "pysqlite", "psycopg"):
        raise ConfigError(f"database URL {redact(value)}: {url.drivername!r} is not supported; {_SUPPORTED}")
    if url.drivername == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database).expanduser()
        if not path.is_absolute():
            path = base_dir / path
        url = url.set(database=str(path))
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def redact(url: str) -> str:
    """The URL with any password hidden, for error messages."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for PostgreSQL or an in-memory database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def make_engine(url: str, lock_wait_seconds: float = 30) -> Engine:
    """An engine tuned for the dialect: SQLite gets WAL, a busy timeout and BEGIN IMMEDIATE for writes.

    A lock held by another process is waited for `lock_wait_seconds` (SQLite's busy timeout, PostgreSQL's
    lock_timeout), then the change fails as a locked database instead of hanging.
    """
    try:
        return _make_engine(url, lock_wait_seconds)
    except ImportError as error:  # PostgreSQL without its driver (the `postgres` extra)
        raise ConfigError(f"database URL {redact(url)} needs the {error.name or 'driver'} module; "
                          "install Redress with its `postgres` extra") from None


def _make_engine(url: str, lock_wait_seconds: float) -> Engine:
    wait_ms = int(lock_wait_seconds * 1000)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": lock_wait_seconds})
        event.listen(engine, "connect", lambda connection, _record: _sqlite_on_connect(connection, wait_ms))
        event.listen(engine, "begin", _sqlite_on_begin)
        writer = _SqliteWriter(lock_wait_seconds)
        engine.redress_writer = writer  # type: ignore[attr-defined]
        event.listen(engine, "engine_disposed", lambda _engine: writer.drop())
        return engine
    return create_engine(url, pool_pre_ping=False,
                         connect_args={"connect_timeout": 5, "options": f"-c lock_timeout={wait_ms}"})


class _SqliteWriter:
    """This process's writers to one SQLite file: whose turn it is, and the connection they write on.

    SQLite has one writer at a time. Writers in one process (the server's threads, the scheduler's jobs) take
    turns on `lock` instead of meeting in SQLite's busy handler, which sleeps and retries: the queue of waiting
    writers is first come, first served and nobody sleeps past their turn. Taking turns, they share one
    connection kept open between turns: checking a connection out of the pool and back in (with its reset)
    cost a small transaction more than its SQL did. A connection that met a database fault is closed, and the
    next turn opens another; `Engine.dispose()` closes it too. While they write, a checkpointer copies the log
    back into the file beside them (workflow/adapters/checkpoints.py).
    """

    def __init__(self, wait_seconds: float) -> None:
        self.lock = threading.RLock()
        self.wait_seconds = wait_seconds
        self._kept: Connection | None = None
        self._session: Session
        self._lent = False  # a unit of work is writing on `_kept` (one in the same thread may nest: RLock)
        self._stale = False  # dropped while lent: closed when given back
        self._checkpointer: Checkpointer | None = None

    def lend(self, engine: Engine) -> tuple[Connection, Session] | None:
        """The kept connection and its session (reused too: a new one cost more than closing it) for the turn
        just taken; None for a writer nested in another's turn, which opens a connection of its own."""
        if self._lent:
            return None
        if self._stale:  # the engine was disposed as the last turn ended
            self._close()
        if self._kept is None or self._kept.closed or self._kept.invalidated:
            kept = writer_connection(engine)
            try:
                # Out of the pool's keeping: a checked-out connection is held for the pool's sake, which would
                # keep an engine nobody disposed (and its checkpointer) alive; detached, it goes with the engine.
                kept.detach()
                session = writer_session(kept)
            except BaseException:
                kept.close()
                raise
            self._kept, self._session = kept, session
            self._check_pointing(engine, kept)
        self._session.info.clear()  # what a turn that did not commit left for its commit
        self._lent = True
        return self._kept, self._session

    def _check_pointing(self, engine: Engine, kept: Connection) -> None:
        """Have this file's log copied back beside the writers (workflow/adapters/checkpoints.py)."""
        path = engine.url.database
        if not path or path == ":memory:":
            return
        try:
            if self._checkpointer is None:
                self._checkpointer = Checkpointer(path, self)
            kept.connection.dbapi_connection.execute(  # type: ignore[union-attr]
                f"PRAGMA wal_autocheckpoint={FALLBACK_PAGES}")
        except (RuntimeError, sqlite3.Error) as error:  # no thread to be had: the writers checkpoint, as by default
            _log.warning("checkpoints: %s; the writers copy the log back themselves", error)

    def committed(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.committed()

    def give_back(self, usable: bool) -> None:
        """The kept connection's turn is over; one that met a database fault is closed, not kept."""
        self._lent = False
        if not usable or self._stale:
            self._close()

    def drop(self) -> None:
        """Close the kept connection once the turn being taken is over (or, if it lasts longer than writers wait
        for a turn, when the next turn begins)."""
        if not self.lock.acquire(timeout=self.wait_seconds):
            self._stale = True
            return
        try:
            if self._lent:
                self._stale = True
            else:
                self._close()
        finally:
            self.lock.release()

    def _close(self) -> None:
        """Close the driver's connection itself (detached from the pool, closing it does)."""
        kept, self._kept, self._stale = self._kept, None, False
        if self._checkpointer is not None:
            self._checkpointer.stop(self.wait_seconds)
            self._checkpointer = None
        if kept is not None:
            try:
                kept.close()
            except exc.DBAPIError:
                pass


def _writer_of(engine: Engine) -> _SqliteWriter | None:
    return getattr(engine, "redress_writer", None)


def writer_connection(engine: Engine) -> Connection:
    """A connection whose transactions take the write lock up front (`_sqlite_on_begin`)."""
    return engine.connect().execution_options(redress_write=True)


def writer_session(connection: Connection) -> Session:
    """A session on a writer's connection. rollback_only: the session's commit leaves the transaction to the
    unit of work's `commit()`, its rollback ends it."""
    return Session(bind=connection, expire_on_commit=False, autoflush=False, join_transaction_mode="rollback_only")


def _sqlite_on_connect(dbapi_connection: Any, wait_ms: int) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred only).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={wait_ms}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    # A writer takes the write lock up front, so two writers queue instead of
    # failing when one tries to upgrade a read snapshot another has outdated.
    # Sent on the driver's connection: SQLAlchemy's statement machinery costs more than a small transaction.
    begin = "BEGIN IMMEDIATE" if connection.get_execution_options().get("redress_write") else "BEGIN"
    try:
        connection.connection.dbapi_connection.execute(begin)
    except sqlite3.Error as error:  # raised as SQLAlchemy would have, for the unit of work to name
        raise exc.DBAPIError.instance(begin, None, error, sqlite3.Error) from None


def check_schema(engine: Engine, url: str) -> None:
    """Refuse to work on a database that is unreachable or not at this code's schema revision.

    A SQLite file that does not exist is not created (SQLite would make an empty one).
    """
    path = sqlite_file(url)
    if path is not None and not path.exists():
        if not path.parent.is_dir():
            raise unavailable(url, FileNotFoundError(f"its folder {path.parent} does not exist"))
        raise DatabaseUnavailable(
            f"database {redact(url)} has no Redress schema; run `redress db upgrade` (the file does not exist yet)"
        )
    try:
        with engine.connect() as connection:
            current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except exc.OperationalError as error:
        if _missing_table(error):
            raise DatabaseUnavailable(
                f"database {redact(url)} has no Redress schema; run `redress db upgrade`"
            ) from None
        raise unavailable(url, error) from None
    except exc.ProgrammingError:
        raise DatabaseUnavailable(
            f"database {redact(url)} has no Redress schema; run `redress db upgrade`"
        ) from None
    except (exc.DBAPIError, OSError) as error:  # a file that is not a database, a dropped connection
        raise unavailable(url, error) from None
    if current != SCHEMA_REVISION:
        raise DatabaseUnavailable(
            f"database {redact(url)} is at schema revision {current}, this Redress needs "
            f"{SCHEMA_REVISION}; run `redress db upgrade`"
        )


def _missing_table(error: exc.OperationalError) -> bool:
    return "no such table" in str(error.orig)


def unavailable(url: str, error: BaseException) -> DatabaseUnavailable:
    """A one-line error for a database that cannot be reached or used.

    Only the driver's own message is kept: SQLAlchemy's text adds the SQL and its parameters (personal data).
    """
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    reason = lines[0] if lines else type(cause).__name__
    path = sqlite_file(url)
    if path is not None and ("unable to open database file" in reason or "readonly database" in reason):
        reason = _unopenable(path) or reason
    if reason in ("database is locked", "canceling statement due to lock timeout"):
        reason = ("locked: another process held a lock longer than database.lock_wait_seconds; "
                  "nothing was written, try again")
    return DatabaseUnavailable(f"cannot use database {redact(url)}: {reason}")


def _unopenable(path: Path) -> str | None:
    """Why SQLite cannot open `path`, in words an operator can act on."""
    if not path.parent.is_dir():
        return f"its folder {path.parent} does not exist"
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return f"its folder {path.parent} is read-only (SQLite writes its -wal and -shm files beside the database)"
    if path.exists() and not os.access(path, os.W_OK):
        return "the file is read-only"
    return None


def database_fault(url: str, error: BaseException) -> DatabaseUnavailable | None:
    """The one line for a database error that reached an edge (the CLI, a scheduler job) as it is; None for any
    other error."""
    if isinstance(error, DatabaseUnavailable):
        return error
    return unavailable(url, error) if isinstance(error, exc.DBAPIError) else None


# PostgreSQL gave up one of two transactions waiting on each other's rows (deadlock, serialization failure):
# that transaction wrote nothing and can simply run again.
_LOCK_CONFLICTS = frozenset({"40P01", "40001"})


def is_lock_conflict(error: BaseException) -> bool:
    """A transaction the database rolled back because another held the rows it needed; not a fault."""
    return isinstance(error, exc.DBAPIError) and getattr(error.orig, "sqlstate", None) in _LOCK_CONFLICTS


def is_database_fault(error: BaseException) -> bool:
    """A database that cannot be used (unreachable, locked, read-only, not a database), not a refused change."""
    return isinstance(error, (exc.OperationalError, exc.InterfaceError)) or type(error) is exc.DatabaseError


def insert_returning_id(session: Session, statement: Any, values: dict[str, Any]) -> int:
    """Execute an INSERT of one row and return its new primary key."""
    result = cast(CursorResult[Any], connection_of(session).execute(statement, values))
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def connection_of(session: Session) -> Connection:
    """The connection of the session's transaction, for the hot paths to run their statements on.

    A statement run through the ORM session pays for the session's bookkeeping, which on SQLite costs more
    than running the statement; on the connection it is the same statement in the same transaction.
    """
    bind = session.bind
    return bind if isinstance(bind, Connection) else session.connection()


_BEFORE_COMMIT = "steps before commit"


def before_commit(session: Session, step: Callable[[Session], None]) -> None:
    """Have `step` run once, just before the session's unit of work commits: a write that gathers up over a use
    case and is made once (each complaint's next breach, workflow/services/clocks.py)."""
    steps = session.info.setdefault(_BEFORE_COMMIT, [])
    if step not in steps:
        steps.append(step)


class UnitOfWork:
    """A session whose changes are committed together by `commit()` or not at all.

    A writer's transaction is begun on a connection up front (on SQLite: BEGIN IMMEDIATE, so writers queue
    for the write lock) and the session joins it; `connection_of` hands that connection to the hot paths.
    Database errors leave as domain errors: a lost race as ConcurrentChange, an
    unreachable server as DatabaseUnavailable.
    """

    def __init__(self, engine: Engine, url: str, *, write: bool) -> None:
        self._engine = engine
        self._url = url
        self._write = write
        self._turn: _SqliteWriter | None = None  # this process's SQLite writers, while this one has the turn
        self._connection: Connection | None = None  # a writer's, begun at the start
        self._kept = False  # `_connection` is the SQLite writers' kept one
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        if not self._write:
            self.session = Session(self._engine, expire_on_commit=False, autoflush=False)
            return self
        writer = _writer_of(self._engine)
        if writer is not None and not writer.lock.acquire(timeout=writer.wait_seconds):
            raise unavailable(self._url, sqlite3.OperationalError("database is locked"))
        self._turn = writer
        try:
            lent = writer.lend(self._engine) if writer is not None else None
            if lent is None:
                self._connection = writer_connection(self._engine)
                self.session = writer_session(self._connection)
            else:
                (self._connection, self.session), self._kept = lent, True
            self._connection.begin()
        except exc.DBAPIError as error:
            self._close_connection(usable=False)
            self._end_turn()
            raise unavailable(self._url, error) from None
        except BaseException:  # whatever it was, the turn is given up: other writers must not wait on it
            self._close_connection(usable=False)
            self._end_turn()
            raise
        return self

    def _end_turn(self) -> None:
        if self._turn is not None:
            self._turn.lock.release()
            self._turn = None

    def _close_connection(self, usable: bool) -> None:
        """Close the connection, or give the SQLite writers' kept one back (closed if it is not `usable`)."""
        if self._connection is None:
            return
        if self._kept and self._turn is not None:
            self._turn.give_back(usable and not self._connection.in_transaction())
        else:
            self._connection.close()
        self._connection = None
        self._kept = False

    def commit(self) -> None:
        for step in self.session.info.pop(_BEFORE_COMMIT, []):
            step(self.session)
        if self._connection is None:
            self.session.commit()
            return
        if self.session.in_transaction():
            self.session.commit()
        if self._connection.in_transaction():
            self._connection.commit()
            if self._kept and self._turn is not None:
                self._turn.committed()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        error: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        usable = error is None or not is_database_fault(error)
        try:
            self.session.rollback()
            if self._connection is not None and self._connection.in_transaction():
                self._connection.rollback()
        except exc.DBAPIError:
            usable = False
        finally:
            self.session.close()
            self._close_connection(usable)
            self._end_turn()
        if isinstance(error, exc.IntegrityError):
            raise ConcurrentChange(
                "another change to the same record was committed first; nothing was written, try again"
            ) from None
        if error is not None and is_lock_conflict(error):
            raise ConcurrentChange(
                "another change held the same records at the same moment; nothing was written, try again"
            ) from None
        if error is not None and is_database_fault(error):
            raise unavailable(self._url, error) from None


def refused_statement(error: BaseException) -> RedressError | None:
    """A database's refusal of a statement as one line, without the SQL or its parameters (customers' data).

    Values that break a column's rule are refused in the services before the database sees them; this is
    the last guard. Only the driver's first line is kept: PostgreSQL's DETAIL line quotes the values.
    """
    if not isinstance(error, exc.DBAPIError):
        return None
    reason = describe_error(error.orig if error.orig is not None else error, first_line=True)
    if isinstance(error, (exc.DataError, exc.IntegrityError)):
        return InvalidInput(f"the database refused the values: {reason}")
    return DatabaseUnavailable(f"the database refused the statement: {reason}")
