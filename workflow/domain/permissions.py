"""Who may do what: each action's least role, who works someone else's complaint, and who grants how much money.

One table for the services, the CLI and the terminal app, so a rule changes in one place and every face
refuses with the same one-line message. Pure: the acting user is anything with a name and a role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from workflow.domain.errors import PermissionDenied
from workflow.domain.vocabulary import ROLES


class Actor(Protocol):
    """The acting user as the services read them (a users row)."""

    @property
    def name(self) -> str: ...

    @property
    def role(self) -> str: ...


@dataclass(frozen=True)
class Permission:
    least_role: str
    wording: str  # completes "<user> is a <role>; <wording> needs <least role> or above"


PERMISSIONS: dict[str, Permission] = {
    # Lifecycle: any agent works a complaint; these parts of a trigger need more.
    "lower_severity": Permission("senior", "lowering a severity"),
    "assign_others": Permission("senior", "assigning to someone else"),
    "cancel_as_spam": Permission("senior", "cancelling as spam"),
    "act_on_others_complaint": Permission("senior", "acting on a complaint assigned to someone else"),
    # Supervision of escalations.
    "escalation_board": Permission("supervisor", "the escalation board"),
    "acknowledge_escalation": Permission("supervisor", "acknowledge an escalation"),
    "extend_deadline": Permission("supervisor", "extend a deadline"),
    "lower_escalation": Permission("supervisor", "lower an escalation level"),
    # Compensation: anyone plans and carries out steps; deciding on one, and removing an approved one, follow the
    # approval rule below.
    "add_step": Permission("agent", "adding a compensation step"),
    "complete_step": Permission("agent", "completing a compensation step"),
    "remove_step": Permission("agent", "removing a compensation step"),
    "approve_step": Permission("agent", "approving a compensation step"),
    "reject_step": Permission("agent", "rejecting a compensation step"),
    "record_survey": Permission("agent", "recording a survey answer"),
    # What the engine could not do on its own.
    "retry_messages": Permission("supervisor", "retrying messages"),
    "retry_deadline": Permission("supervisor", "retrying a deadline"),
    "retry_mail": Permission("supervisor", "taking a failed message in again"),
    # Staff.
    "add_user": Permission("manager", "adding users"),
    "change_role": Permission("manager", "changing a role"),
    "edit_user": Permission("manager", "editing a user"),
    "deactivate_user": Permission("manager", "deactivating a user"),
    "reactivate_user": Permission("manager", "reactivating a user"),
    # Customers.
    "edit_customer": Permission("agent", "editing a customer"),
    # Bringing complaints in from another system: many at once, with their customers and history.
    "import_complaints": Permission("supervisor", "importing complaints"),
    # What each face offers, checked on every call (workflow/faces/operations.py names one per operation).
    "file_complaint": Permission("agent", "filing a complaint"),
    "work_complaint": Permission("agent", "working a complaint"),
    "read_complaints": Permission("agent", "reading complaints"),
    "read_customers": Permission("agent", "reading customers"),
    "search_manual": Permission("agent", "the policy manual"),
    "read_outbox": Permission("agent", "the outbox"),
    "read_mail": Permission("agent", "the mail taken in"),
    "take_inbound": Permission("agent", "posting customers' messages in"),
    "read_staff": Permission("agent", "the staff list"),
    "read_failed_deadlines": Permission("supervisor", "the failed deadlines"),
    "survey_scores": Permission("supervisor", "the survey scores"),
    "pause_report": Permission("supervisor", "paused time per agent"),
    "replan_clocks": Permission("manager", "re-planning the clocks"),
    "what_if": Permission("manager", "trying a policy on past complaints"),
    "read_reports": Permission("supervisor", "reading reports"),
    # Signing in.
    "own_account": Permission("agent", "one's own password and tokens"),
    "reset_password": Permission("manager", "resetting someone's password"),
    "revoke_sign_ins": Permission("manager", "revoking someone else's sign-ins"),
    "manage_api_keys": Permission("manager", "API keys and others' tokens"),
}


# What only a system with an API key does, whatever a person's role: a gateway posting a customer's own words,
# which the timeline shows as the customer's. A person records what a customer said as a note or a reply.
SYSTEMS_ONLY: frozenset[str] = frozenset({"take_inbound"})


def person_refusal(name: str, action: str) -> str:
    """Why a member of staff may not do what only a system does."""
    return f"{name} is a member of staff; {PERMISSIONS[action].wording} is for a system with an API key"


def rank(role: str) -> int:
    """A role's place in the ladder: agent 0 up to manager."""
    return ROLES.index(role)


