"""Raw inbound mail read into one clean record: headers and bodies decoded, attachments kept, machine mail named.

Pure: bytes in, `IncomingMail` out, no I/O. Malformed mail degrades (undecodable bytes replaced, unreadable
dates None) rather than raising, because one bad message must not stop a mailbox being read.
"""

from __future__ import annotations

import binascii
import codecs
import hashlib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesParser
from email.policy import Compat32
from email.utils import parseaddr, parsedate_to_datetime
from functools import lru_cache
from typing import Any

from notifications.inbound.text import (
    detect_language,
    find_complaint_numbers,
    html_to_text,
    strip_quoted,
    subject_topic,
    unflow,
)


@dataclass(frozen=True)
class Attachment:
    filename: str  # safe: no directory parts, no control characters, at most 255; "attachment-N" when none
    content_type: str  # as declared, lowercased ("image/jpeg"); never sniffed, opened or executed
    content: bytes  # the decoded payload


@dataclass(frozen=True)
class IncomingMail:
    message_id: str  # without <>; "sha256-<hex of raw>" when absent, so the same bytes dedupe
    references: tuple[str, ...]  # In-Reply-To then References, without <>, each once, in order
    sender: str  # From address, lowercased ("" when none)
    sender_name: str  # decoded display name ("" when none)
    subject: str  # decoded, whitespace folded to single spaces
    sent_at: datetime | None  # Date as aware UTC; None when missing or unreadable
    text: str  # the whole body: text/plain preferred, else HTML made text; \n newlines
    reply: str  # `text` without quoted earlier mail and signature; `text` when that leaves nothing
    language: str  # "zh-CN", "zh-TW" or "en", from the subject and the reply
    attachments: tuple[Attachment, ...]
    automatic: str | None  # why this is machine mail never to answer or file ("bounce", "auto-reply",
    # "out-of-office", "auto-generated", "bulk", "mailing-list", "no-reply", "delivery-report", a report type);
    # None for mail a person wrote
    bounced: tuple[str, ...]  # for a bounce: the failed recipients, lowercased
    bounce_reason: str  # for a bounce: the diagnostic on one line ("" otherwise)
    complaint_numbers: tuple[str, ...]  # C-YYYYMMDD-NNNN numbers in the subject


