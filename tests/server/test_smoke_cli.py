"""The installed `redress` command signed in to a running server: login, file, act, refusals with today's exit
codes, a wrong password and a slowed sign-in, a server that is down, tokens, API keys and passwords, logout."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.apiserver import REDRESS, RunningServer, free_port, password_of, seat_env
from tests.server.answers import FILING, MISSING, ok


@pytest.fixture(scope="module")
def server(module_server: RunningServer) -> RunningServer:
    return module_server


def seat(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REDRESS), *args], env=seat_env(home), input=stdin, capture_output=True, text=True,
                          timeout=60)


def login(server: RunningServer, home: Path, name: str, password: str | None = None) -> \
        subprocess.CompletedProcess[str]:
    return seat(home, "login", "--server", server.url, "--user", name, "--password-stdin",
                stdin=(password or password_of(name)) + "\n")


def one_line(done: subprocess.CompletedProcess[str], code: int) -> str:
    """The one line a refused command prints on standard error, with nothing on standard output."""
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == "" and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("error: ")
    return done.stderr.strip().removeprefix("error: ")


def test_an_agent_signs_in_files_acts_is_refused_and_signs_out(server, tmp_path):
    home = tmp_path / "amy-home"
    signed = login(server, home, "amy")
    assert signed.returncode == 0, signed.stderr
    assert "signed in to" in signed.stdout and "amy (agent)" in signed.stdout
    saved = home / "redress" / "session.json"
    assert saved.stat().st_mode & 0o777 == 0o600
    token = json.loads(saved.read_text())["token"]
    assert token not in signed.stdout + signed.stderr
    filed = seat(home, "new", "--channel", "phone", "--category", "delivery", "--summary", "快递十天没到",
                 "--phone", "13800138000", "--name", "王芳", "--json")
    assert filed.returncode == 0, filed.stderr
    number = json.loads(filed.stdout)["number"]
    for step in (["triage"], ["take"], ["start"]):
        done = seat(home, step[0], number)
        assert done.returncode == 0, done.stderr
    shown = json.loads(seat(home, "show", number, "--json").stdout)
    assert shown["state"] == "in_progress" and shown["assignee"] == "amy"
    assert one_line(seat(home, "escalations"), 5) == "amy is an agent; the escalation board needs supervisor or above"
    claimed = seat(home, "show", number, "--as", "boss")
    assert claimed.returncode == 2 and "not used when signed in" in claimed.stderr
    out = seat(home, "logout")
    assert out.returncode == 0 and not saved.exists()
    assert httpx.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_refusals_exit_as_on_a_direct_seat_with_the_servers_line(server, tmp_path):
    home = tmp_path / "bob-home"
    assert login(server, home, "bob").returncode == 0
    api = server.client("bob")
    number = ok(api.post("/complaints", json=FILING), 201)["number"]

    transition = one_line(seat(home, "close", number), 4)
    assert transition == api.post(f"/complaints/{number}/close", json={}).json()["error"]
    stale = one_line(seat(home, "triage", number, "--if-version", "7"), 6)
    assert stale == f"{number} changed since you read it (version 7, now 1); look at it again before acting"
    assert one_line(seat(home, "show", MISSING), 3) == api.get(f"/complaints/{MISSING}").json()["error"]


def test_a_wrong_password_exits_12_and_a_slowed_sign_in_13(server, tmp_path):
    home = tmp_path / "sen-home"
    assert one_line(login(server, home, "sen", "not-my-password"), 12) == "wrong user name or password"
    for attempt in range(2):
        httpx.post(f"{server.url}/api/v1/sign-in", json={"name": "sen", "password": f"guess-{attempt}"})
    slowed = one_line(login(server, home, "sen"), 13)
    assert slowed == "3 failed sign-ins for sen; try again in 1 s"
    assert not (home / "redress" / "session.json").exists()


def test_a_server_that_is_down_is_one_line_and_exit_9(tmp_path):
    home = tmp_path / "home"
    (home / "redress").mkdir(parents=True, mode=0o700)
    saved = home / "redress" / "session.json"
    down = f"http://127.0.0.1:{free_port()}"
    saved.write_text(json.dumps({"server": down, "name": "amy", "role": "agent", "token": "rds_s_x",
                                 "expires_at": "2026-11-20T14:00:00+00:00"}))
    saved.chmod(0o600)
    line = one_line(seat(home, "queue"), 9)
    assert line.startswith(f"cannot reach the Redress server at {down} (ConnectError")
    assert line.endswith("is `redress serve` running there?")


def test_a_manager_makes_and_revokes_tokens_api_keys_and_passwords(server, tmp_path):
    home = tmp_path / "boss-home"
    assert login(server, home, "boss").returncode == 0
    made = seat(home, "token", "create", "nightly-export", "--scope", "read", "--days", "7")
    assert made.returncode == 0, made.stderr
    first, token = made.stdout.splitlines()
    token_id = int(first.split()[1])
    assert "'nightly-export' for boss, scopes read" in first and token.startswith("rds_p_")
    script = server.client(token=token)
    assert isinstance(ok(script.get("/complaints")), list)
    assert script.post("/complaints", json=FILING).status_code == 403

    listed = json.loads(seat(home, "token", "list", "--json").stdout)
    assert token_id in [row["id"] for row in listed] and token not in json.dumps(listed)
    assert seat(home, "token", "revoke", str(token_id)).stdout == f"token {token_id} revoked\n"
    assert script.get("/complaints").status_code == 401

    key = seat(home, "apikey", "create", "web-form", "--scope", "file:web")
    assert key.returncode == 0, key.stderr
    form = server.client(token=key.stdout.splitlines()[1])
    assert ok(form.post("/complaints", json={**FILING, "channel": "web"}), 201)["to_state"] == "received"

    bob = server.client("bob")
    reset = seat(home, "user", "password", "bob", "--password-stdin", stdin="bob-password-2\n")
    assert reset.returncode == 0, reset.stderr
    assert bob.get("/me").status_code == 401  # the reset ends bob's sessions
    assert httpx.post(f"{server.url}/api/v1/sign-in", json={"name": "bob", "password": password_of("bob")}
                      ).status_code == 401
    assert server.sign_in("bob", "bob-password-2")
    ok(server.client("boss").put("/users/bob/password", json={"new": password_of("bob")}))  # for the tests after
