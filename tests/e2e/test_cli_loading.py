"""The command imports only the module of the command asked for (workflow/faces/cli/root.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import OS_ACCOUNT
from tests.e2e.test_cli import file_complaint, redress

# The console script's own entry (`cli.main`), then the modules it left loaded. importlib's imports do not
# show in `-X importtime`, so sys.modules is the record.
LOADED = ("import json, sys, cli; code = cli.main(sys.argv[1:]); "
          "print(json.dumps(sorted(sys.modules))); sys.exit(code)")

GROUPS = {f"workflow.faces.cli.{name}" for name in
          ("lifecycle", "reads", "staff", "supervision", "compensation", "outbox", "operations")}


def imported_modules(*args: str, db: str) -> set[str]:
    """The modules a fresh process running one command line has loaded when the command is done."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
    env.update(REDRESS_DB=db)
    result = subprocess.run([sys.executable, "-c", LOADED, *args], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_show_json_imports_neither_other_command_groups_nor_the_tables(sqlite_url):
    redress("db", "upgrade", db=sqlite_url)
    redress("user", "add", "boss", "--role", "manager", "--os-user", OS_ACCOUNT, db=sqlite_url)
    redress("user", "add", "amy", "--role", "agent", "--as", "boss", db=sqlite_url)
    number = file_complaint(sqlite_url)

    loaded = imported_modules("show", number, "--json", db=sqlite_url)
    assert "workflow.faces.cli.reads" in loaded and "workflow.read.queries" in loaded
    assert not loaded & (GROUPS - {"workflow.faces.cli.reads"})
    assert "workflow.faces.cli.tables" not in loaded and "workflow.services.lifecycle" not in loaded

    loaded = imported_modules("note", number, "-m", "called back", "--as", "amy", db=sqlite_url)
    assert loaded & GROUPS == {"workflow.faces.cli.lifecycle"}


def test_help_lists_every_group_without_loading_the_database_layer(sqlite_url):
    assert GROUPS <= imported_modules("--help", db=sqlite_url)
    for args in (["--help"], ["report", "--help"], ["report", "sla", "--help"], ["queue", "--help"]):
        loaded = imported_modules(*args, db=sqlite_url)
        assert not {"sqlmodel", "sqlalchemy", "workflow.adapters.models"} & loaded, args


def exit_handlers_ran(*args: str, db: str) -> bool:
    """Whether the console script's `run` let the interpreter run its exit handlers after this command."""
    script = ("import atexit, sys, cli; atexit.register(lambda: print('exit handlers ran')); "
              "sys.argv = ['redress', *sys.argv[1:]]; cli.run()")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
    env.update(REDRESS_DB=db)
    result = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.endswith("exit handlers ran\n")


def test_long_running_commands_and_writers_exit_normally_and_only_reads_skip_teardown(sqlite_url):
    redress("db", "upgrade", db=sqlite_url)
    redress("user", "add", "boss", "--role", "manager", "--os-user", OS_ACCOUNT, db=sqlite_url)
    assert exit_handlers_ran("tick", db=sqlite_url)
    assert exit_handlers_ran("outbox", "send", db=sqlite_url)
    assert exit_handlers_ran("user", "add", "amy", "--role", "agent", "--as", "boss", db=sqlite_url)
    assert not exit_handlers_ran("queue", "--json", db=sqlite_url)
