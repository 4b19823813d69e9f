"""The templates customer messages come from: preview one for a complaint, check them all."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from workflow.faces.cli.common import Json, print_json, redress, row_id, say

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
    """Show what the customer would get: subject, plain text, HTML and SMS. Nothing is sent."""
    from dataclasses import asdict

    from notifications.customer import preview

    rendered = preview(redress(), name, complaint, language=locale, step_id=step)
    if as_json:
        print_json(asdict(rendered))
        return
    say(f"locale: {rendered.locale}\nsubject: {rendered.subject}\n\n--- text ---\n{rendered.text}"
        f"\n--- html ---\n{rendered.html}\n--- sms ---\n{rendered.sms}")


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
