"""Backlog: the open complaints matching the filters, now by state and level and by age, and at the end of each
day of the period by age (a picture of whether the pile grows old).

Age is counted in local days since filing (a complaint filed today is under a day old). Past days are rebuilt
from when complaints were filed and closed, in one grouped query; a reopened complaint counts as open from its
filing on.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlmodel import Session

from states.definition import OPEN_STATES
from workflow.adapters.models import COMPLAINTS as C
from workflow.domain.vocabulary import ROLES
from workflow.read.reports.model import Chart, Column, Report, Table
from workflow.read.reports.scope import Scope

# (label, fewest whole days old): each bucket runs up to the next one's start.
AGES = (("under_1d", 0), ("1_3d", 1), ("3_7d", 3), ("7_14d", 7), ("14_30d", 14), ("over_30d", 30))


def age_bucket(days: int) -> str:
    return next(label for label, start in reversed(AGES) if days >= start)


def backlog_report(session: Session, scope: Scope, now: datetime) -> Report:
    report = Report("backlog", scope.since, scope.until, scope.filters)
    still_open = [C.c.is_open.is_(True), *scope.matching()]
    levels = range(len(ROLES))
    by_state = {row.state: row._mapping for row in session.execute(
        select(C.c.state, *(func.sum(case((C.c.escalation_level == level, 1), else_=0)).label(f"l{level}")
                            for level in levels), func.count().label("total"))
        .where(*still_open).group_by(C.c.state))}
    report.tables.append(Table("now_by_state", (Column("state", "label"), *(Column(ROLES[level]) for level in levels),
                                                Column("total")),
                               [(str(state), *(int(by_state[state][f"l{level}"]) for level in levels),
                                 int(by_state[state]["total"])) for state in OPEN_STATES if state in by_state]))
    today = now.astimezone(scope.zone).date()
    filed_day = scope.local_day(C.c.created_at)
    ages: Counter[str] = Counter()
    open_by_day = [(row.d, None, row.n) for row in session.execute(
        select(filed_day.label("d"), func.count().label("n")).where(*still_open).group_by(filed_day))]
    for filed, _, n in open_by_day:
        ages[age_bucket((today - date.fromisoformat(filed)).days)] += n
    report.tables.append(Table("now_by_age", (Column("age", "label"), Column("open")),
                               [(label, ages[label]) for label, _ in AGES]))
    report.figures = [("open_now", "count", sum(ages.values())),
                      ("escalated_now", "count", sum(int(r["total"]) - int(r["l0"]) for r in by_state.values()))]
    report.tables.append(_daily(session, scope, today, open_by_day))
    report.charts.append(Chart("backlog_ageing", "by_day", "day", tuple(label for label, _ in AGES), "stacked"))
    return report


def _daily(session: Session, scope: Scope, today: date, open_by_day: list[tuple[str, None, int]]) -> Table:
    """Open at the end of each day of the period (up to today), by age: the complaints open now (by filing day)
    and those closed since the period began (by filing and closing day)."""
    filed_day, closed_day = scope.local_day(C.c.created_at), scope.local_day(C.c.closed_at)
    # The closed ones read by the closing index; the open ones came from the backlog index alone.
    closed = session.execute(
        select(filed_day.label("filed"), closed_day.label("closed"), func.count().label("n"))
        # "is not open", not "is closed": read by the closing index, not by the backlog's (all closed ones)
        .where(C.c.is_open.is_not(True), C.c.closed_at >= scope.since, C.c.created_at < scope.until,
               *scope.matching())
        .group_by(filed_day, closed_day))
    pairs = [*open_by_day, *((row.filed, row.closed, row.n) for row in closed)]
    rows: list[tuple[Any, ...]] = []
    for day in (d for d in scope.days() if d <= today):
        ages: Counter[str] = Counter()
        for filed, ended, n in pairs:
            filed_on = date.fromisoformat(filed)
            if filed_on <= day and (ended is None or date.fromisoformat(ended) > day):
                ages[age_bucket((day - filed_on).days)] += n
        rows.append((day, *(ages[label] for label, _ in AGES), sum(ages.values())))
    return Table("by_day", (Column("day", "day"), *(Column(label) for label, _ in AGES), Column("open")), rows)


