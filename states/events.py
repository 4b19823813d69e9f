"""The machine's whole answer to a trigger: the next state and the domain events the transition causes.

Pure: the caller hands over the few facts the answer depends on (who holds the complaint, whether the
customer has had a first response, which states pause the SLA clock). The service layer runs each event's
effects (workflow/services/effects.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from states.definition import ACTIVE_STATES, CAUSES, Event, State, Trigger
from states.machine import next_state

# Events that happen once in a complaint's life: dropped when the customer already had a first response.
FIRST_ONLY = frozenset({Event.FIRST_RESPONSE_GIVEN, Event.FIRST_REPLY_WRITTEN})


@dataclass(frozen=True)
class Step:
    """Where a trigger takes the complaint, and what that causes, in the order the effects run."""

    to_state: State
    events: tuple[Event, ...]


def step(
    state: str, trigger: str, *, has_assignee: bool = False, first_response_given: bool = False,
    pause_states: frozenset[str] = frozenset(),
) -> Step:
    """The next state and the events; raises TriggerNotAllowed like `next_state` for a refused trigger."""
    to_state = next_state(state, trigger, has_assignee=has_assignee)
    return _events(State(state), Trigger(trigger), to_state, first_response_given, pause_states)


@cache
def _events(state: State, trigger: Trigger, to_state: State, first_response_given: bool,
            pause_states: frozenset[str]) -> Step:
    events = {e for e in CAUSES[trigger] if not (first_response_given and e in FIRST_ONLY)}
    # The clock pauses and resumes only between live states: resolving, closing and cancelling stop it,
    # reopening starts it afresh.
    if state in ACTIVE_STATES and to_state in ACTIVE_STATES:
        if to_state in pause_states and state not in pause_states:
            events.add(Event.PAUSED)
        elif state in pause_states and to_state not in pause_states:
            events.add(Event.RESUMED)
    return Step(to_state, tuple(e for e in Event if e in events))
