"""Money a role grants on its own is limited per step, per complaint and per person in a local day; an approved
step is removed only by the approver's role or above."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import event

from tests.conftest import CONFIG, PINNED, file_one
from tests.integration.test_handover import ON_POSTGRESQL_ONLY, _waiting_on_a_lock
from workflow.bootstrap import bootstrap
from workflow.domain.clock import Clock
from workflow.domain.errors import PermissionDenied
from workflow.read.queries import history
from workflow.services import lifecycle as svc
from workflow.services.compensation import add_step, approve_step, complete_step, list_steps, reject_step, remove_step
from workflow.services.firing import fire_due


def resolve_one(app, actor: str = "amy", phone: str = "13800138000", **overrides) -> str:
    number = file_one(app, actor, phone=phone, **overrides)
    for step in (svc.triage, svc.assign, svc.start):
        step(app, actor, number)
    svc.resolve(app, actor, number, "sent a new cup")
    return number


def waits(app, number: str, step_id: int) -> str:
    """Why a step waits for approval, as the complaint's history records it."""
    return next(e["data"]["waits"] for e in history(app, number)["events"]
                if e["trigger"] == "compensation_planned" and e["data"]["step"] == step_id)


def refund(app, number: str, amount: str, actor: str = "amy"):
    return add_step(app, actor, number, "refund", amount=amount, reason="price difference")


def test_twenty_refunds_of_fifty_by_one_agent_are_not_paid_without_a_second_person(app):
    outcomes = [refund(app, resolve_one(app, phone=f"138000000{i:02d}"), "50") for i in range(20)]
    # 50 is within an agent's 50 per step and 100 per complaint, but four of them make the agent's 200 a day.
    assert [o.to_state for o in outcomes] == ["planned"] * 4 + ["awaiting_approval"] * 16
    assert outcomes[4].approval_reason == ("it brings amy's steps today to 250.00 CNY, above the agent limit of "
                                           "200.00 CNY a day")
    with pytest.raises(PermissionDenied, match="nobody approves their own request"):
        approve_step(app, "amy", outcomes[4].id)
    paid = [complete_step(app, "amy", o.id).to_state for o in outcomes[:4]]
    assert paid == ["done"] * 4


def test_small_refunds_on_one_complaint_wait_once_they_pass_the_agents_limit_per_complaint(app):
    number = resolve_one(app)
    first, second, third = (refund(app, number, "40") for _ in range(3))
    assert (first.to_state, second.to_state, third.to_state) == ("planned", "planned", "awaiting_approval")
    assert third.approval_reason == waits(app, number, third.id) == (
        f"it brings {number}'s steps to 120.00 CNY, above the agent limit of 100.00 CNY per complaint")
    # A removed step no longer counts; one waiting for approval does: 40 + 40 + 20 is the agent's 100.
    remove_step(app, "amy", first.id, "customer chose store credit")
    assert refund(app, number, "20").to_state == "planned"
    fourth = refund(app, number, "0.01")
    assert fourth.to_state == "awaiting_approval"
    assert [s["id"] for s in list_steps(app, approvable_by="sen")] == [third.id, fourth.id]
    assert approve_step(app, "sen", third.id).to_state == "approved"


def test_a_rejected_request_no_longer_counts_towards_the_complaint_or_the_day(app):
    number = resolve_one(app)
    big = refund(app, number, "150")
    assert big.approval_reason == "150.00 CNY is above the agent limit of 50.00 CNY per step"
    assert refund(app, number, "10").to_state == "awaiting_approval"  # 160 on the complaint
    reject_step(app, "sen", big.id, "the order was 60")
    assert refund(app, number, "50").to_state == "planned"  # 10 + 50 on the complaint, 60 today


def test_the_day_is_the_local_day_in_the_configured_timezone(app):
    numbers = [resolve_one(app, phone=f"1380000010{i}") for i in range(5)]
    assert [refund(app, n, "50").to_state for n in numbers[:4]] == ["planned"] * 4  # Friday 10:00 in Shanghai
    app.clock.pin(PINNED.replace(hour=15, minute=59))  # 23:59 in Shanghai, still Friday
    assert refund(app, numbers[4], "1").to_state == "awaiting_approval"
    app.clock.pin(PINNED.replace(hour=16, minute=1))  # 00:01 on Saturday in Shanghai; still the 20th in UTC
    assert refund(app, numbers[4], "50").to_state == "planned"
    assert refund(app, resolve_one(app, "bob", phone="13800000200"), "50").to_state == "planned"  # bob's own day


