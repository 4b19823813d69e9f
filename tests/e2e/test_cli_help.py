"""Every command's help, as the installed `redress` prints it: one look, what to type, what is allowed, 80 columns."""

from __future__ import annotations

import os
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.conftest import CONFIG
from tests.e2e.test_cli import REDRESS
from workflow.config import load_config


def help_of(*args: str, columns: int = 80, config: Path = CONFIG) -> subprocess.CompletedProcess[str]:
    """The command line's output for `args`, as a terminal of that width would get it; no database needed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
    env.update(REDRESS_CONFIG=str(config), COLUMNS=str(columns))
    return subprocess.run([str(REDRESS), *args], env=env, capture_output=True, text=True, timeout=60)


def shown(*args: str, columns: int = 80) -> str:
    result = help_of(*args, columns=columns)
    assert result.returncode == 0 and result.stderr == "", (args, result.returncode, result.stderr)
    return result.stdout


def subcommands(text: str) -> list[str]:
    """The names in a help's Commands panel."""
    panel = text.split("─ Commands ─", 1)[1].split("╰", 1)[0] if "─ Commands ─" in text else ""
    return [line[2:].split()[0] for line in panel.splitlines() if line.startswith("│ ") and line[2] != " "]


@cache
def every_help() -> dict[tuple[str, ...], str]:
    """Each command and group from the root's listing down, and its help (`-h`) at 80 columns."""
    found: dict[tuple[str, ...], str] = {}

    def visit(path: tuple[str, ...]) -> None:
        found[path] = shown(*path, "-h")
        for name in subcommands(found[path]):
            visit((*path, name))

    visit(())
    return found


