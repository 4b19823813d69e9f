"""The audit trail is a chain under concurrent workers, compensation racing a cancel, and severity changes."""

from __future__ import annotations

import multiprocessing
import random
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import distinct, func, select

from tests.chain import chain_breaks, live_on_finished
from tests.conftest import CONFIG, PINNED, _staffed, file_one
from workflow.adapters.models import COMPLAINTS, EVENTS, STEPS
from workflow.bootstrap import Redress, bootstrap
from workflow.config import FolderChannel
from workflow.domain.clock import Clock
from workflow.domain.errors import ConcurrentChange, InvalidTransition, RedressError
from workflow.read.queries import complaint_detail, history
from workflow.services import lifecycle as svc
from workflow.services import supervision
from workflow.services.audit_chain import verify_trail
from workflow.services.compensation import add_step, complete_step, list_steps, remove_step
from workflow.services.firing import fire_due
from workflow.services.surveys import record

WORKERS = 8
COMPLAINTS_RACED = 50
SECONDS = 8.0  # per database: long enough for thousands of actions and hundreds of conflicts
STARVED_GRACE = 30.0


def _open_step(app: Redress, number: str) -> int | None:
    steps = [s["id"] for s in list_steps(app, number) if s["state"] in ("planned", "approved")]
    return random.choice(steps) if steps else None


def _complete(app: Redress, number: str, who: str) -> None:
    step = _open_step(app, number)
    if step is None:
        raise InvalidTransition("no open step")
    complete_step(app, who, step, "done")


def _remove(app: Redress, number: str, who: str) -> None:
    step = _open_step(app, number)
    if step is None:
        raise InvalidTransition("no open step")
    remove_step(app, who, step, "not needed")


# Every action here bumps the complaint's version by exactly one when it succeeds.
ACTIONS = {
    "triage": lambda app, n, who: svc.triage(app, who, n),
    "take": lambda app, n, who: svc.assign(app, who, n),
    "start": lambda app, n, who: svc.start(app, who, n),
    "respond": lambda app, n, who: svc.respond(app, who, n, "we are on it"),
    "wait": lambda app, n, who: svc.wait_for_customer(app, who, n, "photos please", reason="photos_or_documents"),
    "replied": lambda app, n, who: svc.customer_replied(app, who, n, "photos sent"),
    "route": lambda app, n, who: svc.route(app, who, n, "仓库", "check stock"),
    "feedback": lambda app, n, who: svc.owner_feedback(app, who, n, "stock found"),
    "resolve": lambda app, n, who: svc.resolve(app, who, n, "replacement sent"),
    "close": lambda app, n, who: svc.close(app, who, n),
    "reopen": lambda app, n, who: svc.reopen(app, who, n, "customer called back"),
    "cancel": lambda app, n, who: svc.cancel(app, who, n, "withdrawn"),
    "raise": lambda app, n, who: svc.change_severity(app, who, n, "critical", "customer is furious"),
    "lower": lambda app, n, who: svc.change_severity(app, who, n, "low", "calmer now"),
    "note": lambda app, n, who: svc.add_note(app, who, n, "note"),
    "refund": lambda app, n, who: add_step(app, who, n, "refund", amount="20", reason="goodwill"),
    "voucher": lambda app, n, who: add_step(app, who, n, "voucher", amount="10", reason="goodwill"),
    "complete_step": _complete,
    "remove_step": _remove,
    "survey": lambda app, n, who: record(app, who, n, 5, "fine"),
    "acknowledge": lambda app, n, who: supervision.acknowledge(app, "sup", n, "on it"),
    "extend": lambda app, n, who: supervision.extend_deadline(app, "sup", n, "1h", "courier confirms"),
    "de-escalate": lambda app, n, who: supervision.lower_escalation(app, "sup", n, "agent", "customer calmer"),
}


def _worker_app(url: str) -> Redress:
    app = bootstrap(str(CONFIG), url, Clock(PINNED))
    mail = FolderChannel(type="folder", path=tempfile.mkdtemp(prefix="redress-mail-"))
    app.config = app.config.model_copy(
        update={"messages": app.config.messages.model_copy(update={"email": mail, "sms": mail})}
    )
    return app


def _work(url: str, numbers: list[str], seconds: float, seed: int, results: multiprocessing.Queue) -> None:
    """Random actions through the services until time is up; report what succeeded per complaint."""
    random.seed(seed)
    app = _worker_app(url)
    done: Counter[str] = Counter()
    refused = conflicts = 0
    try:
        until = time.monotonic() + seconds
        # SQLite hands its write lock to no one in particular: on a loaded machine one writer of nine can miss it
        # for the whole time, so a worker that has not acted yet goes on (a while) until it has.
        while time.monotonic() < until or (not done and time.monotonic() < until + STARVED_GRACE):
            number = random.choice(numbers)
            action = random.choice(sorted(ACTIONS))
            try:
                ACTIONS[action](app, number, random.choice(["amy", "sen", "sup"]))
            except ConcurrentChange:
                conflicts += 1
            except RedressError:
                refused += 1
            else:
                done[number] += 1
        results.put(("ok", dict(done), refused, conflicts))
    except Exception as error:  # noqa: BLE001 - reported to the test, which fails on it
        results.put(("error", f"{type(error).__name__}: {error}", refused, conflicts))
    finally:
        app.engine.dispose()


