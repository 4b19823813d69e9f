"""The permissions table and the approval rule, on their own (no database)."""

from __future__ import annotations

import pytest

from workflow.domain.errors import PermissionDenied
from workflow.domain.permissions import PERMISSIONS, Money, Person, allows, decision_refusal, may_approve, require
from workflow.domain.vocabulary import ROLES

AMY, BOB = Person(1, "amy", "agent"), Person(2, "bob", "agent")
SEN, SUP = Person(3, "sen", "senior"), Person(4, "sup", "supervisor")


def test_every_action_names_a_known_role_and_reads_as_a_refusal():
    for action, permission in PERMISSIONS.items():
        assert permission.least_role in ROLES, action
        assert permission.wording and permission.wording == permission.wording.strip(), action


@pytest.mark.parametrize("action", sorted(PERMISSIONS))
def test_a_role_may_act_from_the_least_role_up_and_not_below(action):
    least = ROLES.index(PERMISSIONS[action].least_role)
    assert [allows(role, action) for role in ROLES] == [rank >= least for rank in range(len(ROLES))]


def test_a_refusal_is_one_line_naming_who_what_and_the_least_role():
    with pytest.raises(PermissionDenied) as refused:
        require(AMY, "retry_messages")
    assert str(refused.value) == "amy is an agent; retrying messages needs supervisor or above"
    assert refused.value.exit_code == 5
    with pytest.raises(PermissionDenied, match="^sen is a senior; adding users needs manager or above$"):
        require(SEN, "add_user")
    require(SUP, "retry_messages")  # allowed: no error


def test_an_unknown_action_is_a_mistake_not_a_permission():
    with pytest.raises(KeyError):
        allows("manager", "launch_rockets")


def test_only_a_higher_role_decides_and_never_on_their_own_request():
    assert decision_refusal(SEN, AMY, 7, "approve") is None
    assert decision_refusal(SEN, SEN, 7, "reject") == "sen requested step 7; nobody rejects their own request"
    assert decision_refusal(BOB, AMY, 7, "approve") == (
        "step 7 was requested by amy (agent); to approve it needs a role above agent, and bob is agent")


def test_approval_also_needs_the_amount_within_the_approvers_limit():
    limits = Money(step=100_000, complaint=200_000, day=0)  # an approver's day does not limit what they approve
    assert may_approve(SUP, AMY, Money(100_000, 200_000, 900_000), limits)
    assert not may_approve(SUP, AMY, Money(100_001, 100_001, 0), limits)
    assert not may_approve(SUP, AMY, Money(1, 200_001, 0), limits)  # the complaint's steps with it
    assert may_approve(SEN, AMY, Money(0, 0, 0), Money(0, 0, 0))  # a step without money
    assert not may_approve(AMY, AMY, Money(1, 1, 1), limits)
    assert not may_approve(BOB, AMY, Money(1, 1, 1), limits)
