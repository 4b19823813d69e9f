"""The history seeder for report benchmarks (bench/seed_history.py): complaints written straight into the tables
tell consistent stories, in the shares asked for, and the engine reads and carries on from them as its own.

Each database is seeded once for the module (seeding is what takes the time); the tests only read it, but the
last, which files one more complaint.
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, or_, select

from tests.conftest import PG_ADMIN_URL, ROOT, file_one, make_app
from workflow.adapters.models import (
    COMPLAINTS,
    CUSTOMERS,
    DEADLINES,
    EVENTS,
    MESSAGES,
    PAUSES,
    STEPS,
    SURVEYS,
    USERS,
)
from workflow.read.explain import explain
from workflow.read.queries import complaint_detail, history, queue

UNTIL = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 2026-12-01 00:00 in Shanghai
COUNT = 2000
C = COMPLAINTS.c
CLOSED = C.state.in_(("closed", "cancelled"))
END = func.coalesce(C.closed_at, UNTIL)


def _module() -> Any:
    """bench/ is scripts, not a package: load the seeder from its file."""
    spec = importlib.util.spec_from_file_location("seed_history", ROOT / "bench" / "seed_history.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


seed_history = _module()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[Any, dict[str, Any]]]:
    """A migrated database with a few staff already there, then a year of history in small batches; the clock
    at the year's end."""
    from workflow.services.people import add_user

    if request.param == "sqlite":
        url, name = f"sqlite:///{tmp_path_factory.mktemp('seed') / 'redress.db'}", None
    else:
        import psycopg

        assert PG_ADMIN_URL, "REDRESS_TEST_PG_URL is not set"
        name = f"redress_test_{uuid.uuid4().hex[:12]}"
        admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        url = f"{PG_ADMIN_URL.rpartition('/')[0]}/{name}"
    app = make_app(url)
    add_user(app, None, "boss", "manager")
    add_user(app, "boss", "amy", "agent")
    result = seed_history.seed(app.url, COUNT, until=UNTIL, seed=7, batch=500)
    app.clock.pin(UNTIL)
    yield app, result
    app.engine.dispose()
    if name:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def count(app: Any, *where: Any, table: Any = COMPLAINTS) -> int:
    with app.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def share(app: Any, *where: Any) -> float:
    return count(app, *where) / COUNT


def test_counts_and_shares_are_as_asked(seeded):
    app, result = seeded
    closed = count(app, C.state == "closed")
    for table in (COMPLAINTS, CUSTOMERS, DEADLINES, EVENTS, PAUSES, STEPS, SURVEYS, MESSAGES):
        assert result[table.name] == count(app, table=table), table.name
    assert result["complaint"] == COUNT and result["customer"] == COUNT // 3
    assert count(app, table=USERS) == 2 + 60 + 10 + 4 + 2 + 1  # the staff there before, the seeded, the mail system
    assert 4 * COUNT <= result["deadline"] <= 4.5 * COUNT
    assert 6 * COUNT <= result["event"] <= 12 * COUNT
    assert 0.25 <= share(app, C.is_open.is_(True)) <= 0.35
    assert 0.07 <= share(app, C.first_response_breached_at.is_not(None)) <= 0.13
    assert 0.09 <= share(app, C.resolution_breached_at.is_not(None)) <= 0.15
    assert 0.11 <= share(app, C.first_escalated_at.is_not(None)) <= 0.21
    assert 0.01 <= share(app, C.reopens > 0) <= 0.06
    assert 0.05 <= share(app, C.first_contact.is_(True)) <= 0.11
    assert 0.005 <= share(app, C.state == "cancelled") <= 0.04
    assert 0.14 <= count(app, table=select(STEPS.c.complaint_id).distinct().subquery()) / COUNT <= 0.27
    assert 0.09 <= count(app, table=select(PAUSES.c.complaint_id).distinct().subquery()) / COUNT <= 0.2
    assert 0.35 <= result["survey_answer"] / closed <= 0.55
    assert 0.6 <= result["message"] / closed <= 0.8
    with app.engine.connect() as connection:
        scores = dict(connection.execute(select(SURVEYS.c.score, func.count()).group_by(SURVEYS.c.score)).all())
        assert scores[4] + scores[5] > 2 * (scores[1] + scores[2])
        numbers = connection.execute(select(func.count(C.number.distinct()))).scalar_one()
        assert numbers == COUNT
        tiers = dict(connection.execute(select(CUSTOMERS.c.tier, func.count()).group_by(CUSTOMERS.c.tier)).all())
        assert tiers["registered"] > tiers["bronze"] > tiers["silver"] > tiers["gold"] > 0


