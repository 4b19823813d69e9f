"""Shared fixtures: a real SQLite file, a real PostgreSQL database per test, and a pinned clock."""

from __future__ import annotations

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
    admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
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

    app = bootstrap(str(CONFIG), url, Clock(PINNED))
    mail = FolderChannel(type="folder", path=tempfile.mkdtemp(prefix="redress-mail-"))
    app.config = app.config.model_copy(
        update={"messages": app.config.messages.model_copy(update={"email": mail, "sms": mail})}
    )
    upgrade(app.engine)
    return app


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
