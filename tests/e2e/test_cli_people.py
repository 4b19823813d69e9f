"""People change through the installed `redress` command: a leaver's hand-over, roles, customer edits and search."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import OS_ACCOUNT, file_one, make_app
from tests.e2e.test_cli import as_json, redress
from workflow.services import lifecycle as svc
from workflow.services.people import add_user


@pytest.fixture
def db(sqlite_url: str) -> str:
    """A migrated database with a manager (boss, this operating-system account) and an agent (amy); set up
    through the services, to keep the command for what is under test. SQLite: the hand-over's atomicity and
    races run on both databases in tests/integration/test_handover.py."""
    database_url = sqlite_url
    app = make_app(database_url)
    add_user(app, None, "boss", "manager", os_user=OS_ACCOUNT)
    add_user(app, "boss", "amy", "agent")
    app.engine.dispose()
    return database_url


@pytest.fixture
def shift(db: str) -> Iterator[tuple[str, list[str]]]:
    """li.na works three complaints (one started, one waiting on the customer) and has closed one."""
    app = make_app(db)
    for name, role in (("li.na", "agent"), ("bob", "agent"), ("sup", "supervisor")):
        add_user(app, "boss", name, role)
    numbers = []
    for i, steps in enumerate(([], ["start"], ["start", "wait"], ["start", "resolve", "close"])):
        number = file_one(app, "li.na", phone=f"1380013800{i}", summary=f"快递第{i}件")
        for step in ["triage", "assign", *steps]:
            if step == "wait":
                svc.wait_for_customer(app, "li.na", number, "照片", reason="photos_or_documents")
            elif step == "resolve":
                svc.resolve(app, "li.na", number, "已补发")
            else:
                getattr(svc, step)(app, "li.na", number)
        numbers.append(number)
    app.engine.dispose()
    yield db, numbers


def test_a_leavers_complaints_go_to_a_person_and_the_leaver_is_refused_afterwards(shift):
    db, numbers = shift
    refused = redress("user", "deactivate", "li.na", "--reason", "离职", "--handover-to", "bob", db=db, user="sup",
                      check=False)
    assert (refused.returncode, refused.stderr) == (
        5, "error: sup is a supervisor; deactivating a user needs manager or above\n")

    closed_before = redress("history", numbers[3], "--json", db=db).stdout
    done = redress("user", "deactivate", "li.na", "--reason", "离职", "--handover-to", "bob", db=db, user="boss")
    assert done.stdout.splitlines() == [
        "deactivated li.na (离职); 3 open complaints handed over to bob:",
        f"  {numbers[0]}: assigned [version 4]",
        f"  {numbers[1]}: in_progress [version 5]",
        f"  {numbers[2]}: waiting_customer [version 6]",
    ]
    for number in numbers[:3]:
        events = as_json(redress("history", number, "--json", db=db))["events"]
        assert (events[-1]["actor"], events[-1]["trigger"], events[-1]["data"]["to"]) == ("boss", "hand_over", "bob")
        assert all(e["actor"] == "li.na" for e in events[:-1])
    assert redress("history", numbers[3], "--json", db=db).stdout == closed_before

    acting = redress("note", numbers[0], "-m", "还在吗", db=db, user="li.na", check=False)
    assert (acting.returncode, acting.stderr) == (
        5, "error: li.na was deactivated on 2026-11-20 by boss (离职) and can no longer act\n")
    given = redress("assign", numbers[0], "--to", "li.na", db=db, user="sup", check=False)
    assert given.returncode == 7 and "give the work to an active user" in given.stderr
    users = as_json(redress("user", "list", "--all", "--json", db=db))
    assert [(u["name"], u["active"]) for u in users] == [
        ("amy", True), ("bob", True), ("boss", True), ("li.na", False), ("sup", True)]
    assert "li.na" not in redress("user", "list", db=db).stdout


def test_back_to_the_team_queue_anyone_can_take_the_work(shift):
    db, numbers = shift
    done = as_json(redress("user", "deactivate", "li.na", "--reason", "contract ended", "--to-queue", "--json",
                           db=db, user="boss"))
    assert done["to"] == "the team queue"
    assert [(c["from_state"], c["to_state"]) for c in done["complaints"]] == [
        ("assigned", "triaged"), ("in_progress", "triaged"), ("waiting_customer", "waiting_customer")]
    queue = {row["number"]: row for row in as_json(redress("queue", "--json", db=db))}
    assert all(queue[n]["assignee"] is None for n in numbers[:3])
    assert "triaged -> assigned" in redress("take", numbers[1], db=db, user="amy").stdout

    shown = as_json(redress("user", "show", "li.na", "--json", db=db))
    assert shown["active"] is False and shown["open_complaints"] == []
    assert [(c["actor"], c["action"], c["reason"]) for c in shown["changes"]] == [
        ("boss", "add", ""), ("boss", "deactivate", "contract ended")]
    assert "reactivated li.na" in redress("user", "reactivate", "li.na", db=db, user="boss").stdout
    assert redress("note", numbers[0], "-m", "回来了", db=db, user="li.na").returncode == 0


def test_roles_and_profiles_change_by_a_manager_only(db):
    for name, role in (("bob", "agent"), ("sup", "supervisor")):
        redress("user", "add", name, "--role", role, "--as", "boss", db=db)
    assert redress("user", "role", "bob", "--to", "senior", db=db, user="boss").stdout == "bob is now a senior\n"
    demote = redress("user", "role", "boss", "--to", "agent", db=db, user="boss", check=False)
    assert (demote.returncode, demote.stderr) == (7, "error: boss is the last manager; make another user a manager "
                                                     "first\n")
    edited = redress("user", "edit", "bob", "--email", "bob@example.cn", "--display-name", "吴波", db=db, user="boss")
    assert edited.stdout == "bob (吴波)  bob@example.cn\n"
    refused = redress("user", "edit", "bob", "--email", "x@example.cn", db=db, user="sup", check=False)
    assert refused.returncode == 5


def test_a_customer_is_edited_audited_and_found(db):
    for i in range(3):
        redress("new", "--channel", "phone", "--category", "delivery", "--summary", "快递没到", "--phone",
                f"1380013800{i}", "--name", "王芳", db=db, user="amy")
    redress("cancel", "C-20261120-0003", "--reason", "withdrawn", db=db, user="amy")
    edited = redress("customer", "edit", "13800138000", "--email", "WF@example.cn", "--tier", "gold", db=db,
                     user="amy")
    assert edited.stdout == "customer #1 (王芳): email: - -> wf@example.cn; tier: registered -> gold\n"
    taken = redress("customer", "edit", "13800138001", "--email", "wf@example.cn", db=db, user="amy", check=False)
    assert (taken.returncode, taken.stderr) == (
        7, "error: email wf@example.cn belongs to customer #1 (王芳); one phone or email names one customer\n")
    changes = as_json(redress("customer", "changes", "wf@example.cn", "--json", db=db))
    assert [(c["actor"], c["changes"]) for c in changes] == [
        ("amy", {"email": [None, "wf@example.cn"], "tier": ["registered", "gold"]})]
    profile = redress("customer", "show", "13800138000", db=db).stdout
    assert "Profile changes" in profile and "email: - -> wf@example.cn; tier: registered -> gold" in profile

    found = as_json(redress("customer", "find", "王芳", "--json", db=db))
    assert [(c["phone"], c["email"], c["open_complaints"]) for c in found] == [
        ("13800138000", "wf@example.cn", 1), ("13800138001", None, 1), ("13800138002", None, 0)]
    table = redress("customer", "find", "1380013800", db=db).stdout
    assert "Customers matching '1380013800' (3)" in table and "13800138002" in table
    assert redress("customer", "find", "zzz", db=db).stdout == "no customer matches 'zzz'\n"
