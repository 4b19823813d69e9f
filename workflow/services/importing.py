"""Bringing complaints in from a spreadsheet or another helpdesk: `redress import FILE`, all or nothing.

Every row is checked before anything is written (workflow/services/import_rows.py); one bad row refuses the
file whole. A good file is written in one transaction with set-based statements: customers, complaints, their
trails and clocks built in Python and inserted many rows at a time, hashes chained in Python, business time
counted from a calendar index (workflow/domain/business_index.py) rather than walked per deadline. Each row's
source id is kept (`import_ref`, unique), so the same file again imports nothing and says so.

Imported complaints were filed elsewhere long ago: no acknowledgement, survey or compensation is queued for
them. An open one's clocks run from its imported times; a deadline already past fires at the next sweep.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam, select, update

from states.definition import CANCELLED, CLOSED, RECEIVED, RESOLVED
from workflow.adapters.bulk import insert_rows, reserve_ids
from workflow.adapters.import_file import format_of, read_rows
from workflow.adapters.models import COMPLAINTS, CUSTOMERS, DEADLINES, EVENTS, USERS, NumberSequence
from workflow.adapters.records import EVENT_DATA
from workflow.bootstrap import Redress
from workflow.domain.business_index import BusinessIndex
from workflow.domain.chain import GENESIS, event_content, link_hash
from workflow.domain.errors import InvalidInput
from workflow.domain.permissions import require
from workflow.domain.severity import suggest_severity
from workflow.domain.sla import ClockPlan, NoPolicy, plan_for
from workflow.services import clocks
from workflow.services.import_rows import COLUMNS, REQUIRED, ImportRow, RowChecker, RowErrors
from workflow.services.people import acting_user

_SOURCE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
_CHUNK = 2000  # complaints written per round of statements
_IN_CHUNK = 500  # values per IN (...) lookup
_STOPPED = (str(RESOLVED), str(CLOSED), str(CANCELLED))
_HASH = 8  # the hash's place in an event row
_EVENT_COLUMNS = ("complaint_id", "at", "actor", "trigger", "from_state", "to_state", "note", "data", "hash",
                  "prev_hash")
_DEADLINE_COLUMNS = ("complaint_id", "kind", "offset_minutes", "due_at", "created_at", "fire_attempts")
_CUSTOMER_COLUMNS = ("id", "name", "phone", "email", "tier", "language", "created_at")
_COMPLAINT_COLUMNS = ("id", "number", "state", "is_open", "severity", "severity_rank", "severity_reason", "category",
                      "channel", "customer_id", "summary", "order_ref", "assignee_id", "owner", "escalation_level",
                      "resolution", "cancel_reason", "created_by_id", "created_at", "updated_at", "closed_at",
                      "sla_started_at", "sla_paused_minutes", "sla_clock_at", "sla_clock_minutes",
                      "first_responded_at", "version", "event_head", "first_response_minutes",
                      "resolution_minutes", "resolved_at", "first_response_breached_at", "resolution_breached_at",
                      "peak_level", "reopens", "first_contact", "import_ref", "next_breach_at")


class ImportRefused(InvalidInput):
    """Rows of the file are wrong; nothing was written. `lines` names each mistake by row and column."""

    def __init__(self, name: str, errors: RowErrors) -> None:
        count, rows = errors.count, len(errors.rows)
        super().__init__(f"{name}: {count} error{'s' * (count != 1)} in {rows} row{'s' * (rows != 1)}; "
                         "nothing was imported")
        self.lines = list(errors.lines)


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import did (or, with dry_run, would do)."""

    file: str
    source: str
    rows: int
    imported: int
    duplicates: int
    customers_created: int
    customers_found: int
    deadlines_armed: int
    past_due: int
    dry_run: bool
    numbers: tuple[str, ...] = ()  # the first and last number given, when any were


@dataclass(eq=False, slots=True)
class _Customer:
    """A customer rows of the file name: one already stored (id known) or one this import creates."""

    id: int | None
    name: str
    tier: str
    language: str
    phone: str | None
    email: str | None
    created_at: datetime | None = None
    filled: dict[str, str] = field(default_factory=dict)  # blanks of a stored profile this import fills in


