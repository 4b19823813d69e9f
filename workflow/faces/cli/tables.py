"""Rich tables for people at a terminal (the CLI and the demo); the data comes ready-made from workflow.read.

Every table fits the terminal's width: each line is one row, the complaint number is always whole, times are
local and short, long text ends in an ellipsis at a word (or a character's) boundary, and the columns that
matter least are left out on a narrow screen (`--json` has everything). Widths are counted in terminal cells,
so Chinese text, two cells a character, lines up and is never split.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich import box
from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from workflow.domain.inert import inert
from workflow.domain.vocabulary import ROLES
from workflow.faces.actions import ACTIONS
from workflow.faces.text import business_time, past_deadline, shorten

_console = Console()
_SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "green"}
_NUMBER_CELLS = len("C-20261122-0007")
_GAP = 3  # cells between two columns: padding, the separator, padding


@dataclass(frozen=True)
class Moments:
    """How the tables write an instant: in the call centre's timezone, to the minute, the year only when not now's."""

    timezone: str
    now: datetime | None = None

    def short(self, iso: str | None) -> str:
        """'11-22 14:05' this year; '2025-11-22' another year (the same width, so columns line up)."""
        if not iso:
            return "-"
        zone = ZoneInfo(self.timezone)
        moment = datetime.fromisoformat(iso).astimezone(zone)
        if self.now is not None and moment.year != self.now.astimezone(zone).year:
            return moment.strftime("%Y-%m-%d")
        return moment.strftime("%m-%d %H:%M")


def _plain(value: Any) -> str:
    """Data as literal, inert text on one line; nothing (and no) is '-', yes is 'yes', never Python's words."""
    if isinstance(value, bool):
        return "yes" if value else "-"
    return inert("-" if value is None or value == "" else value)


@dataclass(frozen=True)
class Column:
    """One column: its header, which data it shows, and how it gives way on a narrow screen."""

    header: str
    cell: Callable[[dict[str, Any]], str]
    drop: int = 0  # left out when the screen is too narrow, highest first; 0: always shown
    most: int = 20  # the widest it grows, in cells; longer text is shortened
    flexible: bool = False  # the long text: it takes the width the others leave, at least `least`
    least: int = 16
    right: bool = False
    style: Callable[[str], str | None] | None = None


def _layout(columns: Sequence[Column], cells: list[list[str]], width: int) -> list[tuple[int, int]]:
    """(index, width) of the columns kept: the least important are dropped until the rest fit `width`."""
    natural = []
    for i, column in enumerate(columns):
        widest = max([cell_len(column.header), *(cell_len(row[i]) for row in cells)])
        natural.append(widest if column.flexible else min(widest, max(column.most, cell_len(column.header))))
    kept = list(range(len(columns)))

    def needed() -> int:
        return _GAP * (len(kept) - 1) + sum(
            min(natural[i], columns[i].least) if columns[i].flexible else natural[i] for i in kept)

    while needed() > width and any(columns[i].drop for i in kept):
        kept.remove(max(kept, key=lambda i: columns[i].drop))
    fixed = _GAP * (len(kept) - 1) + sum(natural[i] for i in kept if not columns[i].flexible)
    flexible = [i for i in kept if columns[i].flexible]
    share = max((width - fixed) // max(len(flexible), 1), 1)
    return [(i, min(natural[i], share) if columns[i].flexible else natural[i]) for i in kept]


def fitted_table(title: str, columns: Sequence[Column], rows: Sequence[dict[str, Any]]) -> Table:
    """The rows as a table that fits the console, one line per row."""
    cells = [[_plain(column.cell(row)) for column in columns] for row in rows]
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  header_style="bold")
    layout = _layout(columns, cells, _console.width)
    for index, width in layout:
        column = columns[index]
        table.add_column(column.header, width=width, no_wrap=True, overflow="ellipsis",
                         justify="right" if column.right else "left")
    for row in cells:
        table.add_row(*(_styled(shorten(row[i], width), columns[i].style) for i, width in layout))
    return table


