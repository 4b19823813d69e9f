"""Customer mail taken in by the service: filed, threaded, resumed, reopened, followed on, refused, once each."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from sqlalchemy import select

from tests.conftest import file_one
from workflow.adapters.models import ATTACHMENTS, COMPLAINTS, CUSTOMERS, EVENTS, INBOUND, MESSAGES
from workflow.read.queries import complaint_detail
from workflow.services import lifecycle, mail_in
from workflow.services.mail_in import take
from workflow.services.people import system_user
from workflow.services.sms_in import take_text


def mail(sender="wang.fang@example.cn", subject="快递十天没到", body="我的包裹十天没到，请尽快处理。", *,
         name="王芳", message_id=None, in_reply_to=None, headers=None, attachments=()) -> bytes:
    message = EmailMessage()
    message["From"] = f"{name} <{sender}>" if name else sender
    message["To"] = "care@shop.cn"
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    if message_id:
        message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    for key, value in (headers or {}).items():
        message[key] = value
    message.set_content(body)
    for filename, content_type, content in attachments:
        main, sub = content_type.split("/")
        message.add_attachment(content, maintype=main, subtype=sub, filename=filename)
    return bytes(message)


def rows(app, statement):
    with app.uow(write=False) as uow:
        return uow.session.execute(statement).all()


def complaint_of(app, number):
    return rows(app, select(COMPLAINTS).where(COMPLAINTS.c.number == number))[0]


def sent_message_id(app, number) -> str:
    """The Message-ID the customer's copy of our latest message to them carries, as the folder channel wrote it."""
    key = rows(app, select(MESSAGES.c.idempotency_key).join(COMPLAINTS, COMPLAINTS.c.id == MESSAGES.c.complaint_id)
               .where(COMPLAINTS.c.number == number, MESSAGES.c.audience == "customer")
               .order_by(MESSAGES.c.id.desc()))[0][0]
    return f"<{key}@redress>"


def add_gateway(app) -> None:
    """The system user an SMS gateway's API key acts as."""
    with app.uow() as uow:
        system_user(app, uow.session, "gateway", "SMS gateway")
        uow.commit()


def take_up(app, number) -> None:
    """Triage the complaint, give it to amy and start it."""
    lifecycle.triage(app, "amy", number)
    lifecycle.assign(app, "amy", number)
    lifecycle.start(app, "amy", number)


def test_new_mail_files_a_complaint_for_the_sender_in_their_language_with_a_suggested_severity(app):
    taken = take(app, "inbox", "k1", mail(subject="投訴：我要找律師", body="你們的貨壞了，我要找律師。", name="陳安娜",
                                          sender="Anna.Chen@Example.TW"))
    assert taken.outcome == "filed" and taken.complaint is not None
    complaint = complaint_of(app, taken.complaint)
    assert complaint.channel == "email" and complaint.category == app.config.mail.category
    assert complaint.severity == "critical" and "律" in complaint.severity_reason
    assert complaint.summary.startswith("投訴：我要找律師") and "你們的貨壞了" in complaint.summary
    customer = rows(app, select(CUSTOMERS).where(CUSTOMERS.c.id == complaint.customer_id))[0]
    assert (customer.email, customer.name, customer.language) == ("anna.chen@example.tw", "陳安娜", "zh-TW")
    acknowledgement = rows(app, select(MESSAGES).where(MESSAGES.c.complaint_id == complaint.id))
    assert [(m.kind, m.recipient, m.locale) for m in acknowledgement] == [
        ("acknowledgement", "anna.chen@example.tw", "zh-TW")]
    record = rows(app, select(INBOUND))[0]
    assert (record.mailbox, record.mailbox_key, record.outcome, record.complaint_id) == (
        "inbox", "k1", "filed", complaint.id)
    assert "你們的貨壞了" in record.text and record.raw is None


