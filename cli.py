"""The `redress` command: parse input, call one service, print the result. No business rule lives here.

Imports are lazy so a quick command such as `redress show N --json` pays only
for what it uses.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

if TYPE_CHECKING:
    from workflow.bootstrap import Redress
    from workflow.services.lifecycle import Outcome

app = typer.Typer(
    name="redress",
    help="Redress: the complaint workflow engine for call centres.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
user_app = typer.Typer(help="Staff users and their roles.", no_args_is_help=True)
kb_app = typer.Typer(help="The policy manual answered from at first contact.", no_args_is_help=True)
customer_app = typer.Typer(help="Customer profiles.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
escalation_app = typer.Typer(help="Supervisor actions on an escalated complaint.", no_args_is_help=True)
outbox_app = typer.Typer(help="Staff alerts and customer messages waiting, sent or failed.", no_args_is_help=True)
deadlines_app = typer.Typer(help="Deadlines that failed to fire: list them, fire them again.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(kb_app, name="kb")
app.add_typer(customer_app, name="customer")
app.add_typer(db_app, name="db")
app.add_typer(escalation_app, name="escalation")
app.add_typer(outbox_app, name="outbox")
app.add_typer(deadlines_app, name="deadlines")
compensation_app = typer.Typer(help="Compensation steps: list, add, remove, approve, reject, mark done.",
                               no_args_is_help=True)
templates_app = typer.Typer(help="Customer message templates: preview and check.", no_args_is_help=True)
survey_app = typer.Typer(help="Satisfaction survey answers and scores.", no_args_is_help=True)
app.add_typer(compensation_app, name="compensation")
app.add_typer(templates_app, name="templates")
app.add_typer(survey_app, name="survey")
config_app = typer.Typer(help="config.yaml and the files it names.", no_args_is_help=True)
app.add_typer(config_app, name="config")

_options: dict[str, Optional[str]] = {"config": None, "db": None}
_context: dict[str, Redress] = {}

As = Annotated[Optional[str], typer.Option("--as", envvar="REDRESS_USER", help="Act as this user.")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON only, for scripts.")]
Ref = Annotated[str, typer.Argument(help="Complaint number (C-20261122-0007) or id.")]


def _row_id(what: str) -> Callable[[Optional[int]], Optional[int]]:
    """A parameter callback: an id no row can have is a one-line NotFound, before any database is asked."""
    def check(value: Optional[int]) -> Optional[int]:
        from workflow.services.records import row_id

        return None if value is None else row_id(value, what)
    return check


IfVersion = Annotated[
    Optional[int],
    typer.Option("--if-version", help="Refuse if the complaint changed since you read this version."),
]


@app.callback()
def _global(
    config: Annotated[
        Optional[str], typer.Option("--config", envvar="REDRESS_CONFIG", help="config.yaml to use.")
    ] = None,
    db: Annotated[Optional[str], typer.Option("--db", envvar="REDRESS_DB", help="Database URL or SQLite path.")] = None,
) -> None:
    _options["config"] = config
    _options["db"] = db


def _redress() -> Redress:
    if "app" not in _context:
        from workflow.bootstrap import bootstrap

        _context["app"] = bootstrap(_options["config"], _options["db"])
    return _context["app"]


def _say(text: str) -> None:
    """A line for the terminal with stored text made inert (escape codes and bidi overrides shown, not obeyed)."""
    from workflow.domain.inert import inert

    typer.echo(inert(text, multiline=True))


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _report(outcome: Outcome, as_json: bool) -> None:
    if as_json:
        from dataclasses import asdict

        _print_json(asdict(outcome))
        return
    moved = (
        f"{outcome.from_state} -> {outcome.to_state}" if outcome.from_state != outcome.to_state else outcome.to_state
    )
    detail = f"  ({outcome.detail})" if outcome.detail else ""
    _say(f"{outcome.number}: {outcome.trigger}: {moved} [version {outcome.version}]{detail}")


def _run(action: Callable[..., Outcome], as_json: bool, *args: Any, **kwargs: Any) -> None:
    _report(action(_redress(), *args, **kwargs), as_json)


# --- intake -----------------------------------------------------------------


@app.command()
def new(
    channel: Annotated[str, typer.Option(help="phone, web, email, chat, fax or letter.")],
    category: Annotated[str, typer.Option(help="A category from config.yaml.")],
    summary: Annotated[str, typer.Option(help="What the customer complains about, in their words.")],
    phone: Annotated[Optional[str], typer.Option(help="Customer phone: finds the customer or creates one.")] = None,
    email: Annotated[Optional[str], typer.Option(help="Customer email: finds the customer or creates one.")] = None,
    name: Annotated[Optional[str], typer.Option(help="Customer name (needed for a new customer).")] = None,
    tier: Annotated[Optional[str], typer.Option(help="Member tier of a new customer.")] = None,
    language: Annotated[Optional[str], typer.Option(help="zh-CN, zh-TW or en, for a new customer.")] = None,
    order: Annotated[Optional[str], typer.Option("--order", help="Order reference.")] = None,
    severity: Annotated[Optional[str], typer.Option(help="Severity; suggested from intensity if omitted.")] = None,
    answer: Annotated[Optional[str], typer.Option(help="Policy answer id: answer on the line and close.")] = None,
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Record a complaint from any channel."""
    from workflow.services.lifecycle import file_complaint

    _run(
        file_complaint, as_json, as_user, channel=channel, category=category, summary=summary,
        phone=phone, email=email, name=name, tier=tier, language=language,
        order_ref=order, severity=severity, answer_id=answer,
    )


