"""Random sequences of commands never break the complaint's invariants (hypothesis, real SQLite)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from states.definition import STATES
from tests.conftest import file_one, overdue_since_counted
from workflow.adapters.models import COMPLAINTS
from workflow.domain.errors import InvalidInput, InvalidTransition, PermissionDenied
from workflow.read.queries import complaint_detail, history
from workflow.services import clocks, firing, supervision
from workflow.services import lifecycle as svc

# Each command as the CLI would issue it; most will be refused in most states.
COMMANDS = {
    "triage": lambda app, n, who: svc.triage(app, who, n),
    "take": lambda app, n, who: svc.assign(app, who, n),
    "assign_bob": lambda app, n, who: svc.assign(app, who, n, "bob"),
    "start": lambda app, n, who: svc.start(app, who, n),
    "respond": lambda app, n, who: svc.respond(app, who, n, "we are on it"),
    "wait": lambda app, n, who: svc.wait_for_customer(app, who, n, "photos please", reason="photos_or_documents"),
    "replied": lambda app, n, who: svc.customer_replied(app, who, n, "photos sent"),
    "route": lambda app, n, who: svc.route(app, who, n, "仓储部", "check stock"),
    "feedback": lambda app, n, who: svc.owner_feedback(app, who, n, "stock found"),
    "resolve": lambda app, n, who: svc.resolve(app, who, n, "replacement sent"),
    "close": lambda app, n, who: svc.close(app, who, n),
    "reopen": lambda app, n, who: svc.reopen(app, who, n, "customer called back"),
    "cancel_withdrawn": lambda app, n, who: svc.cancel(app, who, n, "withdrawn"),
    "cancel_spam": lambda app, n, who: svc.cancel(app, who, n, "spam"),
    "answer": lambda app, n, who: svc.answer_from_manual(app, who, n, "delivery-delay"),
    "raise": lambda app, n, who: svc.change_severity(app, who, n, "critical", "customer is furious"),
    "lower": lambda app, n, who: svc.change_severity(app, who, n, "low", "calmer now"),
    "note": lambda app, n, who: svc.add_note(app, who, n, "note"),
    "resolve_blank": lambda app, n, who: svc.resolve(app, who, n, ""),
}

steps = st.lists(st.tuples(st.sampled_from(sorted(COMMANDS)), st.sampled_from(["amy", "sen"])), max_size=25)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=steps)
def test_random_commands_keep_state_defined_events_complete_and_version_rising(sqlite_app, sequence):
    app = sqlite_app
    number = file_one(app, severity="medium")
    accepted = 1  # the filing itself
    version = complaint_detail(app, number)["version"]
    for command, who in sequence:
        try:
            COMMANDS[command](app, number, who)
        except (InvalidTransition, PermissionDenied, InvalidInput):
            after = complaint_detail(app, number)
            assert after["version"] == version, f"refused {command} changed the complaint"
            continue
        accepted += 1
        after = complaint_detail(app, number)
        assert after["version"] > version
        version = after["version"]
        assert after["state"] in STATES
    events = history(app, number)["events"]
    # What a change causes besides itself is an event of its own, right after it: a cancel or a reopen
    # withdraws the customer's unsent messages, a closing queues the survey, resolving plans compensation steps
    # by the rules (one event per step, so a step's event may follow another's).
    caused_by = {"messages_withdrawn": {"cancel", "reopen"}, "survey_queued": {"close", "answer_from_manual"},
                 "compensation_planned": {"resolve", "compensation_planned"}}
    assert all(earlier["trigger"] in caused_by[later["trigger"]]
               for earlier, later in zip(events, events[1:], strict=False) if later["trigger"] in caused_by)
    assert len([e for e in events if e["trigger"] not in caused_by]) == accepted
    assert [e["to_state"] for e in events][-1] == complaint_detail(app, number)["state"]
    for earlier, later in zip(events, events[1:], strict=False):
        assert later["from_state"] == earlier["to_state"], "the trail has a gap"


def assert_kept_from_deadlines(app):
    """Every complaint's kept next breach (the queue's order) and first breach (the board's) are what its
    deadlines say now, counted afresh."""
    with app.engine.connect() as connection:
        rows = connection.execute(select(COMPLAINTS.c.number, COMPLAINTS.c.next_breach_at,
                                         clocks.NEXT_BREACH.label("counted"), COMPLAINTS.c.overdue_since,
                                         overdue_since_counted().label("overdue_counted"))).all()
    assert [(row.number, row.next_breach_at) for row in rows] == [(row.number, row.counted) for row in rows]
    assert [(row.number, row.overdue_since) for row in rows] == [(row.number, row.overdue_counted) for row in rows]


def _later(app, hours):
    """Time passes and the scheduler fires what fell due (warnings, breaches, ladder steps, pause limits)."""
    app.clock.pin(app.clock.now() + timedelta(hours=hours))
    firing.fire_due(app)


# The commands that move clocks, and time passing, on two complaints at once.
CLOCK_COMMANDS = {
    **{name: COMMANDS[name] for name in ("triage", "take", "start", "respond", "wait", "replied", "resolve", "close",
                                          "reopen", "raise", "lower")},
    "extend": lambda app, n, who: supervision.extend_deadline(app, "sup", n, "3h", "customer travelling"),
    "acknowledge": lambda app, n, who: supervision.acknowledge(app, "sup", n, "on it"),
    "de_escalate": lambda app, n, who: supervision.lower_escalation(app, "sup", n, "agent", "handled at the desk"),
    "hour_passes": lambda app, n, who: _later(app, 1),
    "day_passes": lambda app, n, who: _later(app, 30),
}
clock_steps = st.lists(st.tuples(st.sampled_from(sorted(CLOCK_COMMANDS)), st.sampled_from([0, 1]),
                                 st.sampled_from(["amy", "sen"])), max_size=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=clock_steps)
def test_the_queue_and_board_orders_are_kept_through_any_commands_and_firing(sqlite_app, sequence):
    app = sqlite_app
    numbers = [file_one(app, severity="medium"), file_one(app, severity="high", phone="13900139000")]
    svc.triage(app, "amy", numbers[1])
    svc.assign(app, "amy", numbers[1])
    svc.start(app, "amy", numbers[1])  # one already being worked: waits on the customer come up often
    assert_kept_from_deadlines(app)
    for command, which, who in sequence:
        try:
            CLOCK_COMMANDS[command](app, numbers[which], who)
        except (InvalidTransition, PermissionDenied, InvalidInput):
            pass
        assert_kept_from_deadlines(app)
