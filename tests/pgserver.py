"""A private, throwaway PostgreSQL server for tests that restart it, so the shared test server is never touched.

Built like .ci/postgres.sh: initdb and pg_ctl from /usr/lib/postgresql/*/bin, in a temporary folder, on a
free port, run as the `postgres` user when the tests run as root (PostgreSQL refuses root). Without the
binaries the test is skipped locally and fails when REDRESS_REQUIRE_PG is set (CI installs them).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def _server_binaries() -> Path | None:
    """The newest installed PostgreSQL server's bin folder."""
    found = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin") if (Path(p) / "initdb").exists()]
    return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, default=None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateServer:
    """One PostgreSQL server of our own: start, restart (`pg_ctl restart -m fast`), stop."""

    def __init__(self, binaries: Path, folder: Path, as_postgres: bool) -> None:
        self.binaries = binaries
        self.folder = folder
        self.data = folder / "data"
        self.port = _free_port()
        self._prefix = ["runuser", "-u", "postgres", "--"] if as_postgres else []
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run([*self._prefix, str(self.binaries / tool), *args], timeout=60,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if result.returncode:
            raise RuntimeError(f"{tool} {args[0]} ... failed: {result.stderr.strip()}")

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-w", "-o", options, "start")

    def restart(self) -> None:
        """A fast restart: every session is ended, then the server comes back on the same port."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-w", "-m", "fast", "restart")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-m", "immediate", "stop")


@pytest.fixture
def private_postgres() -> Iterator[PrivateServer]:
    binaries = _server_binaries()
    as_postgres = os.geteuid() == 0
    missing = None
    if binaries is None:
        missing = "no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin"
    elif as_postgres:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            missing = "running as root and there is no `postgres` user to run the server as"
    if missing:
        if os.environ.get("REDRESS_REQUIRE_PG"):
            pytest.fail(f"REDRESS_REQUIRE_PG is set but {missing}")
        pytest.skip(f"{missing}: install the postgresql package to run this test")
    assert binaries is not None
    folder = Path(tempfile.mkdtemp(prefix="redress-pg-private-"))  # not under pytest's root-only tmp folder
    if as_postgres:
        shutil.chown(folder, "postgres")
    server = PrivateServer(binaries, folder, as_postgres)
    try:
        server.start()
        yield server
    finally:
        try:
            server.stop()
        except (RuntimeError, subprocess.SubprocessError):
            pass  # never started, or already gone: only its folder is left
        shutil.rmtree(folder, ignore_errors=True)