# --- the lifecycle ------------------------------------------------------------


@app.command()
def triage(ref: Ref, as_user: As = None, if_version: IfVersion = None, as_json: Json = False) -> None:
    """Confirm category and severity; the complaint joins the open list."""
    from workflow.services.lifecycle import triage as service

    _run(service, as_json, as_user, ref, expected_version=if_version)


@app.command()
def severity(
    ref: Ref,
    to: Annotated[str, typer.Option("--to", help="The new severity.")],
    reason: Annotated[Optional[str], typer.Option(help="Why it changes (required).")] = None,
    as_user: As = None, if_version: IfVersion = None, as_json: Json = False,
) -> None:
    """Change the severity, with a reason. Lowering needs a senior agent or above."""
    from workflow.services.lifecycle import change_severity

    _run(change_severity, as_json, as_user, ref, to, reason, expected_version=if_version)


@app.command()
def take(ref: Ref, as_user: As = None, if_version: IfVersion = None, as_json: Json = False) -> None:
    """Assign the complaint to yourself."""
    from workflow.services.lifecycle import assign

    _run(assign, as_json, as_user, ref, None, expected_version=if_version)


@app.command("assign")
def assign_command(
    ref: Ref,
    to: Annotated[str, typer.Option("--to", help="The user to assign to.")],
    message: Annotated[Optional[str], typer.Option("--message", "-m", help="Why (optional).")] = None,
    as_user: As = None, if_version: IfVersion = None, as_json: Json = False,
) -> None:
    """Assign or reassign the complaint to someone (senior agent or above)."""
    from workflow.services.lifecycle import assign

    _run(assign, as_json, as_user, ref, to, note=message, expected_version=if_version)


@app.command("start")
def start_command(ref: Ref, as_user: As = None, if_version: IfVersion = None, as_json: Json = False) -> None:
    """Start working on an assigned complaint."""
    from workflow.services.lifecycle import start

    _run(start, as_json, as_user, ref, expected_version=if_version)


Message = Annotated[Optional[str], typer.Option("--message", "-m", help="The text (required).")]


@app.command()
def respond(ref: Ref, message: Message = None, as_user: As = None, if_version: IfVersion = None,
            as_json: Json = False) -> None:
    """Record what the customer was told."""
    from workflow.services.lifecycle import respond as service

    _run(service, as_json, as_user, ref, message, expected_version=if_version)


@app.command()
def wait(ref: Ref, message: Message = None, as_user: As = None, if_version: IfVersion = None,
         as_json: Json = False) -> None:
    """Wait for the customer (say what for)."""
    from workflow.services.lifecycle import wait_for_customer

    _run(wait_for_customer, as_json, as_user, ref, message, expected_version=if_version)


@app.command()
def replied(ref: Ref, message: Message = None, as_user: As = None, if_version: IfVersion = None,
            as_json: Json = False) -> None:
    """The customer came back; work resumes."""
    from workflow.services.lifecycle import customer_replied

    _run(customer_replied, as_json, as_user, ref, message, expected_version=if_version)


@app.command("route")
def route_command(
    ref: Ref,
    owner: Annotated[Optional[str], typer.Option(help="Responsible department or person (required).")] = None,
    message: Message = None, as_user: As = None, if_version: IfVersion = None, as_json: Json = False,
) -> None:
    """Hand the complaint to a responsible owner to investigate."""
    from workflow.services.lifecycle import route

    _run(route, as_json, as_user, ref, owner, message, expected_version=if_version)


