"""Finding a complaint and appending to its audit trail: what every module that touches a complaint needs.

Kept apart from the use cases so read-only commands import only this.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, insert, select
from sqlmodel import Session

from workflow.errors import InvalidInput, NotFound
from workflow.models import COMPLAINTS, EVENTS

_NUMBER = re.compile(r"^C-\d{8}-\d{4,}$", re.IGNORECASE)
_BY_NUMBER = select(COMPLAINTS).where(COMPLAINTS.c.number == bindparam("ref"))
_BY_ID = select(COMPLAINTS).where(COMPLAINTS.c.id == bindparam("ref"))
_INSERT_EVENT = insert(EVENTS)


def load_complaint(session: Session, ref: str | int) -> Row:
    """A complaint row by number (C-20261122-0007) or by id."""
    text = str(ref).strip()
    complaint = None
    if _NUMBER.match(text):
        complaint = session.execute(_BY_NUMBER, {"ref": text.upper()}).first()
    elif text.isdigit():
        if int(text) < 2**31:
            complaint = session.execute(_BY_ID, {"ref": int(text)}).first()
    else:
        raise InvalidInput(f"'{text}' is not a complaint number (like C-20261122-0007) or id")
    if complaint is None:
        raise NotFound(f"no complaint {text}")
    return complaint


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


def required_text(value: str | None, field: str, why: str) -> str:
    """The stripped text, or a one-line refusal naming the field and what it is for."""
    if value is None or not value.strip():
        raise InvalidInput(f"{field} is required: {why}")
    return value.strip()