def import_complaints(app: Redress, actor: str | None, path: str | Path, *, fmt: str | None = None,
                      source: str = "import", dry_run: bool = False) -> ImportSummary:
    """Check every row of the file, then import the complaints not imported before, in one transaction."""
    path = Path(path)
    if not _SOURCE.fullmatch(source):
        raise InvalidInput(f"source '{source}' is not allowed; use 1-32 lowercase letters, digits, '.', '_' or '-'")
    with app.uow(write=False) as uow:  # who may import is settled before the file is read
        require(acting_user(uow.session, actor), "import_complaints")
    raws = read_rows(path, format_of(path, fmt), COLUMNS, REQUIRED)
    if not raws:
        raise InvalidInput(f"{path.name} has no rows to import")
    now = app.clock.now()
    errors = RowErrors()
    checker = RowChecker(app, now)
    rows = [row for raw in raws if (row := checker.check(raw, errors)) is not None]
    _refuse_repeated_refs(raws, errors)
    with app.uow(write=not dry_run) as uow:
        user = acting_user(uow.session, actor)
        require(user, "import_complaints")
        connection = uow.session.connection()
        stored = _stored_refs(connection, [_key(source, row.ref) for row in rows])
        fresh = [row for row in rows if _key(source, row.ref) not in stored]
        assignees = _assignees(connection, fresh, errors)
        customers = _customers(app, connection, fresh, errors)
        plans = _plans(app, fresh, customers, errors)
        if errors:
            raise ImportRefused(path.name, errors)
        batch = _Batch(app, now, user, source, path.name, fresh, customers, plans, assignees)
        numbers: tuple[str, ...] = ()
        if not dry_run:
            numbers = batch.write(connection)
            uow.commit()
    found = {id(c) for c in customers.values() if c.id is not None and not c.created_at}
    created = {id(c) for c in customers.values() if c.created_at is not None}
    return ImportSummary(path.name, source, len(raws), len(fresh), len(rows) - len(fresh), len(created), len(found),
                         batch.armed, batch.past_due, dry_run, numbers)


def _key(source: str, ref: str) -> str:
    return f"{source}:{ref}"


def _refuse_repeated_refs(raws: Sequence[Any], errors: RowErrors) -> None:
    first: dict[str, int] = {}
    for raw in raws:
        ref = raw.fields.get("ref", "").strip()
        if not ref:
            continue
        if ref in first:
            errors.add(raw.number, "ref", f"'{ref}' is also on row {first[ref]}; each ref is imported once")
        else:
            first[ref] = raw.number


