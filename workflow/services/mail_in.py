"""Customer mail in: each message taken from a mailbox files a complaint, joins one, answers a survey, or is
recognised as machine mail, in one transaction with the record that it was taken.

Exactly once: the record (mailbox, key, Message-ID) is committed with the complaint it made, and the message is
marked in its mailbox only after that. A fetcher killed in between finds the record next time and only marks
the message; the same Message-ID arriving again (another mailbox, a resend) is recorded as a duplicate and
does nothing. A message that cannot be taken is recorded `failed` with its raw bytes, so nothing is lost and
`redress mail retry` can take it again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, func, insert, select, text, update
from sqlmodel import Session

from states.definition import CLOSED, RESOLVED
from workflow.adapters.db import insert_returning_id
from workflow.adapters.models import ATTACHMENTS, COMPLAINTS, CUSTOMERS, INBOUND, MESSAGES, SURVEYS
from workflow.adapters.records import ComplaintSnapshot, append_event, load_complaint
from workflow.bootstrap import Redress
from workflow.domain.errors import DatabaseUnavailable, InvalidInput, MailboxUnavailable, NotFound, describe_error
from workflow.domain.permissions import require
from workflow.domain.vocabulary import ACTED_ON
from workflow.services import replies
from workflow.services.lifecycle import file_in_session
from workflow.services.people import acting_user, normalize_email, system_user
from workflow.services.surveys import SYSTEM_NAME, record_answer

# What a message became (the vocabulary's); those in ACTED acted on a complaint, the others did not.
ACTED = ACTED_ON
KEPT_RAW = ("failed", "limited")  # not acted on yet: the bytes are kept so `mail retry` can take them

# Statements built once and executed with parameters: each message runs a dozen, and building a statement
# costs more than SQLite takes to run it.
_EARLIER = (select(INBOUND.c.id, INBOUND.c.outcome, COMPLAINTS.c.number)
            .outerjoin(COMPLAINTS, COMPLAINTS.c.id == INBOUND.c.complaint_id)
            .where(INBOUND.c.mailbox == bindparam("mailbox"), INBOUND.c.mailbox_key == bindparam("key")))
_TAKEN_BEFORE = select(INBOUND.c.id).where(INBOUND.c.message_id == bindparam("message_id"),
                                           INBOUND.c.outcome.not_in(("failed", "retried"))).limit(1)
_RECENT_FROM = select(func.count()).select_from(INBOUND).where(
    INBOUND.c.sender == bindparam("sender"), INBOUND.c.taken_at >= bindparam("since"), INBOUND.c.outcome.in_(ACTED))
_WORKS_AGAIN = (update(CUSTOMERS).where(CUSTOMERS.c.email == bindparam("sender"),
                                        CUSTOMERS.c.email_bounced_at.is_not(None))
                .values(email_bounced_at=None, email_bounce=None))
_NUMBER = select(COMPLAINTS.c.number).where(COMPLAINTS.c.id == bindparam("complaint_id"))
_SENT_ABOUT = (select(MESSAGES.c.complaint_id)  # to the customer: a colleague answering a staff alert is no reply
               .where(MESSAGES.c.idempotency_key.in_(bindparam("keys", expanding=True)),
                      MESSAGES.c.audience == "customer", MESSAGES.c.complaint_id.is_not(None))
               .order_by(MESSAGES.c.id.desc()).limit(1))
_BY_NUMBER = (select(COMPLAINTS.c.id, CUSTOMERS.c.email).join(CUSTOMERS, CUSTOMERS.c.id == COMPLAINTS.c.customer_id)
              .where(COMPLAINTS.c.number == bindparam("number")))
_ANSWERED = select(SURVEYS.c.id).where(SURVEYS.c.complaint_id == bindparam("complaint_id"))
_INSERT_INBOUND = insert(INBOUND)


@dataclass(frozen=True)
class Taken:
    """One message and what became of it."""

    inbound_id: int
    outcome: str
    complaint: str | None
    sender: str
    subject: str
    detail: str = ""
    already: bool = False  # taken by an earlier run that was stopped before marking it


@dataclass
class MailboxRun:
    """One mailbox's part of a fetch."""

    mailbox: str
    taken: list[Taken] = field(default_factory=list)
    error: str | None = None  # the mailbox could not be read (the others still were)


