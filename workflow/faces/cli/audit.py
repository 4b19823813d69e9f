"""The audit trail as evidence: `redress audit verify` walks its hash chains (operators, direct database mode)."""

from __future__ import annotations

import typer

from workflow.faces.cli.common import Json, print_json, redress, say

QUICK_EXIT = True  # it only reads: no teardown to wait for (cli.py)

app = typer.Typer()
audit_app = typer.Typer(help="The audit trail: check it was not changed after it was written.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(as_json: Json = False) -> None:
    """Check every event and audit record against its hash; name the first that does not match (exit 14).

    Each event's hash covers it and the hash of its complaint's event before it; the audit records chain alike.

    A line changed or removed after it was written breaks the chain from there on.
    """
    from dataclasses import asdict

    from workflow.services.audit_chain import verify_trail

    checked = verify_trail(redress())
    if as_json:
        print_json({"ok": True, **asdict(checked)})
    else:
        say(f"audit trail: OK ({checked.events} events, {checked.audit_records} audit records)")
