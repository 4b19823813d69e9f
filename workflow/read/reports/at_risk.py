"""Customers at risk of leaving: among the complaints filed in the period, customers who complained more than
once, scored low, had a complaint reopened or a deadline breached. Ordered by member tier (the best first) and a
risk score that weighs those reasons; each row says why.

Risk = 2 for each complaint after the first + 3 for each low score + 2 for each reopen + 1 for each breach.
"""

from __future__ import annotations

from sqlalchemy import case, func, or_, select
from sqlmodel import Session

from workflow.adapters.models import COMPLAINTS as C
from workflow.adapters.models import CUSTOMERS, SURVEYS
from workflow.read.reports.model import Column, Report, Table
from workflow.read.reports.scope import Scope, count_where
from workflow.read.reports.sla import FR_BREACHED, RES_BREACHED

WEIGHTS = {"repeated": 2, "low_scores": 3, "reopens": 2, "breaches": 1}


def at_risk_report(session: Session, scope: Scope, tiers: list[str], low_score: int, limit: int = 200) -> Report:
    report = Report("at_risk", scope.since, scope.until, scope.filters)
    complaints = func.count()
    low = count_where(SURVEYS.c.score <= low_score)
    reopens = func.coalesce(func.sum(C.c.reopens), 0)
    breaches = count_where(or_(FR_BREACHED, RES_BREACHED))
    risk = ((complaints - 1) * WEIGHTS["repeated"] + low * WEIGHTS["low_scores"] + reopens * WEIGHTS["reopens"]
            + breaches * WEIGHTS["breaches"])
    # Counted per customer first; only the customers at risk are joined to their profiles.
    per_customer = (select(C.c.customer_id, complaints.label("complaints"), low.label("low_scores"),
                           reopens.label("reopens"), breaches.label("breaches"), risk.label("risk"),
                           func.max(C.c.number).label("latest"))
                    .select_from(C.outerjoin(SURVEYS, SURVEYS.c.complaint_id == C.c.id))
                    .where(*scope.filed()).group_by(C.c.customer_id).having(risk > 0).subquery())
    tier_rank = case(*((CUSTOMERS.c.tier == tier, rank) for rank, tier in enumerate(tiers)), else_=-1)
    rows = list(session.execute(
        select(CUSTOMERS.c.name, CUSTOMERS.c.phone, CUSTOMERS.c.email, CUSTOMERS.c.tier, per_customer,
               func.count().over().label("listed"))
        .join(CUSTOMERS, CUSTOMERS.c.id == per_customer.c.customer_id)
        .order_by(tier_rank.desc(), per_customer.c.risk.desc(), per_customer.c.customer_id).limit(limit)))
    report.tables.append(Table("customers", (
        Column("customer", "text"), Column("contact", "text"), Column("tier", "label"), Column("complaints"),
        Column("low_scores"), Column("reopens"), Column("breaches"), Column("risk"), Column("latest", "text"),
        Column("why", "reasons")),
        [(r.name, r.phone or r.email or "", r.tier, int(r.complaints), int(r.low_scores), int(r.reopens),
          int(r.breaches), int(r.risk), r.latest, reasons(int(r.complaints), int(r.low_scores), int(r.reopens),
                                                          int(r.breaches)))
         for r in rows]))
    report.figures = [("customers_at_risk", "count", rows[0].listed if rows else 0)]
    return report


def reasons(complaints: int, low_scores: int, reopens: int, breaches: int) -> str:
    """Why a customer is listed, as reason keys (the faces word them in the reader's language)."""
    why = [("repeated", complaints > 1), ("low_score", low_scores > 0), ("reopened", reopens > 0),
           ("breached", breaches > 0)]
    return " ".join(key for key, present in why if present)
