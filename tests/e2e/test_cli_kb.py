"""`redress kb list`, `kb show` and `kb search` through the installed command, in the customer's language."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import CONFIG, staffed_database
from tests.e2e.test_cli import REDRESS, as_json, redress

TW_PHONE = "0912345678"


@pytest.fixture
def db(sqlite_url: str) -> str:
    """A migrated database with a manager (boss) and an agent (amy). SQLite: what the command prints is under
    test here; the use cases under it run on both databases in tests/integration."""
    return staffed_database(sqlite_url, ("amy", "agent"))


def at_width(columns: int, *args: str, db: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
    env.update(REDRESS_CONFIG=str(CONFIG), REDRESS_DB=db, COLUMNS=str(columns))
    return subprocess.run([str(REDRESS), *args], env=env, capture_output=True, text=True, check=True).stdout


def file_for_taiwanese_customer(db: str) -> str:
    result = redress("new", "--channel", "phone", "--category", "refund", "--summary", "退款還沒到",
                     "--phone", TW_PHONE, "--name", "陳美玲", "--language", "zh-TW", "--json", db=db, user="amy")
    return as_json(result)["number"]


def test_kb_list_names_every_answer_and_cuts_long_titles_at_the_screen_edge(db):
    rows = as_json(redress("kb", "list", "--language", "en", "--json", db=db))
    assert rows[0] == {"id": "return-7day", "category": "return", "language": "en",
                       "title": "7-day no-reason returns"}
    assert len(rows) == 8
    lines = at_width(50, "kb", "list", "--language", "en", db=db).splitlines()
    assert all(len(line) <= 50 for line in lines)
    assert any("refund-not-received" in line for line in lines)  # an id is never cut
    assert any("Exchanging f…" in line for line in lines)  # a title is, with an ellipsis


def test_kb_show_gives_the_whole_answer_in_every_language_or_in_one(db):
    shown = redress("kb", "show", "refund-not-received", db=db).stdout
    assert "zh-CN  退款未到账" in shown and "zh-TW  退款未到帳" in shown and "en  Refund not received" in shown
    entry = as_json(redress("kb", "show", "refund-not-received", "--language", "en", "--json", db=db))
    assert [text["language"] for text in entry["texts"]] == ["en"]
    assert entry["texts"][0]["answer"].startswith("Once a refund is issued")
    missing = redress("kb", "show", "nope", db=db, check=False)
    assert missing.returncode != 0 and "known answers:" in missing.stderr


def test_kb_search_answers_in_the_customers_language_unless_a_language_is_asked_for(db):
    number = file_for_taiwanese_customer(db)
    for chooser in (["--complaint", number], ["--customer", TW_PHONE]):
        hits = as_json(redress("kb", "search", "退款还没到", *chooser, "--limit", "2", "--json", db=db))
        assert hits[0]["id"] == "refund-not-received"
        assert (hits[0]["language"], hits[0]["title"]) == ("zh-TW", "退款未到帳")
    english = as_json(redress("kb", "search", "退款还没到", "--customer", TW_PHONE, "--language", "en", "--json",
                              db=db))
    assert english[0]["title"] == "Refund not received"
    shown = redress("kb", "show", "wrong-item", "--complaint", number, db=db).stdout
    assert "寄錯貨或少寄" in shown and "Wrong or missing item" not in shown
    unknown = redress("kb", "search", "退款", "--customer", "0900000000", db=db, check=False)
    assert unknown.returncode == 3 and unknown.stderr.startswith("error: no customer")
    both = redress("kb", "show", "wrong-item", "--customer", TW_PHONE, "--complaint", number, db=db, check=False)
    assert (both.returncode, both.stderr) == (7, "error: give --customer or --complaint, not both\n")


def test_kb_search_prints_nothing_on_stderr_while_loading_its_dictionary(db):
    result = redress("kb", "search", "快遞一直沒到", db=db)
    assert result.stderr == ""
    assert result.stdout.startswith("delivery-delay")


def test_the_answer_a_complaint_records_is_the_text_kb_shows_for_its_customer(db):
    filed = as_json(redress("new", "--channel", "phone", "--category", "refund", "--summary", "退款還沒到",
                            "--phone", TW_PHONE, "--name", "陳美玲", "--language", "zh-TW",
                            "--answer", "refund-not-received", "--json", db=db, user="amy"))
    recorded = as_json(redress("show", filed["number"], "--json", db=db))["resolution"]
    shown = as_json(redress("kb", "show", "refund-not-received", "--complaint", filed["number"], "--json", db=db))
    assert shown["texts"] == [{"language": "zh-TW", "title": "退款未到帳", "answer": recorded}]