@app.command()
def feedback(ref: Ref, message: Message = None, as_user: As = None, if_version: IfVersion = None,
             as_json: Json = False) -> None:
    """Record the owner's feedback; the complaint comes back to the agent."""
    from workflow.services.lifecycle import owner_feedback

    _run(owner_feedback, as_json, as_user, ref, message, expected_version=if_version)


@app.command("resolve")
def resolve_command(ref: Ref, message: Message = None, as_user: As = None, if_version: IfVersion = None,
                    as_json: Json = False) -> None:
    """Record what was done for the customer."""
    from workflow.services.lifecycle import resolve

    _run(resolve, as_json, as_user, ref, message, expected_version=if_version)


@app.command("close")
def close_command(ref: Ref, message: Message = None, as_user: As = None, if_version: IfVersion = None,
                  as_json: Json = False) -> None:
    """Close the complaint number."""
    from workflow.services.lifecycle import close

    _run(close, as_json, as_user, ref, message, expected_version=if_version)


@app.command("reopen")
def reopen_command(ref: Ref, message: Message = None, as_user: As = None, if_version: IfVersion = None,
                   as_json: Json = False) -> None:
    """Reopen a resolved or closed complaint (say why)."""
    from workflow.services.lifecycle import reopen

    _run(reopen, as_json, as_user, ref, message, expected_version=if_version)


@app.command("cancel")
def cancel_command(
    ref: Ref,
    reason: Annotated[str, typer.Option(help="duplicate, spam or withdrawn.")],
    duplicate_of: Annotated[Optional[str], typer.Option(help="The original, for a duplicate.")] = None,
    message: Message = None, as_user: As = None, if_version: IfVersion = None, as_json: Json = False,
) -> None:
    """Cancel a duplicate, spam or withdrawn complaint."""
    from workflow.services.lifecycle import cancel

    _run(cancel, as_json, as_user, ref, reason, duplicate_of=duplicate_of, note=message,
         expected_version=if_version)


@app.command("answer")
def answer_command(
    ref: Ref,
    answer_id: Annotated[str, typer.Argument(help="Policy answer id (see `redress kb search`).")],
    as_user: As = None, if_version: IfVersion = None, as_json: Json = False,
) -> None:
    """Answer from the policy manual and close, in one step."""
    from workflow.services.lifecycle import answer_from_manual

    _run(answer_from_manual, as_json, as_user, ref, answer_id, expected_version=if_version)


@app.command()
def note(ref: Ref, message: Message = None, as_user: As = None, if_version: IfVersion = None,
         as_json: Json = False) -> None:
    """Add an internal note to the timeline."""
    from workflow.services.lifecycle import add_note

    _run(add_note, as_json, as_user, ref, message, expected_version=if_version)


# --- reading ------------------------------------------------------------------


@app.command()
def show(ref: Ref, as_json: Json = False) -> None:
    """One complaint, with the actions its state allows."""
    from workflow.read.queries import complaint_detail

    detail = complaint_detail(_redress(), ref)
    if as_json:
        _print_json(detail)
    else:
        from workflow.faces.cli.tables import print_complaint

        print_complaint(detail, _redress().config.timezone)


