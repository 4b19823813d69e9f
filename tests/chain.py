"""Checks on the audit trail that several tests share: it is a chain, and a finished complaint keeps nothing live."""

from __future__ import annotations

from itertools import groupby

from sqlalchemy import select

from states.compensation import STEP_OPEN_STATES
from states.definition import FINAL_STATES
from workflow.adapters.models import COMPLAINTS, DEADLINES, EVENTS, STEPS
from workflow.bootstrap import Redress


def chain_breaks(app: Redress) -> list[str]:
    """Every place where a complaint's trail is not a chain, in the order the events were written.

    The first event starts from nothing, each event's from-state is the previous event's to-state, and the
    last event's to-state is the complaint's state.
    """
    with app.uow(write=False) as uow:
        states = dict(uow.session.execute(select(COMPLAINTS.c.id, COMPLAINTS.c.state)).all())
        events = uow.session.execute(
            select(EVENTS.c.id, EVENTS.c.complaint_id, EVENTS.c.trigger, EVENTS.c.from_state, EVENTS.c.to_state)
            .order_by(EVENTS.c.complaint_id, EVENTS.c.id)
        ).all()
    breaks = []
    for complaint_id, trail in groupby(events, key=lambda event: event.complaint_id):
        before = ""
        for event in trail:
            if event.from_state != before:
                breaks.append(f"complaint {complaint_id} event {event.id} {event.trigger} "
                              f"{event.from_state}->{event.to_state} after ->{before}")
            before = event.to_state
        if before != states[complaint_id]:
            breaks.append(f"complaint {complaint_id} is {states[complaint_id]} but its trail ends at {before}")
    return breaks


def live_on_finished(app: Redress) -> list[str]:
    """Open compensation steps and pending timers that a cancelled or closed complaint still has."""
    with app.uow(write=False) as uow:
        cancelled = select(COMPLAINTS.c.id).where(COMPLAINTS.c.state.in_(FINAL_STATES))
        steps = uow.session.execute(
            select(STEPS.c.complaint_id, STEPS.c.id, STEPS.c.kind, STEPS.c.state)
            .where(STEPS.c.complaint_id.in_(cancelled), STEPS.c.state.in_(STEP_OPEN_STATES))
        ).all()
        timers = uow.session.execute(
            select(DEADLINES.c.complaint_id, DEADLINES.c.id, DEADLINES.c.kind)
            .where(DEADLINES.c.complaint_id.in_(cancelled), DEADLINES.c.fired_at.is_(None),
                   DEADLINES.c.cancelled_at.is_(None))
        ).all()
    return ([f"complaint {s.complaint_id} keeps {s.state} step {s.id} ({s.kind})" for s in steps]
            + [f"complaint {t.complaint_id} keeps pending {t.kind} timer {t.id}" for t in timers])
