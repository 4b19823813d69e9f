"""A real IMAP server for tests: one throwaway Dovecot for the whole session, never the machine's own.

Built like .ci/postgres.sh: its own configuration in a temporary folder (`dovecot -c`, /etc/dovecot ignored),
listening on 127.0.0.1 on free ports, IMAPS with a self-signed certificate made for the session (CN and SAN
127.0.0.1 and localhost; the certificate is its own CA file), two users in a passwd-file, maildirs in the same
folder. Dovecot never runs as root: under root the whole server runs as the `dovecot` user the package creates
(a rootless setup: no chroot, internal and login processes as that user). Without Dovecot the tests are skipped
locally and fail when REDRESS_REQUIRE_IMAP is set (CI installs it). A failing test's output ends with the log.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import pytest
from imap_tools import MailBox

DOVECOT = Path("/usr/sbin/dovecot")
USERS = {"support": "support-password-1", "sales": "sales-password-1"}
HOST = "127.0.0.1"


@dataclass
class ImapServer:
    host: str
    port: int  # IMAPS: TLS from the first byte
    plain_port: int  # IMAP offering STARTTLS; a plain login is allowed from 127.0.0.1 only
    ca_file: Path  # verifies the server's certificate
    log: Path
    users: dict[str, str] = field(default_factory=lambda: dict(USERS))  # name -> password

    @contextmanager
    def login(self, user: str) -> Iterator[MailBox]:
        """An IMAP session as `user` over verified TLS, as a mail client would open one."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        with MailBox(self.host, self.port, timeout=10, ssl_context=context).login(user, self.users[user]) as box:
            yield box

    def append(self, user: str, raw: bytes, folder: str = "INBOX", flags: tuple[str, ...] = ()) -> int:
        """Deliver `raw` to `user`'s folder over IMAP APPEND; its UID."""
        with self.login(user) as box:
            _, data = box.append(raw, folder, flag_set=flags)
        return int(data[0].decode().split("]")[0].split()[-1])  # [APPENDUID <validity> <uid>]

    def empty(self) -> None:
        """Every user's INBOX emptied and every other folder deleted."""
        for user in self.users:
            with self.login(user) as box:
                for folder in box.folder.list():
                    if folder.name.upper() != "INBOX":
                        box.folder.delete(folder.name)
                box.delete(box.uids("ALL"))

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _config(folder: Path, user: pwd.struct_passwd, port: int, plain_port: int) -> str:
    return f"""\
protocols = imap
listen = {HOST}
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
default_internal_user = {user.pw_name}
default_internal_group = {grp.getgrgid(user.pw_gid).gr_name}
default_login_user = {user.pw_name}
first_valid_uid = {user.pw_uid}
last_valid_uid = {user.pw_uid}
first_valid_gid = {user.pw_gid}
ssl = yes
ssl_cert = <{folder}/cert.pem
ssl_key = <{folder}/key.pem
mail_location = maildir:~/Maildir
mail_fsync = never
auth_failure_delay = 0
auth_verbose = yes
passdb {{
  driver = passwd-file
  args = {folder}/passwd
}}
userdb {{
  driver = passwd-file
  args = {folder}/passwd
}}
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {plain_port}
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
"""


def _run(prefix: list[str], *args: str) -> None:
    """Run a dovecot command; its errors go to a file, since the daemon it starts keeps a pipe open."""
    with tempfile.TemporaryFile() as errors:
        result = subprocess.run([*prefix, *args], timeout=30, stdout=subprocess.DEVNULL, stderr=errors)
        if result.returncode:
            errors.seek(0)
            raise RuntimeError(f"{' '.join(args)} failed: {errors.read().decode(errors='replace').strip()}")


def _wait_until_listening(ports: tuple[int, ...], log: Path, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    for port in ports:
        while True:
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Dovecot is not listening on {port}: {log.read_text()[-2000:]}") from None
                time.sleep(0.01)


def _stop(pid_file: Path, seconds: float = 10) -> None:
    """SIGTERM to the master, which ends its children; waited for until it has exited (a zombie has: the
    daemon's parent is init, which may reap it late), then the whole group is killed if anything is left."""
    if not pid_file.exists():
        return  # never started: only its folder is left
    pid = int(pid_file.read_text())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + seconds
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    if _running(pid):
        os.killpg(pid, signal.SIGKILL)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("REDRESS_REQUIRE_IMAP"):
        pytest.fail(f"REDRESS_REQUIRE_IMAP is set but {reason}")
    pytest.skip(f"{reason}: install the dovecot-imapd package to run this test")


@pytest.fixture(scope="session")
def imap_server() -> Iterator[ImapServer]:
    """One Dovecot for the session; tests share it, so use `imap` for an empty mailbox per test."""
    if not DOVECOT.exists():
        _unavailable(f"Dovecot is not installed ({DOVECOT})")
    as_root = os.geteuid() == 0
    try:
        user = pwd.getpwnam("dovecot") if as_root else pwd.getpwuid(os.getuid())
    except KeyError:
        _unavailable("running as root and there is no `dovecot` user to run the server as")
    prefix = ["runuser", "-u", user.pw_name, "--"] if as_root else []
    folder = Path(tempfile.mkdtemp(prefix="redress-imap-"))  # not under pytest's root-only tmp folder
    port, plain_port = free_port(), free_port()
    lines = "".join(f"{name}:{{PLAIN}}{password}:{user.pw_uid}:{user.pw_gid}::{folder}/mail/{name}\n"
                    for name, password in USERS.items())
    (folder / "passwd").write_text(lines, encoding="utf-8")
    (folder / "dovecot.conf").write_text(_config(folder, user, port, plain_port), encoding="utf-8")
    for name in ("run", "state", "mail"):
        (folder / name).mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(folder / "key.pem"),
                    "-out", str(folder / "cert.pem")], check=True, capture_output=True, timeout=30)
    if as_root:
        for path in (folder, *folder.rglob("*")):
            os.chown(path, user.pw_uid, user.pw_gid)
    server = ImapServer(HOST, port, plain_port, folder / "cert.pem", folder / "dovecot.log")
    config = str(folder / "dovecot.conf")
    try:
        _run(prefix, str(DOVECOT), "-c", config)
        _wait_until_listening((port, plain_port), server.log)
        yield server
    finally:
        _stop(folder / "run" / "master.pid")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def imap(imap_server: ImapServer) -> ImapServer:
    """The session's Dovecot with every user's mailbox empty, so tests never see each other's mail."""
    imap_server.empty()
    return imap_server


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failing test that used the server shows what Dovecot logged."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    server = getattr(item, "funcargs", {}).get("imap_server")
    if report.failed and isinstance(server, ImapServer) and server.log.exists():
        report.sections.append(("Dovecot log (last lines)", server.log_tail()))
