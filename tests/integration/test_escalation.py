"""SLA clocks and the escalation ladder, driven by `fire_due` with a pinned clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import file_one
from workflow.adapters.models import MESSAGES
from workflow.read.queries import complaint_detail, history
from workflow.services import lifecycle as svc
from workflow.services.clocks import SLA_KINDS
from workflow.services.compensation import list_steps, remove_step
from workflow.services.firing import fire_due

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # Friday 10:00 in Shanghai


def at(app, **delta) -> None:
    app.clock.pin(T0 + timedelta(**delta))
    fire_due(app)


def level(app, number) -> int:
    return complaint_detail(app, number)["escalation_level"]


def triggers(app, number) -> list[str]:
    return [e["trigger"] for e in history(app, number)["events"]]


def pending_kinds(app, number) -> list[str]:
    """The complaint's pending SLA timers (compensation and survey timers are tested on their own)."""
    return [d["kind"] for d in complaint_detail(app, number)["sla"]["deadlines"]
            if d["pending"] and d["kind"] in SLA_KINDS]


def test_a_critical_complaint_left_alone_climbs_every_level_at_the_configured_times(app):
    number = file_one(app, severity="critical")  # 24x7, first response 15m, starts at senior, climbs every 30m
    assert level(app, number) == 1
    at(app, minutes=7)
    assert level(app, number) == 1 and "sla_warning" not in triggers(app, number)
    at(app, minutes=7, seconds=30)
    assert triggers(app, number)[-1] == "sla_warning"
    at(app, minutes=14, seconds=59)
    assert level(app, number) == 1
    at(app, minutes=15)
    assert level(app, number) == 2  # first response breached: supervisor
    at(app, minutes=44)
    assert level(app, number) == 2
    at(app, minutes=45)
    assert level(app, number) == 3  # the next step of the ladder: manager
    at(app, hours=4)
    assert level(app, number) == 3  # the top of the ladder
    assert triggers(app, number) == ["file", "sla_warning", "sla_breach", "escalate", "sla_warning", "sla_breach"]
    assert pending_kinds(app, number) == []


def test_each_climb_alerts_the_people_at_that_level(app):
    number = file_one(app, severity="critical")
    at(app, minutes=15)
    breach = history(app, number)["events"][-1]
    assert breach["data"]["to_level"] == "supervisor" and breach["data"]["alerted"] == ["sup"]
    with app.uow(write=False) as uow:
        recipients = uow.session.execute(
            select(MESSAGES.c.recipient).where(MESSAGES.c.kind == "sla_breach")
        ).scalars().all()
    assert recipients == ["sup"]


def test_a_low_complaint_does_not_climb_before_its_breach(app):
    app.clock.pin(T0 + timedelta(hours=5))
    number = file_one(app, severity="low")  # business hours, first response 8h, from Friday 15:00
    at(app, hours=9)  # Friday 19:00: closed, 3 business hours gone
    assert level(app, number) == 0
    at(app, days=2)  # Sunday: closed, nothing moves
    assert level(app, number) == 0
    at(app, days=3, hours=3, minutes=59)  # Monday 13:59
    assert level(app, number) == 0
    at(app, days=3, hours=4)  # Monday 14:00: 8 business hours gone, first response breached
    assert level(app, number) == 1
    assert triggers(app, number) == ["file", "sla_warning", "sla_breach"]


def test_a_first_response_stops_the_first_response_clock(app):
    number = file_one(app, severity="critical")
    svc.triage(app, "amy", number)
    svc.assign(app, "amy", number)
    svc.respond(app, "amy", number, "we are on it")
    assert pending_kinds(app, number) == ["resolution_warning", "resolution"]
    at(app, minutes=30)
    assert level(app, number) == 1


def test_resolving_stops_and_closing_cancels_every_timer(app):
    app.config = app.config.model_copy(
        update={"compensation": app.config.compensation.model_copy(update={"rules": []})}
    )  # compensation steps have timers of their own, tested in test_compensation
    number = file_one(app, severity="critical")
    at(app, minutes=15)
    assert "escalation" in pending_kinds(app, number)
    for step in (svc.triage, svc.assign, svc.start):
        step(app, "amy", number)
    svc.resolve(app, "amy", number, "refunded")
    assert pending_kinds(app, number) == []
    at(app, hours=6)
    assert level(app, number) == 2


def test_waiting_on_the_customer_pauses_the_clock_and_resuming_gives_back_what_was_left(app):
    number = file_one(app, severity="critical")
    for step in (svc.triage, svc.assign, svc.start):
        step(app, "amy", number)
    svc.respond(app, "amy", number, "need photos")
    app.clock.pin(T0 + timedelta(hours=1))
    svc.wait_for_customer(app, "amy", number, "photos of the damage", reason="photos_or_documents")
    sla = complaint_detail(app, number)["sla"]
    assert sla["paused"]
    assert all(d["due_at"] is None for d in sla["deadlines"] if d["pending"] and d["kind"] in SLA_KINDS)
    at(app, hours=10)  # far past the 4h resolution target, but paused: nothing fires
    assert level(app, number) == 1
    remaining = {d["kind"]: d["remaining_business_minutes"]
                 for d in complaint_detail(app, number)["sla"]["deadlines"] if d["pending"] and d["kind"] in SLA_KINDS}
    assert remaining == {"resolution_warning": 60, "resolution": 180}  # frozen at the pause
    svc.customer_replied(app, "amy", number, "photos received")
    due = [d for d in complaint_detail(app, number)["sla"]["deadlines"] if d["kind"] == "resolution"][0]["due_at"]
    assert due == (T0 + timedelta(hours=13)).isoformat()  # 3h left from 10h
    at(app, hours=12, minutes=59)
    assert level(app, number) == 1
    at(app, hours=13)
    assert level(app, number) == 2


