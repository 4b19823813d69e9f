"""The installed `redress` command in a subprocess, on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CONFIG, OS_ACCOUNT, staffed_database

REDRESS = Path(sys.executable).parent / "redress"
NOW = "2026-11-20T10:00:00+08:00"


def redress(*args: str, db: str, user: str | None = None, config: Path = CONFIG, check: bool = True,
            **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
    env.update({"REDRESS_CONFIG": str(config), "REDRESS_DB": db, "REDRESS_NOW": NOW, "COLUMNS": "120", **extra_env})
    if user:
        env["REDRESS_USER"] = user
    result = subprocess.run([str(REDRESS), *args], env=env, capture_output=True, text=True, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"redress {' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result


def as_json(result: subprocess.CompletedProcess[str]):
    return json.loads(result.stdout)


@pytest.fixture
def db(database_url: str) -> str:
    """A database with the schema, the manager boss (this account's direct seat) and the agent amy."""
    assert REDRESS.exists(), f"the redress command is not installed beside {sys.executable}"
    return staffed_database(database_url, ("amy", "agent"))


def file_complaint(db: str) -> str:
    result = redress(
        "new", "--channel", "phone", "--category", "delivery", "--summary", "快递十天没到",
        "--phone", "13800138000", "--name", "王芳", "--order", "SO-1", "--json", db=db, user="amy",
    )
    return as_json(result)["number"]


def test_a_complaint_goes_from_new_to_close_and_reopen(db):
    number = file_complaint(db)
    assert number == "C-20261120-0001"
    for step in (["triage"], ["take"], ["start"], ["route", "--owner", "物流部", "-m", "查件"],
                 ["feedback", "-m", "已改派"], ["resolve", "-m", "已送达"], ["close"]):
        redress(step[0], number, *step[1:], db=db, user="amy")
    assert as_json(redress("show", number, "--json", db=db))["state"] == "closed"

    reopened = redress("reopen", number, "-m", "客户说少了一件", db=db, user="amy")
    assert "closed -> in_progress" in reopened.stdout

    detail = as_json(redress("show", number, "--json", db=db))
    assert {k: detail[k] for k in ("number", "state", "severity", "category", "channel", "assignee", "owner",
                                   "escalation_level", "version")} == {
        "number": number, "state": "in_progress", "severity": "low", "category": "delivery",
        "channel": "phone", "assignee": "amy", "owner": "物流部", "escalation_level": 0, "version": 9,
    }
    assert detail["customer"]["name"] == "王芳"
    assert "resolve" in detail["allowed_actions"] and "close" not in detail["allowed_actions"]
    assert detail["created_at"] and detail["updated_at"]

    events = as_json(redress("history", number, "--json", db=db))["events"]
    assert [e["trigger"] for e in events] == ["file", "triage", "assign", "start", "route", "owner_feedback",
                                              "resolve", "close", "survey_queued", "reopen", "messages_withdrawn"]
    assert all(e["actor"] == "amy" for e in events)
    queue = as_json(redress("queue", "--json", db=db))
    assert [row["number"] for row in queue] == [number]
    customer = as_json(redress("customer", "show", "13800138000", "--json", db=db))
    assert [c["number"] for c in customer["complaints"]] == [number]


@pytest.mark.full_run_on_postgres
def test_human_output_is_a_table(db):
    number = file_complaint(db)
    shown = redress("show", number, db=db)
    assert number in shown.stdout and f"redress triage {number}" in shown.stdout
    assert "快递十天没到" in redress("queue", db=db).stdout
    assert "file" in redress("history", number, db=db).stdout


@pytest.mark.full_run_on_postgres
def test_kb_search_finds_chinese_and_answer_closes_on_the_line(db):
    hits = as_json(redress("kb", "search", "退款多久到账", "--json", db=db))
    assert hits[0]["id"] == "refund-timeline"
    result = redress(
        "new", "--channel", "chat", "--category", "refund", "--summary", "退款多久到账？", "--phone", "13600000000",
        "--name", "孙丽", "--answer", "refund-timeline", "--json", db=db, user="amy",
    )
    assert as_json(result)["to_state"] == "closed"


@pytest.mark.full_run_on_postgres
def test_states_prints_the_mermaid_diagram(db):
    diagram = redress("states", db=db).stdout
    assert "stateDiagram-v2" in diagram and "routed --> in_progress: owner_feedback" in diagram


# --- bad input ---------------------------------------------------------------------------


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, *fragments: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def trail(db: str, number: str) -> list:
    return as_json(redress("history", number, "--json", db=db, user="boss"))["events"]


@pytest.mark.full_run_on_postgres
def test_each_bad_input_is_one_line_a_distinct_code_and_changes_nothing(db, tmp_path):
    number = file_complaint(db)
    before = trail(db, number)
    cases = [
        (["show", "C-20991231-0001"], 3, ["no complaint C-20991231-0001"]),
        (["resolve", number, "-m", "done"], 4, ["'resolve' is not allowed in state 'received'",
                                                "allowed here: triage, answer_from_manual, cancel"]),
        (["new", "--channel", "phone", "--summary", "x"], 2, ["Missing option '--category'"]),
        (["route", number], 2, ["Missing option '--owner'"]),
        (["cancel", number, "--reason", "spam"], 5, ["amy is an agent; cancelling as spam needs senior"]),
        (["severity", number, "--to", "urgent", "--reason", "x"], 7, ["severity 'urgent' is not allowed",
                                                                     "low, medium, high, critical"]),
        (["triage", number, "--if-version", "7"], 6, ["changed since you read it"]),
        (["new", "--channel", "pigeon", "--category", "delivery", "--summary", "x", "--phone", "1380000"], 7,
         ["channel 'pigeon' is not allowed; channels: phone, web, email, chat, sms, fax, letter"]),
        (["show", number, "--bogus"], 2, ["No such option"]),
    ]
    for args, code, fragments in cases:
        assert_one_line_error(redress(*args, db=db, user="amy", check=False), code, *fragments)
    # With no claim and this operating-system account mapped to nobody, nobody acts.
    redress("user", "edit", "boss", "--os-user", "elsewhere", db=db, user="boss")
    assert_one_line_error(redress("triage", number, db=db, check=False), 7, "no acting user", OS_ACCOUNT)
    assert_one_line_error(redress("triage", number, db=db, user="ghost", check=False), 3, "no user 'ghost'")
    assert trail(db, number) == before


@pytest.mark.full_run_on_postgres
def test_a_malformed_config_names_file_key_and_what_is_allowed(db, tmp_path):
    bad = tmp_path / "config.yaml"
    bad.write_text(CONFIG.read_text(encoding="utf-8").replace("default_severity: low", "default_severity: urgent"),
                   encoding="utf-8")
    result = redress("queue", db=db, config=bad, check=False)
    assert_one_line_error(result, 8, str(bad), "default_severity: 'urgent' is not a severity; allowed: low")


@pytest.mark.parametrize("url", ["postgresql://nobody@127.0.0.1:1/redress", "/nonexistent/folder/redress.db"])
def test_an_unreachable_database_is_one_line(url):
    result = redress("queue", db=url, check=False)
    assert_one_line_error(result, 9, "cannot use database")


def test_two_agents_acting_at_once_one_wins_and_the_other_is_told(db):
    number = file_complaint(db)
    redress("triage", number, db=db, user="amy")
    redress("user", "add", "bob", "--role", "agent", db=db, user="boss")
    version = str(as_json(redress("show", number, "--json", db=db))["version"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
    env.update(REDRESS_CONFIG=str(CONFIG), REDRESS_DB=db, REDRESS_NOW=NOW)
    racers = [
        subprocess.Popen([str(REDRESS), "take", number, "--if-version", version, "--as", agent],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for agent in ("amy", "bob")
    ]
    codes = sorted(p.wait(timeout=60) for p in racers)
    assert codes == [0, 6]
    assigns = [e for e in trail(db, number) if e["trigger"] == "assign"]
    assert len(assigns) == 1
    assert as_json(redress("show", number, "--json", db=db))["assignee"] == assigns[0]["actor"]


def test_the_board_shows_its_first_rows_longest_past_due_first_and_says_when_there_are_more(sqlite_url):
    from datetime import timedelta

    from tests.conftest import PINNED, file_one, make_app
    from workflow.services.firing import fire_due

    db = staffed_database(sqlite_url, ("sup", "supervisor"), ("amy", "agent"))
    app = make_app(db)
    numbers = []
    for minute, phone in enumerate(("13900139001", "13900139002", "13900139003")):
        app.clock.pin(PINNED + timedelta(minutes=minute))
        numbers.append(file_one(app, severity="critical", phone=phone))
    app.clock.pin(PINNED + timedelta(minutes=20))
    fire_due(app)  # each breaches its first response 15 minutes after it was filed
    app.engine.dispose()

    def board(*args: str) -> subprocess.CompletedProcess[str]:
        return redress("escalations", *args, db=db, user="sup", check=False, REDRESS_NOW="2026-11-20T10:20:00+08:00")

    assert board().stdout.splitlines()[0] == "Escalations (3; past due in business / wall time)"
    assert board("--limit", "3").stdout.splitlines()[0] == "Escalations (3; past due in business / wall time)"
    assert (board("--limit", "2").stdout.splitlines()[0]
            == "Escalations (the first 2: --limit for more; past due in business / wall time)")
    assert [row["number"] for row in as_json(board("--limit", "2", "--json"))] == numbers[:2]
    assert_one_line_error(board("--limit", "0"), 7, "limit 0 is not allowed; give 1 to 10000")
