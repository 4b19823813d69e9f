"""What the agent hears back on the line, through the installed `redress` command: the manual's answer to read out,
the compensation steps resolve planned, the customer's other complaints at intake, which channel a message takes,
and what `tick` delivered to whom."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import CONFIG, staffed_database
from tests.e2e.test_cli import REDRESS, as_json, redress

MANUAL = CONFIG.parent / "policy_manual.yaml"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The shipped config, with messages and alerts written to folders of this test and a refund for every refund
    complaint: 299.00, above an agent's limit of 50 and a senior's of 200."""
    settings = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    settings["policy_manual"] = str(MANUAL)
    settings["messages"]["email"] = settings["messages"]["sms"] = {"type": "folder", "path": "mail"}
    settings["alerts"]["channels"] = [{"type": "folder", "path": "alerts"}]
    settings["compensation"]["rules"].insert(0, {"when": {"category": ["refund"]},
                                                 "steps": [{"kind": "refund", "amount": 299}]})
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def db(sqlite_url: str, config: Path) -> str:
    """A migrated database with a manager (boss) and an agent (amy). SQLite: what the command prints is under
    test here; the use cases under it run on both databases in tests/integration."""
    return staffed_database(sqlite_url, ("amy", "agent"))


def new(db: str, config: Path, *args: str) -> list[str]:
    """File a complaint as amy; the lines it prints."""
    return redress("new", "--channel", "phone", *args, db=db, user="amy", config=config).stdout.splitlines()


def answer_text(answer_id: str, language: str) -> str:
    entry = next(a for a in yaml.safe_load(MANUAL.read_text(encoding="utf-8")) if a["id"] == answer_id)
    return entry["answer"][language]


def test_filing_with_an_answer_prints_the_answer_to_read_in_the_customers_language(db, config):
    lines = new(db, config, "--category", "refund", "--summary", "退款多久到帳？", "--phone", "0912345678",
                "--name", "陳美玲", "--language", "zh-TW", "--answer", "refund-timeline")
    said = answer_text("refund-timeline", "zh-TW")
    assert lines[0].startswith("C-20261120-0001: file: closed")
    assert lines[1:] == ["read to the customer:", f"  {said}"]
    shown = as_json(redress("show", "C-20261120-0001", "--json", db=db, config=config))
    assert shown["resolution"] == said  # what was read out is what the complaint records

    filed = as_json(redress("new", "--channel", "phone", "--category", "refund", "--summary", "退款還沒到",
                            "--phone", "0912345678", "--json", db=db, user="amy", config=config))
    assert filed["answer"] == ""
    answered = redress("answer", filed["number"], "refund-not-received", db=db, user="amy", config=config)
    assert answered.stdout.splitlines()[1:] == ["read to the customer:",
                                                f"  {answer_text('refund-not-received', 'zh-TW')}"]
    assert as_json(redress("show", filed["number"], "--json", db=db, config=config))["state"] == "closed"


def test_resolve_names_the_steps_planned_and_those_waiting_for_approval(db, config):
    new(db, config, "--category", "refund", "--summary", "退款一个月没到", "--phone", "13800138000", "--name", "王芳",
        "--severity", "high")
    number = "C-20261120-0001"
    for step in ("triage", "take", "start"):
        redress(step, number, db=db, user="amy", config=config)
    resolved = redress("resolve", number, "-m", "已加急退款", db=db, user="amy", config=config).stdout.splitlines()

    steps = {s["kind"]: s for s in as_json(redress("compensation", "list", number, "--json", db=db, config=config))}
    assert {kind: s["state"] for kind, s in steps.items()} == {
        "apology_letter": "planned", "follow_up_call": "planned", "refund": "awaiting_approval"}
    assert resolved[0] == f"{number}: resolve: in_progress -> resolved [version 5]"
    assert resolved[1:] == [
        f"planned: apology_letter #{steps['apology_letter']['id']} (due 11-20 11:00), "
        f"follow_up_call #{steps['follow_up_call']['id']} (due 11-23 10:00); "
        f"waiting for approval: refund 299.00 CNY #{steps['refund']['id']} (a supervisor approves; "
        "299.00 CNY is above the agent limit of 50.00 CNY per step)"]


def test_resolve_in_json_carries_the_planned_steps(db, config):
    new(db, config, "--category", "refund", "--summary", "refund late", "--phone", "13800138000", "--name", "Li")
    number = "C-20261120-0001"
    for step in ("triage", "take", "start"):
        redress(step, number, db=db, user="amy", config=config)
    outcome = as_json(redress("resolve", number, "-m", "refunded", "--json", db=db, user="amy", config=config))
    assert [(s["kind"], s["state"], s["amount"], s["approver_role"]) for s in outcome["planned_steps"]] == [
        ("refund", "awaiting_approval", "299.00", "supervisor")]


