"""The actions the terminal app offers on a complaint: a key, a label, the form to ask, the operation to call.

The lifecycle actions are the rows of the table shared with the command line
(workflow/faces/actions.py). Every action is called through the app's seat, in process or on the server. Which
actions a complaint offers is the machine's answer (`allowed_actions`), plus compensation and supervisor actions
the permissions table allows the user; whether one succeeds is the services' answer. Nothing here decides a rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from workflow.domain.permissions import allows
from workflow.domain.vocabulary import ROLES
from workflow.faces.actions import ACTIONS, Ask, LifecycleAction, call
from workflow.faces.seat import Seat
from workflow.faces.tui.forms import Field, choose, text
from workflow.services.compensation import accepts_steps

Run = Callable[[Seat, str, int, dict[str, str]], Any]  # seat, complaint number, version shown, the form's values


@dataclass(frozen=True)
class Action:
    """One thing a user can do to an open complaint view."""

    key: str
    label: str
    fields: Callable[[Seat, dict[str, Any]], list[Field]]
    run: Run
    permission: str | None = None  # the action's name in the permissions table, when it has one


def _note(label: str, *, required: bool = True) -> Callable[[Seat, dict[str, Any]], list[Field]]:
    return lambda seat, detail: [text("text", label, required=required)]


def _staff(seat: Seat) -> list[str]:
    return [u.name for u in seat.call("users")]


def _field(ask: Ask, about: Mapping[str, Any], detail: dict[str, Any]) -> Field:
    """The form's field for one value a lifecycle action asks for: a list when there is one, else a line of text."""
    choices = list(ask.choices(about)) if ask.choices else []
    if choices:
        preset = detail[ask.preset] if ask.preset else None
        return Field(ask.name, ask.label, [(c, c) for c in choices], required=ask.required, value=preset)
    return text(ask.name, ask.typed_label or ask.label, required=ask.required)


def _lifecycle(action: LifecycleAction) -> Action:
    """The terminal app's form of one row of the shared actions table."""
    return Action(action.key or "", action.label,
                  lambda seat, detail: [_field(ask, seat.about(), detail) for ask in action.asks],
                  lambda seat, n, v, f: call(action, seat, n, f, v), action.permission)


# Lifecycle triggers of the complaint machine, by trigger name: the rows of the shared table with a key.
LIFECYCLE: dict[str, Action] = {row.trigger: _lifecycle(row) for row in ACTIONS if row.key is not None}

# Offered on every open complaint view, to those of the role. Written out rather than in the shared lifecycle
# table: compensation steps are not machine triggers, and the supervisor's actions are offered in any state,
# reassigning and taking over asking for a reason the command line's `assign` leaves optional.
COMPENSATION: list[Action] = [
    Action("p", "Add compensation step",
           lambda seat, d: [choose("Kind", list(seat.about()["step_kinds"]), name="kind"),
                            text("amount", "Amount (refund, voucher, gift)", required=False, placeholder="e.g. 50"),
                            text("text", "Reason")],
           lambda seat, n, v, f: seat.call("add_step", n, f["kind"], amount=f["amount"] or None, reason=f["text"]),
           "add_step"),
    Action("y", "Mark a step done",
           lambda seat, d: [_step_field(d, ("planned", "approved")), text("text", "Note", required=False)],
           lambda seat, n, v, f: seat.call("complete_step", int(f["step"]), f["text"]), "complete_step"),
    Action("z", "Remove a step",
           lambda seat, d: [_step_field(d, ("planned", "approved", "awaiting_approval")), text("text", "Reason")],
           lambda seat, n, v, f: seat.call("remove_step", int(f["step"]), f["text"]), "remove_step"),
]

TAKE_OVER = Action("T", "Take over", _note("Reason"),
                   lambda seat, n, v, f: seat.call("assign", n, seat.user, note=f["text"], expected_version=v),
                   "assign_others")  # taking a complaint off its assignee is giving it to someone other than them

SUPERVISION: list[Action] = [
    Action("A", "Acknowledge escalation", _note("Reason"),
           lambda seat, n, v, f: seat.call("acknowledge", n, f["text"], expected_version=v),
           "acknowledge_escalation"),
    Action("E", "Extend deadlines",
           lambda seat, d: [choose("By", ["30m", "1h", "2h", "4h", "9h"], name="by"), text("text", "Reason")],
           lambda seat, n, v, f: seat.call("extend", n, f["by"], f["text"], expected_version=v),
           "extend_deadline"),
    Action("L", "De-escalate",
           lambda seat, d: [choose("To level", list(ROLES[:-1]), name="level"),
                            text("text", "Reason")],
           lambda seat, n, v, f: seat.call("lower", n, f["level"], f["text"], expected_version=v),
           "lower_escalation"),
    Action("G", "Reassign",
           lambda seat, d: [choose("To", _staff(seat), name="to"), text("text", "Reason")],
           lambda seat, n, v, f: seat.call("assign", n, f["to"], note=f["text"], expected_version=v),
           "assign_others"),
    TAKE_OVER,
]


def _step_field(detail: dict[str, Any], states: tuple[str, ...]) -> Field:
    steps = [s for s in detail.get("steps", []) if s["state"] in states]
    return Field("step", "Step", [(f"{s['id']}: {s['kind']} {s['amount'] or ''} ({s['state']})".strip(), str(s["id"]))
                                  for s in steps])


def offered(detail: dict[str, Any], role: str, user: str | None = None) -> list[Action]:
    """The actions this complaint view offers this user: the machine's, then compensation and supervision.

    An action with a permission is offered only to a role the permissions table allows. Taking a complaint
    already assigned to `user` (taking it, taking it over) would change nothing, so it is not offered to them.
    """
    actions = [LIFECYCLE[t] for t in detail["allowed_actions"] if t in LIFECYCLE]
    if accepts_steps(detail["state"]):
        actions += COMPENSATION
    actions += SUPERVISION
    taking = (LIFECYCLE["assign"], TAKE_OVER) if user is not None and detail.get("assignee") == user else ()
    return [a for a in actions if (a.permission is None or allows(role, a.permission)) and a not in taking]
