"""One shared `transitions` machine for every complaint; a plain model is bound per call.

Pure: no database, no clock, no I/O. The machine decides what may happen next;
the service layer writes what happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from transitions import Machine

from states.definition import INITIAL_STATE, MACHINE_DEFINITION, STATES, TRIGGERS, State, Trigger


class TriggerNotAllowed(Exception):
    """A trigger that the complaint's current state does not allow."""

    def __init__(self, state: str, trigger: str, allowed: list[Trigger]) -> None:
        self.state = state
        self.trigger = trigger
        self.allowed = allowed
        allowed_text = ", ".join(allowed) if allowed else "none"
        super().__init__(
            f"'{trigger}' is not allowed in state '{state}'; allowed here: {allowed_text}"
        )


@dataclass(eq=False)
class _Bound:
    """The few facts the guards look at, bound to the machine for one call."""

    state: str
    has_assignee: bool = False


_MACHINE = Machine(model=None, ignore_invalid_triggers=False, **MACHINE_DEFINITION)


@cache
def allowed_triggers(state: str) -> list[Trigger]:
    """Triggers the machine defines for `state`, in definition order."""
    if state not in STATES:
        raise ValueError(f"unknown state '{state}'; states are: {', '.join(STATES)}")
    defined = set(_MACHINE.get_triggers(str(state)))  # plain text: `transitions` reads an Enum by its name
    return [t for t in TRIGGERS if t in defined]


def next_state(state: str, trigger: str, *, has_assignee: bool = False) -> State:
    """The state a complaint in `state` reaches by `trigger` (same state for internal triggers)."""
    allowed = allowed_triggers(state)
    if trigger not in allowed:
        raise TriggerNotAllowed(state, trigger, allowed)
    return _fire(str(state), str(trigger), has_assignee)


# The machine has no callbacks and its guards read only `has_assignee`, so its
# answer for a (state, trigger, has_assignee) triple never changes: ask it once.
@cache
def _fire(state: str, trigger: str, has_assignee: bool) -> State:
    model = _Bound(state=INITIAL_STATE, has_assignee=has_assignee)
    _MACHINE.add_model(model, initial=state)
    try:
        getattr(model, trigger)()
        return State(model.state)
    finally:
        _MACHINE.remove_model(model)