def test_intake_names_the_customers_open_complaints_and_the_earlier_one_about_the_same_order(db, config):
    first = new(db, config, "--category", "delivery", "--summary", "快递十天没到，客服一直不回电话，我很生气",
                "--phone", "13800138000", "--name", "王芳", "--order", "SO-1")
    assert len(first) == 1  # nothing else of this customer's to name
    second = new(db, config, "--category", "quality", "--summary", "杯子有裂纹", "--phone", "13800138000")
    assert second[1] == "also open for this customer: C-20261120-0001 (received) 快递十天没到，客服一直…"
    assert len(second) == 2
    redress("answer", "C-20261120-0001", "delivery-delay", db=db, user="amy", config=config)  # closed on the line
    new(db, config, "--category", "delivery", "--summary", "not mine", "--phone", "13900000000", "--name", "Other",
        "--order", "SO-1")  # another customer's order of the same number is not this customer's

    third = redress("new", "--channel", "phone", "--category", "delivery", "--summary", "还是没到", "--phone",
                    "13800138000", "--order", "SO-1", db=db, user="amy", config=config).stdout.splitlines()
    assert third[1:] == ["also open for this customer: C-20261120-0002 (received) 杯子有裂纹",
                         "same order SO-1: C-20261120-0001 (closed)"]
    related = as_json(redress("new", "--channel", "phone", "--category", "delivery", "--summary", "again",
                              "--phone", "13800138000", "--order", "SO-1", "--json", db=db, user="amy",
                              config=config))["related"]
    assert [(c["number"], c["state"]) for c in related["open"]] == [
        ("C-20261120-0004", "received"), ("C-20261120-0002", "received")]
    assert [(c["number"], c["state"]) for c in related["same_order"]] == [
        ("C-20261120-0004", "received"), ("C-20261120-0001", "closed")]


def test_templates_preview_says_sms_or_email_and_warns_when_the_message_would_not_be_sent(db, config):
    new(db, config, "--category", "delivery", "--summary", "快递没到", "--phone", "13800138000", "--name", "王芳")
    new(db, config, "--category", "delivery", "--summary", "late", "--email", "ann@example.com", "--name", "Ann",
        "--language", "en", "--answer", "delivery-delay")

    by_phone = redress("templates", "preview", "acknowledgement", "--complaint", "C-20261120-0001", db=db,
                       config=config)
    assert by_phone.stdout.splitlines()[0] == "channel: sms (13800138000)" and by_phone.stderr == ""
    by_email = redress("templates", "preview", "resolution", "--complaint", "C-20261120-0002", db=db, config=config)
    assert by_email.stdout.splitlines()[0] == "channel: email (ann@example.com)" and by_email.stderr == ""

    closed = redress("templates", "preview", "first_response", "--complaint", "C-20261120-0002", db=db,
                     config=config)
    assert closed.returncode == 0 and closed.stdout.startswith("channel: email")
    assert closed.stderr.splitlines() == [
        "warning: C-20261120-0002 is closed; first_response is sent only when a complaint is triaged, assigned, "
        "in_progress or routed"]
    shown = as_json(redress("templates", "preview", "survey", "--complaint", "C-20261120-0001", "--json", db=db,
                            config=config))
    assert (shown["channel"], shown["state"], shown["sent_in"]) == ("customer_sms", "received", ["closed"])
    assert shown["warning"].startswith("C-20261120-0001 is received; survey is sent only when")


def tick_at(now: str, db: str, config: Path) -> subprocess.CompletedProcess[str]:
    """`redress tick --json` with the clock pinned at `now` rather than the tests' usual moment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
    env.update(REDRESS_CONFIG=str(config), REDRESS_DB=db, REDRESS_NOW=now)
    result = subprocess.run([str(REDRESS), "tick", "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result


def test_tick_counts_staff_alerts_and_customer_messages_apart(db, config):
    new(db, config, "--category", "delivery", "--summary", "快递没到", "--phone", "13800138000", "--name", "王芳")
    now = redress("tick", db=db, config=config)  # the acknowledgement is due; no deadline yet
    assert now.stdout.strip().endswith("staff alerts sent 0, customer messages sent 1, to retry 0, failed 0")
    later = as_json(tick_at("2026-11-24T10:00:00+08:00", db, config))
    assert later["outbox"]["customer_messages_sent"] == 0 and later["outbox"]["alerts_sent"] >= 2
    assert later["outbox"]["sent"] == later["outbox"]["alerts_sent"]


def test_tick_help_names_the_pinned_clock(db, config):
    assert "REDRESS_NOW" in redress("tick", "--help", db=db, config=config).stdout
