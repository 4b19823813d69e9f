"""The compensation step lifecycle: one small `transitions` machine shared by every step.

A step is planned, or waits for approval when its money is above the
requester's limit; an approved or planned step is carried out (done) or
cancelled with a reason. Pure: no database, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, get_args

from transitions import Machine

PLANNED = "planned"
AWAITING_APPROVAL = "awaiting_approval"
APPROVED = "approved"
DONE = "done"
CANCELLED = "cancelled"

STEP_STATES = [PLANNED, AWAITING_APPROVAL, APPROVED, DONE, CANCELLED]
STEP_FINAL_STATES = frozenset({DONE, CANCELLED})
STEP_OPEN_STATES = [s for s in STEP_STATES if s not in STEP_FINAL_STATES]

STEP_TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "approve", "source": AWAITING_APPROVAL, "dest": APPROVED},
    {"trigger": "reject", "source": AWAITING_APPROVAL, "dest": CANCELLED},
    {"trigger": "complete", "source": [PLANNED, APPROVED], "dest": DONE},
    {"trigger": "cancel", "source": STEP_OPEN_STATES, "dest": CANCELLED},
]
STEP_TRIGGERS = list(dict.fromkeys(t["trigger"] for t in STEP_TRANSITIONS))

# The kinds of step, in the order a plan lists them. Money kinds carry an amount.
StepKind = Literal["apology_letter", "replacement", "refund", "voucher", "gift", "follow_up_call"]
STEP_KINDS: tuple[str, ...] = get_args(StepKind)
MONEY_KINDS = frozenset({"refund", "voucher", "gift"})
# Steps the scheduler carries out itself at their due time; the others are
# deadlines a person must meet, and escalate when missed.
AUTOMATIC_KINDS = frozenset({"apology_letter"})


class StepTransitionRefused(Exception):
    """A step trigger its current state does not allow."""

    def __init__(self, state: str, trigger: str) -> None:
        allowed = step_triggers(state)
        super().__init__(
            f"'{trigger}' is not allowed for a step that is {state}; allowed: {', '.join(allowed) or 'none'}"
        )


@dataclass(eq=False)
class _Step:
    state: str


_MACHINE = Machine(model=None, states=STEP_STATES, transitions=STEP_TRANSITIONS, initial=PLANNED,
                   auto_transitions=False, ignore_invalid_triggers=False)


@cache
def step_triggers(state: str) -> list[str]:
    """Triggers allowed for a step in `state`."""
    defined = set(_MACHINE.get_triggers(state))
    return [t for t in STEP_TRIGGERS if t in defined]


@cache
def next_step_state(state: str, trigger: str) -> str:
    """Where a step in `state` goes by `trigger`; raises StepTransitionRefused when not allowed."""
    if state not in STEP_STATES:
        raise ValueError(f"unknown step state '{state}'; states: {', '.join(STEP_STATES)}")
    if trigger not in step_triggers(state):
        raise StepTransitionRefused(state, trigger)
    model = _Step(state=PLANNED)
    _MACHINE.add_model(model, initial=state)
    try:
        getattr(model, trigger)()
        return model.state
    finally:
        _MACHINE.remove_model(model)
