"""The complaint machine: every (state, trigger) pair, generated from the definition."""

from __future__ import annotations

import pytest

from states.definition import STATES, TRANSITIONS, TRIGGERS
from states.diagram import mermaid
from states.machine import TriggerNotAllowed, allowed_triggers, next_state


def _expected(state: str, trigger: str, has_assignee: bool) -> str | None:
    """What the definition says `trigger` does in `state`: the destination, or None if refused."""
    for transition in TRANSITIONS:
        sources = transition["source"] if isinstance(transition["source"], list) else [transition["source"]]
        if transition["trigger"] != trigger or state not in sources:
            continue
        if transition.get("conditions") == "has_assignee" and not has_assignee:
            continue
        if transition.get("unless") == "has_assignee" and has_assignee:
            continue
        return transition["dest"] or state
    return None


TABLE = [
    (state, trigger, has_assignee, _expected(state, trigger, has_assignee))
    for state in STATES
    for trigger in TRIGGERS
    for has_assignee in (False, True)
]
ALLOWED = [row for row in TABLE if row[3] is not None]
REFUSED = [row for row in TABLE if row[3] is None]


@pytest.mark.parametrize("state,trigger,has_assignee,destination", ALLOWED)
def test_every_allowed_transition_reaches_its_destination(state, trigger, has_assignee, destination):
    assert next_state(state, trigger, has_assignee=has_assignee) == destination


@pytest.mark.parametrize("state,trigger,has_assignee,_", REFUSED)
def test_every_disallowed_trigger_is_refused_and_lists_the_allowed_ones(state, trigger, has_assignee, _):
    with pytest.raises(TriggerNotAllowed) as refused:
        next_state(state, trigger, has_assignee=has_assignee)
    assert refused.value.allowed == allowed_triggers(state)
    assert f"'{trigger}' is not allowed in state '{state}'" in str(refused.value)
    for allowed in allowed_triggers(state):
        assert allowed in str(refused.value)


def test_the_table_covers_both_outcomes():
    assert len(ALLOWED) > 40 and len(REFUSED) > 40


def test_an_unknown_trigger_is_refused_like_a_disallowed_one():
    with pytest.raises(TriggerNotAllowed, match="allowed here: reopen, note"):
        next_state("closed", "teleport")


def test_reopened_complaint_returns_to_its_assignee_or_to_triage():
    assert next_state("closed", "reopen", has_assignee=True) == "in_progress"
    assert next_state("closed", "reopen", has_assignee=False) == "triaged"


def test_answer_at_first_contact_closes_in_one_step():
    assert next_state("received", "answer_from_manual") == "closed"


def test_closed_and_cancelled_complaints_cannot_be_worked():
    for state in ("closed", "cancelled"):
        assert not {"resolve", "assign", "start", "route"} & set(allowed_triggers(state))


def test_machine_is_shared_not_built_per_complaint():
    from states import machine

    before = len(machine._MACHINE.models)
    for _ in range(100):
        next_state("in_progress", "resolve")
    assert len(machine._MACHINE.models) == before


def test_diagram_shows_every_transition_of_the_definition():
    diagram = mermaid()
    assert "stateDiagram-v2" in diagram
    for state in STATES:
        assert f'state "{state}" as {state}' in diagram
    for transition in TRANSITIONS:
        if transition["dest"] is None:
            continue
        sources = transition["source"] if isinstance(transition["source"], list) else [transition["source"]]
        for source in sources:
            arrow = f"{source} --> {transition['dest']}:"
            lines = [line for line in diagram.splitlines() if line.strip().startswith(arrow)]
            assert lines and transition["trigger"] in lines[0], (source, transition)