@app.command("queue")
def queue_command(
    mine: Annotated[bool, typer.Option("--mine", help="Only complaints assigned to you.")] = False,
    state: Annotated[Optional[str], typer.Option(help="Only complaints in this state.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include closed and cancelled complaints.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Open complaints, most urgent first (escalation level, severity, age)."""
    from workflow.read.queries import queue

    rows = queue(_redress(), actor=as_user, mine=mine, state=state, include_closed=all_, limit=limit)
    if as_json:
        _print_json(rows)
    else:
        from workflow.faces.cli.tables import print_queue

        print_queue(rows, _redress().config.timezone)


app.command("list", help="Same as `queue`.")(queue_command)


@app.command("history")
def history_command(ref: Ref, as_json: Json = False) -> None:
    """The complaint's audit trail."""
    from workflow.read.queries import history

    trail = history(_redress(), ref)
    if as_json:
        _print_json(trail)
    else:
        from workflow.faces.cli.tables import print_history

        print_history(trail, _redress().config.timezone)


@customer_app.command("show")
def customer_show(
    ref: Annotated[str, typer.Argument(help="Customer id, phone or email.")], as_json: Json = False
) -> None:
    """A customer's profile and complaint history."""
    from workflow.read.queries import customer_detail

    detail = customer_detail(_redress(), ref)
    if as_json:
        _print_json(detail)
    else:
        from workflow.faces.cli.tables import print_customer

        print_customer(detail, _redress().config.timezone)


# --- the policy manual ----------------------------------------------------------


@kb_app.command("search")
def kb_search(
    text: Annotated[str, typer.Argument(help="Words of the question, Chinese or English.")],
    language: Annotated[Optional[str], typer.Option(help="Show answers in zh-CN, zh-TW or en.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many answers.")] = 5,
    as_json: Json = False,
) -> None:
    """Find policy answers to give on the line."""
    redress = _redress()
    lang = language or redress.config.default_language
    hits = redress.manual.search(text, limit)
    rows = []
    for hit in hits:
        title, answer_text = hit.answer.text(lang, redress.config.default_language)
        rows.append({"id": hit.answer.id, "category": hit.answer.category, "score": hit.score,
                     "title": title, "answer": answer_text})
    if as_json:
        _print_json(rows)
    else:
        from workflow.faces.cli.tables import print_kb_hits

        print_kb_hits(text, rows)


# --- staff, schema, machine, demo ----------------------------------------------------


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="Login name, e.g. li.na")],
    role: Annotated[str, typer.Option(help="agent, senior, supervisor or manager.")],
    display_name: Annotated[Optional[str], typer.Option("--display-name", help="Full name.")] = None,
    email: Annotated[Optional[str], typer.Option(help="Email address for SLA alerts.")] = None,
    as_user: As = None,
) -> None:
    """Add a staff user (managers only; the first user must be a manager)."""
    from workflow.services.people import add_user

    record = add_user(_redress(), as_user, name, role, display_name, email)
    _say(f"added {record.role} {record.name} ({record.display_name})")


@user_app.command("list")
def user_list(as_json: Json = False) -> None:
    """Staff users and roles."""
    from dataclasses import asdict

    from workflow.services.people import list_users

    users = [asdict(u) for u in list_users(_redress())]
    if as_json:
        _print_json(users)
    else:
        from workflow.faces.cli.tables import print_rows

        print_rows("Users", users)


def _upgrade(redress: Redress) -> str:
    """Bring the schema up to date; any driver error is one line naming the database."""
    from workflow.adapters.db import unavailable
    from workflow.adapters.migrate import upgrade

    try:
        return upgrade(redress.engine)
    except Exception as error:  # noqa: BLE001 - any driver error becomes one line
        raise unavailable(redress.url, error) from None


