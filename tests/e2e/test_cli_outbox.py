"""`redress outbox retry` through the installed command: filters, the supervisor's right, one-line refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import CONFIG, OS_ACCOUNT
from tests.e2e.test_cli import as_json, redress


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """SMS to a gateway nobody listens on, one attempt only: every message fails at once."""
    settings = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    settings["policy_manual"] = str(CONFIG.parent / "policy_manual.yaml")
    settings["messages"]["email"] = None
    settings["messages"]["sms"] = {"type": "webhook", "url": "http://127.0.0.1:9/sms", "timeout_seconds": 1}
    settings["outbox"] = {"max_attempts": 1}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.full_run_on_postgres
def test_a_supervisor_retries_failed_messages_by_filter_and_the_complaint_records_it(database_url, config):
    db = database_url
    redress("db", "upgrade", db=db, config=config)
    redress("user", "add", "boss", "--role", "manager", "--os-user", OS_ACCOUNT, db=db, config=config)
    for name, role in (("sup", "supervisor"), ("amy", "agent")):
        redress("user", "add", name, "--role", role, "--as", "boss", db=db, config=config)
    numbers = [as_json(redress("new", "--channel", "phone", "--category", "delivery", "--summary", "late",
                               "--phone", phone, "--name", "Li", "--json", db=db, user="amy", config=config))["number"]
               for phone in ("13800000001", "13800000002")]
    assert "failed 2" in redress("outbox", "send", db=db, config=config).stdout

    refused = redress("outbox", "retry", "--status", "failed", db=db, user="amy", config=config, check=False)
    assert refused.returncode == 5
    assert refused.stderr == "error: amy is an agent; retrying messages needs supervisor or above\n"

    done = redress("outbox", "retry", "--status", "failed", "--complaint", numbers[0], db=db, user="sup",
                   config=config)
    assert done.stdout == "queued 1 message(s) again, noted on 1 complaint(s)\n"
    last = as_json(redress("history", numbers[0], "--json", db=db, config=config))["events"][-1]
    assert (last["trigger"], last["actor"], last["from_state"], last["to_state"]) == (
        "message_retried", "sup", "received", "received")
    assert last["note"] == "1 message(s) queued again" and len(last["data"]["messages"]) == 1
    listed = as_json(redress("outbox", "list", "--json", db=db, config=config))
    assert sorted(m["status"] for m in listed) == ["failed", "pending"]


BAD_RETRIES = [
    ([], 7, "say which messages to retry: a message id, or --status, --complaint, --since or --until"),
    (["--status", "sent"], 7, "--status 'sent' is not allowed; retry takes failed or uncertain"),
    (["--since", "last week"], 7, "--since: 'last week' is not an ISO 8601 time"),
    (["5", "--status", "failed"], 7, "give a message id or filters (--status, --complaint, --since, --until)"),
    (["--complaint", "C-20261120-0099"], 3, "no complaint C-20261120-0099"),
    (["77"], 3, "no message 77"),
]


def test_a_bad_retry_is_one_line_with_its_own_exit_code(sqlite_url, config):
    redress("db", "upgrade", db=sqlite_url, config=config)
    redress("user", "add", "boss", "--role", "manager", "--os-user", OS_ACCOUNT, db=sqlite_url, config=config)
    for args, code, message in BAD_RETRIES:
        result = redress("outbox", "retry", *args, db=sqlite_url, user="boss", config=config, check=False)
        assert result.returncode == code, (args, result.stderr)
        assert result.stderr.startswith(f"error: {message}") and result.stderr.count("\n") == 1, args
        assert "Traceback" not in result.stderr


def test_a_cancelled_complaints_unsent_acknowledgement_is_listed_as_withdrawn(sqlite_url, config):
    db = sqlite_url
    redress("db", "upgrade", db=db, config=config)
    redress("user", "add", "boss", "--role", "manager", "--os-user", OS_ACCOUNT, db=db, config=config)
    number = as_json(redress("new", "--channel", "phone", "--category", "delivery", "--summary", "late",
                             "--phone", "13800000001", "--name", "Li", "--json", db=db, user="boss",
                             config=config))["number"]
    redress("cancel", number, "--reason", "withdrawn", db=db, user="boss", config=config)

    [withdrawn] = as_json(redress("outbox", "list", "--status", "withdrawn", "--json", db=db, config=config))
    assert (withdrawn["kind"], withdrawn["attempts"]) == ("acknowledgement", 0)
    assert "sent 0" in redress("outbox", "send", db=db, config=config).stdout
    assert as_json(redress("outbox", "list", "--status", "pending", "--json", db=db, config=config)) == []
