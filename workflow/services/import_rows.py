"""The columns of an import file and what each allows: every row is checked, every mistake named with its row
and column, before anything is written (workflow/services/importing.py writes).

Checks that need no database are here: values from config.yaml's lists, times with an offset in order and not in
the future, which columns a state needs. Who the assignee is and whether a customer is known are checked by
the importer against the database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from states.definition import ASSIGNED, CANCELLED, CLOSED, IN_PROGRESS, RECEIVED, RESOLVED, ROUTED, TRIAGED
from workflow.adapters.import_file import RawRow
from workflow.adapters.models import COMPLAINTS, CUSTOMERS
from workflow.adapters.records import checked_text, column_limit
from workflow.bootstrap import Redress
from workflow.domain.errors import InvalidInput
from workflow.domain.vocabulary import CANCEL_REASONS, CHANNELS, LANGUAGES
from workflow.services.people import normalize_email, normalize_phone

REQUIRED = ("ref", "created_at", "category", "channel", "summary")
COLUMNS = (*REQUIRED, "name", "phone", "email", "tier", "language", "severity", "order_ref", "state",
           "first_responded_at", "resolved_at", "closed_at", "assignee", "owner", "cancel_reason", "resolution")
# The states a complaint may arrive in. A wait on the customer is not among them: when it began, and so the
# pause that holds its clock, is not known (import it as in_progress).
STATES = tuple(str(s) for s in (RECEIVED, TRIAGED, ASSIGNED, IN_PROGRESS, ROUTED, RESOLVED, CLOSED, CANCELLED))
REF_LIMIT = 120
_EXAMPLE_TIME = "2026-11-02T09:30+08:00"
_NEEDS_ASSIGNEE = (ASSIGNED, IN_PROGRESS)
_NO_ASSIGNEE = (RECEIVED, TRIAGED)
# The columns that belong to some states only, and those some states need.
_ALLOWED = {"resolved_at": (RESOLVED, CLOSED), "closed_at": (CLOSED, CANCELLED), "cancel_reason": (CANCELLED,),
            "owner": (ROUTED, RESOLVED, CLOSED, CANCELLED), "resolution": (RESOLVED, CLOSED)}
_NEEDED = {"resolved_at": (RESOLVED,), "closed_at": (CLOSED, CANCELLED), "cancel_reason": (CANCELLED,),
           "owner": (ROUTED,)}
_USER_NAME = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One checked row: values ready to store, times aware."""

    number: int
    ref: str
    created_at: datetime
    category: str
    channel: str
    summary: str
    state: str
    severity: str | None
    name: str | None
    phone: str | None
    email: str | None
    tier: str | None
    language: str | None
    order_ref: str | None
    first_responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    assignee: str | None
    owner: str | None
    cancel_reason: str | None
    resolution: str | None


class RowErrors:
    """Every mistake found, as 'row 17, column created_at: ...' lines in row order (checks against the database
    come after the others, and their lines still fall in their row's place)."""

    def __init__(self) -> None:
        self._found: list[tuple[int, str]] = []
        self.rows: set[int] = set()

    def add(self, row: int, column: str, why: str) -> None:
        self.rows.add(row)
        self._found.append((row, f"row {row}, column {column}: {why}" if column else f"row {row}: {why}"))

    @property
    def count(self) -> int:
        return len(self._found)

    @property
    def lines(self) -> list[str]:
        return [line for _, line in sorted(self._found, key=lambda found: found[0])]

    def __bool__(self) -> bool:
        return bool(self._found)


def _one_of(value: str, allowed: Sequence[str], what: str, plural: str) -> str:
    if value not in allowed:
        raise InvalidInput(f"'{value}' is not a {what}; {plural}: {', '.join(allowed)}")
    return value


