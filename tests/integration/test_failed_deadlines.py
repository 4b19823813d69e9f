"""One bad row never stops the others: a deadline whose firing raises is set aside, audited, alerted and retried."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from tests.conftest import file_one
from workflow.adapters.models import COMPLAINTS, EVENTS, MESSAGES
from workflow.domain.clock import Clock
from workflow.domain.errors import InvalidInput, PermissionDenied
from workflow.read.desk import desk_queue
from workflow.read.queries import complaint_detail, queue
from workflow.services.failed_deadlines import list_failed, retry_failed
from workflow.services.firing import fire_due

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # Friday 10:00 in Shanghai


def retire_severity(app, number: str) -> None:
    """A row written under an older config: its severity is no longer configured, so its clocks cannot be planned."""
    with app.engine.begin() as connection:
        connection.execute(update(COMPLAINTS).where(COMPLAINTS.c.number == number).values(severity="retired"))


def events_of(app, number: str, trigger: str) -> list:
    with app.uow(write=False) as uow:
        return list(uow.session.execute(
            select(EVENTS.c.note, EVENTS.c.data).join(COMPLAINTS, COMPLAINTS.c.id == EVENTS.c.complaint_id)
            .where(COMPLAINTS.c.number == number, EVENTS.c.trigger == trigger).order_by(EVENTS.c.id)))


def breached(app, number: str) -> bool:
    deadlines = complaint_detail(app, number)["sla"]["deadlines"]
    return any(d["kind"] == "first_response" and d["fired_at"] for d in deadlines)


def test_a_deadline_that_raises_is_set_aside_and_every_other_one_in_its_batch_fires(app):
    poisoned = file_one(app, severity="critical", phone="13900000000")
    good = [file_one(app, severity="critical", phone=f"1390000{i:04d}") for i in range(1, 30)]
    retire_severity(app, poisoned)
    app.clock.pin(T0 + timedelta(minutes=16))  # first responses (15 m) breached: breaches re-plan the ladder
    report = fire_due(app, batch_size=10)
    assert report.failed == 1
    assert all(breached(app, number) for number in good)
    assert not breached(app, poisoned)
    [failed] = list_failed(app)
    assert failed["complaint"] == poisoned and failed["kind"] == "first_response"
    assert failed["status"] == "retrying" and failed["attempts"] == 1
    assert failed["error"].startswith("NoPolicy: severity 'retired' has no SLA policy")
    [(note, data)] = events_of(app, poisoned, "deadline_failed")
    assert "first response deadline could not fire (NoPolicy: severity" in note
    assert json.loads(data)["retry_at"] == (T0 + timedelta(minutes=17)).isoformat()
    with app.uow(write=False) as uow:
        alerts = uow.session.execute(select(MESSAGES.c.recipient, MESSAGES.c.subject)
                                     .where(MESSAGES.c.kind == "deadline_failed")).all()
    assert alerts and all("boss" in recipient for recipient, _ in alerts)  # the managers hear of it
    sla = complaint_detail(app, poisoned)["sla"]  # the complaint still shows, saying why it has no countdown
    assert sla["problem"].startswith("severity 'retired' has no SLA policy")
    assert [d["failed_to_fire"] for d in sla["deadlines"] if d["kind"] == "first_response"] == [failed["error"]]
    assert poisoned in [row["number"] for row in queue(app)]
    [row] = [row for row in desk_queue(app, "boss", mine=False) if row["number"] == poisoned]
    assert row["remaining_minutes"] is None  # listed without a countdown rather than hiding the team's queue


def test_a_failed_deadline_is_retried_with_backoff_then_set_aside_until_retried_by_hand(app):
    poisoned = file_one(app, severity="critical")
    retire_severity(app, poisoned)
    now = T0 + timedelta(minutes=16)
    app.clock.pin(now)
    fire_due(app)
    waits = []
    for _ in range(4):  # scheduler.fire_attempts is 5 by default, retry_backoff_seconds 60, doubling
        retry_at = datetime.fromisoformat(list_failed(app)[0]["retry_at"])
        waits.append((retry_at - now).total_seconds())
        app.clock.pin(retry_at - timedelta(seconds=1))
        assert fire_due(app).failed == 0  # not before its retry time
        now = retry_at
        app.clock.pin(now)
        assert fire_due(app).failed == 1
    assert waits == [60, 120, 240, 480]
    [failed] = list_failed(app)
    assert failed["status"] == "set aside" and failed["attempts"] == 5 and failed["retry_at"] is None
    app.clock.pin(T0 + timedelta(hours=1, minutes=59))  # long after, before its other deadlines fall due
    assert fire_due(app).failed == 0  # set aside for good: never tried again on its own
    assert len(events_of(app, poisoned, "deadline_failed")) == 5
    with pytest.raises(PermissionDenied):
        retry_failed(app, "amy", failed["id"])
    with app.engine.begin() as connection:  # the cause is fixed
        connection.execute(update(COMPLAINTS).where(COMPLAINTS.c.number == poisoned).values(severity="critical"))
    retry_failed(app, "sup", failed["id"])
    assert [note for note, _ in events_of(app, poisoned, "deadline_retried")] == [
        "first response deadline queued to fire again"]
    assert fire_due(app).fired >= 1
    assert breached(app, poisoned)
    assert list_failed(app) == []
    assert [row["status"] for row in list_failed(app, include_done=True)] == ["fired"]
    with pytest.raises(InvalidInput, match="has not failed or is no longer pending"):
        retry_failed(app, "sup", failed["id"])


def test_a_business_hours_clock_started_years_ago_fires_and_shows(app):
    """Imported history or a script pinned to a wrong year: counting from a clock years old must not give up."""
    app.clock.pin(datetime(2023, 3, 1, 2, 0, tzinfo=UTC))
    old = file_one(app, severity="medium")  # the business calendar, 09:00-18:00 on working days
    app.clock = Clock(T0)
    report = fire_due(app)
    assert report.failed == 0 and report.fired >= 2
    detail = complaint_detail(app, old)
    assert detail["escalation_level"] >= 1
    assert detail["sla"]["elapsed_business_minutes"] > 3 * 200 * 9 * 60  # three years of working days
    with app.uow(write=False) as uow:
        clock = uow.session.execute(select(COMPLAINTS.c.sla_clock_at, COMPLAINTS.c.sla_clock_minutes)
                                    .where(COMPLAINTS.c.number == old)).one()
    assert clock.sla_clock_at == T0  # the breach moved the checkpoint: later counts start here


def test_pausing_and_resuming_moves_the_deadlines_by_the_working_time_spent_waiting(app):
    from workflow.services import lifecycle as svc

    number = file_one(app, severity="medium")  # resolution 18 working hours: Tuesday 10:00 Shanghai
    before = {d["kind"]: d["due_at"] for d in complaint_detail(app, number)["sla"]["deadlines"]}
    assert before["resolution"] == "2026-11-24T02:00:00+00:00"
    svc.triage(app, "amy", number)
    svc.assign(app, "amy", number, "amy")
    svc.start(app, "amy", number)
    app.clock.pin(T0 + timedelta(hours=1))
    svc.wait_for_customer(app, "amy", number, "need the receipt", reason="photos_or_documents")
    assert complaint_detail(app, number)["sla"]["paused"]
    app.clock.pin(T0 + timedelta(days=3))  # Monday 10:00: paused Friday 11-18 and Monday 9-10, 8 working hours
    svc.customer_replied(app, "amy", number)
    after = {d["kind"]: d["due_at"] for d in complaint_detail(app, number)["sla"]["deadlines"] if d["pending"]}
    assert after["resolution"] == "2026-11-24T10:00:00+00:00"  # Tuesday 18:00 Shanghai
    assert complaint_detail(app, number)["sla"]["elapsed_business_minutes"] == 60.0  # Friday 10-11


def one_complaint_raises(monkeypatch, app, number: str, error: BaseException) -> None:
    """Make deciding any warning of `number` raise `error` (a stand-in for a bug or a corrupt row), whether it
    fires with its batch or on its own."""
    import workflow.services.breaches as breaches

    with app.uow(write=False) as uow:
        target = uow.session.execute(select(COMPLAINTS.c.id).where(COMPLAINTS.c.number == number)).scalar_one()
    original = breaches.warning

    def failing(app, people, complaint, *args, **kwargs):
        if complaint.id == target:
            raise error
        return original(app, people, complaint, *args, **kwargs)

    monkeypatch.setattr(breaches, "warning", failing)


def test_an_error_text_with_nul_bytes_and_control_characters_is_stored_readably(app, monkeypatch):
    """A hostile reply's text must not stop PostgreSQL (which refuses NUL) from recording the failure."""
    bad = file_one(app, severity="critical", phone="13900000000")
    good = file_one(app, severity="critical", phone="13900000001")
    one_complaint_raises(monkeypatch, app, bad, RuntimeError("HTTP/1.1 500 Bad\x00Gateway\r\n\x1b[31mred"))
    app.clock.pin(T0 + timedelta(minutes=8))  # the first-response warnings (at half of 15 m)
    report = fire_due(app)
    assert (report.fired, report.failed) == (1, 1)
    [failed] = list_failed(app)
    assert failed["complaint"] == bad
    assert failed["error"] == "RuntimeError: HTTP/1.1 500 Bad Gateway [31mred"
    assert events_of(app, good, "sla_warning")


