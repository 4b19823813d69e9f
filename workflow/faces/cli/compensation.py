"""What a customer gets after a complaint: compensation steps, and the satisfaction survey's answers."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from workflow.faces.cli.common import As, Json, Note, Reason, Ref, print_json, print_table, row_id, say, seat

app = typer.Typer()
compensation_app = typer.Typer(help="Compensation steps: list, add, remove, approve, reject, mark done.",
                               no_args_is_help=True)
survey_app = typer.Typer(help="Satisfaction survey answers and scores.", no_args_is_help=True)
app.add_typer(compensation_app, name="compensation")
app.add_typer(survey_app, name="survey")

StepId = Annotated[int, typer.Argument(help="Compensation step id (see `redress compensation list`).",
                                         callback=row_id("compensation step"))]


def _report_step(outcome: Any, as_json: bool) -> None:
    if as_json:
        from dataclasses import asdict

        print_json(asdict(outcome))
        return
    moved = f"{outcome.from_state} -> {outcome.to_state}" if outcome.from_state else outcome.to_state
    why = f" ({outcome.approval_reason})" if outcome.approval_reason else ""
    say(f"step {outcome.id} ({outcome.kind}) of {outcome.complaint}: {moved}{why}")


@compensation_app.command("list")
def compensation_list(
    ref: Annotated[Optional[str], typer.Argument(help="Only this complaint's steps.")] = None,
    state: Annotated[Optional[str], typer.Option(help="planned, awaiting_approval, approved, done, cancelled.")] = None,
    mine_to_approve: Annotated[bool, typer.Option("--to-approve", help="Steps the acting user may approve.")] = False,
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Compensation steps, soonest due first."""
    here = seat(as_user)
    rows = here.call("compensation", ref, state=state, mine_to_approve=mine_to_approve)
    if as_json:
        print_json(rows)
        return
    from workflow.faces.cli.tables import print_steps

    print_steps(rows, here.timezone, here.now())


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
    _report_step(seat(as_user).call("add_step", ref, kind, amount=amount, reason=reason), as_json)


@compensation_app.command("remove")
def compensation_remove(step: StepId, reason: Reason = None, as_user: As = None, as_json: Json = False) -> None:
    """Take a step out of the plan, with a reason."""
    _report_step(seat(as_user).call("remove_step", step, reason), as_json)


@compensation_app.command("approve")
def compensation_approve(step: StepId, note: Note = None, as_user: As = None, as_json: Json = False) -> None:
    """Approve money above the requester's limit (a higher role; never your own request)."""
    _report_step(seat(as_user).call("approve_step", step, note), as_json)


@compensation_app.command("reject")
def compensation_reject(step: StepId, reason: Reason = None, as_user: As = None, as_json: Json = False) -> None:
    """Refuse a request for money, with a reason."""
    _report_step(seat(as_user).call("reject_step", step, reason), as_json)


@compensation_app.command("done")
def compensation_done(step: StepId, note: Note = None, as_user: As = None, as_json: Json = False) -> None:
    """Mark a step carried out (refund paid, replacement shipped); the customer is told."""
    _report_step(seat(as_user).call("complete_step", step, note), as_json)


@survey_app.command("record")
def survey_record(
    ref: Ref,
    score: Annotated[int, typer.Option(help="The customer's score, 1 (very unhappy) to 5 (very satisfied).")],
    comment: Annotated[Optional[str], typer.Option(help="What the customer said.")] = None,
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Store the answer the customer gave on a call-back; a low score follows the configured policy."""
    outcome = seat(as_user).call("record_survey", ref, score, comment)
    if as_json:
        from dataclasses import asdict

        print_json(asdict(outcome))
        return
    say(f"{outcome.complaint}: score {outcome.score} recorded"
        + (f"; low score: {outcome.follow_up}" if outcome.low else ""))


@survey_app.command("scores")
def survey_scores(
    by: Annotated[str, typer.Option(help="Group by agent or category.")] = "agent",
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Average satisfaction score per agent or category."""
    rows = seat(as_user).call("survey_scores", by)
    print_table(f"Satisfaction by {by}", rows, as_json, (by, "answers", "average"))
