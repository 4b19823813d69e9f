"""`redress serve`: the HTTP API for every seat and every integration, over this config's database."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from workflow.faces.cli.common import options, redress, say

app = typer.Typer()


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Address to listen on (config server.host: 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port (config server.port).")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Worker processes (PostgreSQL; SQLite serves from one).")]
    = None,
) -> None:
    """Serve the API (docs at /docs) until Ctrl-C or SIGTERM, which finish the requests in flight first."""
    import os

    import uvicorn

    from workflow.config import config_path
    from workflow.domain.errors import InvalidInput

    wired = redress()
    wired.check()  # a stale schema or an unreachable database is one line now, not a failure per request
    settings = wired.config.server
    count = workers or settings.workers
    if count > 1 and wired.engine.dialect.name == "sqlite":
        raise InvalidInput("SQLite serves from one worker (one writer at a time); use --workers 1, or PostgreSQL")
    # The workers wire themselves from the same config and database.
    os.environ["REDRESS_CONFIG"] = str(config_path(options["config"]).resolve())
    os.environ["REDRESS_DB"] = wired.url
    bound_host, bound_port = host or settings.host, port or settings.port
    say(f"serving Redress on http://{bound_host}:{bound_port} (API docs at /docs) with {count} worker(s)")
    uvicorn.run("workflow.faces.server.app:from_environment", factory=True, host=bound_host, port=bound_port,
                workers=count, access_log=False, log_level="warning", timeout_graceful_shutdown=20,
                proxy_headers=True)
