"""Split payments and other people's work through the installed `redress` command: many small refunds by one agent
wait once they pass the per-complaint and per-day limits, an approved step is removed only by the approver's role,
and acting on a complaint assigned to someone else is refused (exit 5)."""

from __future__ import annotations

import pytest

from tests.conftest import staffed_database
from tests.e2e.test_cli import as_json, redress

# The PostgreSQL run of each test here is in the full run only (`pytest -m slow`).
pytestmark = pytest.mark.full_run_on_postgres


@pytest.fixture
def db(database_url: str) -> str:
    return staffed_database(database_url, ("sup", "supervisor"), ("sen", "senior"), ("amy", "agent"),
                            ("bob", "agent"))


def filed(db: str, phone: str) -> str:
    return as_json(redress("new", "--channel", "phone", "--category", "billing", "--summary", "charged twice",
                           "--phone", phone, "--name", "王芳", "--json", db=db, user="amy"))["number"]


def refund(db: str, number: str, amount: str) -> dict:
    return as_json(redress("compensation", "add", number, "refund", "--amount", amount, "--reason", "split refund",
                           "--json", db=db, user="amy"))


def test_small_refunds_by_one_agent_wait_past_the_limits_per_complaint_and_per_day(db):
    first = filed(db, "13800000001")
    on_first = [refund(db, first, "50") for _ in range(3)]
    assert [s["to_state"] for s in on_first] == ["planned", "planned", "awaiting_approval"]
    assert on_first[2]["approval_reason"] == (
        f"it brings {first}'s steps to 150.00 CNY, above the agent limit of 100.00 CNY per complaint")

    second = filed(db, "13800000002")
    on_second = [refund(db, second, "50") for _ in range(2)]  # 200 today, then 250
    assert [s["to_state"] for s in on_second] == ["planned", "awaiting_approval"]
    assert on_second[1]["approval_reason"] == (
        "it brings amy's steps today to 250.00 CNY, above the agent limit of 200.00 CNY a day")
    events = as_json(redress("history", second, "--json", db=db))["events"]
    assert events[-1]["data"]["waits"] == on_second[1]["approval_reason"]  # the timeline keeps why it waits

    waiting = as_json(redress("compensation", "list", "--to-approve", "--json", db=db, user="sen"))
    assert sorted(s["id"] for s in waiting) == sorted([on_first[2]["id"], on_second[1]["id"]])
    own = redress("compensation", "approve", str(on_second[1]["id"]), db=db, user="amy", check=False)
    assert (own.returncode, own.stderr) == (5, f"error: amy requested step {on_second[1]['id']}; "
                                               "nobody approves their own request\n")
    redress("compensation", "approve", str(on_second[1]["id"]), db=db, user="sen")


def test_an_approved_refund_is_removed_only_by_the_role_that_approved_it(db):
    number = filed(db, "13800000003")
    step = refund(db, number, "300")
    redress("compensation", "approve", str(step["id"]), "-m", "receipt checked", db=db, user="sup")
    for who in ("amy", "sen"):
        removed = redress("compensation", "remove", str(step["id"]), "--reason", "not needed", db=db, user=who,
                          check=False)
        role = {"amy": "agent", "sen": "senior"}[who]
        assert (removed.returncode, removed.stderr) == (5, (
            f"error: step {step['id']} was approved by sup (supervisor); removing it needs supervisor or above, "
            f"and {who} is {role}\n"))
    assert as_json(redress("compensation", "list", number, "--json", db=db))[0]["state"] == "approved"
    redress("compensation", "remove", str(step["id"]), "--reason", "paid by the courier", db=db, user="sup")
    assert as_json(redress("compensation", "list", number, "--json", db=db))[0]["state"] == "cancelled"


def test_acting_on_a_complaint_assigned_to_someone_else_is_refused(db):
    number = filed(db, "13800000004")
    redress("triage", number, db=db, user="amy")
    redress("take", number, db=db, user="amy")
    expected = f"{number} is assigned to amy; only amy, or a senior or above giving a reason, may start it"
    for who, extra in (("bob", ["-m", "amy is at lunch"]), ("sen", [])):
        refused = redress("start", number, *extra, db=db, user=who, check=False)
        assert (refused.returncode, refused.stderr) == (5, f"error: {expected}\n")
    started = redress("start", number, "-m", "amy is off sick", db=db, user="sen")
    assert "assigned -> in_progress" in started.stdout
    resolved = redress("resolve", number, "-m", "refunded", db=db, user="bob", check=False)
    assert (resolved.returncode, resolved.stderr) == (5, f"error: {expected.replace('start', 'resolve')}\n")
    assert as_json(redress("show", number, "--json", db=db))["state"] == "in_progress"
