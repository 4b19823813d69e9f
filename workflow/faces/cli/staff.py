"""Staff users: adding them, their roles and profiles, and a leaver's departure with their work handed over."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from workflow.faces.cli.common import As, Json, print_json, redress, say

app = typer.Typer()
user_app = typer.Typer(help="Staff users and their roles.", no_args_is_help=True)
app.add_typer(user_app, name="user")

Name = Annotated[str, typer.Argument(help="Login name, e.g. li.na")]


@user_app.command("add")
def user_add(
    name: Name,
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
def user_list(
    include_inactive: Annotated[bool, typer.Option("--all", help="Also users who were deactivated.")] = False,
    as_json: Json = False,
) -> None:
    """Staff users and roles (active ones; --all adds leavers)."""
    from dataclasses import asdict

    from workflow.services.people import list_users

    users = [asdict(u) for u in list_users(redress(), include_inactive=include_inactive)]
    if as_json:
        print_json(users)
        return
    from workflow.faces.cli.tables import print_rows

    for user in users:
        active = user.pop("active")
        if include_inactive:
            user["status"] = "active" if active else "deactivated"
    print_rows("Users", users)


@user_app.command("show")
def user_show(name: Name, as_json: Json = False) -> None:
    """A user's profile, the open complaints they hold, and every change made to them."""
    from workflow.services.handover import user_profile

    profile = user_profile(redress(), name)
    if as_json:
        print_json(profile)
        return
    from workflow.faces.cli.tables import print_rows
    from workflow.services.audit import describe

    tz = redress().config.timezone
    status = "active" if profile["active"] else f"deactivated {_local(profile['deactivated_at'], tz)}"
    say(f"{profile['name']} ({profile['display_name']})  {profile['role']}  {profile['email'] or 'no email'}  "
        f"{status}")
    if profile["open_complaints"]:
        print_rows(f"Open complaints ({len(profile['open_complaints'])})", profile["open_complaints"])
    else:
        say("no open complaints")
    if profile["changes"]:
        print_rows("Changes", [{"at": _local(c["at"], tz), "by": c["actor"], "action": c["action"],
                                "changes": describe(c["changes"]), "reason": c["reason"]}
                               for c in profile["changes"]])


@user_app.command("role")
def user_role(
    name: Name,
    to: Annotated[str, typer.Option("--to", help="agent, senior, supervisor or manager.")],
    reason: Annotated[Optional[str], typer.Option(help="Why, for the audit record; may be left out.")] = None,
    as_user: As = None,
) -> None:
    """Change a user's role (managers only; the last manager cannot be demoted)."""
    from workflow.services.people import change_role

    record = change_role(redress(), as_user, name, to, reason)
    say(f"{record.name} is now a {record.role}")


@user_app.command("edit")
def user_edit(
    name: Name,
    email: Annotated[Optional[str], typer.Option(help="Email address for SLA alerts.")] = None,
    display_name: Annotated[Optional[str], typer.Option("--display-name", help="Full name.")] = None,
    as_user: As = None,
) -> None:
    """Set a user's email or display name (managers only)."""
    from workflow.services.people import edit_user

    record = edit_user(redress(), as_user, name, email=email, display_name=display_name)
    say(f"{record.name} ({record.display_name})  {record.email or 'no email'}")


@user_app.command("deactivate")
def user_deactivate(
    name: Name,
    reason: Annotated[Optional[str], typer.Option(help="Why the user leaves (required).")] = None,
    handover_to: Annotated[
        Optional[str], typer.Option("--handover-to", help="The active user who takes over their open complaints.")
    ] = None,
    to_queue: Annotated[
        bool, typer.Option("--to-queue", help="Put their open complaints back in the team queue, unassigned.")
    ] = False,
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Deactivate a leaver and hand over every open complaint they hold, in one step (managers only)."""
    from dataclasses import asdict

    from workflow.services.handover import deactivate_user

    departure = deactivate_user(redress(), as_user, name, reason=reason, handover_to=handover_to,
                                to_queue=to_queue)
    if as_json:
        print_json(asdict(departure))
        return
    count = len(departure.complaints)
    say(f"deactivated {departure.user} ({departure.reason}); "
        + (f"{count} open complaint{'s' if count != 1 else ''} handed over to {departure.to}:" if count
           else "no open complaints to hand over"))
    for moved in departure.complaints:
        state = moved.to_state if moved.from_state == moved.to_state else f"{moved.from_state} -> {moved.to_state}"
        say(f"  {moved.number}: {state} [version {moved.version}]")


@user_app.command("reactivate")
def user_reactivate(
    name: Name,
    reason: Annotated[Optional[str], typer.Option(help="Why, for the audit record; may be left out.")] = None,
    as_user: As = None,
) -> None:
    """Let a deactivated user act again (managers only)."""
    from workflow.services.handover import reactivate_user

    reactivate_user(redress(), as_user, name, reason)
    say(f"reactivated {name}")


def _local(iso: object, tz: str) -> str:
    from datetime import datetime

    from workflow.domain.clock import local_minute

    return local_minute(datetime.fromisoformat(str(iso)), tz)
