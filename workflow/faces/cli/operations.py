"""Running the system: schema, configuration check, time (tick, scheduler), the diagram, the terminal app, the demo."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from workflow.faces.cli.common import As, Json, options, print_json, redress, say, stop_on_signal, upgrade_schema

app = typer.Typer()
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
config_app = typer.Typer(help="config.yaml and the files it names.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")


@config_app.command("check")
def config_check() -> None:
    """Validate config.yaml and the policy manual it names; one line either way (exit 8 on a mistake)."""
    from workflow.config import config_path, load_config
    from workflow.services.kb import load_manual

    path = config_path(options["config"])
    config = load_config(path)
    manual = load_manual(config)
    say(f"{path.name}: OK ({len(config.severities)} severities, {len(config.categories)} categories, "
        f"{len(config.calendars)} calendar(s), {len(config.owners)} owners; "
        f"policy manual {config.resolve_path(config.policy_manual).name}: {len(manual.answers)} answers)")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the schema or bring it up to date (Alembic migrations)."""
    from workflow.adapters.db import redact

    wired = redress()
    revision = upgrade_schema(wired)
    typer.echo(f"database {redact(wired.url)} is at schema revision {revision}")


@db_app.command("grants")
def db_grants(
    application_role: Annotated[
        str, typer.Option("--role", metavar="NAME", help="The PostgreSQL role the application connects as."),
    ],
) -> None:
    """Print the SQL that lets the application's PostgreSQL role work but never rewrite the trail.

    The schema's owner (who runs `redress db upgrade`) runs it, and again after each upgrade.

    The role may read and append events and audit records, never UPDATE, DELETE or TRUNCATE them.
    """
    from workflow.adapters.grants import grants_sql

    sys.stdout.write(grants_sql(application_role))


@app.command()
def tick(as_json: Json = False) -> None:
    """Fire every deadline due at the clock's now, deliver what the outbox has due, and exit (for cron and scripts).

    Now is the real time, or the time REDRESS_NOW pins for scripts and simulations (e.g. 2026-11-20T10:00+08:00).

    On SQLite it refuses while a scheduler runs on the database (exit 10): the scheduler already does this.
    """
    from dataclasses import asdict

    from notifications.sender import deliver_due
    from workflow.adapters.scheduler_lock import one_off_run
    from workflow.services.firing import fire_due

    wired = redress()
    stopping = stop_on_signal()
    with one_off_run(wired, "tick"):
        fired = fire_due(wired, should_stop=stopping.is_set)
        delivered = deliver_due(wired, should_stop=stopping.is_set)
    if as_json:
        print_json({"fired": asdict(fired), "outbox": asdict(delivered)})
    else:
        failed = f", {fired.failed} failed to fire (`redress deadlines failed`)" if fired.failed else ""
        typer.echo(f"fired {fired.fired} deadline(s) in {fired.batches} batch(es){failed}; staff alerts sent "
                   f"{delivered.alerts_sent}, customer messages sent {delivered.customer_messages_sent}, "
                   f"to retry {delivered.retried}, failed {delivered.failed}")


@app.command()
def scheduler() -> None:
    """Run the deadline scheduler (APScheduler) until Ctrl-C or SIGTERM; one per database."""
    from workflow.scheduler import run_scheduler

    raise typer.Exit(run_scheduler(redress(), say))


@app.command()
def states() -> None:
    """Print the complaint state machine as a Mermaid diagram (generated from its definition)."""
    from states.diagram import mermaid

    sys.stdout.write(mermaid())


@app.command()
def tui(as_user: As = None) -> None:
    """Open the terminal app (queues, complaint view, policy manual, supervisor board) as a user.

    Signed in (`redress login`), on the server as yourself; else on the database, as your OS account's staff member.
    """
    from workflow.faces.cli.common import seat
    from workflow.faces.tui.app import run_tui

    run_tui(seat(as_user))


@app.command()
def demo() -> None:
    """Create the schema, seed realistic staff, customers and complaints, and walk them through their lives."""
    from workflow.faces.demo import run_demo

    wired = redress()
    upgrade_schema(wired)
    run_demo(wired, typer.echo)


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Address to listen on (config server.host: 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port (config server.port).")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Worker processes (config server.workers).")]
    = None,
) -> None:
    """Serve the API (docs at /docs) until Ctrl-C or SIGTERM, which finish the requests in flight first."""
    import os
    import signal

    import uvicorn

    from workflow.config import config_path

    wired = redress()
    wired.check()  # a stale schema or an unreachable database is one line now, not a failure per request
    settings = wired.config.server
    count = workers or settings.workers
    # The workers wire themselves from the same config and database.
    os.environ["REDRESS_CONFIG"] = str(config_path(options["config"]).resolve())
    os.environ["REDRESS_DB"] = wired.url
    bound_host, bound_port = host or settings.host, port or settings.port
    say(f"serving Redress on http://{bound_host}:{bound_port} (API docs at /docs) with {count} worker(s)")
    # uvicorn finishes the requests in flight on SIGTERM, then raises the signal again: a stop asked for is a
    # clean exit (0) for a service manager, not a death by signal.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run("workflow.faces.server.app:from_environment", factory=True, host=bound_host, port=bound_port,
                workers=count, access_log=False, log_level="warning", timeout_graceful_shutdown=20,
                proxy_headers=True)
