"""The monthly report pack, queued in the outbox for its readers: one message per address, the pack attached.

Each message's idempotency key names the month and the address, so queuing the same month again (a scheduler
restarted on the day, two schedulers, an operator's `--mail`) writes nothing twice; the whole set is written in
one transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from notifications.sender import REPORT_EMAIL
from workflow.adapters.models import MESSAGES, USERS
from workflow.bootstrap import Redress
from workflow.domain.vocabulary import ROLES

PACK = "report_pack"


@dataclass(frozen=True)
class PackMail:
    """What goes out: the subject and text in the reader's language, and the rendered pack."""

    month: str
    subject: str
    text: str
    html: str


def pack_key(month: str, address: str) -> str:
    return f"pack-{month}-" + hashlib.sha256(f"{month}\n{address.lower()}".encode()).hexdigest()[:32]


def readers(app: Redress) -> list[str]:
    """The addresses the pack goes to: every active member of the configured roles with an email, and the
    addresses given, once each."""
    wanted = app.config.reports.mail.to
    roles = [value for value in wanted if value in ROLES]
    found: list[str] = []
    if roles:
        with app.uow(write=False) as uow:
            found = [row.email for row in uow.session.execute(
                select(USERS.c.email).where(USERS.c.role.in_(roles), USERS.c.deactivated_at.is_(None),
                                            USERS.c.is_system.is_(False), USERS.c.email.is_not(None))
                .order_by(USERS.c.name))]
    return list(dict.fromkeys([*found, *(value for value in wanted if value not in ROLES)]))


def already_queued(app: Redress, month: str) -> bool:
    """Whether this month's pack was queued for its readers before (to any of them)."""
    keys = [pack_key(month, address) for address in readers(app)]
    if not keys:
        return False
    with app.uow(write=False) as uow:
        return bool(uow.session.execute(select(func.count()).where(MESSAGES.c.idempotency_key.in_(keys)))
                    .scalar_one())


def queue_pack(app: Redress, pack: PackMail, now: datetime) -> int:
    """Queue the pack to every reader not yet sent this month's; how many were queued."""
    rows = [{"complaint_id": None, "kind": PACK, "audience": "staff", "locale": None, "channel": REPORT_EMAIL,
             "recipient": address, "subject": pack.subject, "body": pack.text, "body_html": None,
             "idempotency_key": pack_key(pack.month, address), "status": "pending", "attempts": 0,
             "next_attempt_at": now, "created_at": now, "attachment_name": f"redress-report-{pack.month}.html",
             "attachment": pack.html.encode("utf-8")}
            for address in readers(app)]
    if not rows:
        return 0
    with app.uow() as uow:
        dialect = postgresql if uow.session.get_bind().dialect.name == "postgresql" else sqlite
        result = uow.session.execute(dialect.insert(MESSAGES).on_conflict_do_nothing(
            index_elements=["idempotency_key"]), rows)
        uow.commit()
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
