"""Compensation, templates, surveys and the outbox through the installed `redress` command."""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import yaml

from tests.conftest import CONFIG, staffed_database
from tests.e2e.test_cli import as_json, redress

# The PostgreSQL run of each test here is in the full run only (`pytest -m slow`).
pytestmark = pytest.mark.full_run_on_postgres


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The shipped config, with customer mail written to a folder of this test."""
    settings = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    settings["policy_manual"] = str(CONFIG.parent / "policy_manual.yaml")
    settings["messages"]["email"] = settings["messages"]["sms"] = {"type": "folder", "path": "mail"}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def db(database_url: str, config: Path) -> str:
    return staffed_database(database_url, ("sup", "supervisor"), ("amy", "agent"))


def resolved(db: str, config: Path) -> str:
    number = as_json(redress(
        "new", "--channel", "email", "--category", "damaged", "--summary", "The jug <b>{{ 7*7 }}</b> is cracked",
        "--email", "john@example.com", "--name", "John", "--language", "en", "--severity", "high", "--json",
        db=db, user="amy", config=config,
    ))["number"]
    for step in (["triage"], ["take"], ["start"], ["resolve", "-m", "new jug sent"]):
        redress(step[0], number, *step[1:], db=db, user="amy", config=config)
    return number


def test_an_agent_requests_a_refund_a_supervisor_approves_and_the_customer_gets_the_notice(db, config):
    number = resolved(db, config)
    planned = as_json(redress("compensation", "list", number, "--json", db=db, config=config))
    assert sorted(s["kind"] for s in planned) == ["apology_letter", "follow_up_call", "replacement"]

    added = as_json(redress("compensation", "add", number, "refund", "--amount", "120", "--reason", "price drop",
                            "--json", db=db, user="amy", config=config))
    assert added["to_state"] == "awaiting_approval"
    own = redress("compensation", "approve", str(added["id"]), db=db, user="amy", config=config, check=False)
    assert own.returncode == 5 and own.stderr.strip() == (
        f"error: amy requested step {added['id']}; nobody approves their own request")
    waiting = as_json(redress("compensation", "list", "--to-approve", "--json", db=db, user="sup", config=config))
    assert [s["id"] for s in waiting] == [added["id"]]
    redress("compensation", "approve", str(added["id"]), "-m", "ok", db=db, user="sup", config=config)
    done = redress("compensation", "done", str(added["id"]), "-m", "RF-1", db=db, user="amy", config=config)
    assert "approved -> done" in done.stdout

    sent = redress("outbox", "send", db=db, config=config)
    assert "sent 3," in sent.stdout  # acknowledgement, resolution and refund notice
    files = sorted((config.parent / "mail").glob("*.eml"))
    mails = {m["Subject"]: m for m in (message_from_bytes(f.read_bytes(), policy=policy.default) for f in files)}
    refund = mails[f"Your refund has been issued (complaint {number})"]
    assert "CN¥120.00" in refund.get_body(("plain",)).get_content()
    ack = mails[f"We have received your complaint {number}"]
    assert "&lt;b&gt;{{ 7*7 }}&lt;/b&gt;" in ack.get_body(("html",)).get_content()
    listed = as_json(redress("outbox", "list", "--complaint", number, "--json", db=db, config=config))
    assert {m["status"] for m in listed} == {"sent"} and len(listed) == len(files)


BAD_INPUT = [
    (["compensation", "add", "{n}", "cash", "--reason", "r"], 7,
     "step kind 'cash' is not allowed; kinds: apology_letter, replacement, refund, voucher, gift, follow_up_call"),
    (["compensation", "add", "{n}", "refund", "--amount", "1.234", "--reason", "r"], 7,
     "amount '1.234' is not allowed; a positive amount with at most two decimals"),
    (["compensation", "approve", "999"], 3, "no compensation step 999"),
    (["survey", "record", "{n}", "--score", "9"], 7, "score 9 is not allowed; scores are 1 to 5"),
    (["templates", "preview", "nonsense", "--complaint", "{n}"], 7, "template 'nonsense' does not exist"),
    (["templates", "preview", "survey", "--complaint", "{n}", "--locale", "fr"], 7, "locale 'fr' is not allowed"),
    (["outbox", "list", "--status", "lost"], 7, "status 'lost' is not allowed"),
]


def test_bad_input_gets_one_line_and_a_distinct_exit_code(db, config):
    """Every case against one resolved complaint (none of them may change it, so they cannot disturb each other)."""
    number = resolved(db, config)
    before = redress("history", number, "--json", db=db, config=config).stdout
    for args, code, message in BAD_INPUT:
        result = redress(*[a.replace("{n}", number) for a in args], db=db, user="amy", config=config, check=False)
        assert result.returncode == code, (args, result.stderr)
        assert result.stderr.startswith(f"error: {message}") and result.stderr.count("\n") == 1, args
        assert "Traceback" not in result.stderr
    assert redress("history", number, "--json", db=db, config=config).stdout == before


def test_templates_check_passes_and_a_broken_override_fails_with_exit_11(db, config, tmp_path):
    ok = redress("templates", "check", db=db, config=config)
    assert ok.stdout.strip() == "all 9 templates render in zh-CN, zh-TW, en"
    (tmp_path / "broken" / "en").mkdir(parents=True)
    (tmp_path / "broken" / "en" / "voucher.sms").write_text("{{ step.code }} {{ customer.name\n")
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings["messages"]["templates_dir"] = "broken"
    config.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    broken = redress("templates", "check", db=db, config=config, check=False)
    assert broken.returncode == 11
    assert "template en/voucher.sms does not render" in broken.stderr
    assert broken.stderr.strip().endswith("error: 1 template(s) do not render") and "Traceback" not in broken.stderr


def test_preview_shows_what_the_customer_would_get_and_a_survey_answer_is_recorded(db, config):
    number = resolved(db, config)
    preview = as_json(redress("templates", "preview", "resolution", "--complaint", number, "--locale", "zh-CN",
                              "--json", db=db, config=config))
    assert preview["locale"] == "zh-CN" and preview["subject"] == f"您的投诉 {number} 已处理"
    assert "new jug sent" in preview["text"] and "<strong>" in preview["html"] and preview["sms"]
    refused = redress("close", number, db=db, user="amy", config=config, check=False)
    assert refused.returncode == 4 and "has open compensation steps" in refused.stderr
    for step in as_json(redress("compensation", "list", number, "--json", db=db, config=config)):
        redress("compensation", "remove", str(step["id"]), "--reason", "customer declined", db=db, user="amy",
                config=config)
    redress("close", number, db=db, user="amy", config=config)
    answer = redress("survey", "record", number, "--score", "1", "--comment", "too slow", db=db, user="amy",
                     config=config)
    assert answer.stdout.strip() == f"{number}: score 1 recorded; low score: reopened, follow_up_call planned"
    scores = json.loads(redress("survey", "scores", "--by", "category", "--json", db=db, config=config).stdout)
    assert scores == [{"category": "damaged", "answers": 1, "average": 1.0}]
