"""Warnings, breaches and ladder steps: what firing one does, decided once, then written one at a time or set-wise.

A decision (`Firing`) is plain data: the complaint's new columns, its audit event, its staff alert and, for a
climb, the ladder step that replaces the pending one. `write_one` writes one decision, as the per-deadline
path does; `write_all` writes a batch's decisions with one statement per table, so a thousand due deadlines
cost a handful of statements. Both give the same rows (tests/integration/test_batched_firing.py compares them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlmodel import Session

from notifications.outbox import queue_rows, queue_staff_alert, staff_alert_rows
from workflow.adapters.records import Change, ComplaintChanges, ComplaintSnapshot, change_complaint, change_complaints
from workflow.bootstrap import Redress
from workflow.domain.clock import local_minute
from workflow.domain.sla import plan_for
from workflow.domain.vocabulary import ROLES
from workflow.services import clocks, compensation
from workflow.services.alert_recipients import Recipients, StaffByLevel, alert_recipients

SCHEDULER = "scheduler"
# The version bump with each effect tells agents holding an old view; a conflict rolls the batch back.
_CONFLICT = "{} changed while its deadline fired; the batch will retry"
_CONFLICTS = "complaints changed while their deadlines fired; the batch will retry"


@dataclass(frozen=True)
class Firing:
    """What one fired deadline does to its complaint, before anything is written."""

    complaint: ComplaintSnapshot
    trigger: str  # the audit event's trigger, and the staff alert's kind
    headline: str
    data: dict[str, Any]
    changes: ComplaintChanges
    alert_level: int
    recipients: Recipients
    hours_of: str | None = None  # whose staff hours the alert keeps (an assignee's role), else the level's
    replaces_ladder_step: bool = False
    ladder_step: dict[str, Any] | None = None  # the new ladder step's deadline row, if the ladder goes on


def alerted(recipients: Recipients) -> dict[str, object]:
    """What the audit trail says about who was alerted, and why nobody was."""
    if recipients.nobody_because is None:
        return {"alerted": recipients.names}
    return {"alerted": [], "alert_failed": recipients.nobody_because}


def assignee_recipients(app: Redress, people: StaffByLevel, complaint: ComplaintSnapshot,
                        assignee: Row | None) -> Recipients:
    """The assignee (`assignee` is their user row), or the people at the complaint's level when unassigned."""
    if assignee is None:
        return alert_recipients(people, complaint.escalation_level, app.config.alerts.fallback_email)
    return Recipients([(assignee.name, assignee.email)])


def warning(app: Redress, people: StaffByLevel, complaint: ComplaintSnapshot, deadline: Row, target_due: datetime,
            assignee: Row | None) -> Firing:
    """A warning before a deadline: the assignee (or the level's people) hear when it falls due."""
    target = deadline.kind.removesuffix("_warning").replace("_", " ")
    headline = f"{target} due {local_minute(target_due, app.config.timezone)}"
    recipients = assignee_recipients(app, people, complaint, assignee)
    return Firing(complaint, "sla_warning", headline,
                  {"deadline": deadline.kind, "due_at": deadline.due_at.isoformat(), **alerted(recipients)},
                  {}, complaint.escalation_level, recipients,
                  hours_of=None if assignee is None else str(assignee.role))


def climb(app: Redress, people: StaffByLevel, complaint: ComplaintSnapshot, tier: str, deadline: Row,
          now: datetime, headline: str | None = None) -> Firing:
    """A breach, an overdue compensation step or a ladder step: one level up, alert the people there.

    A breach or a ladder step also replaces the pending ladder step; an overdue step keeps its own timer
    (`compensation.remind_again`).
    """
    top = len(ROLES) - 1
    level = min(complaint.escalation_level + 1, top)
    if headline is None:
        headline = (f"{deadline.kind.replace('_', ' ')} deadline breached" if deadline.kind in clocks.BREACH_KINDS
                    else "still unresolved: next step of the escalation ladder")
    if level > complaint.escalation_level:
        headline += f", escalated to {ROLES[level]}"
    recipients = alert_recipients(people, level, app.config.alerts.fallback_email)
    trigger = ("sla_breach" if deadline.kind in clocks.BREACH_KINDS
               else "step_overdue" if deadline.kind == compensation.STEP else "escalate")
    ladder = deadline.kind != compensation.STEP
    step_row: dict[str, Any] | None = None
    checkpoint: ComplaintChanges = {}
    if ladder:
        clock_plan = plan_for(app.config, complaint.severity, tier)
        step_row, checkpoint = clocks.next_ladder_step(app, complaint, level + 1, now, clock_plan)
    climbed: ComplaintChanges = {**checkpoint, "escalation_level": level, "escalated_at": now,
                                 "escalation_acked_at": None, "peak_level": max(complaint.peak_level, level),
                                 "first_escalated_at": complaint.first_escalated_at or now}
    if deadline.kind in clocks.BREACH_KINDS:  # the board's order: since when it has been past a deadline
        climbed["overdue_since"] = min(complaint.overdue_since or deadline.due_at, deadline.due_at)
    if deadline.kind == "first_response" and complaint.first_response_breached_at is None:
        climbed["first_response_breached_at"] = now
    elif deadline.kind == "resolution" and complaint.resolution_breached_at is None:
        climbed["resolution_breached_at"] = now
    data = {"deadline": deadline.kind, "due_at": deadline.due_at.isoformat(),
            "from_level": ROLES[complaint.escalation_level], "to_level": ROLES[level], **alerted(recipients)}
    return Firing(complaint, trigger, headline, data, climbed, level, recipients,
                  replaces_ladder_step=ladder, ladder_step=step_row)


def _alert_rows(app: Redress, firing: Firing, now: datetime) -> list[dict[str, Any]]:
    return staff_alert_rows(app, complaint=firing.complaint, kind=firing.trigger, headline=firing.headline,
                            level=ROLES[firing.alert_level], recipients=firing.recipients, now=now,
                            hours_of=firing.hours_of)


def write_one(app: Redress, session: Session, firing: Firing, now: datetime) -> None:
    """Write one decision: the ladder step, the version-checked change with its event, the alert."""
    complaint = firing.complaint
    if firing.replaces_ladder_step:
        clocks.replace_ladder_steps(session, [complaint.id], [firing.ladder_step] if firing.ladder_step else [],
                                    now)
    change_complaint(session, complaint, now, SCHEDULER, firing.trigger, firing.headline, firing.data,
                     conflict=_CONFLICT.format(complaint.number), **firing.changes)
    queue_staff_alert(app, session, complaint=complaint, kind=firing.trigger, headline=firing.headline,
                      level=ROLES[firing.alert_level], recipients=firing.recipients, now=now,
                      hours_of=firing.hours_of)


def write_all(app: Redress, session: Session, firings: list[Firing], now: datetime) -> None:
    """Write a batch's decisions (one per complaint) set-wise: ladder steps, changes, events, alerts."""
    climbs = [firing for firing in firings if firing.replaces_ladder_step]
    clocks.replace_ladder_steps(session, [firing.complaint.id for firing in climbs],
                                [firing.ladder_step for firing in climbs if firing.ladder_step], now)
    change_complaints(session, [Change(firing.complaint, firing.trigger, firing.headline, firing.data,
                                       firing.changes) for firing in firings],
                      now, SCHEDULER, conflict=_CONFLICTS)
    queue_rows(session, [row for firing in firings for row in _alert_rows(app, firing, now)])
