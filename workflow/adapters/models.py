"""The tables. Times are aware UTC datetimes (SQLModel stores them as UTC on both SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Column, Index, LargeBinary, Text, false, literal_column
from sqlmodel import Field, SQLModel, col
from sqlmodel.main import SQLModelConfig

# Tables are read and written through SQLAlchemy Core, not validated by pydantic:
# building each model's validator at import would only slow every command down.
_DEFERRED = SQLModelConfig(defer_build=True)


class User(SQLModel, table=True):
    """A member of staff; `role` decides what they may do."""

    model_config = _DEFERRED  # type: ignore[assignment]

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=128)
    role: str = Field(max_length=16)
    email: Optional[str] = Field(default=None, max_length=254)
    created_at: datetime
    # Set when the user leaves: they can no longer act or be given work, and their history stays theirs.
    deactivated_at: Optional[datetime] = None
    # Signing in: an Argon2 hash (never the password); the operating-system account that acts as this user on a
    # single-seat database; failed attempts in a row, the last one, and a lock after too many.
    password_hash: Optional[str] = Field(default=None, max_length=255)
    os_user: Optional[str] = Field(default=None, max_length=64, unique=True)
    failed_sign_ins: int = 0
    last_failed_sign_in_at: Optional[datetime] = None
    locked_until: Optional[datetime] = None
    # A system (an integration with an API key), not a person: it never signs in and never receives work.
    is_system: bool = False


class Customer(SQLModel, table=True):
    """One customer profile shared by every department, found by phone or email."""

    model_config = _DEFERRED  # type: ignore[assignment]

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=128)
    phone: Optional[str] = Field(default=None, max_length=32, unique=True)
    email: Optional[str] = Field(default=None, max_length=254, unique=True)
    tier: str = Field(max_length=16)
    language: str = Field(max_length=8)
    created_at: datetime
    # Mail to this address bounced: the outbox stops writing to it (SMS when there is a phone) until it changes.
    email_bounced_at: Optional[datetime] = None
    email_bounce: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))


class Complaint(SQLModel, table=True):
    """A complaint: its state is the machine's; severity and escalation level sit beside it."""

    model_config = _DEFERRED  # type: ignore[assignment]

    __table_args__ = (
        Index("ix_complaint_customer", "customer_id", "created_at"),
        Index("ix_complaint_order_ref", "order_ref"),
        # Reports read a period's complaints by when they were filed (and the backlog by when they closed:
        # ix_complaint_closed, a partial index below).
        Index("ix_complaint_created", "created_at"),
        # The backlog by state, level and age is read from this index alone.
        Index("ix_complaint_open_state", "is_open", "state", "escalation_level", "created_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True)
    state: str = Field(max_length=32)
    is_open: bool = True
    severity: str = Field(max_length=32)
    severity_rank: int
    severity_reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    category: str = Field(max_length=32)
    channel: str = Field(max_length=16)
    customer_id: int = Field(foreign_key="customer.id")
    summary: str = Field(sa_column=Column(Text, nullable=False))
    order_ref: Optional[str] = Field(default=None, max_length=64)
    assignee_id: Optional[int] = Field(default=None, foreign_key="user.id")
    owner: Optional[str] = Field(default=None, max_length=128)
    escalation_level: int = 0
    resolution: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    cancel_reason: Optional[str] = Field(default=None, max_length=32)
    duplicate_of_id: Optional[int] = Field(default=None, foreign_key="complaint.id")
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime
    updated_at: datetime
    closed_at: Optional[datetime] = None
    # The SLA clocks: when they started, and the business minutes spent paused.
    sla_started_at: Optional[datetime] = None
    sla_paused_at: Optional[datetime] = None
    sla_paused_minutes: float = Field(default=0.0, sa_column_kwargs={"server_default": "0"})
    # A checkpoint: the clock had run `sla_clock_minutes` of business time at `sla_clock_at`. Moved at each
    # pause, resume, severity change and escalation, so no computation walks from the clock's start.
    sla_clock_at: Optional[datetime] = None
    sla_clock_minutes: float = Field(default=0.0, sa_column_kwargs={"server_default": "0"})
    first_responded_at: Optional[datetime] = None
    escalated_at: Optional[datetime] = None
    escalation_acked_at: Optional[datetime] = None
    # Optimistic concurrency: every change says "WHERE version = <the one I read>",
    # so of two agents acting on the same complaint one wins and the other is told.
    version: int = 1
    # The hash of the complaint's last event, written with it: the end of its chain, so a removed last event shows.
    event_head: Optional[str] = Field(default=None, max_length=64)
    # Filed from the customer's reply to this complaint after it was closed: the conversation goes on here.
    # The id of the complaint it follows (no foreign key: complaints are never deleted, and adding one would
    # rebuild this table on SQLite).
    follows_id: Optional[int] = None
    # Facts for reports, written when they happen so a month's figures are SQL aggregates, not replays:
    # business minutes the clock had run at the first response and when it stopped resolved (summed over
    # reopens); when each target was breached; the first climb and the highest level reached; reopens; and
    # whether the agent answered at first contact from the policy manual.
    first_response_minutes: Optional[float] = None
    resolution_minutes: Optional[float] = None
    resolved_at: Optional[datetime] = None
    first_response_breached_at: Optional[datetime] = None
    resolution_breached_at: Optional[datetime] = None
    first_escalated_at: Optional[datetime] = None
    peak_level: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    reopens: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    first_contact: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # Brought in by `redress import`: "<source>:<the source system's id>" (workflow/services/importing.py).
    import_ref: Optional[str] = Field(default=None, max_length=160)
    # When its first-response or resolution clock is next (or was last) due: what the queue is ordered by, kept
    # by workflow/services/clocks.py from the deadline rows (None while paused or once stopped).
    next_breach_at: Optional[datetime] = None
    # The due time of its earliest breached deadline: how long it has been past one, the escalation board's order.
    # Set when a breach fires (workflow/services/breaches.py); None for a complaint that never breached.
    overdue_since: Optional[datetime] = None


class Event(SQLModel, table=True):
    """One line of the audit trail. Append-only: the database refuses updates and deletes."""

    model_config = _DEFERRED  # type: ignore[assignment]

    id: Optional[int] = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    at: datetime
    actor: str = Field(max_length=64)
    trigger: str = Field(max_length=32)
    from_state: str = Field(max_length=32)
    to_state: str = Field(max_length=32)
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    data: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    # The complaint's chain (workflow/domain/chain.py): this event's hash covers its content and `prev_hash`,
    # the hash of the complaint's event before it ("" for the first). Written with every event; a row without
    # one fails `redress audit verify` like a forged one.
    hash: Optional[str] = Field(default=None, max_length=64)
    prev_hash: Optional[str] = Field(default=None, max_length=64)


class Deadline(SQLModel, table=True):
    """One timer of one complaint. This table is the truth the scheduler fires from.

    `offset_minutes` is business time from the complaint's clock start; `due_at`
    is NULL while the clock is paused and recomputed when it resumes.
    """

    model_config = _DEFERRED  # type: ignore[assignment]

    __table_args__ = (Index("ix_deadline_complaint", "complaint_id", "kind"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id")
    kind: str = Field(max_length=32)
    level: Optional[int] = None
    offset_minutes: float
    due_at: Optional[datetime] = None
    fired_at: Optional[datetime] = None
    cancelled_at: Optional[datetime] = None
    created_at: datetime
    # Set for the timers of a compensation step (its due time, or the moment it is carried out).
    step_id: Optional[int] = Field(default=None, foreign_key="compensation_step.id")
    # A firing that raised: tried again at `retry_at`, set aside for good after the last try.
    fire_attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    fire_error: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    retry_at: Optional[datetime] = None
    set_aside_at: Optional[datetime] = None


class Pause(SQLModel, table=True):
    """One wait on the customer: who parked the complaint, why, until when at most, and how it ended.

    Repeated pauses on one complaint and paused time per agent are read from here.
    """

    model_config = _DEFERRED  # type: ignore[assignment]

    __table_args__ = (Index("ix_pause_by_started", "paused_by", "started_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    paused_by: str = Field(max_length=64)
    reason: Optional[str] = Field(default=None, max_length=32)
    started_at: datetime
    limit_at: Optional[datetime] = None  # the policy's longest pause ends here: the clock runs again by itself
    ended_at: Optional[datetime] = None
    ended_by: Optional[str] = Field(default=None, max_length=64)
    ended_how: Optional[str] = Field(default=None, max_length=32)  # the trigger that ended it
    business_minutes: Optional[float] = None  # how long it held the clock, on the clock's calendar


class CompensationStep(SQLModel, table=True):
    """One step of making it right: an apology letter, a replacement, a refund, a voucher, a gift or a call.

    Money is kept in minor units (fen, cents) so sums are exact.
    """

    model_config = _DEFERRED  # type: ignore[assignment]

    __tablename__ = "compensation_step"
    __table_args__ = (Index("ix_step_complaint", "complaint_id"), Index("ix_step_state", "state"),
                      Index("ix_step_created", "created_at"),  # reports read a period's steps
                      # the daily money limit sums one person's steps since the start of their day
                      Index("ix_step_requested_by_created", "requested_by_id", "created_at"))

    id: Optional[int] = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id")
    kind: str = Field(max_length=32)
    state: str = Field(max_length=32)
    amount_minor: Optional[int] = None
    currency: Optional[str] = Field(default=None, max_length=3)
    due_at: datetime
    source: str = Field(max_length=16)  # "policy" (planned by the rules) or "agent"
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    requested_by_id: int = Field(foreign_key="user.id")
    decided_by_id: Optional[int] = Field(default=None, foreign_key="user.id")
    decided_at: Optional[datetime] = None
    done_by: Optional[str] = Field(default=None, max_length=64)
    done_at: Optional[datetime] = None
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime
    version: int = 1


class SurveyAnswer(SQLModel, table=True):
    """The customer's satisfaction score for a complaint, kept with its agent and category for reports."""

    model_config = _DEFERRED  # type: ignore[assignment]

    __tablename__ = "survey_answer"

    id: Optional[int] = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", unique=True)
    score: int
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    agent_id: Optional[int] = Field(default=None, foreign_key="user.id", index=True)
    category: str = Field(max_length=32, index=True)
    recorded_by_id: int = Field(foreign_key="user.id")
    recorded_at: datetime = Field(index=True)  # reports read a period's answers
    # How the answer came: "call" (taken by an agent), "link" (the survey page), "email" or "sms" (a reply).
    via: str = Field(default="call", max_length=16, sa_column_kwargs={"server_default": "call"})


class Message(SQLModel, table=True):
    """The outbox: a message written in the transaction that causes it, delivered later with retries."""

    model_config = _DEFERRED  # type: ignore[assignment]

    __table_args__ = (Index("ix_message_pending", "status", "next_attempt_at"),
                      Index("ix_message_kind_created", "kind", "created_at"))  # reports read a period's surveys

    id: Optional[int] = Field(default=None, primary_key=True)
    complaint_id: Optional[int] = Field(default=None, foreign_key="complaint.id", index=True)
    kind: str = Field(max_length=32)
    audience: str = Field(default="staff", max_length=16, sa_column_kwargs={"server_default": "staff"})
    locale: Optional[str] = Field(default=None, max_length=8)
    channel: str = Field(max_length=16)
    recipient: str = Field(max_length=254)
    subject: str = Field(sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    body_html: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    idempotency_key: str = Field(max_length=64, unique=True)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime
    last_error: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime
    sent_at: Optional[datetime] = None
    # While `sending`: the claim is the sender's until then; a live sender renews it.
    lease_until: Optional[datetime] = None
    # A file sent with the message (the monthly report pack): its name and bytes.
    attachment_name: Optional[str] = Field(default=None, max_length=255)
    attachment: Optional[bytes] = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class MessageAttempt(SQLModel, table=True):
    """One try at delivering a message: written before the channel is contacted, finished after.

    An attempt left unfinished by a crash is how the sender knows it must not
    blindly send again.
    """

    model_config = _DEFERRED  # type: ignore[assignment]

    __tablename__ = "message_attempt"

    id: Optional[int] = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    number: int
    started_at: datetime
    finished_at: Optional[datetime] = None
    outcome: str = Field(max_length=16)  # sending, sent, failed, uncertain
    sender: Optional[str] = Field(default=None, max_length=64)  # host:pid of the sender that made it
    error: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))


class AuditRecord(SQLModel, table=True):
    """A change to a member of staff or a customer: who made it, when, each field from what to what, and why.

    Append-only like the event trail (the database refuses updates and deletes).
    """

    model_config = _DEFERRED  # type: ignore[assignment]

    __tablename__ = "audit_record"
    __table_args__ = (Index("ix_audit_subject", "subject", "subject_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime
    actor: str = Field(max_length=64)
    subject: str = Field(max_length=16)  # "user" or "customer"
    subject_id: int
    action: str = Field(max_length=32)
    changes: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))  # {field: [from, to]}
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # One chain over all audit records, in id order, like each complaint's events.
    hash: Optional[str] = Field(default=None, max_length=64)
    prev_hash: Optional[str] = Field(default=None, max_length=64)


class AccessToken(SQLModel, table=True):
    """A bearer token: a sign-in's session, a person's named token for scripts, or a system's API key.

    Only a SHA-256 hash of the token is kept (tokens are long random strings, so a fast hash is enough);
    `scopes` limits what it may do, space-separated, empty for a session (all its user's role allows).
    """

    model_config = _DEFERRED  # type: ignore[assignment]

    __tablename__ = "access_token"

    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    kind: str = Field(max_length=16)  # session, personal, api_key
    name: str = Field(default="", max_length=64)
    token_hash: str = Field(max_length=64, unique=True)
    scopes: str = Field(default="", max_length=1000)
    created_at: datetime
    expires_at: Optional[datetime] = None
    last_used_at: Optional[datetime] = None
    revoked_at: Optional[datetime] = None
    revoked_by: Optional[str] = Field(default=None, max_length=64)


class IdempotentRequest(SQLModel, table=True):
    """A filing made with an Idempotency-Key: the same key again returns this answer instead of filing twice."""

    model_config = _DEFERRED  # type: ignore[assignment]

    __tablename__ = "idempotent_request"

    user_id: int = Field(foreign_key="user.id", primary_key=True)
    key: str = Field(max_length=128, primary_key=True)
    request_hash: str = Field(max_length=64)
    status: int
    response: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime


class InboundMessage(SQLModel, table=True):
    """One message taken from a mailbox, and what became of it: the record that makes taking it happen once.

    Written in the transaction that files or threads it, so a fetcher killed before marking the message in
    its mailbox finds it here and only marks it. `text` is the whole body (quotes and signature included);
    the timeline holds the customer's new words. `raw` is kept only for a message that could not be taken.
    """

    model_config = _DEFERRED  # type: ignore[assignment]

    __tablename__ = "inbound_message"
    __table_args__ = (
        Index("ix_inbound_mailbox_key", "mailbox", "mailbox_key", unique=True),
        Index("ix_inbound_message_id", "message_id"),
        Index("ix_inbound_sender_taken", "sender", "taken_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    mailbox: str = Field(max_length=32)
    mailbox_key: str = Field(max_length=255)
    message_id: str = Field(max_length=255)
    sender: str = Field(max_length=254)
    subject: str = Field(sa_column=Column(Text, nullable=False))
    sent_at: Optional[datetime] = None
    taken_at: datetime
    # filed, joined, resumed, reopened, follow_on, survey, automatic, bounce, blocked, limited, duplicate, failed
    outcome: str = Field(max_length=16)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    complaint_id: Optional[int] = Field(default=None, foreign_key="complaint.id", index=True)
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    raw: Optional[bytes] = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class Attachment(SQLModel, table=True):
    """A file a customer sent: kept as bytes with its declared type, never opened or run by Redress.

    `content` is NULL when the file was over the size or count limit; `note` says so.
    """

    model_config = _DEFERRED  # type: ignore[assignment]

    id: Optional[int] = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    inbound_id: Optional[int] = Field(default=None, foreign_key="inbound_message.id")
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=127)
    size: int
    sha256: str = Field(max_length=64)
    content: Optional[bytes] = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    note: str = Field(default="", max_length=255)
    created_at: datetime


class NumberSequence(SQLModel, table=True):
    """The last complaint number handed out on each business day."""

    model_config = _DEFERRED  # type: ignore[assignment]

    __tablename__ = "number_sequence"

    day: str = Field(primary_key=True, max_length=8)
    last: int = 0


# The queue's order among open complaints (why, in workflow/read/countdown.py), written as the index below holds
# it: the same expressions, with 'resolved' literal rather than bound, so both databases read the queue's first
# screen straight off the index, whether there are a thousand complaints or a million.
_RESOLVED = col(Complaint.state) == literal_column("'resolved'")
_NO_BREACH = col(Complaint.next_breach_at).is_(None)
QUEUE_ORDER = (_RESOLVED, _NO_BREACH, col(Complaint.next_breach_at), col(Complaint.escalation_level).desc(),
               col(Complaint.severity_rank).desc(), col(Complaint.created_at))
Index("ix_complaint_urgency", col(Complaint.is_open), *QUEUE_ORDER)
# The escalation board's order (workflow/services/supervision.py): level, then longest past its deadline.
BOARD_ORDER = (col(Complaint.escalation_level).desc(), col(Complaint.overdue_since))
Index("ix_complaint_board", col(Complaint.is_open), *BOARD_ORDER)

# Partial indexes, created by the migrations only: declaring them here needs
# dialect-specific arguments, and those make SQLAlchemy import the PostgreSQL
# dialect in every command, a fifth of a read command's own time on SQLite.
# - ix_deadline_pending_due on deadline(due_at) WHERE fired_at IS NULL AND
#   cancelled_at IS NULL: the scheduler's sweep (0002).
# - ix_complaint_assignee_open on complaint(assignee_id, is_open),
#   ix_complaint_closed on complaint(closed_at) and the unique
#   ix_complaint_import_ref on complaint(import_ref), each WHERE its first
#   column IS NOT NULL (0015): an agent's own work; the backlog by when
#   complaints closed; one row per complaint brought in from another system,
#   so a file imports once. A complaint being filed writes none of them.
PARTIAL_INDEXES = ("ix_deadline_pending_due", "ix_complaint_assignee_open", "ix_complaint_closed",
                   "ix_complaint_import_ref")

# Table handles for the hot paths, which use SQLAlchemy Core rather than the ORM
# unit of work: a use case is a handful of statements and the ORM's bookkeeping
# would cost more than the database does.
USERS = SQLModel.metadata.tables["user"]
CUSTOMERS = SQLModel.metadata.tables["customer"]
COMPLAINTS = SQLModel.metadata.tables["complaint"]
EVENTS = SQLModel.metadata.tables["event"]
DEADLINES = SQLModel.metadata.tables["deadline"]
MESSAGES = SQLModel.metadata.tables["message"]
ATTEMPTS = SQLModel.metadata.tables["message_attempt"]
STEPS = SQLModel.metadata.tables["compensation_step"]
SURVEYS = SQLModel.metadata.tables["survey_answer"]
AUDIT = SQLModel.metadata.tables["audit_record"]
TOKENS = SQLModel.metadata.tables["access_token"]
IDEMPOTENT = SQLModel.metadata.tables["idempotent_request"]
INBOUND = SQLModel.metadata.tables["inbound_message"]
ATTACHMENTS = SQLModel.metadata.tables["attachment"]
PAUSES = SQLModel.metadata.tables["pause"]
