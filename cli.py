"""The `redress` command: the entry point. The commands live in workflow/faces/cli/, one module per group.

No business rule lives in the command line: each command parses its input,
calls one service and prints the result.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run one command line; every user mistake becomes one line on stderr and a distinct exit code."""
    from workflow.faces.cli.common import invoke
    from workflow.faces.cli.root import command

    return invoke(command(), sys.argv[1:] if argv is None else argv)


def run() -> None:
    """The console script: run the command, close the database, and leave."""
    from workflow.faces.cli.common import close_database

    code = main()
    close_database()
    _flush_output()
    if _reads_only(sys.argv[1:]):
        _leave_now(code)
    sys.exit(code)


def _flush_output() -> None:
    """Everything said reaches its file now; a reader that went away (`redress queue | head`) is not an error."""
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # nothing more can be said there; point it at /dev/null so exit does not complain
            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())


def _reads_only(argv: list[str]) -> bool:
    """Whether the command on the line is one of the read commands (their module sets QUICK_EXIT)."""
    from workflow.faces.cli.root import command_asked_for, module_of

    name = command_asked_for(argv)
    module = module_of(name) if name else None
    return module is not None and getattr(sys.modules.get(module), "QUICK_EXIT", False)


def _leave_now(code: int) -> None:
    """Exit without interpreter teardown, once the logs are written and the output flushed.

    Tearing down SQLAlchemy, pydantic and Typer module state takes longer than a
    read command itself. A read command has no transaction to commit, no
    thread, scheduler or file to finish and no exit handler that matters, so
    what it saves is that teardown and nothing is lost. Writers and the
    long-running commands (scheduler, tui, demo, tick, outbox send) leave
    through sys.exit so their exit handlers run.
    """
    import logging
    import os

    logging.shutdown()
    _flush_output()
    os._exit(code)


if __name__ == "__main__":
    run()
