"""The tables. Times are aware UTC datetimes (SQLModel stores them as UTC on both SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime
from typing import Optional, cast

from sqlalchemy import Column, Index, Table, Text
from sqlmodel import Field, SQLModel


class User(SQLModel, table=True):
    """A member of staff; `role` decides what they may do."""

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=128)
    role: str = Field(max_length=16)
    created_at: datetime


class Customer(SQLModel, table=True):
    """One customer profile shared by every department, found by phone or email."""

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=128)
    phone: Optional[str] = Field(default=None, max_length=32, unique=True)
    email: Optional[str] = Field(default=None, max_length=254, unique=True)
    tier: str = Field(max_length=16)
    language: str = Field(max_length=8)
    created_at: datetime


class Complaint(SQLModel, table=True):
    """A complaint: its state is the machine's; severity and escalation level sit beside it."""

    __table_args__ = (
        Index("ix_complaint_assignee_open", "assignee_id", "is_open"),
        Index("ix_complaint_customer", "customer_id", "created_at"),
        Index("ix_complaint_order_ref", "order_ref"),
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
    # Optimistic concurrency: every change says "WHERE version = <the one I read>",
    # so of two agents acting on the same complaint one wins and the other is told.
    version: int = 1


class Event(SQLModel, table=True):
    """One line of the audit trail. Append-only: the database refuses updates and deletes."""

    id: Optional[int] = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    at: datetime
    actor: str = Field(max_length=64)
    trigger: str = Field(max_length=32)
    from_state: str = Field(max_length=32)
    to_state: str = Field(max_length=32)
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    data: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))


class NumberSequence(SQLModel, table=True):
    """The last complaint number handed out on each business day."""

    __tablename__ = "number_sequence"

    day: str = Field(primary_key=True, max_length=8)
    last: int = 0


# The queue: open complaints, most urgent first, read straight off this index.
Index(
    "ix_complaint_queue",
    Complaint.is_open,  # type: ignore[arg-type]
    Complaint.escalation_level.desc(),  # type: ignore[attr-defined]
    Complaint.severity_rank.desc(),  # type: ignore[attr-defined]
    Complaint.created_at,  # type: ignore[arg-type]
)

# Table handles for the hot paths, which use SQLAlchemy Core rather than the ORM
# unit of work: a use case is a handful of statements and the ORM's bookkeeping
# would cost more than the database does.
USERS = cast(Table, User.__table__)
CUSTOMERS = cast(Table, Customer.__table__)
COMPLAINTS = cast(Table, Complaint.__table__)
EVENTS = cast(Table, Event.__table__)
