"""`redress sla`: the clocks as a whole: paused time per agent, and re-planning after a policy change."""

from __future__ import annotations

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
