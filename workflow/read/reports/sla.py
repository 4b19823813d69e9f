"""SLA compliance over the complaints filed in a period: first response and resolution met or breached, by
severity, category, channel and member tier and by day; the business time both took (median and p90, as the
clock counted it: working hours, holidays and waits on the customer left out); escalations per level and the
wall time complaints spent escalated.

Met means done with its deadline never fired; breached means the deadline fired; the rest are still running.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import and_, func, select
from sqlmodel import Session

from workflow.adapters.models import COMPLAINTS as C
from workflow.adapters.models import CUSTOMERS
from workflow.domain.vocabulary import ROLES
from workflow.read.reports.model import Chart, Column, Report, Table
from workflow.read.reports.scope import Scope, count_where, histograms, merged, percentiles, ranked, rounded

FR_MET = and_(C.c.first_responded_at.is_not(None), C.c.first_response_breached_at.is_(None))
FR_BREACHED = C.c.first_response_breached_at.is_not(None)
RESOLVED = and_(C.c.resolved_at.is_not(None), C.c.state.in_(("resolved", "closed")))
RES_MET = and_(RESOLVED, C.c.resolution_breached_at.is_(None))
RES_BREACHED = C.c.resolution_breached_at.is_not(None)
_JOINED = C.join(CUSTOMERS, CUSTOMERS.c.id == C.c.customer_id)
DIMENSIONS = {"severity": C.c.severity, "category": C.c.category, "channel": C.c.channel, "tier": CUSTOMERS.c.tier}

_COUNTS = (Column("filed"), Column("first_response_met"), Column("first_response_breached"),
           Column("first_response_met_share", "ratio"), Column("resolution_met"), Column("resolution_breached"),
           Column("resolution_met_share", "ratio"))
_TIMES = (Column("first_response_p50", "minutes"), Column("first_response_p90", "minutes"),
          Column("resolution_p50", "minutes"), Column("resolution_p90", "minutes"))


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _counted(row: Any) -> tuple[Any, ...]:
    return (int(row.filed), int(row.fr_met), int(row.fr_breached), share(row.fr_met, row.fr_met + row.fr_breached),
            int(row.res_met), int(row.res_breached), share(row.res_met, row.res_met + row.res_breached))


_SUMMED = ("filed", "fr_met", "fr_breached", "res_met", "res_breached")


def _count_columns() -> list[Any]:
    return [func.count().label("filed"), count_where(FR_MET).label("fr_met"),
            count_where(FR_BREACHED).label("fr_breached"), count_where(RES_MET).label("res_met"),
            count_where(RES_BREACHED).label("res_breached")]


def _source(key: Any) -> Any:
    """The complaints, with their customers only where the tier is wanted (the join costs most of a query)."""
    return _JOINED if key is CUSTOMERS.c.tier else C


def _times(session: Session, scope: Scope, key: Any) -> tuple[dict[Any, list[tuple[float, int]]], ...]:
    """Histograms of the minutes to first response and to resolution, per `key`."""
    first = histograms(session, C.c.first_response_minutes, scope.filed(), key=key, select_from=_source(key))
    resolution = histograms(session, C.c.resolution_minutes, [*scope.filed(), RESOLVED], key=key,
                            select_from=_source(key))
    return first, resolution


def _timed(first: dict[Any, list[tuple[float, int]]], resolution: dict[Any, list[tuple[float, int]]],
           k: Any) -> tuple[Any, ...]:
    f, r = ranked(first.get(k, [])), ranked(resolution.get(k, []))
    return f.get(50), f.get(90), r.get(50), r.get(90)


def sla_report(session: Session, scope: Scope, now: datetime) -> Report:
    report = Report("sla", scope.since, scope.until, scope.filters)
    for name, key in DIMENSIONS.items():
        rows = list(session.execute(select(key.label("k"), *_count_columns()).select_from(_source(key))
                                    .where(*scope.filed()).group_by(key).order_by(key)))
        first, resolution = _times(session, scope, key)
        if name == "severity":  # the whole period's figures are the severities' added up
            total = SimpleNamespace(**{field: sum(getattr(row, field) for row in rows) for field in _SUMMED})
            whole = {None: merged(first)}, {None: merged(resolution)}
        report.tables.append(Table(f"by_{name}", (Column(name, "label"), *_COUNTS, *_TIMES),
                                   [(row.k, *_counted(row), *_timed(first, resolution, row.k)) for row in rows]))
    timed = _timed(*whole, None)
    report.figures = [(c.key, c.kind, v) for c, v in zip(_COUNTS + _TIMES, _counted(total) + timed, strict=True)]
    day = scope.local_day(C.c.created_at)
    daily = {row.k: row for row in session.execute(
        select(day.label("k"), *_count_columns()).where(*scope.filed()).group_by(day))}
    report.tables.append(Table("by_day", (Column("day", "day"), *_COUNTS),
                               [(d, *(_counted(daily[d.isoformat()]) if d.isoformat() in daily
                                      else (0, 0, 0, None, 0, 0, None))) for d in scope.days()]))
    report.charts.append(Chart("compliance_over_time", "by_day", "day",
                               ("first_response_met_share", "resolution_met_share"), "line"))
    report.tables.append(_escalations(session, scope, now))
    report.figures += _escalated_time(session, scope, now)
    return report


def _escalations(session: Session, scope: Scope, now: datetime) -> Table:
    """Complaints filed in the period that climbed to each level (a complaint at manager passed the others)."""
    escalated = C.c.first_escalated_at.is_not(None)
    levels = range(1, len(ROLES))
    row = session.execute(select(*(count_where(and_(escalated, C.c.peak_level >= level)).label(f"l{level}")
                                   for level in levels)).where(*scope.filed())).one()
    return Table("escalations", (Column("level", "label"), Column("complaints")),
                 [(ROLES[level], int(row[level - 1])) for level in levels])


def _escalated_time(session: Session, scope: Scope, now: datetime) -> list[tuple[str, Any, Any]]:
    """Wall time from the first climb until the complaint closed (or until now)."""
    spent = scope.minutes_between(C.c.first_escalated_at, func.coalesce(C.c.closed_at, now)) / 60.0
    conditions = [*scope.filed(), C.c.first_escalated_at.is_not(None)]
    total = session.execute(select(func.count(), func.coalesce(func.sum(spent), 0.0)).where(*conditions)).one()
    middle = percentiles(session, spent, conditions, steps=10).get(None, {})  # to 6 minutes
    return [("escalated", "count", int(total[0])), ("escalated_hours", "hours", rounded(float(total[1]))),
            ("escalated_hours_p50", "hours", rounded(middle.get(50))),
            ("escalated_hours_p90", "hours", rounded(middle.get(90)))]
