"""`redress whatif` at a terminal: the period under the proposed policy beside what happened."""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from rich.text import Text

from workflow.domain.inert import inert
from workflow.faces.cli.tables import Column, Moments, fitted_table, print_fitted


def _three(row: dict[str, Any], what: str = "") -> str:
    """happened / replayed under the current policy -> under the proposed one (the change against current)."""
    actual, current, proposed = (row.get(f"{name}{what}", 0) for name in ("actual", "current", "what_if"))
    change = proposed - current
    return f"{actual} / {current} -> {proposed}" + (f" ({change:+d})" if change else "")


def print_what_if(report: dict[str, Any], tz: str) -> None:
    moments = Moments(tz, None)
    identity = report["identity"]
    parts: list[RenderableType] = [Text(
        f"{report['complaints']} complaints filed {moments.short(report['from'])} to {moments.short(report['to'])}. "
        f"Replayed under the current config.yaml, {identity['reproduced']} of {identity['compared']} recorded "
        "due times were reproduced.")]
    clocks = [
        Column("clock", lambda r: r["clock"], most=16),
        Column("severity", lambda r: r["severity"], most=10),
        Column("met", lambda r: _three(r, "_met"), most=20, right=True),
        Column("breached", lambda r: _three(r, "_breached"), most=20, right=True),
    ]
    parts.append(Text("Counts read: what happened / the current policy replayed -> the proposed one.", style="dim"))
    parts.append(fitted_table("Deadlines", clocks, report["clocks"]))
    levels = [Column("level", lambda r: r["level"], most=12),
              Column("climbs", lambda r: _three(r), most=20, right=True)]
    parts.append(fitted_table("Escalations per level", levels, report["escalations"]))
    parts.append(Text(f"Staff alerts: {_three(report['staff_alerts'])}"))
    if report["changed_fate"]:
        fates = [Column("number", lambda r: r["number"], most=16),
                 Column("severity", lambda r: r["severity"], drop=2, most=8),
                 Column("clock", lambda r: r["clock"], most=14),
                 Column("fate", lambda r: f"{r['actual']} -> {r['what_if']}", most=20),
                 Column("due then", lambda r: moments.short(r["what_if_due"]), drop=1, most=11)]
        shown = len(report["changed_fate"])
        more = f", first {shown}" if report["changed_fate_total"] > shown else ""
        parts.append(fitted_table(f"Complaints that would change fate ({report['changed_fate_total']}{more})",
                                  fates, report["changed_fate"]))
    else:
        parts.append(Text("No complaint would change fate."))
    for problem in report["not_replayed"]:
        parts.append(Text(inert(f"{problem['number']}: not replayed: {problem['error']}"), style="red"))
    print_fitted(*parts)
