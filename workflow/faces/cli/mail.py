"""Customers' mail in: fetch the mailboxes, see what was taken and what it became, and the files customers sent."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Annotated, Optional

import typer

from workflow.faces.cli.common import As, Json, print_json, redress, row_id, say, seat

app = typer.Typer()
mail_app = typer.Typer(help="Customer mail taken in from the mailboxes, and what it became.", no_args_is_help=True)
attachment_app = typer.Typer(help="Files customers sent with their mail.", no_args_is_help=True)
app.add_typer(mail_app, name="mail")
app.add_typer(attachment_app, name="attachment")

InboundId = Annotated[int, typer.Argument(help="The id `redress mail list` shows.", callback=row_id("message"))]


@mail_app.command("fetch")
def mail_fetch(
    mailbox: Annotated[Optional[str], typer.Option(help="Only this mailbox (a name under mail.mailboxes).")] = None,
    limit: Annotated[Optional[int], typer.Option(help="At most this many messages from each mailbox.")] = None,
    as_json: Json = False,
) -> None:
    """Take new mail from the configured mailboxes once and exit (`redress scheduler` does it on its own).

    Each message is taken once, even after a crash: it is marked in its mailbox only after it is committed.
    Exit 15 when a mailbox cannot be read (the others are still read).
    """
    from dataclasses import asdict

    from workflow.adapters.scheduler_lock import one_off_run
    from workflow.domain.errors import MailboxUnavailable, checked_limit
    from workflow.services.mail_in import fetch

    if limit is not None:
        checked_limit(limit)
    wired = redress()
    with one_off_run(wired, "mail fetch"):
        runs = fetch(wired, mailbox=mailbox, limit=limit)
    if as_json:
        print_json([asdict(run) for run in runs])
    else:
        if not runs:
            say("no mailboxes configured (mail.mailboxes in config.yaml)")
        for run in runs:
            counts: dict[str, int] = {}
            for taken in run.taken:
                counts[taken.outcome] = counts.get(taken.outcome, 0) + 1
            summary = ", ".join(f"{outcome} {count}" for outcome, count in counts.items()) or "nothing new"
            say(f"{run.mailbox}: " + (f"{summary}; then not read further (below)" if run.error and counts
                                      else "not read (below)" if run.error else summary))
    failed = [run.error for run in runs if run.error]
    if failed:
        raise MailboxUnavailable(failed[0])


@mail_app.command("list")
def mail_list(
    outcome: Annotated[Optional[str], typer.Option(
        help="filed, joined, resumed, reopened, follow_on, survey, automatic, bounce, blocked, limited, duplicate, "
             "failed, retried.")] = None,
    mailbox: Annotated[Optional[str], typer.Option(help="Only this mailbox (sms: texts from the gateway).")] = None,
    complaint: Annotated[Optional[str], typer.Option(help="Only messages about this complaint.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Messages taken in, newest first, and what each became."""
    here = seat(as_user)
    rows = here.call("mail", outcome=outcome, mailbox=mailbox, complaint=complaint, limit=limit)
    if as_json:
        print_json(rows)
        return
    from workflow.faces.cli.tables import print_inbound

    print_inbound(rows, here.timezone, here.now())


@mail_app.command("show")
def mail_show(inbound_id: InboundId, as_user: As = None, as_json: Json = False) -> None:
    """One message taken in: its whole text, quotes and signature included, and its files."""
    from workflow.domain.inert import inert

    message = seat(as_user).call("mail_message", inbound_id)
    if as_json:
        print_json(message)
        return
    for key in ("id", "mailbox", "message_id", "sender", "subject", "sent_at", "taken_at", "outcome", "detail",
                "complaint"):
        say(f"{key}: {inert(message[key] if message[key] is not None else '-')}")
    for file in message["attachments"]:
        say(f"attachment {file['id']}: {inert(file['filename'])} ({file['content_type']}, {file['size']:,} bytes)"
            + ("" if file["kept"] else f" {file['note']}"))
    say("")
    say(inert(message["text"], multiline=True))


@mail_app.command("retry")
def mail_retry(inbound_id: InboundId, as_user: As = None, as_json: Json = False) -> None:
    """Take a message that failed again, from the bytes kept for it (supervisor or above)."""
    from dataclasses import asdict

    taken = seat(as_user).call("retry_mail", inbound_id)
    if as_json:
        print_json(asdict(taken))
        return
    say(f"message {taken.inbound_id}: {taken.outcome}" + (f" {taken.complaint}" if taken.complaint else "")
        + (f" ({taken.detail})" if taken.detail else ""))
    if taken.outcome == "failed":
        raise typer.Exit(1)  # still not taken: a script must see it


@attachment_app.command("save")
def attachment_save(
    attachment_id: Annotated[int, typer.Argument(help="The id `redress show` lists.", callback=row_id("attachment"))],
    to: Annotated[Path, typer.Option("--to", help="The file to write (refused if it exists).")],
    as_user: As = None,
) -> None:
    """Write a file a customer sent to disk, as it came: Redress never opens it; open it with care."""
    from workflow.domain.errors import InvalidInput

    file = seat(as_user).call("attachment", attachment_id)
    try:
        with to.open("xb") as out:  # x: never over a file that exists, even one made a moment ago
            out.write(base64.b64decode(file["content_base64"]))
    except FileExistsError:
        raise InvalidInput(f"{to} exists; name a new file") from None
    except OSError as error:
        raise InvalidInput(f"cannot write {to}: {error.strerror}") from None
    say(f"wrote {to} ({file['size']:,} bytes, declared {file['content_type']}) from {file['complaint']}")