def test_a_complaint_that_keeps_changing_under_its_deadline_is_set_aside_instead_of_looping(app, monkeypatch):
    from workflow.domain.errors import ConcurrentChange

    stuck = file_one(app, severity="critical", phone="13900000000")
    good = file_one(app, severity="critical", phone="13900000001")
    one_complaint_raises(monkeypatch, app, stuck, ConcurrentChange("changed while its deadline fired"))
    app.clock.pin(T0 + timedelta(minutes=8))
    report = fire_due(app)  # returns: before, a conflict on every try re-ran the batch for ever
    assert report.failed == 1 and report.fired == 1
    [failed] = list_failed(app)
    assert failed["complaint"] == stuck and failed["error"].startswith("ConcurrentChange: ")
    assert any(e for e in events_of(app, good, "sla_warning"))


def test_a_deadline_whose_failure_cannot_even_be_recorded_is_left_for_the_next_sweep(app, monkeypatch):
    import workflow.services.firing as firing

    bad = file_one(app, severity="critical", phone="13900000000")
    good = file_one(app, severity="critical", phone="13900000001")
    one_complaint_raises(monkeypatch, app, bad, RuntimeError("corrupt row"))
    monkeypatch.setattr(firing, "record_failure", lambda *args: (_ for _ in ()).throw(RuntimeError("no")))
    app.clock.pin(T0 + timedelta(minutes=8))
    report = fire_due(app)
    assert (report.fired, report.failed) == (1, 0)
    assert events_of(app, good, "sla_warning") and not events_of(app, bad, "sla_warning")
    assert list_failed(app) == []  # nothing recorded, still pending: the next sweep tries again