def test_every_story_is_consistent(seeded):
    app, _ = seeded
    # Closed and open complaints, and the clocks' facts within each complaint's life.
    assert count(app, CLOSED, or_(C.closed_at.is_(None), C.is_open.is_(True))) == 0
    assert count(app, ~CLOSED, or_(C.closed_at.is_not(None), C.is_open.is_(False))) == 0
    for column in (C.first_responded_at, C.resolved_at, C.first_response_breached_at, C.resolution_breached_at,
                   C.first_escalated_at):
        assert count(app, column.is_not(None), or_(column < C.created_at, column > END)) == 0, column.name
    assert count(app, or_(C.updated_at < C.created_at, C.updated_at > UNTIL)) == 0  # a survey answer comes later
    assert count(app, C.state == "closed", or_(C.resolved_at.is_(None), C.resolution_minutes.is_(None),
                                               C.first_response_minutes.is_(None), C.resolution.is_(None))) == 0
    assert count(app, C.state == "cancelled", or_(C.cancel_reason.is_(None), C.resolved_at.is_not(None))) == 0
    assert count(app, C.first_contact.is_(True), or_(
        C.state != "closed", C.assignee_id.is_not(None), C.first_response_breached_at.is_not(None),
        C.resolution_breached_at.is_not(None), C.closed_at != C.created_at)) == 0
    assert count(app, C.first_escalated_at.is_not(None),
                 or_(C.peak_level < 1, C.escalated_at < C.first_escalated_at)) == 0
    assert count(app, C.state == "waiting_customer", C.sla_paused_at.is_(None)) == 0
    # Deadlines: the four SLA timers each, pending only while the complaint is open.
    joined = DEADLINES.join(COMPLAINTS, DEADLINES.c.complaint_id == C.id)
    pending = DEADLINES.c.fired_at.is_(None) & DEADLINES.c.cancelled_at.is_(None)
    assert count(app, DEADLINES.c.kind == "resolution", table=DEADLINES) >= COUNT
    assert count(app, DEADLINES.c.kind == "first_response", table=DEADLINES) == COUNT
    assert count(app, pending, CLOSED, table=joined) == 0
    assert count(app, DEADLINES.c.fired_at.is_not(None), or_(DEADLINES.c.fired_at < C.created_at,
                                                             DEADLINES.c.fired_at > END), table=joined) == 0
    # Every event within its complaint's life, the filing first.
    events = EVENTS.join(COMPLAINTS, EVENTS.c.complaint_id == C.id)
    assert count(app, EVENTS.c.trigger == "file", table=EVENTS) == COUNT
    assert count(app, or_(EVENTS.c.at < C.created_at, EVENTS.c.at > UNTIL), table=events) == 0
    # Waits on the customer: an unfinished one only on a complaint that waits.
    pauses = PAUSES.join(COMPLAINTS, PAUSES.c.complaint_id == C.id)
    assert count(app, PAUSES.c.ended_at < PAUSES.c.started_at, table=PAUSES) == 0
    assert count(app, PAUSES.c.ended_at.is_(None), C.state != "waiting_customer", table=pauses) == 0
    # Compensation: decided after asked, money with its currency, nothing left open on a closed complaint.
    steps = STEPS.join(COMPLAINTS, STEPS.c.complaint_id == C.id)
    assert count(app, STEPS.c.decided_at <= STEPS.c.created_at, table=STEPS) == 0
    assert count(app, STEPS.c.amount_minor > 20000, STEPS.c.decided_by_id.is_(None),
                 STEPS.c.state != "awaiting_approval", table=STEPS) == 0
    assert count(app, STEPS.c.kind.in_(("refund", "voucher", "gift")),
                 or_(STEPS.c.amount_minor.is_(None), STEPS.c.currency != "CNY"), table=STEPS) == 0
    assert count(app, C.state == "closed", STEPS.c.state.not_in(("done", "cancelled")), table=steps) == 0
    assert count(app, STEPS.c.state == "done", STEPS.c.done_at > STEPS.c.due_at, table=STEPS) > 0  # some late
    # Surveys: answered and asked only once closed.
    surveys = SURVEYS.join(COMPLAINTS, SURVEYS.c.complaint_id == C.id)
    assert count(app, or_(C.state != "closed", SURVEYS.c.recorded_at <= C.closed_at,
                          SURVEYS.c.category != C.category), table=surveys) == 0
    messages = MESSAGES.join(COMPLAINTS, MESSAGES.c.complaint_id == C.id)
    assert count(app, or_(C.state != "closed", MESSAGES.c.created_at != C.closed_at), table=messages) == 0
    assert count(app, SURVEYS.c.complaint_id.not_in(select(MESSAGES.c.complaint_id)), table=SURVEYS) == 0