def _styled(text: str, style: Callable[[str], str | None] | None) -> Text:
    return Text(text, style=(style(text) if style else None) or "")


def print_fitted(*renderables: RenderableType) -> None:
    """Print without the spaces Rich pads each line with to the table's width."""
    with _console.capture() as captured:
        for renderable in renderables:
            _console.print(renderable)
    sys.stdout.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def _severity_style(name: str) -> str | None:
    return _SEVERITY_STYLE.get(name)


def _number(key: str = "number") -> Column:
    """A complaint number: never dropped, never cut."""
    return Column(key, lambda r: r[key], most=_NUMBER_CELLS)


def print_complaint(detail: dict[str, Any], tz: str, now: datetime | None = None) -> None:
    """One complaint: its facts, its clocks in business time, its compensation steps, and what to type next."""
    moments = Moments(tz, now)
    customer = detail["customer"] or {}
    facts = Table(title=Text.assemble((detail["number"], "bold"), "  ", (_plain(detail["state"]), "bold")),
                  show_header=False, title_justify="left", box=box.SIMPLE, show_edge=False, pad_edge=False)
    facts.add_column(style="bold cyan", no_wrap=True)
    facts.add_column(overflow="fold")
    contact = " ".join(v for v in (customer.get("phone"), customer.get("email")) if v)
    rows: list[tuple[str, str | Text]] = [
        ("severity", _styled(detail["severity"], _severity_style)
         + Text(f"  ({inert(detail['severity_reason'] or '-')})")),
        ("escalation level", _level(detail["escalation_level"])),
        ("category", _plain(detail["category"])),
        ("channel", _plain(detail["channel"])),
        ("customer", inert(f"{customer.get('name')}  {contact}  ({customer.get('tier')}, {customer.get('language')})")),
        ("order", _plain(detail["order_ref"])),
        ("summary", inert(detail["summary"], multiline=True)),
        ("assignee", _plain(detail["assignee"])),
        ("owner", _plain(detail["owner"])),
        ("resolution", inert(detail["resolution"] or "-", multiline=True)),
        ("created", f"{moments.short(detail['created_at'])} by {_plain(detail['created_by'])}"),
        ("updated", f"{moments.short(detail['updated_at'])}  (version {detail['version']})"),
    ]
    if detail.get("sla", {}).get("problem"):
        rows.append(("clocks", _plain(detail["sla"]["problem"])))
    if detail["cancel_reason"]:
        rows.append(("cancelled", _plain(f"{detail['cancel_reason']} {detail['duplicate_of'] or ''}")))
    if detail.get("follows"):
        rows.append(("follows", _plain(f"{detail['follows']} (the customer wrote again after it was closed)")))
    for key, value in rows:
        facts.add_row(key, value if isinstance(value, Text) else Text(value))
    parts: list[RenderableType] = [facts]
    if detail.get("clocks"):
        parts.append(fitted_table("Clocks (business time)", _clock_columns(moments), detail["clocks"]))
    if detail.get("pauses"):
        pauses = detail["pauses"]
        held = business_time(sum(p["business_minutes"] or 0 for p in pauses))
        parts.append(fitted_table(f"Waits on the customer ({len(pauses)}, {held} held)", _pause_columns(moments),
                                  pauses))
    if detail.get("compensation_steps"):
        steps = detail["compensation_steps"]
        parts.append(fitted_table(f"Compensation steps ({len(steps)})", _step_columns(moments, whose=False), steps))
    if detail.get("conversation"):
        parts.append(_conversation(detail["conversation"], moments))
    if detail.get("attachments"):
        files = detail["attachments"]
        parts.append(fitted_table(f"Attachments ({len(files)})", _attachment_columns(), files))
    parts.append(Text("Next actions", style="italic"))
    parts.extend(Text(f"  {command}") for command in next_commands(detail))
    print_fitted(*parts)


_SAID_LINES = 6  # of each thing the customer wrote; `redress mail show` has the whole message


