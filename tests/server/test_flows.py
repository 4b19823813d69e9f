"""The main flows through the real server on SQLite and PostgreSQL: an agent's complaint from filing to survey, a
supervisor's escalation, and every refusal with the line a direct seat (the command line) prints."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.apiserver import RunningServer
from tests.conftest import CONFIG, PINNED
from tests.server.answers import FILING, MISSING, direct_line, ok, refused
from workflow.bootstrap import Redress, bootstrap
from workflow.domain.clock import Clock
from workflow.faces.seat import DirectSeat


@pytest.fixture(scope="module")
def server(module_server_any: RunningServer) -> RunningServer:
    return module_server_any


@pytest.fixture(scope="module")
def direct(server: RunningServer) -> Iterator[Redress]:
    """The same database wired in this process, as a direct seat and the scheduler would use it."""
    app = bootstrap(str(CONFIG), server.db, Clock(PINNED))
    yield app
    app.engine.dispose()


def test_an_agent_works_a_complaint_from_filing_to_survey(server):
    amy = server.client("amy")
    filed = ok(amy.post("/complaints", json=FILING), 201)
    number = filed["number"]
    assert filed["to_state"] == "received" and filed["version"] == 1
    assert ok(amy.get(f"/complaints/{number}"))["state"] == "received"
    for action, body, state in (
        ("triage", {}, "triaged"),
        ("assign", {}, "assigned"),
        ("start", {}, "in_progress"),
        ("respond", {"message": "已联系快递公司"}, "in_progress"),
        ("wait", {"note": "等客户确认地址", "reason": "customer_decision"}, "waiting_customer"),
        ("replied", {"note": "地址已确认"}, "in_progress"),
        ("resolve", {"resolution": "重新发货"}, "resolved"),
    ):
        outcome = ok(amy.post(f"/complaints/{number}/{action}", json=body))
        assert (outcome["number"], outcome["to_state"]) == (number, state), action
    shown = ok(amy.get(f"/complaints/{number}"))
    assert shown["assignee"] == "amy" and shown["resolution"] == "重新发货"
    assert number in [row["number"] for row in ok(amy.get("/complaints", params={"mine": "true"}))]

    step = ok(amy.post(f"/complaints/{number}/compensation", json={"kind": "voucher", "amount": "20.00",
                                                                      "reason": "等了十天"}), 201)
    steps = ok(amy.get("/compensation", params={"ref": number}))
    assert (step["kind"], step["complaint"]) == ("voucher", number)
    assert step["id"] in [row["id"] for row in steps]
    for planned in steps:  # an open step keeps the complaint from closing
        assert ok(amy.post(f"/compensation/{planned['id']}/complete", json={"note": "已办"}))["to_state"] == "done"
    version = ok(amy.get(f"/complaints/{number}"))["version"]
    closed = ok(amy.post(f"/complaints/{number}/close", json={"expected_version": version}))
    assert closed["to_state"] == "closed"
    survey = ok(amy.post(f"/complaints/{number}/survey", json={"score": 5, "comment": "满意"}), 201)
    assert (survey["complaint"], survey["score"], survey["low"]) == (number, 5, False)

    triggers = [event["trigger"] for event in ok(amy.get(f"/complaints/{number}/history"))["events"]]
    assert triggers[:4] == ["file", "triage", "assign", "start"] and "close" in triggers
    customer = ok(amy.get("/customers/13800138000"))
    assert customer["name"] == "王芳" and number in [row["number"] for row in customer["complaints"]]
    hits = ok(amy.get("/manual", params={"text": "退款"}))
    assert hits and all({"id", "title", "answer"} <= set(hit) for hit in hits)


def test_a_supervisor_handles_an_escalation_and_the_outbox(server, direct):
    from workflow.services.firing import fire_due

    amy, sup = server.client("amy"), server.client("sup")
    number = ok(amy.post("/complaints", json=FILING), 201)["number"]
    for action in ("triage", "assign", "start"):
        ok(amy.post(f"/complaints/{number}/{action}", json={}))
    direct.clock.pin(PINNED + timedelta(hours=8))  # the scheduler, a working day later: the deadlines breach
    assert fire_due(direct).fired > 0
    direct.clock.pin(PINNED)

    board = ok(sup.get("/escalations"))
    row = next(row for row in board if row["number"] == number)
    assert row["escalation_level"] >= 2 and not row["acknowledged"]
    acknowledged = ok(sup.post(f"/complaints/{number}/escalation/acknowledge", json={"reason": "在跟进"}))
    assert acknowledged["trigger"] == "acknowledge_escalation"
    extended = ok(sup.post(f"/complaints/{number}/escalation/extend", json={"by": "2h", "reason": "快递延误",
                                                                             "expected_version":
                                                                                 acknowledged["version"]}))
    assert extended["version"] == acknowledged["version"] + 1
    lowered = ok(sup.post(f"/complaints/{number}/escalation/lower", json={"to_level": "agent", "reason": "客户已平静"}))
    assert lowered["trigger"] == "lower_escalation"
    assert ok(sup.get(f"/complaints/{number}"))["escalation_level"] == 0

    messages = ok(sup.get("/outbox", params={"complaint": number}))
    assert messages and {"id", "kind", "status", "recipient"} <= set(messages[0])
    report = ok(sup.post("/outbox/retry", json={"which": {"complaint": number}}))
    assert report["queued"] == 0  # nothing failed: nothing to send again


def test_each_refusal_is_its_status_with_the_line_the_command_line_prints(server, direct):
    amy, sup = server.client("amy"), server.client("sup")
    as_amy, as_sup = DirectSeat(direct, "amy"), DirectSeat(direct, "sup")
    number = ok(amy.post("/complaints", json=FILING), 201)["number"]
    ok(amy.post(f"/complaints/{number}/triage", json={}))

    stale = refused(amy.post(f"/complaints/{number}/assign", json={"expected_version": 1}), 409, "ConcurrentChange")
    assert stale["current_version"] == 2 and stale["exit_code"] == 6
    assert stale["error"] == direct_line(as_amy, "assign", number, expected_version=1)

    role = refused(amy.get("/escalations"), 403, "PermissionDenied")
    assert role["error"] == "amy is an agent; the escalation board needs supervisor or above"
    assert role["error"] == direct_line(as_amy, "escalations") and role["exit_code"] == 5
    lowering = refused(amy.post(f"/complaints/{number}/severity", json={"severity": "low", "reason": "误报"}),
                       403, "PermissionDenied")
    assert lowering["error"] == direct_line(as_amy, "change_severity", number, "low", "误报")

    transition = refused(amy.post(f"/complaints/{number}/close", json={}), 409, "InvalidTransition")
    assert transition["error"] == direct_line(as_amy, "close", number) and transition["exit_code"] == 4

    unknown = refused(amy.get(f"/complaints/{MISSING}"), 404, "NotFound")
    assert unknown["error"] == direct_line(as_amy, "show", MISSING) and unknown["exit_code"] == 3
    unknown_acted = refused(sup.post(f"/complaints/{MISSING}/escalation/acknowledge", json={"reason": "x"}),
                            404, "NotFound")
    assert unknown_acted["error"] == direct_line(as_sup, "acknowledge", MISSING, "x")


def test_a_bad_field_is_422_naming_it(server, direct):
    amy = server.client("amy")
    channel = refused(amy.post("/complaints", json={**FILING, "channel": "pigeon"}), 422, "InvalidInput")
    assert "pigeon" in channel["error"] and channel["exit_code"] == 7
    assert channel["error"] == direct_line(DirectSeat(direct, "amy"), "file", **{**FILING, "channel": "pigeon"})
    missing = refused(amy.post("/complaints", json={k: v for k, v in FILING.items() if k != "summary"}), 422,
                      "InvalidInput")
    assert missing["error"].startswith("summary:")
    unknown = refused(amy.post("/complaints", json={**FILING, "colour": "red"}), 422, "InvalidInput")
    assert unknown["error"].startswith("colour:")
    score = refused(amy.post(f"/complaints/{MISSING}/survey", json={"score": "five"}), 422, "InvalidInput")
    assert score["error"].startswith("score:")
    limit = refused(amy.get("/complaints", params={"limit": "many"}), 422, "InvalidInput")
    assert limit["error"].startswith("query.limit:")