def allows(role: str, action: str) -> bool:
    """Whether `role` may do `action` (an unknown action is a programming error: KeyError)."""
    return rank(role) >= rank(PERMISSIONS[action].least_role)


def refusal(user: Actor, action: str) -> str:
    """The one line every face shows when `user` may not do `action`."""
    permission = PERMISSIONS[action]
    article = "an" if user.role[0] in "aeiou" else "a"
    return f"{user.name} is {article} {user.role}; {permission.wording} needs {permission.least_role} or above"


def require(user: Actor, action: str) -> None:
    """Refuse `action` unless the user's role is the action's least role or higher."""
    if not allows(user.role, action):
        raise PermissionDenied(refusal(user, action))


# --- working someone else's complaint ------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    role: str


def others_complaint_refusal(actor: Person, assignee: Person | None, number: str, action: str,
                             reason: str) -> str | None:
    """Why `actor` may not `action` (start, resolve, close) complaint `number`; None if they may.

    The assignee works their own complaint; on someone else's only a senior or above acts, and says why.
    An unassigned complaint is anyone's.
    """
    if assignee is None or assignee.id == actor.id:
        return None
    if reason.strip() and allows(actor.role, "act_on_others_complaint"):
        return None
    least = PERMISSIONS["act_on_others_complaint"].least_role
    return (f"{number} is assigned to {assignee.name}; only {assignee.name}, or a {least} or above giving a reason, "
            f"may {action} it")


# --- the approval rule --------------------------------------------------------------------------------


def decision_refusal(approver: Person, requester: Person, step_id: int, decision: str) -> str | None:
    """Why `approver` may not approve or reject (`decision`) a step `requester` asked for; None if they may.

    Nobody decides on their own request, and only a role above the requester's decides.
    """
    if approver.id == requester.id:
        return f"{approver.name} requested step {step_id}; nobody {decision}s their own request"
    if rank(approver.role) <= rank(requester.role):
        return (f"step {step_id} was requested by {requester.name} ({requester.role}); "
                f"to {decision} it needs a role above {requester.role}, and {approver.name} is {approver.role}")
    return None


def removal_refusal(remover: Person, approver: Person | None, step_id: int) -> str | None:
    """Why `remover` may not remove a step `approver` approved; None if they may.

    A step nobody approved is anyone's to remove; an approved one needs the approver's role or above, so the
    agent who asked for a refund cannot take back what a manager granted, nor cancel what a manager approved.
    """
    if approver is None or rank(remover.role) >= rank(approver.role):
        return None
    return (f"step {step_id} was approved by {approver.name} ({approver.role}); removing it needs {approver.role} "
            f"or above, and {remover.name} is {remover.role}")


@dataclass(frozen=True)
class Money:
    """Minor units on each measure a limit has: one step, one complaint's steps, one requester's steps in a day."""

    step: int
    complaint: int
    day: int


MEASURES = ("step", "complaint", "day")
# An approver answers for the step and its complaint; the requester's day is the requester's.
APPROVER_MEASURES = ("step", "complaint")


def passed_limit(money: Money, limits: Money, measures: tuple[str, ...] = MEASURES) -> str | None:
    """The first measure on which `money` is above `limits` ('step', 'complaint' or 'day'); None when within all."""
    return next((measure for measure in measures if getattr(money, measure) > getattr(limits, measure)), None)


def may_approve(approver: Person, requester: Person, money: Money, limits: Money) -> bool:
    """The approval rule whole: a role above the requester's, not one's own request, within one's limits per step
    and per complaint (`limits` are the approver's)."""
    return (decision_refusal(approver, requester, 0, "approve") is None
            and passed_limit(money, limits, APPROVER_MEASURES) is None)


# --- scoped tokens ------------------------------------------------------------------------------------------


def scope_refusal(scopes: tuple[str, ...], needed: str, qualified: object = None) -> str | None:
    """Why a token with `scopes` may not do what needs scope `needed`; None if it may.

    No scopes is a sign-in's session: all its user's role allows. `file:web` allows filing only when the
    qualified argument (the channel) is `web`.
    """
    if not scopes:
        return None
    for granted in scopes:
        scope, _, qualifier = granted.partition(":")
        if scope == needed and (not qualifier or qualifier == qualified):
            return None
    return f"it is scoped to {' '.join(scopes)}, and this needs {needed}" + (
        f" for {qualified}" if qualified is not None else "")
