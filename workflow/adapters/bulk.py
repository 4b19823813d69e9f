"""Set-based writes for bulk work (imports): ids reserved up front and rows inserted many at a time.

SQLAlchemy's executemany checks and converts each row's parameters by name; for a hundred thousand rows that
costs more than the database does. Here rows are tuples in a fixed column order, converted only where the
column's type converts (times, booleans), and handed to the driver's executemany. Ids are taken before the
rows are built, so the rows that point at them (events, deadlines) are built in the same pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, text

from workflow.adapters.prepared import quicker


def reserve_ids(connection: Connection, table: Table, count: int) -> list[int]:
    """`count` new ids of `table`, in order, that no other row has or will be given.

    PostgreSQL takes them from the table's sequence; SQLite continues after the largest id, which this writer
    alone may add to while its transaction holds the database's write lock.
    """
    if count <= 0:
        return []
    if connection.dialect.name == "postgresql":
        return list(connection.execute(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"),
            {"table": connection.dialect.identifier_preparer.quote(table.name), "count": count}).scalars())
    last = connection.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table.name}")).scalar_one()  # noqa: S608
    return list(range(int(last) + 1, int(last) + 1 + count))


def insert_rows(connection: Connection, table: Table, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
                ) -> None:
    """INSERT the rows (tuples in `columns` order) with one executemany, values converted as their columns do."""
    if not rows:
        return
    sql, converting = _prepared(connection.dialect, table, columns)
    if converting:
        rows = _converted(rows, converting)
    connection.exec_driver_sql(sql, rows)  # type: ignore[arg-type]


def insert_dicts(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """`insert_rows` for rows given as dicts that all name the same columns (a batch of fired deadlines' alerts,
    ladder steps and events)."""
    if rows:
        columns = tuple(rows[0])
        insert_rows(connection, table, columns, [tuple(row[column] for column in columns) for row in rows])


def _converted(rows: Sequence[tuple[Any, ...]], converting: tuple[tuple[int, str, Callable[[Any], Any]], ...]
               ) -> list[tuple[Any, ...]]:
    """The rows with each value converted, each distinct value of a type once (a bulk's rows share many times)."""
    done: dict[tuple[str, Any], Any] = {}
    out = []
    for row in rows:
        values = list(row)
        for position, kind, convert in converting:
            value = values[position]
            if value is not None:
                key = (kind, value)
                found = done.get(key)
                if found is None:
                    found = done[key] = convert(value)
                values[position] = found
        out.append(tuple(values))
    return out


@cache
def _prepared(dialect: Any, table: Table, columns: tuple[str, ...]
              ) -> tuple[str, tuple[tuple[int, str, Callable[[Any], Any]], ...]]:
    """The INSERT in the driver's own parameter style, and the converter of each column that has one (with its
    type's name: columns of one type convert a value alike)."""
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
           f"VALUES ({', '.join([mark] * len(columns))})")
    converting = tuple((i, repr(table.c[name].type), quicker(dialect, convert)) for i, name in enumerate(columns)
                       if (convert := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None)
    return sql, converting
