"""Every route of the API × every role, generated from the operations table and the permissions table.

A route is either one of the few open ones (signing in, health, the docs, the survey page) or an operation with a
permission: a route with neither fails, so a new endpoint cannot be added without deciding who may call it. For
each route and role: a role the permission allows is never refused by the route's check; a lower role is 403 with the
permission's one-line refusal. Likewise for each scope a token may be limited to: it reaches the operations of
its scope and no other.

FastAPI validates a request's path, query and body before the endpoint runs `perform` (where the role is
checked), so every probe is a valid request: a lower role's 403 is then the role check's and nothing else's.
The probes name things that do not exist, or values the use case refuses, so an allowed call ends in a 404, a
422 from the use case or a harmless answer, never a change that would disturb the next probe.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from tests.apiserver import STAFF, password_of, staff_database
from tests.conftest import CONFIG, PINNED
from tests.server.answers import MISSING
from workflow.bootstrap import bootstrap
from workflow.domain.clock import Clock
from workflow.domain.permissions import PERMISSIONS, SYSTEMS_ONLY, allows, person_refusal, refusal
from workflow.domain.vocabulary import ROLES, SCOPES
from workflow.faces.operations import BY_NAME, OPERATIONS, Operation
from workflow.faces.server.app import PREFIX, create_app

DOCS_ASSETS = "/static-offline-docs"
OPEN_ROUTES = {f"{PREFIX}/sign-in", "/health", "/docs", "/docs/oauth2-redirect", "/openapi.json",
               # the survey page: a customer's signed link is its authority (workflow/faces/server/pages.py)
               "/survey/{token}", "/survey/{token}/comment"}
NAME_OF_ROLE = {role: name for name, role in STAFF}

# A value for each path, query or body argument an operation requires: things that do not exist, or that the use
# case refuses after the role check. A required argument missing here fails the matrix: add it when adding one.
PROBE: dict[str, Any] = {
    # path
    "ref": MISSING, "step_id": 999_999, "token_id": 999_999, "message_id": 999_999, "deadline_id": 999_999,
    "customer_id": 999_999, "inbound_id": 999_999, "attachment_id": 999_999,
    "name": "nobody-here", "answer_id": "no-such-answer", "month": "2026-11",
    # query
    "mine": "false", "after": 0, "text": "退款", "by": "agent", "sender": "13800000000",
    # body
    "channel": "pigeon", "category": "delivery", "summary": "probe", "phone": None, "email": None,
    "severity": "low", "reason": "probe", "message": "probe", "note": "probe", "owner": "courier",
    "feedback": "probe", "resolution": "probe", "kind": "voucher", "score": 3, "to_level": "agent",
    "which": {}, "role": "emperor", "current": "not-the-password", "new": "x", "scopes": "bogus",
}
BODY_PROBE = {**PROBE, "name": "Probe", "by": "2h", "message_id": "gw-probe"}  # a name; a duration; a gateway id


@dataclass(frozen=True)
class Staff:
    name: str
    role: str


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The app in this process on one SQLite database, a session token for each role, and a manager's token
    limited to each scope (keyed by the scope)."""
    from workflow.services.signin import create_personal_token, local_principal

    url = f"sqlite:///{tmp_path_factory.mktemp('matrix') / 'redress.db'}"
    staff_database(url)
    app = bootstrap(str(CONFIG), url, Clock(PINNED))
    boss = local_principal(app, "boss")
    scoped = {scope: create_personal_token(app, boss, f"only {scope}", scope).token for scope in SCOPES}
    with TestClient(create_app(app), raise_server_exceptions=False) as client:
        yield client, {**{role: _sign_in(client, name) for role, name in NAME_OF_ROLE.items()}, **scoped}
    app.engine.dispose()


def _sign_in(client: TestClient, name: str) -> str:
    answer = client.post(f"{PREFIX}/sign-in", json={"name": name, "password": password_of(name)})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["token"]
    return token


def routes(api: TestClient) -> list[tuple[str, str, str]]:
    """(method, path, name) of every route the app serves."""
    found = []
    for route in api.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Mount) and route.path == DOCS_ASSETS:
            continue  # the docs page's script and styles: static files, open by design like /docs
        assert isinstance(route, Route), route
        for method in sorted((route.methods or set()) - {"HEAD"}):
            found.append((method, route.path, route.name))
    return found


def operation_of(method: str, path: str, name: str) -> Operation | None:
    operation = BY_NAME.get(name)
    if operation is None or (operation.method, PREFIX + operation.path) != (method, path):
        return None
    return operation


