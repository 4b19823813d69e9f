"""The monthly pack by mail: which month is due, and the pack rendered for its readers.

On the configured day and time of a month the pack of the month before is due; it stays due until it is
queued, so a scheduler that was down that morning sends it when it starts. Queuing is the service's
(workflow/services/report_mail.py), once per month and reader.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from workflow.bootstrap import Redress
from workflow.domain.errors import InvalidInput
from workflow.read.reports import REPORTS, build, described
from workflow.read.reports.html import render
from workflow.read.reports.model import Report
from workflow.read.reports.present import Words
from workflow.read.reports.scope import parse_scope
from workflow.services.report_mail import PackMail, already_queued, queue_pack, readers


def month_due(app: Redress, now: datetime) -> str | None:
    """The month (YYYY-MM) whose pack is due at `now`, or None when packs are not mailed or not yet due."""
    settings = app.config.reports.mail
    if settings.day is None:
        return None
    local = now.astimezone(ZoneInfo(app.config.timezone))
    hour, minute = (int(part) for part in settings.at.split(":"))
    if (local.day, local.hour, local.minute) < (settings.day, hour, minute):
        return None
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def pack_mail(app: Redress, month: str, language: str | None = None) -> PackMail:
    """Every report of `month`, read in one transaction, as the HTML file and a short text of the figures."""
    with app.uow(write=False) as uow:
        scope = parse_scope(app, uow.session, None, None, month, {})
        reports = [Report.from_json(described(app, build(app, uow.session, name, scope))) for name in REPORTS]
    words = Words(reports[0], language or app.config.reports.mail.language)
    lines = [f"{words.label('pack')} · {words.period(reports[0])}", ""]
    for report in reports:
        lines.append(words.label(report.name))
        lines += [f"  {words.label(key)}: {words.value(value, kind, report.currency)}"
                  for key, kind, value in report.figures]
        lines.append("")
    subject = f"Redress {words.label('pack')} {month}"
    return PackMail(month, subject, "\n".join(lines), render(reports, words, app.clock.now()))


def mail_due_pack(app: Redress) -> tuple[str | None, int]:
    """Queue the pack that is due, if it was not queued before: (the month, how many messages were queued)."""
    month = month_due(app, app.clock.now())
    if month is None or already_queued(app, month):
        return month, 0
    return month, queue_pack(app, pack_mail(app, month), app.clock.now())


def mail_pack(app: Redress, actor: str | None, month: str, language: str | None = None) -> int:
    """Queue `month`'s pack to its readers now, whatever the day (supervisor or above); a reader who was sent
    this month's pack before is not sent it again."""
    from workflow.domain.permissions import require
    from workflow.services.people import acting_user

    with app.uow(write=False) as uow:
        require(acting_user(uow.session, actor), "read_reports")
    if not readers(app):
        raise InvalidInput(f"reports.mail.to ({', '.join(app.config.reports.mail.to)}) names nobody with an email "
                           "address: give them one (`redress user edit NAME --email ...`) or list addresses")
    return queue_pack(app, pack_mail(app, month, language), app.clock.now())
