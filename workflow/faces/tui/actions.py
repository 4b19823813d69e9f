"""The actions the terminal app offers on a complaint: a key, a label, the form to ask, the service to call.

Which actions a complaint offers is the machine's answer (`allowed_actions`),
plus compensation and supervisor actions the permissions table allows the
user; whether one succeeds is the services' answer. Nothing here decides a rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workflow.bootstrap import Redress
from workflow.domain.permissions import allows
from workflow.domain.vocabulary import ROLES
from workflow.faces.tui.forms import Field, choose, text
from workflow.services import compensation as comp
from workflow.services import lifecycle as svc
from workflow.services import supervision as sup
from workflow.services.people import list_users

Run = Callable[[Redress, str, str, int, dict[str, str]], Any]


@dataclass(frozen=True)
class Action:
    """One thing a user can do to an open complaint view."""

    key: str
    label: str
    fields: Callable[[Redress, dict[str, Any]], list[Field]]
    run: Run
    permission: str | None = None  # the action's name in the permissions table, when it has one


def _none(app: Redress, detail: dict[str, Any]) -> list[Field]:
    return []


def _note(label: str, *, required: bool = True) -> Callable[[Redress, dict[str, Any]], list[Field]]:
    return lambda app, detail: [text("text", label, required=required)]


def _staff(app: Redress) -> list[str]:
    return [u.name for u in list_users(app)]


# Lifecycle triggers of the complaint machine, by trigger name.
LIFECYCLE: dict[str, Action] = {
    "triage": Action("t", "Triage", _none, lambda a, u, n, v, f: svc.triage(a, u, n, expected_version=v)),
    "assign": Action("a", "Take it", _none, lambda a, u, n, v, f: svc.assign(a, u, n, expected_version=v)),
    "start": Action("s", "Start work", _none, lambda a, u, n, v, f: svc.start(a, u, n, expected_version=v)),
    "respond": Action("r", "Respond", _note("What the customer was told"),
                      lambda a, u, n, v, f: svc.respond(a, u, n, f["text"], expected_version=v)),
    "wait_for_customer": Action("w", "Wait for customer", _note("What we wait for"),
                                lambda a, u, n, v, f: svc.wait_for_customer(a, u, n, f["text"], expected_version=v)),
    "customer_replied": Action("c", "Customer replied", _note("What they sent", required=False),
                               lambda a, u, n, v, f: svc.customer_replied(a, u, n, f["text"], expected_version=v)),
    "route": Action(
        "o", "Route to owner",
        lambda app, d: [choose("Owner", app.config.owners, name="owner") if app.config.owners
                        else text("owner", "Owner (department or person)"),
                        text("text", "What they should look at", required=False)],
        lambda a, u, n, v, f: svc.route(a, u, n, f["owner"], f["text"], expected_version=v)),
    "owner_feedback": Action("f", "Owner's feedback", _note("What the owner found or decided"),
                             lambda a, u, n, v, f: svc.owner_feedback(a, u, n, f["text"], expected_version=v)),
    "resolve": Action("v", "Resolve", _note("What was done for the customer"),
                      lambda a, u, n, v, f: svc.resolve(a, u, n, f["text"], expected_version=v)),
    "close": Action("x", "Close", _note("Note", required=False),
                    lambda a, u, n, v, f: svc.close(a, u, n, f["text"], expected_version=v)),
    "reopen": Action("u", "Reopen", _note("Why it is reopened"),
                     lambda a, u, n, v, f: svc.reopen(a, u, n, f["text"], expected_version=v)),
    "cancel": Action(
        "d", "Cancel (duplicate, spam, withdrawn)",
        lambda app, d: [choose("Reason", list(svc.CANCEL_REASONS), name="reason"),
                        text("duplicate_of", "Duplicate of (complaint number)", required=False),
                        text("text", "Note", required=False)],
        lambda a, u, n, v, f: svc.cancel(a, u, n, f["reason"], duplicate_of=f["duplicate_of"] or None,
                                         note=f["text"], expected_version=v)),
    "change_severity": Action(
        "e", "Change severity",
        lambda app, d: [choose("Severity", app.config.severity_names, d["severity"], name="severity"),
                        text("text", "Reason")],
        lambda a, u, n, v, f: svc.change_severity(a, u, n, f["severity"], f["text"], expected_version=v)),
    "note": Action("n", "Add a note", _note("Note"),
                   lambda a, u, n, v, f: svc.add_note(a, u, n, f["text"], expected_version=v)),
}

# Offered on every open complaint view, to those of the role.
COMPENSATION: list[Action] = [
    Action("p", "Add compensation step",
           lambda app, d: [choose("Kind", list(comp.STEP_KINDS), name="kind"),
                           text("amount", "Amount (refund, voucher, gift)", required=False, placeholder="e.g. 50"),
                           text("text", "Reason")],
           lambda a, u, n, v, f: comp.add_step(a, u, n, f["kind"], amount=f["amount"] or None, reason=f["text"]),
           "add_step"),
    Action("y", "Mark a step done",
           lambda app, d: [_step_field(d, ("planned", "approved")), text("text", "Note", required=False)],
           lambda a, u, n, v, f: comp.complete_step(a, u, int(f["step"]), f["text"]), "complete_step"),
    Action("z", "Remove a step",
           lambda app, d: [_step_field(d, ("planned", "approved", "awaiting_approval")), text("text", "Reason")],
           lambda a, u, n, v, f: comp.remove_step(a, u, int(f["step"]), f["text"]), "remove_step"),
]

SUPERVISION: list[Action] = [
    Action("A", "Acknowledge escalation", _note("Reason"),
           lambda a, u, n, v, f: sup.acknowledge(a, u, n, f["text"], expected_version=v),
           "acknowledge_escalation"),
    Action("E", "Extend deadlines",
           lambda app, d: [choose("By", ["30m", "1h", "2h", "4h", "9h"], name="by"), text("text", "Reason")],
           lambda a, u, n, v, f: sup.extend_deadline(a, u, n, f["by"], f["text"], expected_version=v),
           "extend_deadline"),
    Action("L", "De-escalate",
           lambda app, d: [choose("To level", list(ROLES[:-1]), name="level"),
                           text("text", "Reason")],
           lambda a, u, n, v, f: sup.lower_escalation(a, u, n, f["level"], f["text"], expected_version=v),
           "lower_escalation"),
    Action("G", "Reassign",
           lambda app, d: [choose("To", _staff(app), name="to"), text("text", "Reason")],
           lambda a, u, n, v, f: svc.assign(a, u, n, f["to"], note=f["text"], expected_version=v),
           "assign_others"),
    Action("T", "Take over",
           _note("Reason"),
           lambda a, u, n, v, f: svc.assign(a, u, n, u, note=f["text"], expected_version=v),
           "assign_others"),  # taking a complaint off its assignee is giving it to someone other than them
]


def _step_field(detail: dict[str, Any], states: tuple[str, ...]) -> Field:
    steps = [s for s in detail.get("steps", []) if s["state"] in states]
    return Field("step", "Step", [(f"{s['id']}: {s['kind']} {s['amount'] or ''} ({s['state']})".strip(), str(s["id"]))
                                  for s in steps])


def offered(detail: dict[str, Any], role: str) -> list[Action]:
    """The actions this complaint view offers this user: the machine's, then compensation and supervision.

    An action with a permission is offered only to a role the permissions table allows.
    """
    actions = [LIFECYCLE[t] for t in detail["allowed_actions"] if t in LIFECYCLE]
    if comp.accepts_steps(detail["state"]):
        actions += COMPENSATION
    actions += SUPERVISION
    return [a for a in actions if a.permission is None or allows(role, a.permission)]
