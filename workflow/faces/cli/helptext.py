"""How every command's help reads, set in one place for the commands all the modules build.

Typer prints a type after each parameter (`<bool>` after a flag, `<str>` after
text), marks an option required only when its signature has no default, and
lists allowed values only where a module's help happens to spell them out. The
root passes each command it builds through `tidy`, which gives every help the
same look: a metavar that says what to type (none after a flag), the one
required marker wherever the use case refuses to go on without the value, and
the allowed values from the one place each vocabulary is defined.

Values from config.yaml are read when the help is printed, from the config in
use; a config that cannot be read never breaks the help.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from typer.core import TyperArgument, TyperOption

if TYPE_CHECKING:
    from pathlib import Path

    from workflow.config import Config

HELP_OPTION_NAMES = ["-h", "--help"]

class ConfigUnreadable(Exception):
    """The config in use cannot be read, so its lists cannot be shown."""


def _config() -> Config:
    """The config a command would use now (--config, REDRESS_CONFIG, ./config.yaml, the shipped one)."""
    from workflow.config import config_path
    from workflow.faces.cli.common import options

    return _read_config(config_path(options["config"]))


@cache
def _read_config(path: Path) -> Config:
    from workflow.config import load_config

    try:
        return load_config(path)
    except Exception as error:  # noqa: BLE001 - any failure only means the help cannot list these values
        raise ConfigUnreadable from error


def _states() -> Sequence[str]:
    from states.definition import STATES

    return [str(state) for state in STATES]


def _step_states() -> Sequence[str]:
    from states.compensation import STEP_STATES

    return STEP_STATES


def _vocabulary(name: str) -> Callable[[], Sequence[str]]:
    def values() -> Sequence[str]:
        from workflow.domain import vocabulary

        found: Sequence[str] = getattr(vocabulary, name)
        return found
    return values


def _roles(start: int, stop: int | None) -> Callable[[], Sequence[str]]:
    """Escalation levels are named by the role that handles them: a slice of the roles."""
    def values() -> Sequence[str]:
        from workflow.domain.vocabulary import ROLES

        return ROLES[start:stop]
    return values


def _owners() -> Sequence[str]:
    config = _config()
    return [] if config.owners_free_text else config.owners


@dataclass(frozen=True)
class Vocabulary:
    """The values an option or argument accepts, and how its help names them."""

    metavar: str
    values: Callable[[], Sequence[str]]  # raises ConfigUnreadable for a list config.yaml holds and cannot be read
    about: str  # the help, when a command's own help only spelled the values out

    def describe(self, text: str | None) -> str:
        """The help with the allowed values after it; a hand-written list of them gives way to `about`."""
        try:
            values = list(self.values())
        except ConfigUnreadable:
            return f"{text or self.about} The allowed values are listed in config.yaml."
        if not values:
            return text or self.about
        if text is None or all(re.search(rf"(?<![\w-]){re.escape(v)}(?![\w-])", text) for v in values):
            text = self.about
        return f"{text} One of: {', '.join(values)}."


# By parameter name, or by "command path:parameter name" where a name means something else in one command.
VOCABULARIES: dict[str, Vocabulary] = {
    "channel": Vocabulary("CHANNEL", _vocabulary("CHANNELS"), "How the complaint reached us."),
    "category": Vocabulary("CATEGORY", lambda: _config().category_names, "The complaint's category."),
    "tier": Vocabulary("TIER", lambda: _config().tier_names, "The customer's member tier."),
    "severity": Vocabulary("SEVERITY", lambda: _config().severity_names, "The severity."),
    "owner": Vocabulary("OWNER", _owners, "Responsible department or person."),
    "language": Vocabulary("LANGUAGE", _vocabulary("LANGUAGES"), "The customer's language."),
    "new:language": Vocabulary("LANGUAGE", _vocabulary("LANGUAGES"), "Language of a new customer."),
    "kb search:language": Vocabulary("LANGUAGE", _vocabulary("LANGUAGES"), "Show the answers in this language."),
    "templates preview:locale": Vocabulary("LANGUAGE", _vocabulary("LANGUAGES"),
                                           "Render in this language (default: the customer's)."),
    "role": Vocabulary("ROLE", _vocabulary("ROLES"), "The user's role; each may do what the ones before it may."),
    "kind": Vocabulary("KIND", _vocabulary("STEP_KINDS"), "What the customer gets."),
    "state": Vocabulary("STATE", _states, "Only complaints in this state."),
    "compensation list:state": Vocabulary("STATE", _step_states, "Only steps in this state."),
    "status": Vocabulary("STATUS", _vocabulary("MESSAGE_STATUSES"), "Only messages with this status."),
    "outbox retry:status": Vocabulary("STATUS", _vocabulary("RETRYABLE"), "Only messages with this status."),
    "escalations:level": Vocabulary("LEVEL", _roles(1, None), "Only complaints escalated to this level."),
    "escalation lower:to": Vocabulary("LEVEL", _roles(0, -1), "The level to lower the escalation to."),
    "cancel:reason": Vocabulary("REASON", _vocabulary("CANCEL_REASONS"), "Why the complaint is cancelled."),
    "wait:reason": Vocabulary("REASON", lambda: _config().sla.pause_reasons, "Why the clock stops while we wait."),
}

# What to type, where the parameter's name or type alone does not say it well; by the same keys.
METAVARS: dict[str, str] = {
    "as_user": "NAME", "to": "NAME", "name": "NAME", "display_name": "NAME", "if_version": "VERSION",
    "limit": "N", "step": "STEP", "amount": "AMOUNT", "score": "1-5", "since": "TIME", "until": "TIME",
    "complaint": "REF", "duplicate_of": "REF", "answer": "ANSWER", "answer_id": "ANSWER", "phone": "PHONE",
    "email": "EMAIL", "order": "ORDER", "config": "FILE", "db": "URL", "message_id": "ID", "deadline_id": "ID",
    "escalation extend:by": "DURATION", "survey scores:by": "GROUP", "customer show:ref": "CUSTOMER",
    "templates preview:name": "TEMPLATE", "kb search:text": "WORDS", "inbound_id": "ID", "attachment_id": "ID",
    "attachment save:to": "FILE", "mailbox": "MAILBOX",
}

_REQUIRED_IN_HELP = re.compile(r"\s*\((required|optional)\)")


def _lookup(table: dict[str, Any], path: str, name: str) -> Any:
    return table.get(f"{path}:{name}", table.get(name))


class _Tidied:
    """A parameter whose help is completed with its allowed values when it is printed."""

    __slots__ = ()  # a Typer parameter's class is swapped for a tidied one, so the layout must stay the same
    vocabulary: Vocabulary | None = None

    @property
    def help(self) -> str | None:
        text: str | None = self.__dict__.get("_help_text")
        return text if self.vocabulary is None else self.vocabulary.describe(text)

    @help.setter
    def help(self, text: str | None) -> None:
        self.__dict__["_help_text"] = text


class _Option(TyperOption, _Tidied):
    """An option that shows what to type after it, and nothing after a flag."""

    __slots__ = ()

    def display_type_rich(self, ctx: Any) -> str | None:
        return None if self.is_flag else self.metavar


class _Argument(TyperArgument, _Tidied):
    """An argument named by its metavar alone, written REF (or [REF] when optional) on the usage line."""

    __slots__ = ()

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw + ("..." if self.nargs != 1 else "")
        return name if self.required else f"[{name}]"


def _required_asks(path: str) -> dict[str, Any]:
    """A lifecycle command's values by parameter name: the actions table says which the use case needs."""
    from workflow.faces.actions import ACTIONS

    return {ask.name: ask for action in ACTIONS if action.command == path for ask in action.asks}


