"""`redress explain` at a terminal: each deadline's policy, then the stretches of working time that reached it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.text import Text

from workflow.domain.inert import inert
from workflow.faces.cli.tables import Column, Moments, fitted_table, print_fitted
from workflow.faces.text import business_time


def _span(line: dict[str, Any], moments: Moments, zone: ZoneInfo) -> str:
    start = moments.short(line["start"])
    if not line.get("end"):
        return f"{start} - now"
    end = datetime.fromisoformat(line["end"]).astimezone(zone)
    same_day = datetime.fromisoformat(line["start"]).astimezone(zone).date() == end.date()
    return f"{start}-{end.strftime('%H:%M')}" if same_day else f"{start} - {moments.short(line['end'])}"


def _when(line: dict[str, Any], moments: Moments, zone: ZoneInfo) -> str:
    if line["type"] == "skipped":
        return datetime.fromisoformat(line["day"]).strftime("%m-%d %a")
    if line["type"] == "counted":
        return _span(line, moments, zone)
    return moments.short(line["start"])  # a pause or a stop: its end is in `why`


def _time(line: dict[str, Any]) -> str:
    """Business time counted, or (for a pause) the working time it held back."""
    if line["type"] == "counted":
        return business_time(line["minutes"])
    return business_time(line["business_minutes"]) if line.get("business_minutes") else ""


def _why(line: dict[str, Any], moments: Moments) -> str:
    if line["type"] == "counted":
        return line["note"] or ""
    if line["type"] == "skipped":
        return line["why"]
    if line["type"] == "stopped":
        return f"{line['reason']} by {line['by']}: the clock stops"
    until = f"until {moments.short(line['end'])}" if line["end"] else "still waiting"
    return f"{line['reason']} (by {line['by']}) {until}"


def _heading(deadline: dict[str, Any], moments: Moments) -> str:
    level = f" to {deadline['level']}" if deadline["kind"] == "escalation" and deadline["level"] else ""
    if deadline["replayed_due_at"] is None:
        reached = f"{business_time(deadline['left_minutes'])} left to count"
    else:
        reached = f"due {moments.short(deadline['replayed_due_at'])}"
    return (f"{deadline['kind']}{level} ({deadline['status']}): target {business_time(deadline['target_minutes'])},"
            f" counted {business_time(deadline['counted_minutes'])}, {reached}")


def _verdict(deadline: dict[str, Any], moments: Moments) -> str:
    if deadline["agrees"]:
        return "replayed from the history: lands on the stored due time"
    stored = moments.short(deadline["due_at"]) if deadline["due_at"] else "none (paused)"
    return (f"does not land on the stored due time {stored}: config.yaml changed since it was planned, "
            "or the history is incomplete")


def print_explanation(story: dict[str, Any], tz: str, now: datetime | None = None) -> None:
    moments = Moments(tz, now)
    zone = ZoneInfo(tz)
    if story.get("problem"):
        print_fitted(Text(inert(f"{story['number']}: no deadline to explain: {story['problem']}")))
        return
    parts: list[Any] = [Text(inert(f"{story['number']}  {story['severity']}, tier {story['tier']}, {story['state']};"
                                   f" clock started {moments.short(story['clock_started_at'])}"))]
    for change in story["changes"]:
        parts.append(Text(inert(f"  {moments.short(change['at'])}  {change['what']} by {change['by']}: "
                                f"{change['detail']}" + (f" ({change['reason']})" if change["reason"] else ""))))
    columns = [
        Column("when", lambda line: _when(line, moments, zone), most=25),
        Column("what", lambda line: line["type"], most=8),
        Column("time", _time, right=True, most=8, drop=2),
        Column("total", lambda line: business_time(line["total"]) if line["type"] == "counted" else "",
               right=True, most=8, drop=1),
        Column("why", lambda line: _why(line, moments), flexible=True, least=20),
    ]
    for deadline in story["deadlines"]:
        if deadline.get("problem"):
            parts.append(Text(inert(f"{deadline['kind']}: {deadline['problem']}")))
            continue
        policy = deadline["policy"]
        how = f"{policy['how']} on calendar '{policy['calendar']}'"
        parts.append(Text(""))
        parts.append(Text(inert(_heading(deadline, moments)), style="bold"))
        parts.append(Text(inert(f"  {how}")))
        parts.append(fitted_table("", columns, deadline["lines"]))
        parts.append(Text(inert(f"  {_verdict(deadline, moments)}")))
    if not story["deadlines"]:
        parts.append(Text("no deadline of that kind on its current clock"))
    print_fitted(*parts)
