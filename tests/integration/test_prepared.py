"""A prepared statement (run on SQLite's own cursor) reads and writes exactly what SQLAlchemy's execution does."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, exc, insert, select, text

from tests.conftest import file_one
from workflow.adapters.models import COMPLAINTS, DEADLINES, EVENTS
from workflow.adapters.prepared import Prepared
from workflow.adapters.records import ComplaintSnapshot, load_complaint
from workflow.domain.errors import ConcurrentChange

SHANGHAI = timezone(timedelta(hours=8))


def test_a_row_read_prepared_equals_the_row_sqlalchemy_reads(app):
    number = file_one(app)
    with app.uow(write=False) as uow:
        through_sqlalchemy = uow.session.execute(select(COMPLAINTS).where(COMPLAINTS.c.number == number)).one()
        prepared = load_complaint(uow.session, number)
    assert prepared == ComplaintSnapshot.of(through_sqlalchemy)
    assert prepared.created_at.tzinfo is not None and prepared.created_at == app.clock.now()
    row = Prepared(select(COMPLAINTS.c.number, COMPLAINTS.c.is_open, COMPLAINTS.c.closed_at))
    with app.uow(write=False) as uow:
        found = row.first(uow.session, {})
    assert (found.number, found[1], found._mapping["closed_at"]) == (number, True, None)
    assert type(found.is_open) is bool


def test_rows_written_prepared_are_stored_as_sqlalchemy_stores_them(app):
    complaint_id = load_complaint_id(app, file_one(app))
    at = datetime(2026, 11, 23, 9, 30, 15, 123456, tzinfo=SHANGHAI)
    event_row = {"complaint_id": complaint_id, "at": at, "actor": "amy", "trigger": "note", "from_state": "received",
                 "to_state": "received", "note": "客户来电", "data": "{}", "hash": "h", "prev_hash": "p"}
    deadline = {"complaint_id": complaint_id, "kind": "first_response", "level": None, "offset_minutes": 30.5,
                "due_at": at, "fired_at": None, "cancelled_at": None, "created_at": at}  # fire_attempts: its default
    with app.uow() as uow:
        uow.session.connection().execute(insert(EVENTS), event_row)
        Prepared(insert(EVENTS)).run(uow.session, event_row)
        uow.session.connection().execute(insert(DEADLINES), deadline)
        Prepared(insert(DEADLINES)).run_many(uow.session, [deadline])
        uow.commit()
    with app.engine.connect() as connection:
        events = connection.execute(text("SELECT at, actor, note, hash FROM event WHERE \"trigger\" = 'note'")).all()
        deadlines = connection.execute(text(
            "SELECT due_at, offset_minutes, fire_attempts FROM deadline WHERE complaint_id = :id "
            "AND created_at = due_at"), {"id": complaint_id}).all()
    assert len(events) == 2 and events[0] == events[1]
    assert len(deadlines) == 2 and deadlines[0] == deadlines[1] and deadlines[0][2] == 0


def test_a_refused_change_is_refused_as_through_sqlalchemy(app):
    number = file_one(app)
    with pytest.raises(exc.IntegrityError):
        with app.engine.connect() as connection:
            connection.execute(insert(COMPLAINTS), _copy_of(app, number))
    with pytest.raises(ConcurrentChange, match="nothing was written"):
        with app.uow() as uow:
            Prepared(insert(COMPLAINTS)).insert(uow.session, _copy_of(app, number))  # the same number again
            uow.commit()


def test_the_engines_cursor_listeners_hear_prepared_statements(app):
    number = file_one(app)
    heard: list[str] = []

    def hear(_connection, _cursor, statement, *_):
        heard.append(statement)

    event.listen(app.engine, "before_cursor_execute", hear)
    try:
        with app.uow(write=False) as uow:
            load_complaint(uow.session, number)
    finally:
        event.remove(app.engine, "before_cursor_execute", hear)
    assert [statement.split()[0] for statement in heard][-1:] == ["SELECT"]
    assert "FROM complaint" in heard[-1]


def load_complaint_id(app, number: str) -> int:
    with app.uow(write=False) as uow:
        return load_complaint(uow.session, number).id


def _copy_of(app, number: str) -> dict:
    with app.uow(write=False) as uow:
        row = uow.session.execute(select(COMPLAINTS).where(COMPLAINTS.c.number == number)).one()._asdict()
    del row["id"]
    return row
