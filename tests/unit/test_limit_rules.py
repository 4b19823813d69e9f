"""The money limits per step, complaint and day, removing an approved step, and working someone else's complaint:
the pure rules and their configuration (no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.unit.test_config import CONFIG, MINIMAL, write
from workflow.config import load_config
from workflow.domain.errors import ConfigError
from workflow.domain.permissions import (
    APPROVER_MEASURES,
    Money,
    Person,
    others_complaint_refusal,
    passed_limit,
    removal_refusal,
)

AMY, BOB = Person(1, "amy", "agent"), Person(2, "bob", "agent")
SEN, SUP, BOSS = Person(3, "sen", "senior"), Person(4, "sup", "supervisor"), Person(5, "boss", "manager")
AGENT_LIMITS = Money(step=5_000, complaint=10_000, day=20_000)


@pytest.mark.parametrize("money, passed", [
    (Money(5_000, 10_000, 20_000), None),  # each exactly at its limit is within
    (Money(5_001, 5_001, 5_001), "step"),
    (Money(4_000, 10_001, 10_001), "complaint"),
    (Money(4_000, 8_000, 20_001), "day"),
    (Money(9_000, 90_000, 90_000), "step"),  # the first limit passed is the one named
])
def test_money_passes_the_first_limit_it_is_above(money, passed):
    assert passed_limit(money, AGENT_LIMITS) == passed


def test_an_approver_answers_for_the_step_and_the_complaint_not_the_requesters_day():
    assert passed_limit(Money(4_000, 8_000, 99_999), AGENT_LIMITS, APPROVER_MEASURES) is None
    assert passed_limit(Money(4_000, 10_001, 0), AGENT_LIMITS, APPROVER_MEASURES) == "complaint"


def test_an_approved_step_is_removed_by_the_approvers_role_or_above():
    assert removal_refusal(AMY, None, 7) is None  # nobody approved it
    assert removal_refusal(SUP, SUP, 7) is None and removal_refusal(BOSS, SUP, 7) is None
    other_supervisor = Person(6, "chen.jie", "supervisor")
    assert removal_refusal(other_supervisor, SUP, 7) is None  # the role, not the person
    assert removal_refusal(SEN, SUP, 7) == (
        "step 7 was approved by sup (supervisor); removing it needs supervisor or above, and sen is senior")


def test_someone_elses_complaint_is_theirs_unless_a_senior_or_above_says_why():
    assert others_complaint_refusal(BOB, None, "C-1", "start", "") is None  # unassigned: anyone's
    assert others_complaint_refusal(AMY, AMY, "C-1", "close", "") is None  # one's own
    refused = "C-1 is assigned to amy; only amy, or a senior or above giving a reason, may resolve it"
    assert others_complaint_refusal(BOB, AMY, "C-1", "resolve", "refunded") == refused  # an agent, even saying why
    assert others_complaint_refusal(SEN, AMY, "C-1", "resolve", " \n") == refused  # a senior saying nothing
    assert others_complaint_refusal(SEN, AMY, "C-1", "resolve", "amy is away") is None
    assert others_complaint_refusal(BOSS, SUP, "C-1", "close", "month end") is None


def test_the_shipped_limits_per_complaint_and_per_day():
    compensation = load_config(CONFIG).compensation
    assert compensation.limits("agent") == (Decimal(50), Decimal(100), Decimal(200))
    assert compensation.limits("manager") == (Decimal(10000), Decimal(20000), Decimal(40000))


@pytest.mark.parametrize("text, message", [
    (MINIMAL + "compensation: {complaint_limits: {agent: 500, senior: 400}}\n",
     "compensation.complaint_limits: senior: 400 is below the agent's 500"),
    (MINIMAL + "compensation: {daily_limits: {agent: -1}}\n",
     "compensation.daily_limits: agent: -1 is not allowed; a limit is 0 to 10000000.00"),
    (MINIMAL + "compensation: {daily_limits: {intern: 10}}\n", "compensation.daily_limits.intern"),
])
def test_a_wrong_limit_names_its_key_and_what_is_allowed(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_config(path)
