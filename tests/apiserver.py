"""The real Redress server in a subprocess (`redress serve`, uvicorn) on a real database, with staff who sign in.

`api_server` serves a SQLite file; `api_server_any` serves SQLite and PostgreSQL in turn. Staff of every role
have the password `<name>-password-1`. The server's standard error (its access log) is kept in a file, so a
test can read every line it wrote.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import CONFIG, PG_ADMIN_URL, PINNED

REDRESS = Path(sys.executable).parent / "redress"
NOW = PINNED.isoformat()
STAFF = (("boss", "manager"), ("sup", "supervisor"), ("sen", "senior"), ("amy", "agent"), ("bob", "agent"))


def password_of(name: str) -> str:
    return f"{name}-password-1"


@dataclass
class RunningServer:
    url: str  # http://127.0.0.1:PORT
    db: str
    log: Path  # the server's standard error: one JSON line per request
    process: subprocess.Popen[bytes]

    def sign_in(self, name: str, password: str | None = None) -> str:
        answer = httpx.post(f"{self.url}/api/v1/sign-in", json={"name": name, "password": password or
                                                                password_of(name)})
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["token"]
        return token

    def client(self, name: str | None = None, token: str | None = None) -> httpx.Client:
        """An HTTP client for the API, signed in as `name` (or with `token`; neither: anonymous)."""
        bearer = token or (self.sign_in(name) if name else None)
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, timeout=30)

    def log_lines(self) -> list[str]:
        """What the server wrote. A request's line follows its answer, so while the server runs, one more request
        is made and its line waited for: every line of the requests answered before it is then written."""
        if self.process.poll() is None:
            settled = self._written().count('"route":"/health"') + 1
            httpx.get(f"{self.url}/health")
            deadline = time.monotonic() + 10
            while self._written().count('"route":"/health"') < settled and time.monotonic() < deadline:
                time.sleep(0.02)
        return self._written().splitlines()

    def _written(self) -> str:
        return self.log.read_text(encoding="utf-8")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def staff_database(url: str) -> None:
    """The schema and staff of every role with passwords, written through the services."""
    from workflow.adapters.migrate import upgrade
    from workflow.bootstrap import bootstrap
    from workflow.domain.clock import Clock
    from workflow.services.people import add_user
    from workflow.services.signin import reset_password, set_password

    app = bootstrap(str(CONFIG), url, Clock(PINNED))
    upgrade(app.engine)
    add_user(app, None, "boss", "manager")
    set_password(app, "boss", None, password_of("boss"))
    for name, role in STAFF[1:]:
        add_user(app, "boss", name, role)
        reset_password(app, "boss", name, password_of(name))
    app.engine.dispose()


def start_server(url: str, folder: Path, *arguments: str, **env: str) -> RunningServer:
    """`redress serve` on the database at `url` with `arguments` (e.g. --workers 2), answering /health."""
    port = free_port()
    log = folder / "server.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
    environment.update({"REDRESS_CONFIG": str(CONFIG), "REDRESS_DB": url, "REDRESS_NOW": NOW, **env})
    with log.open("wb") as sink:
        process = subprocess.Popen([str(REDRESS), "serve", "--port", str(port), *arguments], env=environment,
                                   stdout=sink, stderr=subprocess.STDOUT)
    server = RunningServer(f"http://127.0.0.1:{port}", url, log, process)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"redress serve exited {process.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"redress serve did not answer within 30 s: {log.read_text()}")


# A clean stop: uvicorn finishes the requests in flight, then raises SIGTERM again with its default action, so the
# process ends by the signal (-15) unless `redress serve` turns that into exit 0 (what a service manager expects).
CLEAN_STOP = (0,)


def stop_server(server: RunningServer) -> int:
    """SIGTERM, as a service manager stops it; the exit code."""
    server.process.send_signal(signal.SIGTERM)
    try:
        return server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        raise


def _serving(url: str, folder: Path) -> Iterator[RunningServer]:
    staff_database(url)
    server = start_server(url, folder)
    yield server
    if server.process.poll() is None:
        stop_server(server)


@pytest.fixture
def api_server(sqlite_url: str, tmp_path: Path) -> Iterator[RunningServer]:
    yield from _serving(sqlite_url, tmp_path)


@pytest.fixture
def api_server_any(database_url: str, tmp_path: Path) -> Iterator[RunningServer]:
    yield from _serving(database_url, tmp_path)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for as long as a module's server needs it, dropped afterwards."""
    import psycopg

    assert PG_ADMIN_URL, "REDRESS_TEST_PG_URL is not set"
    name = f"redress_test_{uuid.uuid4().hex[:12]}"
    admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server on SQLite for a whole test module (tests that do not need a fresh database share it)."""
    folder = tmp_path_factory.mktemp("server")
    yield from _serving(f"sqlite:///{folder / 'redress.db'}", folder)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def module_server_any(request: pytest.FixtureRequest,
                      tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server per database kind for a whole test module: SQLite, then PostgreSQL."""
    folder = tmp_path_factory.mktemp(f"server-{request.param}")
    if request.param == "sqlite":
        yield from _serving(f"sqlite:///{folder / 'redress.db'}", folder)
        return
    with postgres_database() as url:
        yield from _serving(url, folder)


def seat_env(home: Path, **extra: Any) -> dict[str, str]:
    """The environment of a seat whose sign-in lives in `home` (its own config folder), with no database."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
    environment.update({"XDG_CONFIG_HOME": str(home), "COLUMNS": "120", **{k: str(v) for k, v in extra.items()}})
    return environment
