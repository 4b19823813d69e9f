"""A leaver's departure: every open complaint handed over in one audited step, their history left theirs."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import event, text

from tests.conftest import CONFIG, PINNED, file_one
from workflow.bootstrap import bootstrap
from workflow.domain.clock import Clock
from workflow.domain.errors import ConcurrentChange, InvalidInput, PermissionDenied
from workflow.read.queries import complaint_detail, history
from workflow.services import lifecycle as svc
from workflow.services.handover import deactivate_user, reactivate_user, user_profile
from workflow.services.people import change_role, edit_user, list_users

# The state each of amy's complaints is brought to, and the lifecycle steps that bring it there.
STEPS = {
    "assigned": [svc.triage, svc.assign],
    "in_progress": [svc.triage, svc.assign, svc.start],
    "waiting_customer": [svc.triage, svc.assign, svc.start, lambda a, u, n: svc.wait_for_customer(a, u, n, "照片",
                                                                                        reason="photos_or_documents")],
    "routed": [svc.triage, svc.assign, svc.start, lambda a, u, n: svc.route(a, u, n, "物流部")],
    "resolved": [svc.triage, svc.assign, svc.start, lambda a, u, n: svc.resolve(a, u, n, "已补发")],
    "closed": [svc.triage, svc.assign, svc.start, lambda a, u, n: svc.resolve(a, u, n, "已补发"), svc.close],
}


ON_POSTGRESQL_ONLY = pytest.mark.parametrize(  # on SQLite a writer holds the database from its first statement
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)


@pytest.fixture
def desk(app):
    """amy holds a complaint in every state work can be held in, and a closed one; bob holds one of his own."""
    numbers = {}
    for i, (state, steps) in enumerate(STEPS.items()):
        number = file_one(app, phone=f"1380013800{i}", summary=f"第{i}件")
        for step in steps:
            step(app, "amy", number)
        numbers[state] = number
    bobs = file_one(app, "bob", phone="13900139000")
    svc.triage(app, "bob", bobs)
    svc.assign(app, "bob", bobs)
    return numbers, bobs


def looks(app, number: str) -> tuple:
    detail = complaint_detail(app, number)
    return detail["state"], detail["assignee"], detail["version"], history(app, number)["events"]


def test_a_leavers_open_complaints_go_to_a_named_person_where_they_stand(app, desk):
    numbers, bobs = desk
    closed_before = looks(app, numbers["closed"])
    bobs_before = looks(app, bobs)
    before = {number: looks(app, number) for number in numbers.values()}

    departure = deactivate_user(app, "boss", "amy", reason="离职 left for another job", handover_to="bob")

    open_ones = [n for state, n in numbers.items() if state != "closed"]
    assert [c.number for c in departure.complaints] == open_ones
    for number in open_ones:
        state, assignee, version, events = looks(app, number)
        assert (state, assignee, version) == (before[number][0], "bob", before[number][2] + 1)
        assert events[:-1] == before[number][3]  # amy's history is untouched and still hers
        assert any(e["actor"] == "amy" for e in events[:-1])
        last = events[-1]
        assert (last["actor"], last["trigger"], last["from_state"], last["to_state"]) == ("boss", "hand_over",
                                                                                        state, state)
        assert "amy" in last["note"] and "离职 left for another job" in last["note"]
        assert last["data"] == {"from": "amy", "to": "bob", "reason": "离职 left for another job"}
    assert looks(app, numbers["closed"]) == closed_before
    assert looks(app, bobs) == bobs_before

    profile = user_profile(app, "amy")
    assert profile["active"] is False and profile["open_complaints"] == []
    added, audit = profile["changes"]  # adding amy was audited too
    assert (added["actor"], added["action"], added["changes"]) == ("boss", "add", {"role": [None, "agent"]})
    assert (audit["actor"], audit["action"], audit["reason"]) == ("boss", "deactivate", "离职 left for another job")
    assert audit["at"] == PINNED.isoformat()
    assert audit["changes"]["active"] == [True, False]
    assert audit["changes"][f"assignee of {numbers['routed']}"] == ["amy", "bob"]


def test_back_to_the_team_queue_unstarted_work_waits_for_triage_and_anyone_takes_it(app, desk):
    numbers, _ = desk
    deactivate_user(app, "boss", "amy", reason="contract ended", to_queue=True)

    expected = {"assigned": "triaged", "in_progress": "triaged", "waiting_customer": "waiting_customer",
                "routed": "routed", "resolved": "resolved"}
    for state, after in expected.items():
        detail = complaint_detail(app, numbers[state])
        assert (detail["state"], detail["assignee"]) == (after, None)
        last = history(app, numbers[state])["events"][-1]
        assert (last["actor"], last["trigger"], last["data"]["to"]) == ("boss", "unassign", None)
        assert "amy" in last["note"] and "contract ended" in last["note"]
    taken = svc.assign(app, "bob", numbers["in_progress"])
    assert (taken.from_state, taken.to_state) == ("triaged", "assigned")
    assert svc.reopen(app, "bob", numbers["closed"], "客户又来电").to_state == "in_progress"  # a closed one is kept


def test_a_deactivated_user_cannot_act_nor_be_given_work_and_can_come_back(app, desk):
    numbers, bobs = desk
    deactivate_user(app, "boss", "amy", reason="left", to_queue=True)

    with pytest.raises(PermissionDenied, match="^amy was deactivated on 2026-11-20 by boss \\(left\\) and can no "
                                               "longer act$"):
        svc.add_note(app, "amy", bobs, "still here?")
    with pytest.raises(InvalidInput, match="^amy was deactivated .*; give the work to an active user$"):
        svc.assign(app, "sen", bobs, "amy")
    with pytest.raises(InvalidInput, match="amy is already deactivated"):
        deactivate_user(app, "boss", "amy", reason="again", to_queue=True)
    assert "amy" not in [u.name for u in list_users(app)]
    assert [u.active for u in list_users(app, include_inactive=True) if u.name == "amy"] == [False]

    reactivate_user(app, "boss", "amy", "came back")
    assert svc.add_note(app, "amy", bobs, "back again").to_state == "assigned"
    assert user_profile(app, "amy")["open_complaints"] == []  # the work stays with whoever took it
    assert [c["action"] for c in user_profile(app, "amy")["changes"]] == ["add", "deactivate", "reactivate"]


def test_only_a_manager_deactivates_and_never_themselves(app, desk):
    numbers, _ = desk
    before = {n: looks(app, n) for n in numbers.values()}
    with pytest.raises(PermissionDenied, match="^sup is a supervisor; deactivating a user needs manager or above$"):
        deactivate_user(app, "sup", "amy", reason="left", to_queue=True)
    with pytest.raises(InvalidInput, match="boss cannot deactivate themselves"):
        deactivate_user(app, "boss", "boss", reason="retiring", to_queue=True)
    with pytest.raises(InvalidInput, match=f"amy holds 5 open complaints \\({numbers['assigned']}, .*\\); say where"):
        deactivate_user(app, "boss", "amy", reason="left")
    with pytest.raises(InvalidInput, match="not both"):
        deactivate_user(app, "boss", "amy", reason="left", handover_to="bob", to_queue=True)
    with pytest.raises(InvalidInput, match="reason is required"):
        deactivate_user(app, "boss", "amy", reason=" ", to_queue=True)
    assert {n: looks(app, n) for n in numbers.values()} == before
    assert user_profile(app, "amy")["active"] is True


def test_a_change_to_one_complaint_since_the_list_was_read_refuses_the_whole_step(app, desk):
    numbers, _ = desk
    shown = {c["number"]: c["version"] for c in user_profile(app, "amy")["open_complaints"]}
    svc.add_note(app, "sen", numbers["routed"], "客户来电催促")
    before = {n: looks(app, n) for n in numbers.values()}

    with pytest.raises(ConcurrentChange, match=f"^amy's open complaints changed since you read them "
                                               f"\\({numbers['routed']}\\); nothing was handed over"):
        deactivate_user(app, "boss", "amy", reason="left", handover_to="bob", expected=shown)
    assert {n: looks(app, n) for n in numbers.values()} == before
    assert user_profile(app, "amy")["active"] is True
    assert [c["action"] for c in user_profile(app, "amy")["changes"]] == ["add"]  # no deactivation recorded


@ON_POSTGRESQL_ONLY
def test_a_concurrent_change_during_the_step_refuses_it_whole(app, desk, database_url):
    numbers, _ = desk
    other = bootstrap(str(CONFIG), database_url, Clock(PINNED))  # another process's connection
    updates = []

    def change_the_last_one_meanwhile(conn, cursor, statement, *_):
        if statement.startswith("UPDATE complaint"):
            updates.append(statement)
            if len(updates) == 1:
                svc.add_note(other, "sen", numbers["resolved"], "客户来电")

    event.listen(app.engine, "before_cursor_execute", change_the_last_one_meanwhile)
    before = {n: looks(app, n) for n in numbers.values()}
    try:
        with pytest.raises(ConcurrentChange, match=f"^{numbers['resolved']} changed while amy's complaints were "
                                                   "handed over; nothing was handed over and amy is still active"):
            deactivate_user(app, "boss", "amy", reason="left", handover_to="bob")
    finally:
        event.remove(app.engine, "before_cursor_execute", change_the_last_one_meanwhile)
        other.engine.dispose()
    after = {n: looks(app, n) for n in numbers.values()}
    changed = numbers["resolved"]
    assert {n: v for n, v in after.items() if n != changed} == {n: v for n, v in before.items() if n != changed}
    assert after[changed][:2] == ("resolved", "amy") and after[changed][2] == before[changed][2] + 1
    assert user_profile(app, "amy")["active"] is True


def test_a_manager_changes_roles_and_profiles_audited_but_never_demotes_the_last_manager(app):
    assert change_role(app, "boss", "amy", "senior", "two years on the line").role == "senior"
    with pytest.raises(PermissionDenied, match="^sup is a supervisor; changing a role needs manager or above$"):
        change_role(app, "sup", "bob", "senior")
    with pytest.raises(InvalidInput, match="^boss is the last manager; make another user a manager first$"):
        change_role(app, "boss", "boss", "agent")
    change_role(app, "boss", "sup", "manager")
    assert change_role(app, "sup", "boss", "supervisor").role == "supervisor"
    with pytest.raises(InvalidInput, match="amy is already a senior"):
        change_role(app, "sup", "amy", "senior")

    edited = edit_user(app, "sup", "amy", email=" Amy@Example.CN ", display_name="艾米 Amy")
    assert (edited.email, edited.display_name) == ("amy@example.cn", "艾米 Amy")
    with pytest.raises(InvalidInput, match="is not an email address"):
        edit_user(app, "sup", "amy", email="amy-at-example")
    with pytest.raises(PermissionDenied, match="editing a user needs manager"):
        edit_user(app, "amy", "amy", email="me@example.cn")
    assert [(c["actor"], c["action"], c["changes"]) for c in user_profile(app, "amy")["changes"]] == [
        ("boss", "add", {"role": [None, "agent"]}),
        ("boss", "role", {"role": ["agent", "senior"]}),
        ("sup", "edit", {"email": [None, "amy@example.cn"], "display_name": ["amy", "艾米 Amy"]}),
    ]


@ON_POSTGRESQL_ONLY
def test_work_given_to_the_leaver_at_the_same_moment_waits_and_is_refused(app, desk, database_url):
    _, bobs = desk
    other = bootstrap(str(CONFIG), database_url, Clock(PINNED))  # another process's connection
    outcome: list[BaseException | None] = []
    givers: list[threading.Thread] = []

    def give_amy_work() -> None:
        try:
            svc.assign(other, "sen", bobs, "amy")
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001 - handed to the test's thread
            outcome.append(error)

    def meanwhile(conn, cursor, statement, *_):
        if statement.startswith('UPDATE "user"'):  # amy's row is now locked by the deactivation
            giver = threading.Thread(target=give_amy_work)
            givers.append(giver)
            giver.start()
            for _ in range(200):  # until the assignment waits on amy's row (or has finished)
                if not giver.is_alive() or _waiting_on_a_lock(other):
                    break
                time.sleep(0.05)

    event.listen(app.engine, "after_cursor_execute", meanwhile)
    try:
        departure = deactivate_user(app, "boss", "amy", reason="left", to_queue=True)
    finally:
        event.remove(app.engine, "after_cursor_execute", meanwhile)
    for giver in givers:
        giver.join(30)
    other.engine.dispose()
    assert bobs not in [c.number for c in departure.complaints]
    assert len(outcome) == 1 and isinstance(outcome[0], InvalidInput)
    assert "amy was deactivated" in str(outcome[0])
    assert complaint_detail(app, bobs)["assignee"] == "bob"


def _waiting_on_a_lock(app) -> bool:
    with app.engine.connect() as connection:
        return bool(connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )).scalar())
