"""The complaint lifecycle as data: every state, every trigger and what each trigger causes, read like the diagram.

Severity and escalation level are columns beside the state, not states. States, triggers and events are
`StrEnum`s: each member is its own string, so stored values, JSON and the CLI's words stay the same.
"""

from enum import StrEnum
from typing import Any


class State(StrEnum):
    RECEIVED = "received"
    TRIAGED = "triaged"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    WAITING_CUSTOMER = "waiting_customer"
    ROUTED = "routed"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Trigger(StrEnum):
    TRIAGE = "triage"
    ANSWER_FROM_MANUAL = "answer_from_manual"
    ASSIGN = "assign"
    START = "start"
    RESPOND = "respond"
    WAIT_FOR_CUSTOMER = "wait_for_customer"
    CUSTOMER_REPLIED = "customer_replied"
    PAUSE_LIMIT_REACHED = "pause_limit_reached"  # the scheduler's: the policy's longest wait on the customer ran out
    ROUTE = "route"
    OWNER_FEEDBACK = "owner_feedback"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    CANCEL = "cancel"
    CHANGE_SEVERITY = "change_severity"
    NOTE = "note"
    HAND_OVER = "hand_over"
    UNASSIGN = "unassign"


class Event(StrEnum):
    """What a transition causes, in the order its effects run when one transition causes several."""

    FIRST_RESPONSE_GIVEN = "first_response_given"  # the customer's first answer, in any form: the clock stops
    FIRST_REPLY_WRITTEN = "first_reply_written"  # that first answer was the agent's own words
    SEVERITY_CHANGED = "severity_changed"
    PAUSED = "paused"  # entered a state in which the SLA clock does not run (config: sla.pause_states)
    RESUMED = "resumed"  # left such a state for one in which it runs
    REOPENED = "reopened"
    RESOLVED = "resolved"
    ANSWERED_FROM_MANUAL = "answered_from_manual"
    CLOSED = "closed"
    CANCELLED = "cancelled"


# The plain names the rest of the code reads; each is the enum member itself.
RECEIVED = State.RECEIVED
TRIAGED = State.TRIAGED
ASSIGNED = State.ASSIGNED
IN_PROGRESS = State.IN_PROGRESS
WAITING_CUSTOMER = State.WAITING_CUSTOMER
ROUTED = State.ROUTED
RESOLVED = State.RESOLVED
CLOSED = State.CLOSED
CANCELLED = State.CANCELLED

STATES = list(State)

INITIAL_STATE = RECEIVED
FINAL_STATES = frozenset({CLOSED, CANCELLED})
OPEN_STATES = [s for s in STATES if s not in FINAL_STATES]
# States in which the complaint is a live piece of work (not closed, cancelled or resolved).
ACTIVE_STATES = [s for s in OPEN_STATES if s != RESOLVED]
# States in which somebody holds the work, and can hand it over when they leave.
HELD_STATES = [ASSIGNED, IN_PROGRESS, WAITING_CUSTOMER, ROUTED, RESOLVED]

