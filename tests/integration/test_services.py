"""The use cases against a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from tests.conftest import file_one
from workflow.adapters.models import Customer, Event
from workflow.domain.errors import (
    ConcurrentChange,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from workflow.read.queries import complaint_detail, customer_detail, history, queue
from workflow.services import lifecycle as svc


def event_count(app) -> int:
    with app.uow(write=False) as uow:
        return uow.session.execute(select(func.count()).select_from(Event)).scalar_one()


def snapshot(app, number: str) -> tuple:
    """Everything a failed command must leave untouched."""
    detail = complaint_detail(app, number)
    return detail["state"], detail["version"], detail["severity"], detail["assignee"], event_count(app)


def test_a_complaint_goes_from_first_call_to_closed_and_reopened(app):
    number = file_one(app)
    svc.triage(app, "amy", number)
    svc.assign(app, "amy", number)
    svc.start(app, "amy", number)
    svc.respond(app, "amy", number, "we are checking with the courier")
    svc.wait_for_customer(app, "amy", number, "need the tracking screenshot", reason="photos_or_documents")
    svc.customer_replied(app, "amy", number, "screenshot received")
    svc.route(app, "amy", number, "物流部", "find the parcel")
    svc.owner_feedback(app, "amy", number, "parcel found at the depot")
    svc.resolve(app, "amy", number, "redelivered by express")
    closed = svc.close(app, "amy", number)
    assert closed.to_state == "closed"
    assert complaint_detail(app, number)["closed_at"] is not None
    reopened = svc.reopen(app, "amy", number, "customer says it is the wrong item")
    assert reopened.to_state == "in_progress"

    detail = complaint_detail(app, number)
    assert detail["state"] == "in_progress"
    assert detail["assignee"] == "amy" and detail["owner"] == "物流部"
    assert detail["closed_at"] is None
    assert detail["allowed_actions"] == ["assign", "respond", "wait_for_customer", "route", "resolve",
                                         "cancel", "change_severity", "note", "hand_over", "unassign"]
    trail = [e["trigger"] for e in history(app, number)["events"]]
    assert trail == ["file", "triage", "assign", "start", "respond", "wait_for_customer", "customer_replied",
                     "route", "owner_feedback", "resolve", "close", "survey_queued", "reopen", "messages_withdrawn"]
    # Each change bumps the version once; the survey queued at closing and withdrawn at reopening ride with it.
    assert detail["version"] == len(trail) - 2


def test_show_reports_every_promised_field(app):
    number = file_one(app)
    detail = complaint_detail(app, number)
    for key in ("id", "number", "state", "severity", "category", "channel", "customer", "assignee", "owner",
                "escalation_level", "created_at", "updated_at", "allowed_actions"):
        assert key in detail
    assert detail["customer"]["name"] == "王芳"
    assert detail["created_at"] == "2026-11-20T02:00:00+00:00"


def test_numbers_are_unique_readable_and_count_per_business_day(app):
    first = file_one(app)
    second = file_one(app)
    assert (first, second) == ("C-20261120-0001", "C-20261120-0002")
    # 17:00 UTC is already the next day in Shanghai.
    app.clock.pin(app.clock.now() + timedelta(hours=15))
    assert file_one(app) == "C-20261121-0001"


def test_the_customer_is_found_by_phone_or_email_and_never_typed_twice(app):
    file_one(app, phone="138-0013 8000", name="王芳")
    file_one(app, phone="13800138000", name=None, email="wang.fang@example.cn")
    file_one(app, phone=None, email="WANG.FANG@example.cn", name=None)
    with app.uow(write=False) as uow:
        emails = uow.session.execute(select(Customer.email)).scalars().all()
    assert emails == ["wang.fang@example.cn"]
    assert len(customer_detail(app, "13800138000")["complaints"]) == 3


def test_a_new_customer_needs_a_name_and_a_way_to_find_them(app):
    with pytest.raises(InvalidInput, match="--name is required"):
        file_one(app, phone="13900000000", name="")
    with pytest.raises(InvalidInput, match="needs --phone or --email"):
        file_one(app, phone="", name="X")


def test_severity_is_suggested_from_intensity_and_repeat_contacts(app):
    first = svc.file_complaint(app, "amy", channel="web", category="refund", summary="退款还没到",
                               phone="13600000000", name="孙丽", order_ref="SO-9")
    assert (first.detail, complaint_detail(app, first.number)["severity"]) == ("suggested: default low", "low")
    second = svc.file_complaint(app, "amy", channel="phone", category="refund", summary="还没到，我要找律师",
                                phone="13600000000", order_ref="SO-9")
    detail = complaint_detail(app, second.number)
    assert detail["severity"] == "critical"
    assert "legal threat" in detail["severity_reason"]
    third = svc.file_complaint(app, "amy", channel="chat", category="refund", summary="还是没到",
                               phone="13600000000", order_ref="SO-9")
    assert complaint_detail(app, third.number)["severity"] == "high"
    assert "2 earlier contact(s)" in third.detail


def test_answering_from_the_manual_records_the_answer_and_closes_in_one_step(app):
    outcome = svc.file_complaint(app, "amy", channel="phone", category="refund", summary="退款多久到账",
                                 phone="13700000000", name="黄强", language="zh-TW",
                                 answer_id="refund-timeline")
    assert outcome.to_state == "closed"
    detail = complaint_detail(app, outcome.number)
    assert "到帳" in detail["resolution"]  # in the customer's language
    events = history(app, outcome.number)["events"]
    assert [e["trigger"] for e in events] == ["file", "answer_from_manual", "survey_queued"]
    assert events[1]["data"]["policy_answer"] == "refund-timeline"


def test_an_unknown_policy_answer_files_nothing(app):
    before = event_count(app)
    with pytest.raises(NotFound, match="no policy answer 'nope'"):
        file_one(app, answer_id="nope")
    assert event_count(app) == before


def test_a_trigger_not_allowed_names_the_allowed_ones_and_changes_nothing(app):
    number = file_one(app)
    before = snapshot(app, number)
    with pytest.raises(InvalidTransition) as refused:
        svc.resolve(app, "amy", number, "done")
    assert f"{number}: 'resolve' is not allowed in state 'received'" in str(refused.value)
    assert "allowed here: triage, answer_from_manual, cancel, change_severity, note" in str(refused.value)
    assert snapshot(app, number) == before


@pytest.mark.parametrize(
    "action,message",
    [
        (lambda app, n: svc.change_severity(app, "amy", n, "low", "customer calmed down"),
         "amy is an agent; lowering a severity needs senior or above"),
        (lambda app, n: svc.assign(app, "amy", n, "bob"), "assigning to someone else needs senior"),
        (lambda app, n: svc.cancel(app, "amy", n, "spam"), "cancelling as spam needs senior"),
    ],
)
def test_actions_above_an_agents_role_are_refused_and_change_nothing(app, action, message):
    number = file_one(app)
    svc.triage(app, "amy", number)
    before = snapshot(app, number)
    with pytest.raises(PermissionDenied, match=message):
        action(app, number)
    assert snapshot(app, number) == before


def test_seniors_may_lower_severity_and_assign_to_others(app):
    number = file_one(app)
    svc.triage(app, "amy", number)
    svc.change_severity(app, "sen", number, "low", "customer calmed down")
    svc.assign(app, "sen", number, "bob")
    detail = complaint_detail(app, number)
    assert (detail["severity"], detail["assignee"]) == ("low", "bob")
    assert "changed by sen: customer calmed down" in detail["severity_reason"]


def test_raising_a_severity_needs_a_reason_but_no_rank(app):
    number = file_one(app)
    with pytest.raises(InvalidInput, match="reason is required"):
        svc.change_severity(app, "amy", number, "high", " ")
    svc.change_severity(app, "amy", number, "high", "customer mentions the press")
    assert complaint_detail(app, number)["severity"] == "high"


def test_a_duplicate_is_cancelled_against_its_original(app):
    original = file_one(app)
    copy = file_one(app)
    with pytest.raises(InvalidInput, match="duplicate-of is required"):
        svc.cancel(app, "amy", copy, "duplicate")
    svc.cancel(app, "amy", copy, "duplicate", duplicate_of=original)
    detail = complaint_detail(app, copy)
    assert (detail["state"], detail["cancel_reason"], detail["duplicate_of"]) == ("cancelled", "duplicate", original)
    assert detail["allowed_actions"] == ["note"]


def test_unknown_complaint_user_and_customer_are_not_found(app):
    with pytest.raises(NotFound, match="no complaint C-20991231-0001"):
        complaint_detail(app, "C-20991231-0001")
    with pytest.raises(NotFound, match="no user 'ghost'"):
        file_one(app, actor="ghost")
    with pytest.raises(NotFound, match="no customer"):
        customer_detail(app, "13999999999")
    with pytest.raises(InvalidInput, match="is not a complaint number"):
        complaint_detail(app, "hello")


def test_a_stale_version_is_refused_and_nothing_is_lost(app):
    number = file_one(app)
    seen = complaint_detail(app, number)["version"]
    svc.triage(app, "amy", number, expected_version=seen)
    before = snapshot(app, number)
    with pytest.raises(ConcurrentChange, match="changed since you read it"):
        svc.add_note(app, "bob", number, "my note", expected_version=seen)
    assert snapshot(app, number) == before


def test_two_agents_acting_at_once_one_wins_the_other_is_told(app):
    number = file_one(app)
    svc.triage(app, "amy", number)
    seen = complaint_detail(app, number)["version"]
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def take(agent: str) -> None:
        barrier.wait()
        try:
            results[agent] = svc.assign(app, agent, number, expected_version=seen).to_state
        except ConcurrentChange as error:
            results[agent] = error

    threads = [threading.Thread(target=take, args=(agent,)) for agent in ("amy", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = sorted(type(r).__name__ for r in results.values())
    assert outcomes == ["ConcurrentChange", "str"]
    winner = next(agent for agent, r in results.items() if r == "assigned")
    assert complaint_detail(app, number)["assignee"] == winner
    assert [e["trigger"] for e in history(app, number)["events"]].count("assign") == 1


@pytest.mark.postgres
def test_a_write_racing_on_a_read_snapshot_is_refused_by_the_version_column(postgres_url):
    """Without --if-version, the version column still stops a lost update on PostgreSQL."""
    from tests.conftest import make_app
    from workflow.services.people import acting_user, add_user
    from workflow.services.transition import apply_transition

    app = make_app(postgres_url)
    add_user(app, None, "boss", "manager")
    number = file_one(app, actor="boss")
    with pytest.raises(ConcurrentChange, match="changed by someone else at the same moment"):
        with app.uow() as first, app.uow() as second:
            mine = svc.load_complaint(first.session, number)
            theirs = svc.load_complaint(second.session, number)
            boss = acting_user(first.session, "boss")
            apply_transition(app, first.session, mine, boss, "note", note="first")
            first.commit()
            apply_transition(app, second.session, theirs, boss, "note", note="second")
    notes = [e["note"] for e in history(app, number)["events"]]
    assert notes == ["parcel is late", "first"]
    app.engine.dispose()


def test_the_event_trail_cannot_be_rewritten(app):
    number = file_one(app)
    with app.engine.connect() as connection:
        for statement in ("UPDATE event SET note = 'forged'", "DELETE FROM event"):
            with pytest.raises(Exception, match="append-only"):
                with connection.begin():
                    connection.execute(text(statement))
    assert history(app, number)["events"][0]["note"] == "parcel is late"


def test_the_queue_puts_the_most_urgent_first_and_hides_closed_ones(app):
    low = file_one(app, severity="low")
    app.clock.pin(app.clock.now() + timedelta(minutes=1))
    critical = file_one(app, severity="critical")
    answered = file_one(app, answer_id="delivery-delay")
    numbers = [row["number"] for row in queue(app)]
    assert numbers == [critical, low]
    assert answered in [row["number"] for row in queue(app, include_closed=True)]
    svc.triage(app, "amy", low)
    svc.assign(app, "amy", low)
    assert [row["number"] for row in queue(app, actor="amy", mine=True)] == [low]
    assert [row["number"] for row in queue(app, state="closed")] == [answered]
