"""Bad input through the installed command: refused in one line with its exit code, or shown inert."""

from __future__ import annotations

import pytest

from tests.conftest import staffed_database
from tests.e2e.test_cli import as_json, assert_one_line_error, redress

# The PostgreSQL run of each test here is in the full run only (`pytest -m slow`).
pytestmark = pytest.mark.full_run_on_postgres


@pytest.fixture
def db(database_url: str) -> str:
    """The schema, a manager `boss` and an agent `amy`."""
    return staffed_database(database_url, ("amy", "agent"))

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
    # Tables cut long text to the screen; on a wide one the whole hostile text shows, inert.
    for args in (["show", number], ["queue"], ["customer", "show", "13800138000"]):
        _assert_inert(redress(*args, db=db, COLUMNS="200").stdout)
    history = redress("history", number, db=db, COLUMNS="200").stdout
    _assert_inert(history)
    assert "\\x1b[31m" in history and "\\u2066" in history and "\x1b" not in history
    # An email customer's acknowledgement quotes the summary: `outbox show` prints it inert too.
    by_email = _file(db, email="wang@example.cn")
    acknowledgement = as_json(redress("outbox", "list", "--complaint", by_email, "--json", db=db))[0]
    assert acknowledgement["channel"] == "customer_email"
    _assert_inert(redress("outbox", "show", str(acknowledgement["id"]), db=db).stdout)


def test_an_error_quoting_hostile_input_is_inert(db):
    result = redress("new", "--channel", "pi\x1b]0;x\x07geon", "--category", "delivery", "--summary", "x",
                     "--phone", "13800138000", db=db, user="amy", check=False)
    assert_one_line_error(result, 7, "\\x1b]0;x\\x07")
    assert "\x1b" not in result.stderr


def _state_of(db: str, number: str) -> tuple:
    """What a refused command must leave alone: the trail, the customer's profile and complaints, the steps."""
    return (as_json(redress("history", number, "--json", db=db))["events"],
            as_json(redress("customer", "show", "13800138000", "--json", db=db)),
            as_json(redress("compensation", "list", "--json", db=db)),
            as_json(redress("outbox", "list", "--json", db=db)))


def test_text_past_its_limit_money_out_of_range_and_impossible_ids_are_one_line_and_change_nothing(db):
    number = _file(db, summary="快递没到")
    before = _state_of(db, number)
    new = ["new", "--channel", "phone", "--category", "delivery", "--phone", "13800138000"]
    cases = [
        ([*new, "--summary", "x" * 2001], 7, "summary is 2001 characters long; at most 2000 are allowed"),
        ([*new, "--summary", "x", "--phone", "13900000000", "--name", "名" * 129], 7, "name is 129 characters"),
        ([*new, "--summary", "x", "--email", "a" * 250 + "@b.cn"], 7, "email is 255 characters long; at most 254"),
        ([*new, "--summary", "x", "--order", "S" * 65], 7, "order reference is 65 characters long; at most 64"),
        (["note", number, "-m", "n" * 4001], 7, "note is 4001 characters long; at most 4000"),
        (["route", number, "--owner", "物流布"], 7, "owner '物流布' is not a configured owner; owners: 物流部, 财务部"),
        (["route", number, "--owner", "物" * 129], 7, "owner is 129 characters long; at most 128"),
        (["compensation", "add", number, "refund", "--amount", "1E+400", "--reason", "x"], 7,
         "amount '1E+400' is not allowed; a positive amount with at most two decimals, up to 10000000.00"),
        (["compensation", "add", number, "refund", "--amount", "NaN", "--reason", "x"], 7, "amount 'NaN'"),
        (["compensation", "add", number, "refund", "--amount", "-inf", "--reason", "x"], 7, "amount '-inf'"),
        (["compensation", "add", number, "refund", "--amount", "21474836.48", "--reason", "x"], 7,
         "amount '21474836.48' is not allowed"),
        (["outbox", "show", "9" * 20], 3, f"no message {'9' * 20}"),
        (["compensation", "approve", "9" * 20], 3, f"no compensation step {'9' * 20}"),
        (["kb", "search", "退款", "--limit", "-5"], 7, "limit -5 is not allowed; give 1 to 100"),
        (["kb", "search", "退款", "--language", "fr"], 7, "language 'fr' is not allowed; languages: zh-CN, zh-TW, en"),
        (["outbox", "list", "--limit", "-5"], 7, "limit -5 is not allowed"),
    ]
    for args, code, fragment in cases:
        assert_one_line_error(redress(*args, db=db, user="boss", check=False), code, fragment)
    assert _state_of(db, number) == before


def test_an_argument_that_is_not_utf8_is_one_line(db):
    import os
    import subprocess

    from tests.e2e.test_cli import CONFIG, NOW, REDRESS

    number = _file(db, summary="快递没到")
    before = _state_of(db, number)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
    env.update(REDRESS_CONFIG=str(CONFIG), REDRESS_DB=db, REDRESS_NOW=NOW, REDRESS_USER="amy",
               LC_ALL="C.UTF-8")
    for args in ([b"note", number.encode(), b"-m", b"bad \xff byte"],
                 [b"new", b"--channel", b"phone", b"--category", b"delivery", b"--summary", b"\xc3\x28",
                  b"--phone", b"13800138000"]):
        result = subprocess.run([bytes(REDRESS), *args], env=env, capture_output=True, timeout=60)
        stderr = result.stderr.decode()
        assert result.returncode == 7 and "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr
        assert "is not valid UTF-8 text" in stderr
    assert _state_of(db, number) == before


def test_demo_on_a_database_that_holds_complaints_says_so_and_changes_nothing(db):
    number = _file(db, summary="快递没到")
    before = _state_of(db, number)
    result = redress("demo", db=db, check=False)
    assert_one_line_error(result, 7, "already holds 1 complaint(s); the demo needs an empty one",
                          "redress --db demo.db demo")
    assert _state_of(db, number) == before
    assert [u["name"] for u in as_json(redress("user", "list", "--json", db=db))] == ["amy", "boss"]


def test_config_check_says_ok_or_names_the_mistake_in_one_line(tmp_path):
    from tests.e2e.test_cli import CONFIG

    ok = redress("config", "check", db="unused.db")
    assert ok.stdout.strip().splitlines() == [ok.stdout.strip()]
    assert ok.stdout.startswith("config.yaml: OK (4 severities, 9 categories")
    assert "policy_manual.yaml: 8 answers" in ok.stdout

    manual = tmp_path / "manual.yaml"
    manual.write_text("- {id: x, category: pets}\n", encoding="utf-8")
    broken_manual = tmp_path / "config.yaml"
    broken_manual.write_text(CONFIG.read_text(encoding="utf-8").replace(
        "policy_manual: policy_manual.yaml", f"policy_manual: {manual}"), encoding="utf-8")
    assert_one_line_error(redress("config", "check", db="unused.db", config=broken_manual, check=False), 8,
                          str(manual))

    not_utf8 = tmp_path / "latin1.yaml"
    not_utf8.write_bytes(CONFIG.read_bytes() + b"# caf\xe9\n")
    assert_one_line_error(redress("config", "check", db="unused.db", config=not_utf8, check=False), 8,
                          "not UTF-8 text")
    misspelt = tmp_path / "misspelt.yaml"
    misspelt.write_text(CONFIG.read_text(encoding="utf-8").replace("currency: CNY", "currency: RMB"),
                        encoding="utf-8")
    assert_one_line_error(redress("config", "check", db="unused.db", config=misspelt, check=False), 8,
                          "compensation.currency: 'RMB' is not an ISO 4217 currency code")
