"""Schema migrations with Alembic: `redress db upgrade` brings any database to this code's revision."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: object) -> object:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Apply every migration up to `revision`; return the revision the database is now at."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)  # type: ignore[arg-type]
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() or "base"


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    return script.get_current_head() or "base"
