"""Waits on the customer: a reason from the configured list, the policy's longest pause, and paused time per agent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.conftest import file_one
from workflow.adapters.models import MESSAGES
from workflow.domain.errors import InvalidInput, PermissionDenied
from workflow.read.pauses import paused_time_by_agent
from workflow.read.queries import complaint_detail, history
from workflow.services import lifecycle as svc
from workflow.services.firing import fire_due

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # Friday 10:00 in Shanghai
REASON = "photos_or_documents"


def at(app, **delta) -> None:
    app.clock.pin(T0 + timedelta(**delta))
    fire_due(app)


def started(app, severity: str = "critical", **fields) -> str:
    app.clock.pin(T0)
    number = file_one(app, severity=severity, **fields)
    for step in (svc.triage, svc.assign, svc.start):
        step(app, "amy", number)
    svc.respond(app, "amy", number, "we are on it")
    return number


def pending(app, number: str) -> dict[str, str | None]:
    return {d["kind"]: d["due_at"] for d in complaint_detail(app, number)["sla"]["deadlines"] if d["pending"]}


def test_waiting_needs_a_reason_from_the_configured_list(app):
    number = started(app)
    with pytest.raises(InvalidInput, match="a reason is required to wait on the customer; allowed: "
                                           "photos_or_documents, customer_decision"):
        svc.wait_for_customer(app, "amy", number, "photos please")
    with pytest.raises(InvalidInput, match="'napping' is not a pause reason; allowed: photos_or_documents"):
        svc.wait_for_customer(app, "amy", number, "photos please", reason="napping")
    assert complaint_detail(app, number)["state"] == "in_progress"  # nothing half-written
    svc.wait_for_customer(app, "amy", number, "photos please", reason=REASON)
    [pause] = complaint_detail(app, number)["pauses"]
    assert (pause["by"], pause["reason"], pause["ended_at"]) == ("amy", REASON, None)


def test_at_the_longest_pause_the_clock_runs_again_and_the_assignee_and_supervisors_are_told(app):
    number = started(app)  # critical: 24x7, resolution 4h, longest pause 24h
    app.clock.pin(T0 + timedelta(hours=1))
    svc.wait_for_customer(app, "amy", number, "photos please", reason=REASON)
    assert pending(app, number)["pause_limit"] == (T0 + timedelta(hours=25)).isoformat()
    at(app, hours=24, minutes=59)
    assert complaint_detail(app, number)["state"] == "waiting_customer"
    at(app, hours=25)
    detail = complaint_detail(app, number)
    assert detail["state"] == "in_progress" and not detail["sla"]["paused"]
    last = history(app, number)["events"][-1]
    assert (last["actor"], last["trigger"], last["from_state"], last["to_state"]) == (
        "scheduler", "pause_limit_reached", "waiting_customer", "in_progress")
    assert last["data"]["alerted"] == ["amy", "sup"]
    # The hour it ran before the pause is kept: 3h of the 4h resolution target are left from the limit.
    assert pending(app, number)["resolution"] == (T0 + timedelta(hours=28)).isoformat()
    [pause] = detail["pauses"]
    assert (pause["ended_how"], pause["ended_by"], pause["business_minutes"]) == (
        "pause_limit_reached", "scheduler", 1440.0)
    with app.uow(write=False) as uow:
        alerts = uow.session.execute(select(MESSAGES.c.recipient, MESSAGES.c.subject)
                                     .where(MESSAGES.c.kind == "pause_limit")).all()
    [(recipients, subject)] = alerts  # the log channel: one line naming everyone
    assert recipients == "amy, sup" and "longest pause" in subject


def test_a_wait_ended_by_the_customer_leaves_no_limit_to_fire(app):
    number = started(app)
    app.clock.pin(T0 + timedelta(hours=1))
    svc.wait_for_customer(app, "amy", number, "photos please", reason=REASON)
    app.clock.pin(T0 + timedelta(hours=2))
    svc.customer_replied(app, "amy", number, "photos came")
    assert "pause_limit" not in pending(app, number)
    at(app, hours=30)
    assert "pause_limit_reached" not in [e["trigger"] for e in history(app, number)["events"]]


def test_the_limit_counts_in_the_policys_business_time(app):
    number = started(app, severity="high")  # business hours 09-18 on weekdays, longest pause 18h (two days)
    svc.wait_for_customer(app, "amy", number, "the customer decides", reason="customer_decision")
    # Friday 10:00 + 18 working hours: Friday's 8h, then Monday's 9h, then Tuesday 09:00-10:00.
    assert pending(app, number)["pause_limit"] == datetime(2026, 11, 24, 2, 0, tzinfo=UTC).isoformat()


def test_repeated_pauses_show_on_the_complaint_and_add_up_per_agent(app):
    number = started(app)
    other = started(app, phone="13900000001", name="李雷")
    for hours, ref in ((1, number), (3, number), (5, other)):
        app.clock.pin(T0 + timedelta(hours=hours))
        svc.wait_for_customer(app, "amy", ref, "photos please", reason=REASON)
        app.clock.pin(T0 + timedelta(hours=hours, minutes=30))
        svc.customer_replied(app, "amy", ref)
    app.clock.pin(T0 + timedelta(hours=8))
    svc.wait_for_customer(app, "amy", other, "still deciding", reason="customer_decision")
    assert [p["business_minutes"] for p in complaint_detail(app, number)["pauses"]] == [30.0, 30.0]
    app.clock.pin(T0 + timedelta(hours=10))  # the open wait has held its 24x7 clock for two hours so far
    [row] = paused_time_by_agent(app, "sup")
    assert row == {"agent": "amy", "pauses": 4, "complaints": 2, "repeated": 2, "ran_to_limit": 0,
                   "still_waiting": 1, "business_minutes": 210.0, "longest_minutes": 120.0}
    assert paused_time_by_agent(app, "sup", since="2026-11-21") == []  # the local day after they began
    with pytest.raises(InvalidInput, match="--since 2026-11-21 is not before --until 2026-11-20"):
        paused_time_by_agent(app, "sup", since="2026-11-21", until="2026-11-20")
    with pytest.raises(PermissionDenied, match="amy is a agent|amy is an agent"):
        paused_time_by_agent(app, "amy")


def test_a_scheduler_late_to_the_limit_still_runs_the_clock_from_the_limit(app):
    number = started(app)  # critical, 24x7: the limit is 24h after the wait began at 1h
    app.clock.pin(T0 + timedelta(hours=1))
    svc.wait_for_customer(app, "amy", number, "photos please", reason=REASON)
    at(app, hours=26)  # the scheduler was down for the hour after the limit
    [pause] = complaint_detail(app, number)["pauses"]
    assert (pause["ended_at"], pause["business_minutes"]) == ((T0 + timedelta(hours=25)).isoformat(), 1440.0)
    # From the limit at 25h the 3h left run out at 28h, not at 29h: the late hour is not lost.
    assert pending(app, number)["resolution"] == (T0 + timedelta(hours=28)).isoformat()


def test_waits_open_when_the_pause_table_arrives_are_kept_by_who_began_them(database_url):
    from alembic import command

    from tests.conftest import _staffed
    from workflow.adapters.db import SCHEMA_REVISION
    from workflow.adapters.migrate import alembic_config, upgrade

    app = next(_staffed(database_url))
    number = started(app)
    app.clock.pin(T0 + timedelta(hours=1))
    svc.wait_for_customer(app, "amy", number, "photos please", reason=REASON)
    with app.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0009")  # type: ignore[arg-type]
    assert upgrade(app.engine) == SCHEMA_REVISION
    [pause] = complaint_detail(app, number)["pauses"]
    assert (pause["by"], pause["started_at"], pause["limit_at"], pause["ended_at"]) == (
        "amy", (T0 + timedelta(hours=1)).isoformat(), None, None)
    app.engine.dispose()
