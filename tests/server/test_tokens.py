"""Tokens at the real server: missing, malformed, expired, revoked and someone else's; slowing and lockout after
failed sign-ins; scoped personal tokens and API keys; tokens stored hashed; no secret in any log line."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select

from tests.apiserver import CLEAN_STOP, STAFF, RunningServer, password_of, start_server, stop_server
from tests.conftest import CONFIG, PINNED
from tests.server.answers import FILING, ok, refused
from workflow.adapters.models import AUDIT
from workflow.adapters.secrets import token_hash


@pytest.fixture(scope="module")
def server(module_server: RunningServer) -> RunningServer:
    return module_server


@pytest.fixture(scope="module")
def secrets() -> list[str]:
    """Every password and token this module sends or receives: none may reach a log line or the database."""
    return [password_of(name) for name, _ in STAFF]


def issued(server: RunningServer, secrets: list[str], name: str) -> str:
    token = server.sign_in(name)
    secrets.append(token)
    return token


def me(server: RunningServer, authorization: str | None) -> httpx.Response:
    """GET /me with this Authorization header, sent as it is (latin-1, as HTTP carries it)."""
    headers = {"Authorization": authorization.encode("latin-1")} if authorization is not None else {}
    return httpx.get(f"{server.url}/api/v1/me", headers=headers)


def test_a_missing_or_malformed_token_is_401_saying_what_is_wrong(server):
    for authorization in (None, "", "Bearer", "Basic YW15OmFteS1wYXNzd29yZC0x", "Token rds_s_abc"):
        answer = refused(me(server, authorization), 401, "NotSignedIn")
        assert answer["error"].startswith("not signed in: send 'Authorization: Bearer <token>'"), authorization
        assert answer["exit_code"] == 12
    for garbage in ("garbage", "rds_s_" + "A" * 43, "Bearer rds_s_x", "\xc3\xa9"):
        answer = refused(me(server, f"Bearer {garbage}"), 401, "NotSignedIn")
        assert answer["error"] == "the token is not one this server issued", garbage


def test_a_session_token_expires(server, secrets, tmp_path):
    token = issued(server, secrets, "amy")
    assert ok(me(server, f"Bearer {token}"))["name"] == "amy"
    later = start_server(server.db, tmp_path, REDRESS_NOW=(PINNED + timedelta(hours=12, minutes=1)).isoformat())
    try:
        expired = refused(me(later, f"Bearer {token}"), 401, "NotSignedIn")
    finally:
        assert stop_server(later) in CLEAN_STOP
    assert expired["error"] == "the token expired at 2026-11-20 14:00 UTC; sign in again"


def test_signing_out_revokes_the_token_and_a_manager_revokes_anyones(server, secrets):
    token = issued(server, secrets, "amy")
    ok(httpx.post(f"{server.url}/api/v1/sign-out", headers={"Authorization": f"Bearer {token}"}))
    revoked = refused(me(server, f"Bearer {token}"), 401, "NotSignedIn")
    assert revoked["error"].startswith("the token was revoked at 2026-11-20 02:00 UTC")

    sups = [issued(server, secrets, "sup") for _ in range(2)]
    amy = server.client(token=issued(server, secrets, "amy"))
    refusal = refused(amy.post("/users/sup/revoke", json={}), 403, "PermissionDenied")
    assert refusal["error"] == "amy is an agent; revoking someone else's sign-ins needs manager or above"
    assert ok(me(server, f"Bearer {sups[0]}"))["name"] == "sup"
    boss = server.client(token=issued(server, secrets, "boss"))
    assert ok(boss.post("/users/sup/revoke", json={"reason": "left a laptop unlocked"}))["revoked"] >= 2
    for token in sups:
        refused(me(server, f"Bearer {token}"), 401, "NotSignedIn")


def test_nobody_revokes_another_users_token_but_a_manager(server, secrets):
    bob = server.client(token=issued(server, secrets, "bob"))
    made = ok(bob.post("/tokens", json={"name": "nightly export", "scopes": ["read"]}), 201)
    secrets.append(made["token"])
    amy = server.client(token=issued(server, secrets, "amy"))
    refusal = refused(amy.delete(f"/tokens/{made['id']}"), 403, "PermissionDenied")
    assert refusal["error"] == "amy is an agent; API keys and others' tokens needs manager or above"
    assert made["id"] not in [token["id"] for token in ok(amy.get("/tokens"))]
    assert made["id"] in [token["id"] for token in ok(bob.get("/tokens"))]
    assert all("token" not in row and made["token"] not in json.dumps(row) for row in ok(bob.get("/tokens")))
    boss = server.client(token=issued(server, secrets, "boss"))
    assert ok(boss.delete(f"/tokens/{made['id']}")) == {"token": made["id"], "revoked": True}
    refused(me(server, f"Bearer {made['token']}"), 401, "NotSignedIn")


def test_a_deactivated_users_tokens_stop_working(server, secrets):
    boss = server.client(token=issued(server, secrets, "boss"))
    ok(boss.post("/users", json={"name": "cat", "role": "agent"}), 201)
    ok(boss.put("/users/cat/password", json={"new": "cat-password-1"}))
    secrets.append("cat-password-1")
    token = server.sign_in("cat", "cat-password-1")
    secrets.append(token)
    ok(boss.post("/users/cat/deactivate", json={"reason": "left the company"}))
    gone = refused(me(server, f"Bearer {token}"), 401, "NotSignedIn")
    assert gone["error"] == "cat was deactivated and can no longer act"
    refused(_sign_in(server, "cat", "cat-password-1"), 401, "NotSignedIn")


def test_an_unknown_name_costs_the_same_password_check_as_a_known_one(sqlite_app, monkeypatch):
    """Otherwise the time of the answer would tell which names are staff."""
    from workflow.domain.errors import NotSignedIn
    from workflow.services import signin

    checked: list[str | None] = []
    real = signin.password_matches
    monkeypatch.setattr(signin, "password_matches", lambda stored, given: checked.append(stored) or real(stored,
                                                                                                          given))
    for name in ("amy", "nobody-at-all"):
        with pytest.raises(NotSignedIn, match="^wrong user name or password$"):
            signin.sign_in(sqlite_app, name, "some-password-1")
    assert checked == [None, None]  # amy has no password yet: both ran the same dummy hash


def _sign_in(server: RunningServer, name: str, password: str) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/sign-in", json={"name": name, "password": password})


def test_failed_sign_ins_are_slowed_then_locked_until_a_manager_resets_the_password(server, secrets):
    from workflow.bootstrap import bootstrap
    from workflow.domain.clock import Clock
    from workflow.domain.errors import NotSignedIn
    from workflow.services.signin import sign_in

    secrets.extend([f"wrong-password-{attempt}" for attempt in range(8)])
    for attempt in range(3):  # the config slows after 3 failures in a row
        refused(_sign_in(server, "sen", f"wrong-password-{attempt}"), 401, "NotSignedIn")
    slowed = _sign_in(server, "sen", password_of("sen"))
    assert refused(slowed, 429, "TooManyAttempts")["error"] == "3 failed sign-ins for sen; try again in 1 s"
    assert slowed.headers["Retry-After"] == "1"

    # Seven failures an hour earlier, far enough apart not to be slowed; the eighth, at the server, locks.
    earlier = bootstrap(str(CONFIG), server.db, Clock())
    for attempt in range(7):
        earlier.clock.pin(PINNED - timedelta(hours=1) + timedelta(minutes=attempt))
        with pytest.raises(NotSignedIn):
            sign_in(earlier, "bob", f"wrong-password-{attempt}")
    earlier.engine.dispose()
    refused(_sign_in(server, "bob", "wrong-password-7"), 401, "NotSignedIn")
    locked = _sign_in(server, "bob", password_of("bob"))
    line = refused(locked, 429, "TooManyAttempts")["error"]
    assert line == ("bob is locked after 8 failed sign-ins until 02:15 UTC; a manager can unlock it by resetting "
                    "the password")
    assert locked.headers["Retry-After"] == "900" and refused(locked, 429, "TooManyAttempts")["exit_code"] == 13

    engine = create_engine(server.db)
    with engine.connect() as connection:
        actions = [row.action for row in connection.execute(
            select(AUDIT.c.action).where(AUDIT.c.subject == "user").order_by(AUDIT.c.id))]
    engine.dispose()
    assert actions.count("sign_in_failed") >= 3 + 7 and actions.count("locked_out") == 1

    boss = server.client(token=issued(server, secrets, "boss"))
    ok(boss.put("/users/bob/password", json={"new": password_of("bob")}))
    assert ok(_sign_in(server, "bob", password_of("bob")))["name"] == "bob"


def test_a_personal_token_does_only_what_its_scopes_allow(server, secrets):
    amy = server.client(token=issued(server, secrets, "amy"))
    made = ok(amy.post("/tokens", json={"name": "report script", "scopes": "read"}), 201)
    secrets.append(made["token"])
    script = server.client(token=made["token"])
    assert isinstance(ok(script.get("/complaints")), list)
    refusal = refused(script.post("/complaints", json=FILING), 403, "PermissionDenied")
    assert refusal["error"] == "this token may not call file: it is scoped to read, and this needs file for phone"
    refused(script.post("/tokens", json={"name": "wider", "scopes": "staff"}), 403, "PermissionDenied")
    # A token limited to its account cannot make itself a wider one.
    account = server.client(token=ok(amy.post("/tokens", json={"name": "acct", "scopes": "account"}), 201)["token"])
    wider = refused(account.post("/tokens", json={"name": "wider", "scopes": "work read"}), 403, "PermissionDenied")
    assert wider["error"] == "this token is scoped to account and cannot grant read work"


def test_api_keys_file_from_their_channel_and_pop_the_callers_profile_and_nothing_else(server, secrets):
    boss = server.client(token=issued(server, secrets, "boss"))
    web = ok(boss.post("/api-keys", json={"name": "web-form", "scopes": "file:web"}), 201)
    pop = ok(boss.post("/api-keys", json={"name": "phone-pop", "scopes": ["lookup"]}), 201)
    secrets.extend([web["token"], pop["token"]])
    amy = server.client(token=issued(server, secrets, "amy"))
    refused(amy.post("/api-keys", json={"name": "my-own", "scopes": "staff"}), 403, "PermissionDenied")

    form = server.client(token=web["token"])
    filed = ok(form.post("/complaints", json={**FILING, "channel": "web", "phone": "13900139000"}), 201)
    assert ok(amy.get(f"/complaints/{filed['number']}"))["created_by"] == "web-form"
    by_phone = refused(form.post("/complaints", json=FILING), 403, "PermissionDenied")
    assert by_phone["error"].endswith("it is scoped to file:web, and this needs file for phone")
    refused(form.get("/complaints"), 403, "PermissionDenied")
    refused(form.get(f"/complaints/{filed['number']}"), 403, "PermissionDenied")

    telephony = server.client(token=pop["token"])
    popped = ok(telephony.get("/screen-pop", params={"ref": "13900139000"}))
    assert filed["number"] in [row["number"] for row in popped["complaints"]]
    for path in ("/customers/13900139000", "/complaints", f"/complaints/{filed['number']}"):
        refused(telephony.get(path), 403, "PermissionDenied")
    assert ok(telephony.get("/me"))["name"] == "phone-pop"  # any token may ask who it is
    refused(telephony.post("/complaints", json={**FILING, "channel": "web"}), 403, "PermissionDenied")
    refused(_sign_in(server, "web-form", "anything-at-all"), 401, "NotSignedIn")


def test_tokens_are_stored_hashed(server, secrets):
    amy = server.client(token=issued(server, secrets, "amy"))
    secrets.append(ok(amy.post("/tokens", json={"name": "kept hashed", "scopes": "read"}), 201)["token"])
    boss = server.client(token=issued(server, secrets, "boss"))
    secrets.append(ok(boss.post("/api-keys", json={"name": "fax-gateway", "scopes": "file:fax"}), 201)["token"])
    tokens = [secret for secret in secrets if secret.startswith("rds_")]
    assert len(tokens) >= 4
    stored = b"".join(path.read_bytes() for path in _database_files(server))
    for token in tokens:
        assert token.encode() not in stored
    assert token_hash(tokens[-1]).encode() in stored  # the search would have found a token stored as text


def _database_files(server: RunningServer) -> list[Path]:
    database = Path(server.db.removeprefix("sqlite:///"))
    return [path for path in (database, Path(f"{database}-wal"), Path(f"{database}-journal")) if path.exists()]


def test_no_secret_in_any_log_line(server, secrets):
    refused(_sign_in(server, "amy", "amy-wrong-password"), 401, "NotSignedIn")
    refused(_sign_in(server, password_of("amy"), "amy"), 401, "NotSignedIn")  # the password in the name field
    secrets.append("amy-wrong-password")
    amy = server.client(token=issued(server, secrets, "amy"))
    secrets.append(ok(amy.post("/tokens", json={"name": "one more", "scopes": "read"}), 201)["token"])
    boss = server.client(token=issued(server, secrets, "boss"))
    secrets.append(ok(boss.post("/api-keys", json={"name": "chat-widget", "scopes": "file:chat"}), 201)["token"])

    refused(httpx.get(f"{server.url}/api/v1/customers/13912345678"), 401, "NotSignedIn")
    refused(amy.get("/screen-pop", params={"ref": "13912345678"}), 404, "NotFound")
    assert httpx.get(f"{server.url}/13912345678").status_code == 404
    secrets.append("13912345678")  # a customer's phone is not a secret, but it has no place in an access log

    lines = server.log_lines()
    assert lines[0].startswith("serving Redress on http://127.0.0.1:")
    requests = [json.loads(line) for line in lines[1:]]
    assert len(requests) >= 5
    for request in requests:
        assert {"user", "route", "status", "ms"} <= set(request), request
        assert isinstance(request["status"], int) and isinstance(request["ms"], float | int)
    whole = "\n".join(lines)
    for secret in secrets:
        assert secret not in whole
    assert {"amy", "boss"} <= {request["user"] for request in requests}
    assert {"/api/v1/customers/{ref}", "/api/v1/screen-pop", None} <= {request["route"] for request in requests}