class _RawHeaders(Compat32):
    """Header values exactly as received, 8-bit bytes kept (as surrogates), for this module to decode itself:
    the standard policies decode with the declared charset only, and Chinese mail often declares the wrong one."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


_PARSER = BytesParser(policy=_RawHeaders())
_MAX_DEPTH = 30  # multipart nesting beyond this is an attack or a broken mailer, not a customer's words

# --- Charsets ------------------------------------------------------------------------------------------------

# Labels that lie in a known direction: gb2312 and gbk mail carries GB18030-only characters, big5 mail HKSCS ones.
_CHARSET_FOR_LABEL = {label: "gb18030" for label in ("gb2312", "gbk", "x-gbk", "cp936", "ms936", "euc-cn",
                                                     "gb_2312-80", "csgb2312", "chinese", "x-euc-cn")}
_CHARSET_FOR_LABEL |= {label: "big5hkscs" for label in ("big5", "big-5", "x-big5", "cn-big5", "csbig5")}
# Unlabelled or unknown: UTF-8 when it is valid, else Chinese, else UTF-8 with replacement characters.
_GUESSES = ("utf-8", "gb18030")


@lru_cache(maxsize=256)
def _codec(label: str | None) -> str | None:
    """The text codec for a declared charset label, None when unknown or not a text codec (e.g. "base64")."""
    if not label:
        return None
    label = label.strip().strip('"').lower()
    label = _CHARSET_FOR_LABEL.get(label, label)
    try:
        name = codecs.lookup(label).name
        b"".decode(name)  # raises LookupError for bytes-to-bytes codecs
    except (LookupError, UnicodeError, ValueError):
        return None
    return None if name == "ascii" else name


def decode_bytes(data: bytes, label: str | None = None) -> str:
    """`data` as text in the declared charset when it decodes, else the best guess; never raises."""
    codec = _codec(label)
    attempts: tuple[str, ...] = _GUESSES
    if codec:
        attempts = (codec, "cp950", *_GUESSES) if codec == "big5hkscs" else (codec, *_GUESSES)
    for attempt in attempts:
        try:
            return _storable(data.decode(attempt))
        except (UnicodeError, LookupError):
            continue
    return _storable(data.decode(codec or "utf-8", "replace"))


def _storable(text: str) -> str:
    """`text` without NUL and lone surrogates (utf-7 and escape codecs can make them), which databases refuse."""
    text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _raw_bytes(text: str) -> bytes:
    """The bytes behind a parsed string: ASCII plus 8-bit bytes the parser kept as surrogates (or as latin-1)."""
    try:
        return text.encode("latin-1", "surrogateescape")
    except UnicodeEncodeError:  # not from the parser's bytes after all
        return text.encode("utf-8", "replace")


def _text_of_raw(text: str, charset: str | None = None) -> str:
    """Text the parser kept as raw bytes (unencoded 8-bit headers): UTF-8 when valid, else `charset`, else guessed."""
    if text.isascii():
        return text.replace("\x00", "")
    data = _raw_bytes(text)
    try:
        return _storable(data.decode("utf-8"))
    except UnicodeDecodeError:
        return decode_bytes(data, charset)


# --- Headers -------------------------------------------------------------------------------------------------

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])|\r|\n")
_WHITESPACE = re.compile(r"\s+")


def _word_bytes(encoding: str, payload: str) -> bytes:
    data = payload.encode("ascii", "replace")
    try:
        if encoding in "bB":
            return binascii.a2b_base64(data + b"=" * (-len(data) % 4))
        return binascii.a2b_qp(data, header=True)
    except (binascii.Error, ValueError):
        return data


def decode_header_value(value: str, charset: str | None = None) -> str:
    """A header as text: RFC 2047 words decoded (adjacent words of one charset joined, so a character split
    between them survives), raw 8-bit bytes read as UTF-8 or `charset` (the body's), folding removed."""
    value = _FOLD.sub("", value)
    if "=?" not in value:
        return _text_of_raw(value, charset)
    pieces: list[str] = []
    pending = b""
    pending_charset: str | None = None
    position = 0
    for word in _ENCODED_WORD.finditer(value):
        between = value[position:word.start()]
        word_charset = word[1].split("*", 1)[0]
        if between and not (pending and between.isspace()):
            if pending:
                pieces.append(decode_bytes(pending, pending_charset))
                pending = b""
            pieces.append(_text_of_raw(between, charset))
        if pending and word_charset.lower() != (pending_charset or "").lower():
            pieces.append(decode_bytes(pending, pending_charset))
            pending = b""
        pending += _word_bytes(word[2], word[3])
        pending_charset = word_charset
        position = word.end()
    if pending:
        pieces.append(decode_bytes(pending, pending_charset))
    pieces.append(_text_of_raw(value[position:], charset))
    return "".join(pieces)


def _header(message: Message, name: str) -> str:
    """The first `name` header, unfolded and with 8-bit bytes decoded, not RFC 2047 decoded ("" when absent)."""
    value = message.get(name)
    return _text_of_raw(_FOLD.sub("", value)).strip() if isinstance(value, str) else ""


def _one_line(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


def _ids(value: str) -> list[str]:
    """Message ids in a header: the bracketed ones, or bare tokens that look like ids from mailers that drop <>."""
    return _MESSAGE_ID.findall(value) or [token for token in value.split() if "@" in token]


def _sent_at(value: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- Bodies and attachments -----------------------------------------------------------------------------------

def _children(part: Message) -> list[Message]:
    payload = part.get_payload()
    return [child for child in payload if isinstance(child, Message)] if isinstance(payload, list) else []


def _declared_charset(message: Message) -> str | None:
    """The charset of the first text part: the best guess for unencoded 8-bit bytes in the headers."""
    waiting = [message]
    for _ in range(_MAX_DEPTH):
        if not waiting:
            break
        part = waiting.pop(0)
        if part.get_content_maintype() == "text":
            return part.get_content_charset()
        if part.get_content_maintype() == "multipart":
            waiting += _children(part)
    return None


def _filename_param(part: Message, charset: str | None) -> str | None:
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        value = _param(part, param, header)
        if isinstance(value, tuple):  # RFC 2231: (charset, language, percent-decoded text)
            declared, _language, text = value
            return decode_bytes(_raw_bytes(text), declared) if declared else decode_header_value(text, charset)
        if isinstance(value, str) and value:
            return decode_header_value(value, charset)
    return None


def _param(part: Message, name: str, header: str = "content-type") -> Any:
    """A header's parameter, None when the header is damaged: the standard library's RFC 2231 decoder raises
    TypeError for a parameter sent both in numbered pieces and whole (`filename*0*=...; filename*=`)."""
    try:
        return part.get_param(name, header=header)
    except (TypeError, ValueError, IndexError):
        return None


def _is_attachment(part: Message) -> bool:
    return (part.get_content_disposition() == "attachment" or _param(part, "name") is not None
            or _param(part, "filename", "content-disposition") is not None)


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    return decode_bytes(data, part.get_content_charset()).replace("\r\n", "\n").replace("\r", "\n")


def _words(part: Message, depth: int, chosen: set[int]) -> str:
    """The text a reader sees in `part`: text/plain preferred among alternatives, HTML made text; the parts used
    are added to `chosen` so they are not also listed as attachments."""
    if depth > _MAX_DEPTH or _is_attachment(part):
        return ""
    content_type = part.get_content_type()
    if content_type in ("text/plain", "text/html"):
        chosen.add(id(part))
        text = _part_text(part)
        if content_type == "text/html":
            return html_to_text(text)
        if str(_param(part, "format") or "").lower() == "flowed":
            return unflow(text, delete_space=str(_param(part, "delsp") or "").lower() == "yes")
        return text
    if part.get_content_maintype() != "multipart":
        return ""
    children = _children(part)
    if part.get_content_subtype() == "alternative":
        for child in sorted(children, key=lambda child: child.get_content_type() != "text/plain"):
            tried: set[int] = set()
            text = _words(child, depth + 1, tried)
            if text.strip():
                chosen |= tried
                return text
        return ""
    return "\n\n".join(text for child in children if (text := _words(child, depth + 1, chosen)).strip())


def _attachment_parts(part: Message, depth: int, chosen: set[int]) -> Iterator[Message]:
    """Every part kept as a file: declared attachments, named parts and inline images; not the body, and not
    inside an attached message (that message is kept whole)."""
    if id(part) in chosen or depth > _MAX_DEPTH:
        return
    maintype = part.get_content_maintype()
    if maintype == "multipart":
        for child in _children(part):
            yield from _attachment_parts(child, depth + 1, chosen)
    elif _is_attachment(part) or maintype not in ("text", "message") or part.get_content_type() == "message/rfc822":
        yield part


def _content(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    attached = _children(part)  # message/rfc822: the attached message, as bytes
    try:
        return attached[0].as_bytes() if attached else b""
    except (ValueError, TypeError, LookupError, UnicodeError):
        return b""


_UNSAFE_IN_NAME = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_MAX_NAME = 255


def safe_filename(name: str | None, number: int) -> str:
    """A name safe to show and store: no directories, control or direction-changing characters, at most 255
    characters (the extension kept); `attachment-<number>` when nothing is left."""
    cleaned = _UNSAFE_IN_NAME.sub("", unicodedata.normalize("NFC", name or ""))
    cleaned = cleaned.replace("\\", "/").rsplit("/", 1)[-1].strip(" .")
    if len(cleaned) > _MAX_NAME:
        stem, dot, extension = cleaned.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            cleaned = f"{stem[:_MAX_NAME - len(extension) - 1]}.{extension}"
        else:
            cleaned = cleaned[:_MAX_NAME]
    return cleaned or f"attachment-{number}"


def _attachments(message: Message, chosen: set[int], charset: str | None) -> tuple[Attachment, ...]:
    return tuple(Attachment(filename=safe_filename(_filename_param(part, charset), number),
                            content_type=part.get_content_type(), content=_content(part))
                 for number, part in enumerate(_attachment_parts(message, 0, chosen), start=1))


# --- Machine mail -------------------------------------------------------------------------------------------------

_DAEMONS = frozenset({"mailer-daemon", "mailer_daemon", "mailerdaemon", "mail-daemon", "postmaster"})
_NO_REPLY = re.compile(r"(?:no|do[-_.]?not)[-_.]?reply\b", re.IGNORECASE)
_BOUNCE_SUBJECT = re.compile(
    r"Undeliver|Undelivered Mail|Returned mail|Delivery Status Notification \((?:Failure|Delay)\)|"
    r"Mail delivery failed|Delivery (?:has )?fail|Delivery Failure|failure notice|Mail System Error|"
    r"退信|投递失败|投遞失敗|未能送达|无法投递|無法投遞|传送失败|傳送失敗|无法送达|無法送達", re.IGNORECASE)
# Auto-reply subjects a person would not start a subject with. Away words count only as a notice ("休假：",
# "【外出】", "Out of Office: "), never as a customer's sentence ("休假期间快递丢了", "Out of office hours ...").
_AUTO_SUBJECT = re.compile(
    r"[\[【(（]?\s*(?:(?P<away>(?:Out of (?:the )?Office|休假|外出|请假|請假|不在办公室|不在辦公室)"
    r"(?:\s*(?:中|通知|自动回复|自動回覆|AutoReply|Reply|Notice))?(?=\s*(?:[:：\]】)）\-–]|$))|Abwesenheitsnotiz)|"
    r"Automatic reply|Auto[- ]?reply|Auto[- ]?response|Autoresponse|"
    r"自动回复|自動回覆|自動回复|自动答复|自動答覆|自動回應)", re.IGNORECASE)
# Subjects that open like an away notice: machine mail only when a header also says automatic replies are about.
_AWAY_START = re.compile(r"[\[【(（]?\s*(?:I am away|I'm away|I am on (?:vacation|leave)|I'm on (?:vacation|leave)|"
                         r"On (?:vacation|leave|holiday)|Vacation|Away|休假|外出|请假|請假|年假)", re.IGNORECASE)
_AUTO_REPLY_HEADERS = ("x-autoreply", "x-autorespond", "x-autoreply-from", "x-mail-autoreply", "x-autogenerated")
_EMPTY_PATH = re.compile(r"\s*<\s*>\s*")


def _auto_subject(subject: str, hinted: bool) -> str | None:
    match = _AUTO_SUBJECT.match(subject)
    if match:
        return "out-of-office" if match["away"] else "auto-reply"
    return "out-of-office" if hinted and _AWAY_START.match(subject) else None


def _automatic(message: Message, sender: str, subject: str) -> str | None:
    """Why mail that is not a bounce was written by a machine (auto-reply, out-of-office, bulk, mailing list,
    no-reply sender), or None; answering any of it risks a mail loop."""
    submitted = _header(message, "auto-submitted").split(";")[0].strip().lower()
    auto_header = (submitted not in ("", "no")
                   or any(_header(message, name).lower() not in ("", "no") for name in _AUTO_REPLY_HEADERS))
    reason = _auto_subject(subject, auto_header or bool(message.get("x-auto-response-suppress")))
    if reason:
        return reason
    if auto_header:
        return "auto-generated" if submitted == "auto-generated" else "auto-reply"
    precedence = _header(message, "precedence").lower()
    if precedence in ("bulk", "junk"):
        return "bulk"
    if precedence == "list" or message.get("list-id"):
        return "mailing-list"
    if precedence == "auto_reply":
        return "auto-reply"
    if message.get("list-unsubscribe"):
        return "bulk"
    if _EMPTY_PATH.fullmatch(_header(message, "return-path") or "-"):
        return "auto-generated"  # null sender: only machines send with it (RFC 3834)
    if _NO_REPLY.match(sender):
        return "no-reply"
    return None


_DIAGNOSTIC = re.compile(r"(?<![\d.])[45]\d\d[ -]#?[45]\.\d{1,3}\.\d{1,3}\b[^\n]*")
# A failed address at the start of a line (Postfix "<a@b>: host …", Exim's indented list, qmail "<a@b>:"),
# or after 收件人.
_FAILED_ADDRESS = re.compile(r"^[ \t]*<?([^\s<>@:;,]+@[^\s<>@:;,]+\.[^\s<>@:;,]+?)>?[ \t]*(?::|$|\()|"
                             r"(?:收件人|收信人)[^\n@]{0,20}?[:：]\s*<?([^\s<>@:;,]+@[^\s<>@:;,]+\.[^\s<>@:;,]+?)>?(?:\s|$)",
                             re.MULTILINE)
# Where a bounce starts quoting the returned message, whose addresses are not failures.
_RETURNED_COPY = re.compile(r"^(?:-+ ?(?:This is a copy|Below this line|Original message|Undelivered message|"
                            r"原始邮件|原邮件)|Return-Path:|Received:|Message-ID:)", re.IGNORECASE | re.MULTILINE)


def _address(field: str) -> str:
    """The address of a DSN recipient field ("rfc822; a@b")."""
    return field.rpartition(";")[2].strip().strip("<>").lower()


def _delivery_report(message: Message) -> tuple[str, tuple[str, ...], str]:
    """(reason, failed recipients, diagnostic) from a multipart/report delivery-status (RFC 3464)."""
    failed: list[str] = []
    diagnostics: list[str] = []
    actions: list[str] = []
    for part in _children(message):
        if part.get_content_type() != "message/delivery-status":
            continue
        for block in _children(part):  # the per-message block, then one per recipient
            action = _header(block, "action").lower()
            if not action:
                continue
            actions.append(action)
            recipient = _address(_header(block, "final-recipient") or _header(block, "original-recipient"))
            if action.startswith("failed") and recipient:
                failed.append(recipient)
                diagnostic = _header(block, "diagnostic-code").partition(";")
                diagnostics.append(_one_line(diagnostic[2] or diagnostic[0]) or _header(block, "status"))
    if actions and not any(action.startswith("failed") for action in actions):
        return "delivery-report", (), ""  # delayed, delivered or relayed: nothing failed yet
    return "bounce", tuple(dict.fromkeys(failed)), "; ".join(dict.fromkeys(filter(None, diagnostics)))


def _bounce_from_text(message: Message, text: str) -> tuple[tuple[str, ...], str]:
    """Failed recipients and diagnostic of a bounce written as prose (no delivery-status part)."""
    cut = _RETURNED_COPY.search(text)
    notice = text[:cut.start()] if cut else text
    listed = [address for address in _header(message, "x-failed-recipients").replace(",", " ").split()]
    listed += [first or second for first, second in _FAILED_ADDRESS.findall(notice)]
    diagnostic = _DIAGNOSTIC.search(notice)
    return (tuple(dict.fromkeys(address.lower() for address in listed)),
            _one_line(diagnostic[0]) if diagnostic else "")


def _bounce(message: Message, sender: str, subject: str, text: str) -> tuple[str, tuple[str, ...], str] | None:
    report_type = str(_param(message, "report-type") or "").lower()
    if message.get_content_type() == "multipart/report":
        if report_type == "delivery-status":
            reason, failed, diagnostic = _delivery_report(message)
            if reason == "bounce" and not failed:
                failed, diagnostic = _bounce_from_text(message, text)
            return reason, failed, diagnostic
        if report_type:  # disposition-notification (read receipts), feedback-report (abuse reports) ...
            return report_type, (), ""
    daemon = sender.partition("@")[0] in _DAEMONS
    null_path = _EMPTY_PATH.fullmatch(_header(message, "return-path") or "-") is not None
    bounce_subject = _BOUNCE_SUBJECT.search(subject) is not None
    if (daemon and (null_path or bounce_subject or not message.get("return-path"))) or (null_path and bounce_subject):
        return ("bounce", *_bounce_from_text(message, text))
    return None


# --- The record -----------------------------------------------------------------------------------------------

def _parse(raw: bytes) -> Message:
    try:
        return _PARSER.parsebytes(raw)
    except RecursionError:  # absurdly nested MIME: keep the headers, lose the body
        return _PARSER.parsebytes(raw, headersonly=True)


def parse_mail(raw: bytes) -> IncomingMail:
    """One inbound message, decoded and classified; never raises for malformed mail."""
    raw = bytes(raw)
    message = _parse(raw)
    message_ids = _ids(_header(message, "message-id"))
    sender_name, sender = parseaddr(_FOLD.sub("", message.get("from") or ""))
    charset = _declared_charset(message)
    subject = _one_line(decode_header_value(message.get("subject") or "", charset))
    chosen: set[int] = set()
    text = _words(message, 0, chosen).strip()
    reply = strip_quoted(text) or text
    sender = _text_of_raw(sender).strip().lower()
    bounce = _bounce(message, sender, subject, text)
    return IncomingMail(
        message_id=message_ids[0] if message_ids else f"sha256-{hashlib.sha256(raw).hexdigest()}",
        references=tuple(dict.fromkeys(_ids(_header(message, "in-reply-to")) + _ids(_header(message, "references")))),
        sender=sender,
        sender_name=_one_line(decode_header_value(sender_name, charset)),
        subject=subject,
        sent_at=_sent_at(_header(message, "date")),
        text=text,
        reply=reply,
        language=detect_language(f"{subject_topic(subject)}\n{reply}"),
        attachments=_attachments(message, chosen, charset),
        automatic=bounce[0] if bounce else _automatic(message, sender, subject),
        bounced=bounce[1] if bounce else (),
        bounce_reason=bounce[2] if bounce else "",
        complaint_numbers=find_complaint_numbers(subject),
    )
