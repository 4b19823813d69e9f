"""What every command group shares: the common options, the one Redress of a run, output helpers, the error funnel.

Imports are lazy: a command pays only for the services and tables it uses.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

if TYPE_CHECKING:
    from workflow.bootstrap import Redress
    from workflow.faces.seat import Seat
    from workflow.services.lifecycle import Outcome

options: dict[str, Optional[str]] = {"config": None, "db": None}
"""The global --config and --db, set by the root callback before any command runs."""

_context: dict[str, Any] = {}

As = Annotated[Optional[str], typer.Option(
    "--as", envvar="REDRESS_USER", help="Act as this user (a direct seat whose config trusts claims).")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON only, for scripts.")]
Ref = Annotated[str, typer.Argument(help="Complaint number (C-20261122-0007) or id.")]
IfVersion = Annotated[
    Optional[int],
    typer.Option("--if-version", help="Refuse if the complaint changed since you read this version."),
]
Message = Annotated[Optional[str], typer.Option("--message", "-m", help="The text (required).")]
Reason = Annotated[Optional[str], typer.Option(help="Why, for the record (required).")]
Note = Annotated[Optional[str], typer.Option("--note", "-m", help="A note for the timeline.")]


def row_id(what: str) -> Callable[[Optional[int]], Optional[int]]:
    """A parameter callback: an id no row can have is a one-line NotFound, before any database is asked."""
    def check(value: Optional[int]) -> Optional[int]:
        from workflow.adapters.records import row_id as checked

        return None if value is None else checked(value, what)
    return check


def redress() -> Redress:
    """The application of this run, wired on first use from --config and --db."""
    if "app" not in _context:
        from workflow.bootstrap import bootstrap

        _context["app"] = bootstrap(options["config"], options["db"])
    app: Redress = _context["app"]
    return app


def seat(as_user: str | None = None) -> Seat:
    """Where this run's calls go: the server this user signed in to, else the database (--db wins over a
    sign-in, for an operator at the database)."""
    if "seat" not in _context:
        from workflow.faces.remote import RemoteSeat, saved_sign_in
        from workflow.faces.seat import DirectSeat

        saved = None if options["db"] else saved_sign_in()
        if saved is None:
            _context["seat"] = DirectSeat(redress(), as_user)
        elif as_user:
            from workflow.domain.errors import UsageError

            raise UsageError(f"--as and REDRESS_USER are not used when signed in: you act as {saved.name} on "
                             f"{saved.server} (`redress logout` to leave it)")
        else:
            _context["seat"] = RemoteSeat(saved)
    seat: Seat = _context["seat"]
    return seat


def close_database() -> None:
    """Return the pooled connections, if a command opened any."""
    if "app" in _context:
        _context["app"].engine.dispose()


def say(text: str) -> None:
    """A line for the terminal with stored text made inert (escape codes and bidi overrides shown, not obeyed)."""
    from workflow.domain.inert import inert

    typer.echo(inert(text, multiline=True))


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def print_table(title: str, rows: list[dict[str, Any]], as_json: bool, columns: tuple[str, ...]) -> None:
    """Rows as JSON, or as a table of the given columns."""
    if as_json:
        print_json(rows)
        return
    from workflow.faces.cli.tables import print_rows

    print_rows(title, [{k: r[k] for k in columns} for r in rows])


def report(outcome: Outcome, as_json: bool) -> None:
    """A lifecycle outcome: its JSON, or one line saying the move and the new version."""
    if as_json:
        from dataclasses import asdict

        print_json(asdict(outcome))
        return
    moved = (  # a filing comes from no state: 'file: received', not 'file:  -> received'
        f"{outcome.from_state} -> {outcome.to_state}"
        if outcome.from_state and outcome.from_state != outcome.to_state else outcome.to_state
    )
    detail = f"  ({outcome.detail})" if outcome.detail else ""
    say(f"{outcome.number}: {outcome.trigger}: {moved} [version {outcome.version}]{detail}")


def run(operation: str, as_user: str | None, as_json: bool, *args: Any, **kwargs: Any) -> None:
    """Call one operation from this run's seat and report its outcome."""
    report(seat(as_user).call(operation, *args, **kwargs), as_json)


def upgrade_schema(app: Redress) -> str:
    """Bring the schema up to date; any driver error is one line naming the database."""
    from workflow.adapters.db import unavailable
    from workflow.adapters.migrate import upgrade

    try:
        return upgrade(app.engine)
    except Exception as error:  # noqa: BLE001 - any driver error becomes one line
        raise unavailable(app.url, error) from None


def stop_on_signal() -> Any:
    """Ctrl-C or SIGTERM ends a one-off run after the batch or message in flight, which is then recorded."""
    import signal
    import threading

    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    return stopping


def invoke(command: Any, argv: list[str]) -> int:
    """Run the command line; every user mistake becomes one line on stderr and a distinct exit code."""
    from workflow.domain.errors import InvalidInput, RedressError
    from workflow.domain.inert import inert

    for argument in argv:
        if not _is_utf8(argument):
            typer.echo(f"error: the argument '{inert(argument)}' is not valid UTF-8 text", err=True)
            return InvalidInput.exit_code
    from typer._click.exceptions import NoArgsIsHelpError  # Typer's own click, which it does not re-export

    try:
        result = command.main(args=argv, prog_name="redress", standalone_mode=False)
    except NoArgsIsHelpError as error:  # `redress` or `redress kb` alone: the help, as `--help` prints it
        typer.echo(error.message)
        return 0
    except RedressError as error:
        typer.echo(f"error: {_shortened(inert(error))}", err=True)
        return error.exit_code
    except typer.TyperException as error:  # click's errors (Typer vendors click); a usage mistake names its help
        hint = f" (see `redress {_command_path(error)}--help`)" if hasattr(error, "ctx") else ""
        typer.echo(f"error: {inert(error.format_message())}{hint}", err=True)
        return 2
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        return 130
    except Exception as error:  # a database error no service turned into a domain error: one line, no SQL
        from workflow.adapters.db import database_fault, refused_statement

        refused = refused_statement(error)
        if refused is not None:
            typer.echo(f"error: {inert(refused)}", err=True)
            return refused.exit_code
        fault = database_fault(_context["app"].url, error) if "app" in _context else None
        if fault is None:
            raise
        typer.echo(f"error: {fault}", err=True)
        return fault.exit_code
    return result if isinstance(result, int) else 0


def _shortened(message: str, most: int = 1000) -> str:
    """An error quotes what was given; a value of megabytes (a pasted file) must not fill the terminal."""
    return message if len(message) <= most else f"{message[:most]}... ({len(message) - most} more characters)"


def _is_utf8(argument: str) -> bool:
    """Whether the bytes given were UTF-8: Python decodes any others to lone surrogates no database can store."""
    try:
        argument.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _command_path(error: Any) -> str:
    ctx = getattr(error, "ctx", None)
    if ctx is None or ctx.parent is None:
        return ""
    return ctx.command_path.removeprefix("redress").strip() + " "