def fetch(app: Redress, *, mailbox: str | None = None, limit: int | None = None,
          should_stop: Callable[[], bool] = lambda: False) -> list[MailboxRun]:
    """Read every configured mailbox (or one), taking each new message; a bad message never stops the others.

    `should_stop` is asked between messages (SIGTERM, a scheduler that lost its lock)."""
    boxes = app.config.mail.mailboxes
    if mailbox is not None:
        boxes = [box for box in boxes if box.name == mailbox]
        if not boxes:
            known = ", ".join(box.name for box in app.config.mail.mailboxes) or "none configured (mail.mailboxes)"
            raise NotFound(f"no mailbox '{mailbox}'; mailboxes: {known}")
    runs = []
    for settings in boxes:
        run = MailboxRun(settings.name)
        runs.append(run)
        try:
            _fetch_one(app, settings, run, limit, should_stop)
        except MailboxUnavailable as error:
            run.error = str(error)
    return runs


def _fetch_one(app: Redress, settings: Any, run: MailboxRun, limit: int | None,
               should_stop: Callable[[], bool]) -> None:
    box = open_mailbox(app, settings)
    try:
        for fetched in box.pending(limit):
            if should_stop():
                break
            try:
                taken = take(app, settings.name, fetched.key, fetched.raw)
            except DatabaseUnavailable:
                raise  # nothing can be recorded: the message stays in the mailbox for the next run
            except Exception as error:  # noqa: BLE001 - one bad message is recorded and the others go on
                taken = _earlier(app, settings.name, fetched.key) or _record_failure(
                    app, settings.name, fetched.key, fetched.raw, error)
            box.mark_taken(fetched.key)
            run.taken.append(taken)
    finally:
        box.close()


def open_mailbox(app: Redress, settings: Any) -> Any:
    """The adapter for a configured mailbox; an IMAP password comes from its environment variable."""
    import os

    from workflow.adapters.mailboxes import ImapMailbox, MaildirMailbox

    if settings.type == "maildir":
        return MaildirMailbox(settings.name, app.config.resolve_path(settings.path))
    password = os.environ.get(settings.password_env)
    if not password:
        raise MailboxUnavailable(f"mailbox '{settings.name}': set the password in the environment variable "
                                 f"{settings.password_env}")
    return ImapMailbox(settings.name, settings.host, settings.port, settings.username, password,
                       settings.folder, ssl=settings.ssl, starttls=settings.starttls,
                       ca_file=app.config.resolve_path(settings.ca_file) if settings.ca_file else None,
                       done_folder=settings.done_folder)


def take(app: Redress, mailbox: str, key: str, raw: bytes, *, replacing: int | None = None,
         retried_by: str = "") -> Taken:
    """Take one message in one transaction: decide what it is, act, and record that it was taken.

    `replacing` is the failed record of a retry: it steps aside in the same transaction, so a retry that fails
    again leaves it failed."""
    from notifications.inbound import parse_mail

    mail = parse_mail(raw)
    with app.uow() as uow:
        session = uow.session
        if app.engine.dialect.name == "postgresql":  # fetchers at once: one decides a Message-ID, then the other
            session.execute(text("SELECT pg_advisory_xact_lock(15, hashtext(:id))"), {"id": mail.message_id[:255]})
        if replacing is not None:
            session.execute(update(INBOUND).where(INBOUND.c.id == replacing).values(
                mailbox_key=func.substr(INBOUND.c.mailbox_key, 1, 220) + f"#retried-{replacing}", outcome="retried",
                detail=f"taken again by {retried_by}: " + INBOUND.c.detail))
        earlier = session.execute(_EARLIER, {"mailbox": mailbox, "key": key[:255]}).first()
        if earlier is not None:
            return Taken(earlier.id, earlier.outcome, earlier.number, mail.sender, mail.subject, already=True)
        outcome, complaint_id, detail = _act(app, session, mail)
        inbound_id = _record(session, mailbox, key, mail, app.clock.now(), outcome, complaint_id, detail,
                             raw if outcome in KEPT_RAW else None)
        if complaint_id is not None and outcome in ACTED:
            _keep_attachments(app, session, complaint_id, inbound_id, mail)
        number = session.execute(_NUMBER, {"complaint_id": complaint_id}).scalar()
        uow.commit()
        return Taken(inbound_id, outcome, number, mail.sender, mail.subject, detail)


def _earlier(app: Redress, mailbox: str, key: str) -> Taken | None:
    """The record of a message another fetcher took at the same moment (its commit won the unique key)."""
    with app.uow(write=False) as uow:
        row = uow.session.execute(select(INBOUND.c.id, INBOUND.c.outcome, INBOUND.c.sender, INBOUND.c.subject)
                                  .where(INBOUND.c.mailbox == mailbox, INBOUND.c.mailbox_key == key[:255])).first()
    return None if row is None else Taken(row.id, row.outcome, None, row.sender, row.subject, already=True)