def _conversation(entries: list[dict[str, Any]], moments: Moments) -> RenderableType:
    """The customer's words (<-) and what Redress sent them (->), oldest first: theirs in full (a few lines),
    ours by subject and status."""
    table = Table(title=f"Conversation ({len(entries)})", title_justify="left", box=None, show_header=False,
                  pad_edge=False, padding=(0, 1, 0, 0))
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for entry in entries:
        if entry["direction"] == "in":
            said = (entry["text"] or "").strip().splitlines()
            shown = "\n".join(said[:_SAID_LINES] + (["..."] if len(said) > _SAID_LINES else []))
            what = Text.assemble(("customer: ", "bold"), inert(shown, multiline=True))
        else:
            what = Text.assemble(inert(entry["subject"]), (f"  [{entry['status']}]", "dim"))
        table.add_row("<-" if entry["direction"] == "in" else "->", moments.short(entry["at"]), what)
    return table


def _pause_ended(pause: dict[str, Any], moments: Moments) -> str:
    if pause["ended_at"] is None:
        return f"waiting (limit {moments.short(pause['limit_at'])})" if pause["limit_at"] else "waiting"
    how = "at the limit" if pause["ended_how"] == "pause_limit_reached" else f"by {pause['ended_by']}"
    return f"{moments.short(pause['ended_at'])} {how}"


def _pause_columns(moments: Moments) -> list[Column]:
    return [
        Column("since", lambda p: moments.short(p["started_at"]), most=11),
        Column("by", lambda p: p["by"], most=12),
        Column("reason", lambda p: p["reason"] or "-", most=20),
        Column("held", lambda p: "" if p["business_minutes"] is None else business_time(p["business_minutes"]),
               most=8, right=True),
        Column("ended", lambda p: _pause_ended(p, moments), most=30),
    ]


def print_pauses_by_agent(rows: list[dict[str, Any]]) -> None:
    """`redress sla pauses`: one row per agent who parked complaints, most time held first."""
    columns = [
        Column("agent", lambda r: r["agent"], most=16),
        Column("pauses", lambda r: str(r["pauses"]), most=7, right=True),
        Column("complaints", lambda r: str(r["complaints"]), most=10, right=True),
        Column("repeated", lambda r: str(r["repeated"]), drop=3, most=8, right=True),
        Column("at limit", lambda r: str(r["ran_to_limit"]), drop=2, most=8, right=True),
        Column("waiting", lambda r: str(r["still_waiting"]), drop=4, most=7, right=True),
        Column("held", lambda r: business_time(r["business_minutes"]), most=9, right=True),
        Column("longest", lambda r: business_time(r["longest_minutes"] or 0), drop=1, most=9, right=True),
    ]
    if not rows:
        print_fitted(Text("No waits on the customer began in that period."))
        return
    print_fitted(fitted_table("Waits on the customer per agent (business time)", columns, rows))


def print_replan(report: Any, tz: str) -> None:
    """`redress sla replan`: every deadline that moves (or would), complaint by complaint, then what failed."""
    moments = Moments(tz, None)
    rows = [{"number": done.number, "severity": done.severity, "used": done.used_minutes, "move": move}
            for done in report.replanned for move in done.moves]

    def due(moment: Any) -> str:
        return "paused" if moment is None else moments.short(moment.isoformat())

    columns = [
        _number(),
        Column("severity", lambda r: r["severity"], drop=3, most=8),
        Column("used", lambda r: business_time(r["used"]), drop=2, most=8, right=True),
        Column("deadline", lambda r: r["move"].kind, most=22),
        Column("target", lambda r: f"{business_time(r['move'].from_target)} -> {business_time(r['move'].to_target)}",
               drop=1, most=20),
        Column("due", lambda r: f"{due(r['move'].from_due)} -> {due(r['move'].to_due)}", most=26),
    ]
    verb = "would move" if report.dry_run else "moved"
    def many(count: int, noun: str) -> str:
        return f"{count} {noun}{'s' * (count != 1)}"

    parts: list[RenderableType] = [Text(
        f"{many(report.checked, 'running clock')} checked; {many(len(rows), 'deadline')} of "
        f"{many(len(report.replanned), 'complaint')} {verb}. Time used counted on {report.counted_on}.")]
    if rows:
        parts.append(fitted_table("Deadlines re-planned (business time)", columns, rows))
    for failed in report.failed:
        parts.append(Text(inert(f"{failed['number']}: not re-planned: {failed['error']}"), style="red"))
    print_fitted(*parts)


