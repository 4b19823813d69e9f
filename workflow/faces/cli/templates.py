"""The templates customer messages come from: preview one for a complaint, check them all."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from workflow.faces.cli.common import Json, print_json, redress, row_id, say

if TYPE_CHECKING:
    from notifications.customer import Preview

app = typer.Typer()
templates_app = typer.Typer(help="Customer message templates: preview and check.", no_args_is_help=True)
app.add_typer(templates_app, name="templates")


@templates_app.command("preview")
def templates_preview(
    name: Annotated[str, typer.Argument(help="Template name, e.g. apology_letter.")],
    complaint: Annotated[str, typer.Option(help="Complaint number or id to render for.")],
    locale: Annotated[Optional[str], typer.Option(help="zh-CN, zh-TW or en (default: the customer's).")] = None,
    step: Annotated[Optional[int], typer.Option(help="The compensation step a notice is about.",
                                                callback=row_id("compensation step"))] = None,
    as_json: Json = False,
) -> None:
    """Show what the customer would get: the channel, subject, plain text, HTML and SMS. Nothing is sent.

    Warns (on stderr) when the complaint is not in a state in which this message is sent.
    """
    from dataclasses import asdict

    from notifications.customer import preview
    from workflow.services.effects import states_sending

    shown = preview(redress(), name, complaint, language=locale, step_id=step)
    states = states_sending(name)
    warning = (f"{shown.number} is {shown.state}; {name} is sent only when a complaint is {_either(states)}"
               if states is not None and shown.state not in states else None)
    if warning:
        typer.echo(f"warning: {warning}", err=True)
    if as_json:
        print_json(asdict(shown.rendered) | {"channel": shown.channel, "recipient": shown.recipient,
                                             "state": shown.state, "sent_in": states, "warning": warning})
        return
    rendered = shown.rendered
    say(f"channel: {_channel(shown)}{f' ({shown.recipient})' if shown.recipient else ''}\n"
        f"locale: {rendered.locale}\nsubject: {rendered.subject}\n\n--- text ---\n{rendered.text}"
        f"\n--- html ---\n{rendered.html}\n--- sms ---\n{rendered.sms}")


def _either(states: tuple[str, ...]) -> str:
    """'resolved or closed', 'triaged, assigned or routed'."""
    return " or ".join(filter(None, (", ".join(states[:-1]), states[-1])))


def _channel(shown: Preview) -> str:
    """'email', 'sms', 'staff alert channels', or 'none' for a customer with no way to reach them."""
    from notifications.customer import CUSTOMER_EMAIL, CUSTOMER_SMS, STAFF_ALERT

    if shown.channel is not None:
        return {CUSTOMER_EMAIL: "email", CUSTOMER_SMS: "sms"}[shown.channel]
    return "staff alert channels" if shown.template == STAFF_ALERT else "none (no email or SMS reaches this customer)"


@templates_app.command("check")
def templates_check() -> None:
    """Render every template in every locale with sample data; fail on any error."""
    from notifications.rendering import LANGUAGES, TEMPLATE_NAMES, check_all
    from workflow.domain.errors import TemplateBroken

    wired = redress()
    problems = check_all(wired.renderer, wired.clock.now())
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        raise TemplateBroken(f"{len(problems)} template(s) do not render")
    typer.echo(f"all {len(TEMPLATE_NAMES)} templates render in {', '.join(LANGUAGES)}")
