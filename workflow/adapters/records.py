"""The complaint's rows: finding one as a typed snapshot, and the one writer of its changes and audit trail.

Each complaint's events form a hash chain (workflow/domain/chain.py) whose end, `event_head`, is kept on the
complaint row and moved in the same UPDATE that bumps its version: the complaint row already serialises its
writers, so the chain cannot fork, and a transition's event costs no extra statement. Kept apart from the use
cases so read-only commands import only this.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session
from typing_extensions import Unpack

from workflow.adapters.models import COMPLAINTS, EVENTS
from workflow.adapters.prepared import Prepared
from workflow.config import TEXT_CEILING
from workflow.domain.chain import GENESIS, event_content, link_hash
from workflow.domain.errors import ConcurrentChange, InvalidInput, NotFound

_NUMBER = re.compile(r"^C-\d{8}-\d{4,}$", re.IGNORECASE)
_INSERT_EVENT = insert(EVENTS)
_ADD_EVENT = Prepared(_INSERT_EVENT)
_UPDATE_IF_VERSION = update(COMPLAINTS).where(
    COMPLAINTS.c.id == bindparam("where_id"), COMPLAINTS.c.version == bindparam("where_version"),
    COMPLAINTS.c.event_head.is_not_distinct_from(bindparam("where_head")),
)
_CHANGE_IF_VERSION = Prepared(_UPDATE_IF_VERSION)
_MOVE_HEAD = update(COMPLAINTS).where(
    COMPLAINTS.c.id == bindparam("where_id"), COMPLAINTS.c.event_head.is_not_distinct_from(bindparam("where_head"))
)
_HEAD = select(COMPLAINTS.c.number, COMPLAINTS.c.event_head).where(COMPLAINTS.c.id == bindparam("complaint_id"))


@dataclass(frozen=True, slots=True)
class ComplaintSnapshot:
    """A complaint as read in this transaction: what a use case decides from. It is never changed in place nor
    copied with other values; a change goes through `change_complaint`, at this snapshot's version, which writes
    only the values that differ from the snapshot's."""

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
    event_head: str | None
    follows_id: int | None
    first_response_minutes: float | None
    resolution_minutes: float | None
    resolved_at: datetime | None
    first_response_breached_at: datetime | None
    resolution_breached_at: datetime | None
    first_escalated_at: datetime | None
    peak_level: int
    reopens: int
    first_contact: bool
    import_ref: str | None  # `<source>:<ref>` of an imported complaint (workflow/services/importing.py)
    next_breach_at: datetime | None  # kept by workflow/services/clocks.py, never set by a use case
    overdue_since: datetime | None  # the due time of its first breached deadline (workflow/services/breaches.py)

    @classmethod
    def of(cls, row: Any) -> ComplaintSnapshot:
        """The snapshot of a complaint row (other columns a query joined in are left out)."""
        values = row._mapping
        return cls(**{name: values[name] for name in SNAPSHOT_FIELDS})


SNAPSHOT_FIELDS = tuple(field.name for field in fields(ComplaintSnapshot))
# The snapshot's columns in its fields' order, so a row read with them becomes a snapshot by position.
SNAPSHOT_COLUMNS = tuple(COMPLAINTS.c[name] for name in SNAPSHOT_FIELDS)
_BY_NUMBER = Prepared(select(*SNAPSHOT_COLUMNS).where(COMPLAINTS.c.number == bindparam("ref")))
_BY_ID = Prepared(select(*SNAPSHOT_COLUMNS).where(COMPLAINTS.c.id == bindparam("ref")))


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
    first_response_minutes: float | None
    resolution_minutes: float | None
    resolved_at: datetime | None
    first_response_breached_at: datetime | None
    resolution_breached_at: datetime | None
    first_escalated_at: datetime | None
    peak_level: int
    reopens: int
    first_contact: bool
    overdue_since: datetime | None


# Row ids are 32-bit integers on every database; a larger number names no row (and PostgreSQL would refuse it).
MAX_ROW_ID = 2**31 - 1