def _attachment_columns() -> list[Column]:
    return [
        Column("id", lambda a: str(a["id"]), most=8, right=True),
        Column("file", lambda a: a["filename"], most=40),
        Column("type", lambda a: a["content_type"], most=30),
        Column("size", lambda a: f"{a['size']:,}", most=12, right=True),
        Column("kept", lambda a: "yes" if a["kept"] else a["note"] or "no", most=40),
    ]


def _clock_columns(moments: Moments) -> list[Column]:
    return [
        Column("clock", _clock_name, most=30),
        Column("due", lambda c: "paused" if c["paused"] else moments.short(c["due_at"]), most=11),
        Column("time left", _time_left, most=24),
    ]


def _clock_name(clock: dict[str, Any]) -> str:
    """The ladder's clock climbs one level from wherever the complaint stands when it fires."""
    return "next escalation" if clock["kind"] == "escalation" else clock["kind"].replace("_", " ")


def _time_left(clock: dict[str, Any]) -> str:
    if clock["business_minutes_overdue"] is not None:
        return f"overdue by {business_time(clock['business_minutes_overdue'])}"
    if clock["business_minutes_left"] is None:
        return "-"
    return f"{business_time(clock['business_minutes_left'])} left"


# How a trigger the state allows is typed: the lifecycle actions table names the command and what it asks for.
# Answering from the manual is written out in the command line, with the policy answer's id as an argument.
_ANSWER = "answer {number} ANSWER-ID"


def next_commands(detail: dict[str, Any]) -> list[str]:
    """The commands the complaint's state allows, as the agent types them (required options with '...')."""
    number = detail["number"]
    commands = []
    for trigger in detail["allowed_actions"]:
        offered = [action for action in ACTIONS if action.trigger == trigger and action.command]
        if not offered and trigger == "answer_from_manual":
            commands.append("redress " + _ANSWER.format(number=number))
        for action in offered:
            asked = "".join(f" {ask.flags[0]} ..." for ask in action.asks if ask.required)
            commands.append(f"redress {action.command} {number}{asked}")
    return commands


def _level(level: int) -> str:
    """An escalation level by the role it reaches, as the board and the terminal app name it."""
    return ROLES[level] if 0 <= level < len(ROLES) else str(level)


def print_queue(rows: list[dict[str, Any]], tz: str, now: datetime | None = None) -> None:
    moments = Moments(tz, now)
    columns = [
        _number(),
        Column("state", lambda r: r["state"], most=16),
        Column("severity", lambda r: r["severity"], drop=2, most=8, style=_severity_style),
        Column("level", lambda r: _level(r["escalation_level"]), drop=3, most=10),
        Column("left", _queue_time_left, most=16, right=True, style=_urgency_style),
        Column("category", lambda r: r["category"], drop=7, most=12),
        Column("customer", lambda r: r["customer"], drop=5, most=12),
        Column("assignee", lambda r: r["assignee"], drop=4, most=12),
        Column("filed", lambda r: moments.short(r["created_at"]), drop=6, most=11),
        # The summary gives way to 16 cells, so at 80 columns the severity stays (and the level, where it fits).
        Column("summary", lambda r: r["summary"], flexible=True, least=16),
    ]
    print_fitted(fitted_table(f"Queue ({len(rows)})", columns, rows))


_URGENCY_STYLE = {"overdue": "bold red", "paused": "dim"}


def _queue_time_left(row: dict[str, Any]) -> str:
    """Business time to the next deadline: '2h 05m', 'overdue 40m', 'paused' or '-'."""
    if row["paused"]:
        return "paused"
    left = row["remaining_minutes"]
    if left is None:
        return "breached" if row["urgency"] == "breached" else "-"
    return f"overdue {business_time(-left)}" if left < 0 else business_time(left)