def flat(text: str) -> str:
    """The words of a help in order, without the panels' borders: wrapped text reads as one line."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def option_lines(text: str, option: str) -> list[str]:
    """The first line of an option's row in a help's panels."""
    return [line for line in text.splitlines() if re.match(rf"│ (\*  |   )?{re.escape(option)}\s", line)]


def test_the_walk_reaches_every_command_and_group():
    paths = set(every_help())
    assert {("new",), ("kb", "search"), ("compensation", "reject"), ("outbox", "retry"), ("escalation", "lower"),
            ("deadlines", "retry"), ("templates", "preview"), ("config", "check")} <= paths
    assert len(paths) > 50


def test_no_help_shows_a_python_type_or_the_old_required_wording():
    for path, text in every_help().items():
        assert not re.search(r"<(bool|str|int|float)>", text), path
        assert "(required)" not in text and not re.search(r"Usage: .*[{}]", text), path


def test_flags_show_nothing_after_them_and_options_with_values_a_metavar():
    new = every_help()[("new",)]
    assert re.search(r"│ +--json +Print JSON only", new)
    assert re.search(r"--channel +CHANNEL +How the complaint", new)
    assert re.search(r"--as +NAME +Act as this user", new)
    assert "Usage: redress compensation add [OPTIONS] REF KIND" in every_help()[("compensation", "add")]
    assert "Usage: redress compensation list [OPTIONS] [REF]" in every_help()[("compensation", "list")]


def test_dash_h_prints_what_dash_dash_help_prints():
    for path in ((), ("new",), ("kb",), ("compensation", "reject"), ("tick",)):
        assert shown(*path, "-h") == shown(*path, "--help"), path


def test_bare_redress_and_a_bare_group_show_their_help_and_exit_0():
    for path in ((), ("kb",), ("compensation",)):
        result = help_of(*path)
        assert (result.returncode, result.stderr) == (0, ""), (path, result.stderr)
        assert result.stdout == shown(*path, "--help")
        assert "─ Commands ─" in result.stdout


def _configured() -> dict[str, list[str]]:
    config = load_config(CONFIG)
    return {"--category": config.category_names, "--tier": config.tier_names, "--severity": config.severity_names,
            "--owner": config.owners,
            "--channel": ["phone", "web", "email", "chat", "sms", "fax", "letter"]}


def test_allowed_values_are_listed_wherever_those_options_are():
    allowed = _configured()
    seen = set()
    for path, text in every_help().items():
        for option, values in allowed.items():
            if option_lines(text, option):
                seen.add(option)
                assert f"One of: {', '.join(values)}." in flat(text), (path, option)
    assert seen == set(allowed)
    severity = every_help()[("severity",)]
    assert option_lines(severity, "--to") and f"One of: {', '.join(allowed['--severity'])}." in flat(severity)
    assert "One of: apology_letter, replacement, refund" in flat(every_help()[("compensation", "add")])
    outbox_statuses = "One of: pending, held, sending, sent, failed, uncertain, withdrawn, digested."
    assert outbox_statuses in flat(every_help()[("outbox", "list")])
    assert "One of: agent, senior, supervisor, manager." in flat(every_help()[("user", "add")])
    assert "One of: senior, supervisor, manager." in flat(every_help()[("escalations",)])


def test_a_config_that_cannot_be_read_still_gives_help(tmp_path):
    broken = tmp_path / "config.yaml"
    broken.write_text("severities: [\n", encoding="utf-8")
    result = help_of("new", "-h", config=broken)
    assert (result.returncode, result.stderr) == (0, "")
    assert "The allowed values are listed in config.yaml." in flat(result.stdout)
    assert "One of: phone, web, email" in flat(result.stdout)  # the code's own vocabularies still show


def test_required_options_carry_the_one_marker_and_a_missing_one_is_a_usage_error():
    must = {("new",): ["--channel", "--category", "--summary"], ("respond",): ["--message"],
            ("route",): ["--owner"], ("severity",): ["--to", "--reason"], ("cancel",): ["--reason"],
            ("compensation", "add"): ["--reason"], ("compensation", "reject"): ["--reason"],
            ("escalation", "ack"): ["--reason"], ("user", "add"): ["--role"]}
    may = {("replied",): ["--message"], ("close",): ["--message"], ("assign",): ["--message"],
           ("new",): ["--phone", "--severity"], ("compensation", "approve"): ["--note"]}
    helps = every_help()
    for path, options in must.items():
        for option in options:
            [line] = option_lines(helps[path], option)
            assert line.startswith("│ *  "), (path, option)
    for path, options in may.items():
        for option in options:
            [line] = option_lines(helps[path], option)
            assert not line.startswith("│ *"), (path, option)
    for path, text in helps.items():  # every reason asked for is required, unless its help says it may be left out
        optional = "may be left out" in flat(text)
        assert optional or all(line.startswith("│ *") for line in option_lines(text, "--reason")), path
    assert "may be left out" in flat(helps[("user", "role")])

    result = help_of("compensation", "reject", "1", "--as", "boss")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: Missing option '--reason'. (see `redress compensation reject --help`)"]


def test_tick_says_how_to_pin_the_clock():
    assert "REDRESS_NOW" in every_help()[("tick",)]


def test_escalations_takes_as():
    assert option_lines(every_help()[("escalations",)], "--as")


def test_every_help_fits_80_columns_without_cutting_a_word(monkeypatch, capsys):
    """Each word at 80 columns is a word of the same help printed 200 wide (rendered in this process, for speed)."""
    import cli

    monkeypatch.setenv("REDRESS_CONFIG", str(CONFIG))
    monkeypatch.setenv("COLUMNS", "200")
    for path, narrow in every_help().items():
        assert all(cell_len(line) <= 80 for line in narrow.splitlines()), path
        assert cli.main([*path, "--help"]) == 0
        words = set(re.findall(r"[^\s│╭╮╰╯─]+", capsys.readouterr().out))
        cut = [word for word in re.findall(r"[^\s│╭╮╰╯─]+", narrow) if word not in words]
        assert cut == [], (path, cut)


@pytest.mark.parametrize("columns", [80, 120])
def test_root_help_lists_every_command_at_any_width(columns):
    from workflow.faces.cli.root import COMMANDS

    assert subcommands(shown("--help", columns=columns)) == list(COMMANDS)