def row_id(value: int, what: str) -> int:
    """`value` if it can be the id of a row; otherwise a one-line NotFound naming what was looked for."""
    if not 1 <= value <= MAX_ROW_ID:
        raise NotFound(f"no {what} {value}")
    return value


def load_complaint(session: Session, ref: str | int) -> ComplaintSnapshot:
    """A complaint by number (C-20261122-0007) or by id."""
    key = complaint_key(ref)
    complaint = None
    if key is not None:
        complaint = (_BY_NUMBER if key[0] == "number" else _BY_ID).first(session, {"ref": key[1]})
    if complaint is None:
        raise NotFound(f"no complaint {str(ref).strip()}")
    return ComplaintSnapshot(*complaint)


def complaint_key(ref: str | int) -> tuple[str, str | int] | None:
    """The column and value `ref` names a complaint by: ("number", "C-...") or ("id", 7); None if no complaint
    can have it. Text that is neither a number nor an id is refused."""
    text = str(ref).strip()
    if _NUMBER.match(text):
        return "number", text.upper()
    if text.isdigit():
        return ("id", int(text)) if int(text) <= MAX_ROW_ID else None
    raise InvalidInput(f"'{text}' is not a complaint number (like C-20261122-0007) or id")


@dataclass(frozen=True, slots=True)
class FilingEvent:
    """The first event of a complaint about to be inserted: its hash is the new row's `event_head`."""

    row: dict[str, Any]

    @property
    def hash(self) -> str:
        return str(self.row["hash"])


def filing_event(number: str, at: datetime, actor: str, to_state: str, note: str,
                 data: dict[str, Any] | None) -> FilingEvent:
    """The filing event of complaint `number`, first of its chain; inserted by `append_filing_event`."""
    return FilingEvent(_chained(number, None, at, actor, "file", "", to_state, note, data))


def append_filing_event(session: Session, complaint_id: int, event: FilingEvent) -> None:
    """The first line of a complaint's trail, once its row (carrying `event.hash` as its head) is inserted."""
    _ADD_EVENT.run(session, {**event.row, "complaint_id": complaint_id})


def append_event(
    session: Session, complaint_id: int, at: datetime, actor: str, trigger: str,
    from_state: str, to_state: str, note: str, data: dict[str, Any] | None,
) -> None:
    """One more line of the append-only audit trail, beside a change `change_complaint` or `hold` made.

    The head is read again (this transaction may have moved it) and moved only if it is still the one read.
    """
    number, prev = session.execute(_HEAD, {"complaint_id": complaint_id}).one()
    row = _chained(number, prev, at, actor, trigger, from_state, to_state, note, data)
    moved = session.execute(_MOVE_HEAD, {"event_head": row["hash"], "where_id": complaint_id, "where_head": prev})
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise ConcurrentChange(f"{number} was changed by someone else at the same moment; nothing was written")
    session.execute(_INSERT_EVENT, {**row, "complaint_id": complaint_id})


def hold(session: Session, complaint: ComplaintSnapshot, at: datetime, *, conflict: str | None = None,
         **values: Unpack[ComplaintChanges]) -> int:
    """Update the complaint at the version read and bump that version; the new version.

    Every change to a complaint or to what hangs on it (steps, clocks, survey)
    goes through here, so concurrent changes serialise on the complaint's row:
    if another transaction changed it (or its trail) since it was read, nothing
    is written and ConcurrentChange says so.
    """
    return _hold(session, complaint, at, conflict, complaint.event_head, dict(values))


def change_complaint(
    session: Session, complaint: ComplaintSnapshot, at: datetime, actor: str, trigger: str, note: str = "",
    data: dict[str, Any] | None = None, *, to_state: str | None = None, conflict: str | None = None,
    **values: Unpack[ComplaintChanges],
) -> int:
    """Update the complaint at the version read, then append the event: its from-state is the state read.

    The event links to the head the snapshot read, which the version check proves is still the head.
    `to_state` is the state after a transition (the complaint's own when it stays put). Returns the new version.
    """
    to_state = complaint.state if to_state is None else to_state
    row = _chained(complaint.number, complaint.event_head, at, actor, trigger, complaint.state, to_state, note, data)
    version = _hold(session, complaint, at, conflict, row["hash"], dict(values))
    _ADD_EVENT.run(session, {**row, "complaint_id": complaint.id})
    return version


