"""Supervisor actions on an escalated complaint, and deadlines that failed to fire."""

from __future__ import annotations

from typing import Annotated

import typer

from workflow.faces.cli.common import As, IfVersion, Json, Reason, Ref, print_json, row_id, run, say, seat

app = typer.Typer()
escalation_app = typer.Typer(help="Supervisor actions on an escalated complaint.", no_args_is_help=True)
deadlines_app = typer.Typer(help="Deadlines that failed to fire: list them, fire them again.", no_args_is_help=True)
app.add_typer(escalation_app, name="escalation")
app.add_typer(deadlines_app, name="deadlines")


@escalation_app.command("ack")
def escalation_ack(ref: Ref, reason: Reason = None, as_user: As = None, if_version: IfVersion = None,
                   as_json: Json = False) -> None:
    """Acknowledge an escalation (supervisor or above)."""
    run("acknowledge", as_user, as_json, ref, reason, if_version)


@escalation_app.command("extend")
def escalation_extend(
    ref: Ref, by: Annotated[str, typer.Option(help="Business time to add, e.g. 2h or 30m.")],
    reason: Reason = None, as_user: As = None, if_version: IfVersion = None, as_json: Json = False,
) -> None:
    """Extend the resolution deadline (supervisor or above)."""
    run("extend", as_user, as_json, ref, by, reason, if_version)


@escalation_app.command("lower")
def escalation_lower(
    ref: Ref, to: Annotated[str, typer.Option("--to", help="agent, senior or supervisor.")],
    reason: Reason = None, as_user: As = None, if_version: IfVersion = None, as_json: Json = False,
) -> None:
    """Lower the escalation level (supervisor or above)."""
    run("lower", as_user, as_json, ref, to, reason, if_version)


@deadlines_app.command("failed")
def deadlines_failed(
    include_done: Annotated[bool, typer.Option("--all", help="Also those that later fired or were cancelled.")] = False,
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Deadlines whose firing raised: retrying with backoff, or set aside until retried by hand."""
    here = seat(as_user)
    rows = here.call("failed_deadlines", include_done=include_done)
    if as_json:
        print_json(rows)
        return
    from workflow.faces.cli.tables import print_failed_deadlines

    print_failed_deadlines(rows, here.timezone, here.now())


@deadlines_app.command("retry")
def deadlines_retry(
    deadline_id: Annotated[int, typer.Argument(help="Deadline id (see `redress deadlines failed`).",
                                               callback=row_id("deadline"))],
    as_user: As = None,
) -> None:
    """Fire a failed deadline again at the next sweep, with a fresh round of tries (supervisor or above)."""
    retried = seat(as_user).call("retry_deadline", deadline_id)
    say(f"deadline {retried['id']} ({retried['kind']}) of {retried['complaint']} will fire at the next sweep")
