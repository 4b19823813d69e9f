"""Time left in business time in the queue, the queue ordered by risk, and a clock that stops when it stops."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import file_one
from workflow.read.queries import complaint_detail, queue
from workflow.services import lifecycle as svc


def _later(app, minutes: float) -> None:
    app.clock.pin(app.clock.now() + timedelta(minutes=minutes))


def _work_and_resolve(app, number: str) -> None:
    svc.triage(app, "sen", number)
    svc.assign(app, "sen", number)
    svc.start(app, "sen", number)
    svc.resolve(app, "sen", number, "refunded")


def test_an_untouched_complaint_near_its_breach_comes_before_a_resolved_one_and_a_calmer_one(app):
    """Friday 10:00 in Shanghai, business hours: a critical complaint resolved at once, a low one filed first
    (8 hours to a first answer), and a critical one filed 9 minutes later that nobody touched: 15 minutes to a
    first answer, so at 10:18 it has 6 left and leads the queue."""
    calm = file_one(app, severity="low", phone="13900000001", name="甲")
    done = file_one(app, severity="critical", phone="13900000002", name="乙")
    _work_and_resolve(app, done)
    _later(app, 9)
    urgent = file_one(app, severity="critical", phone="13900000003", name="丙")
    _later(app, 9)
    rows = queue(app, actor="sup")
    assert [r["number"] for r in rows] == [urgent, calm, done]
    first = rows[0]
    assert first["next_deadline"] == "first_response" and first["remaining_minutes"] == 6.0
    assert (rows[1]["next_deadline"], rows[1]["remaining_minutes"]) == ("first_response", 8 * 60 - 18)
    assert rows[2]["state"] == "resolved"


def test_a_resolved_clock_stops_counting_and_a_closed_one_too(app):
    number = file_one(app, severity="medium")  # Friday 10:00; medium plans no compensation to wait for
    _later(app, 60)
    _work_and_resolve(app, number)
    _later(app, 5 * 60)
    assert complaint_detail(app, number)["sla"]["elapsed_business_minutes"] == 60.0
    svc.close(app, "sen", number)
    _later(app, 3 * 24 * 60)
    assert complaint_detail(app, number)["sla"]["elapsed_business_minutes"] == 60.0
    closed = queue(app, actor="sup", include_closed=True)
    assert [(r["number"], r["remaining_minutes"], r["urgency"]) for r in closed] == [(number, None, None)]


def test_a_complaint_past_a_breach_counts_from_that_breach_after_the_scheduler_fired_it(app):
    """A critical complaint nobody answered: 15 minutes to a first answer, on the always-open calendar. An hour
    after that breach fired and escalated it, the queue and the desk count from the breach (-60 minutes), not to
    the escalation step armed after it."""
    from workflow.read.desk import desk_queue
    from workflow.services.firing import fire_due

    number = file_one(app, severity="critical")
    _later(app, 16)
    assert fire_due(app).fired >= 1  # the warning and the breach: escalated, its next ladder step armed
    _later(app, 59)
    row = next(r for r in queue(app, actor="sup") if r["number"] == number)
    assert (row["next_deadline"], row["remaining_minutes"], row["urgency"]) == ("first_response", -60.0, "breached")
    desk = next(r for r in desk_queue(app, "sup", mine=False) if r["number"] == number)
    assert (desk["next_deadline"], desk["remaining_minutes"]) == ("first_response", -60.0)