def probe(client: TestClient, route: APIRoute, operation: Operation, token: str) -> Any:
    """Call the route as `token` with a valid request whose arguments name nothing that exists."""
    path_values = {name: PROBE[name] for name in operation.path_arguments}
    query: dict[str, Any] = {}
    body: dict[str, Any] | None = None
    for parameter in route.dependant.query_params:
        if parameter.field_info.is_required():
            assert parameter.name in PROBE, f"{operation.name}: add a probe value for query '{parameter.name}'"
            query[parameter.name] = PROBE[parameter.name]
    if route.body_field is not None:
        model = route.body_field.field_info.annotation
        body = {}
        for name, field in model.model_fields.items():  # type: ignore[union-attr]
            if field.is_required():
                assert name in BODY_PROBE, f"{operation.name}: add a probe value for body field '{name}'"
                body[name] = BODY_PROBE[name]
    return client.request(operation.method, route.path_format.format(**path_values), params=query,
                          json=body, headers={"Authorization": f"Bearer {token}"})


def test_every_route_is_open_by_design_or_an_operation_with_a_permission(api):
    client, _ = api
    served = routes(client)
    strays = [(method, path) for method, path, name in served
              if path not in OPEN_ROUTES and operation_of(method, path, name) is None]
    assert not strays, f"routes with no row in workflow/faces/operations.py: {strays}"
    assert {operation.name for operation in OPERATIONS} == {name for _, path, name in served
                                                             if path not in OPEN_ROUTES}
    for operation in OPERATIONS:
        assert operation.permission in PERMISSIONS, operation


def test_each_role_is_allowed_or_refused_by_the_permissions_table_on_every_route(api):
    client, tokens = api
    checked = 0
    for route in client.app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, APIRoute) or route.path in OPEN_ROUTES:
            continue
        for method in route.methods:
            operation = operation_of(method, route.path, route.name)
            assert operation is not None, (method, route.path)
            for role in ROLES:
                token = _sign_in(client, NAME_OF_ROLE[role]) if operation.name == "sign_out" else tokens[role]
                answer = probe(client, route, operation, token)
                body = answer.json()
                line = refusal(Staff(NAME_OF_ROLE[role], role), operation.permission)
                where = f"{role} {method} {route.path}: {answer.status_code} {body}"
                if operation.permission in SYSTEMS_ONLY:  # every role here is a person
                    assert answer.status_code == 403 and body["error"] == person_refusal(
                        NAME_OF_ROLE[role], operation.permission), where
                elif allows(role, operation.permission):
                    assert answer.status_code not in (403, 500), where
                    if answer.status_code == 401:  # set_password's wrong current password, not the token
                        assert body["error"] == "the current password is wrong", where
                else:
                    assert answer.status_code == 403 and body["error"] == line, where
                    assert body["exit_code"] == 5, where
                checked += 1
    assert checked == len(OPERATIONS) * len(ROLES)


def test_a_token_limited_to_one_scope_reaches_exactly_the_operations_of_that_scope(api):
    client, tokens = api
    for route in client.app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, APIRoute) or route.path in OPEN_ROUTES:
            continue
        operation = operation_of(next(iter(route.methods)), route.path, route.name)
        assert operation is not None and (operation.scope in SCOPES or operation.scope == ""), route.path
        if operation.name == "sign_out":
            continue  # it would end the token the next route needs
        for scope in SCOPES:
            answer = probe(client, route, operation, tokens[scope])
            where = f"{scope} token, {operation.name}: {answer.status_code} {answer.text}"
            if operation.permission in SYSTEMS_ONLY and scope == operation.scope:  # a person's token
                assert answer.status_code == 403 and "is for a system with an API key" in answer.text, where
            elif scope == operation.scope or operation.scope == "":  # "": any token (who am I)
                assert answer.status_code not in (403, 500), where
            else:
                line = answer.json()["error"]
                assert answer.status_code == 403 and line.startswith("this token may not "), where
                assert f": it is scoped to {scope}, and this needs {operation.scope}" in line, where


def test_without_a_token_every_operation_is_401_before_anything_else(api):
    client, _ = api
    for route in client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, APIRoute) and route.path not in OPEN_ROUTES:
            method = next(iter(route.methods))
            answer = client.request(method, route.path_format.replace("{", "").replace("}", ""), json={})
            assert answer.status_code == 401, (method, route.path, answer.text)
            assert answer.headers["WWW-Authenticate"] == "Bearer"


def test_the_open_routes_answer_without_a_token(api):
    client, _ = api
    assert client.get("/health").status_code == 200
    assert client.get("/openapi.json").json()["info"]["title"] == "Redress"
    assert client.get("/docs").status_code == 200


def test_the_probes_are_all_used(api):
    """A probe value no route needs any more is dead: keep the table to what the routes take."""
    client, _ = api
    wanted: set[str] = set()
    for route in client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, APIRoute) and route.path not in OPEN_ROUTES:
            wanted.update(p.name for p in route.dependant.path_params)
            wanted.update(p.name for p in route.dependant.query_params if p.field_info.is_required())
            if route.body_field is not None:
                model = route.body_field.field_info.annotation
                wanted.update(n for n, f in model.model_fields.items() if f.is_required())  # type: ignore[union-attr]
    assert set(PROBE) <= wanted | {"name"}, set(PROBE) - wanted