def test_a_reply_to_our_message_joins_its_complaint_and_a_reply_naming_the_number_from_the_customer_does_too(app):
    number = take(app, "inbox", "k1", mail()).complaint
    ours = sent_message_id(app, number)
    joined = take(app, "inbox", "k2", mail(subject="Re: 我们已收到您的投诉", body="补充：订单号 SO-9", in_reply_to=ours,
                                           sender="someone.else@example.cn"))
    assert (joined.outcome, joined.complaint) == ("joined", number)
    by_number = take(app, "inbox", "k3", mail(subject=f"关于 {number} 的补充", body="还有一张照片"))
    assert (by_number.outcome, by_number.complaint) == ("joined", number)
    events = rows(app, select(EVENTS.c.trigger, EVENTS.c.note, EVENTS.c.data)
                  .join(COMPLAINTS, COMPLAINTS.c.id == EVENTS.c.complaint_id).where(COMPLAINTS.c.number == number))
    words = [(e.note, json.loads(e.data)["channel"]) for e in events if e.trigger == "customer_message"]
    assert words == [("补充：订单号 SO-9", "email"), ("还有一张照片", "email")]
    alerts = rows(app, select(MESSAGES.c.kind).where(MESSAGES.c.kind == "customer_reply"))
    assert len(alerts) >= 2  # the staff at its level are told, as nobody holds it yet


def test_a_number_in_the_subject_from_a_stranger_does_not_reach_that_complaint(app):
    number = take(app, "inbox", "k1", mail()).complaint
    stranger = take(app, "inbox", "k2", mail(subject=f"Re: {number}", body="spam", sender="x@spam.example",
                                             name=""))
    assert stranger.outcome == "filed" and stranger.complaint != number


def test_a_reply_resumes_a_complaint_waiting_on_the_customer_and_tells_its_assignee(app):
    number = take(app, "inbox", "k1", mail()).complaint
    take_up(app, number)
    lifecycle.wait_for_customer(app, "amy", number, "请提供订单号", reason="photos_or_documents")
    app.clock.pin(app.clock.now() + timedelta(hours=3))
    body = "订单号是 SO-77\n\n在 2026年11月23日 10:00，客服中心 写道：\n> 请提供订单号"
    taken = take(app, "inbox", "k2", mail(subject="Re: 请提供订单号", body=body,
                                          in_reply_to=sent_message_id(app, number)))
    assert taken.outcome == "resumed"
    complaint = complaint_of(app, number)
    assert complaint.state == "in_progress" and complaint.sla_paused_at is None
    replied = rows(app, select(EVENTS).where(EVENTS.c.complaint_id == complaint.id,
                                             EVENTS.c.trigger == "customer_replied"))[0]
    assert replied.note == "订单号是 SO-77" and replied.actor == app.config.mail.actor
    assert rows(app, select(MESSAGES.c.recipient).where(MESSAGES.c.kind == "customer_reply"))[-1][0] == "amy"
    conversation = complaint_detail(app, number)["conversation"]
    assert [entry["direction"] for entry in conversation][:2] == ["in", "out"]
    assert conversation[-1]["direction"] == "in" and conversation[-1]["text"] == "订单号是 SO-77"


def test_a_reply_to_a_resolved_complaint_reopens_it_and_one_long_after_closing_files_a_complaint_that_follows(app):
    number = take(app, "inbox", "k1", mail()).complaint
    take_up(app, number)
    lifecycle.resolve(app, "amy", number, "重新发货")
    reopened = take(app, "inbox", "k2", mail(subject=f"Re: {number}", body="还是没收到"))
    assert reopened.outcome == "reopened" and complaint_of(app, number).state == "in_progress"
    lifecycle.resolve(app, "amy", number, "已签收")
    lifecycle.close(app, "amy", number)
    app.clock.pin(app.clock.now() + timedelta(days=app.config.mail.reopen_within_days + 1))
    later = take(app, "inbox", "k3", mail(subject=f"Re: {number}", body="又坏了"))
    assert later.outcome == "follow_on" and later.complaint != number
    new = complaint_of(app, later.complaint)
    assert new.follows_id == complaint_of(app, number).id and complaint_of(app, number).state == "closed"
    assert complaint_detail(app, later.complaint)["follows"] == number


