"""Schema migrations: the code's revision is the head, upgrades are repeatable, stale schemas refused."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from tests.conftest import CONFIG
from workflow.adapters.db import SCHEMA_REVISION
from workflow.adapters.migrate import head_revision, upgrade
from workflow.bootstrap import bootstrap
from workflow.domain.errors import DatabaseUnavailable
from workflow.read.queries import queue


def test_code_expects_the_latest_migration():
    assert SCHEMA_REVISION == head_revision()


def test_upgrade_creates_the_schema_and_is_repeatable(database_url):
    app = bootstrap(str(CONFIG), database_url)
    assert upgrade(app.engine) == SCHEMA_REVISION
    assert upgrade(app.engine) == SCHEMA_REVISION
    assert queue(app) == []
    app.engine.dispose()


def test_a_database_without_schema_says_to_upgrade(database_url):
    app = bootstrap(str(CONFIG), database_url)
    with pytest.raises(DatabaseUnavailable, match="has no Redress schema; run `redress db upgrade`"):
        queue(app)
    app.engine.dispose()


def test_a_database_at_another_revision_is_refused(sqlite_url):
    app = bootstrap(str(CONFIG), sqlite_url)
    upgrade(app.engine)
    with app.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    with pytest.raises(DatabaseUnavailable, match="is at schema revision 0000, this Redress needs"):
        queue(app)


def test_sqlite_runs_in_wal_mode(sqlite_url):
    app = bootstrap(str(CONFIG), sqlite_url)
    upgrade(app.engine)
    with app.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


# SQLite cannot reflect an expression index, so the comparison skips the queue's; the last line checks it is there.
@pytest.mark.filterwarnings("ignore:.*expression-based index ix_complaint_urgency")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_migrations_build_exactly_the_schema_the_models_describe(database_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    from workflow.adapters.models import PARTIAL_INDEXES

    def declared_in_models(obj, name, type_, reflected, compare_to):
        return not (type_ == "index" and name in PARTIAL_INDEXES)

    app = bootstrap(str(CONFIG), database_url)
    upgrade(app.engine)
    with app.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": False, "include_object": declared_in_models}
        )
        differences = compare_metadata(context, SQLModel.metadata)
        catalogue = ("SELECT name, sql FROM sqlite_master WHERE type = 'index'" if connection.dialect.name == "sqlite"
                     else "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('complaint', 'deadline')")
        definitions = {name: sql or "" for name, sql in connection.execute(text(catalogue))}
    app.engine.dispose()
    assert differences == []
    for name in PARTIAL_INDEXES:  # made by the migrations, each over the rows its WHERE keeps
        assert " WHERE " in definitions[name].upper(), (name, definitions[name])
    assert "ix_complaint_urgency" in definitions and "ix_complaint_queue" not in definitions


def test_0005_keeps_existing_staff_active_makes_the_audit_record_append_only_and_goes_back(database_url):
    from alembic import command
    from sqlalchemy import exc

    from workflow.adapters.migrate import alembic_config
    from workflow.services.people import list_users

    app = bootstrap(str(CONFIG), database_url)
    upgrade(app.engine, "0004")
    with app.engine.begin() as connection:
        connection.execute(text("INSERT INTO \"user\" (name, display_name, role, created_at) "
                                "VALUES ('li.na', 'Li Na', 'agent', '2026-11-20 02:00:00')"))
    upgrade(app.engine)
    assert [(u.name, u.active) for u in list_users(app)] == [("li.na", True)]
    with app.engine.begin() as connection:
        connection.execute(text("INSERT INTO audit_record (at, actor, subject, subject_id, action, changes, reason) "
                                "VALUES ('2026-11-20 02:00:00', 'boss', 'user', 1, 'role', '{}', '')"))
    for statement in ("UPDATE audit_record SET reason = 'rewritten'", "DELETE FROM audit_record"):
        with pytest.raises(exc.DatabaseError, match="the audit record is append-only"):
            with app.engine.begin() as connection:
                connection.execute(text(statement))
    with app.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0004")  # type: ignore[arg-type]
    with app.engine.connect() as connection:
        assert "audit_record" not in inspect(connection).get_table_names()
        assert "deactivated_at" not in {c["name"] for c in inspect(connection).get_columns("user")}
    app.engine.dispose()
