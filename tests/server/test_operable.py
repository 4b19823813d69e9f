"""What an operator and an integration rely on: idempotent filing, body limits, malformed bodies, the health
check, graceful shutdown, and several workers on PostgreSQL (one on SQLite)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from tests.apiserver import (
    CLEAN_STOP,
    RunningServer,
    postgres_database,
    staff_database,
    start_server,
    stop_server,
)
from tests.conftest import CONFIG, PG_ADMIN_URL
from tests.server.answers import FILING, ok, refused
from workflow.adapters.models import COMPLAINTS


@pytest.fixture(scope="module")
def server(module_server: RunningServer) -> RunningServer:
    return module_server


def filed_with(server: RunningServer, summary: str) -> int:
    """How many complaints in the database have this summary."""
    engine = create_engine(server.db)
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(COMPLAINTS)
                                   .where(COMPLAINTS.c.summary == summary)).scalar_one()
    engine.dispose()
    return int(count)


def test_the_same_filing_posted_twice_with_one_key_files_once(server):
    amy = server.client("amy")
    filing = {**FILING, "summary": "网页表单重发了一次"}
    first = ok(amy.post("/complaints", json=filing, headers={"Idempotency-Key": "form-7f3a"}), 201)
    again = ok(amy.post("/complaints", json=filing, headers={"Idempotency-Key": "form-7f3a"}), 201)
    assert again == first
    assert filed_with(server, filing["summary"]) == 1
    other = refused(amy.post("/complaints", json={**filing, "summary": "另一件事"},
                             headers={"Idempotency-Key": "form-7f3a"}), 422, "InvalidInput")
    assert other["error"] == ("Idempotency-Key 'form-7f3a' was already used for a different request; use a new key")
    bob = server.client("bob")  # a key belongs to whoever sent it: another sender's key files anew
    assert ok(bob.post("/complaints", json=filing, headers={"Idempotency-Key": "form-7f3a"}), 201) != first
    refused(amy.post("/complaints", json={**filing, "channel": "pigeon"}, headers={"Idempotency-Key": "form-8"}),
            422, "InvalidInput")
    retried = ok(amy.post("/complaints", json=filing, headers={"Idempotency-Key": "form-8"}), 201)  # no answer kept
    assert retried["number"] != first["number"]
    too_long = refused(amy.post("/complaints", json=filing, headers={"Idempotency-Key": "k" * 129}), 422,
                       "InvalidInput")
    assert too_long["error"].startswith("header.idempotency-key:")


def test_two_posts_with_one_key_at_the_same_moment_file_once(server):
    amy = server.client("amy")
    filing = {**FILING, "summary": "网关同时发了两次"}
    ready = threading.Barrier(4)

    def post(_: int) -> httpx.Response:
        ready.wait()
        return amy.post("/complaints", json=filing, headers={"Idempotency-Key": "gateway-0001"})

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(post, range(4)))
    assert filed_with(server, filing["summary"]) == 1
    numbers = {answer.json()["number"] for answer in answers if answer.status_code == 201}
    assert len(numbers) == 1
    for answer in answers:  # a copy that arrived while the first was filing is told so, and files nothing
        assert answer.status_code == 201 or refused(answer, 409, "ConcurrentChange"), answer.text


def test_a_body_over_the_limit_is_413_however_it_is_sent(server):
    amy = server.client("amy")
    huge = {**FILING, "summary": "长" * 40_000}  # 120 kB of UTF-8, the limit is 64 kB
    declared = refused(amy.post("/complaints", json=huge), 413, "InvalidInput")
    assert declared["error"] == "the request body is larger than 65536 bytes"
    body = json.dumps(huge).encode()
    chunked = amy.post("/complaints", content=(body[start:start + 8192] for start in range(0, len(body), 8192)),
                       headers={"Content-Type": "application/json"})
    assert refused(chunked, 413, "InvalidInput") == declared
    assert filed_with(server, huge["summary"]) == 0


@pytest.mark.parametrize(("body", "line"), [
    ('{"channel": "phone", ', "the body is not valid JSON: Expecting property name enclosed in double quotes at "
                             "character 21"),
    ("not json", "the body is not valid JSON: Expecting value at character 0"),
    ("[1, 2]", "the body must be a JSON object of named fields"),
    ("", "the request has no body; send a JSON object"),
    ('{"channel": "phone", "category": "delivery", "summary": 5}', "summary: Input should be a valid string"),
])
def test_a_malformed_body_is_422_naming_the_problem(server, body, line):
    answer = server.client("amy").post("/complaints", content=body, headers={"Content-Type": "application/json"})
    assert refused(answer, 422, "InvalidInput")["error"] == line


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[RunningServer]:
    """A server of this test's own, which the test stops."""
    url = f"sqlite:///{tmp_path / 'redress.db'}"
    staff_database(url)
    running = start_server(url, tmp_path)
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait()