def parse_time(value: str) -> datetime:
    """An ISO 8601 time with its UTC offset; a time without one names no instant."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"'{text}' is not a time like {_EXAMPLE_TIME}") from None
    if moment.utcoffset() is None:
        raise InvalidInput(f"'{text}' has no UTC offset; write it like {_EXAMPLE_TIME}")
    return moment.astimezone(UTC)  # as the database gives it back: the same instant, converted once


class RowChecker:
    """Checks rows against one config.yaml at one moment (`now`: no time may be later)."""

    def __init__(self, app: Redress, now: datetime) -> None:
        config = app.config
        self.now = now
        self.categories = list(config.category_names)
        self.severities = list(config.severity_names)
        self.tiers = list(config.tier_names)
        self.owners = list(config.owners)
        self.free_owners = config.owners_free_text or not config.owners
        summary, note = config.limits.summary, config.limits.note
        name, order_ref = column_limit(CUSTOMERS.c.name), column_limit(COMPLAINTS.c.order_ref)

        def one_of(allowed: Sequence[str], what: str, plural: str) -> Callable[[str], str]:
            return lambda text: _one_of(text, allowed, what, plural)

        def text_of(what: str, limit: int) -> Callable[[str], str]:
            return lambda text: checked_text(text, what, limit)

        # How each column's text becomes its value (or an InvalidInput saying what is allowed).
        self._parsers: dict[str, Callable[[str], Any]] = {
            "ref": text_of("ref", REF_LIMIT), "category": one_of(self.categories, "category", "categories"),
            "channel": one_of(CHANNELS, "channel", "channels"),
            "severity": one_of(self.severities, "severity", "severities"), "tier": one_of(self.tiers, "tier", "tiers"),
            "language": one_of(LANGUAGES, "language", "languages"), "state": one_of(STATES, "state", "states"),
            "cancel_reason": one_of(CANCEL_REASONS, "cancel reason", "cancel reasons"),
            "phone": normalize_phone, "email": normalize_email, "summary": text_of("summary", summary),
            "resolution": text_of("resolution", note), "name": text_of("name", name),
            "order_ref": text_of("order_ref", order_ref), "assignee": self._assignee, "owner": self._owner,
            **{column: self._time for column in COLUMNS if column.endswith("_at")},
        }

    def check(self, raw: RawRow, errors: RowErrors) -> ImportRow | None:
        """The row's values, or None with its mistakes added to `errors`."""
        for column, why in raw.problems:
            errors.add(raw.number, column, why)
        values: dict[str, Any] = dict.fromkeys(COLUMNS)
        before = errors.count
        for column, text in raw.fields.items():
            text = text.strip()
            if not text:
                continue
            try:
                values[column] = self._parsers[column](text)
            except InvalidInput as error:
                errors.add(raw.number, column, str(error))
        for column in REQUIRED:
            if not raw.fields.get(column, "").strip():
                errors.add(raw.number, column, "is required")
        if errors.count == before:
            self._check_together(raw.number, values, errors)
        if errors.count > before or raw.problems:
            return None
        values["state"] = values["state"] or str(RECEIVED)
        return ImportRow(number=raw.number, **values)

    def _time(self, text: str) -> datetime:
        moment = parse_time(text)
        if moment > self.now:
            raise InvalidInput(f"'{text}' is later than now")
        return moment

    def _assignee(self, text: str) -> str:
        if not _USER_NAME.fullmatch(text):
            raise InvalidInput(f"'{text}' is not a user name")
        return text

    def _owner(self, text: str) -> str:
        if not self.free_owners and text not in self.owners:
            raise InvalidInput(f"'{text}' is not an owner; owners: {', '.join(self.owners)}")
        return checked_text(text, "owner", column_limit(COMPLAINTS.c.owner))

    def _check_together(self, row: int, values: dict[str, Any], errors: RowErrors) -> None:
        """What one column allows depends on another: the state's columns, and times in order."""
        state = values["state"] or RECEIVED
        if not values["phone"] and not values["email"]:
            errors.add(row, "phone", "a customer needs a phone or an email so they can be found next time")
        for column, states in _ALLOWED.items():
            if values[column] is None and state in _NEEDED.get(column, ()):
                errors.add(row, column, f"is required for a complaint in state {state}")
            elif values[column] is not None and state not in states:
                errors.add(row, column, f"is only for a complaint in state {' or '.join(states)}, this one is {state}")
        if values["assignee"] is None and state in _NEEDS_ASSIGNEE:
            errors.add(row, "assignee", f"is required for a complaint in state {state}")
        elif values["assignee"] is not None and state in _NO_ASSIGNEE:
            errors.add(row, "assignee", f"a complaint in state {state} has no assignee")
        order = ("created_at", "first_responded_at", "resolved_at", "closed_at")
        earlier = None
        for column in order:
            if values[column] is None:
                continue
            if earlier is not None and values[column] < values[earlier]:
                errors.add(row, column, f"'{values[column].isoformat()}' is before {earlier}")
            earlier = column
