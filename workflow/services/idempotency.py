"""Requests a form or gateway may send twice: the same Idempotency-Key gets the first answer, never a second filing.

The key is claimed in its own transaction before the filing runs, so two copies arriving together cannot both
file: the second finds the claim. If the filing fails, the claim is dropped and a retry may file. If the process
dies between filing and recording the answer, the claim stays unanswered and a retry is told the outcome is
unknown (409) rather than filing again: nothing is done twice, and what is uncertain is visible.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from workflow.adapters.models import IDEMPOTENT
from workflow.domain.errors import ConcurrentChange, InvalidInput

if TYPE_CHECKING:
    from workflow.bootstrap import Redress
    from workflow.services.signin import Principal

_UNANSWERED = 0


def once(app: Redress, principal: Principal, key: str, request: Mapping[str, Any], run: Callable[[], Any],
         status: int) -> tuple[int, Any]:
    """(status, answer) of the first request made with `key` by this principal; `run` runs at most once."""
    if not key.strip() or not key.isprintable():
        raise InvalidInput("Idempotency-Key must be 1 to 128 printable characters")
    fingerprint = hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()
    where = (IDEMPOTENT.c.user_id == principal.user_id) & (IDEMPOTENT.c.key == key)
    with app.uow() as uow:
        try:  # caught here: the unit of work would report a duplicate key as someone else's concurrent change
            uow.session.execute(insert(IDEMPOTENT).values(
                user_id=principal.user_id, key=key, request_hash=fingerprint, status=_UNANSWERED, response="",
                created_at=app.clock.now()))
        except IntegrityError:
            claimed = False
        else:
            uow.commit()
            claimed = True
    if not claimed:
        return _earlier(app, where, key, fingerprint)
    try:
        answer = run()
    except BaseException:
        with app.uow() as uow:
            uow.session.execute(delete(IDEMPOTENT).where(where))
            uow.commit()
        raise
    with app.uow() as uow:
        uow.session.execute(update(IDEMPOTENT).where(where).values(
            status=status, response=json.dumps(answer, ensure_ascii=False)))
        uow.commit()
    return status, answer


def _earlier(app: Redress, where: Any, key: str, fingerprint: str) -> tuple[int, Any]:
    with app.uow(write=False) as uow:
        row = uow.session.execute(select(IDEMPOTENT).where(where)).one()
    if row.request_hash != fingerprint:
        raise InvalidInput(f"Idempotency-Key '{key}' was already used for a different request; use a new key")
    if row.status == _UNANSWERED:
        raise ConcurrentChange(f"a request with Idempotency-Key '{key}' began at {row.created_at:%H:%M:%S} UTC and "
                               "has no answer yet (still running, or it stopped midway); look for the complaint "
                               "before sending it again with a new key")
    return int(row.status), json.loads(row.response)