def _chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _stored_refs(connection: Connection, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for part in _chunks(keys, _IN_CHUNK):
        found.update(connection.execute(select(COMPLAINTS.c.import_ref)
                                        .where(COMPLAINTS.c.import_ref.in_(part))).scalars())
    return found


def _assignees(connection: Connection, rows: list[ImportRow], errors: RowErrors) -> dict[str, int]:
    """Assignees by name; a row naming someone who cannot be given work is a mistake of that row."""
    names = sorted({row.assignee for row in rows if row.assignee})
    users: dict[str, Any] = {}
    for part in _chunks(names, _IN_CHUNK):
        for found in connection.execute(select(USERS.c.id, USERS.c.name, USERS.c.deactivated_at, USERS.c.is_system)
                                        .where(USERS.c.name.in_(part))):
            users[found.name] = found
    for row in rows:
        user: Any = users.get(row.assignee) if row.assignee else None
        if row.assignee and user is None:
            errors.add(row.number, "assignee", f"no user '{row.assignee}'")
        elif user is not None and user.deactivated_at is not None:
            errors.add(row.number, "assignee", f"{row.assignee} was deactivated; give the work to an active user")
        elif user is not None and user.is_system:
            errors.add(row.number, "assignee", f"{row.assignee} is a system with an API key; give the work to a "
                                               "person")
    return {name: user.id for name, user in users.items()}


def _customers(app: Redress, connection: Connection, rows: list[ImportRow],
               errors: RowErrors) -> dict[int, _Customer]:
    """Each row's customer, found as intake finds one (phone first, then email), else made once per file.

    A customer repeated in the file is one customer; blanks in a profile are filled with a phone or email no
    other customer has. A stored profile's name, tier and language are kept as they are.
    """
    by: dict[str, dict[str, _Customer]] = {"phone": {}, "email": {}}
    stored_by_id: dict[int, _Customer] = {}
    for column in ("phone", "email"):
        values = sorted({getattr(row, column) for row in rows if getattr(row, column)})
        for part in _chunks(values, _IN_CHUNK):
            for stored in connection.execute(
                    select(CUSTOMERS.c.id, CUSTOMERS.c.name, CUSTOMERS.c.tier, CUSTOMERS.c.language,
                           CUSTOMERS.c.phone, CUSTOMERS.c.email).where(CUSTOMERS.c[column].in_(part))):
                known = stored_by_id.setdefault(stored.id, _Customer(
                    stored.id, stored.name, stored.tier, stored.language, stored.phone, stored.email))
                for key in ("phone", "email"):
                    if getattr(stored, key):
                        by[key].setdefault(getattr(stored, key), known)
    config = app.config
    of_row: dict[int, _Customer] = {}
    for row in rows:
        customer: _Customer | None = (by["phone"].get(row.phone) if row.phone else None) or (
            by["email"].get(row.email) if row.email else None)
        if customer is None:
            if not row.name:
                errors.add(row.number, "name", "is required for a customer not seen before")
                continue
            customer = _Customer(None, row.name, row.tier or config.tier_names[0],
                                 row.language or config.default_language, row.phone, row.email, row.created_at)
        for key in ("phone", "email"):
            value = getattr(row, key)
            if value and getattr(customer, key) is None and value not in by[key]:
                setattr(customer, key, value)
                if customer.id is not None:
                    customer.filled[key] = value
            if value:
                by[key].setdefault(value, customer)
        if customer.created_at is not None:
            customer.created_at = min(customer.created_at, row.created_at)
        of_row[row.number] = customer
    return of_row


def _plans(app: Redress, rows: list[ImportRow], customers: dict[int, _Customer],
           errors: RowErrors) -> dict[int, tuple[str, str, ClockPlan]]:
    """Each row's severity, why, and clock plan (a severity suggested from the summary when none is given)."""
    config = app.config
    plans: dict[tuple[str, str], ClockPlan] = {}
    of_row = {}
    for row in rows:
        customer = customers.get(row.number)
        if customer is None:
            continue
        if row.severity:
            severity, reason = row.severity, "imported"
        else:
            suggestion = suggest_severity(config, text=row.summary, tier=customer.tier,
                                          earlier_contacts_same_order=0, recent_complaints=0)
            severity, reason = suggestion.severity, f"suggested at import: {suggestion.explanation}"
        key = (severity, customer.tier)
        if key not in plans:
            try:
                plans[key] = plan_for(config, severity, customer.tier)
            except NoPolicy as error:
                errors.add(row.number, "severity", str(error))
                continue
        of_row[row.number] = (severity, reason, plans[key])
    return of_row


def _chained(complaint_id: int, number: str, prev: str, at: datetime, actor: str, trigger: str, from_state: str,
             to_state: str, note: str, text: str) -> tuple[Any, ...]:
    """An event row (in `_EVENT_COLUMNS` order) linked to `prev`, hashed as workflow/adapters/records.py hashes
    every event; `text` is its data as JSON (`EVENT_DATA`)."""
    content = event_content(number, at, actor, trigger, from_state, to_state, note, text)
    return complaint_id, at, actor, trigger, from_state, to_state, note, text, link_hash(prev, content), prev


@cache
def _number_upsert(dialect_name: str) -> Any:
    """Take `n` numbers of a day at once: INSERT ... ON CONFLICT DO UPDATE last = last + n RETURNING last."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect: Any = postgresql if dialect_name == "postgresql" else sqlite
    table = NumberSequence.__table__  # type: ignore[attr-defined]
    statement = dialect.insert(table).values(day=bindparam("day"), last=bindparam("n"))
    return statement.on_conflict_do_update(index_elements=["day"], set_={"last": table.c.last + statement.excluded.last}
                                           ).returning(table.c.last)


class _Batch:
    """The rows one import writes, built in Python and inserted many at a time."""

    def __init__(self, app: Redress, now: datetime, user: Any, source: str, file: str, rows: list[ImportRow],
                 customers: dict[int, _Customer], plans: dict[int, tuple[str, str, ClockPlan]],
                 assignees: dict[str, int]) -> None:
        self.app, self.now, self.user, self.source, self.file = app, now, user, source, file
        self.rows, self.customers, self.plans, self.assignees = rows, customers, plans, assignees
        self.indexes = self._indexes()
        self.imported_at = now.isoformat()
        self.ranks = {name: rank for rank, name in enumerate(app.config.severity_names)}
        self.texts: dict[tuple[Any, ...], str] = {}  # a history event's data as text, by its values
        self.facts = [self._facts(row) for row in rows]
        self.armed = sum(len(deadlines) for _, deadlines in self.facts)
        self.past_due = sum(due <= now for _, deadlines in self.facts for _, _, due in deadlines)

    def _indexes(self) -> dict[str, BusinessIndex]:
        """One business-time index per calendar the rows' plans use, over the span their times cover."""
        if not self.rows:
            return {}
        times = [t for row in self.rows for t in (row.created_at, row.closed_at) if t is not None]
        start, end = min(times) - timedelta(days=1), max(max(times), self.now) + timedelta(days=60)
        names = {plan.calendar for _, _, plan in self.plans.values()}
        planner = self.app
        if start.year < self.now.year - 1:  # calendars hold holidays for the years around now: these need older
            planner = self.app.with_calendars(calendar_years=range(start.year, self.now.year + 3))
        return {name: BusinessIndex(planner.calendar(name), start, end) for name in names}

    def _facts(self, row: ImportRow) -> tuple[dict[str, Any], list[tuple[str, float, datetime]]]:
        """The clock columns of the row's complaint and the deadlines it arms: (kind, offset, due)."""
        _, _, plan = self.plans[row.number]
        index = self.indexes[plan.calendar]
        created, state = row.created_at, row.state
        resolved = row.resolved_at or row.closed_at if state in (RESOLVED, CLOSED) else None
        answered = row.first_responded_at or resolved
        stopped = resolved or row.closed_at
        facts: dict[str, Any] = {
            "first_responded_at": answered, "first_response_minutes": None, "first_response_breached_at": None,
            "resolved_at": resolved, "resolution_minutes": None, "resolution_breached_at": None,
            "sla_clock_at": created, "sla_clock_minutes": 0.0, "next_breach_at": None}
        if answered is not None:
            facts["first_response_minutes"] = index.minutes_between(created, answered)
        first_due = index.add(created, plan.first_response)
        if first_due < (answered or stopped or first_due):
            facts["first_response_breached_at"] = first_due
        if stopped is None:
            deadlines = [(kind, offset, index.add(created, offset))
                         for kind, offset in plan.arming(first_response=answered is None)]
            facts["next_breach_at"] = clocks.next_breach([(kind, due) for kind, _, due in deadlines])
            return facts, deadlines
        minutes = index.minutes_between(created, stopped)
        facts.update(sla_clock_at=stopped, sla_clock_minutes=minutes)
        if resolved is not None:
            facts["resolution_minutes"] = minutes
        resolution_due = index.add(created, plan.resolution)
        if resolution_due < stopped:
            facts["resolution_breached_at"] = resolution_due
        return facts, []

    def write(self, connection: Connection) -> tuple[str, ...]:
        """Insert everything, a chunk of complaints (with their trails and clocks) at a time; the first and last
        complaint numbers given."""
        if not self.rows:
            return ()
        customer_ids = self._write_customers(connection)
        numbers = self._numbers(connection)
        complaint_ids = reserve_ids(connection, COMPLAINTS, len(self.rows))
        for start in range(0, len(self.rows), _CHUNK):
            complaints: list[tuple[Any, ...]] = []
            events: list[tuple[Any, ...]] = []
            deadlines: list[tuple[Any, ...]] = []
            for i in range(start, min(start + _CHUNK, len(self.rows))):
                row, complaint_id = self.rows[i], complaint_ids[i]
                facts, armed = self.facts[i]
                trail = self._trail(row, complaint_id, numbers[i])
                complaint = self._complaint(row, numbers[i], customer_ids[id(self.customers[row.number])], facts,
                                            trail)
                complaints.append((complaint_id, *(complaint[name] for name in _COMPLAINT_COLUMNS[1:])))
                events += trail
                deadlines += [(complaint_id, kind, offset, due, row.created_at, 0) for kind, offset, due in armed]
            insert_rows(connection, COMPLAINTS, _COMPLAINT_COLUMNS, complaints)
            insert_rows(connection, EVENTS, _EVENT_COLUMNS, events)
            insert_rows(connection, DEADLINES, _DEADLINE_COLUMNS, deadlines)
        ordered = sorted(numbers, key=lambda number: (number[:10], int(number[11:])))
        return ordered[0], ordered[-1]

    def _write_customers(self, connection: Connection) -> dict[int, int]:
        """Ids of every customer the rows name (by the customer record's identity), new ones inserted."""
        customers = list({id(c): c for c in self.customers.values()}.values())
        new = [c for c in customers if c.id is None]
        ids = {id(c): c.id for c in customers if c.id is not None}
        for c, new_id in zip(new, reserve_ids(connection, CUSTOMERS, len(new)), strict=True):
            ids[id(c)] = new_id
        insert_rows(connection, CUSTOMERS, _CUSTOMER_COLUMNS,
                    [(ids[id(c)], c.name, c.phone, c.email, c.tier, c.language, c.created_at) for c in new])
        for key in ("phone", "email"):
            filled = [{"where_id": c.id, key: c.filled[key]} for c in customers if key in c.filled]
            if filled:
                connection.execute(update(CUSTOMERS).where(CUSTOMERS.c.id == bindparam("where_id"),
                                                           CUSTOMERS.c[key].is_(None)), filled)
        return ids  # type: ignore[return-value]

    def _numbers(self, connection: Connection) -> list[str]:
        """C-<local day filed>-<sequence>, taken a day's worth at a time, in file order within each day."""
        zone = ZoneInfo(self.app.config.timezone)
        days = [row.created_at.astimezone(zone).strftime("%Y%m%d") for row in self.rows]
        wanted: dict[str, int] = defaultdict(int)
        for day in days:
            wanted[day] += 1
        upsert = _number_upsert(connection.dialect.name)
        following = {day: connection.execute(upsert, {"day": day, "n": n}).scalar_one() - n
                     for day, n in sorted(wanted.items())}
        numbers = []
        for day in days:
            following[day] += 1
            numbers.append(f"C-{day}-{following[day]:04d}")
        return numbers

    def _trail(self, row: ImportRow, complaint_id: int, number: str) -> list[tuple[Any, ...]]:
        """The complaint's events, chained: filed (imported, from where, by whom), then the history it brings."""
        severity, reason, _ = self.plans[row.number]
        actor, imported = self.user.name, {"imported": True}
        customer = self.customers[row.number]
        filing = {"channel": row.channel, "category": row.category, "severity": severity, "severity_reason": reason,
                  "new_customer": customer.id is None,
                  "imported": {"file": self.file, "source": self.source, "ref": row.ref, "by": actor,
                               "at": self.imported_at}}
        events = [_chained(complaint_id, number, GENESIS, row.created_at, actor, "file", "", RECEIVED,
                           f"imported by {actor} from {self.file} ({self.source} ref {row.ref})",
                           EVENT_DATA.encode(filing))]
        state = str(RECEIVED)

        def then(at: datetime, trigger: str, to_state: str, note: str = "", **data: Any) -> None:
            nonlocal state
            key = tuple((k, v) for k, v in data.items() if v)
            text = self.texts.get(key)
            if text is None:
                text = self.texts[key] = EVENT_DATA.encode({**imported, **dict(key)})
            events.append(_chained(complaint_id, number, events[-1][_HASH], at, actor, trigger, state, to_state, note,
                                   text))
            state = to_state

        if row.state not in (RECEIVED, *_STOPPED):
            then(row.created_at, "import", row.state, f"{row.state} in {self.source}", assignee=row.assignee,
                 owner=row.owner)
        if row.first_responded_at is not None:
            then(row.first_responded_at, "respond", state, "first response (imported)")
        if row.state in (RESOLVED, CLOSED):
            then(row.resolved_at or row.closed_at, "resolve", RESOLVED, row.resolution or "",  # type: ignore[arg-type]
                 assignee=row.assignee, owner=row.owner)
        if row.state == CLOSED:
            then(row.closed_at, "close", CLOSED)  # type: ignore[arg-type]
        if row.state == CANCELLED:
            then(row.closed_at, "cancel", CANCELLED, row.cancel_reason or "",  # type: ignore[arg-type]
                 reason=row.cancel_reason, assignee=row.assignee, owner=row.owner)
        return events

    def _complaint(self, row: ImportRow, number: str, customer_id: int, facts: dict[str, Any],
                   trail: list[tuple[Any, ...]]) -> dict[str, Any]:
        severity, reason, plan = self.plans[row.number]
        return {
            "number": number, "state": row.state, "is_open": row.state not in (CLOSED, CANCELLED),
            "severity": severity, "severity_rank": self.ranks[severity], "severity_reason": reason,
            "category": row.category, "channel": row.channel, "customer_id": customer_id, "summary": row.summary,
            "order_ref": row.order_ref, "assignee_id": self.assignees.get(row.assignee) if row.assignee else None,
            "owner": row.owner, "escalation_level": plan.start_level,
            "resolution": row.resolution, "cancel_reason": row.cancel_reason, "duplicate_of_id": None,
            "created_by_id": self.user.id, "created_at": row.created_at, "updated_at": trail[-1][1],
            "closed_at": row.closed_at, "sla_started_at": row.created_at, "sla_paused_at": None,
            "sla_paused_minutes": 0.0, "escalated_at": None, "escalation_acked_at": None, "version": 1,
            "event_head": trail[-1][_HASH], "follows_id": None, "first_escalated_at": None,
            "peak_level": plan.start_level, "reopens": 0, "first_contact": False,
            "import_ref": _key(self.source, row.ref), **facts,
        }
