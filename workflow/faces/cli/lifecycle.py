"""Commands that move a complaint through its life: intake, the simple steps (from one table), and the rest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, NamedTuple, Optional

import typer

from workflow.faces.cli.common import As, IfVersion, Json, Message, Ref, run

app = typer.Typer()


def _service(name: str) -> Callable[..., Any]:
    """A lifecycle use case by name, imported when the command runs."""
    from workflow.services import lifecycle

    service: Callable[..., Any] = getattr(lifecycle, name)
    return service


class Step(NamedTuple):
    """A command that is one lifecycle call on a complaint, optionally with a message."""

    name: str
    service: str
    help: str
    message: bool


STEPS = (
    Step("triage", "triage", "Confirm category and severity; the complaint joins the open list.", False),
    Step("start", "start", "Start working on an assigned complaint.", False),
    Step("respond", "respond", "Record what the customer was told.", True),
    Step("wait", "wait_for_customer", "Wait for the customer (say what for).", True),
    Step("replied", "customer_replied", "The customer came back; work resumes.", True),
    Step("feedback", "owner_feedback", "Record the owner's feedback; the complaint comes back to the agent.", True),
    Step("resolve", "resolve", "Record what was done for the customer.", True),
    Step("close", "close", "Close the complaint number.", True),
    Step("reopen", "reopen", "Reopen a resolved or closed complaint (say why).", True),
    Step("note", "add_note", "Add an internal note to the timeline.", True),
)


def _step_command(step: Step) -> Callable[..., None]:
    """The Typer command for one row of STEPS: the same options and output as a hand-written one."""
    if step.message:
        def with_message(ref: Ref, message: Message = None, as_user: As = None, if_version: IfVersion = None,
                         as_json: Json = False) -> None:
            run(_service(step.service), as_json, as_user, ref, message, expected_version=if_version)
        return with_message

    def plain(ref: Ref, as_user: As = None, if_version: IfVersion = None, as_json: Json = False) -> None:
        run(_service(step.service), as_json, as_user, ref, expected_version=if_version)
    return plain


for _step in STEPS:
    app.command(_step.name, help=_step.help)(_step_command(_step))


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
    run(
        _service("file_complaint"), as_json, as_user, channel=channel, category=category, summary=summary,
        phone=phone, email=email, name=name, tier=tier, language=language,
        order_ref=order, severity=severity, answer_id=answer,
    )


@app.command("severity")
def severity_command(
    ref: Ref,
    to: Annotated[str, typer.Option("--to", help="The new severity.")],
    reason: Annotated[Optional[str], typer.Option(help="Why it changes (required).")] = None,
    as_user: As = None, if_version: IfVersion = None, as_json: Json = False,
) -> None:
    """Change the severity, with a reason. Lowering needs a senior agent or above."""
    run(_service("change_severity"), as_json, as_user, ref, to, reason, expected_version=if_version)


@app.command()
def take(ref: Ref, as_user: As = None, if_version: IfVersion = None, as_json: Json = False) -> None:
    """Assign the complaint to yourself."""
    run(_service("assign"), as_json, as_user, ref, None, expected_version=if_version)


@app.command("assign")
def assign_command(
    ref: Ref,
    to: Annotated[str, typer.Option("--to", help="The user to assign to.")],
    message: Annotated[Optional[str], typer.Option("--message", "-m", help="Why (optional).")] = None,
    as_user: As = None, if_version: IfVersion = None, as_json: Json = False,
) -> None:
    """Assign or reassign the complaint to someone (senior agent or above)."""
    run(_service("assign"), as_json, as_user, ref, to, note=message, expected_version=if_version)


@app.command("route")
def route_command(
    ref: Ref,
    owner: Annotated[Optional[str], typer.Option(help="Responsible department or person (required).")] = None,
    message: Message = None, as_user: As = None, if_version: IfVersion = None, as_json: Json = False,
) -> None:
    """Hand the complaint to a responsible owner to investigate."""
    run(_service("route"), as_json, as_user, ref, owner, message, expected_version=if_version)


@app.command("cancel")
def cancel_command(
    ref: Ref,
    reason: Annotated[str, typer.Option(help="duplicate, spam or withdrawn.")],
    duplicate_of: Annotated[Optional[str], typer.Option(help="The original, for a duplicate.")] = None,
    message: Message = None, as_user: As = None, if_version: IfVersion = None, as_json: Json = False,
) -> None:
    """Cancel a duplicate, spam or withdrawn complaint."""
    run(_service("cancel"), as_json, as_user, ref, reason, duplicate_of=duplicate_of, note=message,
        expected_version=if_version)


@app.command("answer")
def answer_command(
    ref: Ref,
    answer_id: Annotated[str, typer.Argument(help="Policy answer id (see `redress kb search`).")],
    as_user: As = None, if_version: IfVersion = None, as_json: Json = False,
) -> None:
    """Answer from the policy manual and close, in one step."""
    run(_service("answer_from_manual"), as_json, as_user, ref, answer_id, expected_version=if_version)
