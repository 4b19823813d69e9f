"""Commands that move a complaint through its life: one per row of the actions table, intake, and the answer.

The rows come from workflow/faces/actions.py, shared with the terminal app. Filing (`new`) and answering from
the manual (`answer`, whose answer id is an argument) are written out here, as the table explains.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from workflow.faces.actions import ACTIONS, Ask, LifecycleAction, call
from workflow.faces.cli.common import As, IfVersion, Json, Ref, print_json, report, say, seat

if TYPE_CHECKING:
    from workflow.services.compensation import PlannedStep
    from workflow.services.transition import Outcome

app = typer.Typer()
KEYWORD = inspect.Parameter.KEYWORD_ONLY


def _option(ask: Ask) -> inspect.Parameter:
    """The command-line option of one value an action asks for."""
    option = typer.Option(*ask.flags, help=ask.help)
    if ask.option_required:
        return inspect.Parameter(ask.name, KEYWORD, annotation=Annotated[str, option])
    return inspect.Parameter(ask.name, KEYWORD, default=None, annotation=Annotated[Optional[str], option])


def _command(action: LifecycleAction) -> Callable[..., None]:
    """The Typer command for one row of the actions table: the complaint, what the row asks for, the common options.

    Typer reads a command's options from its signature, so the row's options are given as one.
    """
    def command(ref: str, as_user: str | None, if_version: int | None, as_json: bool, **values: str | None) -> None:
        tell(call(action, seat(as_user), ref, values, if_version), as_json)

    command.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
        inspect.Parameter("ref", KEYWORD, annotation=Ref),
        *(_option(ask) for ask in action.asks),
        inspect.Parameter("as_user", KEYWORD, default=None, annotation=As),
        inspect.Parameter("if_version", KEYWORD, default=None, annotation=IfVersion),
        inspect.Parameter("as_json", KEYWORD, default=False, annotation=Json),
    ])
    return command


for _action in ACTIONS:
    if _action.command is not None:
        app.command(_action.command, help=_action.help)(_command(_action))


@app.command()
def new(
    channel: Annotated[str, typer.Option(help="phone, web, email, chat, sms, fax or letter.")],
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
    """Record a complaint from any channel; name the customer's other open complaints and those about the order."""
    from dataclasses import asdict

    from workflow.faces.related import related_lines

    here = seat(as_user)
    outcome = here.call(
        "file", channel=channel, category=category, summary=summary,
        phone=phone, email=email, name=name, tier=tier, language=language,
        order_ref=order, severity=severity, answer_id=answer,
    )
    related = here.call("related", outcome.id)
    if as_json:
        print_json(asdict(outcome) | {"related": asdict(related)})
        return
    tell(outcome, as_json)
    for line in related_lines(related):
        say(line)


@app.command("answer")
def answer_command(
    ref: Ref,
    answer_id: Annotated[str, typer.Argument(help="Policy answer id (see `redress kb search`).")],
    as_user: As = None, if_version: IfVersion = None, as_json: Json = False,
) -> None:
    """Answer from the policy manual and close, in one step; prints the answer to read to the customer."""
    tell(seat(as_user).call("answer", ref, answer_id, expected_version=if_version), as_json)


def tell(outcome: Outcome, as_json: bool) -> None:
    """The outcome line, then what the agent says or hears next: the answer to read out, the steps planned."""
    report(outcome, as_json)
    if as_json:
        return
    from states.compensation import AWAITING_APPROVAL

    if outcome.answer:
        say(f"read to the customer:\n  {outcome.answer}")
    planned = [s for s in outcome.planned_steps if s.state != AWAITING_APPROVAL]
    waiting = [s for s in outcome.planned_steps if s.state == AWAITING_APPROVAL]
    parts = []
    if planned:
        parts.append("planned: " + ", ".join(f"{_step(s)} (due {_due(s.due_at)})" for s in planned))
    if waiting:
        parts.append("waiting for approval: " + ", ".join(
            f"{_step(s)} ({f'a {s.approver_role} approves' if s.approver_role else 'no role may approve this much'}"
            f"{'; ' + s.approval_reason if s.approval_reason else ''})" for s in waiting))
    if parts:
        say("; ".join(parts))


def _step(step: PlannedStep) -> str:
    amount = f" {step.amount} {step.currency}" if step.amount else ""
    return f"{step.kind}{amount} #{step.id}"


def _due(iso: str) -> str:
    """A due time as the agent reads it: local month-day and minute."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(iso).astimezone(ZoneInfo(seat().timezone)).strftime("%m-%d %H:%M")
