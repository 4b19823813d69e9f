"""SQLite writers in one process take turns on one connection kept between turns (workflow/adapters/db.py)."""

from __future__ import annotations

import gc
import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import event, exc, text

from tests.conftest import file_one, make_app
from workflow.adapters import db
from workflow.adapters.db import sqlite_file
from workflow.services import lifecycle
from workflow.services.people import add_user


def _write_connections(app) -> list[int]:
    """The driver connection each writer's transaction began on, in order."""
    seen: list[int] = []

    def begun(connection) -> None:
        if connection.get_execution_options().get("redress_write"):
            seen.append(id(connection.connection.dbapi_connection))

    event.listen(app.engine, "begin", begun)
    return seen


def test_writers_in_several_threads_take_turns_on_one_connection_beside_readers(sqlite_app):
    numbers = [file_one(sqlite_app) for _ in range(40)]
    seen = _write_connections(sqlite_app)
    failures: list[BaseException] = []

    def triage(part: list[str]) -> None:
        try:
            for number in part:
                with sqlite_app.uow(write=False) as reading:  # a reader holds a pooled connection meanwhile
                    reading.session.execute(text("SELECT count(*) FROM complaint")).scalar()
                    lifecycle.triage(sqlite_app, "amy", number)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(error)

    threads = [threading.Thread(target=triage, args=(numbers[i::2],)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(seen) == 40 and len(set(seen)) == 1
    with sqlite_app.uow(write=False) as uow:
        states = uow.session.execute(text("SELECT state, count(*) FROM complaint GROUP BY state")).all()
    assert states == [("triaged", 40)]


def test_a_writer_whose_connection_broke_leaves_the_next_writer_a_new_one(sqlite_app):
    number = file_one(sqlite_app)
    seen = _write_connections(sqlite_app)
    with pytest.raises(exc.ProgrammingError), sqlite_app.uow() as uow:
        uow.session.connection().connection.dbapi_connection.close()  # the kept connection dies mid-turn
        uow.session.execute(text("UPDATE complaint SET summary = 'lost' WHERE number = :n"), {"n": number})
    outcome = lifecycle.triage(sqlite_app, "amy", number)
    assert outcome.to_state == "triaged"
    assert len(seen) == 2 and seen[0] != seen[1]
    with sqlite_app.uow(write=False) as uow:
        summary = uow.session.execute(text("SELECT summary FROM complaint WHERE number = :n"), {"n": number}).scalar()
    assert summary != "lost"


def test_disposing_the_engine_closes_the_kept_connection(sqlite_app):
    file_one(sqlite_app)
    wal = Path(f"{sqlite_file(sqlite_app.url)}-wal")
    assert wal.exists()  # a connection is open: SQLite keeps the write-ahead log
    sqlite_app.forget_database()
    assert not wal.exists()  # the last connection closed: the log was checkpointed and removed
    assert lifecycle.triage(sqlite_app, "amy", file_one(sqlite_app)).to_state == "triaged"


def test_a_turn_that_fails_to_start_for_any_reason_leaves_the_others_their_turns(sqlite_app, monkeypatch):
    number = file_one(sqlite_app)
    sqlite_app.forget_database()  # the next turn opens a connection and a session afresh

    def broken(_connection):
        raise RuntimeError("no session to be had")

    monkeypatch.setattr(db, "writer_session", broken)
    with pytest.raises(RuntimeError):
        lifecycle.triage(sqlite_app, "amy", number)
    monkeypatch.undo()
    done: list[str] = []
    other = threading.Thread(target=lambda: done.append(lifecycle.triage(sqlite_app, "amy", number).to_state))
    other.start()
    other.join(timeout=10)  # a turn left held would keep it waiting lock_wait_seconds (30 s)
    assert done == ["triaged"]


def _files_open(path: Path) -> int:
    return sum(1 for fd in Path("/proc/self/fd").iterdir() if str(path) in os.path.realpath(fd))


def _checkpointers() -> int:
    return sum(thread.name == "redress-checkpoints" for thread in threading.enumerate())


def test_an_engine_nobody_disposed_closes_its_files_and_thread_when_it_goes(tmp_path):
    before = _checkpointers()
    path = tmp_path / "left.db"
    app = make_app(f"sqlite:///{path}")
    add_user(app, None, "boss", "manager")
    assert _files_open(path) > 0 and _checkpointers() == before + 1
    del app
    gc.collect()
    deadline = time.monotonic() + 5
    while _checkpointers() > before or _files_open(path):
        assert time.monotonic() < deadline, (_checkpointers(), _files_open(path))
        time.sleep(0.02)
