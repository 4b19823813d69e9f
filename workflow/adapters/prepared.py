"""The hot statements (those every filing and transition takes), run on SQLite's own cursor with SQL compiled once.

Through SQLAlchemy a one-row statement costs 15-40 µs of machinery on SQLite (execution context, events,
result objects): more than SQLite takes to run it, and more than half of a transition. A `Prepared` statement
is compiled once for each set of values it is given, converts values with its columns' own processors and gives
rows back as small named tuples that read like SQLAlchemy's rows (`row.name`, `row[0]`, `row._mapping`).
It runs in the session's transaction, raises the errors SQLAlchemy would, and the engine's cursor listeners still
hear it. On PostgreSQL it goes through SQLAlchemy as it is: a round trip to the server outweighs the machinery.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

from sqlalchemy import exc
from sqlalchemy.engine import Connection, CursorResult, Dialect
from sqlalchemy.sql import Executable
from sqlmodel import Session

from workflow.adapters.db import connection_of

Convert = Callable[[Any], Any]


class Prepared:
    """One Core statement (SELECT, INSERT, UPDATE, optionally RETURNING), ready to run many times."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        columns = list(getattr(statement, "exported_columns", ()))
        self._columns = columns
        self._record = _record_class(tuple(column.key for column in columns)) if columns else None
        self._plans: dict[tuple[str, ...], _Plan] = {}

    def first(self, session: Session, params: dict[str, Any]) -> Any:
        """The first row, or None."""
        rows = self._run(session, params, many=False)
        return rows[0] if rows else None

    def one(self, session: Session, params: dict[str, Any]) -> Any:
        """The one row; a statement that finds none is a fault of the caller's, as SQLAlchemy's `one()` says."""
        rows = self._run(session, params, many=False)
        if len(rows) != 1:
            raise exc.NoResultFound("no row was found") if not rows else exc.MultipleResultsFound("rows were found")
        return rows[0]

    def scalar(self, session: Session, params: dict[str, Any]) -> Any:
        """The first column of the one row."""
        return self.one(session, params)[0]

    def run(self, session: Session, params: dict[str, Any]) -> int:
        """Run a change; the number of rows it changed."""
        return cast(int, self._run(session, params, many=False, count=True))

    def run_many(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        """Run a change once for each of `rows`, which all give the same keys (executemany)."""
        if rows:
            self._run(session, rows, many=True, count=True)

    def insert(self, session: Session, params: dict[str, Any]) -> int:
        """INSERT one row; its new id."""
        return cast(int, self._run(session, params, many=False, new_id=True))

    def _run(self, session: Session, params: Any, *, many: bool, count: bool = False, new_id: bool = False
             ) -> Any:
        connection = connection_of(session)
        if connection.dialect.name != "sqlite":
            return self._through_sqlalchemy(connection, params, count=count, new_id=new_id)
        keys = tuple(params[0] if many else params)
        plan = self._plans.get(keys)
        if plan is None:
            plan = self._plans[keys] = _Plan(self.statement, connection.dialect, keys, self._columns)
        args = [plan.args(row) for row in params] if many else plan.args(params)
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        listened = connection.dispatch.before_cursor_execute or connection.dispatch.after_cursor_execute
        if listened:
            for listener in connection.dispatch.before_cursor_execute:
                listener(connection, cursor, plan.sql, args, None, many)
        try:
            if many:
                cursor.executemany(plan.sql, args)
            else:
                cursor.execute(plan.sql, args)
            rows = cursor.fetchall() if self._record is not None else None
        except sqlite3.Error as error:  # as SQLAlchemy raises it, for the unit of work to name
            raise exc.DBAPIError.instance(plan.sql, None, error, sqlite3.Error) from None
        if listened:
            for listener in connection.dispatch.after_cursor_execute:
                listener(connection, cursor, plan.sql, args, None, many)
        if new_id:
            return cursor.lastrowid
        if count:
            return cursor.rowcount
        assert rows is not None and self._record is not None
        return [plan.record(self._record, row) for row in rows]

    def _through_sqlalchemy(self, connection: Connection, params: Any, *, count: bool, new_id: bool) -> Any:
        result = cast(CursorResult[Any], connection.execute(self.statement, params))
        if new_id:
            assert result.inserted_primary_key is not None
            return int(result.inserted_primary_key[0])
        if count:
            return result.rowcount
        assert self._record is not None
        return [self._record._make(row) for row in result]


class _Plan:
    """The statement compiled for one dialect and one set of keys: its SQL, where each positional value comes
    from (a key, or a value fixed in the statement) and how it is converted, and the result columns' converters."""

    def __init__(self, statement: Executable, dialect: Dialect, keys: tuple[str, ...], columns: list[Any]) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))  # type: ignore[attr-defined]
        if compiled.positiontup is None or compiled.escaped_bind_names:
            raise ValueError(f"cannot prepare {compiled.string!r} for {dialect.name}")
        self.sql: str = compiled.string
        # Columns whose default (or onupdate) SQLAlchemy computes in Python when no value is given.
        defaults = {column.key: (column.default if column in compiled.insert_prefetch else column.onupdate)
                    for column in (*compiled.insert_prefetch, *compiled.update_prefetch)}
        self._values: list[tuple[str | None, Convert | None, Any]] = []
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            if bind.expanding:
                raise ValueError(f"cannot prepare {self.sql!r}: an IN list is re-rendered at each execution")
            convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
            convert = quicker(dialect, convert) if convert is not None else None
            if name in keys:
                self._values.append((name, convert, None))
            elif name in defaults:
                default = defaults[name]
                if not default.is_scalar:
                    raise ValueError(f"cannot prepare {self.sql!r}: {name}'s default is computed at each execution")
                self._values.append((None, None, convert(default.arg) if convert else default.arg))
            elif bind.required:
                raise KeyError(f"{self.sql!r} needs a value for {name}")
            else:
                fixed = bind.effective_value
                self._values.append((None, None, convert(fixed) if convert and fixed is not None else fixed))
        self._converting = tuple(
            (i, processor) for i, column in enumerate(columns)
            if (processor := _quicker_result(dialect, column.type.dialect_impl(dialect).result_processor(
                dialect, None))) is not None)

    def args(self, params: dict[str, Any]) -> list[Any]:
        args = []
        for name, convert, fixed in self._values:
            if name is None:
                args.append(fixed)
                continue
            value = params[name]
            args.append(value if convert is None or value is None else convert(value))
        return args

    def record(self, record: Any, row: tuple[Any, ...]) -> Any:
        if not self._converting:
            return record._make(row)
        values = list(row)
        for i, convert in self._converting:
            if values[i] is not None:
                values[i] = convert(values[i])
        return record._make(values)


