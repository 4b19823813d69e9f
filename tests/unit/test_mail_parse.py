"""Reading inbound mail: real-world client shapes, charsets, attachments, machine mail, and garbage that must not raise.

The .eml fixtures in tests/fixtures/mail were written as bytes in the shapes the named clients produce
(Foxmail, QQ Mail, Outlook zh-CN/zh-TW, Gmail, iPhone, Thunderbird, Postfix and Exim bounces).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest
import zhconv
from hypothesis import given, settings
from hypothesis import strategies as st

from notifications.inbound import (
    Attachment,
    IncomingMail,
    detect_language,
    find_complaint_numbers,
    find_score,
    html_to_text,
    parse_mail,
    strip_quoted,
)
from notifications.inbound.text import SIMPLIFIED_ONLY, TRADITIONAL_ONLY

MAIL = Path(__file__).resolve().parents[1] / "fixtures" / "mail"


def fixture(name: str) -> IncomingMail:
    return parse_mail((MAIL / name).read_bytes())


def attachments(mail: IncomingMail) -> list[tuple[str, str, int]]:
    return [(item.filename, item.content_type, len(item.content)) for item in mail.attachments]


def message(headers: str, body: bytes = b"Hello\r\n") -> bytes:
    return headers.strip().replace("\n", "\r\n").encode() + b"\r\n\r\n" + body


# --- Client fixtures -----------------------------------------------------------------------------------------------

def test_foxmail_reply_labelled_gb2312_keeps_a_gbk_only_character_and_loses_the_quote():
    mail = fixture("gbk_foxmail_reply.eml")
    assert mail.reply == ("您好：\n\n我的订单 20261128-77 的冰箱送来时门是坏的，朱镕基路的仓库说不管。"
                          "请尽快处理。\n\n王芳")
    assert "在 2026年11月30日 周一 10:05，客服中心 <service@redress.example> 写道：" in mail.text
    assert (mail.sender, mail.sender_name) == ("wang.fang@example.cn", "王芳")
    assert mail.subject == "回复：您的投诉 C-20261130-0007"
    assert mail.complaint_numbers == ("C-20261130-0007",)
    assert mail.references == ("c-20261130-0007.1@redress.example", "c-20261130-0007.0@redress.example")
    assert mail.sent_at == datetime(2026, 11, 30, 10, 20, 11, tzinfo=UTC)
    assert (mail.language, mail.automatic, mail.attachments) == ("zh-CN", None, ())


def test_big5_outlook_reply_in_traditional_chinese_drops_the_jijianzhe_block():
    mail = fixture("big5_outlook_tw_reply.eml")
    assert mail.reply == "您好，\n\n這個包裹已經晚了五天，請問什麼時候會到？謝謝。\n\n林先生"
    assert mail.subject == "回覆: 您的投訴 C-20261130-0012"  # Q-encoded Big5
    assert (mail.sender_name, mail.language) == ("林先生", "zh-TW")
    assert mail.complaint_numbers == ("C-20261130-0012",)


def test_html_only_mail_becomes_readable_text_without_script_or_style():
    mail = fixture("html_only.eml")
    assert mail.text == ("Hello,\n\nThe parcel arrived broken & wet.\nPhotos were sent yesterday.\n\n"
                         "- Order 5512\n- Courier: SF Express\n\nRegards,\nPeter Chan")
    assert mail.reply == mail.text
    assert mail.sent_at == datetime(2026, 11, 30, 13, 0, tzinfo=UTC)
    assert (mail.language, mail.automatic) == ("en", None)


def test_gmail_reply_prefers_plain_text_and_cuts_an_attribution_wrapped_over_two_lines():
    mail = fixture("gmail_en_reply.eml")
    assert mail.reply == "Yes, the replacement arrived today and works. Thanks!"
    assert mail.text.startswith(mail.reply + "\n\nOn Mon, 30 Nov 2026 at 10:05, Redress Customer Centre <\n")
    assert mail.message_id == "CAF=abc123+xyz@mail.gmail.com"
    assert mail.references == ("c-20261130-0003.2@redress.example",)
    assert (mail.language, mail.complaint_numbers) == ("en", ("C-20261130-0003",))


def test_qq_mail_score_reply_cuts_at_the_original_mail_line_and_reads_as_a_score():
    mail = fixture("qq_mail_score_reply.eml")
    assert mail.reply == "4分，处理得还可以，就是慢了点。"
    assert find_score(mail.reply) == (4, "处理得还可以，就是慢了点。")
    assert (mail.sender, mail.sender_name) == ("12345678@qq.com", "张伟")
    assert (mail.subject, mail.language) == ("回复：满意度调查 C-20261130-0021", "zh-CN")


def test_outlook_zh_reply_cuts_at_the_fajianren_block_and_its_rule():
    mail = fixture("outlook_zh_reply.eml")
    assert mail.reply == "已经收到退款，谢谢你们。\n\n李娜"
    assert mail.subject == "答复: 您的投诉 C-20261130-0030 已解决"
    assert mail.automatic is None  # X-Auto-Response-Suppress alone is what Outlook puts on a person's mail


def test_iphone_zh_tw_reply_stops_at_the_iphone_signature():
    mail = fixture("iphone_zh_tw_reply.eml")
    assert mail.reply == "東西收到了，但是顏色不對，請幫我換貨。"
    assert (mail.sender_name, mail.language) == ("陳小姐", "zh-TW")
    assert mail.message_id == "A1B2C3D4-E5F6-7890-ABCD-EF0123456789@example.tw"


def test_quoted_lines_and_the_dash_dash_signature_are_cut():
    mail = fixture("quoted_signature_reply.eml")
    assert mail.reply == "The refund has not arrived yet.\nIt has been 10 days."
    assert mail.text.endswith("-- \nMark Wood\nAcme Ltd, +44 20 7946 0000")
    assert mail.complaint_numbers == ("C-20261130-0050",)
    assert mail.sent_at == datetime(2026, 12, 1, 11, 0, tzinfo=UTC)


def test_attachments_keep_decoded_chinese_names_declared_types_and_bytes_with_paths_removed():
    mail = fixture("attachments.eml")
    assert mail.text == "包裹破损了，发票和照片在附件里。"
    assert attachments(mail) == [("发票.pdf", "application/pdf", 45),  # RFC 2047 name in a gb2312 label
                                 ("破损照片.jpg", "image/jpeg", 22),  # RFC 2231, split over two parameters
                                 ("evilgpj.exe", "application/octet-stream", 4)]  # ..\ path and U+202E removed
    assert mail.attachments[0].content.startswith(b"%PDF-1.4")
    assert mail.attachments[1].content[:2] == b"\xff\xd8"


def test_out_of_office_with_auto_submitted_is_machine_mail():
    assert fixture("out_of_office.eml").automatic == "out-of-office"


def test_chinese_auto_reply_with_x_autoreply_is_machine_mail():
    mail = fixture("netease_autoreply.eml")
    assert (mail.automatic, mail.subject) == ("auto-reply", "自动回复：您的投诉 C-20261130-0070")
    assert mail.text == "您好，我最近休假，邮件已收到，回来后尽快回复。"


def test_bulk_newsletter_is_machine_mail():
    mail = fixture("newsletter.eml")
    assert (mail.automatic, mail.subject) == ("bulk", "Double 11 – 50% off everything")


def test_delivery_status_report_names_the_failed_recipient_and_the_diagnostic():
    mail = fixture("dsn_bounce.eml")
    assert mail.automatic == "bounce"
    assert mail.bounced == ("wang.fang@example.cn",)
    assert mail.bounce_reason == "550 5.1.1 user unknown"
    assert attachments(mail) == [("attachment-1", "message/rfc822", 223)]  # the returned message, kept whole
    assert mail.complaint_numbers == ()  # the number is only in the returned message


def test_mailer_daemon_prose_bounce_takes_the_failed_address_from_the_text_not_the_returned_copy():
    mail = fixture("exim_bounce.eml")
    assert (mail.automatic, mail.bounced) == ("bounce", ("zhou.jie@example.net",))
    assert mail.bounce_reason == "550 5.2.1 Mailbox disabled for this recipient"


def test_mail_without_message_id_or_date_gets_an_id_from_its_bytes():
    raw = (MAIL / "no_id_no_date.eml").read_bytes()
    mail = parse_mail(raw)
    assert mail.message_id == "sha256-85f0748c8b54ca1ccd238b8c6fc7635ef51349c7b4883f650c91be3be779fc10"
    assert parse_mail(raw).message_id == mail.message_id
    assert parse_mail(raw + b"!").message_id != mail.message_id
    assert mail.sent_at is None
    # Unencoded UTF-8 in the headers, as some Chinese webmail sends them.
    assert (mail.sender, mail.sender_name, mail.subject) == ("xiaoming@example.com", "小明", "快递 三天 没到")
    assert mail.reply == "快递三天没到，怎么回事？"


def test_garbage_bytes_give_a_record_not_an_exception():
    mail = parse_mail((MAIL / "garbage.eml").read_bytes())
    assert mail.message_id.startswith("sha256-")
    assert (mail.sender, mail.subject, mail.sent_at, mail.automatic) == ("", "", None, None)
    assert "\x00" not in mail.text and "\ufffd" in mail.text


def clean(value: object) -> bool:
    """A string a database and a terminal take: no NUL, no lone surrogate."""
    return isinstance(value, str) and "\x00" not in value and value.encode("utf-8", "strict") is not None


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(sorted(path.name for path in MAIL.glob("*.eml"))), cut=st.integers(0, 2000),
       noise=st.binary(max_size=64), at=st.integers(0, 2000))
def test_damaged_mail_never_raises_and_every_text_field_is_clean(name, cut, noise, at):
    raw = (MAIL / name).read_bytes()[:cut or None]
    mail = parse_mail(raw[:at] + noise + raw[at:])
    assert all(clean(getattr(mail, field)) for field in ("message_id", "sender", "sender_name", "subject", "text",
                                                         "reply", "language", "bounce_reason"))
    assert all(clean(item) for item in mail.references + mail.bounced + mail.complaint_numbers)
    assert all(isinstance(item, Attachment) and clean(item.filename) and 0 < len(item.filename) <= 255
               and "/" not in item.filename for item in mail.attachments)


# --- Headers and charsets -------------------------------------------------------------------------------------------

def b_word(text: str, charset: str) -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


def test_a_character_split_between_two_encoded_words_survives():
    data = "镕基路退款".encode("gb18030")
    words = " ".join(f"=?GB2312?B?{base64.b64encode(part).decode()}?=" for part in (data[:3], data[3:]))
    assert parse_mail(message(f"Subject: {words}")).subject == "镕基路退款"


def test_big5_labelled_subject_with_an_hkscs_character_decodes():
    assert parse_mail(message(f"Subject: {b_word('𡃁仔投訴', 'big5hkscs').replace('big5hkscs', 'big5')}")).subject \
        == "𡃁仔投訴"


def test_unencoded_big5_headers_are_read_in_the_charset_the_body_declares():
    raw = (b"From: " + "林先生".encode("big5") + b" <lin@example.tw>\r\nSubject: " + "包裹還沒到".encode("big5")
           + b"\r\nContent-Type: text/plain; charset=big5\r\n\r\n" + "請問什麼時候會到？".encode("big5"))
    mail = parse_mail(raw)
    assert (mail.sender_name, mail.subject, mail.text, mail.language) == ("林先生", "包裹還沒到", "請問什麼時候會到？",
                                                                          "zh-TW")


def test_a_short_chinese_reply_under_an_english_reply_subject_is_chinese():
    mail = parse_mail(message("Subject: Re: Your complaint C-20261130-0001", "好的".encode()))
    assert mail.language == "zh-CN"


def test_unknown_and_lying_charsets_degrade_to_replacement_characters():
    body = "退款".encode() + b"\xff"
    raw = message("Content-Type: text/plain; charset=x-no-such-charset\nSubject: =?x-unknown?Q?caf=E9?=", body)
    mail = parse_mail(raw)
    assert mail.text == "退款\ufffd"
    assert mail.subject == "caf\ufffd"
    assert parse_mail(message("Content-Type: text/plain; charset=us-ascii", "退款".encode())).text == "退款"
    assert parse_mail(message("Content-Type: text/plain; charset=base64", b"aGk=")).text == "aGk="


def test_an_escape_codec_label_cannot_smuggle_a_lone_surrogate_into_the_text():
    mail = parse_mail(message("Content-Type: text/plain; charset=unicode_escape", b"ok \\ud83d"))
    assert mail.text == "ok ?"


def test_subject_whitespace_folds_and_references_dedupe_in_order():
    mail = parse_mail(message("Subject: Re:\n  refund\t  please\nIn-Reply-To: <b@x>\n"
                              "References: <a@x> <b@x>\n <c@x>\nMessage-ID: bare-id@x"))
    assert mail.subject == "Re: refund please"
    assert mail.references == ("b@x", "a@x", "c@x")
    assert mail.message_id == "bare-id@x"


@pytest.mark.parametrize(("date", "expected"), [
    ("Mon, 30 Nov 2026 18:00:00 +0800", datetime(2026, 11, 30, 10, 0, tzinfo=UTC)),
    ("Mon, 30 Nov 2026 10:00:00 -0000", datetime(2026, 11, 30, 10, 0, tzinfo=UTC)),
    ("2026年11月30日", None),
    ("Mon, 30 Nov 2026 10:00:00 +9999", None),
])
def test_the_date_is_aware_utc_or_none(date, expected):
    assert parse_mail(message(f"Date: {date}")).sent_at == expected


def test_complaint_numbers_are_found_in_order_each_once():
    assert find_complaint_numbers("Re: c-20261130-0007 and C-20261130-12345, again C-20261130-0007") == \
        ("C-20261130-0007", "C-20261130-12345")
    assert find_complaint_numbers("C-2026113-0007 XC-20261130-0007 C-20261130-007") == ()


# --- Attachments --------------------------------------------------------------------------------------------------

def test_inline_images_without_names_are_attachments_and_the_html_alternative_is_not():
    raw = message('Content-Type: multipart/related; boundary="r"', (
        b"--r\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>See <img src=\"cid:p1\"></p>\r\n"
        b"--r\r\nContent-Type: image/png\r\nContent-ID: <p1>\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"iVBORw0KGgo=\r\n--r--\r\n"))
    mail = parse_mail(raw)
    assert mail.text == "See"
    assert attachments(mail) == [("attachment-1", "image/png", 8)]


def test_a_long_attachment_name_is_cut_to_255_characters_keeping_its_extension():
    name = "很" * 300 + ".pdf"
    raw = message('Content-Type: multipart/mixed; boundary="m"', (
        b"--m\r\nContent-Type: text/plain\r\n\r\nsee file\r\n--m\r\nContent-Type: application/pdf\r\n"
        + f"Content-Disposition: attachment; filename=\"{b_word(name, 'utf-8')}\"\r\n\r\n%PDF\r\n--m--\r\n".encode()))
    filename = parse_mail(raw).attachments[0].filename
    assert (len(filename), filename[-5:]) == (255, "很.pdf")


# --- Machine mail ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("headers", "reason"), [
    ("Subject: Automatic reply: complaint", "auto-reply"),
    ("Subject: 自動回覆: 您的投訴", "auto-reply"),
    ("Subject: 【休假】张三", "out-of-office"),
    ("Subject: I am on vacation\nX-Auto-Response-Suppress: All", "out-of-office"),
    ("Subject: Out of Office AutoReply: complaint", "out-of-office"),
    ("Subject: 外出中", "out-of-office"),
    ("Subject: hello\nAuto-Submitted: auto-generated", "auto-generated"),
    ("Subject: hello\nX-Autorespond: yes", "auto-reply"),
    ("Subject: hello\nPrecedence: junk", "bulk"),
    ("Subject: hello\nPrecedence: auto_reply", "auto-reply"),
    ("Subject: hello\nList-Id: <buyers.lists.example.com>", "mailing-list"),
    ("Subject: hello\nReturn-Path: <>", "auto-generated"),
    ("From: no-reply@shop.example\nSubject: hello", "no-reply"),
    ("From: postmaster@mx.example\nReturn-Path: <>\nSubject: 系统退信", "bounce"),
])
def test_machine_mail_is_named(headers, reason):
    assert parse_mail(message(headers)).automatic == reason


@pytest.mark.parametrize("headers", [
    "Subject: 休假期间快递丢了，谁负责？",  # a customer's words, not an away notice
    "Subject: I was out of office when the courier came",
    "Subject: I was out of office when the courier came\nX-Auto-Response-Suppress: All",  # Outlook, a person
    "Subject: 外出时快递被放在门口丢了",
    "Subject: Out of office hours nobody answers the phone",
    "Subject: hello\nAuto-Submitted: no",
    "Subject: hello\nX-Auto-Response-Suppress: All",
    "From: postmaster@small-shop.example\nReturn-Path: <owner@small-shop.example>\nSubject: my order",
])
def test_mail_a_person_wrote_is_not_machine_mail(headers):
    assert parse_mail(message(headers)).automatic is None


def delivery_report(action: str) -> bytes:
    return message('From: MAILER-DAEMON@mx.example\nContent-Type: multipart/report; report-type=delivery-status; '
                   'boundary="d"', (
                       b"--d\r\nContent-Type: text/plain\r\n\r\nDelivery report\r\n--d\r\n"
                       b"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"
                       b"Final-Recipient: rfc822; a@example.cn\r\nAction: " + action.encode() +
                       b"\r\nStatus: 4.4.1\r\n\r\n--d--\r\n"))


def test_a_delayed_delivery_report_is_machine_mail_but_no_bounce():
    mail = parse_mail(delivery_report("delayed"))
    assert (mail.automatic, mail.bounced, mail.bounce_reason) == ("delivery-report", (), "")
    assert parse_mail(delivery_report("failed")).bounced == ("a@example.cn",)
    assert parse_mail(delivery_report("failed")).bounce_reason == "4.4.1"  # the Status when no Diagnostic-Code


def test_a_read_receipt_is_machine_mail():
    raw = message('Content-Type: multipart/report; report-type=disposition-notification; boundary="n"',
                  b"--n\r\nContent-Type: text/plain\r\n\r\nYour message was read.\r\n--n--\r\n")
    assert parse_mail(raw).automatic == "disposition-notification"


# --- Quote stripping ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("earlier", [
    "在 2026年11月30日 周一 10:05，客服中心 <x@y> 写道：",
    "在 2026年11月30日 週一 10:05，客服中心 <x@y> 寫道:",
    "客服中心 <x@y> 于2026年11月30日周一 10:05写道：",
    "-----原始邮件-----",
    "-----原始郵件-----",
    "------------------ 原始邮件 ------------------",
    "------------------ Original ------------------",
    "发件人: 客服中心 <x@y>\n发送时间: 2026年11月30日 10:05\n收件人: 王芳\n主题: 投诉",
    "發件人: 客服中心\n發送時間: 2026年11月30日 10:05\n收件人: 王芳",
    "寄件者: 客服中心\n寄件日期: 2026年11月30日\n收件者: 林先生\n主旨: 投訴",
    "On Mon, 30 Nov 2026 at 10:05, X <x@y> wrote:",
    "On Mon, 30 Nov 2026 at 10:05, Redress Customer\nCentre <service@redress.example> wrote:",
    "-----Original Message-----",
    "From: Service <x@y>\nSent: Monday, November 30, 2026 10:05 AM\nTo: Me\nSubject: Complaint",
    "*From:* Service <x@y>\n*Sent:* Monday\n*To:* Me",
    "> earlier words",
    "-- \nWang Fang",
    "Sent from my iPhone",
    "发自我的iPhone",
    "發自我的 iPhone",
    "从我的 iPhone 发送",
    "Get Outlook for iOS",
    "Sent from Yahoo Mail on Android",
    "发自我的华为手机",
    "------------------------------------------------------------------\n发件人：客服中心 <x@y>\n"
    "发送时间：2026年11月30日(星期一) 10:05\n收件人：王芳\n主\u3000题：投诉",
])
def test_each_clients_quote_and_signature_marker_cuts_the_rest(earlier):
    assert strip_quoted(f"The new words.\n多谢。\n\n{earlier}\nold text\n> older") == "The new words.\n多谢。"


@pytest.mark.parametrize("kept", [
    "From: my home address the parcel never left",
    "我在邮件里写道：请退款",
    "Once I wrote: nothing happened",
    "On Monday your agent wrote:",
    "在邮件里我写道：",
    "发自内心感谢你们的帮助",
    "-- me",
    "2 -- 3",
])
def test_ordinary_lines_are_not_taken_for_quote_markers(kept):
    assert strip_quoted(f"Hello\n{kept}\nBye") == f"Hello\n{kept}\nBye"


def test_format_flowed_paragraphs_are_joined_before_quotes_are_cut():
    body = (b"The courier came but left the parcel \r\nat the wrong door.\r\n\r\n"
            b"On 30/11/2026 10:05, Redress Customer Centre \r\nwrote:\r\n> Has the parcel \r\n> arrived?\r\n"
            b"\r\n-- \r\nMark\r\n")
    mail = parse_mail(message("Content-Type: text/plain; charset=utf-8; format=flowed", body))
    assert mail.text == ("The courier came but left the parcel at the wrong door.\n\n"
                         "On 30/11/2026 10:05, Redress Customer Centre wrote:\n> Has the parcel arrived?\n\n-- \nMark")
    assert mail.reply == "The courier came but left the parcel at the wrong door."
    delsp = parse_mail(message("Content-Type: text/plain; format=flowed; delsp=yes", b"\xe9\x80\x80 \r\n\xe6\xac\xbe"))
    assert delsp.text == "退款"


def test_absurdly_nested_mime_gives_a_record_not_a_recursion_error():
    depth = 2000
    raw = b"Subject: deep\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n" + b"".join(
        f"--b{level - 1}\r\nContent-Type: multipart/mixed; boundary=b{level}\r\n\r\n".encode()
        for level in range(1, depth)) + f"--b{depth - 1}\r\nContent-Type: text/plain\r\n\r\nhi\r\n".encode()
    mail = parse_mail(raw)
    assert (mail.subject, mail.attachments) == ("deep", ())


def test_a_reply_that_is_only_quote_keeps_the_whole_text():
    mail = parse_mail(message("Subject: Fwd", b"-----Original Message-----\r\nFrom: a\r\nold\r\n"))
    assert (mail.reply, strip_quoted(mail.text)) == (mail.text, "")


# --- HTML -----------------------------------------------------------------------------------------------------------

def test_html_to_text_keeps_structure_and_drops_hidden_text():
    html = ("<html><head><style>.x{}</style><title>T</title></head><body><h1>Title</h1><p>One&nbsp;&lt;two&gt;"
            "<br><br>three</p><ol><li>first</li><li>second</li></ol><table><tr><td>a</td><td>b</td></tr></table>"
            "<blockquote>quoted<br>more</blockquote><pre>  keep\n    spacing</pre><script>x()</script>"
            "<noscript>js off</noscript>tail</body></html>")
    assert html_to_text(html) == ("Title\n\nOne <two>\n\nthree\n\n1. first\n2. second\n\na b\n\n> quoted\n> more\n\n"
                                  "  keep\n    spacing\n\ntail")


def test_broken_html_still_gives_text():
    assert html_to_text("<p>hi <b>there<![if !supportLists]>x</p><div>end <i>open") == "hi therex\n\nend open"
    assert html_to_text("<p>a</p>\n\n\n\n<p>b</p><!-- c --><![CDATA[ d") == "a\n\nb"


# --- Language -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "language"), [
    ("快递三天没到，怎么回事？", "zh-CN"),
    ("這個包裹已經晚了五天，請問什麼時候會到？", "zh-TW"),
    ("The parcel is late.", "en"),
    ("我的iPhone 15 Pro坏了", "zh-CN"),
    ("Dear team, my name is 王芳 and the courier lost my parcel again", "en"),
    ("好的", "zh-CN"),
    ("", "en"),
])
def test_language_is_detected_from_the_text(text, language):
    assert detect_language(text) == language


def test_the_traditional_and_simplified_table_pairs_each_character_with_its_other_form():
    assert len(TRADITIONAL_ONLY) == len(SIMPLIFIED_ONLY) >= 150
    assert not set(TRADITIONAL_ONLY) & set(SIMPLIFIED_ONLY)
    assert "".join(zhconv.convert(char, "zh-cn") for char in TRADITIONAL_ONLY) == SIMPLIFIED_ONLY


# --- Survey scores --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("reply", "score"), [
    ("5", (5, "")),
    ("5分", (5, "")),
    ("5 分", (5, "")),
    ("五分", (5, "")),
    ("4/5", (4, "")),
    ("4 stars", (4, "")),
    ("★★★★", (4, "")),
    ("★★★★☆", (4, "")),
    ("3 - ok but slow", (3, "ok but slow")),
    ("４", (4, "")),
    ("５分，很满意！", (5, "很满意！")),
    ("5分很满意", (5, "很满意")),
    ("2\n\nThe agent never called back.", (2, "The agent never called back.")),
    ("评分：1", (1, "")),
])
def test_a_reply_that_is_a_score_is_read(reply, score):
    assert find_score(reply) == score


@pytest.mark.parametrize("reply", ["I waited 5 days", "订单号 5", "", "0", "6分", "5 days late", "4.5", "5/10",
                                   "10", "5分钟还没人接", "☆☆☆☆☆", "★★★★★★"])
def test_a_reply_that_is_not_a_score_is_not_read_as_one(reply):
    assert find_score(reply) is None


def test_a_file_name_sent_both_in_pieces_and_whole_is_read_as_no_name_not_a_crash():
    # Python's RFC 2231 decoder raises TypeError for this header (found by the damaged-mail property test).
    raw = (b"From: a@example.cn\r\nSubject: photo\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
           b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nthe jug arrived cracked\r\n"
           b"--b\r\nContent-Type: image/jpeg\r\n"
           b"Content-Disposition: inline; filename*0*=utf-8''%E7%A0%B4; filename*=\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n/9j/\r\n--b--\r\n")
    mail = parse_mail(raw)
    assert "the jug arrived cracked" in mail.text