def _tidied(param: TyperOption | TyperArgument) -> _Option | _Argument:
    """The same parameter as its tidied kind, its help text kept."""
    text: str | None = param.__dict__.pop("help", None)
    param.__class__ = _Option if isinstance(param, TyperOption) else _Argument
    tidied = cast("_Option | _Argument", param)
    tidied.help = text
    return tidied


def _tidy_parameter(param: Any, path: str, asks: dict[str, Any]) -> None:
    if not isinstance(param, (TyperOption, TyperArgument)) or isinstance(param, _Tidied):
        return
    tidied = _tidied(param)
    text, ask = tidied.help, asks.get(tidied.name or "")
    if ask is not None:
        tidied.required = tidied.required or ask.required
    elif text and "(required)" in text:
        tidied.required = True
    if text:
        text = _REQUIRED_IN_HELP.sub("", text)
        tidied.help = f"{ask.label}." if ask is not None and text == "The text." else text
    tidied.vocabulary = vocabulary = _lookup(VOCABULARIES, path, tidied.name or "")
    if tidied.metavar is not None or (isinstance(tidied, _Option) and tidied.is_flag):
        return
    tidied.metavar = vocabulary.metavar if vocabulary else _lookup(METAVARS, path, tidied.name or "") or (
        (tidied.name or "").upper() if isinstance(tidied, _Argument)
        else "N" if tidied.type_descriptor.annotation is int else "TEXT")


def tidy(command: Any, path: str = "") -> None:
    """Give one command's help the common look: its parameters and its -h/--help."""
    asks = _required_asks(path) if path else {}
    for param in command.params:
        _tidy_parameter(param, path, asks)
    from typer import Context

    help_option = command.get_help_option(Context(command, help_option_names=HELP_OPTION_NAMES))
    if help_option is not None:
        _tidied(help_option)


def tidy_tree(command: Any, path: str) -> None:
    """`tidy` a command and, for a group, every command under it."""
    tidy(command, path)
    for name, sub in getattr(command, "commands", {}).items():
        tidy_tree(sub, f"{path} {name}")