@config_app.command("check")
def config_check() -> None:
    """Validate config.yaml and the policy manual it names; one line either way (exit 8 on a mistake)."""
    from workflow.config import config_path, load_config
    from workflow.services.kb import load_manual

    path = config_path(_options["config"])
    config = load_config(path)
    manual = load_manual(config)
    _say(f"{path.name}: OK ({len(config.severities)} severities, {len(config.categories)} categories, "
         f"{len(config.calendars)} calendar(s), {len(config.owners)} owners; "
         f"policy manual {config.resolve_path(config.policy_manual).name}: {len(manual.answers)} answers)")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the schema or bring it up to date (Alembic migrations)."""
    from workflow.adapters.db import redact

    redress = _redress()
    revision = _upgrade(redress)
    typer.echo(f"database {redact(redress.url)} is at schema revision {revision}")


# --- time: deadlines, the scheduler, escalations -------------------------------------------


def _stop_on_signal() -> Any:
    """Ctrl-C or SIGTERM ends a one-off run after the batch or message in flight, which is then recorded."""
    import signal
    import threading

    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    return stopping


@app.command()
def tick(as_json: Json = False) -> None:
    """Fire every deadline due at the clock's now, deliver due alerts, and exit (for cron and scripts).

    On SQLite it refuses while a scheduler runs on the database (exit 10): the scheduler already does this.
    """
    from dataclasses import asdict

    from notifications.sender import deliver_due
    from workflow.adapters.scheduler_lock import one_off_run
    from workflow.services.firing import fire_due

    redress = _redress()
    stopping = _stop_on_signal()
    with one_off_run(redress, "tick"):
        fired = fire_due(redress, should_stop=stopping.is_set)
        delivered = deliver_due(redress, should_stop=stopping.is_set)
    if as_json:
        _print_json({"fired": asdict(fired), "outbox": asdict(delivered)})
    else:
        failed = f", {fired.failed} failed to fire (`redress deadlines failed`)" if fired.failed else ""
        typer.echo(f"fired {fired.fired} deadline(s) in {fired.batches} batch(es){failed}; alerts sent "
                   f"{delivered.sent}, to retry {delivered.retried}, failed {delivered.failed}")


@app.command()
def scheduler() -> None:
    """Run the deadline scheduler (APScheduler) until Ctrl-C or SIGTERM; one per database."""
    from workflow.scheduler import run_scheduler

    raise typer.Exit(run_scheduler(_redress(), _say))


@deadlines_app.command("failed")
def deadlines_failed(
    include_done: Annotated[bool, typer.Option("--all", help="Also those that later fired or were cancelled.")] = False,
    as_json: Json = False,
) -> None:
    """Deadlines whose firing raised: retrying with backoff, or set aside until retried by hand."""
    from workflow.services.failed_deadlines import list_failed

    redress = _redress()
    rows = list_failed(redress, include_done=include_done)
    if as_json:
        _print_json(rows)
        return
    from workflow.faces.cli.tables import print_failed_deadlines

    print_failed_deadlines(rows, redress.config.timezone)


@deadlines_app.command("retry")
def deadlines_retry(
    deadline_id: Annotated[int, typer.Argument(help="Deadline id (see `redress deadlines failed`).",
                                               callback=_row_id("deadline"))],
    as_user: As = None,
) -> None:
    """Fire a failed deadline again at the next sweep, with a fresh round of tries (supervisor or above)."""
    from workflow.services.failed_deadlines import retry_failed

    retried = retry_failed(_redress(), as_user, deadline_id)
    _say(f"deadline {retried['id']} ({retried['kind']}) of {retried['complaint']} will fire at the next sweep")


@app.command()
def escalations(
    level: Annotated[Optional[str], typer.Option(help="Only this level: senior, supervisor or manager.")] = None,
    as_json: Json = False,
) -> None:
    """Escalated open complaints by level and time past the deadline."""
    from workflow.services.supervision import escalation_board

    rows = escalation_board(_redress(), level=level)
    if as_json:
        _print_json(rows)
    else:
        from workflow.faces.cli.tables import print_rows

        print_rows(f"Escalations ({len(rows)})", [
            {k: r[k] for k in ("number", "level", "severity", "state", "assignee", "minutes_past_deadline",
                               "acknowledged", "summary")} for r in rows])


Reason = Annotated[Optional[str], typer.Option(help="Why (required).")]


@escalation_app.command("ack")
def escalation_ack(ref: Ref, reason: Reason = None, as_user: As = None, if_version: IfVersion = None,
                   as_json: Json = False) -> None:
    """Acknowledge an escalation (supervisor or above)."""
    from workflow.services.supervision import acknowledge

    _run(acknowledge, as_json, as_user, ref, reason, if_version)


@escalation_app.command("extend")
def escalation_extend(
    ref: Ref, by: Annotated[str, typer.Option(help="Business time to add, e.g. 2h or 30m.")],
    reason: Reason = None, as_user: As = None, if_version: IfVersion = None, as_json: Json = False,
) -> None:
    """Extend the resolution deadline (supervisor or above)."""
    from workflow.services.supervision import extend_deadline

    _run(extend_deadline, as_json, as_user, ref, by, reason, if_version)


@escalation_app.command("lower")
def escalation_lower(
    ref: Ref, to: Annotated[str, typer.Option("--to", help="agent, senior or supervisor.")],
    reason: Reason = None, as_user: As = None, if_version: IfVersion = None, as_json: Json = False,
) -> None:
    """Lower the escalation level (supervisor or above)."""
    from workflow.services.supervision import lower_escalation

    _run(lower_escalation, as_json, as_user, ref, to, reason, if_version)


@outbox_app.command("list")
def outbox_list(
    status: Annotated[Optional[str], typer.Option(help="pending, sending, sent, failed, uncertain, withdrawn.")] = None,
    complaint: Annotated[Optional[str], typer.Option(help="Only messages about this complaint.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    as_json: Json = False,
) -> None:
    """Messages in the outbox (customer messages and staff alerts), newest first."""
    from notifications.outbox import list_messages

    rows = list_messages(_redress(), status=status, complaint=complaint, limit=limit)
    _print_table(f"Outbox ({len(rows)})", rows, as_json,
                 ("id", "kind", "audience", "channel", "recipient", "status", "attempts", "last_error", "subject"))


@outbox_app.command("show")
def outbox_show(message_id: Annotated[int, typer.Argument(help="Message id.", callback=_row_id("message"))],
                as_json: Json = False) -> None:
    """One message: its bodies and every delivery attempt."""
    from notifications.outbox import show_message

    message = show_message(_redress(), message_id)
    if as_json:
        _print_json(message)
        return
    for key in ("id", "kind", "audience", "locale", "channel", "recipient", "status", "subject"):
        _say(f"{key}: {message[key]}")
    _say(f"\n{message['body']}")
    for attempt in message["attempt_log"]:
        _say(f"attempt {attempt['number']}: {attempt['outcome']} at {attempt['started_at']}"
                   + (f" - {attempt['error']}" if attempt["error"] else ""))


@outbox_app.command("send")
def outbox_send() -> None:
    """Deliver every due message and exit; Ctrl-C or SIGTERM stops after the message in flight.

    On SQLite it is refused while a scheduler runs (exit 10): the scheduler delivers the outbox itself.
    """
    from notifications.sender import deliver_due
    from workflow.adapters.scheduler_lock import one_off_run

    redress = _redress()
    stopping = _stop_on_signal()
    with one_off_run(redress, "outbox send"):
        report = deliver_due(redress, should_stop=stopping.is_set)
    typer.echo(f"sent {report.sent}, to retry {report.retried}, failed {report.failed}, "
               f"uncertain {report.uncertain}, requeued after a stopped sender {report.requeued}")


@outbox_app.command("retry")
def outbox_retry(
    message_id: Annotated[Optional[int], typer.Argument(help="One message id; or use the filters.",
                                                        callback=_row_id("message"))] = None,
    status: Annotated[Optional[str], typer.Option(help="Only failed, or only uncertain, messages.")] = None,
    complaint: Annotated[Optional[str], typer.Option(help="Only messages about this complaint.")] = None,
    since: Annotated[Optional[str], typer.Option(help="Created at or after this ISO time (UTC if no offset).")] = None,
    until: Annotated[Optional[str], typer.Option(help="Created before this ISO time (UTC if no offset).")] = None,
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Queue failed or uncertain messages again: one id, or every match of the filters (supervisor or above)."""
    from dataclasses import asdict

    from notifications.outbox import RetryFilter, retry_messages

    report = retry_messages(_redress(), as_user, RetryFilter(message_id, status, complaint, since, until))
    if as_json:
        _print_json(asdict(report))
        return
    skipped = f"; {report.never_rendered} never rendered, not queued" if report.never_rendered else ""
    _say(f"queued {report.queued} message(s) again, noted on {report.complaints} complaint(s){skipped}")


