"""`redress import FILE`: complaints with their customers and history from a spreadsheet or another helpdesk.

Thin: the rules and the writing are workflow/services/importing.py's; this prints the summary, or each bad row
(at most `SHOWN` lines, then how many more) and exits 7 with nothing written.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from workflow.faces.cli.common import As, Json, print_json, say, seat

SHOWN = 20  # bad-row lines printed; the rest are counted

app = typer.Typer()


@app.callback()
def _group() -> None:
    """Keeps this module a group of commands, as the root loads every module (workflow/faces/cli/root.py)."""


@app.command("import")
def import_command(
    file: Annotated[str, typer.Argument(help="A .csv (with a header row) or .jsonl / .ndjson file.")],
    fmt: Annotated[Optional[str], typer.Option(
        "--format", help="csv or jsonl, when the file's name does not say.")] = None,
    source: Annotated[str, typer.Option(
        help="Name of the system the rows come from; a ref is imported once per source.")] = "import",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check every row; write nothing.")] = False,
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Import complaints, their customers and history from a file (supervisor or above). Every row is checked
    first; one bad row and nothing is written (exit 7). Rows imported before are counted as duplicates."""
    from workflow.domain.errors import UsageError
    from workflow.faces.seat import DirectSeat
    from workflow.services.importing import ImportRefused, import_complaints

    here = seat(as_user)
    if not isinstance(here, DirectSeat):
        raise UsageError("import runs at the database (--db), not through a sign-in to a server")
    try:
        summary = import_complaints(here.app, here.user, file, fmt=fmt, source=source, dry_run=dry_run)
    except ImportRefused as refused:
        _print_refusal(refused, as_json)
        raise typer.Exit(refused.exit_code) from None
    if as_json:
        from dataclasses import asdict

        print_json(asdict(summary))
        return
    done = "would be imported" if summary.dry_run else "imported"
    say(f"{summary.file}: {summary.imported} {done}, {summary.duplicates} already imported before (left as they are)")
    if summary.numbers:
        say(f"  numbers: {summary.numbers[0]} .. {summary.numbers[1]}")
    say(f"  customers: {summary.customers_created} created, {summary.customers_found} found")
    say(f"  deadlines armed: {summary.deadlines_armed}, already past due: {summary.past_due}"
        + (" (they fire at the next sweep)" if summary.past_due else ""))
    if summary.dry_run:
        say("  dry run: nothing was written")


def _print_refusal(refused: Exception, as_json: bool) -> None:
    from workflow.domain.inert import inert

    lines: list[str] = getattr(refused, "lines", [])
    if as_json:
        print_json({"ok": False, "error": str(refused), "errors": lines})
        return
    typer.echo(f"error: {inert(str(refused))}", err=True)
    for line in lines[:SHOWN]:
        typer.echo(inert(line), err=True)
    if len(lines) > SHOWN:
        typer.echo(f"... and {len(lines) - SHOWN} more", err=True)
