"""Batched firing writes exactly what firing each deadline on its own writes, on generated complaints.

Two copies of one database of varied complaints (severities, tiers, assignees, paused clocks, first responses)
are swept at the same instants: one with batches as the scheduler runs them, the other with every deadline
fired one at a time (the path a batch falls back to). Their events (hash chains included), deadlines, alerts
and complaints must be the same rows.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import PINNED, make_app
from workflow.adapters.models import COMPLAINTS, DEADLINES, EVENTS, MESSAGES
from workflow.services import firing
from workflow.services import lifecycle as svc
from workflow.services.firing import fire_due

SWEEPS = [timedelta(minutes=8), timedelta(minutes=16), timedelta(hours=1), timedelta(hours=3),
          timedelta(hours=7), timedelta(days=1), timedelta(days=3), timedelta(days=8), timedelta(days=30)]


def generate(app, count: int, seed: int) -> None:
    """Complaints of every severity and tier, some assigned, started, answered or waiting on the customer."""
    rng = random.Random(seed)
    severities = [severity.name for severity in app.config.severities]
    for i in range(count):
        number = svc.file_complaint(
            app, "amy", channel="phone", category="delivery", summary=f"parcel {i} is late",
            phone=f"139{i % 40:08d}", name=f"customer {i % 40}", tier=rng.choice(app.config.tier_names),
            severity=rng.choice(severities)).number
        roll = rng.random()
        if roll < 0.25:
            continue
        svc.triage(app, "amy", number)
        if roll < 0.45:
            continue
        agent = rng.choice(["amy", "bob"])
        svc.assign(app, "sen", number, agent)
        if roll < 0.6:
            continue
        svc.start(app, agent, number)
        if roll < 0.75:
            svc.respond(app, agent, number, "we are on it")
        elif roll < 0.9:
            svc.wait_for_customer(app, agent, number, "need the receipt", reason="photos_or_documents")


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database in WAL mode (sqlite3's online backup)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def rows_of(app) -> dict[str, list[tuple]]:
    """What firing wrote, without ids that depend on insertion order (ids of complaints are the same)."""
    with app.engine.connect() as connection:
        events = connection.execute(
            select(EVENTS.c.complaint_id, EVENTS.c.at, EVENTS.c.actor, EVENTS.c.trigger, EVENTS.c.from_state,
                   EVENTS.c.to_state, EVENTS.c.note, EVENTS.c.data, EVENTS.c.hash, EVENTS.c.prev_hash)
            .order_by(EVENTS.c.complaint_id, EVENTS.c.id)).all()
        deadlines = connection.execute(
            select(DEADLINES.c.complaint_id, DEADLINES.c.kind, DEADLINES.c.level, DEADLINES.c.offset_minutes,
                   DEADLINES.c.due_at, DEADLINES.c.fired_at, DEADLINES.c.cancelled_at, DEADLINES.c.created_at,
                   DEADLINES.c.step_id)).all()
        messages = connection.execute(
            select(MESSAGES.c.complaint_id, MESSAGES.c.kind, MESSAGES.c.audience, MESSAGES.c.channel,
                   MESSAGES.c.recipient, MESSAGES.c.subject, MESSAGES.c.body, MESSAGES.c.status,
                   MESSAGES.c.next_attempt_at, MESSAGES.c.last_error, MESSAGES.c.created_at)).all()
        complaints = connection.execute(select(COMPLAINTS).order_by(COMPLAINTS.c.id)).all()
    return {"events": [tuple(row) for row in events],
            "deadlines": sorted(tuple(map(str, row)) for row in deadlines),
            "messages": sorted(tuple(map(str, row)) for row in messages),
            "complaints": [tuple(row) for row in complaints]}


@pytest.mark.parametrize("seed", [7, 2026])
def test_batches_write_the_same_rows_as_firing_one_deadline_at_a_time(sqlite_app, tmp_path, monkeypatch, seed):
    generate(sqlite_app, 90, seed)
    sqlite_app.engine.dispose()
    copy_database(Path(sqlite_app.engine.url.database), tmp_path / "one-by-one.db")
    one_by_one = make_app(f"sqlite:///{tmp_path / 'one-by-one.db'}")
    statements = {"batched": 0, "one by one": 0}

    def sweep(app, path: str, batch_size: int) -> int:
        from sqlalchemy import event

        def count(*_args) -> None:
            statements[path] += 1

        event.listen(app.engine, "before_cursor_execute", count)
        try:
            total = 0
            for offset in SWEEPS:
                app.clock.pin(PINNED + offset)
                total += fire_due(app, batch_size=batch_size).fired
            return total
        finally:
            event.remove(app.engine, "before_cursor_execute", count)

    batched = sweep(sqlite_app, "batched", 50)
    with monkeypatch.context() as patch:  # every deadline through the per-deadline path, one transaction a batch
        patch.setattr(firing, "_split", lambda due: ([], [row.id for row in due]))
        alone = sweep(one_by_one, "one by one", 50)

    assert batched == alone > 150
    expected, got = rows_of(one_by_one), rows_of(sqlite_app)
    for table in ("events", "deadlines", "messages", "complaints"):
        assert got[table] == expected[table], table
    assert {"sla_warning", "sla_breach", "escalate"} <= {row[3] for row in got["events"]}
    assert statements["batched"] * 4 < statements["one by one"], statements
