"""Only the assignee, or a senior agent or above giving a reason, starts, resolves or closes a complaint."""

from __future__ import annotations

import pytest

from tests.conftest import file_one
from workflow.domain.errors import PermissionDenied
from workflow.read.queries import complaint_detail, history
from workflow.services import lifecycle as svc


def assigned_to(app, user: str) -> str:
    number = file_one(app)
    svc.triage(app, "amy", number)
    svc.assign(app, "sen", number, user)
    return number


def refusal(number: str, action: str, assignee: str = "amy") -> str:
    return (f"{number} is assigned to {assignee}; only {assignee}, or a senior or above giving a reason, "
            f"may {action} it")


def test_another_agent_may_not_start_resolve_or_close_and_nothing_is_written(app):
    number = assigned_to(app, "amy")
    version = complaint_detail(app, number)["version"]
    with pytest.raises(PermissionDenied) as refused:
        svc.start(app, "bob", number, note="amy is at lunch")
    assert str(refused.value) == refusal(number, "start") and refused.value.exit_code == 5
    svc.start(app, "amy", number)
    with pytest.raises(PermissionDenied, match=f"^{refusal(number, 'resolve')}$"):
        svc.resolve(app, "bob", number, "refunded the fee")
    svc.resolve(app, "amy", number, "refunded the fee")
    with pytest.raises(PermissionDenied, match=f"^{refusal(number, 'close')}$"):
        svc.close(app, "bob", number, "customer is happy")
    detail = complaint_detail(app, number)
    assert (detail["state"], detail["version"]) == ("resolved", version + 2)
    assert all(e["actor"] != "bob" for e in history(app, number)["events"])


def test_a_senior_or_above_acts_on_someone_elses_complaint_only_giving_a_reason(app):
    number = assigned_to(app, "amy")
    with pytest.raises(PermissionDenied, match=f"^{refusal(number, 'start')}$"):
        svc.start(app, "sen", number)
    with pytest.raises(PermissionDenied, match="giving a reason"):
        svc.start(app, "sen", number, note="   ")
    assert svc.start(app, "sen", number, note="amy is off sick; the customer is waiting").to_state == "in_progress"
    assert svc.resolve(app, "sup", number, "replaced the parcel").to_state == "resolved"  # the resolution says why
    with pytest.raises(PermissionDenied, match=f"^{refusal(number, 'close')}$"):
        svc.close(app, "boss", number)
    assert svc.close(app, "boss", number, "closing amy's answered complaints").to_state == "closed"
    trail = [(e["trigger"], e["actor"], e["note"]) for e in history(app, number)["events"]
             if e["trigger"] in ("start", "resolve", "close")]
    assert trail == [("start", "sen", "amy is off sick; the customer is waiting"),
                     ("resolve", "sup", "replaced the parcel"), ("close", "boss", "closing amy's answered complaints")]


def test_the_rule_follows_the_complaint_when_it_is_handed_over(app):
    number = assigned_to(app, "amy")
    svc.start(app, "amy", number)
    svc.assign(app, "sen", number, "bob", note="amy moved to the chat team")
    with pytest.raises(PermissionDenied, match=refusal(number, "start", "bob")):
        svc.start(app, "amy", number)
    assert svc.start(app, "bob", number).to_state == "in_progress"


def test_the_rest_of_the_work_stays_open_to_any_agent(app):
    number = assigned_to(app, "amy")
    svc.start(app, "amy", number)
    assert svc.respond(app, "bob", number, "called back while amy was busy").to_state == "in_progress"
    assert svc.add_note(app, "bob", number, "customer prefers email").to_state == "in_progress"
