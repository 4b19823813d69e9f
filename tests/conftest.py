"""Shared fixtures: a real SQLite file, a real PostgreSQL database per test, and a pinned clock."""

from __future__ import annotations

import functools
import os
import pwd
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from workflow.adapters.migrate import upgrade
from workflow.bootstrap import Redress, bootstrap
from workflow.config import FolderChannel
from workflow.domain.clock import Clock

# smtp and webhook, PostgreSQL, redress serve, IMAP
pytest_plugins = ["tests.servers", "tests.pgserver", "tests.apiserver", "tests.dovecot"]

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config.yaml"
# The operating-system account running the tests: the first manager is mapped to it, as on a direct seat.
OS_ACCOUNT = pwd.getpwuid(os.getuid()).pw_name
PINNED = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # Friday 10:00 in Shanghai
PG_ADMIN_URL = os.environ.get("REDRESS_TEST_PG_URL")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by the marks added here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL runs of end-to-end tests marked `full_run_on_postgres` are `slow` (their use cases run on
    PostgreSQL in tests/integration; `pytest -m slow` runs them). Without a server, PostgreSQL tests are skipped
    locally but fail in CI (REDRESS_REQUIRE_PG=1)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if (item.get_closest_marker("full_run_on_postgres") and callspec is not None
                and callspec.params.get("database_url") == "postgres"):
            item.add_marker(pytest.mark.slow)
    if PG_ADMIN_URL:
        return
    if os.environ.get("REDRESS_REQUIRE_PG"):
        raise pytest.UsageError("REDRESS_REQUIRE_PG is set but REDRESS_TEST_PG_URL is not")
    skip = pytest.mark.skip(reason="no PostgreSQL server: set REDRESS_TEST_PG_URL")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'redress.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    yield from fresh_postgres()


def fresh_postgres() -> Iterator[str]:
    """Create an empty PostgreSQL database, yield its URL, drop it."""
    import psycopg

    assert PG_ADMIN_URL, "REDRESS_TEST_PG_URL is not set"
    name = f"redress_test_{uuid.uuid4().hex[:12]}"
    admin = _admin_url()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Run the test once on a real SQLite file and once on a real PostgreSQL database."""
    return request.getfixturevalue(f"{request.param}_url")


def make_app(url: str) -> Redress:
    """The engine on a migrated database; customer mail goes to a temporary folder, never the repository."""
    import tempfile

    copied = migrated(url)
    app = bootstrap(str(CONFIG), url, Clock(PINNED))
    mail = FolderChannel(type="folder", path=tempfile.mkdtemp(prefix="redress-mail-"))
    app.config = app.config.model_copy(
        update={"messages": app.config.messages.model_copy(update={"email": mail, "sms": mail})}
    )
    if not copied:  # a database opened again: checked at the head (Alembic reads every migration to say so)
        upgrade(app.engine)
    return app


def migrated(url: str) -> bool:
    """Make the empty database at `url` a migrated one, as `redress db upgrade` leaves it, by copying this test
    process's template (True): every migration run once per process instead of once per test. A database that
    is not empty (a test opening it a second time) is left as it is (False)."""
    import shutil

    from workflow.adapters.db import sqlite_file

    if url.startswith("sqlite"):
        path = sqlite_file(url)
        if path is None or path.exists():
            return False
        shutil.copyfile(_sqlite_template(), path)
        return True
    import psycopg

    name = url.rpartition("/")[2]
    with psycopg.connect(_admin_url(), autocommit=True) as connection:
        with psycopg.connect(_admin_url(name)) as target:
            empty = target.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
        if empty:
            connection.execute(f'DROP DATABASE "{name}"')
            connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_postgres_template()}"')
    return empty


def _admin_url(database: str | None = None) -> str:
    """The PostgreSQL server's admin URL for psycopg, or the URL of `database` on it."""
    assert PG_ADMIN_URL, "REDRESS_TEST_PG_URL is not set"
    admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    return admin if database is None else f"{admin.rpartition('/')[0]}/{database}"


@functools.cache
def _sqlite_template() -> str:
    """A migrated SQLite file, closed (its write-ahead log checkpointed away) so a copy of it is whole."""
    import tempfile

    from workflow.adapters.db import make_engine

    path = Path(tempfile.mkdtemp(prefix="redress-template-")) / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    assert not path.with_name("template.db-wal").exists()
    return str(path)


@functools.cache
def _postgres_template() -> str:
    """A migrated PostgreSQL database that new ones are created from, dropped when the test process ends."""
    import atexit

    import psycopg

    from workflow.adapters.db import make_engine

    name = f"redress_template_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_url(), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(PG_ADMIN_URL.rpartition("/")[0] + f"/{name}")  # type: ignore[union-attr]
    upgrade(engine)
    engine.dispose()

    def drop() -> None:
        with psycopg.connect(_admin_url(), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    atexit.register(drop)
    return name


def staffed_database(url: str, *staff: tuple[str, str], first_os_user: str | None = OS_ACCOUNT) -> str:
    """The database at `url` as `redress db upgrade` and `redress user add` leave it, made in this process (the
    commands under test run against it): migrated, the manager `boss` (mapped to `first_os_user`, the account
    running the tests, for a direct seat) and `staff`, (name, role) pairs added by boss."""
    from workflow.services.people import add_user

    app = make_app(url)
    add_user(app, None, "boss", "manager", os_user=first_os_user)
    for name, role in staff:
        add_user(app, "boss", name, role)
    app.engine.dispose()
    return url


def _staffed(url: str) -> Iterator[Redress]:
    """The engine on a migrated database, with staff of every role and the clock pinned."""
    from workflow.services.people import add_user

    redress = make_app(url)
    add_user(redress, None, "boss", "manager")
    for name, role in (("sup", "supervisor"), ("sen", "senior"), ("amy", "agent"), ("bob", "agent")):
        add_user(redress, "boss", name, role)
    yield redress
    redress.engine.dispose()


@pytest.fixture
def app(database_url: str) -> Iterator[Redress]:
    yield from _staffed(database_url)


@pytest.fixture
def sqlite_app(sqlite_url: str) -> Iterator[Redress]:
    yield from _staffed(sqlite_url)


def file_one(app: Redress, actor: str = "amy", **overrides: str) -> str:
    """File a plain complaint and return its number."""
    from workflow.services.lifecycle import file_complaint

    fields = dict(
        channel="phone", category="delivery", summary="parcel is late",
        phone="13800138000", name="王芳", order_ref="SO-1", severity="medium",
    )
    fields.update(overrides)
    return file_complaint(app, actor, **fields).number  # type: ignore[arg-type]


def overdue_since_counted():  # type: ignore[no-untyped-def]
    """The escalation board's order counted afresh from the deadlines, as the board read it before it was kept
    on the complaint (workflow/services/breaches.py): the earliest due time of a fired breach deadline."""
    from sqlalchemy import case, func, select

    from workflow.adapters.models import COMPLAINTS, DEADLINES
    from workflow.services.clocks import BREACH_KINDS

    first = (select(func.min(DEADLINES.c.due_at))
             .where(DEADLINES.c.complaint_id == COMPLAINTS.c.id, DEADLINES.c.kind.in_(BREACH_KINDS),
                    DEADLINES.c.fired_at.is_not(None))
             .correlate(COMPLAINTS).scalar_subquery())
    return case((COMPLAINTS.c.escalated_at.is_not(None), first), else_=None)
