"""Stored text drawn inert, and a database's refusal told without its SQL or parameters."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import exc

from workflow.adapters.db import refused_statement
from workflow.domain.errors import DatabaseUnavailable, InvalidInput
from workflow.domain.inert import inert


@pytest.mark.parametrize("raw,shown", [
    ("clear\x1b[2J", "clear\\x1b[2J"),
    ("title\x1b]0;pwned\x07", "title\\x1b]0;pwned\\x07"),
    ("C1 \x9b31m", "C1 \\x9b31m"),
    ("abc\u202edef", "abc\\u202edef"),
    ("\u2066isolated\u2069 \u202a\u202b\u202c\u202d", "\\u2066isolated\\u2069 \\u202a\\u202b\\u202c\\u202d"),
    ("not utf-8 \udcff", "not utf-8 \\udcff"),
    ("tab\there\rback\x00nul\x7fdel", "tab\\x09here\\x0dback\\x00nul\\x7fdel"),
    ("快递没到 — plain text, emoji 📦", "快递没到 — plain text, emoji 📦"),
])
def test_control_characters_and_bidi_overrides_are_shown_as_escapes(raw, shown):
    assert inert(raw) == shown


def test_a_newline_stays_only_where_a_field_has_several_lines():
    assert inert("line one\nline two", multiline=True) == "line one\nline two"
    assert inert("line one\nline two") == "line one line two"
    assert inert(None) == "" and inert(42) == "42"


def _refused(error_class, message: str) -> exc.DBAPIError:
    """The error SQLAlchemy raises when PostgreSQL refuses an INSERT carrying a customer's data."""
    return exc.DBAPIError.instance(
        "INSERT INTO customer (name, phone) VALUES (%(name)s, %(phone)s)",
        {"name": "王芳 secret", "phone": "13800138000"}, error_class(message), psycopg.Error)


def test_a_refused_statement_is_one_line_without_its_sql_or_parameters():
    error = _refused(psycopg.errors.StringDataRightTruncation,
                     "value too long for type character varying(128)\nDETAIL:  Key (phone)=(13800138000)")
    assert "13800138000" in str(error) and "INSERT" in str(error)  # what a traceback would have shown
    refused = refused_statement(error)
    assert isinstance(refused, InvalidInput)
    assert str(refused) == ("the database refused the values: StringDataRightTruncation: "
                            "value too long for type character varying(128)")


def test_another_refused_statement_is_a_database_error_and_anything_else_is_left_alone():
    refused = refused_statement(_refused(psycopg.errors.QueryCanceled, "canceling statement due to timeout"))
    assert isinstance(refused, DatabaseUnavailable) and "INSERT" not in str(refused)
    assert refused_statement(ValueError("not a database error")) is None


def _an_agents_seat_with_no_database(monkeypatch) -> None:
    """`customer show` on a direct seat acting as an agent, the database never opened: the read is stood in for."""
    import workflow.faces.cli.customers
    import workflow.services.signin
    from workflow.faces.seat import DirectSeat
    from workflow.services.signin import Principal

    agent = Principal(1, "amy", "agent", "local")
    monkeypatch.setattr(workflow.services.signin, "local_principal", lambda app, claimed: agent)
    monkeypatch.setattr(workflow.faces.cli.customers, "seat", lambda as_user=None: DirectSeat(None, as_user))


def test_the_command_prints_a_refused_statement_in_one_line(monkeypatch, capsys):
    import cli
    import workflow.read.queries

    def refuse(app, ref):  # customer_detail's own parameters: the seat binds the call to them
        raise _refused(psycopg.errors.UntranslatableCharacter, "unsupported Unicode escape sequence")

    monkeypatch.setattr(workflow.read.queries, "customer_detail", refuse)
    _an_agents_seat_with_no_database(monkeypatch)
    assert cli.main(["customer", "show", "13800138000"]) == 7
    assert capsys.readouterr().err == ("error: the database refused the values: UntranslatableCharacter: "
                                       "unsupported Unicode escape sequence\n")


def test_an_argument_that_is_not_utf8_is_refused_before_any_command_runs(capsys):
    import cli

    assert cli.main(["note", "1", "-m", "bad \udcff byte"]) == 7
    assert capsys.readouterr().err == "error: the argument 'bad \\udcff byte' is not valid UTF-8 text\n"


def test_an_error_quoting_a_huge_value_is_cut_short(monkeypatch, capsys):
    import cli
    import workflow.read.queries

    def refuse(app, ref):  # customer_detail's own parameters: the seat binds the call to them
        raise InvalidInput(f"customer '{'x' * 100_000}' is not a phone, email or id")

    monkeypatch.setattr(workflow.read.queries, "customer_detail", refuse)
    _an_agents_seat_with_no_database(monkeypatch)
    assert cli.main(["customer", "show", "x"]) == 7
    err = capsys.readouterr().err
    assert err.startswith("error: customer 'xxx") and err.endswith("... (99039 more characters)\n")
    assert len(err) < 1100
