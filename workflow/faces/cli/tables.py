"""Rich tables for people at a terminal (the CLI and the demo); the data comes ready-made from workflow.read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from workflow.domain.clock import local_minute
from workflow.domain.inert import inert

_console = Console()
_SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "green"}


def _local(iso: str | None, tz: str) -> str:
    """An ISO time as 'YYYY-MM-DD HH:MM' in the call centre's timezone."""
    return local_minute(datetime.fromisoformat(iso), tz) if iso else "-"


def _text(value: Any, *, multiline: bool = True) -> str:
    """Data as literal, inert text: brackets never become Rich markup, escape codes never reach the terminal."""
    return escape(inert("-" if value is None or value == "" else value, multiline=multiline))


def _severity(name: str) -> str:
    """The severity in its colour; one a newer config no longer has is plain text."""
    style = _SEVERITY_STYLE.get(name)
    return f"[{style}]{_text(name)}[/]" if style else _text(name)


def print_complaint(detail: dict[str, Any], tz: str) -> None:
    customer = detail["customer"] or {}
    title = f"{detail['number']}  [bold]{detail['state']}[/]"
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold cyan")
    table.add_column(overflow="fold")
    severity = detail["severity"]
    contact = " ".join(v for v in (customer.get("phone"), customer.get("email")) if v)
    rows = [
        ("severity", f"{_severity(severity)}  ({_text(detail['severity_reason'])})"),
        ("escalation level", _text(detail["escalation_level"])),
        ("category", _text(detail["category"])),
        ("channel", _text(detail["channel"])),
        ("customer", _text(f"{customer.get('name')}  {contact}  ({customer.get('tier')}, {customer.get('language')})")),
        ("order", _text(detail["order_ref"])),
        ("summary", _text(detail["summary"])),
        ("assignee", _text(detail["assignee"])),
        ("owner", _text(detail["owner"])),
        ("resolution", _text(detail["resolution"])),
        ("created", f"{_local(detail['created_at'], tz)} by {_text(detail['created_by'])}"),
        ("updated", f"{_local(detail['updated_at'], tz)}  (version {detail['version']})"),
        ("next actions", _text(", ".join(detail["allowed_actions"]))),
    ]
    if detail.get("sla", {}).get("problem"):
        rows.append(("clocks", _text(detail["sla"]["problem"])))
    if detail["cancel_reason"]:
        rows.append(("cancelled", _text(f"{detail['cancel_reason']} {detail['duplicate_of'] or ''}")))
    for key, value in rows:
        table.add_row(key, value)
    _console.print(table)


def print_queue(rows: list[dict[str, Any]], tz: str) -> None:
    table = Table(title=f"Queue ({len(rows)})", title_justify="left")
    columns = ("number", "state", "severity", "level", "category", "customer", "assignee", "filed", "summary")
    for column in columns:
        table.add_column(column, overflow="ellipsis", no_wrap=column != "summary")
    for row in rows:
        table.add_row(
            _text(row["number"]), _text(row["state"]), _severity(row["severity"]),
            str(row["escalation_level"]), _text(row["category"]), _text(row["customer"]),
            _text(row["assignee"]), _local(row["created_at"], tz), _text(row["summary"][:60], multiline=False),
        )
    _console.print(table)


def print_history(trail: dict[str, Any], tz: str) -> None:
    table = Table(title=f"History of {trail['number']}", title_justify="left")
    for column in ("at", "actor", "trigger", "from", "to", "note"):
        table.add_column(column, overflow="fold")
    for event in trail["events"]:
        note = event["note"]
        extra = ", ".join(f"{k}={v}" for k, v in event["data"].items()
                          if k not in ("severity_reason", "step", "source") and v not in ("", None, [], {}))
        if extra:
            note = f"{note}  ({extra})" if note else extra
        table.add_row(
            _local(event["at"], tz), _text(event["actor"]), _text(event["trigger"]),
            _text(event["from_state"]), _text(event["to_state"]), _text(note),
        )
    _console.print(table)


def print_customer(detail: dict[str, Any], tz: str) -> None:
    contact = " ".join(v for v in (detail["phone"], detail["email"]) if v)
    _console.print(
        f"[bold]{_text(detail['name'])}[/]  #{detail['id']}  {_text(contact)}  tier {_text(detail['tier'])}, "
        f"{_text(detail['language'])}, customer since {_local(detail['created_at'], tz)}"
    )
    complaints = [{**c, "created_at": _local(c["created_at"], tz)} for c in detail["complaints"]]
    print_rows(f"Complaints ({len(complaints)})", complaints)


def print_kb_hits(query: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        _console.print(f"no policy answer matches '{_text(query)}'")
        return
    for row in rows:
        _console.print(
            f"[bold cyan]{_text(row['id'])}[/]  {_text(row['title'])}  "
            f"[dim]({_text(row['category'])}, score {row['score']})[/]"
        )
        _console.print(f"  {_text(row['answer'])}\n")


def print_rows(title: str, rows: list[dict[str, Any]]) -> None:
    table = Table(title=title, title_justify="left")
    for column in (rows[0].keys() if rows else ["(none)"]):
        table.add_column(str(column), overflow="fold")
    for row in rows:
        table.add_row(*(_text(value) for value in row.values()))
    _console.print(table)


def print_failed_deadlines(rows: list[dict[str, Any]], tz: str) -> None:
    """One line per deadline and its error beneath, cut at the screen's edge (`--json` has it whole)."""
    _console.print(f"Deadlines that failed to fire ({len(rows)})", markup=False, highlight=False)
    for row in rows:
        status = (f"try {row['attempts'] + 1} at {_local(row['retry_at'], tz)}" if row["status"] == "retrying"
                  else f"{row['status']} after {row['attempts']} tries" if row["status"] == "set aside"
                  else row["status"])
        line = f"{row['id']:>6}  {row['complaint']}  {row['kind']}  due {_local(row['due_at'], tz)}  {status}"
        for text in (line, f"{'':8}{row['error']}"):
            _console.print(inert(text), markup=False, highlight=False, overflow="ellipsis", no_wrap=True, crop=True)