def _fire(url: str, seconds: float, results: multiprocessing.Queue) -> None:
    """The scheduler's part: half an hour passes per sweep, and whatever fell due fires."""
    app = _worker_app(url)
    fired = sweeps = 0
    try:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            sweeps += 1
            app.clock.pin(PINNED + timedelta(minutes=30 * sweeps))
            fired += fire_due(app).fired
        results.put(("fired", fired, sweeps))
    except Exception as error:  # noqa: BLE001 - reported to the test, which fails on it
        results.put(("error", f"{type(error).__name__}: {error}", sweeps))
    finally:
        app.engine.dispose()


def test_concurrent_workers_lose_no_update_and_keep_every_trail_a_chain(app, database_url):
    numbers = [file_one(app, phone=f"1380000{i:04d}", name=f"客户{i}") for i in range(COMPLAINTS_RACED)]
    app.engine.dispose()  # the children open their own connections
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    firings = context.Queue()
    firer = context.Process(target=_fire, args=(database_url, SECONDS, firings))
    workers = [context.Process(target=_work, args=(database_url, numbers, SECONDS, seed, results))
               for seed in range(WORKERS)]
    for worker in [firer, *workers]:
        worker.start()
    reports = [results.get(timeout=SECONDS + STARVED_GRACE + 60) for _ in workers]
    firing = firings.get(timeout=SECONDS + STARVED_GRACE + 60)
    for worker in [firer, *workers]:
        worker.join(timeout=30)
    errors = [report[1] for report in [*reports, firing] if report[0] == "error"]
    assert errors == []
    assert firing[1] > 0, "nothing fell due while the workers acted: firing did not race them"
    done: Counter[str] = Counter()
    for report in reports:
        done.update(report[1])
    assert all(report[1] for report in reports), f"a worker did not get to act: {reports}"
    if database_url.startswith("postgresql"):  # SQLite queues writers (BEGIN IMMEDIATE): nobody reads stale
        assert sum(report[3] for report in reports) > 0, "no worker met a concurrent change: no race"
    with app.uow(write=False) as uow:
        versions = dict(uow.session.execute(select(COMPLAINTS.c.number, COMPLAINTS.c.version)).all())
        # Each deadline the scheduler fired changed its complaint once, with one event.
        by_scheduler = Counter(dict(uow.session.execute(
            select(COMPLAINTS.c.number, func.count()).join(EVENTS, EVENTS.c.complaint_id == COMPLAINTS.c.id)
            .where(EVENTS.c.actor == "scheduler").group_by(COMPLAINTS.c.number)).all()))
    done.update(by_scheduler)
    lost = {n: (versions[n], 1 + done[n]) for n in numbers if versions[n] != 1 + done[n]}
    assert lost == {}, "a success that is not in the complaint's version is a lost update"
    assert chain_breaks(app) == []
    verify_trail(app)  # and every line of the trail is the one written, linked to the one before
    assert live_on_finished(app) == []


