"""Commands that only read: a complaint, the queue, its history, the escalations.

These are the commands people and scripts run most often, so `cli.run` lets them
leave without interpreter teardown (QUICK_EXIT).
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from workflow.faces.cli.common import As, Json, Ref, print_json, seat

QUICK_EXIT = True

app = typer.Typer()


@app.command()
def show(ref: Ref, as_user: As = None, as_json: Json = False) -> None:
    """One complaint, with the actions its state allows."""
    here = seat(as_user)
    detail = here.call("show", ref)
    if as_json:
        print_json(detail)
    else:
        from workflow.faces.cli.tables import print_complaint

        print_complaint(detail, here.timezone, here.now())


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
    here = seat(as_user)
    rows = here.call("queue", mine=mine, state=state, include_closed=all_, limit=limit)
    if as_json:
        print_json(rows)
    else:
        from workflow.faces.cli.tables import print_queue

        print_queue(rows, here.timezone, here.now())


app.command("list", help="Same as `queue`.")(queue_command)


@app.command("explain")
def explain_command(
    ref: Ref,
    deadline: Annotated[Optional[str], typer.Option(
        "--deadline", help="Only this kind: first_response, resolution, escalation, step, or a warning.")] = None,
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """How each deadline was reached: the policy and calendar, every stretch of working time counted, every day
    skipped and why, every pause and re-plan."""
    here = seat(as_user)
    story = here.call("explain", ref, deadline=deadline)
    if as_json:
        print_json(story)
    else:
        from workflow.faces.cli.explaining import print_explanation

        print_explanation(story, here.timezone, here.now())


@app.command("history")
def history_command(ref: Ref, as_user: As = None, as_json: Json = False) -> None:
    """The complaint's audit trail."""
    here = seat(as_user)
    trail = here.call("history", ref)
    if as_json:
        print_json(trail)
    else:
        from workflow.faces.cli.tables import print_history

        print_history(trail, here.timezone, here.now())


@app.command()
def escalations(
    level: Annotated[Optional[str], typer.Option(help="Only this level: senior, supervisor or manager.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 100,
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Escalated open complaints by level and business time past the deadline, longest past first."""
    from workflow.faces.seat import first_rows

    rows, more = first_rows(seat(as_user), "escalations", limit, level=level)
    if as_json:
        print_json(rows)
    else:
        from workflow.faces.cli.tables import print_escalations

        print_escalations(rows, more=more)
