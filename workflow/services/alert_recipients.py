"""Who receives a staff alert: the staff at its level, else the next level up that has staff, else a fallback address.

The one rule every alert follows (breaches, ladder steps, overdue steps, warnings
on unassigned complaints, deadlines that could not fire). An alert that reaches
nobody says why, so the outbox can record it `failed` instead of `sent`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlmodel import Session

from workflow.adapters.models import USERS
from workflow.domain.vocabulary import ROLES

Person = tuple[str, str | None]  # (name, email address or None)
_STAFF_AT = (  # those still here: a leaver's alerts would reach nobody
    select(USERS.c.name, USERS.c.email)
    .where(USERS.c.role == bindparam("role"), USERS.c.deactivated_at.is_(None), USERS.c.is_system.is_(False))
    .order_by(USERS.c.name)
)


@dataclass(frozen=True)
class Recipients:
    """The people an alert goes to, and, when there is nobody, why."""

    people: list[Person]
    nobody_because: str | None = None

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.people]


class StaffByLevel:
    """Who holds each role, read once per transaction: a batch fires hundreds of alerts to the same few people."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.by_level: dict[int, list[Person]] = {}

    def __call__(self, level: int) -> list[Person]:
        if level not in self.by_level:
            rows = self.session.execute(_STAFF_AT, {"role": ROLES[level]})
            self.by_level[level] = [(row.name, row.email) for row in rows]
        return self.by_level[level]


def alert_recipients(staff_at: Callable[[int], list[Person]], level: int, fallback_email: str | None) -> Recipients:
    """The staff at `level`, or at the nearest level above that has any; else `fallback_email`; else nobody."""
    for rank in range(level, len(ROLES)):
        people = staff_at(rank)
        if people:
            return Recipients(people)
    if fallback_email:
        return Recipients([(fallback_email, fallback_email)])
    return Recipients([], f"no staff at {ROLES[level]} or above and no alerts.fallback_email")
