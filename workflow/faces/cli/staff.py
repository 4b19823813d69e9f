"""Staff users: adding them, their roles and profiles, and a leaver's departure with their work handed over."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from workflow.faces.cli.common import As, Json, print_json, say, seat

app = typer.Typer()
user_app = typer.Typer(help="Staff users and their roles.", no_args_is_help=True)
app.add_typer(user_app, name="user")

Name = Annotated[str, typer.Argument(help="Login name, e.g. li.na")]
AuditReason = Annotated[Optional[str], typer.Option(help="Why, for the audit record; may be left out.")]


@user_app.command("add")
def user_add(
    name: Name,
    role: Annotated[str, typer.Option(help="agent, senior, supervisor or manager.")],
    display_name: Annotated[Optional[str], typer.Option("--display-name", help="Full name.")] = None,
    email: Annotated[Optional[str], typer.Option(help="Email address for SLA alerts.")] = None,
    os_user: Annotated[Optional[str], typer.Option(
        "--os-user", help="The operating-system account that acts as them on a direct database seat.")] = None,
    as_user: As = None,
) -> None:
    """Add a staff user (managers only, audited; the first user must be a manager)."""
    from workflow.faces.seat import DirectSeat
    from workflow.services.people import add_user, has_staff

    here = seat(as_user)
    if isinstance(here, DirectSeat) and not has_staff(here.app):  # the first user: nobody yet to act as
        if os_user is None and not here.app.config.identity.trust_claims:
            from workflow.services.signin import os_account

            os_user = os_account()  # else nobody could act after them: the one at this machine is the first
        record = add_user(here.app, None, name, role, display_name, email, os_user)
        if os_user:
            say(f"the operating-system account '{os_user}' acts as {name} on this database")
    else:
        record = here.call("add_user", name, role, display_name, email, os_user)
    say(f"added {record.role} {record.name} ({record.display_name})")


@user_app.command("list")
def user_list(
    include_inactive: Annotated[bool, typer.Option("--all", help="Also users who were deactivated.")] = False,
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Staff users and roles (active ones; --all adds leavers)."""
    from dataclasses import asdict

    users = [asdict(u) for u in seat(as_user).call("users", include_inactive=include_inactive)]
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
def user_show(name: Name, as_user: As = None, as_json: Json = False) -> None:
    """A user's profile, the open complaints they hold, and every change made to them."""
    here = seat(as_user)
    profile = here.call("user", name)
    if as_json:
        print_json(profile)
        return
    from workflow.faces.cli.tables import print_rows
    from workflow.services.audit import describe

    tz = here.timezone
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
    reason: AuditReason = None,
    as_user: As = None,
) -> None:
    """Change a user's role (managers only; the last manager cannot be demoted)."""
    record = seat(as_user).call("change_role", name, to, reason)
    say(f"{record.name} is now a {record.role}")


@user_app.command("edit")
def user_edit(
    name: Name,
    email: Annotated[Optional[str], typer.Option(help="Email address for SLA alerts.")] = None,
    display_name: Annotated[Optional[str], typer.Option("--display-name", help="Full name.")] = None,
    os_user: Annotated[Optional[str], typer.Option(
        "--os-user", help="The operating-system account that acts as them on a direct database seat.")] = None,
    as_user: As = None,
) -> None:
    """Set a user's email, display name or operating-system account (managers only)."""
    record = seat(as_user).call("edit_user", name, email=email, display_name=display_name, os_user=os_user)
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

    departure = seat(as_user).call("deactivate_user", name, reason=reason, handover_to=handover_to,
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
    reason: AuditReason = None,
    as_user: As = None,
) -> None:
    """Let a deactivated user act again (managers only)."""
    seat(as_user).call("reactivate_user", name, reason)
    say(f"reactivated {name}")


@user_app.command("password")
def user_password(
    name: Name,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the new password from standard input (for scripts).")] = False,
    as_user: As = None,
) -> None:
    """Set someone's password (managers): it unlocks them and ends their sessions."""
    from workflow.faces.cli.signing import new_password

    seat(as_user).call("reset_password", name, new_password(password_stdin))
    say(f"password set for {name}; their sessions were ended")


@user_app.command("revoke")
def user_revoke(
    name: Name,
    reason: AuditReason = None,
    as_user: As = None,
) -> None:
    """End every session and token of a user at once (managers; anyone for themselves)."""
    revoked = seat(as_user).call("revoke_sign_ins", name, reason)
    say(f"revoked {revoked['revoked']} session(s) and token(s) of {name}")


def _local(iso: object, tz: str) -> str:
    from datetime import datetime

    from workflow.domain.clock import local_minute

    return local_minute(datetime.fromisoformat(str(iso)), tz)
