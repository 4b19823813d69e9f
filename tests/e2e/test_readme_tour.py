"""The README's five-minute tour, read from README.md itself and run with the installed `redress`, so it cannot drift.

Each command must exit as the README says: 0, or the code its comment states (`# exit 5: ...`). A command marked
`# (runs until ...)` (the scheduler, the terminal app) keeps the terminal and is the only kind skipped. A
`# -> C-...` (or `# -> step N`) line right under a command names the complaint number (or step) it must print.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT

README = ROOT / "README.md"
BIN = Path(sys.executable).parent
SECTION = "## A five-minute tour"
LONG_RUNNING = re.compile(r"#\s*\(runs until [^)]*\)")
EXPECTED_EXIT = re.compile(r"#.*?\bexit (\d+)\b")
NUMBER = re.compile(r"C-\d{8}-\d{4}|step \d+")  # a complaint number or a compensation step
OUTPUT = re.compile(r"#\s*->")


@dataclass
class Command:
    line: int  # 1-based line in README.md where the command starts
    text: str  # continuations joined, trailing comment kept
    expected_exit: int
    prints: str | None  # the complaint number or step a following `# ->` line says it prints


def tour_block() -> list[tuple[int, str]]:
    """The lines of the first ```sh block under the tour's heading, with their README line numbers."""
    lines = README.read_text(encoding="utf-8").splitlines()
    heading = lines.index(SECTION)
    opening = next(i for i in range(heading + 1, len(lines)) if lines[i].strip() == "```sh")
    closing = next(i for i in range(opening + 1, len(lines)) if lines[i].strip() == "```")
    return [(i + 1, lines[i]) for i in range(opening + 1, closing)]


def tour_commands() -> list[Command]:
    """The block's commands, backslash continuations joined; comment lines are not commands."""
    commands: list[Command] = []
    pending: tuple[int, str] | None = None
    last_line_of_command = 0
    for number, raw in tour_block():
        line = raw.strip()
        if pending:
            start, text = pending
            if line.endswith("\\"):
                pending = (start, text + " " + line[:-1].strip())
                continue
            commands.append(_command(start, text + " " + line))
            pending, last_line_of_command = None, number
        elif OUTPUT.match(line) and number == last_line_of_command + 1:
            found = NUMBER.search(line)
            commands[-1].prints = found.group() if found else None
        elif line.endswith("\\"):
            pending = (number, line[:-1].strip())
        elif line and not line.startswith("#"):
            commands.append(_command(number, line))
            last_line_of_command = number
    assert pending is None, f"README.md line {pending[0]}: a continuation runs into the end of the block"
    return commands


def _command(line: int, text: str) -> Command:
    expected = EXPECTED_EXIT.search(text)
    return Command(line, text, int(expected.group(1)) if expected else 0, None)


def test_the_tour_is_found_and_marks_what_cannot_run_here():
    commands = tour_commands()
    assert len(commands) >= 30, [c.text for c in commands]
    skipped = {" ".join(c.text.split()[:2]) for c in commands if LONG_RUNNING.search(c.text)}
    assert skipped <= {"redress scheduler", "redress tui"}, "only what keeps the terminal may be left out"
    assert skipped, "the scheduler and the terminal app are in the tour, marked (runs until ...)"
    assert not any("| jq" in c.text for c in commands), "the tour must not need jq"


def test_every_tour_command_exits_as_the_readme_says(tmp_path):
    """The tour on a fresh database in an empty folder holding only config.yaml and the policy manual."""
    assert (BIN / "redress").exists(), f"the redress command is not installed beside {sys.executable}"
    for name in ("config.yaml", "policy_manual.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", PWD=str(tmp_path), COLUMNS="120")

    ran = 0
    for command in tour_commands():
        if LONG_RUNNING.search(command.text):
            continue
        if command.text.startswith("export "):
            env = _exported(command, env, tmp_path)
            continue
        result = subprocess.run(["bash", "-c", command.text], cwd=tmp_path, env=env, capture_output=True,
                                text=True, timeout=120)
        where = f"README.md line {command.line}: {command.text}"
        assert result.returncode == command.expected_exit, (
            f"{where}\nexited {result.returncode}, the README says {command.expected_exit}\n"
            f"stderr: {result.stderr.strip()}\nstdout: {result.stdout.strip()[-2000:]}")
        if command.prints:
            assert command.prints in result.stdout, f"{where}\ndid not print {command.prints}: {result.stdout}"
        ran += 1
    assert ran >= 30
    assert (tmp_path / "tour.db").exists(), "the tour should keep its own database in the folder it runs in"


def _exported(command: Command, env: dict[str, str], folder: Path) -> dict[str, str]:
    """The environment after an `export` line, expanded by the shell as a reader's shell would."""
    script = f'{command.text}\n"{sys.executable}" -c "import json, os; print(json.dumps(dict(os.environ)))"'
    result = subprocess.run(["bash", "-c", script], cwd=folder, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, f"README.md line {command.line}: {command.text}\nstderr: {result.stderr}"
    exported: dict[str, str] = json.loads(result.stdout)
    return exported