# --- compensation, templates, surveys -------------------------------------------

StepId = Annotated[int, typer.Argument(help="Compensation step id (see `redress compensation list`).",
                                         callback=_row_id("compensation step"))]
Note = Annotated[Optional[str], typer.Option("--note", "-m", help="A note for the timeline.")]


def _print_table(title: str, rows: list[dict[str, Any]], as_json: bool, columns: tuple[str, ...]) -> None:
    if as_json:
        _print_json(rows)
        return
    from workflow.faces.cli.tables import print_rows

    print_rows(title, [{k: r[k] for k in columns} for r in rows])


def _report_step(outcome: Any, as_json: bool) -> None:
    if as_json:
        from dataclasses import asdict

        _print_json(asdict(outcome))
        return
    moved = f"{outcome.from_state} -> {outcome.to_state}" if outcome.from_state else outcome.to_state
    _say(f"step {outcome.id} ({outcome.kind}) of {outcome.complaint}: {moved}")


@compensation_app.command("list")
def compensation_list(
    ref: Annotated[Optional[str], typer.Argument(help="Only this complaint's steps.")] = None,
    state: Annotated[Optional[str], typer.Option(help="planned, awaiting_approval, approved, done, cancelled.")] = None,
    mine_to_approve: Annotated[bool, typer.Option("--to-approve", help="Steps the acting user may approve.")] = False,
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Compensation steps, soonest due first."""
    from workflow.services.compensation import list_steps

    if mine_to_approve and not as_user:
        raise typer.BadParameter("--to-approve needs --as NAME (or REDRESS_USER)")
    rows = list_steps(_redress(), ref, state=state, approvable_by=as_user if mine_to_approve else None)
    _print_table(f"Compensation steps ({len(rows)})", rows, as_json,
                 ("id", "complaint", "kind", "state", "amount", "currency", "due_at", "requested_by", "reason"))


@compensation_app.command("add")
def compensation_add(
    ref: Ref,
    kind: Annotated[str, typer.Argument(help="apology_letter, replacement, refund, voucher, gift, follow_up_call.")],
    reason: Reason = None,
    amount: Annotated[Optional[str], typer.Option(help="Money for a refund, voucher or gift, e.g. 128.50.")] = None,
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Add a step to a complaint's plan; money above your limit waits for approval."""
    from workflow.services.compensation import add_step

    _report_step(add_step(_redress(), as_user, ref, kind, amount=amount, reason=reason), as_json)


@compensation_app.command("remove")
def compensation_remove(step: StepId, reason: Reason = None, as_user: As = None, as_json: Json = False) -> None:
    """Take a step out of the plan, with a reason."""
    from workflow.services.compensation import remove_step

    _report_step(remove_step(_redress(), as_user, step, reason), as_json)


@compensation_app.command("approve")
def compensation_approve(step: StepId, note: Note = None, as_user: As = None, as_json: Json = False) -> None:
    """Approve money above the requester's limit (a higher role; never your own request)."""
    from workflow.services.compensation import approve_step

    _report_step(approve_step(_redress(), as_user, step, note), as_json)


@compensation_app.command("reject")
def compensation_reject(step: StepId, reason: Reason = None, as_user: As = None, as_json: Json = False) -> None:
    """Refuse a request for money, with a reason."""
    from workflow.services.compensation import reject_step

    _report_step(reject_step(_redress(), as_user, step, reason), as_json)


@compensation_app.command("done")
def compensation_done(step: StepId, note: Note = None, as_user: As = None, as_json: Json = False) -> None:
    """Mark a step carried out (refund paid, replacement shipped); the customer is told."""
    from workflow.services.compensation import complete_step

    _report_step(complete_step(_redress(), as_user, step, note), as_json)


@templates_app.command("preview")
def templates_preview(
    name: Annotated[str, typer.Argument(help="Template name, e.g. apology_letter.")],
    complaint: Annotated[str, typer.Option(help="Complaint number or id to render for.")],
    locale: Annotated[Optional[str], typer.Option(help="zh-CN, zh-TW or en (default: the customer's).")] = None,
    step: Annotated[Optional[int], typer.Option(help="The compensation step a notice is about.",
                                                callback=_row_id("compensation step"))] = None,
    as_json: Json = False,
) -> None:
    """Show what the customer would get: subject, plain text, HTML and SMS. Nothing is sent."""
    from dataclasses import asdict

    from notifications.customer import preview

    rendered = preview(_redress(), name, complaint, language=locale, step_id=step)
    if as_json:
        _print_json(asdict(rendered))
        return
    _say(f"locale: {rendered.locale}\nsubject: {rendered.subject}\n\n--- text ---\n{rendered.text}"
               f"\n--- html ---\n{rendered.html}\n--- sms ---\n{rendered.sms}")


@templates_app.command("check")
def templates_check() -> None:
    """Render every template in every locale with sample data; fail on any error."""
    from notifications.rendering import LANGUAGES, TEMPLATE_NAMES, check_all
    from workflow.domain.errors import TemplateBroken

    redress = _redress()
    problems = check_all(redress.renderer, redress.clock.now())
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        raise TemplateBroken(f"{len(problems)} template(s) do not render")
    typer.echo(f"all {len(TEMPLATE_NAMES)} templates render in {', '.join(LANGUAGES)}")


@survey_app.command("record")
def survey_record(
    ref: Ref,
    score: Annotated[int, typer.Option(help="The customer's score, 1 (very unhappy) to 5 (very satisfied).")],
    comment: Annotated[Optional[str], typer.Option(help="What the customer said.")] = None,
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Store the answer the customer gave on a call-back; a low score follows the configured policy."""
    from workflow.services.surveys import record

    outcome = record(_redress(), as_user, ref, score, comment)
    if as_json:
        from dataclasses import asdict

        _print_json(asdict(outcome))
        return
    _say(f"{outcome.complaint}: score {outcome.score} recorded"
               + (f"; low score: {outcome.follow_up}" if outcome.low else ""))


@survey_app.command("scores")
def survey_scores(
    by: Annotated[str, typer.Option(help="Group by agent or category.")] = "agent",
    as_json: Json = False,
) -> None:
    """Average satisfaction score per agent or category."""
    from workflow.services.surveys import scores

    rows = scores(_redress(), by)
    _print_table(f"Satisfaction by {by}", rows, as_json, (by, "answers", "average"))


@app.command()
def states() -> None:
    """Print the complaint state machine as a Mermaid diagram (generated from its definition)."""
    from states.diagram import mermaid

    sys.stdout.write(mermaid())


@app.command()
def tui(as_user: As = None) -> None:
    """Open the terminal app (queues, complaint view, policy manual, supervisor board) as a user."""
    from workflow.faces.tui.app import run_tui

    run_tui(_redress(), as_user)


@app.command()
def demo() -> None:
    """Create the schema, seed realistic staff, customers and complaints, and walk them through their lives."""
    from workflow.faces.demo import run_demo

    redress = _redress()
    _upgrade(redress)
    run_demo(redress, typer.echo)


def main(argv: list[str] | None = None) -> int:
    """Entry point: every user mistake becomes one line on stderr and a distinct exit code."""
    from workflow.domain.errors import InvalidInput, RedressError, refused_statement
    from workflow.domain.inert import inert

    ClickException, UsageError = _click_exceptions()

    argv = sys.argv[1:] if argv is None else argv
    for argument in argv:
        if not _is_utf8(argument):
            typer.echo(f"error: the argument '{inert(argument)}' is not valid UTF-8 text", err=True)
            return InvalidInput.exit_code
    command = typer.main.get_command(_only_the_command_asked_for(argv))
    try:
        result = command.main(args=argv, prog_name="redress", standalone_mode=False)
    except RedressError as error:
        typer.echo(f"error: {_shortened(inert(error))}", err=True)
        return error.exit_code
    except UsageError as error:
        typer.echo(f"error: {inert(error.format_message())} (see `redress {_command_path(error)}--help`)", err=True)
        return 2
    except ClickException as error:
        typer.echo(f"error: {inert(error.format_message())}", err=True)
        return 2
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        return 130
    except Exception as error:  # a database error no service turned into a domain error: one line, no SQL
        from workflow.adapters.db import database_fault

        refused = refused_statement(error)
        if refused is not None:
            typer.echo(f"error: {inert(refused)}", err=True)
            return refused.exit_code
        fault = database_fault(_context["app"].url, error) if "app" in _context else None
        if fault is None:
            raise
        typer.echo(f"error: {fault}", err=True)
        return fault.exit_code
    return result if isinstance(result, int) else 0


def _shortened(message: str, most: int = 1000) -> str:
    """An error quotes what was given; a value of megabytes (a pasted file) must not fill the terminal."""
    return message if len(message) <= most else f"{message[:most]}... ({len(message) - most} more characters)"


def _is_utf8(argument: str) -> bool:
    """Whether the bytes given were UTF-8: Python decodes any others to lone surrogates no database can store."""
    try:
        argument.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_GLOBAL_OPTIONS_WITH_VALUES = ("--config", "--db")


def _only_the_command_asked_for(argv: list[str]) -> typer.Typer:
    """The app with just the command (or command group) on the line, so one command does not pay for all fifty.

    Typer builds every command's parameters before dispatching; with the whole
    app that costs more than the query a read command runs. `--help` and
    mistakes get the whole app, so listings and suggestions stay complete.
    """
    words = iter(argv)
    first = None
    for word in words:
        if word in _GLOBAL_OPTIONS_WITH_VALUES:
            next(words, None)
        elif not word.startswith("-"):
            first = word
            break
    if first is None:
        return app
    commands = [c for c in app.registered_commands
                if (c.name or (c.callback.__name__ if c.callback else "").replace("_", "-")) == first]
    groups = [g for g in app.registered_groups if g.name == first]
    if not commands and not groups:
        return app
    slim = typer.Typer(name="redress", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                       help=app.info.help)
    slim.registered_callback = app.registered_callback
    slim.registered_commands = commands
    slim.registered_groups = groups
    return slim


def _click_exceptions() -> tuple[Any, Any]:
    # Typer 0.29+ vendors click as typer._click; earlier releases use click itself.
    try:
        from typer._click.exceptions import ClickException, UsageError
    except ImportError:  # pragma: no cover - depends on the installed Typer
        from click.exceptions import ClickException, UsageError  # type: ignore[no-redef]
    return ClickException, UsageError


def _command_path(error: Any) -> str:
    ctx = getattr(error, "ctx", None)
    if ctx is None or ctx.parent is None:
        return ""
    return ctx.command_path.removeprefix("redress").strip() + " "


def run() -> None:
    """The console script: run the command, flush what it printed, and leave without interpreter teardown.

    Tearing down SQLAlchemy, pydantic and typer module state takes longer than
    a read command itself (about 0.1 s); every transaction has committed and
    every file has been closed by the time `main` returns, so nothing is lost.
    """
    import os

    code = main()
    if "app" in _context:
        _context["app"].engine.dispose()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # the reader went away (`redress queue | head`): nothing more to say
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
