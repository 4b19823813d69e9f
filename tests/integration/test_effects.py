"""The effects table: each event of a real transition runs its handlers once, and a table that does not
match the machine's events is refused."""

from __future__ import annotations

from collections import Counter

import pytest

from states.definition import Event
from tests.conftest import file_one
from workflow.services import effects
from workflow.services import lifecycle as svc
from workflow.services.effects import EFFECTS, Effects, EffectsTableError, check_table

E = Event


def test_the_table_has_an_entry_for_every_event():
    check_table(EFFECTS)
    assert set(EFFECTS) == set(Event)


def test_a_handler_for_an_unknown_event_is_refused():
    with pytest.raises(EffectsTableError, match="'teleported'"):
        check_table({**EFFECTS, "teleported": Effects()})


def test_a_plain_string_is_not_an_event_even_when_it_spells_one():
    with pytest.raises(EffectsTableError, match="'closed'"):
        check_table({**{k: v for k, v in EFFECTS.items() if k is not E.CLOSED}, "closed": Effects()})


def test_an_event_without_an_entry_is_refused():
    with pytest.raises(EffectsTableError, match="no entry for: reopened"):
        check_table({k: v for k, v in EFFECTS.items() if k is not E.REOPENED})


@pytest.fixture
def calls(monkeypatch) -> Counter:
    """Every handler of the table wrapped to count its calls by (event, phase, position)."""
    counted: Counter = Counter()

    def counting(event, phase, index, handler):
        def run(happened):
            counted[(event, phase, index)] += 1
            return handler(happened)
        return run

    for event, entry in list(EFFECTS.items()):
        monkeypatch.setitem(EFFECTS, event, Effects(
            clocks=tuple(counting(event, "clocks", i, h) for i, h in enumerate(entry.clocks)),
            then=tuple(counting(event, "then", i, h) for i, h in enumerate(entry.then)),
        ))
    return counted


def expected(*events: Event) -> Counter:
    return Counter({(event, phase, i): 1 for event in events for phase in ("clocks", "then")
                    for i in range(len(getattr(EFFECTS[event], phase)))})


def test_each_event_of_a_transition_runs_its_handlers_once(sqlite_app, calls):
    app = sqlite_app
    number = file_one(app)
    steps = [
        (lambda: svc.triage(app, "amy", number), ()),
        (lambda: svc.assign(app, "amy", number), ()),
        (lambda: svc.start(app, "amy", number), ()),
        (lambda: svc.respond(app, "amy", number, "we are on it"), (E.FIRST_RESPONSE_GIVEN, E.FIRST_REPLY_WRITTEN)),
        (lambda: svc.respond(app, "amy", number, "still on it"), ()),
        (lambda: svc.wait_for_customer(app, "amy", number, "photo of the box", reason="photos_or_documents"),
         (E.PAUSED,)),
        (lambda: svc.change_severity(app, "sen", number, "low", "a small delay"), (E.SEVERITY_CHANGED,)),
        (lambda: svc.customer_replied(app, "amy", number), (E.RESUMED,)),
        (lambda: svc.resolve(app, "amy", number, "refunded"), (E.RESOLVED,)),
        (lambda: svc.close(app, "amy", number), (E.CLOSED,)),
        (lambda: svc.reopen(app, "amy", number, "called back"), (E.REOPENED,)),
        (lambda: svc.cancel(app, "amy", number, "withdrawn"), (E.CANCELLED,)),
    ]
    for act, events in steps:
        calls.clear()
        act()
        assert calls == expected(*events), events
    answered = file_one(app, phone="13900139000")
    calls.clear()
    svc.answer_from_manual(app, "amy", answered, "delivery-delay")
    assert calls == expected(E.FIRST_RESPONSE_GIVEN, E.ANSWERED_FROM_MANUAL, E.CLOSED)


def test_the_clock_columns_ride_in_the_transition_update(sqlite_app):
    """The first response stops its clock and is written with the transition itself."""
    app = sqlite_app
    number = file_one(app)
    svc.triage(app, "amy", number)
    svc.respond(app, "amy", number, "on it")
    with app.uow(write=False) as uow:
        complaint = svc.load_complaint(uow.session, number)
        assert complaint.first_responded_at is not None
        assert effects.clocks.has_clock(complaint)
