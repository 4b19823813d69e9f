"""The complaint's rows: finding one as a typed snapshot, and the one writer of its changes and audit trail.

Kept apart from the use cases so read-only commands import only this.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session
from typing_extensions import Unpack

from workflow.adapters.models import COMPLAINTS, EVENTS
from workflow.config import TEXT_CEILING
from workflow.domain.errors import ConcurrentChange, InvalidInput, NotFound

_NUMBER = re.compile(r"^C-\d{8}-\d{4,}$", re.IGNORECASE)
_BY_NUMBER = select(COMPLAINTS).where(COMPLAINTS.c.number == bindparam("ref"))
_BY_ID = select(COMPLAINTS).where(COMPLAINTS.c.id == bindparam("ref"))
_INSERT_EVENT = insert(EVENTS)
_UPDATE_IF_VERSION = update(COMPLAINTS).where(
    COMPLAINTS.c.id == bindparam("where_id"), COMPLAINTS.c.version == bindparam("where_version")
)


@dataclass(frozen=True, slots=True)
class ComplaintSnapshot:
    """A complaint as read in this transaction: what a use case decides from. It is never changed in place; a
    change goes through `change_complaint`, at this snapshot's version."""

    id: int
    number: str
    state: str
    is_open: bool
    severity: str
    severity_rank: int
    severity_reason: str
    category: str
    channel: str
    customer_id: int
    summary: str
    order_ref: str | None
    assignee_id: int | None
    owner: str | None
    escalation_level: int
    resolution: str | None
    cancel_reason: str | None
    duplicate_of_id: int | None
    created_by_id: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    sla_started_at: datetime | None
    sla_paused_at: datetime | None
    sla_paused_minutes: float
    sla_clock_at: datetime | None
    sla_clock_minutes: float
    first_responded_at: datetime | None
    escalated_at: datetime | None
    escalation_acked_at: datetime | None
    version: int

    @classmethod
    def of(cls, row: Any) -> ComplaintSnapshot:
        """The snapshot of a complaint row (other columns a query joined in are left out)."""
        values = row._mapping
        return cls(**{name: values[name] for name in SNAPSHOT_FIELDS})


SNAPSHOT_FIELDS = tuple(field.name for field in fields(ComplaintSnapshot))


class ComplaintChanges(TypedDict, total=False):
    """The columns a use case may change on a complaint; the writer sets `updated_at` and `version` itself."""

    state: str
    is_open: bool
    closed_at: datetime | None
    severity: str
    severity_rank: int
    severity_reason: str
    assignee_id: int | None
    owner: str | None
    escalation_level: int
    resolution: str | None
    cancel_reason: str | None
    duplicate_of_id: int | None
    sla_started_at: datetime | None
    sla_paused_at: datetime | None
    sla_paused_minutes: float
    sla_clock_at: datetime | None
    sla_clock_minutes: float
    first_responded_at: datetime | None
    escalated_at: datetime | None
    escalation_acked_at: datetime | None


# Row ids are 32-bit integers on every database; a larger number names no row (and PostgreSQL would refuse it).
MAX_ROW_ID = 2**31 - 1


def row_id(value: int, what: str) -> int:
    """`value` if it can be the id of a row; otherwise a one-line NotFound naming what was looked for."""
    if not 1 <= value <= MAX_ROW_ID:
        raise NotFound(f"no {what} {value}")
    return value


def load_complaint(session: Session, ref: str | int) -> ComplaintSnapshot:
    """A complaint by number (C-20261122-0007) or by id."""
    text = str(ref).strip()
    complaint = None
    if _NUMBER.match(text):
        complaint = session.execute(_BY_NUMBER, {"ref": text.upper()}).first()
    elif text.isdigit():
        if int(text) <= MAX_ROW_ID:
            complaint = session.execute(_BY_ID, {"ref": int(text)}).first()
    else:
        raise InvalidInput(f"'{text}' is not a complaint number (like C-20261122-0007) or id")
    if complaint is None:
        raise NotFound(f"no complaint {text}")
    return ComplaintSnapshot.of(complaint)


def append_event(
    session: Session, complaint_id: int, at: datetime, actor: str, trigger: str,
    from_state: str, to_state: str, note: str, data: dict[str, Any] | None,
) -> None:
    """One line of the append-only audit trail."""
    session.execute(
        _INSERT_EVENT,
        {"complaint_id": complaint_id, "at": at, "actor": actor, "trigger": trigger, "from_state": from_state,
         "to_state": to_state, "note": note, "data": json.dumps(data or {}, ensure_ascii=False, sort_keys=True)},
    )


def hold(session: Session, complaint: ComplaintSnapshot, at: datetime, *, conflict: str | None = None,
         **values: Unpack[ComplaintChanges]) -> int:
    """Update the complaint at the version read and bump that version; the new version.

    Every change to a complaint or to what hangs on it (steps, clocks, survey)
    goes through here, so concurrent changes serialise on the complaint's row:
    if another transaction changed it since it was read, nothing is written and
    ConcurrentChange says so.
    """
    version = complaint.version + 1
    updated = session.execute(_UPDATE_IF_VERSION, {
        "updated_at": at, **values, "version": version, "where_id": complaint.id, "where_version": complaint.version,
    })
    if updated.rowcount != 1:  # type: ignore[attr-defined]
        raise ConcurrentChange(conflict or f"{complaint.number} was changed by someone else at the same moment; "
                                           "nothing was written, look at it again before acting")
    return version


def change_complaint(
    session: Session, complaint: ComplaintSnapshot, at: datetime, actor: str, trigger: str, note: str = "",
    data: dict[str, Any] | None = None, *, to_state: str | None = None, conflict: str | None = None,
    **values: Unpack[ComplaintChanges],
) -> int:
    """Update the complaint at the version read, then append the event: its from-state is the state read.

    `to_state` is the state after a transition (the complaint's own when it stays put). Returns the new version.
    """
    to_state = complaint.state if to_state is None else to_state
    version = hold(session, complaint, at, conflict=conflict, **values)
    append_event(session, complaint.id, at, actor, trigger, complaint.state, to_state, note, data)
    return version


def required_text(value: str | None, field: str, why: str, limit: int = TEXT_CEILING) -> str:
    """The stripped text, or a one-line refusal naming the field and what it is for (or what is wrong with it)."""
    if value is None or not value.strip():
        raise InvalidInput(f"{field} is required: {why}")
    return checked_text(value.strip(), field, limit)


def optional_text(value: str | None, field: str, limit: int = TEXT_CEILING) -> str:
    """The stripped text, empty when none was given; refused like `required_text` when it cannot be stored."""
    return checked_text(value.strip(), field, limit) if value and value.strip() else ""


def checked_text(value: str, field: str, limit: int) -> str:
    """`value` if every database stores it alike: at most `limit` characters, no NUL, valid Unicode.

    PostgreSQL refuses NUL in text and a too-long value in a sized column, where SQLite would keep both;
    an argument that was not valid UTF-8 arrives with lone surrogates that no driver can encode.
    """
    if len(value) > limit:
        raise InvalidInput(f"{field} is {len(value)} characters long; at most {limit} are allowed")
    if "\x00" in value:
        raise InvalidInput(f"{field} contains a NUL character, which cannot be stored")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{field} is not valid UTF-8 text") from None
    return value


def column_limit(column: Any) -> int:
    """The length a sized string column holds (name 128, email 254, order_ref 64 ...), the one source of limits."""
    return int(column.type.length)
