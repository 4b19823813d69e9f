"""Engine creation and the unit of work: one use case, one transaction, nothing half-written."""

from __future__ import annotations

import re
from pathlib import Path
from types import TracebackType
from typing import Any, cast

from sqlalchemy import event, exc, text
from sqlalchemy.engine import CursorResult, Engine, make_url
from sqlmodel import Session, create_engine

from workflow.errors import ConcurrentChange, DatabaseUnavailable

# The Alembic revision this code expects; tests check it is the migrations' head.
SCHEMA_REVISION = "0004"


def database_url(value: str, base_dir: Path) -> str:
    """A full SQLAlchemy URL: a bare path or relative sqlite path is made absolute against `base_dir`."""
    if "://" not in value:
        value = f"sqlite:///{value}"
    url = make_url(value)
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


def make_engine(url: str) -> Engine:
    """An engine tuned for the dialect: SQLite gets WAL, a busy timeout and BEGIN IMMEDIATE for writes."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return create_engine(url, pool_pre_ping=False, connect_args={"connect_timeout": 5})


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred only).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    # A writer takes the write lock up front, so two writers queue instead of
    # failing when one tries to upgrade a read snapshot another has outdated.
    if connection.get_execution_options().get("redress_write"):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")


def check_schema(engine: Engine, url: str) -> None:
    """Refuse to work on a database that is unreachable or not at this code's schema revision."""
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
    if current != SCHEMA_REVISION:
        raise DatabaseUnavailable(
            f"database {redact(url)} is at schema revision {current}, this Redress needs "
            f"{SCHEMA_REVISION}; run `redress db upgrade`"
        )


def _missing_table(error: exc.OperationalError) -> bool:
    return "no such table" in str(error.orig)


def unavailable(url: str, error: BaseException) -> DatabaseUnavailable:
    """A one-line error for a database that cannot be reached."""
    reason = str(getattr(error, "orig", error)).strip().splitlines()[0] if str(error) else type(error).__name__
    return DatabaseUnavailable(f"cannot use database {redact(url)}: {reason}")


def insert_returning_id(session: Session, statement: Any, values: dict[str, Any]) -> int:
    """Execute an INSERT of one row and return its new primary key."""
    result = cast(CursorResult[Any], session.execute(statement, values))
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


class UnitOfWork:
    """A session whose changes are committed together by `commit()` or not at all.

    Database errors leave as domain errors: a lost race as ConcurrentChange, an
    unreachable server as DatabaseUnavailable.
    """

    def __init__(self, engine: Engine, url: str, *, write: bool) -> None:
        self._engine = engine
        self._url = url
        self._write = write
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = Session(self._engine, expire_on_commit=False, autoflush=False)
        if self._write:
            try:
                self.session.connection(execution_options={"redress_write": True})
            except exc.DBAPIError as error:
                self.session.close()
                raise unavailable(self._url, error) from None
        return self

    def commit(self) -> None:
        self.session.commit()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        error: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        try:
            self.session.rollback()
        except exc.DBAPIError:
            pass
        finally:
            self.session.close()
        if isinstance(error, exc.IntegrityError):
            raise ConcurrentChange(
                "another change to the same record was committed first; nothing was written, try again"
            ) from None
        if isinstance(error, (exc.OperationalError, exc.InterfaceError)):
            raise unavailable(self._url, error) from None