@pytest.mark.postgres
def test_compensation_added_as_the_complaint_is_cancelled_never_outlives_it(postgres_url):
    staffed = _staffed(postgres_url)
    app = next(staffed)
    numbers = [file_one(app, phone=f"1390000{i:04d}", name=f"客户{i}") for i in range(300)]
    barrier = threading.Barrier(2)
    outcomes: Counter[str] = Counter()

    def race(action: str) -> None:
        for number in numbers:
            barrier.wait()
            try:
                if action == "add":
                    add_step(app, "amy", number, "refund", amount="20", reason="goodwill")
                else:
                    svc.cancel(app, "sen", number, "withdrawn")
                outcomes[f"{action} done"] += 1
            except (ConcurrentChange, InvalidTransition) as refused:
                outcomes[f"{action} refused: {type(refused).__name__}"] += 1

    threads = [threading.Thread(target=race, args=(action,)) for action in ("add", "cancel")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert live_on_finished(app) == []
        assert chain_breaks(app) == []
        verify_trail(app)  # and every line of the trail is the one written, linked to the one before
        conflicts = outcomes["add refused: ConcurrentChange"] + outcomes["cancel refused: ConcurrentChange"]
        assert conflicts > 0, f"add and cancel never met on a complaint: the race was not real {outcomes}"
        for number in numbers:  # a refused cancel is tried again, as the agent told to look again would
            if complaint_detail(app, number)["state"] != "cancelled":
                svc.cancel(app, "sen", number, "withdrawn")
        cancelled = select(COMPLAINTS.c.id).where(COMPLAINTS.c.state == "cancelled")
        with app.uow(write=False) as uow:
            cancelled_with_step = uow.session.execute(
                select(func.count(distinct(STEPS.c.complaint_id))).where(STEPS.c.complaint_id.in_(cancelled))
            ).scalar_one()
        assert cancelled_with_step == outcomes["add done"]
        assert live_on_finished(app) == []
        assert chain_breaks(app) == []
        verify_trail(app)  # and every line of the trail is the one written, linked to the one before
        app.clock.pin(PINNED + timedelta(days=10))
        fire_due(app)  # a later tick finds nothing of a cancelled complaint to escalate
        with app.uow(write=False) as uow:
            escalated = uow.session.execute(
                select(func.count()).select_from(EVENTS)
                .where(EVENTS.c.complaint_id.in_(cancelled), EVENTS.c.trigger == "step_overdue")
            ).scalar_one()
        assert escalated == 0
    finally:
        next(staffed, None)


def test_cancelling_stamps_its_cancelled_steps_with_the_state_after_the_cancel(app):
    number = file_one(app)
    add_step(app, "amy", number, "voucher", amount="10", reason="goodwill")
    svc.cancel(app, "sen", number, "withdrawn")
    stamps = [(e["trigger"], e["from_state"], e["to_state"]) for e in history(app, number)["events"]]
    after = stamps[[trigger for trigger, _, _ in stamps].index("cancel"):]
    # The cancel, then what it caused (its step cancelled, its unsent acknowledgement withdrawn), each stamped
    # with the state after the cancel.
    assert after[0] == ("cancel", "received", "cancelled")
    assert sorted(after[1:]) == [("compensation_cancelled", "cancelled", "cancelled"),
                                 ("messages_withdrawn", "cancelled", "cancelled")]
    assert chain_breaks(app) == []
    verify_trail(app)  # and every line of the trail is the one written, linked to the one before
    with pytest.raises(InvalidTransition, match="cancelled complaint gets no compensation"):
        add_step(app, "amy", number, "voucher", amount="10", reason="goodwill")


def test_a_severity_changed_back_and_forth_fires_no_deadline_twice_and_climbs_no_level(app):
    number = file_one(app, severity="low")
    first_response = next(d for d in complaint_detail(app, number)["sla"]["deadlines"]
                          if d["kind"] == "first_response")
    app.clock.pin(datetime.fromisoformat(first_response["due_at"]))
    fire_due(app)
    level = complaint_detail(app, number)["escalation_level"]
    fired = [e["data"]["deadline"] for e in history(app, number)["events"] if e["actor"] == "scheduler"]
    assert fired == ["first_response_warning", "first_response"] and level == 1
    # The clock stands still from here: nothing may fire again and nothing may climb.
    svc.change_severity(app, "amy", number, "medium", "customer called twice")
    fire_due(app)
    svc.change_severity(app, "sen", number, "low", "calmer now")
    fire_due(app)
    events = history(app, number)["events"]
    fired = [e["data"]["deadline"] for e in events if e["actor"] == "scheduler"]
    assert fired == ["first_response_warning", "first_response"], "a deadline fired twice"
    assert complaint_detail(app, number)["escalation_level"] == level, "the ladder climbed with no time passing"
    pending = {d["kind"] for d in complaint_detail(app, number)["sla"]["deadlines"] if d["pending"]}
    assert {"first_response", "first_response_warning"} & pending == set()
    assert {"resolution", "resolution_warning", "escalation"} <= pending
    assert chain_breaks(app) == []
    verify_trail(app)  # and every line of the trail is the one written, linked to the one before


def test_a_resolved_complaint_closes_only_once_its_steps_are_done_and_a_closed_one_takes_no_new_step(app):
    number = file_one(app, severity="high")  # a high severity plans an apology letter and a follow-up call
    for act in (svc.triage, svc.assign, svc.start):
        act(app, "amy", number)
    svc.resolve(app, "amy", number, "replacement sent")
    version = complaint_detail(app, number)["version"]
    with pytest.raises(InvalidTransition, match="has open compensation steps: apology letter .*; complete or remove"):
        svc.close(app, "amy", number)
    assert complaint_detail(app, number)["version"] == version
    for step in list_steps(app, number):
        complete_step(app, "amy", step["id"], "done")
    svc.close(app, "amy", number)
    with pytest.raises(InvalidTransition, match="is closed; reopen it to add a compensation step"):
        add_step(app, "amy", number, "voucher", amount="10", reason="goodwill")
    assert [s["state"] for s in list_steps(app, number)] == ["done", "done"]
    assert chain_breaks(app) == []
    verify_trail(app)  # and every line of the trail is the one written, linked to the one before


def test_a_warning_that_fired_is_not_rearmed_by_a_severity_change_but_its_pending_breach_is(app):
    number = file_one(app, severity="low")
    warning = next(d for d in complaint_detail(app, number)["sla"]["deadlines"]
                   if d["kind"] == "first_response_warning")
    app.clock.pin(datetime.fromisoformat(warning["due_at"]))
    fire_due(app)
    svc.change_severity(app, "amy", number, "medium", "customer called twice")  # 6h run, medium allows 4h
    fire_due(app)
    fired = [e["data"]["deadline"] for e in history(app, number)["events"] if e["actor"] == "scheduler"]
    assert fired == ["first_response_warning", "first_response"]
    assert complaint_detail(app, number)["escalation_level"] == 1
    assert chain_breaks(app) == []
    verify_trail(app)  # and every line of the trail is the one written, linked to the one before
