"""Verifying the audit trail: every complaint's chain of events and the audit records' chain, link by link.

Reads a batch of complaints at a time, each with its events in one statement (so a complaint's head and its
events are seen at the same moment while others write), and the audit records in pages: the trail is never
held in memory. The first line that breaks its chain is named in a TamperedTrail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from workflow.adapters.models import AUDIT, COMPLAINTS, EVENTS
from workflow.bootstrap import Redress
from workflow.domain.chain import GENESIS, audit_content, event_content, link_hash
from workflow.domain.errors import TamperedTrail

_CHANGED = "its content does not match its hash (changed after it was written)"


@dataclass(frozen=True, slots=True)
class TrailChecked:
    """How many lines the walk checked; all of them matched."""

    events: int
    audit_records: int


def verify_trail(app: Redress, batch: int = 500) -> TrailChecked:
    """Walk every chain from its first line; TamperedTrail names the first line that does not match."""
    with app.uow(write=False) as uow:
        events = _verify_events(uow.session, batch)
        records = _verify_audit_records(uow.session, batch)
    return TrailChecked(events, records)


def _verify_events(session: Session, batch: int) -> int:
    checked, after = 0, 0
    while True:
        ids = session.execute(select(COMPLAINTS.c.id).where(COMPLAINTS.c.id > after).order_by(COMPLAINTS.c.id)
                              .limit(batch)).scalars().all()
        if not ids:
            return checked
        rows = session.execute(
            select(COMPLAINTS.c.id.label("complaint"), COMPLAINTS.c.number, COMPLAINTS.c.event_head, EVENTS)
            .outerjoin(EVENTS, EVENTS.c.complaint_id == COMPLAINTS.c.id)
            .where(COMPLAINTS.c.id.between(ids[0], ids[-1]))
            .order_by(COMPLAINTS.c.id, EVENTS.c.id)
        )
        walking: Any = None
        prev = GENESIS
        for row in rows:
            if walking is None or row.complaint != walking.complaint:
                if walking is not None:
                    _check_head(walking, prev)
                walking, prev = row, GENESIS
            if row.id is None:
                continue  # a complaint without events
            prev = _check_event(row, prev)
            checked += 1
        if walking is not None:
            _check_head(walking, prev)
        after = ids[-1]


def _check_event(row: Any, prev: str) -> str:
    """The event's hash, if it matches its content and links to `prev` (the hash of the event walked before)."""
    content = event_content(row.number, row.at, row.actor, row.trigger, row.from_state, row.to_state, row.note,
                            row.data)
    if row.hash is None or row.prev_hash is None or link_hash(row.prev_hash, content) != row.hash:
        raise TamperedTrail(f"event {row.id} of {row.number}: {_CHANGED}")
    if row.prev_hash != prev:
        raise TamperedTrail(f"event {row.id} of {row.number}: the event before it is missing or was replaced")
    return str(row.hash)


def _check_head(complaint: Any, last: str) -> None:
    """The complaint's head must be its last event's hash: otherwise events after the last one walked are gone."""
    if complaint.event_head != last:
        raise TamperedTrail(f"{complaint.number}'s last event is missing" if complaint.event_head
                            else f"{complaint.number} has lost the hash of its last event (changed after it was "
                                 "written)")


def _verify_audit_records(session: Session, batch: int) -> int:
    checked, after, prev = 0, 0, GENESIS
    while True:
        rows = session.execute(select(AUDIT).where(AUDIT.c.id > after).order_by(AUDIT.c.id).limit(batch)).all()
        if not rows:
            return checked
        for row in rows:
            content = audit_content(row.at, row.actor, row.subject, row.subject_id, row.action, row.changes,
                                    row.reason)
            if row.hash is None or row.prev_hash is None or link_hash(row.prev_hash, content) != row.hash:
                raise TamperedTrail(f"audit record {row.id}: {_CHANGED}")
            if row.prev_hash != prev:
                raise TamperedTrail(f"audit record {row.id}: the audit record before it is missing or was replaced")
            prev = row.hash
        checked += len(rows)
        after = rows[-1].id