def test_steps_the_rules_plan_at_resolution_count_towards_the_resolvers_day(app):
    for i in range(4):
        refund(app, resolve_one(app, phone=f"1380000030{i}"), "46")  # 184 today
    number = file_one(app, severity="critical", phone="13900000001", name="李雷")
    app.clock.pin(PINNED + timedelta(minutes=20))  # the first response is breached at 15 minutes
    fire_due(app)
    for step in (svc.triage, svc.assign, svc.start):
        step(app, "amy", number)
    planned = svc.resolve(app, "amy", number, "apologised").planned_steps
    voucher = next(s for s in planned if s.kind == "voucher")  # 20 by the rule for a breached SLA
    assert (voucher.state, voucher.approver_role) == ("awaiting_approval", "senior")
    assert voucher.approval_reason == ("it brings amy's steps today to 204.00 CNY, above the agent limit of "
                                       "200.00 CNY a day")


def test_an_approver_is_held_to_their_own_limits_per_step_and_per_complaint(app):
    number = resolve_one(app)
    refund(app, number, "50")
    refund(app, number, "50")  # 100: the agent's limit per complaint
    gift = add_step(app, "amy", number, "gift", amount="200", reason="hamper")
    voucher = add_step(app, "amy", number, "voucher", amount="150", reason="next order")  # 450 on the complaint
    with pytest.raises(PermissionDenied) as refused:
        approve_step(app, "sen", voucher.id)
    assert str(refused.value) == (f"step {voucher.id} brings {number}'s steps to 450.00 CNY; a senior may approve "
                                  "up to 400.00 CNY per complaint")
    assert list_steps(app, approvable_by="sen") == []
    assert sorted(s["id"] for s in list_steps(app, approvable_by="sup")) == [gift.id, voucher.id]
    assert approve_step(app, "sup", voucher.id).to_state == "approved"
    reject_step(app, "sup", gift.id, "one goodwill gesture is enough")
    assert refund(app, number, "30").to_state == "awaiting_approval"  # 280 on the complaint, the agent's is 100


def test_an_approved_step_is_removed_only_by_the_approvers_role_or_above(app):
    number = resolve_one(app)
    asked = refund(app, number, "120")
    approve_step(app, "sup", asked.id, "receipt checked")
    for who, role in (("amy", "agent"), ("sen", "senior")):
        with pytest.raises(PermissionDenied) as refused:
            remove_step(app, who, asked.id, "changed my mind")
        assert str(refused.value) == (f"step {asked.id} was approved by sup (supervisor); removing it needs "
                                      f"supervisor or above, and {who} is {role}")
    # Cancelling the complaint would remove it too.
    with pytest.raises(PermissionDenied, match=f"cancelling {number} would remove its steps: step {asked.id} was "
                                               "approved by sup"):
        svc.cancel(app, "amy", number, "withdrawn")
    assert list_steps(app, number)[0]["state"] == "approved"
    assert remove_step(app, "boss", asked.id, "paid by the courier instead").to_state == "cancelled"


def test_steps_nobody_approved_are_removed_by_any_agent(app):
    number = resolve_one(app)
    planned, waiting = refund(app, number, "30"), refund(app, number, "300")
    assert remove_step(app, "bob", planned.id, "duplicate of the voucher").to_state == "cancelled"
    assert remove_step(app, "amy", waiting.id, "customer declined").to_state == "cancelled"
    assert svc.cancel(app, "amy", number, "withdrawn").to_state == "cancelled"


@ON_POSTGRESQL_ONLY
def test_two_refunds_asked_at_the_same_moment_cannot_both_pass_under_the_daily_limit(app, database_url):
    numbers = [resolve_one(app, phone=f"1380000040{i}") for i in range(5)]
    for number in numbers[:3]:
        refund(app, number, "50")  # 150 today
    other = bootstrap(str(CONFIG), database_url, Clock(PINNED))  # the agent's second terminal
    outcomes: list = []
    askers: list[threading.Thread] = []

    def ask_from_the_other_terminal() -> None:
        outcomes.append(refund(other, numbers[4], "50"))

    def meanwhile(conn, cursor, statement, *_):
        if "sum(compensation_step.amount_minor)" in statement and not askers:  # this terminal's totals are read
            asker = threading.Thread(target=ask_from_the_other_terminal)
            askers.append(asker)
            asker.start()
            for _ in range(200):  # until the other terminal waits on amy's row (or has finished without waiting)
                if not asker.is_alive() or _waiting_on_a_lock(other):
                    break
                time.sleep(0.05)

    event.listen(app.engine, "after_cursor_execute", meanwhile)
    try:
        first = refund(app, numbers[3], "50")
    finally:
        event.remove(app.engine, "after_cursor_execute", meanwhile)
    for asker in askers:
        asker.join(30)
    other.engine.dispose()
    assert (first.to_state, [o.to_state for o in outcomes]) == ("planned", ["awaiting_approval"])
    assert outcomes[0].approval_reason.startswith("it brings amy's steps today to 250.00 CNY")
