"""The hash chain of the audit trail: each line's hash covers its content and the hash of the line before it.

Pure, so the writers and `redress audit verify` compute the very same hash. Changing a line, or removing one,
breaks the link to every line after it; nothing here needs a secret, so the chain shows tampering only by
someone who does not also rewrite every later line (the README says what it proves and what it does not).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

GENESIS = ""
"""The previous hash of a chain's first line."""

# The canonical JSON, built once: json.dumps with these options builds the same encoder at every call, a third of
# hashing a line (an import hashes tens of thousands).
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def link_hash(prev: str, content: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a canonical JSON of the previous line's hash and this line's content."""
    canonical = _CANONICAL.encode([prev, content])
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def utc_text(at: datetime) -> str:
    """A moment as ISO 8601 in UTC: the same text whichever zone the clock gave it in, or the database returned."""
    return (at.replace(tzinfo=UTC) if at.utcoffset() is None else at.astimezone(UTC)).isoformat()


def event_content(number: str, at: datetime, actor: str, trigger: str, from_state: str, to_state: str,
                  note: str, data: str) -> dict[str, str]:
    """What an event's hash covers; `number` binds it to its complaint, `data` is the JSON text as stored."""
    return {"complaint": number, "at": utc_text(at), "actor": actor, "trigger": trigger, "from_state": from_state,
            "to_state": to_state, "note": note, "data": data}


def audit_content(at: datetime, actor: str, subject: str, subject_id: int, action: str, changes: str,
                  reason: str) -> dict[str, Any]:
    """What an audit record's hash covers; `changes` is the JSON text as stored."""
    return {"at": utc_text(at), "actor": actor, "subject": subject, "subject_id": subject_id, "action": action,
            "changes": changes, "reason": reason}
