"""Keeping a customer profile right, audited field by field, and finding a customer by name, phone or email."""

from __future__ import annotations

import pytest

from tests.conftest import file_one
from workflow.domain.errors import InvalidInput, NotFound, PermissionDenied
from workflow.read.queries import customer_detail
from workflow.services import lifecycle as svc
from workflow.services.customers import customer_changes, edit_customer, find_customers
from workflow.services.handover import deactivate_user


@pytest.fixture
def customers(app):
    file_one(app, phone="13800138000", name="王芳")
    file_one(app, phone="13800138001", name="王小明", summary="破损")
    closed = file_one(app, email="john.smith@example.com", phone=None, name="John Smith")
    svc.cancel(app, "amy", closed, "withdrawn")
    file_one(app, phone="+8613900139000", name="Li 100%_Percent")


def test_an_agent_adds_an_email_to_a_phone_only_customer_and_changes_tier_and_language(app, customers):
    edited = edit_customer(app, "amy", "13800138000", email=" Wang.Fang@Example.CN", tier="gold", language="zh-TW")
    assert edited["changes"] == {"email": [None, "wang.fang@example.cn"], "tier": ["registered", "gold"],
                                 "language": ["zh-CN", "zh-TW"]}
    profile = customer_detail(app, "wang.fang@example.cn")  # now found by the new email too
    assert (profile["name"], profile["tier"], profile["language"]) == ("王芳", "gold", "zh-TW")
    edit_customer(app, "bob", "wang.fang@example.cn", name="王芳芳", phone="138-0013-8009")
    assert [(c["actor"], c["action"], c["changes"]) for c in customer_changes(app, "13800138009")] == [
        ("amy", "edit", edited["changes"]),
        ("bob", "edit", {"name": ["王芳", "王芳芳"], "phone": ["13800138000", "13800138009"]}),
    ]


def test_another_customers_phone_or_email_is_refused_and_nothing_changes(app, customers):
    with pytest.raises(InvalidInput, match="^phone 13800138001 belongs to customer #2 \\(王小明\\); one phone"):
        edit_customer(app, "amy", "13800138000", phone="138 0013 8001", tier="gold")
    with pytest.raises(InvalidInput, match="^email john.smith@example.com belongs to customer #3"):
        edit_customer(app, "amy", "13800138000", email="John.Smith@example.com")
    assert customer_detail(app, "13800138000")["tier"] == "registered"
    assert customer_changes(app, "13800138000") == []


@pytest.mark.parametrize("changes,refusal", [
    ({"tier": "diamond"}, "tier 'diamond' is not allowed; tiers: registered, bronze, silver, gold"),
    ({"language": "fr"}, "language 'fr' is not allowed"),
    ({"phone": "12"}, "phone '12' is not a phone number"),
    ({"email": "not-an-email"}, "email 'not-an-email' is not an email address"),
    ({"name": "  "}, "name cannot be blank"),
    ({"name": "x" * 129}, "name is 129 characters long; at most 128"),
    ({}, "nothing to change: give --name"),
    ({"tier": "registered"}, "nothing to change: customer #1 already has those values"),
])
def test_edits_are_checked_like_intake(app, customers, changes, refusal):
    with pytest.raises(InvalidInput, match=refusal.replace("(", "\\(").replace(")", "\\)")):
        edit_customer(app, "amy", "13800138000", **changes)
    assert customer_changes(app, "13800138000") == []


def test_only_an_active_user_edits_and_an_unknown_customer_is_not_found(app, customers):
    deactivate_user(app, "boss", "bob", reason="left", to_queue=True)
    with pytest.raises(PermissionDenied, match="bob was deactivated"):
        edit_customer(app, "bob", "13800138000", tier="gold")
    with pytest.raises(NotFound):
        edit_customer(app, "amy", "13700000000", tier="gold")


def test_a_customer_is_found_by_part_of_a_name_or_the_start_of_a_phone_or_email(app, customers):
    def names(text: str) -> list[str]:
        return [c["name"] for c in find_customers(app, text)]

    assert names("王") == ["王小明", "王芳"]
    assert names("小明") == ["王小明"]
    assert names("SMITH") == ["John Smith"]
    assert names("john.s") == ["John Smith"]
    assert names("1380013800") == ["王小明", "王芳"]
    assert names("+86139") == ["Li 100%_Percent"]
    assert names("100%_") == ["Li 100%_Percent"]
    assert names("%") == ["Li 100%_Percent"]  # a wildcard is a character like any other
    assert names("0013") == []  # a phone matches from its start
    [wang] = find_customers(app, "王芳")
    assert wang == {"id": 1, "name": "王芳", "phone": "13800138000", "email": None, "tier": "registered",
                    "language": "zh-CN", "open_complaints": 1}
    assert find_customers(app, "John")[0]["open_complaints"] == 0  # the cancelled one is not open
    assert len(find_customers(app, "1", limit=1)) == 1
    with pytest.raises(InvalidInput, match="give part of a name"):
        find_customers(app, "  ")
