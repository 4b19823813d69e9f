"""What a report counts: its period, its filters, and the SQL both turn into.

Every report reads complaints through `Scope.filed()` and `Scope.matching()`, so a filter means the same in
all of them. The dialect helpers keep the arithmetic in the database on SQLite and PostgreSQL alike: minutes
between two times, the local day of a time, and nearest-rank percentiles (the value at rank ceil(p/100 * n),
from a histogram the database counts), which are the same on both and can be checked by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, literal, select, text
from sqlmodel import Session

from workflow.adapters.models import COMPLAINTS, CUSTOMERS, USERS
from workflow.bootstrap import Redress
from workflow.domain.clock import parse_period_edge
from workflow.domain.errors import ConfigError, InvalidInput, NotFound
from workflow.domain.vocabulary import CHANNELS, ROLES

FILTERS = ("agent", "category", "channel", "severity", "tier", "level")


@dataclass(frozen=True)
class Scope:
    """A report's period [since, until) and its filters, checked; `agent_id` is the filtered agent's row."""

    since: datetime
    until: datetime
    timezone: str
    dialect: str
    filters: dict[str, str] = field(default_factory=dict)
    agent_id: int | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def days(self) -> list[date]:
        """The local days of the period, in order."""
        first = self.since.astimezone(self.zone).date()
        last = (self.until - timedelta(microseconds=1)).astimezone(self.zone).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]

    def matching(self, *, agent: bool = True) -> list[ColumnElement[bool]]:
        """The filters as conditions on the complaint (and its customer, for the tier); `agent=False` leaves
        the agent out, for the team figures an agent is compared with."""
        conditions: list[ColumnElement[bool]] = []
        f = self.filters
        for name in ("category", "channel", "severity"):
            if name in f:
                conditions.append(COMPLAINTS.c[name] == f[name])
        if "level" in f:
            conditions.append(COMPLAINTS.c.escalation_level == ROLES.index(f["level"]))
        if "tier" in f:
            conditions.append(COMPLAINTS.c.customer_id.in_(select(CUSTOMERS.c.id).where(CUSTOMERS.c.tier == f["tier"])))
        if agent and self.agent_id is not None:  # the agent's own: assigned, or answered by them at first contact
            conditions.append(func.coalesce(COMPLAINTS.c.assignee_id, case(
                (COMPLAINTS.c.first_contact.is_(True), COMPLAINTS.c.created_by_id))) == self.agent_id)
        return conditions

    def filed(self, *, agent: bool = True) -> list[ColumnElement[bool]]:
        """Complaints filed in the period that match the filters: the cohort most reports count."""
        return [COMPLAINTS.c.created_at >= self.since, COMPLAINTS.c.created_at < self.until,
                *self.matching(agent=agent)]

    def within(self, column: Any) -> ColumnElement[bool]:
        return and_(column >= self.since, column < self.until)

    def minutes_between(self, start: Any, end: Any) -> ColumnElement[Any]:
        """Wall-clock minutes from `start` to `end`, computed by the database."""
        if self.dialect == "sqlite":
            return (func.julianday(end) - func.julianday(start)) * 1440.0
        return func.extract("epoch", end - start) / 60.0

    def local_day(self, column: Any) -> ColumnElement[Any]:
        """The local day (YYYY-MM-DD) of a stored time, in the report's timezone."""
        if self.dialect == "sqlite":
            # SQLite knows no zones: the zone's offset at the period's start (exact for zones without summer time).
            offset = self.since.astimezone(self.zone).utcoffset() or timedelta()
            return func.date(column, f"{int(offset.total_seconds() // 60):+d} minutes")
        # timestamptz AT TIME ZONE zone: the local wall time there, whatever the session's own zone is
        return func.to_char(func.timezone(self.timezone, column), text("'YYYY-MM-DD'"))


