"""Signing in to a Redress server and out again, one's password, named tokens for scripts, API keys for systems.

A token is printed once, when it is made, and never again: only its hash is kept. Passwords are read without
echo (or from standard input with --password-stdin), never from an option a process list would show.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from workflow.faces.cli.common import As, Json, print_json, print_table, say, seat

if TYPE_CHECKING:
    from workflow.services.signin import IssuedToken

app = typer.Typer()
token_app = typer.Typer(help="Named tokens for scripts: create, list, revoke.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for systems (web forms, gateways, the telephony pop): managers.",
                         no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(apikey_app, name="apikey")

PasswordStdin = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the password from standard input (for scripts), not the terminal.")]
Scopes = Annotated[list[str], typer.Option(
    "--scope", help="What it may do (repeat): read, file, file:CHANNEL, work, compensation, supervise, staff, "
                    "lookup, account, inbound.")]


def _read_password(prompt: str, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    return getpass.getpass(prompt)


def new_password(from_stdin: bool) -> str:
    """A new password, typed twice at a terminal (once from standard input)."""
    first = _read_password("New password: ", from_stdin)
    if not from_stdin and _read_password("Again: ", False) != first:
        from workflow.domain.errors import InvalidInput

        raise InvalidInput("the two passwords differ; nothing was changed")
    return first


@app.command()
def login(
    server: Annotated[str, typer.Option(help="The Redress server, e.g. https://redress.example.com.")],
    name: Annotated[Optional[str], typer.Option("--user", help="Your user name (asked for if left out).")] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Sign in to a Redress server; every agent and supervisor command then acts through it as you."""
    from workflow.faces.remote import save_sign_in, sign_in

    user = name or typer.prompt("User")
    saved = sign_in(server, user, _read_password("Password: ", password_stdin))
    path = save_sign_in(saved)
    say(f"signed in to {saved.server} as {saved.name} ({saved.role}) until {saved.expires_at[:16]} UTC; "
        f"the token is in {path}")


@app.command()
def logout() -> None:
    """Sign out: the server revokes the token and this machine forgets it."""
    from workflow.domain.errors import NotSignedIn
    from workflow.faces.remote import RemoteSeat, forget_sign_in, saved_sign_in

    saved = saved_sign_in()
    if saved is None:
        say("not signed in")
        return
    try:
        RemoteSeat(saved).call("sign_out")
    except NotSignedIn:
        pass  # already expired or revoked: forgetting it is all that is left
    forget_sign_in()
    say(f"signed out of {saved.server} ({saved.name})")


@app.command()
def whoami(as_user: As = None, as_json: Json = False) -> None:
    """Who this seat acts as, and how: a server sign-in, a claim the config trusts, or the OS account."""
    from workflow.faces.remote import RemoteSeat

    here = seat(as_user)
    where = here.saved.server if isinstance(here, RemoteSeat) else "this database"
    found = {"name": here.user, "role": here.role, "on": where}
    if as_json:
        print_json(found)
        return
    say(f"{found['name']} ({found['role']}) on {where}")


@app.command()
def password(as_user: As = None) -> None:
    """Change your own password (the current one is asked for; your other sessions end)."""
    here = seat(as_user)
    current = _read_password("Current password (empty if none was set): ", False)
    here.call("set_password", current or None, new_password(False))
    say(f"password changed for {here.user}")


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. nightly-export.")],
    scopes: Scopes,
    days: Annotated[Optional[int], typer.Option(help="Days until it expires (at most the config's limit).")] = None,
    as_user: As = None,
) -> None:
    """A named token for your scripts, limited to the scopes given; printed this once and never again."""
    _print_issued(seat(as_user).call("create_token", name, scopes, days))


@token_app.command("list")
def token_list(
    everyone: Annotated[bool, typer.Option("--all", help="Everyone's tokens and API keys (managers).")] = False,
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Your tokens and sessions (never the tokens themselves)."""
    from dataclasses import asdict

    rows = [asdict(token) for token in seat(as_user).call("tokens", everyone=everyone)]
    print_table("Tokens", rows, as_json, ("id", "user", "kind", "name", "scopes", "expires_at", "revoked_at"))


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (see `redress token list`).")],
    as_user: As = None,
) -> None:
    """Revoke a token at once: yours, or (managers) anyone's or an API key."""
    seat(as_user).call("revoke_token", token_id)
    say(f"token {token_id} revoked")


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Argument(help="The system's name, e.g. web-form; it acts under this name.")],
    scopes: Scopes,
    as_user: As = None,
) -> None:
    """An API key for a system, limited to the scopes given (e.g. --scope file:web); printed this once."""
    _print_issued(seat(as_user).call("create_api_key", name, scopes))


@apikey_app.command("revoke")
def apikey_revoke(
    token_id: Annotated[int, typer.Argument(help="The key's id (see `redress token list --all`).")],
    as_user: As = None,
) -> None:
    """Revoke an API key at once (managers)."""
    seat(as_user).call("revoke_token", token_id)
    say(f"API key {token_id} revoked")


def _print_issued(issued: IssuedToken) -> None:
    """The one time a token is shown (no --json: a secret never goes into output scripts keep or log)."""
    say(f"token {issued.id} '{issued.name}' for {issued.user}, scopes {issued.scopes}, "
        f"expires {issued.expires_at or 'never'}; it is shown this once, keep it in a secret store:")
    say(issued.token)
