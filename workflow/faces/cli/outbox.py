"""Messages: the outbox of staff alerts and customer messages."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from workflow.faces.cli.common import As, Json, print_json, redress, row_id, say, seat, stop_on_signal

app = typer.Typer()
outbox_app = typer.Typer(help="Staff alerts and customer messages waiting, sent or failed.", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")


@outbox_app.command("list")
def outbox_list(
    status: Annotated[Optional[str], typer.Option(help="pending, sending, sent, failed, uncertain, withdrawn.")] = None,
    complaint: Annotated[Optional[str], typer.Option(help="Only messages about this complaint.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Messages in the outbox (customer messages and staff alerts), newest first."""
    here = seat(as_user)
    rows = here.call("outbox", status=status, complaint=complaint, limit=limit)
    if as_json:
        print_json(rows)
        return
    from workflow.faces.cli.tables import print_outbox

    print_outbox(rows, here.timezone, here.now())


@outbox_app.command("show")
def outbox_show(message_id: Annotated[int, typer.Argument(help="Message id.", callback=row_id("message"))],
                as_user: As = None, as_json: Json = False) -> None:
    """One message: its bodies and every delivery attempt."""
    message = seat(as_user).call("outbox_message", message_id)
    if as_json:
        print_json(message)
        return
    for key in ("id", "kind", "audience", "locale", "channel", "recipient", "status", "subject"):
        say(f"{key}: {message[key]}")
    say(f"\n{message['body']}")
    for attempt in message["attempt_log"]:
        say(f"attempt {attempt['number']}: {attempt['outcome']} at {attempt['started_at']}"
            + (f" - {attempt['error']}" if attempt["error"] else ""))


@outbox_app.command("send")
def outbox_send() -> None:
    """Deliver every due message and exit; Ctrl-C or SIGTERM stops after the message in flight.

    On SQLite it is refused while a scheduler runs (exit 10): the scheduler delivers the outbox itself.
    """
    from notifications.sender import deliver_due
    from workflow.adapters.scheduler_lock import one_off_run

    wired = redress()
    stopping = stop_on_signal()
    with one_off_run(wired, "outbox send"):
        report = deliver_due(wired, should_stop=stopping.is_set)
    typer.echo(f"sent {report.sent}, to retry {report.retried}, failed {report.failed}, "
               f"uncertain {report.uncertain}, requeued after a stopped sender {report.requeued}")


@outbox_app.command("retry")
def outbox_retry(
    message_id: Annotated[Optional[int], typer.Argument(help="One message id; or use the filters.",
                                                        callback=row_id("message"))] = None,
    status: Annotated[Optional[str], typer.Option(help="Only failed, or only uncertain, messages.")] = None,
    complaint: Annotated[Optional[str], typer.Option(help="Only messages about this complaint.")] = None,
    since: Annotated[Optional[str], typer.Option(help="Created at or after this ISO time (UTC if no offset).")] = None,
    until: Annotated[Optional[str], typer.Option(help="Created before this ISO time (UTC if no offset).")] = None,
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Queue failed or uncertain messages again: one id, or every match of the filters (supervisor or above)."""
    from dataclasses import asdict

    from workflow.services.outbox import RetryFilter

    report = seat(as_user).call("retry_messages", RetryFilter(message_id, status, complaint, since, until))
    if as_json:
        print_json(asdict(report))
        return
    skipped = f"; {report.never_rendered} never rendered, not queued" if report.never_rendered else ""
    say(f"queued {report.queued} message(s) again, noted on {report.complaints} complaint(s){skipped}")
