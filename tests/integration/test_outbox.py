"""Customer messages delivered through real channels: an SMTP server, an HTTP gateway and a folder of .eml files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import yaml

import notifications.sender as sender
from notifications.sender import deliver_due
from tests.conftest import CONFIG, OS_ACCOUNT, file_one
from tests.servers import Hook
from workflow.config import EmailChannel, FolderChannel, OutboxConfig, WebhookChannel
from workflow.read.outbox import list_messages, show_message
from workflow.services.outbox import retry_message


def customer_channels(app, *, email=None, sms=None, **outbox) -> None:
    """Customer messages through these channels; staff alerts to the log only."""
    app.config = app.config.model_copy(update={
        "messages": app.config.messages.model_copy(update={"email": email, "sms": sms}),
        "outbox": OutboxConfig(**{"max_attempts": 5, "backoff_seconds": 2, "lease_seconds": 60, **outbox}),
    })


def file_for(app, **customer) -> str:
    fields = {"phone": "13800138001", "name": "Anna", "email": "anna@example.com", "language": "en"} | customer
    return file_one(app, **fields)


def test_an_email_arrives_once_in_the_customers_language_with_subject_and_both_bodies(app, smtp):
    inbox, port = smtp
    customer_channels(app, email=EmailChannel(type="email", host="127.0.0.1", port=port, sender="care@shop.cn"))
    number = file_for(app, language="zh-TW", name="陳安娜")
    assert deliver_due(app).sent == 1
    assert deliver_due(app).sent == 0
    assert len(inbox.received) == 1
    recipients, mail = inbox.received[0]
    assert recipients == ["anna@example.com"]
    assert mail["Subject"] == f"我們已收到您的投訴 {number}" and mail["Content-Language"] == "zh-TW"
    assert mail["From"] == "care@shop.cn"
    plain = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "陳安娜，您好" in plain and f"投訴編號為 {number}" in plain
    assert f"<strong>{number}</strong>" in html and 'lang="zh-TW"' in html
    [message] = list_messages(app, status="sent")
    assert mail["Message-ID"] == f"<{show_message(app, message['id'])['idempotency_key']}@redress>"


def test_a_server_that_refuses_the_first_attempts_gets_the_message_on_a_retry_and_every_attempt_is_kept(app, smtp):
    inbox, port = smtp
    inbox.refusals = 2
    customer_channels(app, email=EmailChannel(type="email", host="127.0.0.1", port=port))
    file_for(app)
    assert deliver_due(app).retried == 1
    app.clock.pin(app.clock.now() + timedelta(seconds=2))
    assert deliver_due(app).retried == 1
    app.clock.pin(app.clock.now() + timedelta(seconds=4))
    assert deliver_due(app).sent == 1
    assert len(inbox.received) == 1
    [message] = list_messages(app, status="sent")
    log = show_message(app, message["id"])["attempt_log"]
    assert [(a["number"], a["outcome"]) for a in log] == [(1, "failed"), (2, "failed"), (3, "sent")]
    assert "451" in log[0]["error"]


def test_a_crash_after_sending_but_before_recording_never_sends_the_email_again(app, smtp, monkeypatch):
    inbox, port = smtp
    customer_channels(app, email=EmailChannel(type="email", host="127.0.0.1", port=port))
    file_for(app)

    def die(*_args):
        raise KeyboardInterrupt  # the process stops between the SMTP server's 250 and our record of it

    monkeypatch.setattr(sender, "_record", die)
    with pytest.raises(KeyboardInterrupt):
        deliver_due(app)
    monkeypatch.undo()
    assert len(inbox.received) == 1
    assert list_messages(app, status="sending")
    assert deliver_due(app).sent == 0  # a send that might still be under way is left alone
    app.clock.pin(app.clock.now() + timedelta(seconds=61))
    report = deliver_due(app)
    assert (report.sent, report.uncertain) == (0, 1)
    assert len(inbox.received) == 1
    [uncertain] = list_messages(app, status="uncertain")
    assert [a["outcome"] for a in show_message(app, uncertain["id"])["attempt_log"]] == ["uncertain"]
    # An operator who checked with the customer may send it again, deliberately.
    retry_message(app, "sup", uncertain["id"])
    assert deliver_due(app).sent == 1 and len(inbox.received) == 2


def test_one_call_drains_everything_due_over_one_smtp_connection(app, smtp):
    inbox, port = smtp
    customer_channels(app, email=EmailChannel(type="email", host="127.0.0.1", port=port))
    for n in range(7):
        file_for(app, phone=f"1380000000{n}", email=f"c{n}@example.com")
    assert deliver_due(app).sent == 7
    assert len(inbox.received) == 7 and len(inbox.peers) == 1


def test_a_drain_stops_when_asked_or_at_its_limit_and_leaves_the_rest_unclaimed(app, smtp):
    inbox, port = smtp
    customer_channels(app, email=EmailChannel(type="email", host="127.0.0.1", port=port))
    for n in range(6):
        file_for(app, phone=f"1380000000{n}", email=f"c{n}@example.com")
    assert deliver_due(app, should_stop=lambda: True).sent == 0  # asked before the first claim too
    asked = []
    assert deliver_due(app, should_stop=lambda: asked.append(1) or len(asked) >= 3).sent == 2
    assert deliver_due(app, limit=3).sent == 3
    assert [m["status"] for m in list_messages(app)].count("pending") == 1  # nothing left claimed
    assert deliver_due(app).sent == 1 and len(inbox.received) == 6


def test_an_sms_goes_to_a_real_http_gateway_with_an_idempotency_key(app, webhook):
    customer_channels(app, sms=WebhookChannel(type="webhook", url=webhook))
    number = file_for(app, email=None, language="en")
    Hook.failures = 1
    assert deliver_due(app).retried == 1
    app.clock.pin(app.clock.now() + timedelta(seconds=2))
    assert deliver_due(app).sent == 1
    [(key, body)] = Hook.posts
    assert body["to"] == "13800138001" and body["kind"] == "acknowledgement" and body["audience"] == "customer"
    assert number in body["text"] and "\n" not in body["text"] and len(key) == 32


def test_the_folder_channel_writes_one_eml_per_message_even_when_a_send_is_repeated(app, tmp_path, monkeypatch):
    folder = FolderChannel(type="folder", path=str(tmp_path / "mail"))
    customer_channels(app, email=folder, sms=folder)
    number = file_for(app)
    file_for(app, phone="13800138002", email=None, name="SMS only")
    monkeypatch.setattr(sender, "_record", lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        deliver_due(app)
    monkeypatch.undo()
    app.clock.pin(app.clock.now() + timedelta(seconds=61))
    report = deliver_due(app)  # a file written twice is still one file: the interrupted sends go again
    assert (report.sent, report.uncertain) == (2, 0)
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 2 and not list((tmp_path / "mail").glob("*.part"))
    mails = [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
    assert {m["To"] for m in mails} == {"anna@example.com", "13800138002"}
    assert any(number in m["Subject"] for m in mails)


def _config_with_smtp(tmp_path: Path, port: int) -> Path:
    settings = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    settings["messages"]["email"] = {"type": "email", "host": "127.0.0.1", "port": port}
    settings["policy_manual"] = str(CONFIG.parent / "policy_manual.yaml")
    settings["outbox"]["lease_seconds"] = 60
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return path


def _redress(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).with_name("redress")), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_killing_the_installed_sender_mid_send_never_resends_to_the_smtp_server(sqlite_url, smtp, tmp_path):
    inbox, port = smtp
    env = {**os.environ, "REDRESS_CONFIG": str(_config_with_smtp(tmp_path, port)), "REDRESS_DB": sqlite_url,
           "REDRESS_NOW": "2026-11-20T10:00:00+08:00"}
    assert _redress("db", "upgrade", env=env).returncode == 0
    assert _redress("user", "add", "boss", "--role", "manager", "--os-user", OS_ACCOUNT, env=env).returncode == 0
    filed = _redress("new", "--channel", "email", "--category", "delivery", "--summary", "late parcel",
                     "--email", "kim@example.com", "--name", "Kim", "--language", "en", "--as", "boss", env=env)
    assert filed.returncode == 0, filed.stderr
    inbox.delay_seconds = 2.0
    process = subprocess.Popen([str(Path(sys.executable).with_name("redress")), "outbox", "send"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not inbox.received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert inbox.received, "the SMTP server never got the message"
    process.send_signal(signal.SIGKILL)  # the server has it; the sender never hears the 250
    process.wait(timeout=10)
    inbox.delay_seconds = 0.0

    later = {**env, "REDRESS_NOW": "2026-11-20T10:05:00+08:00"}
    again = _redress("outbox", "send", env=later)
    assert again.returncode == 0 and "sent 0" in again.stdout and "uncertain 1" in again.stdout
    assert len(inbox.received) == 1
    listed = _redress("outbox", "list", "--status", "uncertain", "--json", env=later)
    assert [m["kind"] for m in yaml.safe_load(listed.stdout)] == ["acknowledgement"]


def test_every_message_shares_one_class_per_header_so_a_long_running_sender_does_not_grow():
    from types import SimpleNamespace

    from notifications.channels import build_email

    def mail(n: int):
        return build_email("care@shop.cn", SimpleNamespace(
            recipient=f"c{n}@example.com", subject="Hello", created_at=datetime(2026, 11, 22, tzinfo=UTC),
            idempotency_key=f"k{n}", body="text", body_html="<p>html</p>", locale="en"))

    first, second = mail(1), mail(2)
    assert second["To"] == "c2@example.com" and second["Message-ID"] == "<k2@redress>"
    assert [type(first[h]) for h in ("To", "Subject", "Message-ID")] == [
        type(second[h]) for h in ("To", "Subject", "Message-ID")]