@dataclass(frozen=True, slots=True)
class Change:
    """One complaint's change for `change_complaints`: what `change_complaint` takes for one."""

    complaint: ComplaintSnapshot
    trigger: str
    note: str
    data: dict[str, Any]
    values: ComplaintChanges


def change_complaints(session: Session, changes: list[Change], at: datetime, actor: str, *,
                      conflict: str | None = None) -> None:
    """`change_complaint` for many complaints (each at most once), with one UPDATE per set of columns changed
    and one INSERT for all their events: the same rows, version checks and chain links, far fewer statements.

    If any complaint was changed since it was read, ConcurrentChange (the caller's transaction rolls back).
    """
    events: list[dict[str, Any]] = []
    updates: dict[frozenset[str], list[dict[str, Any]]] = {}
    for change in changes:
        complaint = change.complaint
        row = _chained(complaint.number, complaint.event_head, at, actor, change.trigger, complaint.state,
                       complaint.state, change.note, change.data)
        events.append({**row, "complaint_id": complaint.id})
        values = {"updated_at": at, **_changed(complaint, change.values), "version": complaint.version + 1,
                  "event_head": row["hash"],
                  "where_id": complaint.id, "where_version": complaint.version, "where_head": complaint.event_head}
        updates.setdefault(frozenset(values), []).append(values)
    connection = session.connection()
    for group in updates.values():
        updated = connection.execute(_UPDATE_IF_VERSION, group)
        if updated.rowcount != len(group):
            raise ConcurrentChange(conflict or "a complaint was changed by someone else at the same moment; "
                                               "nothing was written")
    if events:
        connection.execute(_INSERT_EVENT, events)


def _hold(session: Session, complaint: ComplaintSnapshot, at: datetime, conflict: str | None,
          new_head: str | None, values: dict[str, Any]) -> int:
    """The version-checked UPDATE; it also moves the chain's head, from the snapshot's to `new_head`."""
    version = complaint.version + 1
    updated = _CHANGE_IF_VERSION.run(session, {
        "updated_at": at, **_changed(complaint, values), "version": version, "event_head": new_head,
        "where_id": complaint.id, "where_version": complaint.version, "where_head": complaint.event_head,
    })
    if updated != 1:
        raise ConcurrentChange(conflict or f"{complaint.number} was changed by someone else at the same moment; "
                                           "nothing was written, look at it again before acting")
    return version


EVENT_DATA = json.JSONEncoder(ensure_ascii=False, sort_keys=True)
"""An event's data as JSON text, as every writer of events stores it (the encoder built once: `json.dumps` builds
one at each call)."""


def _changed(complaint: ComplaintSnapshot, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values that differ from the snapshot's. The version check proves the snapshot is the stored row, so
    leaving the rest out writes the same row; SQLite then rewrites only the indexes of columns that changed
    (a column named in SET is taken out of and put back into every index it is in, changed or not)."""
    return {name: value for name, value in values.items() if getattr(complaint, name, _UNREAD) != value}


_UNREAD = object()  # a column the snapshot does not hold: always written


def _chained(number: str, prev: str | None, at: datetime, actor: str, trigger: str, from_state: str,
             to_state: str, note: str, data: dict[str, Any] | None) -> dict[str, Any]:
    """An event row (all but its complaint id), linked to `prev`, the hash of the complaint's event before it."""
    prev = prev or GENESIS
    text = EVENT_DATA.encode(data) if data else "{}"
    content = event_content(number, at, actor, trigger, from_state, to_state, note, text)
    return {"at": at, "actor": actor, "trigger": trigger, "from_state": from_state, "to_state": to_state,
            "note": note, "data": text, "hash": link_hash(prev, content), "prev_hash": prev}


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
