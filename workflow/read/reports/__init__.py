"""Reports for supervisors and managers: SLA compliance, an agent's month, satisfaction, compensation, the
backlog and customers at risk; each for a period and the same filters, computed by SQL aggregates over the
facts the engine keeps on each complaint as they happen (workflow/adapters/models.py).

`report` answers one; `monthly_pack` all of them for a month. Both answer the JSON form (`Report.as_json`),
which the server sends as it is and every face rebuilds with `Report.from_json`.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from workflow.bootstrap import Redress
from workflow.domain.errors import InvalidInput
from workflow.domain.permissions import require
from workflow.domain.vocabulary import REPORTS
from workflow.read.reports.model import Report
from workflow.read.reports.scope import Scope, parse_scope
from workflow.services.people import acting_user


def build(app: Redress, session: Session, name: str, scope: Scope) -> Report:
    """One report over `scope`, in the caller's read transaction."""
    from workflow.read.reports import agents, at_risk, backlog, money, satisfaction, sla

    now = app.clock.now()
    config = app.config
    low = config.compensation.survey.low_score
    if name == "sla":
        return sla.sla_report(session, scope, now)
    if name == "agents":
        return agents.agents_report(app, session, scope, now)
    if name == "satisfaction":
        return satisfaction.satisfaction_report(session, scope, low)
    if name == "compensation":
        return money.money_report(session, scope, now, config.compensation.currency)
    if name == "backlog":
        return backlog.backlog_report(session, scope, now)
    if name == "at_risk":
        return at_risk.at_risk_report(session, scope, [tier.name for tier in config.member_tiers], low)
    raise InvalidInput(f"no report '{name}'; reports: {', '.join(REPORTS)}")


def described(app: Redress, built: Report) -> dict[str, Any]:
    """The report's JSON with what a reader elsewhere needs to word it: the timezone, the call centre's language
    and the config's own words for its severities and categories."""
    config = app.config
    built.timezone, built.language = config.timezone, config.default_language
    built.names = {item.name: {str(k): v for k, v in item.label.items()} for item in config.severities}
    built.names |= {item.name: {str(k): v for k, v in item.label.items()} for item in config.categories}
    return built.as_json()


def report(app: Redress, actor: str | None, name: str, since: str | None = None, until: str | None = None,
           month: str | None = None, agent: str | None = None, category: str | None = None,
           channel: str | None = None, severity: str | None = None, tier: str | None = None,
           level: str | None = None) -> dict[str, Any]:
    """One report for a period (`month` YYYY-MM, or `since`/`until`, `until` not included) and filters
    (supervisor or above)."""
    filters = {"agent": agent, "category": category, "channel": channel, "severity": severity, "tier": tier,
               "level": level}
    with app.uow(write=False) as uow:
        require(acting_user(uow.session, actor), "read_reports")  # first: an agent learns nothing of reports
        if name not in REPORTS:
            raise InvalidInput(f"no report '{name}'; reports: {', '.join(REPORTS)}")
        scope = parse_scope(app, uow.session, since, until, month, filters)
        return described(app, build(app, uow.session, name, scope))


def monthly_pack(app: Redress, actor: str | None, month: str) -> list[dict[str, Any]]:
    """Every report for one month (YYYY-MM), read in one transaction so they agree (supervisor or above)."""
    with app.uow(write=False) as uow:
        require(acting_user(uow.session, actor), "read_reports")
        scope = parse_scope(app, uow.session, None, None, month, {})
        return [described(app, build(app, uow.session, name, scope)) for name in REPORTS]
