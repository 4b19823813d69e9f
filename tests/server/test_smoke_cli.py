"""The installed `redress` command signed in to a running server: login, file, act, a refusal, logout."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.apiserver import REDRESS, password_of, seat_env


def seat(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REDRESS), *args], env=seat_env(home), input=stdin, capture_output=True, text=True,
                          timeout=60)


def test_an_agent_signs_in_files_acts_is_refused_and_signs_out(api_server, tmp_path):
    home = tmp_path / "amy-home"
    signed = seat(home, "login", "--server", api_server.url, "--user", "amy", "--password-stdin",
                  stdin=password_of("amy") + "\n")
    assert signed.returncode == 0, signed.stderr
    assert "signed in to" in signed.stdout and "amy (agent)" in signed.stdout
    saved = home / "redress" / "session.json"
    assert saved.stat().st_mode & 0o077 == 0
    filed = seat(home, "new", "--channel", "phone", "--category", "delivery", "--summary", "快递十天没到",
                 "--phone", "13800138000", "--name", "王芳", "--json")
    assert filed.returncode == 0, filed.stderr
    number = json.loads(filed.stdout)["number"]
    for step in (["triage"], ["take"], ["start"]):
        done = seat(home, step[0], number)
        assert done.returncode == 0, done.stderr
    shown = json.loads(seat(home, "show", number, "--json").stdout)
    assert shown["state"] == "in_progress" and shown["assignee"] == "amy"
    refused = seat(home, "escalations")
    assert refused.returncode == 5
    assert refused.stderr.strip() == "error: amy is an agent; the escalation board needs supervisor or above"
    claimed = seat(home, "show", number, "--as", "boss")
    assert claimed.returncode == 2 and "not used when signed in" in claimed.stderr
    out = seat(home, "logout")
    assert out.returncode == 0 and not saved.exists()
    token = json.loads(saved.read_text())["token"] if saved.exists() else None
    assert token is None
