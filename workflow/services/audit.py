"""The audit record of changes to staff and customers: who changed what, from what to what, when and why.

Complaints keep their own trail in the event table; people have no state machine, so their changes are
recorded here, in the use case's transaction, by the one writer below. The records form one hash chain in id
order (workflow/domain/chain.py): few are written, so one chain, kept unforked by a lock, is enough.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, text
from sqlmodel import Session

from workflow.adapters.models import AUDIT
from workflow.domain.chain import GENESIS, audit_content, link_hash

_INSERT = insert(AUDIT)
_LAST_HASH = select(AUDIT.c.hash).order_by(AUDIT.c.id.desc()).limit(1)
# Held to the end of the transaction, so two writers on PostgreSQL cannot both link to the same last record
# (SQLite has one writer at a time anyway). Any constant no other lock of Redress uses.
_CHAIN_LOCK = text("SELECT pg_advisory_xact_lock(583020552)")
_OF_SUBJECT = (select(AUDIT).where(AUDIT.c.subject == bindparam("subject"), AUDIT.c.subject_id == bindparam("id"))
               .order_by(AUDIT.c.id))


def differences(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Each field of `after` whose value differs from `before`, as [from, to]."""
    return {field: [before[field], value] for field, value in after.items() if before[field] != value}


def record_change(session: Session, at: datetime, actor: str, subject: str, subject_id: int, action: str,
                  changes: Mapping[str, list[Any]], reason: str = "") -> None:
    """Append one audit line, linked to the last one: `changes` maps each field to [from, to]."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_CHAIN_LOCK)
    prev = session.execute(_LAST_HASH).scalar() or GENESIS
    stored = json.dumps(changes, ensure_ascii=False, sort_keys=True)
    content = audit_content(at, actor, subject, subject_id, action, stored, reason)
    session.execute(_INSERT, {
        "at": at, "actor": actor, "subject": subject, "subject_id": subject_id, "action": action,
        "changes": stored, "reason": reason, "hash": link_hash(prev, content), "prev_hash": prev,
    })


def changes_of(session: Session, subject: str, subject_id: int) -> list[dict[str, Any]]:
    """A person's audit lines, oldest first, as JSON-ready dicts."""
    return [
        {"at": row.at.isoformat(), "actor": row.actor, "action": row.action,
         "changes": json.loads(row.changes), "reason": row.reason}
        for row in session.execute(_OF_SUBJECT, {"subject": subject, "id": subject_id})
    ]


def last_change(session: Session, subject: str, subject_id: int, action: str) -> dict[str, Any] | None:
    """The newest audit line of `action` for a person, if any."""
    found = [line for line in changes_of(session, subject, subject_id) if line["action"] == action]
    return found[-1] if found else None


def describe(changes: Mapping[str, list[Any]]) -> str:
    """Changes as a person reads them: 'role: agent -> senior; email: - -> li.na@example.cn'."""
    return "; ".join(f"{field}: {_shown(old)} -> {_shown(new)}" for field, (old, new) in changes.items())


def _shown(value: Any) -> str:
    return "-" if value is None else ("yes" if value else "no") if isinstance(value, bool) else str(value)
