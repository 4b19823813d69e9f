"""`redress mail fetch`, the installed command, on a real Maildir: taken once, even when killed mid-batch."""

from __future__ import annotations

import json
import mailbox
import os
import signal
import subprocess
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
import yaml

from tests.conftest import CONFIG, staffed_database
from tests.e2e.test_cli import REDRESS, as_json, redress


def mail_config(tmp_path: Path, **mail: object) -> Path:
    """The repository's config with a Maildir of this test's own, and customer mail written to a temp folder."""
    settings = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    settings["policy_manual"] = str(CONFIG.parent / "policy_manual.yaml")
    settings["messages"]["email"] = settings["messages"]["sms"] = {"type": "folder", "path": str(tmp_path / "out")}
    settings["mail"] = {**settings["mail"], "mailboxes": [
        {"name": "inbox", "type": "maildir", "path": str(tmp_path / "inbox")}], **mail}
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return config


def customer_mail(index: int, subject: str | None = None, body: str | None = None, **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"顾客{index} <customer{index}@example.cn>"
    message["To"] = "care@shop.cn"
    message["Subject"] = subject or f"订单 SO-{index} 的快递丢了"
    message["Message-ID"] = f"<m{index}@client.example>"
    for key, value in headers.items():
        message[key.replace("_", "-")] = value
    message.set_content(body or f"第 {index} 封：包裹一直没到，请处理。")
    return bytes(message)


@pytest.fixture
def maildb(sqlite_url: str) -> str:
    return staffed_database(sqlite_url, ("amy", "agent"), first_os_user=None)


def test_fetch_files_threads_and_recognises_machine_mail_and_says_what_each_became(maildb, tmp_path):
    config = mail_config(tmp_path)
    inbox = mailbox.Maildir(tmp_path / "inbox", create=True)
    inbox.add(customer_mail(1))
    inbox.add(customer_mail(2, subject="Automatic reply", body="I am away", Auto_Submitted="auto-replied"))
    first = redress("mail", "fetch", db=maildb, config=config)
    assert first.stdout == "inbox: filed 1, automatic 1\n"
    number = as_json(redress("mail", "list", "--json", "--outcome", "filed", db=maildb, config=config,
                             user="amy"))[0]["complaint"]
    inbox.add(customer_mail(3, subject=f"Re: {number}", body="补充：快递单号 SF123"))
    inbox.add(bytes(customer_mail(1, subject=f"Re: {number}", body="还有发票").replace(
        b"<m1@client.example>", b"<m1-again@client.example>")))
    second = redress("mail", "fetch", "--json", db=maildb, config=config)
    outcomes = sorted(taken["outcome"] for taken in json.loads(second.stdout)[0]["taken"])
    assert outcomes == ["filed", "joined"]  # customer3 is not the complaint's customer: their mail is their own
    assert redress("mail", "fetch", db=maildb, config=config).stdout == "inbox: nothing new\n"
    shown = redress("show", number, db=maildb, config=config, user="amy").stdout
    assert "Conversation" in shown and "还有发票" in shown
    assert not list((tmp_path / "inbox" / "new").iterdir())


def test_a_mailbox_that_cannot_be_read_is_one_line_and_exit_15_while_the_others_are_read(maildb, tmp_path):
    config = mail_config(tmp_path)
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings["mail"]["mailboxes"].append({"name": "support", "type": "imap", "host": "127.0.0.1", "port": 9,
                                          "ssl": False, "username": "support", "password_env": "NO_SUCH_SECRET"})
    config.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    mailbox.Maildir(tmp_path / "inbox", create=True).add(customer_mail(1))
    result = redress("mail", "fetch", db=maildb, config=config, check=False)
    assert result.returncode == 15
    assert result.stdout.splitlines()[0] == "inbox: filed 1"
    assert result.stderr.count("\n") == 1 and "NO_SUCH_SECRET" in result.stderr and "Traceback" not in result.stderr
    unknown = redress("mail", "fetch", "--mailbox", "nope", db=maildb, config=config, check=False)
    assert (unknown.returncode, unknown.stderr) == (3, "error: no mailbox 'nope'; mailboxes: inbox, support\n")


def test_killing_the_fetcher_mid_batch_takes_every_message_exactly_once(maildb, tmp_path):
    """kill -9 while a batch is being taken, several times; then a last run. Each message: one record, one
    complaint, and the Maildir empty of new mail."""
    count = 120
    config = mail_config(tmp_path, sender_limit={"messages": 1000, "per_minutes": 60})
    inbox = mailbox.Maildir(tmp_path / "inbox", create=True)
    for index in range(count):
        inbox.add(customer_mail(index))
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")} | {
        "REDRESS_CONFIG": str(config), "REDRESS_DB": maildb, "REDRESS_NOW": "2026-11-20T10:00:00+08:00"}
    new = tmp_path / "inbox" / "new"
    for _ in range(3):
        before = len(list(new.iterdir()))
        if before == 0:
            break
        fetcher = subprocess.Popen([str(REDRESS), "mail", "fetch"], env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(list(new.iterdir())) > before - 8 and fetcher.poll() is None:
            time.sleep(0.005)
        fetcher.send_signal(signal.SIGKILL)
        fetcher.wait()
    redress("mail", "fetch", db=maildb, config=config)
    taken = as_json(redress("mail", "list", "--json", "--limit", "1000", db=maildb, config=config, user="amy"))
    assert len(taken) == count and {row["outcome"] for row in taken} == {"filed"}
    assert len({row["complaint"] for row in taken}) == count
    assert len(as_json(redress("queue", "--json", "--limit", "1000", db=maildb, config=config, user="amy"))) == count
    assert not list(new.iterdir()) and len(list((tmp_path / "inbox" / "cur").iterdir())) == count


def test_the_scheduler_takes_new_mail_on_its_own_and_says_once_that_a_mailbox_cannot_be_read(maildb, tmp_path):
    from tests.e2e.scheduling import Scheduler, wait_for

    config = mail_config(tmp_path, fetch_every_seconds=5)
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings["mail"]["mailboxes"].append({"name": "support", "type": "imap", "host": "127.0.0.1", "port": 9,
                                          "ssl": False, "username": "support", "password_env": "NO_SUCH_SECRET"})
    config.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    mailbox.Maildir(tmp_path / "inbox", create=True).add(customer_mail(1))
    scheduler = Scheduler(config, maildb)
    try:
        assert wait_for(lambda: scheduler.said("took 1 message(s)"), 20), scheduler.lines
        mailbox.Maildir(tmp_path / "inbox").add(customer_mail(2))
        assert wait_for(lambda: sum("took 1 message(s)" in line for line in scheduler.lines) == 2, 20)
    finally:
        output = scheduler.stop()
    assert output.count("NO_SUCH_SECRET") == 1 and "Traceback" not in output
    taken = as_json(redress("mail", "list", "--json", db=maildb, config=config, user="amy"))
    assert sorted(row["outcome"] for row in taken) == ["filed", "filed"]
