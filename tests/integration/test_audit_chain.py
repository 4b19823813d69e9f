"""The tamper-evident trail: the hash chains verify after real work, and a forged, removed or emptied line shows.

Forging needs the append-only triggers out of the way, as it would for an intruder with the owner's rights: on
SQLite they are dropped and put back, on PostgreSQL the superuser switches triggers off for its session.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import exc, func, inspect, select, text

from tests.conftest import CONFIG, _staffed, file_one
from workflow.adapters.db import SCHEMA_REVISION
from workflow.adapters.grants import grants_sql
from workflow.adapters.migrate import upgrade
from workflow.adapters.models import AUDIT, COMPLAINTS, EVENTS
from workflow.bootstrap import Redress, bootstrap
from workflow.domain.errors import ConcurrentChange, TamperedTrail
from workflow.services import lifecycle as svc
from workflow.services.audit_chain import verify_trail
from workflow.services.compensation import add_step, approve_step, complete_step, list_steps
from workflow.services.customers import edit_customer
from workflow.services.firing import fire_due
from workflow.services.people import change_role


def tamper(app: Redress, statement: str) -> None:
    """Run `statement` past the append-only triggers, then put them back."""
    with app.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            triggers = connection.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").all()
            for name, _ in triggers:
                connection.exec_driver_sql(f"DROP TRIGGER {name}")
            connection.exec_driver_sql(statement)
            for _, sql in triggers:
                connection.exec_driver_sql(sql)
        else:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            connection.exec_driver_sql(statement)


def counts(app: Redress) -> tuple[int, int]:
    with app.engine.connect() as connection:
        return (connection.execute(select(func.count()).select_from(EVENTS)).scalar_one(),
                connection.execute(select(func.count()).select_from(AUDIT)).scalar_one())


def event_ids(app: Redress, number: str) -> list[int]:
    with app.engine.connect() as connection:
        return list(connection.execute(
            select(EVENTS.c.id).join(COMPLAINTS, COMPLAINTS.c.id == EVENTS.c.complaint_id)
            .where(COMPLAINTS.c.number == number).order_by(EVENTS.c.id)).scalars())


def work_a_complaint_through(app: Redress) -> str:
    """File, act, compensate (with an approval), let deadlines fire, resolve and close; change staff and a
    customer on the way (audit records)."""
    number = file_one(app)
    svc.triage(app, "amy", number)
    svc.assign(app, "amy", number)
    svc.start(app, "amy", number)
    svc.add_note(app, "amy", number, "called the courier")
    add_step(app, "amy", number, "refund", amount="20", reason="goodwill")
    add_step(app, "amy", number, "refund", amount="900", reason="the jug was expensive")
    waiting = [s["id"] for s in list_steps(app, number) if s["state"] == "awaiting_approval"]
    approve_step(app, "boss", waiting[0], "fine")
    app.clock.pin(app.clock.now() + timedelta(days=3))
    fire_due(app)
    svc.resolve(app, "amy", number, "replacement sent")
    for step in list_steps(app, number):  # the rules' voucher passes amy's limit for this complaint
        if step["state"] == "awaiting_approval":
            approve_step(app, "boss", step["id"], "fine")
    for step in list_steps(app, number):
        if step["state"] in ("planned", "approved"):
            complete_step(app, "amy", step["id"], "done")
    svc.close(app, "amy", number)
    change_role(app, "boss", "bob", "senior", "covers the night shift")
    edit_customer(app, "amy", "13800138000", email="wang.fang@example.cn")
    return number


def test_the_trail_of_a_realistic_flow_verifies(app):
    work_a_complaint_through(app)
    file_one(app, phone="13900000000", summary="wrong colour")
    events, records = counts(app)
    assert events > 15 and records == 7  # five staff added, a role changed, a customer edited
    checked = verify_trail(app, batch=1)  # a batch of one complaint: the walk crosses batches
    assert (checked.events, checked.audit_records) == (events, records)


def test_a_forged_event_note_is_found_and_named(app):
    number = work_a_complaint_through(app)
    forged = event_ids(app, number)[3]
    tamper(app, f"UPDATE event SET note = 'nothing was promised' WHERE id = {forged}")
    with pytest.raises(TamperedTrail, match=rf"^event {forged} of {number}: its content does not match its hash "
                                            r"\(changed after it was written\)$"):
        verify_trail(app)


def test_a_removed_event_is_found_at_the_event_after_it(app):
    number = work_a_complaint_through(app)
    ids = event_ids(app, number)
    tamper(app, f"DELETE FROM event WHERE id = {ids[4]}")
    with pytest.raises(TamperedTrail, match=rf"^event {ids[5]} of {number}: the event before it is missing"):
        verify_trail(app)


def test_a_removed_first_event_is_found(app):
    number = file_one(app)
    svc.triage(app, "amy", number)
    first, second = event_ids(app, number)
    tamper(app, f"DELETE FROM event WHERE id = {first}")
    with pytest.raises(TamperedTrail, match=rf"^event {second} of {number}: the event before it is missing"):
        verify_trail(app)


def test_a_removed_last_event_is_found(app):
    number = work_a_complaint_through(app)
    tamper(app, f"DELETE FROM event WHERE id = {event_ids(app, number)[-1]}")
    with pytest.raises(TamperedTrail, match=rf"^{number}'s last event is missing$"):
        verify_trail(app)


def test_an_event_rewritten_with_a_fresh_hash_breaks_the_link_of_the_next(app):
    from workflow.domain.chain import event_content, link_hash

    number = file_one(app)
    svc.triage(app, "amy", number)
    svc.add_note(app, "amy", number, "customer calm")
    first, second, third = event_ids(app, number)
    with app.engine.connect() as connection:
        row = connection.execute(select(EVENTS).where(EVENTS.c.id == second)).one()
    content = event_content(number, row.at, "sen", row.trigger, row.from_state, row.to_state, row.note, row.data)
    tamper(app, f"UPDATE event SET actor = 'sen', hash = '{link_hash(row.prev_hash, content)}' WHERE id = {second}")
    with pytest.raises(TamperedTrail, match=rf"^event {third} of {number}: the event before it is missing or was "
                                            "replaced$"):
        verify_trail(app)


def test_a_forged_audit_record_is_found(app):
    work_a_complaint_through(app)
    with app.engine.connect() as connection:
        first = connection.execute(select(func.min(AUDIT.c.id))).scalar_one()
    tamper(app, f"UPDATE audit_record SET actor = 'sen' WHERE id = {first}")
    with pytest.raises(TamperedTrail, match=rf"^audit record {first}: its content does not match its hash"):
        verify_trail(app)


def test_a_removed_audit_record_is_found(app):
    work_a_complaint_through(app)
    with app.engine.connect() as connection:
        first, second = connection.execute(select(AUDIT.c.id).order_by(AUDIT.c.id).limit(2)).scalars()
    tamper(app, f"DELETE FROM audit_record WHERE id = {first}")
    with pytest.raises(TamperedTrail, match=rf"^audit record {second}: the audit record before it is missing"):
        verify_trail(app)


def test_the_migration_chains_the_trail_already_written_and_goes_back(database_url):
    from alembic import command

    from workflow.adapters.migrate import alembic_config

    app = next(_staffed(database_url))
    number = work_a_complaint_through(app)
    before = verify_trail(app)
    with app.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0006")  # type: ignore[arg-type]
    with app.engine.connect() as connection:
        assert "hash" not in {column["name"] for column in inspect(connection).get_columns("event")}
    assert upgrade(app.engine) == SCHEMA_REVISION
    assert verify_trail(app) == before
    svc.reopen(app, "amy", number, "the customer called back")  # the chain goes on from the migrated head
    assert verify_trail(app).events == before.events + 2  # reopen, and the survey withdrawn
    for statement in ("UPDATE event SET note = 'x'", "DELETE FROM event", "UPDATE audit_record SET reason = 'x'"):
        with pytest.raises(exc.DatabaseError, match="append-only"):
            with app.engine.begin() as connection:
                connection.execute(text(statement))
    app.engine.dispose()


# --- PostgreSQL: the application's role, TRUNCATE, concurrent writers -----------------------------------------


@pytest.mark.postgres
def test_truncate_is_refused_even_to_the_owner(postgres_url):
    app = next(_staffed(postgres_url))
    work_a_complaint_through(app)
    for table in ("event", "audit_record"):
        with pytest.raises(exc.DatabaseError, match=f"{table} is append-only: TRUNCATE is refused"):
            with app.engine.begin() as connection:
                connection.exec_driver_sql(f"TRUNCATE {table}")
    assert verify_trail(app).events == counts(app)[0] > 0
    app.engine.dispose()


@pytest.fixture
def application_role(postgres_url: str) -> Iterator[str]:
    """A login role of the PostgreSQL server (roles are server-wide), removed again after the test."""
    import psycopg

    role = f"redress_app_{uuid.uuid4().hex[:10]}"
    admin = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE ROLE "{role}" LOGIN')
    yield role
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP OWNED BY "{role}"')
        connection.execute(f'DROP ROLE "{role}"')


@pytest.mark.postgres
def test_the_application_role_files_and_acts_but_cannot_rewrite_or_empty_the_trail(postgres_url, application_role):
    owner = next(_staffed(postgres_url))
    work_a_complaint_through(owner)
    with owner.engine.begin() as connection:
        connection.exec_driver_sql(grants_sql(application_role))
    owner.engine.dispose()

    as_role = postgres_url.replace("://postgres@", f"://{application_role}@")
    app = bootstrap(str(CONFIG), as_role)
    number = file_one(app, phone="13900000000", summary="wrong colour")
    svc.triage(app, "amy", number)
    add_step(app, "amy", number, "voucher", amount="10", reason="goodwill")
    change_role(app, "boss", "bob", "agent", "back on days")
    for table in ("event", "audit_record"):
        for statement in (f"TRUNCATE {table}", f"UPDATE {table} SET actor = 'sen'", f"DELETE FROM {table}"):
            with pytest.raises(exc.ProgrammingError, match=f"permission denied for table {table}"):
                with app.engine.begin() as connection:
                    connection.exec_driver_sql(statement)
    with pytest.raises(exc.ProgrammingError, match="must be owner of (table|relation) event"):
        with app.engine.begin() as connection:
            connection.exec_driver_sql("DROP TRIGGER event_append_only ON event")
    verify_trail(app)
    app.engine.dispose()


@pytest.mark.postgres
def test_concurrent_writers_on_one_complaint_and_on_several_leave_chains_that_verify(postgres_url):
    app = next(_staffed(postgres_url))
    shared = file_one(app)
    own = [file_one(app, phone=f"1390000000{i}", summary=f"parcel {i}") for i in range(2)]
    for number in (shared, *own):
        svc.triage(app, "amy", number)
        svc.assign(app, "amy", number)
        svc.start(app, "amy", number)
    start = threading.Barrier(2)
    written = [0, 0]
    failures: list[str] = []

    def work(worker: int) -> None:
        start.wait()
        for round_ in range(15):
            for number in (shared, own[worker]):
                try:  # a note (the complaint's own event) and a step (an event beside a hold) race each other
                    if round_ % 2:
                        add_step(app, "amy", number, "voucher", amount="5", reason=f"round {round_}")
                    else:
                        svc.add_note(app, "amy", number, f"worker {worker} round {round_}")
                    written[worker] += 1
                except ConcurrentChange:
                    pass
                except Exception as error:  # noqa: BLE001 - reported by the test below
                    failures.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert sum(written) >= 30  # each worker's own complaint never conflicts
    assert verify_trail(app).events == counts(app)[0]
    app.engine.dispose()