def test_sigterm_lets_the_request_in_flight_finish_then_exits(own_server):
    """The request is slow because its body is still arriving: it began before SIGTERM and ends after it."""
    began, finish = threading.Event(), threading.Event()
    body = json.dumps({**FILING, "summary": "关机时正在提交"}).encode()

    def slow_body() -> Iterator[bytes]:
        yield body[:20]
        began.set()
        finish.wait(30)
        yield body[20:]

    token = own_server.sign_in("amy")
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(httpx.post, f"{own_server.url}/api/v1/complaints", content=slow_body(), timeout=30,
                             headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        assert began.wait(30)
        ok(httpx.get(f"{own_server.url}/health"))  # the server has read the request's start by now
        own_server.process.terminate()
        finish.set()
        filed = ok(answer.result(), 201)
    assert own_server.process.wait(timeout=30) in CLEAN_STOP
    assert filed["to_state"] == "received"
    assert json.loads(own_server.log_lines()[-1])["status"] == 201


def test_health_is_200_and_503_with_one_line_when_the_database_is_gone(server):
    """Last in this module: the shared server's database is moved away, then back."""
    assert ok(httpx.get(f"{server.url}/health")) == {"status": "ok"}
    database = Path(server.db.removeprefix("sqlite:///"))
    database.rename(database.with_name("moved-away.db"))
    try:
        gone = refused(httpx.get(f"{server.url}/health"), 503, "DatabaseUnavailable")
    finally:
        database.with_name("moved-away.db").rename(database)
    assert gone["error"] == "the database cannot be used; the server's log says why" and gone["exit_code"] == 9
    assert f"health: database {server.db} has no Redress schema" in "\n".join(server.log_lines())
    assert ok(httpx.get(f"{server.url}/health")) == {"status": "ok"}


def test_two_workers_on_sqlite_serve_reads_and_take_turns_writing(sqlite_url, tmp_path):
    staff_database(sqlite_url)
    running = start_server(sqlite_url, tmp_path, "--workers", "2")
    try:
        assert len(_workers(running.process.pid)) == 2
        agent = running.client("amy")
        with ThreadPoolExecutor(8) as pool:  # writers in two processes meet in SQLite's own lock
            answers = list(pool.map(lambda n: agent.post("/complaints", json={**FILING, "summary": f"第{n}件"}),
                                    range(8)))
        numbers = {ok(answer, 201)["number"] for answer in answers}
        assert len(numbers) == 8
        assert {row["number"] for row in ok(agent.get("/complaints", params={"limit": 50}))} >= numbers
    finally:
        assert stop_server(running) in CLEAN_STOP


@pytest.mark.postgres
@pytest.mark.skipif(not PG_ADMIN_URL, reason="no PostgreSQL server: set REDRESS_TEST_PG_URL")
def test_two_workers_serve_on_postgresql_and_health_fails_when_the_database_is_dropped(tmp_path):
    import psycopg

    from workflow.adapters.migrate import upgrade
    from workflow.bootstrap import bootstrap

    with postgres_database() as url:
        migrated = bootstrap(str(CONFIG), url)
        upgrade(migrated.engine)
        migrated.engine.dispose()
        running = start_server(url, tmp_path, "--workers", "2")
        try:
            assert len(_workers(running.process.pid)) == 2
            for _ in range(4):  # whichever worker answers
                assert ok(httpx.get(f"{running.url}/health")) == {"status": "ok"}
                refused(httpx.get(f"{running.url}/api/v1/me"), 401, "NotSignedIn")
            admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE "{url.rpartition("/")[2]}" WITH (FORCE)')
            for _ in range(4):
                gone = refused(httpx.get(f"{running.url}/health"), 503, "DatabaseUnavailable")
                assert gone["error"] == "the database cannot be used; the server's log says why"
        finally:
            assert stop_server(running) in CLEAN_STOP


def _workers(pid: int) -> list[int]:
    """The worker processes uvicorn spawned under `pid` (from /proc; its resource tracker is not one)."""
    children = [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
                for child in (task / "children").read_text().split()]
    return [child for child in children if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()]
