"""Bad input through the installed command: refused in one line with its exit code, or shown inert."""

from __future__ import annotations

import pytest

from tests.e2e.test_cli import as_json, assert_one_line_error, redress


@pytest.fixture
def db(database_url: str) -> str:
    """The schema, a manager `boss` and an agent `amy`."""
    redress("db", "upgrade", db=database_url)
    redress("user", "add", "boss", "--role", "manager", db=database_url)
    redress("user", "add", "amy", "--role", "agent", "--as", "boss", db=database_url)
    return database_url

HOSTILE = "快递没到\x1b[2J\x1b]0;pwned\x07 \u202eevil"


def _file(db: str, summary: str = HOSTILE, **options: str) -> str:
    args = ["new", "--channel", "phone", "--category", "delivery", "--summary", summary,
            "--phone", "13800138000", "--name", "王芳", "--json"]
    for key, value in options.items():
        args += [f"--{key}", value]
    return as_json(redress(*args, db=db, user="amy"))["number"]


def _assert_inert(output: str) -> None:
    assert "\x1b" not in output and "\x07" not in output and "\u202e" not in output, repr(output)
    assert "\\x1b[2J" in output and "\\u202e" in output


def test_escape_codes_and_bidi_overrides_in_customer_text_reach_the_terminal_inert(db):
    number = _file(db)
    redress("note", number, "-m", "客户说\x1b[31m红色\x1b[0m \u2066isolate\u2069", db=db, user="amy")
    assert as_json(redress("show", number, "--json", db=db))["summary"] == HOSTILE  # stored as given
    for args in (["show", number], ["queue"], ["customer", "show", "13800138000"]):
        _assert_inert(redress(*args, db=db).stdout)
    history = redress("history", number, db=db).stdout
    _assert_inert(history)
    assert "\\x1b[31m" in history and "\\u2066" in history and "\x1b" not in history


def test_an_error_quoting_hostile_input_is_inert(db):
    result = redress("new", "--channel", "pi\x1b]0;x\x07geon", "--category", "delivery", "--summary", "x",
                     "--phone", "13800138000", db=db, user="amy", check=False)
    assert_one_line_error(result, 7, "\\x1b]0;x\\x07")
    assert "\x1b" not in result.stderr
