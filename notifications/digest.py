"""Quiet hours: staff alerts held outside a level's staff calendar go out as one digest per person when it opens.

One transaction takes every held alert whose calendar has opened: an addressee with one gets it as it was
written; one with several gets a single digest naming them all, and those are marked `digested` with the
digest's id. A crash in between leaves them all held, to be released at the next sweep; none is sent twice.
"""

from __future__ import annotations

import html
import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import Row, bindparam, insert, select, update

from workflow.adapters.db import insert_returning_id
from workflow.adapters.models import MESSAGES

DIGEST = "staff_digest"
_HELD = (select(MESSAGES).where(MESSAGES.c.status == "held", MESSAGES.c.next_attempt_at <= bindparam("now"))
         .order_by(MESSAGES.c.id))
_RELEASE = (update(MESSAGES).where(MESSAGES.c.id == bindparam("row_id"), MESSAGES.c.status == "held")
            .values(status=bindparam("new_status"), next_attempt_at=bindparam("now"), last_error=bindparam("note")))


def release_held(app: Any) -> int:
    """Release the held alerts whose staff calendar has opened; how many messages were queued to send."""
    now = app.clock.now()
    with app.uow() as uow:
        session = uow.session
        groups: dict[tuple[str, str], list[Row]] = defaultdict(list)
        for row in session.execute(_HELD.with_for_update(), {"now": now}):
            groups[(row.channel, row.recipient)].append(row)
        for (channel, recipient), held in groups.items():
            if len(held) == 1:
                session.execute(_RELEASE, {"row_id": held[0].id, "new_status": "pending", "now": now, "note": None})
                continue
            digest_id = insert_returning_id(session, insert(MESSAGES), _digest(channel, recipient, held, now))
            session.execute(_RELEASE, [{"row_id": row.id, "new_status": "digested", "now": now,
                                        "note": f"sent in digest message {digest_id}"} for row in held])
        uow.commit()
    return len(groups)


def _digest(channel: str, recipient: str, held: list[Row], now: Any) -> dict[str, Any]:
    """One message naming every alert held for the addressee, in the form its channel takes."""
    subject = f"[Redress] {len(held)} alerts raised while you were off"
    lines = [row.subject.removeprefix("[Redress] ") for row in held]
    is_mail = held[0].body_html is not None
    text = (f"{len(held)} alerts were raised outside your working hours, oldest first:\n\n"
            + "\n".join(f"- {line}" for line in lines) + "\n\n`redress queue --mine` shows where each stands.\n")
    short = f"{len(held)} alerts held: " + "; ".join(lines)
    page = ("<p>" + html.escape(f"{len(held)} alerts were raised outside your working hours, oldest first:")
            + "</p><ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>")
    return {"complaint_id": None, "kind": DIGEST, "audience": "staff", "locale": held[0].locale, "channel": channel,
            "recipient": recipient, "subject": subject, "body": text if is_mail else short,
            "body_html": page if is_mail else None, "idempotency_key": uuid.uuid4().hex, "status": "pending",
            "attempts": 0, "next_attempt_at": now, "last_error": None, "created_at": now, "sent_at": None}
