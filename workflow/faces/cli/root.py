"""The `redress` group: the global options, and every command loaded only when it is asked for.

Typer builds every parameter of every command it converts; for fifty commands
that costs more than the query a read command runs. So each command group lives
in a module of its own, and the root imports and converts only the module that
holds the command on the line. `--help` and mistakes list every name from the
table below, so listings and suggestions stay complete. Every command built
passes through helptext.tidy, so all help reads the same way.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from workflow.faces.cli import common, helptext

# Each top-level name, in the order `redress --help` lists it, and the module under workflow.faces.cli that holds it.
COMMANDS: dict[str, str] = {
    **dict.fromkeys(("new", "triage", "severity", "take", "assign", "start", "respond", "wait", "replied",
                     "route", "feedback", "resolve", "close", "reopen", "cancel", "answer", "note"), "lifecycle"),
    **dict.fromkeys(("show", "queue", "list", "history", "explain"), "reads"),
    **dict.fromkeys(("tick", "scheduler"), "operations"),
    "escalations": "reads",
    **dict.fromkeys(("states", "tui", "demo"), "operations"),
    "user": "staff",
    "kb": "kb",
    "customer": "customers",
    "db": "operations",
    "escalation": "supervision",
    "outbox": "outbox",
    "mail": "mail",
    "attachment": "mail",
    "deadlines": "supervision",
    "compensation": "compensation",
    "templates": "templates",
    "survey": "compensation",
    "config": "operations",
    **dict.fromkeys(("login", "logout", "whoami", "password", "token", "apikey"), "signing"),
    "serve": "operations",
    "audit": "audit",
    "sla": "sla",
    "whatif": "sla",
    "report": "reports",
    "import": "importing",
}


def module_of(name: str) -> str | None:
    """The full name of the module that holds a top-level command, if there is one by that name."""
    module = COMMANDS.get(name)
    return None if module is None else f"workflow.faces.cli.{module}"


class LazyCommands(MutableMapping[str, Any]):
    """The root's commands by name: all names known up front, a command built when first looked up."""

    def __init__(self) -> None:
        self._loaded: dict[str, Any] = {}
        self._groups: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            module = module_of(name)
            if module is None:
                raise KeyError(name)
            self._loaded[name] = self._group(module).get_command(None, name)
        return self._loaded[name]

    def _group(self, module: str) -> Any:
        """The module's Typer app as a click group, converted once, with every command's help tidied."""
        if module not in self._groups:
            group = typer.main.get_command(importlib.import_module(module).app)
            for name, command in getattr(group, "commands", {}).items():
                helptext.tidy_tree(command, name)
            self._groups[module] = group
        return self._groups[module]

    def __setitem__(self, name: str, command: Any) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        raise TypeError("the redress commands are fixed")

    def __iter__(self) -> Iterator[str]:
        return iter(COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS)


class LazyGroup(TyperGroup):
    """A click group that imports a command's module only when that command is listed or run."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands()

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        return self.commands.get(cmd_name)


app = typer.Typer(
    name="redress",
    cls=LazyGroup,
    help="Redress: the complaint workflow engine for call centres.",
    no_args_is_help=True,
    context_settings={"help_option_names": helptext.HELP_OPTION_NAMES},
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global(
    config: Annotated[
        Optional[str], typer.Option("--config", envvar="REDRESS_CONFIG", help="config.yaml to use.")
    ] = None,
    db: Annotated[Optional[str], typer.Option("--db", envvar="REDRESS_DB", help="Database URL or SQLite path.")] = None,
) -> None:
    common.options["config"] = config
    common.options["db"] = db


def command() -> Any:
    """The root as a click group, ready for `main`."""
    root = typer.main.get_command(app)
    helptext.tidy(root)
    return root


_GLOBAL_OPTIONS_WITH_VALUES = ("--config", "--db")


def command_asked_for(argv: list[str]) -> str | None:
    """The first word on the line that is not a global option or its value: the top-level command."""
    words = iter(argv)
    for word in words:
        if word in _GLOBAL_OPTIONS_WITH_VALUES:
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None