# Internal triggers (dest=None) record something without moving the complaint.
TRANSITIONS: list[dict] = [
    {"trigger": Trigger.TRIAGE, "source": RECEIVED, "dest": TRIAGED},
    {"trigger": Trigger.ANSWER_FROM_MANUAL, "source": [RECEIVED, TRIAGED], "dest": CLOSED},
    {"trigger": Trigger.ASSIGN, "source": [TRIAGED, ASSIGNED, IN_PROGRESS], "dest": ASSIGNED},
    {"trigger": Trigger.START, "source": ASSIGNED, "dest": IN_PROGRESS},
    {"trigger": Trigger.RESPOND, "source": [TRIAGED, ASSIGNED, IN_PROGRESS, ROUTED], "dest": None},
    {"trigger": Trigger.WAIT_FOR_CUSTOMER, "source": IN_PROGRESS, "dest": WAITING_CUSTOMER},
    {"trigger": Trigger.CUSTOMER_REPLIED, "source": WAITING_CUSTOMER, "dest": IN_PROGRESS},
    {"trigger": Trigger.PAUSE_LIMIT_REACHED, "source": WAITING_CUSTOMER, "dest": IN_PROGRESS},
    {"trigger": Trigger.ROUTE, "source": IN_PROGRESS, "dest": ROUTED},
    {"trigger": Trigger.OWNER_FEEDBACK, "source": ROUTED, "dest": IN_PROGRESS},
    {"trigger": Trigger.RESOLVE, "source": IN_PROGRESS, "dest": RESOLVED},
    {"trigger": Trigger.CLOSE, "source": RESOLVED, "dest": CLOSED},
    # A reopened complaint goes back to whoever worked it; one closed at first
    # contact never had an owner, so it goes back to triage.
    {"trigger": Trigger.REOPEN, "source": [RESOLVED, CLOSED], "dest": IN_PROGRESS, "conditions": "has_assignee"},
    {"trigger": Trigger.REOPEN, "source": [RESOLVED, CLOSED], "dest": TRIAGED, "unless": "has_assignee"},
    {"trigger": Trigger.CANCEL, "source": OPEN_STATES, "dest": CANCELLED},
    {"trigger": Trigger.CHANGE_SEVERITY, "source": OPEN_STATES, "dest": None},
    {"trigger": Trigger.NOTE, "source": STATES, "dest": None},
    # A leaver's work changes hands where it stands. Back to the team queue, work nobody has started again
    # waits for triage, so anyone can take it; work parked on the customer, an owner or the close keeps its state.
    {"trigger": Trigger.HAND_OVER, "source": HELD_STATES, "dest": None},
    {"trigger": Trigger.UNASSIGN, "source": [ASSIGNED, IN_PROGRESS], "dest": TRIAGED},
    {"trigger": Trigger.UNASSIGN, "source": [WAITING_CUSTOMER, ROUTED, RESOLVED], "dest": None},
]

TRIGGERS = list(dict.fromkeys(t["trigger"] for t in TRANSITIONS))

# What each trigger causes, besides its move. The first-response events count only while no first response
# was given; pausing and resuming follow from the states (see states/events.py).
CAUSES: dict[Trigger, tuple[Event, ...]] = {
    Trigger.TRIAGE: (),
    Trigger.ANSWER_FROM_MANUAL: (Event.FIRST_RESPONSE_GIVEN, Event.ANSWERED_FROM_MANUAL, Event.CLOSED),
    Trigger.ASSIGN: (),
    Trigger.START: (),
    Trigger.RESPOND: (Event.FIRST_RESPONSE_GIVEN, Event.FIRST_REPLY_WRITTEN),
    Trigger.WAIT_FOR_CUSTOMER: (),
    Trigger.CUSTOMER_REPLIED: (),
    Trigger.PAUSE_LIMIT_REACHED: (),
    Trigger.ROUTE: (),
    Trigger.OWNER_FEEDBACK: (),
    Trigger.RESOLVE: (Event.FIRST_RESPONSE_GIVEN, Event.RESOLVED),
    Trigger.CLOSE: (Event.CLOSED,),
    Trigger.REOPEN: (Event.REOPENED,),
    Trigger.CANCEL: (Event.CANCELLED,),
    Trigger.CHANGE_SEVERITY: (Event.SEVERITY_CHANGED,),
    Trigger.NOTE: (),
    Trigger.HAND_OVER: (),
    Trigger.UNASSIGN: (),
}
if set(CAUSES) != set(Trigger) or set(TRIGGERS) != set(Trigger):
    raise RuntimeError(f"every trigger needs a transition and an entry in CAUSES: {sorted(set(Trigger) ^ set(CAUSES))}")


def _plain(value: Any) -> Any:
    """Enum members as plain strings: `transitions` names an Enum state by its member name, not its value."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value.value if isinstance(value, StrEnum) else value


# What every Machine built from this definition is given: no hidden `to_<state>`
# triggers that would bypass the rules.
MACHINE_DEFINITION: dict[str, Any] = {
    "states": _plain(STATES),
    "transitions": [{key: _plain(value) for key, value in t.items()} for t in TRANSITIONS],
    "initial": INITIAL_STATE.value,
    "auto_transitions": False,
}