def test_the_engine_reads_the_history_and_carries_on(seeded):  # last: it files a complaint
    app, _ = seeded
    with app.engine.connect() as connection:
        firsts = connection.execute(select(C.state, func.min(C.number)).group_by(C.state)).all()
        last_number = connection.execute(select(func.max(C.number))).scalar_one()
    assert {state for state, _ in firsts} >= {"closed", "cancelled", "resolved", "in_progress"}
    for state, number in firsts:
        detail = complaint_detail(app, number)
        assert detail["state"] == state
        assert history(app, number)["events"][0]["trigger"] == "file"
        for deadline in explain(app, number)["deadlines"]:
            replayed, stored = deadline.get("replayed_due_at"), deadline.get("due_at")
            if replayed and stored:  # the story's clock is the engine's, to the second
                gap = datetime.fromisoformat(replayed) - datetime.fromisoformat(stored)
                assert abs(gap) <= timedelta(seconds=5), (number, deadline["kind"])
    assert queue(app, limit=20)
    app.clock.pin(UNTIL - timedelta(hours=1))
    number = file_one(app)
    assert number > last_number  # the day's sequence goes on after the seeded numbers, ids after the seeded ids
    with pytest.raises(seed_history.Refused, match="already holds complaints"):
        seed_history.seed(app.url, 10, until=UNTIL)


def test_the_same_seed_writes_the_same_rows(tmp_path: Path):
    def rows(name: str) -> list[tuple]:
        app = make_app(f"sqlite:///{tmp_path / name}")
        seed_history.seed(app.url, 300, until=UNTIL, seed=11)
        with app.engine.connect() as connection:
            found = [tuple(row) for table in (COMPLAINTS, EVENTS, DEADLINES, STEPS, SURVEYS)
                     for row in connection.execute(select(table).order_by(table.c.id))]
        app.engine.dispose()
        return found

    assert rows("a.db") == rows("b.db")


def test_each_complaint_carries_the_next_breach_its_deadlines_say(seeded):
    from workflow.services.clocks import NEXT_BREACH

    app, _ = seeded
    with app.engine.connect() as connection:
        kept = connection.execute(select(C.id, C.next_breach_at).order_by(C.id)).all()
        counted = connection.execute(select(C.id, NEXT_BREACH).order_by(C.id)).all()
    assert kept == counted
    assert sum(1 for _, at in kept if at is not None) > COUNT // 10


def test_each_escalated_complaint_carries_its_first_breach_as_its_deadlines_say(seeded):
    from tests.conftest import overdue_since_counted

    app, _ = seeded
    with app.engine.connect() as connection:
        kept = connection.execute(select(C.id, C.overdue_since).order_by(C.id)).all()
        counted = connection.execute(select(C.id, overdue_since_counted()).order_by(C.id)).all()
    assert kept == counted
    assert sum(1 for _, at in kept if at is not None) > COUNT // 100