def retry(app: Redress, actor: str | None, inbound_id: int) -> Taken:
    """Take a message recorded `failed` again, from the raw bytes kept for it."""
    with app.uow(write=False) as uow:
        user = acting_user(uow.session, actor)
        require(user, "retry_mail")
        row = uow.session.execute(select(INBOUND).where(INBOUND.c.id == inbound_id)).first()
    if row is None:
        raise NotFound(f"no message {inbound_id} taken in; see `redress mail list`")
    if row.outcome not in KEPT_RAW or row.raw is None:
        raise InvalidInput(f"message {inbound_id} was taken ({row.outcome}); only a failed or held-back (limited) "
                           "one is taken again")
    return take(app, row.mailbox, row.mailbox_key, row.raw, replacing=inbound_id, retried_by=user.name)


def _act(app: Redress, session: Session, mail: Any) -> tuple[str, int | None, str]:
    """The message's fate, in order: duplicate, blocked, bounce, machine mail, flood, thread, survey, new."""
    config = app.config.mail
    if session.execute(_TAKEN_BEFORE, {"message_id": mail.message_id[:255]}).first():
        return "duplicate", None, f"Message-ID {mail.message_id[:80]} was taken before"
    if is_blocked(mail.sender, config.blocked_senders):
        return "blocked", None, f"{mail.sender} is on mail.blocked_senders"
    if mail.automatic == "bounce":
        return "bounce", _bounced(app, session, mail), f"bounced: {', '.join(mail.bounced) or 'unknown address'}"
    if mail.automatic:
        return "automatic", None, f"{mail.automatic}: not answered, not filed"
    if not mail.sender:
        return "failed", None, "the message has no sender address to answer"
    flood = over_sender_limit(app, session, mail.sender)
    if flood:
        return "limited", None, flood
    session.execute(_WORKS_AGAIN, {"sender": mail.sender})  # mail from a bounced address: it works again
    actor = system_user(app, session, config.actor, SYSTEM_NAME)
    complaint = _thread(session, mail)
    words = storable(mail.reply, app.config.limits.note)
    facts = {"via": "email", "inbound_subject": storable(mail.subject, 200)}
    if complaint is None:
        filed = _file(app, session, actor, mail, facts)
        return "filed", filed.id, ""
    scored = answer_by_score(app, session, complaint, actor, mail.reply, via="email")
    if scored is not None:
        return "survey", complaint.id, scored
    heard = replies.hear(app, session, complaint, actor, words, channel="email", data=facts,
                         file_follow_on=lambda old: _follow_on(app, session, actor, mail, facts, old))
    detail = "" if heard.complaint_id == complaint.id else f"follows {complaint.number}"
    return heard.outcome, heard.complaint_id, detail


def _file(app: Redress, session: Session, actor: Row, mail: Any, facts: dict[str, Any],
          follows: ComplaintSnapshot | None = None) -> Any:
    subject = " ".join(mail.subject.split())
    body = mail.reply.strip()
    summary = storable("\n\n".join(part for part in (subject, body) if part) or "(an empty email)",
                        app.config.limits.summary)
    name = storable(mail.sender_name or mail.sender.partition("@")[0], 128) or mail.sender
    return file_in_session(
        app, session, actor, channel="email", category=app.config.mail.category, summary=summary, phone=None,
        email=mail.sender, name=name, tier=None, language=mail.language, order_ref=None, severity=None,
        follows_id=follows.id if follows else None,
        data={**facts, **({"follows": follows.number} if follows else {})})


def _follow_on(app: Redress, session: Session, actor: Row, mail: Any, facts: dict[str, Any],
               old: ComplaintSnapshot) -> tuple[int, str]:
    filed = _file(app, session, actor, mail, facts, follows=old)
    return filed.id, filed.number


def _thread(session: Session, mail: Any) -> ComplaintSnapshot | None:
    """The complaint a message belongs to: one a Message-ID it answers was sent about, else a number in its subject
    when the sender is that complaint's customer (anyone can type a number; only a reply proves the thread)."""
    from notifications.channels.mail import sent_key

    keys = [key for key in (sent_key(ref) for ref in mail.references) if key]
    if keys:
        complaint_id = session.execute(_SENT_ABOUT, {"keys": keys[:50]}).scalar()
        if complaint_id is not None:
            return load_complaint(session, complaint_id)
    for number in mail.complaint_numbers:
        found = session.execute(_BY_NUMBER, {"number": number}).first()
        if found is not None and found.email == mail.sender:
            return load_complaint(session, found.id)
    return None


def answer_by_score(app: Redress, session: Session, complaint: ComplaintSnapshot, actor: Row, words: str, *,
                    via: str) -> str | None:
    """A reply that is just a score ("5", "5分", "★★★★") to a resolved or closed complaint answers its survey,
    whether or not the survey has gone out; once answered, another score is kept and changes nothing (a satisfied
    customer's "5" must not reopen the complaint). None when the words are not a score."""
    from notifications.inbound import find_score

    if complaint.state not in (RESOLVED, CLOSED):
        return None
    score = find_score(words)
    if score is None:
        return None
    if session.execute(_ANSWERED, {"complaint_id": complaint.id}).first() is not None:
        return f"score {score[0]} kept: the survey was answered before"
    record_answer(app, session, complaint, actor, score[0], storable(score[1], app.config.limits.note), via=via)
    return f"score {score[0]}"


