"""Everything a seat or a system may ask of Redress, in one table: the use case, who may call it, its HTTP route.

The server builds one endpoint per row; the command line and the terminal app call the same rows, in process on
a direct database seat or through the server when signed in. `perform` is the one door: it checks the role (from
the permissions table) and the token's scope, then calls the use case as the principal. A row names its use case
as `module:function` so a command imports only the one it runs.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workflow.domain.errors import PermissionDenied
from workflow.domain.permissions import require, scope_refusal

if TYPE_CHECKING:
    from workflow.bootstrap import Redress
    from workflow.services.signin import Principal


@dataclass(frozen=True)
class Operation:
    name: str
    method: str  # GET reads (arguments in the query), POST/PUT/PATCH/DELETE write (arguments in a JSON body)
    path: str  # under /api/v1; {ref} and the like are the use case's arguments
    service: str  # module:function, the use case
    permission: str  # the key in workflow/domain/permissions.py PERMISSIONS
    scope: str  # what a scoped token must allow (workflow/domain/vocabulary.py SCOPES); "": any token
    actor: str = "position"  # how the use case takes who acts: position (after app), a keyword's name, none,
    #                          or principal (the whole Principal, after app)
    result: str | None = None  # module:Class the answer is rebuilt into on the client; None: plain JSON
    many: bool = False  # the answer is a list of `result`
    qualifier: str | None = None  # the argument a scope's qualifier restricts (file:web -> channel == web)
    status: int = 200
    summary: str = ""

    def function(self) -> Callable[..., Any]:
        module, _, name = self.service.partition(":")
        function: Callable[..., Any] = getattr(importlib.import_module(module), name)
        return function

    @property
    def path_arguments(self) -> tuple[str, ...]:
        return tuple(re.findall(r"{(\w+)}", self.path))


_LIFECYCLE = "workflow.services.lifecycle"
_OUTCOME = "workflow.services.transition:Outcome"
_STEP = "workflow.services.compensation:StepOutcome"
_USER = "workflow.services.people:UserRecord"


def _act(name: str, path: str, service: str, summary: str) -> Operation:
    return Operation(name, "POST", f"/complaints/{{ref}}/{path}", f"{_LIFECYCLE}:{service}", "work_complaint",
                     "work", result=_OUTCOME, summary=summary)


OPERATIONS: tuple[Operation, ...] = (
    # Filing and working a complaint.
    Operation("file", "POST", "/complaints", f"{_LIFECYCLE}:file_complaint", "file_complaint", "file",
              result=_OUTCOME, qualifier="channel", status=201, summary="File a complaint from any channel"),
    Operation("suggest_intake", "POST", "/intake/suggestion", f"{_LIFECYCLE}:suggest_for_intake", "file_complaint",
              "file", actor="none", summary="The customer found, the severity and answers suggested while filing"),
    _act("triage", "triage", "triage", "Confirm category and severity"),
    _act("change_severity", "severity", "change_severity", "Change the severity, with a reason"),
    _act("assign", "assign", "assign", "Assign to oneself or (senior and above) to someone"),
    _act("start", "start", "start", "Start working on an assigned complaint"),
    _act("respond", "respond", "respond", "Record what the customer was told"),
    _act("wait_for_customer", "wait", "wait_for_customer", "Wait for the customer"),
    _act("customer_replied", "replied", "customer_replied", "The customer came back"),
    _act("route", "route", "route", "Hand to a responsible owner"),
    _act("owner_feedback", "feedback", "owner_feedback", "Record the owner's feedback"),
    _act("resolve", "resolve", "resolve", "Record what was done for the customer"),
    _act("close", "close", "close", "Close the complaint"),
    _act("reopen", "reopen", "reopen", "Reopen a resolved or closed complaint"),
    _act("cancel", "cancel", "cancel", "Cancel a duplicate, spam or withdrawn complaint"),
    _act("answer", "answer", "answer_from_manual", "Answer from the policy manual and close"),
    _act("add_note", "notes", "add_note", "Add an internal note"),
    # Reading complaints.
    Operation("queue", "GET", "/complaints", "workflow.read.queries:queue", "read_complaints", "read",
              actor="actor", summary="Open complaints, most urgent first"),
    Operation("show", "GET", "/complaints/{ref}", "workflow.read.queries:complaint_detail", "read_complaints",
              "read", actor="none", summary="A complaint with its clocks, steps and next actions"),
    Operation("history", "GET", "/complaints/{ref}/history", "workflow.read.queries:history", "read_complaints",
              "read", actor="none", summary="A complaint's timeline"),
    Operation("explain", "GET", "/complaints/{ref}/explain", "workflow.read.explain:explain", "read_complaints",
              "read", actor="none", summary="How each deadline was reached: policy, calendar, counted time, pauses"),
    Operation("related", "GET", "/complaints/{ref}/related", "workflow.read.intake:related_to", "read_complaints",
              "read", actor="none", result="workflow.read.intake:Related",
              summary="The customer's other open complaints and earlier ones about the same order"),
    Operation("desk_queue", "GET", "/desk/queue", "workflow.read.desk:desk_queue", "read_complaints", "read",
              summary="The terminal app's queue with countdowns"),
    Operation("change_marker", "GET", "/desk/marker", "workflow.read.desk:change_marker", "read_complaints", "read",
              actor="none", summary="A number that changes whenever any complaint does"),
    Operation("latest_event", "GET", "/desk/latest-event", "workflow.read.news:latest_event", "read_complaints",
              "read", actor="none", summary="The newest event's id"),
    Operation("news", "GET", "/desk/news", "workflow.faces.operations:news_for", "read_complaints", "read",
              summary="Warnings and escalations on one's complaints since an event"),
    # Customers.
    Operation("customer", "GET", "/customers/{ref}", "workflow.read.queries:customer_detail", "read_customers",
              "read", actor="none", summary="A customer (by id, phone or email) and their complaints"),
    Operation("screen_pop", "GET", "/screen-pop", "workflow.read.queries:customer_detail", "read_customers",
              "lookup", actor="none", summary="The caller's profile and complaints, by phone, for the telephony pop"),
    Operation("find_customers", "GET", "/customers", "workflow.services.customers:find_customers", "read_customers",
              "read", actor="none", summary="Customers whose name, phone or email contains the text"),
    Operation("customer_changes", "GET", "/customers/{ref}/changes", "workflow.services.customers:customer_changes",
              "read_customers", "read", actor="none", summary="Who changed a customer's profile, and how"),
    Operation("edit_customer", "PATCH", "/customers/{ref}", "workflow.services.customers:edit_customer",
              "edit_customer", "work", summary="Correct a customer's profile"),
    # The policy manual.
    Operation("manual_search", "GET", "/manual", "workflow.services.kb:policy_answers", "search_manual", "read",
              actor="none", result="workflow.services.kb:PolicyHit", many=True, summary="Search the policy manual"),
    Operation("manual_titles", "GET", "/manual/titles", "workflow.services.kb:policy_titles", "search_manual",
              "read", actor="none", result="workflow.services.kb:PolicyTitle", many=True,
              summary="Every answer's id and title"),
    Operation("manual_entry", "GET", "/manual/{answer_id}", "workflow.services.kb:policy_entry", "search_manual",
              "read", actor="none", result="workflow.services.kb:PolicyEntry", summary="One answer in full"),
    Operation("answer_language", "GET", "/manual-language", "workflow.services.answer_language:answer_language",
              "search_manual", "read", actor="none", summary="The language to answer a customer or complaint in"),
    # Supervising escalations and what the engine could not do.
    Operation("escalations", "GET", "/escalations", "workflow.services.supervision:escalation_board",
              "escalation_board", "supervise", summary="The escalation board"),
    Operation("acknowledge", "POST", "/complaints/{ref}/escalation/acknowledge",
              "workflow.services.supervision:acknowledge", "acknowledge_escalation", "supervise", result=_OUTCOME,
              summary="Acknowledge an escalation"),
    Operation("extend", "POST", "/complaints/{ref}/escalation/extend", "workflow.services.supervision:extend_deadline",
              "extend_deadline", "supervise", result=_OUTCOME, summary="Extend the resolution deadline"),
    Operation("lower", "POST", "/complaints/{ref}/escalation/lower", "workflow.services.supervision:lower_escalation",
              "lower_escalation", "supervise", result=_OUTCOME, summary="Lower an escalation level"),
    Operation("failed_deadlines", "GET", "/deadlines/failed", "workflow.services.failed_deadlines:list_failed",
              "read_failed_deadlines", "supervise", actor="none", summary="Deadlines whose firing failed"),
    Operation("retry_deadline", "POST", "/deadlines/failed/{deadline_id}/retry",
              "workflow.services.failed_deadlines:retry_failed", "retry_deadline", "supervise",
              summary="Try a failed deadline again"),
    # Compensation and surveys.
    Operation("compensation", "GET", "/compensation", "workflow.faces.operations:steps_for", "read_complaints",
              "read", summary="Compensation steps, of one complaint or those one may approve"),
    Operation("add_step", "POST", "/complaints/{ref}/compensation", "workflow.services.compensation:add_step",
              "add_step", "compensation", result=_STEP, status=201, summary="Plan a compensation step"),
    Operation("approve_step", "POST", "/compensation/{step_id}/approve",
              "workflow.services.compensation:approve_step", "approve_step", "compensation", result=_STEP,
              summary="Approve a step"),
    Operation("reject_step", "POST", "/compensation/{step_id}/reject", "workflow.services.compensation:reject_step",
              "reject_step", "compensation", result=_STEP, summary="Reject a step"),
    Operation("remove_step", "POST", "/compensation/{step_id}/remove", "workflow.services.compensation:remove_step",
              "remove_step", "compensation", result=_STEP, summary="Remove a step"),
    Operation("complete_step", "POST", "/compensation/{step_id}/complete",
              "workflow.services.compensation:complete_step", "complete_step", "compensation", result=_STEP,
              summary="Record a step as done"),
    Operation("record_survey", "POST", "/complaints/{ref}/survey", "workflow.services.surveys:record",
              "record_survey", "work", result="workflow.services.surveys:SurveyOutcome", status=201,
              summary="Record the customer's satisfaction score"),
    Operation("paused_time", "GET", "/reports/paused-time", "workflow.read.pauses:paused_time_by_agent",
              "pause_report", "supervise", summary="Waits on the customer per agent: how many, repeated, at the "
              "limit, time held"),
    Operation("report", "GET", "/reports/{name}", "workflow.read.reports:report", "read_reports", "supervise",
              summary="One report for a period and filters: sla, agents, satisfaction, compensation, backlog, "
              "at_risk"),
    Operation("report_pack", "GET", "/report-packs/{month}", "workflow.read.reports:monthly_pack", "read_reports",
              "supervise", summary="Every report for one month (YYYY-MM)"),
    Operation("mail_report_pack", "POST", "/report-packs/{month}/mail", "workflow.read.reports.mailing:mail_pack",
              "read_reports", "supervise", summary="Queue one month's report pack for its readers now"),
    Operation("survey_scores", "GET", "/surveys/scores", "workflow.services.surveys:scores", "survey_scores",
              "supervise", actor="none", summary="Average scores by agent, category or month"),
    # The outbox.
    Operation("outbox", "GET", "/outbox", "workflow.read.outbox:list_messages", "read_outbox", "read", actor="none",
              summary="Messages to customers and staff"),
    Operation("outbox_message", "GET", "/outbox/{message_id}", "workflow.read.outbox:show_message", "read_outbox",
              "read", actor="none", summary="One message with its delivery attempts"),
    Operation("retry_messages", "POST", "/outbox/retry", "workflow.services.outbox:retry_messages", "retry_messages",
              "supervise", result="workflow.services.outbox:RetryReport", summary="Send failed messages again"),
    # Customers' messages in: mail taken from the mailboxes, and texts an SMS gateway posts.
    Operation("mail", "GET", "/mail", "workflow.read.inbound:list_inbound", "read_mail", "read", actor="none",
              summary="Messages taken in from the mailboxes and the SMS gateway, and what each became"),
    Operation("mail_message", "GET", "/mail/{inbound_id}", "workflow.read.inbound:show_inbound", "read_mail", "read",
              actor="none", summary="One message taken in, with its whole text and its files"),
    Operation("retry_mail", "POST", "/mail/{inbound_id}/retry", "workflow.services.mail_in:retry", "retry_mail",
              "supervise", result="workflow.services.mail_in:Taken",
              summary="Take a message that failed again, from its kept bytes"),
    Operation("attachment", "GET", "/attachments/{attachment_id}", "workflow.read.inbound:attachment_file",
              "read_complaints", "read", actor="none", summary="A file a customer sent (base64; never opened)"),
    Operation("take_text", "POST", "/inbound/sms", "workflow.services.sms_in:take_text", "take_inbound", "inbound",
              result="workflow.services.sms_in:TextTaken",
              summary="A text message from the SMS gateway: files, threads or answers a survey, once per id"),
    # Staff.
    Operation("users", "GET", "/users", "workflow.services.people:list_users", "read_staff", "read", actor="none",
              result=_USER, many=True, summary="Staff by name"),
    Operation("user", "GET", "/users/{name}", "workflow.services.handover:user_profile", "read_staff", "read",
              actor="none", summary="A member of staff, their open work and the changes to them"),
    Operation("add_user", "POST", "/users", "workflow.services.people:add_user", "add_user", "staff", result=_USER,
              status=201, summary="Add a member of staff (managers)"),
    Operation("change_role", "POST", "/users/{name}/role", "workflow.services.people:change_role", "change_role",
              "staff", result=_USER, summary="Give someone another role"),
    Operation("edit_user", "PATCH", "/users/{name}", "workflow.services.people:edit_user", "edit_user", "staff",
              result=_USER, summary="Set someone's email, display name or operating-system account"),
    Operation("deactivate_user", "POST", "/users/{name}/deactivate", "workflow.services.handover:deactivate_user",
              "deactivate_user", "staff", result="workflow.services.handover:Departure",
              summary="Deactivate a leaver and hand over their work"),
    Operation("reactivate_user", "POST", "/users/{name}/reactivate", "workflow.services.handover:reactivate_user",
              "reactivate_user", "staff", summary="Let a deactivated user act again"),
    # Signing in (signing in itself is the server's one open route).
    Operation("me", "GET", "/me", "workflow.faces.operations:who_am_i", "own_account", "",
              actor="principal", summary="Who this token acts as"),
    Operation("sign_out", "POST", "/sign-out", "workflow.services.signin:sign_out", "own_account", "account",
              actor="principal", summary="Revoke the token this request came with"),
    Operation("set_password", "PUT", "/me/password", "workflow.services.signin:set_password", "own_account",
              "account", summary="Change one's own password"),
    Operation("reset_password", "PUT", "/users/{name}/password", "workflow.services.signin:reset_password",
              "reset_password", "staff", summary="Set someone's password; unlocks them and ends their sessions"),
    Operation("revoke_sign_ins", "POST", "/users/{name}/revoke", "workflow.services.signin:revoke_sign_ins",
              "own_account", "staff", summary="End all of a user's sessions and tokens"),
    Operation("create_token", "POST", "/tokens", "workflow.services.signin:create_personal_token", "own_account",
              "account", actor="principal", result="workflow.services.signin:IssuedToken", status=201,
              summary="A named, scoped token for scripts"),
    Operation("tokens", "GET", "/tokens", "workflow.services.signin:list_tokens", "own_account", "account",
              result="workflow.services.signin:TokenRecord", many=True, summary="One's tokens (never the secrets)"),
    Operation("revoke_token", "DELETE", "/tokens/{token_id}", "workflow.services.signin:revoke_token", "own_account",
              "account", summary="Revoke a token"),
    Operation("create_api_key", "POST", "/api-keys", "workflow.services.signin:create_api_key", "manage_api_keys",
              "staff", actor="principal", result="workflow.services.signin:IssuedToken", status=201,
              summary="An API key for a system, scoped (managers)"),
    Operation("about", "GET", "/about", "workflow.faces.operations:about", "read_complaints", "read", actor="none",
              summary="The server's time zone, clock and vocabularies, for a seat's display and forms"),
    # Added for the terminal app's intake form: a found customer's other complaints, named before one is filed.
    Operation("customer_related", "GET", "/customers/{customer_id}/related", "workflow.read.intake:related_complaints",
              "read_customers", "read", actor="none", result="workflow.read.intake:Related",
              summary="A customer's open complaints and those about an order, named while filing"),
)

BY_NAME: dict[str, Operation] = {operation.name: operation for operation in OPERATIONS}


def perform(app: Redress, principal: Principal, operation: Operation, arguments: Mapping[str, Any]) -> Any:
    """Call one operation as `principal`: refused unless its role and its token's scopes allow it."""
    require(principal, operation.permission)
    qualified = arguments.get(operation.qualifier) if operation.qualifier else None
    refusal = scope_refusal(principal.scopes, operation.scope, qualified) if operation.scope else None
    if refusal:
        raise PermissionDenied(f"this token may not call {operation.name}: {refusal}")
    function = operation.function()
    if operation.actor == "position":
        return function(app, principal.name, **arguments)
    if operation.actor == "principal":
        return function(app, principal, **arguments)
    if operation.actor == "none":
        return function(app, **arguments)
    return function(app, **arguments, **{operation.actor: principal.name})