def parse_scope(app: Redress, session: Session, since: str | None, until: str | None, month: str | None,
                filters: dict[str, str | None]) -> Scope:
    """The period (`month` YYYY-MM, or `since` and `until`: days or ISO times, `until` not included) and the
    filters, each checked against what is allowed; a mistake is one line naming the option."""
    zone = app.config.timezone
    if month is not None:
        if since is not None or until is not None:
            raise InvalidInput("give either --month or --from and --to, not both")
        start, end = month_edges(month, zone)
    else:
        if since is None or until is None:
            raise InvalidInput("give the period: --month YYYY-MM, or --from DAY and --to DAY (not included)")
        start, end = _edge(since, "--from", zone), _edge(until, "--to", zone)
        if start >= end:
            raise InvalidInput(f"--from {since} is not before --to {until}")
    given = {name: value.strip() for name, value in filters.items() if value is not None and value.strip()}
    unknown = set(given) - set(FILTERS)
    if unknown:
        raise InvalidInput(f"unknown filter {', '.join(sorted(unknown))}; filters: {', '.join(FILTERS)}")
    allowed = {"category": app.config.category_names, "channel": CHANNELS, "severity": app.config.severity_names,
               "tier": [tier.name for tier in app.config.member_tiers], "level": ROLES}
    for name, values in allowed.items():
        if name in given and given[name] not in values:
            raise InvalidInput(f"--{name} '{given[name]}' is not allowed; {name}s: {', '.join(values)}")
    agent_id = None
    if "agent" in given:
        agent_id = session.execute(select(USERS.c.id).where(USERS.c.name == given["agent"])).scalar()
        if agent_id is None:
            raise NotFound(f"no member of staff '{given['agent']}'; `redress user list` shows who there is")
    return Scope(start, end, zone, session.get_bind().dialect.name, given, agent_id)


def month_edges(month: str, zone: str) -> tuple[datetime, datetime]:
    """The first instant of a month (YYYY-MM) and of the next, in the local timezone."""
    try:
        first = datetime.strptime(month.strip(), "%Y-%m").replace(tzinfo=ZoneInfo(zone))
    except ValueError:
        raise InvalidInput(f"--month '{month}' is not a month; use e.g. 2026-11") from None
    following = first.replace(year=first.year + first.month // 12, month=first.month % 12 + 1)
    return _edge(first.date().isoformat(), "--month", zone), _edge(following.date().isoformat(), "--month", zone)


def _edge(value: str, option: str, zone: str) -> datetime:
    try:
        return parse_period_edge(value, option, zone)
    except ConfigError as error:
        raise InvalidInput(str(error)) from None


def histograms(session: Session, value: Any, conditions: list[Any], *, key: Any = None, select_from: Any = None,
               steps: int = 1) -> dict[Any, list[tuple[float, int]]]:
    """How many rows meeting `conditions` have each value (to 1/`steps` of its unit: whole minutes by default),
    per `key` (None: one group): one grouped query, so only the counts leave the database, never the rows."""
    group = key if key is not None else literal(1)
    bucket = func.round(value * steps) if steps != 1 else func.round(value)
    query = (select(group.label("k"), bucket.label("b"), func.count().label("n"))
             .where(value.is_not(None), *conditions).group_by(group, bucket))
    if select_from is not None:
        query = query.select_from(select_from)
    counts: dict[Any, list[tuple[float, int]]] = {}
    for row in session.execute(query):
        counts.setdefault(row.k if key is not None else None, []).append((float(row.b) / steps, int(row.n)))
    return counts


def ranked(histogram: list[tuple[float, int]], ranks: tuple[int, ...] = (50, 90)) -> dict[int, float]:
    """Nearest-rank percentiles read off a histogram: the value at rank ceil(p/100 * n)."""
    ordered = sorted(histogram)
    total = sum(n for _, n in ordered)
    found: dict[int, float] = {}
    for p in ranks:
        wanted, seen = (total * p + 99) // 100, 0
        for at, n in ordered:
            seen += n
            if seen >= wanted:
                found[p] = at
                break
    return found


def merged(per_key: dict[Any, list[tuple[float, int]]]) -> list[tuple[float, int]]:
    """One histogram of every key's: the whole group's, without asking the database again."""
    return [item for histogram in per_key.values() for item in histogram]


def percentiles(session: Session, value: Any, conditions: list[Any], *, key: Any = None, select_from: Any = None,
                ranks: tuple[int, ...] = (50, 90), steps: int = 1) -> dict[Any, dict[int, float]]:
    """Nearest-rank percentiles of `value` over the rows meeting `conditions`, per `key` (None: one group)."""
    return {k: ranked(histogram, ranks) for k, histogram in
            histograms(session, value, conditions, key=key, select_from=select_from, steps=steps).items()}


def count_where(condition: Any) -> Any:
    """COUNT of the rows meeting `condition` (a SUM of 1s, portable)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def rounded(value: float | None) -> float | None:
    """A wall time the database computed from stored times, to 1/100 of its unit (the float noise of day
    fractions on SQLite left out, so both databases answer the same)."""
    return None if value is None else round(value, 2)
