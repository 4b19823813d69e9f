"""Commands that only read: a complaint, the queue, its history, a customer, the policy manual, the escalations.

These are the commands people and scripts run most often, so `cli.run` lets them
leave without interpreter teardown (QUICK_EXIT).
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from workflow.faces.cli.common import As, Json, Ref, print_json, redress

QUICK_EXIT = True

app = typer.Typer()
customer_app = typer.Typer(help="Customer profiles.", no_args_is_help=True)
kb_app = typer.Typer(help="The policy manual answered from at first contact.", no_args_is_help=True)
app.add_typer(customer_app, name="customer")
app.add_typer(kb_app, name="kb")


@app.command()
def show(ref: Ref, as_json: Json = False) -> None:
    """One complaint, with the actions its state allows."""
    from workflow.read.queries import complaint_detail

    detail = complaint_detail(redress(), ref)
    if as_json:
        print_json(detail)
    else:
        from workflow.faces.cli.tables import print_complaint

        print_complaint(detail, redress().config.timezone)


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

    rows = queue(redress(), actor=as_user, mine=mine, state=state, include_closed=all_, limit=limit)
    if as_json:
        print_json(rows)
    else:
        from workflow.faces.cli.tables import print_queue

        print_queue(rows, redress().config.timezone)


app.command("list", help="Same as `queue`.")(queue_command)


@app.command("history")
def history_command(ref: Ref, as_json: Json = False) -> None:
    """The complaint's audit trail."""
    from workflow.read.queries import history

    trail = history(redress(), ref)
    if as_json:
        print_json(trail)
    else:
        from workflow.faces.cli.tables import print_history

        print_history(trail, redress().config.timezone)


@customer_app.command("show")
def customer_show(
    ref: Annotated[str, typer.Argument(help="Customer id, phone or email.")], as_json: Json = False
) -> None:
    """A customer's profile and complaint history."""
    from workflow.read.queries import customer_detail

    detail = customer_detail(redress(), ref)
    if as_json:
        print_json(detail)
    else:
        from workflow.faces.cli.tables import print_customer

        print_customer(detail, redress().config.timezone)


@kb_app.command("search")
def kb_search(
    text: Annotated[str, typer.Argument(help="Words of the question, Chinese or English.")],
    language: Annotated[Optional[str], typer.Option(help="Show answers in zh-CN, zh-TW or en.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many answers.")] = 5,
    as_json: Json = False,
) -> None:
    """Find policy answers to give on the line."""
    from dataclasses import asdict

    from workflow.services.kb import policy_answers

    rows = [asdict(hit) for hit in policy_answers(redress(), text, language=language, limit=limit)]
    if as_json:
        print_json(rows)
    else:
        from workflow.faces.cli.tables import print_kb_hits

        print_kb_hits(text, rows)


@app.command()
def escalations(
    level: Annotated[Optional[str], typer.Option(help="Only this level: senior, supervisor or manager.")] = None,
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Escalated open complaints by level and time past the deadline."""
    from workflow.services.supervision import escalation_board

    rows = escalation_board(redress(), as_user, level=level)
    if as_json:
        print_json(rows)
    else:
        from workflow.faces.cli.tables import print_rows

        print_rows(f"Escalations ({len(rows)})", [
            {k: r[k] for k in ("number", "level", "severity", "state", "assignee", "minutes_past_deadline",
                               "acknowledged", "summary")} for r in rows])