# --- use cases shaped for the table (no rules here: each calls one use case as it is) -------------------------


def steps_for(app: Redress, actor: str, ref: str | None = None, *, state: str | None = None,
              mine_to_approve: bool = False, limit: int = 200) -> list[dict[str, Any]]:
    """Compensation steps of one complaint, or the steps the acting user may approve."""
    from workflow.services.compensation import list_steps

    return list_steps(app, ref, state=state, approvable_by=actor if mine_to_approve else None, limit=limit)


def who_am_i(app: Redress, principal: Principal) -> dict[str, Any]:
    return {"name": principal.name, "role": principal.role, "kind": principal.kind, "scopes": list(principal.scopes)}


def news_for(app: Redress, actor: str, after: int) -> dict[str, Any]:
    """The news since event `after` and the event read up to, as one object: a pair would cross the wire as a list."""
    from workflow.read.news import news_since

    read_up_to, news = news_since(app, actor, after)
    return {"after": read_up_to, "news": [{"event_id": item.event_id, "number": item.number, "trigger": item.trigger,
                                           "what": item.what, "escalated": item.escalated} for item in news]}


def about(app: Redress) -> dict[str, Any]:
    """What a seat needs to show times and offer choices as a direct seat would."""
    from workflow.domain.vocabulary import CANCEL_REASONS, CHANNELS, LANGUAGES, STEP_KINDS

    config = app.config
    return {
        "timezone": config.timezone,
        "now": app.clock.now().isoformat(),
        "severities": config.severity_names,
        "categories": [category.name for category in config.categories],
        "category_labels": {category.name: category.label.get(config.default_language, category.name)
                            for category in config.categories},
        "tiers": [tier.name for tier in config.member_tiers],
        "owners": list(config.owners),
        "owners_free_text": config.owners_free_text,
        "channels": list(CHANNELS),
        "languages": list(LANGUAGES),
        "default_language": config.default_language,
        "cancel_reasons": list(CANCEL_REASONS),
        "pause_reasons": list(config.sla.pause_reasons),
        "step_kinds": list(STEP_KINDS),
    }
