"""What each domain event of a transition does, as one table: clocks, compensation, surveys, customer messages.

The machine names the events (states/events.py); this table is the only place that says what follows from
them. Clock effects run before the complaint is written and return the columns that change with them, so
the transition stays one UPDATE; the others run after it, in the same transaction, so messages render from
the complaint as it now is. Events run in the order the machine gives, each event's effects in table order.
A table that misses an event, or names one the machine does not know, is refused at import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session

from states.definition import CAUSES, INITIAL_STATE, OPEN_STATES, STATES, TRANSITIONS, WAITING_CUSTOMER, Event
from workflow.adapters.models import COMPLAINTS
from workflow.adapters.records import ComplaintChanges, ComplaintSnapshot
from workflow.bootstrap import Redress
from workflow.services import clocks, compensation, survey_messages


@dataclass(frozen=True)
class Happened:
    """One transition, as its effects see it: the complaint as read before it, and what changed.

    `planned` collects the compensation steps the effects plan, for the use case to report.
    """

    app: Redress
    session: Session
    complaint: ComplaintSnapshot
    actor: Any  # the acting user's row, or the engine itself (transition.SystemActor)
    to_state: str
    note: str
    changes: Mapping[str, Any]
    now: datetime
    planned: list[compensation.PlannedStep] = field(default_factory=list)
    trigger: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)  # what the transition's audit event records


ClockEffect = Callable[[Happened], ComplaintChanges]
Effect = Callable[[Happened], None]


@dataclass(frozen=True)
class Effects:
    clocks: tuple[ClockEffect, ...] = ()  # before the write; their columns go into the transition's UPDATE
    then: tuple[Effect, ...] = ()  # after the write


class EffectsTableError(Exception):
    """The effects table does not match the machine's events."""


def _stop_first_response_clock(h: Happened) -> ComplaintChanges:
    return clocks.stop_first_response(h.app, h.session, h.complaint, h.now)


def _stop_clocks(h: Happened) -> ComplaintChanges:
    return clocks.stop(h.app, h.session, h.complaint, h.now, by=h.actor.name, how=h.trigger)


def _pause_clock(h: Happened) -> ComplaintChanges:
    return clocks.pause(h.app, h.session, h.complaint, h.now, by=h.actor.name, reason=h.data.get("pause_reason"),
                        limited=h.to_state == WAITING_CUSTOMER)


def _resume_clock(h: Happened) -> ComplaintChanges:
    return clocks.resume(h.app, h.session, h.complaint, h.now, by=h.actor.name, how=h.trigger)


def _restart_clock(h: Happened) -> ComplaintChanges:
    return clocks.restart(h.app, h.session, h.complaint, h.now)


def _retarget_clock(h: Happened) -> ComplaintChanges:
    return clocks.retarget(h.app, h.session, h.complaint, h.changes["severity"], h.now)


@dataclass(frozen=True)
class Tells:
    """An effect that queues the customer message `template`: the table says which events send which message."""

    template: str
    effect: Effect

    def __call__(self, happened: Happened) -> None:
        self.effect(happened)


def _tell_customer(template: str, *, in_agents_words: bool = False) -> Tells:
    """Queue the customer message `template` (with the agent's note as their message, if asked)."""
    def tell(h: Happened) -> None:
        from notifications.customer import queue_customer_message  # deferred: templates load only to queue

        extra = {"agent_message": h.note} if in_agents_words else None
        queue_customer_message(h.app, h.session, template, h.complaint.id, h.now, extra=extra)

    return Tells(template, tell)


_RESOLVED_ROW = select(COMPLAINTS).where(COMPLAINTS.c.id == bindparam("complaint_id"))


def _plan_compensation(h: Happened) -> None:
    resolved = ComplaintSnapshot.of(h.session.execute(_RESOLVED_ROW, {"complaint_id": h.complaint.id}).one())
    h.planned.extend(compensation.plan_for_resolution(h.app, h.session, resolved, h.actor, h.now))


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
    Event.CLOSED: Effects(clocks=(_stop_clocks,), then=(Tells(survey_messages.SURVEY, _queue_survey),)),
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


# Queued outside a transition's effects: on filing, and when a compensation step is carried out.
ACKNOWLEDGEMENT = "acknowledgement"


@cache
def states_sending(template: str) -> tuple[str, ...] | None:
    """The complaint states in which the customer message `template` is queued; None for a message to staff.

    Read off the machine and the table above: a message an event queues goes out in the states that the
    transitions causing the event reach. The acknowledgement goes out at filing; a step's notice while the
    complaint is open (closing needs every step done, cancelling cancels them).
    """
    if template == ACKNOWLEDGEMENT:
        return (INITIAL_STATE,)
    if template in compensation.NOTICES.values():
        return tuple(OPEN_STATES)
    reached: set[str] = set()
    for transition in TRANSITIONS:
        landing = transition["dest"] or transition["source"]
        for event in CAUSES[transition["trigger"]]:
            if any(isinstance(e, Tells) and e.template == template for e in EFFECTS[event].then):
                reached.update(landing if isinstance(landing, list) else [landing])
    return tuple(state for state in STATES if state in reached) or None


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
