"""The lifecycle actions on a complaint, in one table both faces are built from.

Each row says which machine trigger it fires, which use case of
`workflow.services.lifecycle` it calls, what it asks for, and how the command
line (command name and help) and the terminal app (key and label) offer it.
The command line generates its commands from the rows with a command; the
terminal app offers the rows with a key when the machine allows the trigger.
The use cases are named, not imported, so a command pays for them only when it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workflow.faces.seat import Seat
    from workflow.services.lifecycle import Outcome


@dataclass(frozen=True)
class Ask:
    """One value an action asks for, and how each face asks for it."""

    name: str  # the form field and the command's parameter
    label: str  # the terminal app's label
    flags: tuple[str, ...]  # the command line's option
    help: str  # the option's help
    required: bool = True  # the use case refuses the action without it; the form asks until it is given
    keyword: str | None = None  # the use case takes it by this keyword; by position when None
    choices: Callable[[Mapping[str, Any]], Sequence[str]] | None = None  # the form's list, from a seat's about()
    typed_label: str | None = None  # the form's label when there is nothing to choose from
    preset: str | None = None  # the complaint's field the form's choice starts at
    option_required: bool = False  # the command line itself refuses to run without it


@dataclass(frozen=True)
class LifecycleAction:
    """One thing done to a complaint through a lifecycle use case, as both faces offer it."""

    trigger: str  # the machine's trigger, as a complaint's `allowed_actions` names it
    service: str  # the use case's name in workflow.services.lifecycle
    asks: tuple[Ask, ...] = ()
    command: str | None = None  # the command-line name; None: not a command of its own
    help: str = ""
    key: str | None = None  # the terminal app's key; None: not offered there
    label: str = ""
    permission: str | None = None  # offered only to roles the permissions table allows; None: to anyone


def _text(label: str, *, required: bool = True, keyword: str | None = None, help: str = "The text (required).") -> Ask:
    """The free text of an action: `--message`/`-m` on the command line, one line of the form."""
    return Ask("text", label, ("--message", "-m"), help, required, keyword)


def _owners(about: Mapping[str, Any]) -> Sequence[str]:
    """The configured owners to choose from; none where any owner may be typed."""
    return [] if about["owners_free_text"] else about["owners"]


def _severities(about: Mapping[str, Any]) -> Sequence[str]:
    return about["severities"]


def _pause_reasons(about: Mapping[str, Any]) -> Sequence[str]:
    return about["pause_reasons"]


def _cancel_reasons(about: Mapping[str, Any]) -> Sequence[str]:
    return about["cancel_reasons"]


# Filing (`redress new`) and answering from the manual (`redress answer`, the terminal app's `m`) are written out
# in each face: filing is a form of its own before any complaint exists, and answering picks from a search.
ACTIONS: tuple[LifecycleAction, ...] = (
    LifecycleAction("triage", "triage", (), "triage",
                    "Confirm category and severity; the complaint joins the open list.", "t", "Triage"),
    LifecycleAction("assign", "assign", (), "take", "Assign the complaint to yourself.", "a", "Take it"),
    LifecycleAction("assign", "assign", (
        Ask("to", "To", ("--to",), "The user to assign to.", option_required=True),
        _text("Why", required=False, keyword="note", help="Why (optional)."),
    ), "assign", "Assign or reassign the complaint to someone (senior agent or above)."),
    LifecycleAction("start", "start", (
        _text("Note", required=False, keyword="note",
              help="Why, when the complaint is assigned to someone else (senior agent or above); optional on "
                   "your own."),
    ), "start", "Start working on an assigned complaint.", "s", "Start work"),
    LifecycleAction("respond", "respond", (_text("What the customer was told"),), "respond",
                    "Record what the customer was told.", "r", "Respond"),
    LifecycleAction("wait_for_customer", "wait_for_customer", (
        _text("What we wait for"),
        Ask("reason", "Why the clock stops", ("--reason",), "Why the clock stops while we wait.",
            keyword="reason", choices=_pause_reasons, typed_label="Why the clock stops (a word)"),
    ), "wait", "Wait for the customer (say what for, and why); the clock stops, at most for the policy's longest "
               "pause.", "w", "Wait for customer"),
    LifecycleAction("customer_replied", "customer_replied", (_text("What they sent", required=False),), "replied",
                    "The customer came back; work resumes.", "c", "Customer replied"),
    LifecycleAction("route", "route", (
        Ask("owner", "Owner", ("--owner",), "Responsible department or person (required).", choices=_owners,
            typed_label="Owner (department or person)"),
        _text("What they should look at", required=False),
    ), "route", "Hand the complaint to a responsible owner to investigate.", "o", "Route to owner"),
    LifecycleAction("owner_feedback", "owner_feedback", (_text("What the owner found or decided"),), "feedback",
                    "Record the owner's feedback; the complaint comes back to the agent.", "f", "Owner's feedback"),
    LifecycleAction("resolve", "resolve", (_text("What was done for the customer"),), "resolve",
                    "Record what was done for the customer.", "v", "Resolve"),
    LifecycleAction("close", "close", (_text("Note", required=False),), "close",
                    "Close the complaint number.", "x", "Close"),
    LifecycleAction("reopen", "reopen", (_text("Why it is reopened"),), "reopen",
                    "Reopen a resolved or closed complaint (say why).", "u", "Reopen"),
    LifecycleAction("cancel", "cancel", (
        Ask("reason", "Reason", ("--reason",), "duplicate, spam or withdrawn.", choices=_cancel_reasons,
            option_required=True),
        Ask("duplicate_of", "Duplicate of (complaint number)", ("--duplicate-of",), "The original, for a duplicate.",
            required=False, keyword="duplicate_of"),
        _text("Note", required=False, keyword="note"),
    ), "cancel", "Cancel a duplicate, spam or withdrawn complaint.", "d", "Cancel (duplicate, spam, withdrawn)"),
    LifecycleAction("change_severity", "change_severity", (
        Ask("severity", "Severity", ("--to",), "The new severity.", choices=_severities, preset="severity",
            option_required=True),
        Ask("text", "Reason", ("--reason",), "Why it changes (required)."),
    ), "severity", "Change the severity, with a reason. Lowering needs a senior agent or above.", "e",
        "Change severity"),
    LifecycleAction("note", "add_note", (_text("Note"),), "note", "Add an internal note to the timeline.", "n",
                    "Add a note"),
)


def call(action: LifecycleAction, seat: Seat, ref: str | int, values: Mapping[str, Any],
         expected_version: int | None) -> Outcome:
    """Run the action's use case from `seat` with the values asked for, by position or keyword as it takes them."""
    positional = [values[ask.name] for ask in action.asks if ask.keyword is None]
    keywords = {ask.keyword: values[ask.name] for ask in action.asks if ask.keyword is not None}
    outcome: Outcome = seat.call(action.service, ref, *positional, **keywords, expected_version=expected_version)
    return outcome