def _urgency_style(text: str) -> str | None:
    if text.startswith("overdue") or text == "breached":
        return "bold red"
    return _URGENCY_STYLE.get(text)


def print_escalations(rows: list[dict[str, Any]], *, more: bool) -> None:
    """The board: time past the deadline is business time, blank when the deadline has not passed."""
    columns = [
        _number(),
        Column("level", lambda r: r["level"], most=10),
        Column("severity", lambda r: r["severity"], drop=3, most=8, style=_severity_style),
        Column("state", lambda r: r["state"], drop=5, most=16),
        Column("assignee", lambda r: r["assignee"], drop=4, most=12),
        Column("customer", lambda r: r["customer"], drop=6, most=12),
        Column("past due", past_deadline, most=18, right=True),
        Column("acked", lambda r: "yes" if r["acknowledged"] else "", drop=2, most=5),
        Column("summary", lambda r: r["summary"], flexible=True, least=24),
    ]
    shown = f"the first {len(rows)}: --limit for more" if more else str(len(rows))
    print_fitted(fitted_table(f"Escalations ({shown}; past due in business / wall time)", columns, rows))


def _amount(step: dict[str, Any]) -> str:
    return f"{step['amount']} {step['currency']}" if step["amount"] is not None else ""


def _step_columns(moments: Moments, *, whose: bool) -> list[Column]:
    """A compensation step's columns; `whose` adds the complaint and who asked, for a list across complaints."""
    return [
        Column("id", lambda s: str(s["id"]), most=6, right=True),
        *([_number("complaint")] if whose else []),
        Column("kind", lambda s: s["kind"], most=14),
        Column("state", lambda s: s["state"], most=17),
        Column("amount", _amount, most=14, right=True),
        Column("due", lambda s: moments.short(s["due_at"]), drop=2, most=11),
        *([Column("asked by", lambda s: s["requested_by"], drop=4, most=12)] if whose else []),
        Column("reason", lambda s: s["reason"], drop=3, flexible=True, least=20),
    ]


def print_steps(rows: list[dict[str, Any]], tz: str, now: datetime | None = None) -> None:
    print_fitted(fitted_table(f"Compensation steps ({len(rows)})", _step_columns(Moments(tz, now), whose=True), rows))


def print_outbox(rows: list[dict[str, Any]], tz: str, now: datetime | None = None) -> None:
    moments = Moments(tz, now)
    columns = [
        Column("id", lambda m: str(m["id"]), most=7, right=True),
        Column("created", lambda m: moments.short(m["created_at"]), drop=6, most=11),
        Column("kind", lambda m: m["kind"], most=15),
        Column("to", lambda m: m["audience"], drop=5, most=8),
        Column("channel", lambda m: m["channel"], drop=7, most=14),
        Column("recipient", lambda m: m["recipient"], drop=2, most=24),
        Column("status", lambda m: m["status"], most=10),
        Column("tries", lambda m: str(m["attempts"]), drop=4, most=5, right=True),
        Column("last error", lambda m: m["last_error"], drop=3, most=20),
        Column("subject", lambda m: m["subject"], flexible=True, least=36),
    ]
    print_fitted(fitted_table(f"Outbox ({len(rows)})", columns, rows))


def print_inbound(rows: list[dict[str, Any]], tz: str, now: datetime | None = None) -> None:
    moments = Moments(tz, now)
    columns = [
        Column("id", lambda m: str(m["id"]), most=7, right=True),
        Column("taken", lambda m: moments.short(m["taken_at"]), drop=5, most=11),
        Column("mailbox", lambda m: m["mailbox"], drop=6, most=10),
        Column("from", lambda m: m["sender"], drop=2, most=26),
        Column("became", lambda m: m["outcome"], most=10),
        Column("complaint", lambda m: m["complaint"] or "-", most=16),
        Column("why", lambda m: m["detail"], drop=3, most=30),
        Column("subject", lambda m: m["subject"], flexible=True, least=20),
    ]
    print_fitted(fitted_table(f"Mail taken in ({len(rows)})", columns, rows))


