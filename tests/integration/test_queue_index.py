"""The queue reads its first screen off one index, by each complaint's kept next breach (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from alembic import command
from sqlalchemy import event, inspect, select

from tests.conftest import file_one
from workflow.adapters.migrate import alembic_config, upgrade
from workflow.adapters.models import COMPLAINTS
from workflow.read.desk import desk_queue
from workflow.read.queries import queue
from workflow.services import lifecycle as svc


def _statements_of(app, read):
    """The SELECTs on the complaint table that `read` ran, with their parameters."""
    seen = []

    def keep(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("SELECT") and "ORDER BY" in statement and "complaint" in statement:
            seen.append((statement, parameters))

    event.listen(app.engine, "before_cursor_execute", keep)
    try:
        read()
    finally:
        event.remove(app.engine, "before_cursor_execute", keep)
    return seen


def _plan(app, statement, parameters):
    with app.engine.connect() as connection:
        cursor = connection.connection.dbapi_connection.cursor()
        if app.engine.dialect.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            return "\n".join(str(row[-1]) for row in cursor.fetchall())
        # Told a sort or a full scan costs the earth, the planner shows whether the index can give the order.
        cursor.execute("SET enable_sort = off")
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("EXPLAIN " + statement, parameters)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_queue_and_the_terminal_apps_queue_read_the_urgency_index_without_sorting(app):
    for _ in range(3):
        file_one(app)
    for read in (lambda: queue(app), lambda: desk_queue(app, "amy", mine=False)):
        (statement, parameters), = _statements_of(app, read)
        plan = _plan(app, statement, parameters)
        assert "ix_complaint_urgency" in plan, plan
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def test_0013_counts_the_next_breach_of_complaints_already_there_as_the_clocks_keep_it(database_url):
    from tests.conftest import _staffed

    app = next(_staffed(database_url))
    paused, answered, plain = file_one(app), file_one(app, phone="13900139001"), file_one(app, phone="13900139002")
    for number in (paused, answered):
        svc.triage(app, "amy", number)
        svc.assign(app, "amy", number)
        svc.start(app, "amy", number)
    svc.respond(app, "amy", answered, "we are on it")
    svc.wait_for_customer(app, "amy", paused, "photos please", reason="photos_or_documents")
    closed = file_one(app, phone="13900139003")
    svc.cancel(app, "amy", closed, "withdrawn")
    kept = _next_breaches(app)
    assert kept[plain] is not None and kept[answered] is not None and kept[answered] != kept[plain]
    assert kept[paused] is None and kept[closed] is None

    with app.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0012")  # type: ignore[arg-type]
    with app.engine.connect() as connection:
        assert "next_breach_at" not in {c["name"] for c in inspect(connection).get_columns("complaint")}
    upgrade(app.engine)
    assert _next_breaches(app) == kept
    app.engine.dispose()


def _next_breaches(app):
    with app.engine.connect() as connection:
        return dict(connection.execute(select(COMPLAINTS.c.number, COMPLAINTS.c.next_breach_at)).all())


def test_a_paused_complaint_goes_below_those_whose_clocks_run_and_comes_back_when_they_run_again(app):
    first = file_one(app)
    app.clock.pin(app.clock.now() + timedelta(minutes=10))
    second = file_one(app, phone="13900139001")
    svc.triage(app, "amy", first)
    svc.assign(app, "amy", first)
    svc.start(app, "amy", first)
    assert [row["number"] for row in queue(app)] == [first, second]
    svc.wait_for_customer(app, "amy", first, "photos please", reason="photos_or_documents")
    assert [row["number"] for row in queue(app)] == [second, first]
    svc.customer_replied(app, "amy", first, "photos sent")  # at once: its clock lost no time
    assert [row["number"] for row in queue(app)] == [first, second]
