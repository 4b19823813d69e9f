"""The queue and the escalation board read their first screens off an index each, by what each complaint keeps:
its next breach and its first breach (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from alembic import command
from sqlalchemy import event, inspect, select

from tests.conftest import file_one, overdue_since_counted
from workflow.adapters.migrate import alembic_config, upgrade
from workflow.adapters.models import COMPLAINTS
from workflow.read.desk import desk_queue
from workflow.read.queries import queue
from workflow.services import lifecycle as svc
from workflow.services.firing import fire_due
from workflow.services.supervision import escalation_board


def _statements_of(app, read):
    """The ordered SELECTs on the complaint table that `read` ran, with their parameters."""
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

    _down_to_before(app, "0013", "next_breach_at")
    upgrade(app.engine)
    assert _next_breaches(app) == kept
    app.engine.dispose()


def _down_to_before(app, revision, column):
    """The database as it was before `revision`, which added `column` to the complaint."""
    with app.engine.begin() as connection:
        command.downgrade(alembic_config(connection), f"{int(revision) - 1:04d}")  # type: ignore[arg-type]
    with app.engine.connect() as connection:
        assert column not in {c["name"] for c in inspect(connection).get_columns("complaint")}


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


def test_the_escalation_board_reads_its_index_without_sorting(app):
    for phone in ("13900139001", "13900139002"):
        file_one(app, phone=phone)
    app.clock.pin(app.clock.now() + timedelta(days=3))
    fire_due(app)
    for read in (lambda: escalation_board(app, "sup"), lambda: escalation_board(app, "sup", level="manager")):
        (statement, parameters), = _statements_of(app, read)
        plan = _plan(app, statement, parameters)
        assert "ix_complaint_board" in plan, plan
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
    assert len(escalation_board(app, "sup")) == 2


def test_0014_keeps_the_first_breach_of_complaints_already_there_as_the_board_counted_it(database_url):
    from tests.conftest import _staffed

    app = next(_staffed(database_url))
    filed = app.clock.now()
    early, later, calm = (file_one(app, severity="critical", phone=phone)
                          for phone in ("13900139000", "13900139001", "13900139002"))
    for step in (svc.triage, svc.assign, svc.start):
        step(app, "sen", later)
    svc.respond(app, "sen", later, "we are on it")  # in time: only its resolution will breach
    svc.cancel(app, "sen", calm, "withdrawn")
    app.clock.pin(app.clock.now() + timedelta(hours=5))
    fire_due(app)
    kept = _overdue(app)
    # A critical complaint's clock runs round the clock: first response 15 minutes, resolution 4 hours.
    assert (kept[early], kept[later], kept[calm]) == (filed + timedelta(minutes=15), filed + timedelta(hours=4), None)

    _down_to_before(app, "0014", "overdue_since")
    upgrade(app.engine)
    assert _overdue(app) == kept
    with app.engine.connect() as connection:
        assert dict(connection.execute(select(COMPLAINTS.c.number, overdue_since_counted())).all()) == kept
    app.engine.dispose()


def _overdue(app):
    with app.engine.connect() as connection:
        return dict(connection.execute(select(COMPLAINTS.c.number, COMPLAINTS.c.overdue_since)).all())
