"""Compensation plans, approval limits, timed steps, surveys, and customer messages in the outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update

from notifications.sender import deliver_due
from tests.chain import chain_breaks, live_on_finished
from tests.conftest import PINNED, file_one
from workflow.adapters.models import DEADLINES, MESSAGES
from workflow.domain.errors import ConcurrentChange, InvalidInput, InvalidTransition, PermissionDenied
from workflow.read.outbox import list_messages
from workflow.read.queries import complaint_detail, history
from workflow.services import lifecycle as svc
from workflow.services.compensation import add_step, approve_step, complete_step, list_steps, reject_step, remove_step
from workflow.services.firing import fire_due
from workflow.services.surveys import record, scores


def resolve_one(app, actor: str = "amy", **overrides) -> str:
    number = file_one(app, actor, **overrides)
    for step in (svc.triage, svc.assign, svc.start):
        step(app, actor, number)
    svc.resolve(app, actor, number, "sent a new cup")
    return number


def steps(app, number) -> dict[str, dict]:
    return {s["kind"]: s for s in list_steps(app, number)}


def customer_messages(app, number) -> list[tuple[str, str, str]]:
    complaint_id = complaint_detail(app, number)["id"]
    with app.uow(write=False) as uow:
        return [(m.kind, m.locale, m.status) for m in uow.session.execute(
            select(MESSAGES).where(MESSAGES.c.complaint_id == complaint_id, MESSAGES.c.audience == "customer")
            .order_by(MESSAGES.c.id))]


def level(app, number) -> int:
    return complaint_detail(app, number)["escalation_level"]


def at(app, **delta) -> None:
    app.clock.pin(PINNED + timedelta(**delta))
    fire_due(app)


def test_the_rules_plan_steps_from_severity_category_and_tier_at_resolution(app):
    number = resolve_one(app, category="damaged", severity="high", tier="gold", language="en",
                         email="gold@example.com")
    planned = steps(app, number)
    assert sorted(planned) == ["apology_letter", "follow_up_call", "gift", "replacement"]
    assert planned["gift"]["amount"] == "100.00" and planned["gift"]["state"] == "awaiting_approval"  # over 50
    assert all(planned[k]["state"] == "planned" for k in ("apology_letter", "follow_up_call", "replacement"))
    assert all(s["source"] == "policy" for s in planned.values())
    assert planned["gift"]["reason"] == "compensation rule 4: severity high/critical, tier gold"
    assert planned["replacement"]["reason"] == "compensation rule 3: category damaged/quality"
    assert [k for k, _, _ in customer_messages(app, number)] == ["acknowledgement", "resolution"]


def test_a_plain_complaint_gets_no_steps_and_a_breached_one_gets_an_apology_at_once(app):
    assert steps(app, resolve_one(app, severity="low")) == {}
    number = file_one(app, severity="critical", phone="13900000001", name="李雷")
    at(app, minutes=20)  # first response breached at 15m
    for step in (svc.triage, svc.assign, svc.start):
        step(app, "amy", number)
    svc.resolve(app, "amy", number, "apologised and refunded the fee")
    planned = steps(app, number)
    assert sorted(planned) == ["apology_letter", "follow_up_call", "voucher"]
    assert planned["voucher"]["state"] == "planned"  # 20 is within an agent's 50
    assert planned["voucher"]["reason"] == "compensation rule 1: SLA breached"
    assert planned["apology_letter"]["due_at"] == (PINNED + timedelta(minutes=20)).isoformat()
    fire_due(app)
    assert steps(app, number)["apology_letter"]["state"] == "done"
    assert ("apology_letter", "zh-CN", "pending") in customer_messages(app, number)


def test_the_apology_letter_goes_out_by_itself_at_its_time_in_the_customers_language(app):
    number = resolve_one(app, severity="high", email="anna@example.com", language="zh-TW", phone="13900000002",
                         name="陳安娜")
    assert steps(app, number)["apology_letter"]["state"] == "planned"
    at(app, minutes=59)
    assert steps(app, number)["apology_letter"]["state"] == "planned"
    at(app, minutes=60)
    letter = steps(app, number)["apology_letter"]
    assert letter["state"] == "done" and letter["done_by"] == "scheduler"
    assert ("apology_letter", "zh-TW", "pending") in customer_messages(app, number)


def test_money_above_the_requesters_limit_needs_a_higher_role_and_nobody_approves_their_own(app):
    number = resolve_one(app)
    small = add_step(app, "amy", number, "refund", amount="50", reason="shipping fee")
    assert small.to_state == "planned"
    refund = add_step(app, "amy", number, "refund", amount="120.50", reason="price difference")
    assert refund.to_state == "awaiting_approval"
    with pytest.raises(PermissionDenied, match="nobody approves their own request"):
        approve_step(app, "amy", refund.id)
    with pytest.raises(PermissionDenied, match="needs a role above agent, and bob is agent"):
        approve_step(app, "bob", refund.id)
    with pytest.raises(InvalidTransition, match="awaiting approval; it cannot be done"):
        complete_step(app, "amy", refund.id)
    assert [s["id"] for s in list_steps(app, approvable_by="sen")] == [refund.id]
    assert approve_step(app, "sen", refund.id).to_state == "approved"

    big = add_step(app, "amy", number, "gift", amount="500", reason="hamper for the trouble")
    with pytest.raises(PermissionDenied, match="a senior may approve up to 200.00 CNY"):
        approve_step(app, "sen", big.id)
    assert list_steps(app, approvable_by="sup") and approve_step(app, "sup", big.id).to_state == "approved"

    huge = add_step(app, "sup", number, "refund", amount="1500", reason="full refund")
    with pytest.raises(PermissionDenied, match="nobody approves their own request"):
        approve_step(app, "sup", huge.id)
    with pytest.raises(InvalidInput, match="reason is required"):
        reject_step(app, "boss", huge.id, " ")
    assert reject_step(app, "boss", huge.id, "order was 300").to_state == "cancelled"
    trail = [e["trigger"] for e in history(app, number)["events"]]
    assert trail.count("compensation_approve") == 2 and "compensation_reject" in trail


@pytest.mark.parametrize("amount, problem", [
    (None, "amount is required"), ("-5", "not allowed"), ("12.345", "at most two decimals"), ("abc", "not a number"),
])
def test_bad_amounts_are_refused_with_what_is_allowed(app, amount, problem):
    number = resolve_one(app)
    with pytest.raises(InvalidInput, match=problem):
        add_step(app, "amy", number, "refund", amount=amount, reason="r")


def test_adding_needs_a_known_kind_and_a_reason_and_removing_needs_a_reason(app):
    number = resolve_one(app)
    with pytest.raises(InvalidInput, match="kinds: apology_letter, replacement, refund"):
        add_step(app, "amy", number, "cash", reason="r")
    with pytest.raises(InvalidInput, match="reason is required"):
        add_step(app, "amy", number, "replacement", reason="")
    with pytest.raises(InvalidInput, match="carries no amount"):
        add_step(app, "amy", number, "replacement", amount="5", reason="r")
    step = add_step(app, "amy", number, "replacement", reason="customer asked for exchange")
    with pytest.raises(InvalidInput, match="reason is required"):
        remove_step(app, "amy", step.id, None)
    assert remove_step(app, "amy", step.id, "customer chose a refund").to_state == "cancelled"
    with pytest.raises(InvalidTransition, match="allowed: none"):
        complete_step(app, "amy", step.id)


def test_doing_a_refund_tells_the_customer_in_their_language(app):
    number = resolve_one(app, email="tom@example.com", language="en", phone="13900000003", name="Tom")
    refund = add_step(app, "amy", number, "refund", amount="30", reason="fee")
    complete_step(app, "amy", refund.id, "RF-778")
    assert customer_messages(app, number)[-1] == ("refund_notice", "en", "pending")
    with app.uow(write=False) as uow:
        body = uow.session.execute(select(MESSAGES.c.body).where(MESSAGES.c.kind == "refund_notice")).scalar_one()
    assert "CN¥30.00" in body and "RF-778" in body


def test_a_stalled_refund_escalates_like_a_breach_and_keeps_climbing_until_done(app):
    number = resolve_one(app, severity="low")
    refund = add_step(app, "amy", number, "refund", amount="40", reason="fee")
    assert level(app, number) == 0
    due = list_steps(app, number)[0]["due_at"]
    assert due == "2026-11-23T02:00:00+00:00"  # 9 business hours later: Monday 10:00 in Shanghai
    at(app, days=3)  # Monday 10:00
    assert level(app, number) == 1
    [overdue] = [e for e in history(app, number)["events"] if e["trigger"] == "step_overdue"]
    assert overdue["note"].startswith("refund 40.00 CNY (step") and "escalated to senior" in overdue["note"]
    at(app, days=4)  # a business day later (low severity climbs every 9h): still not paid
    assert level(app, number) == 2
    complete_step(app, "amy", refund.id)
    at(app, days=7)
    assert level(app, number) == 2


def test_a_cancelled_complaint_takes_its_open_steps_with_it(app):
    number = file_one(app)
    step = add_step(app, "amy", number, "voucher", amount="10", reason="goodwill")
    svc.cancel(app, "sen", number, "spam")
    assert list_steps(app, number)[0]["state"] == "cancelled"
    with pytest.raises(InvalidTransition, match="cancelled complaint gets no compensation"):
        add_step(app, "amy", number, "voucher", amount="10", reason="goodwill")
    at(app, days=5)
    assert level(app, number) == 0 and step.id


def test_a_refused_change_writes_no_message_and_no_step(app):
    number = file_one(app, severity="high")
    for step in (svc.triage, svc.assign, svc.start):
        step(app, "amy", number)
    before = customer_messages(app, number)
    with pytest.raises(ConcurrentChange):
        svc.resolve(app, "amy", number, "done", expected_version=2)
    assert customer_messages(app, number) == before and list_steps(app, number) == []


def survey_message(app, number) -> dict:
    [survey] = [m for m in list_messages(app, complaint=number) if m["kind"] == "survey"]
    return survey


def deliver_at(app, **delta) -> None:
    at(app, **delta)
    deliver_due(app)


def test_the_survey_waits_in_the_outbox_after_closing_and_goes_out_on_time(app):
    number = resolve_one(app, severity="low")
    svc.close(app, "amy", number)
    assert live_on_finished(app) == [] and chain_breaks(app) == []
    queued = history(app, number)["events"][-1]
    assert (queued["trigger"], queued["from_state"], queued["to_state"]) == ("survey_queued", "closed", "closed")
    assert survey_message(app, number)["status"] == "pending"
    assert survey_message(app, number)["next_attempt_at"] == (PINNED + timedelta(hours=2)).isoformat()
    deliver_at(app, hours=1, minutes=59)
    assert survey_message(app, number)["status"] == "pending"
    deliver_at(app, hours=2)
    assert survey_message(app, number)["status"] == "sent"


def test_a_low_score_on_a_closed_complaint_reopens_it_for_the_follow_up_call(app):
    number = resolve_one(app, severity="low")
    svc.close(app, "amy", number)
    deliver_at(app, hours=2)
    outcome = record(app, "bob", number, 2, "the courier was rude")
    assert outcome.low and outcome.follow_up == "reopened, follow_up_call planned"
    assert complaint_detail(app, number)["state"] == "in_progress"
    call = steps(app, number)["follow_up_call"]
    assert call["state"] == "planned" and call["reason"] == "low satisfaction score 2"
    assert live_on_finished(app) == [] and chain_breaks(app) == []
    with pytest.raises(InvalidInput, match="already has a survey answer"):
        record(app, "bob", number, 5)


def test_a_low_score_before_closing_plans_the_call_and_closing_waits_for_it(app):
    number = resolve_one(app, severity="low")
    assert record(app, "bob", number, 1).follow_up == "follow_up_call planned"
    assert complaint_detail(app, number)["state"] == "resolved"
    with pytest.raises(InvalidTransition, match="open compensation steps: follow up call"):
        svc.close(app, "amy", number)
    complete_step(app, "amy", steps(app, number)["follow_up_call"]["id"], note="called back")
    svc.close(app, "amy", number)
    deliver_at(app, hours=3)  # the customer has answered already: no survey is queued at closing
    assert [m["kind"] for m in list_messages(app, complaint=number) if m["kind"] == "survey"] == []


def test_an_answer_taken_on_a_call_withdraws_the_survey_not_yet_sent(app):
    number = resolve_one(app, severity="low")
    svc.close(app, "amy", number)
    at(app, hours=1)
    assert record(app, "bob", number, 5).follow_up == ""
    deliver_at(app, hours=3)
    assert survey_message(app, number)["status"] == "withdrawn"
    assert history(app, number)["events"][-1]["trigger"] == "messages_withdrawn"
    assert chain_breaks(app) == []


def test_a_low_score_reopens_the_complaint_when_the_policy_says_so(app):
    survey = app.config.compensation.survey.model_copy(update={"on_low_score": "reopen"})
    app.config = app.config.model_copy(
        update={"compensation": app.config.compensation.model_copy(update={"survey": survey})}
    )
    number = resolve_one(app, severity="low")
    svc.close(app, "amy", number)
    assert record(app, "amy", number, 1).follow_up == "reopened"
    assert complaint_detail(app, number)["state"] == "in_progress" and "follow_up_call" not in steps(app, number)
    deliver_at(app, hours=3)  # the reopened complaint's survey was withdrawn, not sent
    assert survey_message(app, number)["status"] == "withdrawn"


def test_reopening_withdraws_the_survey_and_closing_again_queues_a_new_one(app):
    number = resolve_one(app, severity="low")
    svc.close(app, "amy", number)
    svc.reopen(app, "amy", number, "customer called back")
    assert survey_message(app, number)["status"] == "withdrawn"
    svc.resolve(app, "amy", number, "sent another cup")
    svc.close(app, "amy", number)
    assert sorted(m["status"] for m in list_messages(app, complaint=number) if m["kind"] == "survey") == [
        "pending", "withdrawn"]
    assert live_on_finished(app) == [] and chain_breaks(app) == []


def test_scores_are_kept_per_agent_and_category_and_bad_scores_refused(app):
    first = resolve_one(app, "amy", severity="low", category="delivery")
    second = resolve_one(app, "bob", severity="low", category="damaged", phone="13900000004", name="B")
    with pytest.raises(InvalidInput, match="scores are 1 to 5"):
        record(app, "amy", first, 6)
    with pytest.raises(InvalidTransition, match="once it is resolved or closed"):
        record(app, "amy", file_one(app, phone="13900000005", name="C"), 4)
    record(app, "amy", first, 5)
    record(app, "amy", second, 3)
    assert scores(app, "agent") == [{"agent": "amy", "answers": 1, "average": 5.0},
                                    {"agent": "bob", "answers": 1, "average": 3.0}]
    assert [row["category"] for row in scores(app, "category")] == ["damaged", "delivery"]


def test_a_survey_timer_armed_by_an_earlier_version_still_sends_its_survey(app):
    number = resolve_one(app, severity="low")
    svc.close(app, "amy", number)
    complaint_id = complaint_detail(app, number)["id"]
    with app.uow() as uow:  # a database upgraded with a survey timer pending, and no queued survey
        uow.session.execute(update(MESSAGES).where(MESSAGES.c.kind == "survey").values(status="withdrawn"))
        uow.session.execute(insert(DEADLINES).values(
            complaint_id=complaint_id, kind="survey", level=None, offset_minutes=0.0,
            due_at=PINNED + timedelta(hours=1), fired_at=None, cancelled_at=None, created_at=PINNED, step_id=None))
        uow.commit()
    at(app, hours=1)
    assert sorted(m["status"] for m in list_messages(app, complaint=number) if m["kind"] == "survey") == [
        "pending", "withdrawn"]
    assert history(app, number)["events"][-1]["trigger"] == "survey_sent" and chain_breaks(app) == []
