"""What each domain event of a transition does, as one table: clocks, compensation, surveys, customer messages.

The machine names the events (states/events.py); this table is the only place that says what follows from
them. Clock effects run before the complaint is written and return the columns that change with them, so
the transition stays one UPDATE; the others run after it, in the same transaction, so messages render from
the complaint as it now is. Events run in the order the machine gives, each event's effects in table order.
A table that misses an event, or names one the machine does not know, is refused at import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlmodel import Session

from states.definition import Event
from workflow.adapters.models import COMPLAINTS
from workflow.adapters.records import ComplaintChanges, ComplaintSnapshot
from workflow.bootstrap import Redress
from workflow.services import clocks, compensation, survey_messages


@dataclass(frozen=True)
class Happened:
    """One transition, as its effects see it: the complaint as read before it, and what changed."""

    app: Redress
    session: Session
    complaint: ComplaintSnapshot
    actor: Row
    to_state: str
    note: str
    changes: Mapping[str, Any]
    now: datetime


ClockEffect = Callable[[Happened], ComplaintChanges]
Effect = Callable[[Happened], None]


@dataclass(frozen=True)
class Effects:
    clocks: tuple[ClockEffect, ...] = ()  # before the write; their columns go into the transition's UPDATE
    then: tuple[Effect, ...] = ()  # after the write


class EffectsTableError(Exception):
    """The effects table does not match the machine's events."""


def _stop_first_response_clock(h: Happened) -> ComplaintChanges:
    return clocks.stop_first_response(h.session, h.complaint, h.now)


def _stop_clocks(h: Happened) -> ComplaintChanges:
    return clocks.stop(h.session, h.complaint, h.now)


def _pause_clock(h: Happened) -> ComplaintChanges:
    return clocks.pause(h.app, h.session, h.complaint, h.now)


def _resume_clock(h: Happened) -> ComplaintChanges:
    return clocks.resume(h.app, h.session, h.complaint, h.now)


def _restart_clock(h: Happened) -> ComplaintChanges:
    return clocks.restart(h.app, h.session, h.complaint, h.now)


def _retarget_clock(h: Happened) -> ComplaintChanges:
    return clocks.retarget(h.app, h.session, h.complaint, h.changes["severity"], h.now)


def _tell_customer(template: str, *, in_agents_words: bool = False) -> Effect:
    """Queue the customer message `template` (with the agent's note as their message, if asked)."""
    def tell(h: Happened) -> None:
        from notifications.customer import queue_customer_message  # deferred: templates load only to queue

        extra = {"agent_message": h.note} if in_agents_words else None
        queue_customer_message(h.app, h.session, template, h.complaint.id, h.now, extra=extra)

    tell.__name__ = f"tell_customer_{template}"
    return tell


_RESOLVED_ROW = select(COMPLAINTS).where(COMPLAINTS.c.id == bindparam("complaint_id"))


def _plan_compensation(h: Happened) -> None:
    resolved = ComplaintSnapshot.of(h.session.execute(_RESOLVED_ROW, {"complaint_id": h.complaint.id}).one())
    compensation.plan_for_resolution(h.app, h.session, resolved, h.actor, h.now)


def _queue_survey(h: Happened) -> None:
    survey_messages.arm(h.app, h.session, h.complaint, h.actor.name, h.now)


def _withdraw_survey(h: Happened) -> None:
    survey_messages.withdraw(h.session, h.complaint.id, h.to_state, h.actor.name,
                             f"reopened: {h.note}".rstrip(": "), h.now)


def _cancel_compensation(h: Happened) -> None:
    compensation.cancel_open_steps(h.session, h.complaint.id, h.to_state, h.actor.name,
                                   f"complaint cancelled: {h.note}".rstrip(": "), h.now)


def _withdraw_messages(h: Happened) -> None:
    from notifications.customer import withdraw_customer_messages  # deferred: templates load only to queue

    reason = h.changes.get("cancel_reason")
    withdraw_customer_messages(h.session, h.complaint.id, h.to_state, h.actor.name,
                               f"complaint cancelled ({reason})" if reason else "complaint cancelled", h.now)


EFFECTS: dict[Event, Effects] = {
    Event.FIRST_RESPONSE_GIVEN: Effects(clocks=(_stop_first_response_clock,)),
    Event.FIRST_REPLY_WRITTEN: Effects(then=(_tell_customer("first_response", in_agents_words=True),)),
    Event.SEVERITY_CHANGED: Effects(clocks=(_retarget_clock,)),
    Event.PAUSED: Effects(clocks=(_pause_clock,)),
    Event.RESUMED: Effects(clocks=(_resume_clock,)),
    Event.REOPENED: Effects(clocks=(_restart_clock,), then=(_withdraw_survey,)),
    Event.RESOLVED: Effects(clocks=(_stop_clocks,), then=(_tell_customer("resolution"), _plan_compensation)),
    Event.ANSWERED_FROM_MANUAL: Effects(then=(_tell_customer("resolution"),)),
    Event.CLOSED: Effects(clocks=(_stop_clocks,), then=(_queue_survey,)),
    Event.CANCELLED: Effects(clocks=(_stop_clocks,), then=(_cancel_compensation, _withdraw_messages)),
}


def check_table(table: Mapping[Any, Effects]) -> None:
    """Every event of the machine has an entry (empty if it has no effect), and every entry is an event."""
    unknown = [repr(key) for key in table if type(key) is not Event]
    if unknown:
        raise EffectsTableError(f"the effects table names events the machine does not know: {', '.join(unknown)}")
    missing = [str(event) for event in Event if event not in table]
    if missing:
        raise EffectsTableError(f"the effects table has no entry for: {', '.join(missing)}")


check_table(EFFECTS)


def before_write(events: Iterable[Event], happened: Happened) -> ComplaintChanges:
    """Run the clock effects; the complaint columns they change. A complaint whose clock never started has none."""
    columns: ComplaintChanges = {}
    if clocks.has_clock(happened.complaint):
        for event in events:
            for effect in EFFECTS[event].clocks:
                columns |= effect(happened)
    return columns


def after_write(events: Iterable[Event], happened: Happened) -> None:
    """Run the effects that follow the written transition: messages, compensation planning, surveys."""
    for event in events:
        for effect in EFFECTS[event].then:
            effect(happened)
