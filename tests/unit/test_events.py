"""The machine's events: what each (state, trigger) causes, with and without a first response, pausing or not."""

from __future__ import annotations

import pytest

from states.definition import CAUSES, STATES, TRIGGERS, Event
from states.events import step
from states.machine import TriggerNotAllowed, allowed_triggers

E = Event
WAITING = frozenset({"waiting_customer"})

CASES = [
    # state, trigger, first response given, pause states, events
    ("triaged", "respond", False, WAITING, (E.FIRST_RESPONSE_GIVEN, E.FIRST_REPLY_WRITTEN)),
    ("in_progress", "respond", True, WAITING, ()),
    ("in_progress", "resolve", False, WAITING, (E.FIRST_RESPONSE_GIVEN, E.RESOLVED)),
    ("in_progress", "resolve", True, WAITING, (E.RESOLVED,)),
    ("received", "answer_from_manual", False, WAITING, (E.FIRST_RESPONSE_GIVEN, E.ANSWERED_FROM_MANUAL, E.CLOSED)),
    ("triaged", "answer_from_manual", True, WAITING, (E.ANSWERED_FROM_MANUAL, E.CLOSED)),
    ("resolved", "close", True, WAITING, (E.CLOSED,)),
    ("closed", "reopen", True, WAITING, (E.REOPENED,)),
    ("resolved", "reopen", True, frozenset({"resolved", "triaged"}), (E.REOPENED,)),  # restarts, never resumes
    ("in_progress", "wait_for_customer", False, WAITING, (E.PAUSED,)),
    ("in_progress", "wait_for_customer", False, frozenset(), ()),
    ("waiting_customer", "customer_replied", False, WAITING, (E.RESUMED,)),
    ("waiting_customer", "cancel", False, WAITING, (E.CANCELLED,)),  # cancelling stops the clock, never resumes
    ("waiting_customer", "change_severity", False, WAITING, (E.SEVERITY_CHANGED,)),
    ("in_progress", "route", False, WAITING, ()),
    ("in_progress", "route", False, frozenset({"routed"}), (E.PAUSED,)),
    ("routed", "owner_feedback", False, frozenset({"routed"}), (E.RESUMED,)),
    ("routed", "respond", False, frozenset({"routed"}), (E.FIRST_RESPONSE_GIVEN, E.FIRST_REPLY_WRITTEN)),
    ("in_progress", "resolve", False, frozenset({"in_progress"}), (E.FIRST_RESPONSE_GIVEN, E.RESOLVED)),
    ("received", "triage", False, WAITING, ()),
    ("triaged", "assign", False, WAITING, ()),
    ("cancelled", "note", False, WAITING, ()),
]


@pytest.mark.parametrize("state,trigger,answered,pause_states,events", CASES)
def test_the_events_a_transition_causes(state, trigger, answered, pause_states, events):
    assert step(state, trigger, has_assignee=True, first_response_given=answered,
                pause_states=pause_states).events == events


ALLOWED = [(s, t, a) for s in STATES for t in allowed_triggers(s) for a in (False, True)]


@pytest.mark.parametrize("state,trigger,answered", ALLOWED)
def test_every_allowed_pair_causes_its_declared_events_in_order(state, trigger, answered):
    answer = step(state, trigger, has_assignee=True, first_response_given=answered, pause_states=WAITING)
    assert list(answer.events) == sorted(answer.events, key=list(Event).index)
    assert set(answer.events) <= set(CAUSES[trigger]) | {E.PAUSED, E.RESUMED}
    if answered:
        assert E.FIRST_RESPONSE_GIVEN not in answer.events


def test_every_trigger_the_machine_knows_declares_what_it_causes():
    assert set(CAUSES) == set(TRIGGERS)


def test_a_refused_trigger_causes_nothing_and_is_refused():
    with pytest.raises(TriggerNotAllowed):
        step("closed", "resolve")