def _record_class(keys: tuple[str, ...]) -> Any:
    """A named tuple of the statement's columns that also answers `_mapping`, as a SQLAlchemy row does."""
    base: Any = namedtuple("Record", keys)  # type: ignore[misc]  # the statement's columns, known at run time

    class Record(base):  # type: ignore[misc,valid-type]
        __slots__ = ()

        @property
        def _mapping(self) -> dict[str, Any]:
            return dict(zip(self._fields, self, strict=True))

    return Record


_SAMPLES = (datetime(2026, 11, 2, 9, 30, tzinfo=timezone(timedelta(hours=8))),
            datetime(1999, 1, 2, 3, 4, 5, 678901, tzinfo=UTC))


def sqlite_time(value: datetime) -> str:
    """A time as SQLite's columns keep it: UTC, no zone, microseconds."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _utc_time(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def quicker(dialect: Any, convert: Convert) -> Convert:
    """For a time on SQLite, the same text from one C call instead of a dict format: used only when it gives
    exactly the column's own text for sample times (so a change in SQLAlchemy's format turns it off)."""
    if dialect.name != "sqlite":
        return convert
    try:
        same = all(convert(sample) == sqlite_time(sample) for sample in _SAMPLES)
    except (TypeError, ValueError, AttributeError):
        return convert
    return sqlite_time if same else convert


def _quicker_result(dialect: Any, convert: Convert | None) -> Convert | None:
    """For a time read from SQLite, one C call instead of a regular expression: used only when it reads the
    column's own text of sample times back to the same time."""
    if dialect.name != "sqlite" or convert is None:
        return convert
    try:
        same = all(convert(sqlite_time(sample)) == _utc_time(sqlite_time(sample)) == sample for sample in _SAMPLES)
        same = same and convert(sqlite_time(_SAMPLES[0])).tzinfo == UTC
    except (TypeError, ValueError, AttributeError):
        return convert
    return _utc_time if same else convert
