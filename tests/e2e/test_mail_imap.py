"""`redress mail fetch` against a real IMAP server (Dovecot over verified TLS): a complaint's whole mail life."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import yaml

from tests.conftest import CONFIG
from tests.e2e.test_cli import as_json, redress
from tests.e2e.test_mail_fetch import maildb  # noqa: F401 - the fixture
from workflow.adapters.mailboxes import TAKEN_KEYWORD


def imap_config(tmp_path: Path, imap) -> Path:
    settings = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    settings["policy_manual"] = str(CONFIG.parent / "policy_manual.yaml")
    settings["messages"]["email"] = settings["messages"]["sms"] = {"type": "folder", "path": str(tmp_path / "out")}
    settings["mail"]["mailboxes"] = [{"name": "support", "type": "imap", "host": imap.host, "port": imap.port,
                                      "username": "support", "password_env": "REDRESS_TEST_IMAP_PASSWORD",
                                      "ca_file": str(imap.ca_file)}]
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return config


def customer_mail(subject: str, body: str, in_reply_to: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = "王芳 <wang.fang@example.cn>"
    message["To"] = "support@shop.cn"
    message["Subject"] = subject
    if in_reply_to:
        message["In-Reply-To"] = message["References"] = in_reply_to
    message.set_content(body)
    return bytes(message)


def test_new_mail_files_a_reply_resumes_by_message_id_and_one_naming_the_number_reopens(
        maildb, tmp_path, imap):  # noqa: F811
    config = imap_config(tmp_path, imap)

    def run(*args: str, **kwargs: str):
        return redress(*args, db=maildb, config=config, REDRESS_TEST_IMAP_PASSWORD=imap.users["support"], **kwargs)

    imap.append("support", customer_mail("快递十天没到", "订单 SO-1 的快递十天没到，请尽快处理。"))
    assert run("mail", "fetch").stdout == "support: filed 1\n"
    number = as_json(run("mail", "list", "--json", user="amy"))[0]["complaint"]
    for step in (["triage"], ["take"], ["start"], ["wait", "-m", "请提供快递单号", "--reason", "photos_or_documents"]):
        run(step[0], number, *step[1:], user="amy")
    sent = as_json(run("outbox", "list", "--complaint", number, "--json", user="amy"))
    acknowledgement = next(m for m in sent if m["kind"] == "acknowledgement")
    key = as_json(run("outbox", "show", str(acknowledgement["id"]), "--json", user="amy"))["idempotency_key"]

    reply = "单号是 SF123\n\n在 2026年11月20日 10:00，客服 写道：\n> 请提供"
    imap.append("support", customer_mail("Re: 我们已收到您的投诉", reply, in_reply_to=f"<{key}@redress>"))
    assert run("mail", "fetch").stdout == "support: resumed 1\n"
    shown = as_json(run("show", number, "--json", user="amy"))
    said = [entry["text"] for entry in shown["conversation"] if entry["direction"] == "in"]
    assert shown["state"] == "in_progress" and said[-1] == "单号是 SF123"

    run("resolve", number, "-m", "已改派顺丰", user="amy")
    imap.append("support", customer_mail(f"Re: 投诉 {number}", "还是没收到"))
    assert run("mail", "fetch").stdout == "support: reopened 1\n"
    assert as_json(run("show", number, "--json", user="amy"))["state"] == "in_progress"

    assert run("mail", "fetch").stdout == "support: nothing new\n"
    with imap.login("support") as box:
        assert len(box.uids(f"KEYWORD {TAKEN_KEYWORD}")) == 3 and not box.uids(f"UNKEYWORD {TAKEN_KEYWORD}")
