"""Staff users and their roles."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from workflow.faces.cli.common import As, Json, print_json, redress, say

app = typer.Typer()
user_app = typer.Typer(help="Staff users and their roles.", no_args_is_help=True)
app.add_typer(user_app, name="user")


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="Login name, e.g. li.na")],
    role: Annotated[str, typer.Option(help="agent, senior, supervisor or manager.")],
    display_name: Annotated[Optional[str], typer.Option("--display-name", help="Full name.")] = None,
    email: Annotated[Optional[str], typer.Option(help="Email address for SLA alerts.")] = None,
    as_user: As = None,
) -> None:
    """Add a staff user (managers only; the first user must be a manager)."""
    from workflow.services.people import add_user

    record = add_user(redress(), as_user, name, role, display_name, email)
    say(f"added {record.role} {record.name} ({record.display_name})")


@user_app.command("list")
def user_list(as_json: Json = False) -> None:
    """Staff users and roles."""
    from dataclasses import asdict

    from workflow.services.people import list_users

    users = [asdict(u) for u in list_users(redress())]
    if as_json:
        print_json(users)
    else:
        from workflow.faces.cli.tables import print_rows

        print_rows("Users", users)