def test_reopening_starts_a_fresh_resolution_clock(app):
    number = file_one(app, severity="high")
    for step in (svc.triage, svc.assign, svc.start):
        step(app, "amy", number)
    svc.resolve(app, "amy", number, "done")
    for step in list_steps(app, number):  # a high severity plans steps; a closed complaint keeps none open
        remove_step(app, "amy", step["id"], "customer declined")
    svc.close(app, "amy", number)
    assert pending_kinds(app, number) == []
    svc.reopen(app, "amy", number, "customer called back")
    assert pending_kinds(app, number) == ["resolution_warning", "resolution"]


def test_a_gold_members_clock_is_shorter(app):
    regular = file_one(app, severity="high", phone="13900000001", name="A")
    gold = svc.file_complaint(app, "amy", channel="phone", category="delivery", summary="late", phone="13900000002",
                              name="B", tier="gold", severity="high").number

    def first_response_due(number):
        return next(d["due_at"] for d in complaint_detail(app, number)["sla"]["deadlines"]
                    if d["kind"] == "first_response")

    assert first_response_due(regular) == (T0 + timedelta(hours=1)).isoformat()
    assert first_response_due(gold) == (T0 + timedelta(minutes=45)).isoformat()


def test_raising_the_severity_replans_the_clocks_from_the_same_start(app):
    number = file_one(app, severity="low")
    app.clock.pin(T0 + timedelta(minutes=10))
    svc.change_severity(app, "amy", number, "critical", "customer threatens to sue")
    first = next(d for d in complaint_detail(app, number)["sla"]["deadlines"]
                 if d["kind"] == "first_response" and d["pending"])
    assert first["due_at"] == (T0 + timedelta(minutes=15)).isoformat()


def test_every_deadline_fires_once_even_when_ticked_repeatedly(app):
    numbers = [file_one(app, severity="critical") for _ in range(5)]
    for _ in range(3):
        at(app, hours=5)
    with app.uow(write=False) as uow:
        from workflow.adapters.models import EVENTS

        breaches = uow.session.execute(
            select(func.count()).select_from(EVENTS).where(EVENTS.c.trigger == "sla_breach")
        ).scalar_one()
    assert breaches == 2 * len(numbers)


@pytest.mark.parametrize("batch_size", [1, 3])
def test_catch_up_fires_oldest_first_in_batches(app, batch_size):
    numbers = []
    for minute in range(4):
        app.clock.pin(T0 + timedelta(minutes=minute))
        numbers.append(file_one(app, severity="critical"))
    app.clock.pin(T0 + timedelta(minutes=20))
    report = fire_due(app, batch_size=batch_size)
    assert report.fired == 8  # a warning and a breach each
    fired = []
    for number in numbers:
        fired += [(e["id"], e["data"]["due_at"]) for e in history(app, number)["events"] if e["actor"] == "scheduler"]
    due_in_firing_order = [due for _, due in sorted(fired)]
    assert len(due_in_firing_order) == 8
    assert due_in_firing_order == sorted(due_in_firing_order)


def test_a_deadline_read_by_a_batch_but_not_yet_due_is_not_fired(app, monkeypatch):
    """A batch that read a deadline which was moved later before it was marked leaves it for its new time."""
    import workflow.services.firing as firing
    from workflow.adapters.models import DEADLINES

    number = file_one(app, severity="critical")  # warning at 7m30s, breach at 15m

    def every_pending_deadline(session, now, limit):  # what a batch read before a supervisor moved them
        pending = select(DEADLINES.c.id, DEADLINES.c.complaint_id, DEADLINES.c.kind)
        return list(session.execute(pending.where(DEADLINES.c.fired_at.is_(None)).order_by(DEADLINES.c.id)))

    monkeypatch.setattr(firing, "due_deadlines", every_pending_deadline)
    app.clock.pin(T0 + timedelta(minutes=8))
    report = fire_due(app, max_batches=1)
    assert report.fired == 1  # the warning; the breach, the resolution clock and its warning wait
    assert triggers(app, number) == ["file", "sla_warning"]
    assert level(app, number) == 1


def test_a_database_outage_is_one_line_from_the_scheduler_and_the_next_sweep_fires_what_was_due(app, monkeypatch):
    import workflow.scheduler as scheduler_module
    from workflow.domain.errors import DatabaseUnavailable
    from workflow.scheduler import DeadlineScheduler

    number = file_one(app, severity="critical")
    app.clock.pin(T0 + timedelta(minutes=16))
    lines: list[str] = []
    scheduler = DeadlineScheduler(app, lines.append)

    def unreachable(*args, **kwargs):
        raise DatabaseUnavailable("cannot use database sqlite:///x.db: database is locked")

    monkeypatch.setattr(scheduler_module, "fire_due", unreachable)
    monkeypatch.setattr(scheduler_module, "deliver_due", unreachable)
    scheduler.sweep()
    scheduler.deliver()
    assert lines == [
        "scheduler: cannot use database sqlite:///x.db: database is locked; trying again in 1s",
        "scheduler: outbox: cannot use database sqlite:///x.db: database is locked; trying again in 1s",
    ]
    monkeypatch.setattr(scheduler_module, "fire_due", fire_due)
    scheduler.sweep()  # within the wait: not tried yet
    assert triggers(app, number)[1:] == []
    import time

    deadline = time.monotonic() + 3
    while not scheduler._sweeps.ready() and time.monotonic() < deadline:
        time.sleep(0.05)
    scheduler.sweep()
    assert triggers(app, number)[1:] == ["sla_warning", "sla_breach"]
    assert lines[-2].startswith("scheduler: database ") and lines[-2].endswith(" works again")