def print_history(trail: dict[str, Any], tz: str, now: datetime | None = None) -> None:
    moments = Moments(tz, now)
    columns = [
        Column("at", lambda e: moments.short(e["at"]), most=11),
        # Who acted is the trail's point: on a narrow screen the states give way first, the state left first.
        Column("actor", lambda e: e["actor"], drop=1, most=12),
        Column("what", lambda e: e["trigger"], most=22),
        Column("from", lambda e: e["from_state"], drop=3, most=16),
        Column("to", lambda e: e["to_state"], drop=2, most=16),
        Column("note", _event_note, flexible=True, least=20),
    ]
    print_fitted(fitted_table(f"History of {trail['number']}", columns, trail["events"]))


def _event_note(event: dict[str, Any]) -> str:
    extra = ", ".join(f"{k}={v}" for k, v in event["data"].items()
                      if k not in ("severity_reason", "step", "source") and v not in ("", None, [], {}))
    note = event["note"]
    return f"{note}  ({extra})" if note and extra else note or extra


def print_customer(detail: dict[str, Any], tz: str, now: datetime | None = None) -> None:
    moments = Moments(tz, now)
    contact = " ".join(v for v in (detail["phone"], detail["email"]) if v)
    heading = shorten(inert(f"{detail['name']}  #{detail['id']}  {contact}  tier {detail['tier']}, "
                            f"{detail['language']}, customer since {moments.short(detail['created_at'])}"),
                      _console.width)
    columns = [
        _number(),
        Column("state", lambda c: c["state"], drop=1, most=16),
        Column("severity", lambda c: c["severity"], drop=4, most=8, style=_severity_style),
        Column("category", lambda c: c["category"], drop=3, most=12),
        Column("filed", lambda c: moments.short(c["created_at"]), drop=2, most=11),
        Column("summary", lambda c: c["summary"], flexible=True, least=30),
    ]
    complaints = fitted_table(f"Complaints ({len(detail['complaints'])})", columns, detail["complaints"])
    print_fitted(Text(heading), complaints)
    if detail["changes"]:
        from workflow.services.audit import describe

        print_fitted(fitted_table("Profile changes", [
            Column("at", lambda c: moments.short(c["at"]), most=11),
            Column("by", lambda c: c["actor"], most=12),
            Column("changes", lambda c: describe(c["changes"]), flexible=True, least=30),
        ], detail["changes"]))


def print_kb_hits(query: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        _console.print(f"no policy answer matches '{inert(query)}'", markup=False, highlight=False)
        return
    for row in rows:
        _console.print(Text.assemble((inert(row["id"]), "bold cyan"), f"  {inert(row['title'])}  ",
                                     (f"({inert(row['category'])}, score {row['score']})", "dim")))
        _console.print(Text(f"  {inert(row['answer'], multiline=True)}\n"))


def print_rows(title: str, rows: list[dict[str, Any]]) -> None:
    """Any rows, one column per key, each cut at 30 cells."""
    keys = list(rows[0].keys()) if rows else ["(none)"]
    columns = [Column(str(key), _field(key), most=30) for key in keys]
    print_fitted(fitted_table(title, columns, rows))


def _field(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda row: row[key]


def print_failed_deadlines(rows: list[dict[str, Any]], tz: str, now: datetime | None = None) -> None:
    """One line per deadline and its error beneath, cut at the screen's edge (`--json` has it whole)."""
    moments = Moments(tz, now)
    width = _console.width
    lines = [f"Deadlines that failed to fire ({len(rows)})"]
    for row in rows:
        status = (f"try {row['attempts'] + 1} at {moments.short(row['retry_at'])}" if row["status"] == "retrying"
                  else f"{row['status']} after {row['attempts']} tries" if row["status"] == "set aside"
                  else row["status"])
        lines.append(shorten(inert(f"{row['id']:>6}  {row['complaint']}  {row['kind']}  "
                                   f"due {moments.short(row['due_at'])}  {status}"), width))
        lines.append(" " * 8 + shorten(inert(row["error"]), width - 8))
    sys.stdout.write("".join(line + "\n" for line in lines))