def test_machine_mail_is_never_answered_or_filed_and_a_bounce_stops_mail_to_the_address(app):
    number = take(app, "inbox", "k1", mail()).complaint
    before = len(rows(app, select(MESSAGES.c.id)))
    auto = take(app, "inbox", "k2", mail(subject="自动回复: 我正在休假", body="我正在休假",
                                        headers={"Auto-Submitted": "auto-replied"}))
    assert (auto.outcome, auto.complaint) == ("automatic", None)
    assert len(rows(app, select(MESSAGES.c.id))) == before
    raw = (b"From: MAILER-DAEMON@mx.example.cn\r\nTo: care@shop.cn\r\nSubject: Undelivered Mail Returned to Sender\r\n"
           b"Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
           b"--b1\r\nContent-Type: text/plain\r\n\r\nThis is the mail system.\r\n"
           b"--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.cn\r\n\r\n"
           b"Final-Recipient: rfc822; wang.fang@example.cn\r\nAction: failed\r\nStatus: 5.1.1\r\n"
           b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n--b1--\r\n")
    taken = take(app, "inbox", "k3", raw)
    assert taken.outcome == "bounce"
    customer = rows(app, select(CUSTOMERS).where(CUSTOMERS.c.email == "wang.fang@example.cn"))[0]
    assert customer.email_bounced_at is not None and "user unknown" in customer.email_bounce
    # The next message to them is not written to the failing address: they have no phone, so nothing is queued.
    take_up(app, number)
    lifecycle.respond(app, "amy", number, "已联系快递")
    assert not rows(app, select(MESSAGES.c.id).where(MESSAGES.c.kind == "first_response"))


def test_a_message_is_taken_once_by_its_key_and_once_by_its_message_id(app):
    raw = mail(message_id="<abc@client.example>")
    first = take(app, "inbox", "k1", raw)
    again = take(app, "inbox", "k1", raw)
    assert again.already and (again.inbound_id, again.outcome) == (first.inbound_id, "filed")
    elsewhere = take(app, "other", "k9", raw)
    assert elsewhere.outcome == "duplicate"
    assert len(rows(app, select(COMPLAINTS.c.id))) == 1


def test_blocked_senders_and_floods_are_kept_but_not_filed(sqlite_app):
    app = sqlite_app
    app.config = app.config.model_copy(update={"mail": app.config.mail.model_copy(update={
        "blocked_senders": ["@spam.example"],
        "sender_limit": app.config.mail.sender_limit.model_copy(update={"messages": 2})})})
    assert take(app, "inbox", "s1", mail(sender="x@spam.example")).outcome == "blocked"
    outcomes = [take(app, "inbox", f"f{i}", mail(subject=f"第{i}封", body=f"内容 {i}")).outcome for i in range(4)]
    assert outcomes[:2] == ["filed", "joined"] or outcomes[:2] == ["filed", "filed"]
    assert outcomes[2:] == ["limited", "limited"]
    app.clock.pin(app.clock.now() + timedelta(minutes=app.config.mail.sender_limit.per_minutes + 1))
    assert take(app, "inbox", "f9", mail(subject="later", body="ok")).outcome != "limited"


def test_attachments_are_kept_with_their_declared_type_and_listed_and_oversized_ones_are_only_named(sqlite_app):
    app = sqlite_app
    app.config = app.config.model_copy(update={"mail": app.config.mail.model_copy(update={
        "max_attachment_bytes": 1000})})
    taken = take(app, "inbox", "a1", mail(attachments=[("破损照片.jpg", "image/jpeg", b"\xff\xd8" + b"x" * 100),
                                                       ("invoice.pdf", "application/pdf", b"%PDF" + b"y" * 5000)]))
    files = complaint_detail(app, taken.complaint)["attachments"]
    assert [(f["filename"], f["content_type"], f["size"], f["kept"]) for f in files] == [
        ("破损照片.jpg", "image/jpeg", 102, True), ("invoice.pdf", "application/pdf", 5004, False)]
    assert "max_attachment_bytes" in files[1]["note"]
    stored = rows(app, select(ATTACHMENTS.c.content).order_by(ATTACHMENTS.c.id))
    assert stored[0][0] == b"\xff\xd8" + b"x" * 100 and stored[1][0] is None


def test_a_message_that_cannot_be_taken_is_kept_raw_and_taken_again_on_retry(sqlite_app, monkeypatch):
    app = sqlite_app
    real = mail_in.file_in_session

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(mail_in, "file_in_session", broken)
    with pytest.raises(RuntimeError):
        take(app, "inbox", "b1", mail())
    failed = mail_in._record_failure(app, "inbox", "b1", mail(), RuntimeError("disk on fire"))
    assert failed.outcome == "failed" and "disk on fire" in failed.detail
    monkeypatch.setattr(mail_in, "file_in_session", real)
    again = mail_in.retry(app, "sup", failed.inbound_id)
    assert again.outcome == "filed"
    assert sorted(r.outcome for r in rows(app, select(INBOUND.c.outcome))) == ["filed", "retried"]


def test_a_text_from_the_gateway_files_once_and_a_second_text_joins(sqlite_app):
    app = sqlite_app
    add_gateway(app)
    first = take_text(app, "gateway", "138 0013 8000", "快递丢了", "gw-1")
    assert first.outcome == "filed"
    assert take_text(app, "gateway", "13800138000", "快递丢了", "gw-1").already
    assert take_text(app, "gateway", "13800138000", "还有发票", "gw-2") == type(first)("joined", first.complaint)
    assert complaint_of(app, first.complaint).channel == "sms"
    assert file_one(app, phone="13900000000")  # the agent's own filing is untouched


def test_a_reply_to_the_survey_that_is_a_score_is_the_answer_and_a_low_one_acts(app):
    from notifications.sender import deliver_due
    from workflow.adapters.models import SURVEYS

    number = take(app, "inbox", "k1", mail()).complaint
    take_up(app, number)
    lifecycle.resolve(app, "amy", number, "已补发")
    lifecycle.close(app, "amy", number)
    app.clock.pin(app.clock.now() + timedelta(days=1))
    deliver_due(app)
    survey = rows(app, select(MESSAGES.c.idempotency_key, MESSAGES.c.status).where(MESSAGES.c.kind == "survey"))[0]
    assert survey.status == "sent"
    taken = take(app, "inbox", "k2", mail(subject="Re: 满意度调查", body="2分 等太久了\n\n-----原始邮件-----\n请打分",
                                          in_reply_to=f"<{survey.idempotency_key}@redress>"))
    assert (taken.outcome, taken.complaint, taken.detail) == ("survey", number, "score 2")
    answer = rows(app, select(SURVEYS))[0]
    assert (answer.score, answer.comment, answer.via) == (2, "等太久了", "email")
    assert complaint_of(app, number).state == "in_progress"  # a low score reopens it for the follow-up call
    ours = f"<{survey.idempotency_key}@redress>"
    again = take(app, "inbox", "k3", mail(subject="Re: 满意度调查", body="5", in_reply_to=ours))
    assert again.outcome == "joined" and len(rows(app, select(SURVEYS))) == 1


def test_a_reply_to_a_complaint_cancelled_as_spam_is_never_answered(app):
    number = take(app, "inbox", "k1", mail(sender="bulk@spam.example", subject="便宜发票", body="代开发票")).complaint
    lifecycle.cancel(app, "sen", number, "spam")
    before = len(rows(app, select(MESSAGES.c.id)))
    again = take(app, "inbox", "k2", mail(sender="bulk@spam.example", subject=f"Re: {number}", body="代开发票"))
    assert (again.outcome, again.complaint) == ("blocked", number)
    assert len(rows(app, select(MESSAGES.c.id))) == before and len(rows(app, select(COMPLAINTS.c.id))) == 1


def test_a_text_after_a_withdrawn_complaint_files_one_that_follows_it(sqlite_app):
    app = sqlite_app
    add_gateway(app)
    first = take_text(app, "gateway", "13800138000", "快递丢了", "gw-1")
    lifecycle.cancel(app, "amy", first.complaint, "withdrawn")
    later = take_text(app, "gateway", "13800138000", "又丢了一个", "gw-2")
    assert later.outcome == "follow_on" and later.complaint != first.complaint
    assert complaint_detail(app, later.complaint)["follows"] == first.complaint


def test_a_score_after_the_survey_was_answered_is_kept_and_reopens_nothing_and_systems_get_no_alerts(app):
    from workflow.adapters.models import SURVEYS
    from workflow.services.alert_recipients import StaffByLevel

    number = take(app, "inbox", "k1", mail()).complaint
    take_up(app, number)
    lifecycle.resolve(app, "amy", number, "已补发")
    first = take(app, "inbox", "k2", mail(subject=f"Re: {number}", body="4分"))
    assert (first.outcome, first.detail) == ("survey", "score 4")  # answered before the survey even went out
    again = take(app, "inbox", "k3", mail(subject=f"Re: {number}", body="5分"))
    assert (again.outcome, again.detail) == ("survey", "score 5 kept: the survey was answered before")
    assert complaint_of(app, number).state == "resolved" and len(rows(app, select(SURVEYS))) == 1
    with app.uow(write=False) as uow:
        agents = [name for name, _ in StaffByLevel(uow.session)(0)]
    assert app.config.mail.actor not in agents and {"amy", "bob"} <= set(agents)


def test_a_gateway_number_in_international_form_finds_the_customer_an_agent_typed(sqlite_app):
    app = sqlite_app
    number = file_one(app, phone="13800138001")
    add_gateway(app)
    assert take_text(app, "gateway", "+86 138 0013 8001", "还有一件事", "gw-9").complaint == number
