"""`redress report NAME`: one report for a period, as tables, JSON, CSV or a self-contained HTML file; and
`redress report pack`: every report for one month (supervisor or above)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from workflow.domain.vocabulary import REPORTS
from workflow.faces.cli.common import As, Json, print_json, say, seat

app = typer.Typer()
report_app = typer.Typer(help="Reports for supervisors and managers: SLA compliance, agents' month, satisfaction, "
                              "compensation, backlog, customers at risk; and the monthly pack.", no_args_is_help=True)
app.add_typer(report_app, name="report")

Month = Annotated[Optional[str], typer.Option("--month", help="The month, YYYY-MM (local).")]
Since = Annotated[Optional[str], typer.Option("--from", help="First day (YYYY-MM-DD, local) or ISO time.")]
Until = Annotated[Optional[str], typer.Option("--to", help="Up to this day, not included (YYYY-MM-DD) or ISO time.")]
Agent = Annotated[Optional[str], typer.Option("--agent", help="Only this agent's complaints (user name).")]
Category = Annotated[Optional[str], typer.Option("--category", help="Only this category.")]
Channel = Annotated[Optional[str], typer.Option("--channel", help="Only complaints from this channel.")]
Severity = Annotated[Optional[str], typer.Option("--severity", help="Only this severity.")]
Tier = Annotated[Optional[str], typer.Option("--tier", help="Only customers of this member tier.")]
Level = Annotated[Optional[str], typer.Option("--level", help="Only complaints now at this level (team): agent, "
                                                              "senior, supervisor or manager.")]
Lang = Annotated[Optional[str], typer.Option("--lang", help="Words and formats: zh-CN, zh-TW or en (default: "
                                                            "config.yaml's default_language).")]
Csv = Annotated[bool, typer.Option("--csv", help="Print CSV (raw values) only, for a spreadsheet.")]
Html = Annotated[Optional[Path], typer.Option("--html", help="Write one self-contained HTML file with charts.",
                                              dir_okay=False)]

_HELP = {
    "sla": "SLA compliance of the complaints filed in the period: first response and resolution met or breached "
           "by severity, category, channel, tier and day; median and p90 business time; escalations per level and "
           "time spent escalated.",
    "agents": "Each agent's month beside the team's median: handled, closed, first-contact answers, median first "
              "response, breaches, reopen rate, time paused, satisfaction, compensation steps done and overdue, "
              "refunds stalled.",
    "satisfaction": "Scores recorded in the period: distribution, by agent, category and tier, response rate, and "
                    "what low scorers said.",
    "compensation": "Steps created in the period: spend by kind, category and tier, per approver with the wait for "
                    "a decision, and the steps overdue now.",
    "backlog": "Open complaints now by state, level and age, and at the end of each day of the period by age.",
    "at_risk": "Customers who complained again, scored low, were reopened or breached in the period: best tier "
               "and highest risk first, with why.",
}


def _show(reports_json: list[dict[str, Any]], lang: str | None, as_json: bool, as_csv: bool,
          html: Path | None) -> None:
    from workflow.domain.errors import UsageError
    from workflow.read.reports.model import Report

    if sum((as_json, as_csv, html is not None)) > 1:
        raise UsageError("give one of --json, --csv and --html")
    if as_json:
        print_json(reports_json[0] if len(reports_json) == 1 else reports_json)
        return
    reports = [Report.from_json(data) for data in reports_json]
    if as_csv:
        from workflow.read.reports.present import to_csv

        sys.stdout.write(to_csv(reports))
        return
    from workflow.read.reports.present import Words

    words = Words(reports[0], lang)
    if html is not None:
        from workflow.domain.clock import Clock
        from workflow.read.reports.html import render

        _write_whole(html, render(reports, words, Clock.from_environment().now()))
        say(f"wrote {html} ({len(reports)} report{'s' * (len(reports) > 1)}, {words.period(reports[0])})")
        return
    from workflow.faces.cli.report_tables import print_reports

    print_reports(reports, words)


def _write_whole(path: Path, text: str) -> None:
    """Written beside the target and renamed over it: a reader never finds half a file."""
    from workflow.domain.errors import UsageError

    folder = path.resolve().parent
    if not folder.is_dir():
        raise UsageError(f"--html {path}: the folder {folder} does not exist")
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _command(name: str) -> Any:
    def command(month: Month = None, since: Since = None, until: Until = None, agent: Agent = None,
                category: Category = None, channel: Channel = None, severity: Severity = None, tier: Tier = None,
                level: Level = None, lang: Lang = None, as_user: As = None, as_json: Json = False,
                as_csv: Csv = False, html: Html = None) -> None:
        data = seat(as_user).call("report", name, since=since, until=until, month=month, agent=agent,
                                  category=category, channel=channel, severity=severity, tier=tier, level=level)
        _show([data], lang, as_json, as_csv, html)

    command.__doc__ = _HELP[name] + " (supervisor or above)"
    return command


for _name in REPORTS:
    report_app.command(_name.replace("_", "-"))(_command(_name))


@report_app.command("pack")
def pack(month: Annotated[str, typer.Option("--month", help="The month, YYYY-MM (local).")],
         lang: Lang = None, as_user: As = None, as_json: Json = False, as_csv: Csv = False, html: Html = None,
         mail: Annotated[bool, typer.Option("--mail", help="Queue the pack in the outbox for its readers "
                                                          "(config.yaml reports.mail.to) now.")] = False) -> None:
    """Every report for one month, read together: the monthly pack managers are mailed (supervisor or above)."""
    if mail:
        queued = seat(as_user).call("mail_report_pack", month, language=lang)
        say(f"the {month} report pack is queued for {queued} reader(s)" if queued else
            f"nothing queued: every reader of reports.mail.to was sent the {month} pack before, or there is none")
        return
    _show(seat(as_user).call("report_pack", month), lang, as_json, as_csv, html)
