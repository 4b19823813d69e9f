"""Real-world mail (tests/fixtures/mail) through the whole intake: parsed, taken by the service, and what each
becomes on the complaint, the customer and the outbox; then the ways a message could still go wrong."""

from __future__ import annotations

import contextlib
import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.e2e.test_cli import redress
from workflow.adapters.models import COMPLAINTS, CUSTOMERS, EVENTS, INBOUND, MESSAGES
from workflow.read.inbound import list_inbound
from workflow.read.queries import complaint_detail
from workflow.services import lifecycle, mail_in
from workflow.services.mail_in import take

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mail"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def plain(sender: str, subject: str = "订单问题", body: str = "我的订单有问题。", *, message_id: str | None = None,
          in_reply_to: str | None = None, name: str = "客户") -> bytes:
    """A plain UTF-8 message, as a person's mail client writes one."""
    lines = [f"From: {name} <{sender}>" if name else f"From: {sender}", "To: service@redress.example",
             f"Subject: {subject}", "Date: Mon, 30 Nov 2026 10:00:00 +0800", "MIME-Version: 1.0",
             "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
    if message_id:
        lines.append(f"Message-ID: <{message_id}>")
    if in_reply_to:
        lines.append(f"In-Reply-To: {in_reply_to}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode("utf-8")


def answering(raw: bytes, ours: str, message_id: str) -> bytes:
    """`raw` as a reply to our message `ours`: these headers come first, so they win over the fixture's own."""
    return f"Message-ID: <{message_id}>\r\nIn-Reply-To: {ours}\r\n".encode() + raw


def rows(app, statement):
    with app.uow(write=False) as uow:
        return uow.session.execute(statement).all()


def count(app, table) -> int:
    return rows(app, select(func.count()).select_from(table))[0][0]


def complaint_of(app, number):
    return rows(app, select(COMPLAINTS).where(COMPLAINTS.c.number == number))[0]


def customer_of(app, number):
    customer_id = complaint_of(app, number).customer_id
    return rows(app, select(CUSTOMERS).where(CUSTOMERS.c.id == customer_id))[0]


def our_message_id(app, number: str, audience: str = "customer") -> str:
    """The Message-ID of our latest message about `number` to its customer (or its staff)."""
    key = rows(app, select(MESSAGES.c.idempotency_key).join(COMPLAINTS, COMPLAINTS.c.id == MESSAGES.c.complaint_id)
               .where(COMPLAINTS.c.number == number, MESSAGES.c.audience == audience)
               .order_by(MESSAGES.c.id.desc()))[0][0]
    return f"<{key}@redress>"


def customer_words(app, number: str) -> list[str]:
    return [row.note for row in rows(app, select(EVENTS.c.note, EVENTS.c.data).where(
        EVENTS.c.complaint_id == complaint_of(app, number).id).order_by(EVENTS.c.id))
        if json.loads(row.data or "{}").get("from_customer")]


# --- Each fixture lands as it should ----------------------------------------------------------------------------

NEW_MAIL = [
    ("attachments.eml", "包裹破损，附上发票和照片\n\n包裹破损了，发票和照片在附件里。", "赵敏", "zh-CN"),
    ("html_only.eml", "Broken parcel\n\nHello,\n\nThe parcel arrived broken & wet.\nPhotos were sent yesterday.\n\n"
                      "- Order 5512\n- Courier: SF Express\n\nRegards,\nPeter Chan", "Peter Chan", "en"),
    ("no_id_no_date.eml", "快递 三天 没到\n\n快递三天没到，怎么回事？", "小明", "zh-CN"),
]

# A reply fixture first files (its number is unknown here), then, answering our acknowledgement, joins that
# complaint with only the new words: no quote, attribution, earlier-mail header or signature.
REPLIES = [
    ("gbk_foxmail_reply.eml", "回复：您的投诉 C-20261130-0007",
     "您好：\n\n我的订单 20261128-77 的冰箱送来时门是坏的，朱镕基路的仓库说不管。请尽快处理。\n\n王芳",
     "王芳", "zh-CN"),
    ("big5_outlook_tw_reply.eml", "回覆: 您的投訴 C-20261130-0012",
     "您好，\n\n這個包裹已經晚了五天，請問什麼時候會到？謝謝。\n\n林先生", "林先生", "zh-TW"),
    ("iphone_zh_tw_reply.eml", "Re: 您的投訴 C-20261130-0040", "東西收到了，但是顏色不對，請幫我換貨。",
     "陳小姐", "zh-TW"),
    ("outlook_zh_reply.eml", "答复: 您的投诉 C-20261130-0030 已解决", "已经收到退款，谢谢你们。\n\n李娜",
     "李娜", "zh-CN"),
    ("qq_mail_score_reply.eml", "回复：满意度调查 C-20261130-0021", "4分，处理得还可以，就是慢了点。", "张伟", "zh-CN"),
    ("gmail_en_reply.eml", "Re: Your complaint C-20261130-0003",
     "Yes, the replacement arrived today and works. Thanks!", "Sam Lee", "en"),
    ("quoted_signature_reply.eml", "Re: [C-20261130-0050] Refund",
     "The refund has not arrived yet.\nIt has been 10 days.", "Mark Wood", "en"),
]


def test_new_mail_files_a_complaint_with_its_words_decoded_for_a_customer_in_their_language(app):
    for name, summary, customer, language in NEW_MAIL:
        taken = take(app, "inbox", name, fixture(name))
        assert (taken.outcome, taken.detail) == ("filed", ""), name
        complaint = complaint_of(app, taken.complaint)
        assert (complaint.summary, complaint.channel) == (summary, "email")
        who = customer_of(app, taken.complaint)
        assert (who.name, who.language) == (customer, language)
        acknowledged = rows(app, select(MESSAGES.c.kind, MESSAGES.c.locale).where(
            MESSAGES.c.complaint_id == complaint.id, MESSAGES.c.audience == "customer"))
        assert [tuple(m) for m in acknowledged] == [("acknowledgement", language)], name


def test_a_reply_from_a_real_mail_client_joins_its_complaint_with_only_the_new_words(app):
    for name, subject, words, customer, language in REPLIES:
        first = take(app, "inbox", f"{name}-1", fixture(name))
        assert first.outcome == "filed", name
        assert complaint_of(app, first.complaint).summary == f"{subject}\n\n{words}"
        who = customer_of(app, first.complaint)
        assert (who.name, who.language) == (customer, language)
        reply = answering(fixture(name), our_message_id(app, first.complaint), f"again-{name}@example.test")
        joined = take(app, "inbox", f"{name}-2", reply)
        assert (joined.outcome, joined.complaint) == ("joined", first.complaint), name
        assert customer_words(app, first.complaint) == [words]
        whole = rows(app, select(INBOUND.c.text).where(INBOUND.c.id == joined.inbound_id))[0].text
        assert whole.startswith(words.split("\n")[0]) and len(whole) > len(words) - 2  # the whole body is kept


def test_attachments_are_listed_on_the_complaint_with_safe_names_declared_types_and_sizes(app):
    taken = take(app, "inbox", "a1", fixture("attachments.eml"))
    files = complaint_detail(app, taken.complaint)["attachments"]
    assert [(f["filename"], f["content_type"], f["size"], f["kept"]) for f in files] == [
        ("发票.pdf", "application/pdf", 45, True), ("破损照片.jpg", "image/jpeg", 22, True),
        ("evilgpj.exe", "application/octet-stream", 4, True)]  # no path, no right-to-left trick


def test_machine_mail_is_recorded_but_never_filed_joined_or_answered(app):
    for name, why in (("netease_autoreply.eml", "auto-reply"), ("out_of_office.eml", "out-of-office"),
                      ("newsletter.eml", "bulk")):
        taken = take(app, "inbox", name, fixture(name))
        assert (taken.outcome, taken.complaint, taken.detail) == ("automatic", None, f"{why}: not answered, not filed")
    assert count(app, COMPLAINTS) == 0 and count(app, MESSAGES) == 0


def test_a_bounce_marks_the_customers_address_and_fails_what_waits_for_it_without_answering(app):
    for name, address, reason in (("dsn_bounce.eml", "wang.fang@example.cn", "550 5.1.1 user unknown"),
                                  ("exim_bounce.eml", "zhou.jie@example.net",
                                   "550 5.2.1 Mailbox disabled for this recipient")):
        number = take(app, "inbox", f"first-{name}", plain(address)).complaint
        waiting = rows(app, select(MESSAGES.c.id).where(MESSAGES.c.recipient == address,
                                                        MESSAGES.c.status == "pending"))
        assert len(waiting) == 1  # the acknowledgement, not yet sent
        messages = count(app, MESSAGES)
        bounce = take(app, "inbox", name, fixture(name))
        assert (bounce.outcome, bounce.detail) == ("bounce", f"bounced: {address}")
        customer = customer_of(app, number)
        assert customer.email_bounced_at == app.clock.now() and reason in customer.email_bounce
        ack = rows(app, select(MESSAGES.c.status, MESSAGES.c.last_error).where(MESSAGES.c.id == waiting[0].id))[0]
        assert ack.status == "failed" and reason in ack.last_error
        assert count(app, MESSAGES) == messages
    assert count(app, COMPLAINTS) == 2


def test_garbage_is_kept_as_failed_and_files_nothing(app):
    taken = take(app, "inbox", "junk", fixture("garbage.eml"))
    assert (taken.outcome, taken.complaint) == ("failed", None)
    assert count(app, COMPLAINTS) == 0 and count(app, MESSAGES) == 0
    assert [(m["outcome"], m["mailbox"]) for m in list_inbound(app, outcome="failed")] == [("failed", "inbox")]


def test_the_same_bytes_without_a_message_id_are_taken_once_whatever_the_mailbox(app):
    first = take(app, "inbox", "n1", fixture("no_id_no_date.eml"))
    assert take(app, "other", "n9", fixture("no_id_no_date.eml")).outcome == "duplicate"
    assert take(app, "inbox", "n1", fixture("no_id_no_date.eml")).already
    assert [row.number for row in rows(app, select(COMPLAINTS.c.number))] == [first.complaint]


def test_empty_huge_and_overlong_mail_fits_the_columns_or_is_refused_in_one_line(app):
    from workflow.domain.errors import InvalidInput

    empty = take(app, "inbox", "e1", plain("empty@example.cn", subject="", body=""))
    assert complaint_of(app, empty.complaint).summary == "(an empty email)"
    huge = take(app, "inbox", "e2", plain("huge@example.cn", subject="长信", body="长" * 100_000))
    summary = complaint_of(app, huge.complaint).summary
    assert len(summary) == app.config.limits.summary and summary.endswith("…")
    long_id = "x" * 400 + "@example.cn"  # over the 255 of the column, in both mailboxes
    assert take(app, "inbox", "e3", plain("id@example.cn", message_id=long_id)).outcome == "filed"
    assert take(app, "other", "e3", plain("id@example.cn", message_id=long_id, body="再发")).outcome == "duplicate"
    with pytest.raises(InvalidInput, match="at most 254"):  # `fetch` records it failed, raw, and goes on
        take(app, "inbox", "e4", plain("b" * 250 + "@example.cn"))


def test_our_own_acknowledgement_coming_back_into_the_mailbox_is_not_answered(app):
    from notifications.channels.mail import build_email

    number = take(app, "inbox", "k1", plain("loop@example.cn")).complaint
    ack = rows(app, select(MESSAGES).where(MESSAGES.c.recipient == "loop@example.cn"))[0]
    messages = count(app, MESSAGES)
    back = take(app, "inbox", "k2", bytes(build_email("service@redress.example", ack)))
    assert (back.outcome, back.complaint) == ("automatic", None)
    assert count(app, MESSAGES) == messages and customer_words(app, number) == []


def test_a_subject_with_terminal_escapes_and_bidi_overrides_is_shown_escaped_by_redress_show(sqlite_app):
    app = sqlite_app
    subject = "退款\x1b[2J\x1b]0;pwned\x07 \u202egnp.exe"
    taken = take(app, "inbox", "evil", plain("evil@example.cn", subject=subject, body="正文\x1b[31m红"))
    shown = redress("show", taken.complaint, db=app.url, user="amy", COLUMNS="200").stdout
    assert "\x1b" not in shown and "\u202e" not in shown and "\x07" not in shown
    assert "\\x1b[2J" in shown and "\\u202egnp.exe" in shown and "\\x1b[31m红" in shown


# --- What went wrong once, and must not again -------------------------------------------------------------------

def test_a_stranger_naming_a_phone_complaints_number_cannot_write_into_it(sqlite_app):
    app = sqlite_app
    from tests.conftest import file_one

    number = file_one(app, phone="13800138000")  # a call: the customer has no email address
    taken = take(app, "inbox", "s1", plain("stranger@spam.example", subject=f"Re: {number}", body="退款给我的账户 666"))
    assert taken.complaint != number and customer_words(app, number) == []


def test_staff_answering_an_alert_by_mail_is_not_taken_as_the_customers_reply(sqlite_app):
    app = sqlite_app
    number = take(app, "inbox", "k1", plain("wang@example.cn")).complaint
    lifecycle.triage(app, "amy", number)
    lifecycle.assign(app, "amy", number)
    lifecycle.start(app, "amy", number)
    lifecycle.wait_for_customer(app, "amy", number, "请提供订单号", reason="photos_or_documents")
    take(app, "inbox", "k2", plain("wang@example.cn", subject="Re: 订单", body="SO-1",
                                   in_reply_to=our_message_id(app, number)))  # resumes, and alerts amy
    lifecycle.wait_for_customer(app, "amy", number, "请提供照片", reason="photos_or_documents")
    staff = take(app, "inbox", "k3", plain("amy@shop.example", subject="Re: [Redress] alert", body="收到，我来跟进",
                                           in_reply_to=our_message_id(app, number, audience="staff")))
    assert staff.complaint != number and complaint_of(app, number).state == "waiting_customer"
    assert customer_words(app, number)[-1] == "SO-1"


def test_a_reply_reopening_a_complaint_whose_assignee_left_goes_to_people_still_here(sqlite_app):
    app = sqlite_app
    from workflow.services.handover import deactivate_user
    number = take(app, "inbox", "k1", plain("wang@example.cn")).complaint
    for act in (lifecycle.triage, lifecycle.assign, lifecycle.start):
        act(app, "amy", number)
    lifecycle.resolve(app, "amy", number, "已补发")
    lifecycle.close(app, "amy", number)
    deactivate_user(app, "boss", "amy", reason="离职")
    taken = take(app, "inbox", "k2", plain("wang@example.cn", subject=f"Re: {number}", body="还是坏的"))
    assert taken.outcome == "reopened"
    assert complaint_of(app, number).assignee_id is None  # back to the team, not held by someone gone
    alerts = rows(app, select(MESSAGES.c.recipient).where(MESSAGES.c.kind == "customer_reply"))
    assert alerts and "amy" not in [alert.recipient for alert in alerts]


def test_a_retry_that_fails_again_leaves_the_message_failed_and_retryable(sqlite_app, monkeypatch):
    app = sqlite_app

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(mail_in, "file_in_session", broken)
    failed = mail_in._record_failure(app, "inbox", "b1", plain("wang@example.cn"), RuntimeError("disk on fire"))
    with contextlib.suppress(RuntimeError):
        mail_in.retry(app, "sup", failed.inbound_id)
    assert [m["outcome"] for m in list_inbound(app, outcome="failed")] == ["failed"]


def test_a_message_with_no_sender_address_is_kept_raw_like_any_failure(sqlite_app):
    app = sqlite_app
    raw = plain("", subject="无地址", body="附件在此", name="")
    raw = raw.replace(b"From: \r\n", b"From: undisclosed-recipients:;\r\n")
    taken = take(app, "inbox", "n1", raw)
    assert taken.outcome == "failed"
    assert rows(app, select(INBOUND.c.raw).where(INBOUND.c.id == taken.inbound_id))[0].raw == raw


DSN = (b"From: MAILER-DAEMON@mx.example.cn\r\nTo: service@redress.example\r\nSubject: Undelivered Mail\r\n"
       b"Return-Path: <>\r\nMIME-Version: 1.0\r\n"
       b'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
       b"--b1\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
       b"--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.cn\r\n\r\n"
       b"Final-Recipient: x400; /G=Wang/S=Fang/O=Shop/\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
       b"Final-Recipient: rfc822; wang@example.cn\r\nAction: failed\r\nStatus: 5.1.1\r\n"
       b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n--b1--\r\n")


def test_a_bounce_listing_one_odd_recipient_still_marks_the_real_one(sqlite_app):
    app = sqlite_app
    number = take(app, "inbox", "k1", plain("wang@example.cn")).complaint
    taken = take(app, "inbox", "k2", DSN)
    assert taken.outcome == "bounce" and customer_of(app, number).email_bounced_at is not None


def test_a_reply_to_a_complaint_cancelled_as_a_duplicate_joins_the_original(sqlite_app):
    app = sqlite_app
    original = take(app, "inbox", "k1", plain("wang@example.cn", subject="冰箱坏了")).complaint
    copy = take(app, "inbox", "k2", plain("wang@example.cn", subject="冰箱坏了！！", body="再说一遍")).complaint
    lifecycle.cancel(app, "amy", copy, "duplicate", duplicate_of=original)
    taken = take(app, "inbox", "k3", plain("wang@example.cn", subject="Re: 冰箱", body="型号 BCD-500",
                                           in_reply_to=our_message_id(app, copy)))
    assert (taken.outcome, taken.complaint) == ("joined", original)
    assert count(app, COMPLAINTS) == 2


@pytest.mark.postgres
def test_one_message_in_two_mailboxes_taken_at_once_files_one_complaint(postgres_url):
    from tests.conftest import _staffed

    staffed = _staffed(postgres_url)
    app = next(staffed)
    take(app, "inbox", "k0", plain("wang@example.cn", subject="第一次"))  # a returning customer
    both_checked = threading.Barrier(2)
    real_is_blocked = mail_in.is_blocked

    def meet_after_the_duplicate_check(sender, blocked):
        with contextlib.suppress(threading.BrokenBarrierError):
            both_checked.wait(timeout=3)  # fixed code serialises the two: the first waits alone, then goes on
        return real_is_blocked(sender, blocked)

    raw = plain("wang@example.cn", subject="又坏了", body="同一封信", message_id="same@example.cn")
    outcomes: list[str] = []
    mail_in.is_blocked = meet_after_the_duplicate_check
    try:
        threads = [threading.Thread(target=lambda box=box: outcomes.append(take(app, box, "k1", raw).outcome))
                   for box in ("care", "complaints")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
    finally:
        mail_in.is_blocked = real_is_blocked
        staffed.close()
    assert sorted(outcomes) == ["duplicate", "filed"]


def test_a_mailbox_key_longer_than_the_column_is_still_taken_once(sqlite_app):
    app = sqlite_app
    key = "1733020000.M1P2." + "h" * 300
    first = take(app, "inbox", key, plain("long@example.cn"))
    again = take(app, "inbox", key, plain("long@example.cn"))
    assert again.already and again.inbound_id == first.inbound_id


def test_saving_an_attachment_where_no_folder_is_a_one_line_error(sqlite_app, tmp_path):
    app = sqlite_app
    take(app, "inbox", "a1", fixture("attachments.eml"))
    result = redress("attachment", "save", "1", "--to", str(tmp_path / "missing" / "发票.pdf"), db=app.url,
                     user="amy", check=False)
    assert result.returncode == 7 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_message_held_back_by_the_sender_limit_keeps_its_bytes(sqlite_app):
    app = sqlite_app
    app.config = app.config.model_copy(update={"mail": app.config.mail.model_copy(update={
        "sender_limit": app.config.mail.sender_limit.model_copy(update={"messages": 1})})})
    take(app, "inbox", "f1", plain("busy@example.cn"))
    raw = plain("busy@example.cn", subject="第二封", body="照片见附件")
    held = take(app, "inbox", "f2", raw)
    assert held.outcome == "limited"
    assert rows(app, select(INBOUND.c.raw).where(INBOUND.c.id == held.inbound_id))[0].raw == raw


def test_only_a_gateway_system_user_may_post_a_customers_text(sqlite_app):
    from workflow.domain.errors import PermissionDenied
    from workflow.services.sms_in import take_text

    with pytest.raises(PermissionDenied):
        take_text(sqlite_app, "amy", "13800138000", "我撤回投诉", "forged-1")