def _bounced(app: Redress, session: Session, mail: Any) -> int | None:
    """Mark each failed address bouncing: its customer is written to another way, and what waits for it fails.

    Returns the complaint the bounced message was about, noted on its timeline, when the bounce names it.
    """
    now = app.clock.now()
    reason = storable(mail.bounce_reason or "delivery failed", 500)
    for address in mail.bounced:
        try:
            address = normalize_email(address)
        except InvalidInput:
            continue  # an X.400 or garbled recipient: no customer of ours has it
        session.execute(update(CUSTOMERS).where(CUSTOMERS.c.email == address)
                        .values(email_bounced_at=now, email_bounce=reason))
        session.execute(update(MESSAGES).where(MESSAGES.c.recipient == address, MESSAGES.c.audience == "customer",
                                               MESSAGES.c.status == "pending")
                        .values(status="failed", last_error=f"the address bounced: {reason}", lease_until=None))
    complaint = _thread(session, mail)
    if complaint is not None:
        append_event(session, complaint.id, now, app.config.mail.actor, "mail_bounced", complaint.state,
                     complaint.state, f"mail to {', '.join(mail.bounced) or 'the customer'} bounced: {reason}", None)
    return complaint.id if complaint else None


def _keep_attachments(app: Redress, session: Session, complaint_id: int, inbound_id: int, mail: Any) -> None:
    """Keep each file as bytes with its declared type; over the size or count limit only its name and size."""
    config = app.config.mail
    rows = []
    for index, attachment in enumerate(mail.attachments):
        size = len(attachment.content)
        if index >= config.max_attachments:
            note = f"not kept: more than {config.max_attachments} attachments (mail.max_attachments)"
        elif size > config.max_attachment_bytes:
            note = f"not kept: {size} bytes is over mail.max_attachment_bytes ({config.max_attachment_bytes})"
        else:
            note = ""
        rows.append({"complaint_id": complaint_id, "inbound_id": inbound_id, "filename": attachment.filename[:255],
                     "content_type": attachment.content_type[:127], "size": size,
                     "sha256": hashlib.sha256(attachment.content).hexdigest(),
                     "content": None if note else attachment.content, "note": note, "created_at": app.clock.now()})
    if rows:
        session.execute(insert(ATTACHMENTS), rows)


def _record(session: Session, mailbox: str, key: str, mail: Any, now: datetime, outcome: str,
            complaint_id: int | None, detail: str, raw: bytes | None = None) -> int:
    return insert_returning_id(session, _INSERT_INBOUND, {
        "mailbox": mailbox, "mailbox_key": key[:255], "message_id": mail.message_id[:255],
        "sender": mail.sender[:254], "subject": storable(mail.subject, 1000), "sent_at": mail.sent_at,
        "taken_at": now, "outcome": outcome, "detail": detail, "complaint_id": complaint_id,
        "text": storable(mail.text, 200_000), "raw": raw,
    })


def _record_failure(app: Redress, mailbox: str, key: str, raw: bytes, error: BaseException) -> Taken:
    """Keep a message that could not be taken, raw, with the reason: visible in `redress mail list`."""
    from notifications.inbound import parse_mail

    mail = parse_mail(raw)
    detail = describe_error(error)
    with app.uow() as uow:
        inbound_id = _record(uow.session, mailbox, key, mail, app.clock.now(), "failed", None, detail, raw)
        uow.commit()
    return Taken(inbound_id, "failed", None, mail.sender, mail.subject, detail)


def over_sender_limit(app: Redress, session: Session, sender: str) -> str | None:
    """Why a sender who wrote too often lately is not heard now (a flood), or None."""
    limit = app.config.mail.sender_limit
    since = app.clock.now() - timedelta(minutes=limit.per_minutes)
    recent = session.execute(_RECENT_FROM, {"sender": sender, "since": since}).scalar_one()
    if recent < limit.messages:
        return None
    return f"{sender} sent {recent} messages in {limit.per_minutes:g} minutes (mail.sender_limit); kept, not filed"


def is_blocked(sender: str, blocked: list[str]) -> bool:
    """On `mail.blocked_senders`: the address itself, or its domain given as "@example.com"."""
    return sender in blocked or any(entry.startswith("@") and sender.endswith(entry) for entry in blocked)


def storable(text: str, limit: int) -> str:
    """Text any database keeps: no NUL or lone surrogates, at most `limit` characters (cut with an ellipsis)."""
    text = text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"
