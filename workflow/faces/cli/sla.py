"""`redress sla`: the clocks as a whole: paused time per agent, and re-planning after a policy change."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from workflow.faces.cli.common import As, Json, print_json, seat

app = typer.Typer()
sla_app = typer.Typer(help="SLA clocks across complaints: waits on the customer, re-planning after a policy "
                           "change.", no_args_is_help=True)
app.add_typer(sla_app, name="sla")

Since = Annotated[Optional[str], typer.Option(help="From this day (YYYY-MM-DD, local) or ISO time.")]
Until = Annotated[Optional[str], typer.Option(help="Before this day (YYYY-MM-DD, local) or ISO time.")]


@sla_app.command("pauses")
def pauses(since: Since = None, until: Until = None, as_user: As = None, as_json: Json = False) -> None:
    """Waits on the customer begun in the period, per agent: how many, repeated on one complaint, run to the
    policy's limit, still waiting, and the working time they held the clocks (supervisor or above)."""
    rows = seat(as_user).call("paused_time", since=since, until=until)
    if as_json:
        print_json(rows)
        return
    from workflow.faces.cli.tables import print_pauses_by_agent

    print_pauses_by_agent(rows)


@sla_app.command("replan")
def replan_command(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List every deadline that would move; write nothing.")]
    = False,
    was: Annotated[Optional[str], typer.Option(
        "--was", help="The config.yaml the clocks ran under until now, so the time they used is counted on its "
                      "calendars (default: the calendars now configured).")] = None,
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """After config.yaml's policies or calendars change: keep the business time each running clock has used and
    re-plan what is left under the new policy (manager or above). Each complaint moved is audited."""
    from pathlib import Path

    from workflow.config import load_config
    from workflow.domain.errors import UsageError
    from workflow.faces.seat import DirectSeat
    from workflow.services.replan import replan

    here = seat(as_user)
    if not isinstance(here, DirectSeat):
        raise UsageError("sla replan runs at the database (--db), not through a sign-in to a server")
    previous = load_config(Path(was)) if was else None
    report = replan(here.app, here.user, dry_run=dry_run, previous=previous)
    if as_json:
        from dataclasses import asdict

        print_json(json.loads(json.dumps(asdict(report), default=lambda moment: moment.isoformat())))
        return
    from workflow.faces.cli.tables import print_replan

    print_replan(report, here.timezone)


@app.command("whatif")
def whatif_command(
    config: Annotated[str, typer.Option("--config", help="The proposed config.yaml to replay the period under.")],
    since: Annotated[str, typer.Option("--from", help="First day filed (YYYY-MM-DD, local) or ISO time.")],
    until: Annotated[str, typer.Option("--to", help="Filed before this day (YYYY-MM-DD, local) or ISO time.")],
    as_user: As = None,
    as_json: Json = False,
) -> None:
    """Every complaint filed in the period replayed through a proposed config.yaml from its recorded history, next
    to what actually happened: deadlines met and breached per clock and severity, escalations per level, staff
    alerts, and the complaints whose fate would change (manager or above)."""
    from pathlib import Path

    from workflow.config import load_config
    from workflow.domain.errors import UsageError
    from workflow.faces.seat import DirectSeat
    from workflow.read.whatif import what_if

    here = seat(as_user)
    if not isinstance(here, DirectSeat):
        raise UsageError("whatif runs at the database (--db), not through a sign-in to a server")
    report = what_if(here.app, here.user, load_config(Path(config)), since, until)
    if as_json:
        print_json(report)
        return
    from workflow.faces.cli.policy_report import print_what_if

    print_what_if(report, here.timezone)
