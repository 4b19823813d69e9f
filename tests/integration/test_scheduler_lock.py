"""A delivery pass that is told to stop (the scheduler does, when it loses its lock)."""

from __future__ import annotations

from sqlalchemy import func, select

from notifications.sender import deliver_due
from tests.conftest import file_one
from workflow.models import ATTEMPTS, MESSAGES


def test_a_delivery_pass_told_to_stop_sends_nothing_more_and_leaves_the_rest_pending(app):
    for phone in ("13800138001", "13800138002", "13800138003"):
        file_one(app, phone=phone)  # an acknowledgement each
    asked = []

    def should_stop() -> bool:
        asked.append(True)
        return len(asked) > 2  # asked before claiming, then before each message: stop after the first

    report = deliver_due(app, should_stop=should_stop)
    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    with app.uow(write=False) as uow:
        statuses = sorted(uow.session.execute(select(MESSAGES.c.status, MESSAGES.c.attempts)).all())
        attempts = uow.session.execute(select(func.count()).select_from(ATTEMPTS)).scalar_one()
    assert statuses == [("pending", 0), ("pending", 0), ("sent", 1)] and attempts == 1
    assert deliver_due(app, should_stop=lambda: True).sent == 0
    assert deliver_due(app).sent == 2
