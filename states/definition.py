"""The complaint lifecycle as data: every state and every trigger, read like the diagram.

Severity and escalation level are columns beside the state, not states.
"""

from typing import Any

RECEIVED = "received"
TRIAGED = "triaged"
ASSIGNED = "assigned"
IN_PROGRESS = "in_progress"
WAITING_CUSTOMER = "waiting_customer"
ROUTED = "routed"
RESOLVED = "resolved"
CLOSED = "closed"
CANCELLED = "cancelled"

STATES = [
    RECEIVED,
    TRIAGED,
    ASSIGNED,
    IN_PROGRESS,
    WAITING_CUSTOMER,
    ROUTED,
    RESOLVED,
    CLOSED,
    CANCELLED,
]

INITIAL_STATE = RECEIVED
FINAL_STATES = frozenset({CLOSED, CANCELLED})
OPEN_STATES = [s for s in STATES if s not in FINAL_STATES]
# States in which the complaint is a live piece of work (not closed, cancelled or resolved).
ACTIVE_STATES = [s for s in OPEN_STATES if s != RESOLVED]

# Internal triggers (dest=None) record something without moving the complaint.
TRANSITIONS: list[dict] = [
    {"trigger": "triage", "source": RECEIVED, "dest": TRIAGED},
    {"trigger": "answer_from_manual", "source": [RECEIVED, TRIAGED], "dest": CLOSED},
    {"trigger": "assign", "source": [TRIAGED, ASSIGNED, IN_PROGRESS], "dest": ASSIGNED},
    {"trigger": "start", "source": ASSIGNED, "dest": IN_PROGRESS},
    {"trigger": "respond", "source": [TRIAGED, ASSIGNED, IN_PROGRESS, ROUTED], "dest": None},
    {"trigger": "wait_for_customer", "source": IN_PROGRESS, "dest": WAITING_CUSTOMER},
    {"trigger": "customer_replied", "source": WAITING_CUSTOMER, "dest": IN_PROGRESS},
    {"trigger": "route", "source": IN_PROGRESS, "dest": ROUTED},
    {"trigger": "owner_feedback", "source": ROUTED, "dest": IN_PROGRESS},
    {"trigger": "resolve", "source": IN_PROGRESS, "dest": RESOLVED},
    {"trigger": "close", "source": RESOLVED, "dest": CLOSED},
    # A reopened complaint goes back to whoever worked it; one closed at first
    # contact never had an owner, so it goes back to triage.
    {"trigger": "reopen", "source": [RESOLVED, CLOSED], "dest": IN_PROGRESS, "conditions": "has_assignee"},
    {"trigger": "reopen", "source": [RESOLVED, CLOSED], "dest": TRIAGED, "unless": "has_assignee"},
    {"trigger": "cancel", "source": OPEN_STATES, "dest": CANCELLED},
    {"trigger": "change_severity", "source": OPEN_STATES, "dest": None},
    {"trigger": "note", "source": STATES, "dest": None},
]

TRIGGERS = list(dict.fromkeys(t["trigger"] for t in TRANSITIONS))

# What every Machine built from this definition is given: no hidden `to_<state>`
# triggers that would bypass the rules.
MACHINE_DEFINITION: dict[str, Any] = {
    "states": STATES,
    "transitions": TRANSITIONS,
    "initial": INITIAL_STATE,
    "auto_transitions": False,
}
