"""The real `redress scheduler` beside poisoned rows: every good deadline fires, the bad one is set aside."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from tests.e2e.scheduling import Scheduler, engine_app, fast_config, wait_for
from workflow.adapters.models import COMPLAINTS, DEADLINES
from workflow.domain.clock import Clock
from workflow.services.failed_deadlines import list_failed
from workflow.services.lifecycle import file_complaint
from workflow.services.people import add_user


def file_at(app, moment: datetime, phone: str, severity: str) -> str:
    app.clock = Clock(moment)
    return file_complaint(app, "boss", channel="phone", category="delivery", summary="late", phone=phone,
                          name="客户", severity=severity).number


def pending_due(app, numbers: list[str]) -> int:
    with app.uow(write=False) as uow:
        return uow.session.execute(
            select(func.count()).select_from(DEADLINES).join(COMPLAINTS, COMPLAINTS.c.id == DEADLINES.c.complaint_id)
            .where(COMPLAINTS.c.number.in_(numbers), DEADLINES.c.fired_at.is_(None),
                   DEADLINES.c.cancelled_at.is_(None), DEADLINES.c.due_at <= datetime.now(UTC))
        ).scalar_one()


def test_a_years_old_clock_and_a_failing_row_do_not_stop_two_hundred_good_complaints(tmp_path, sqlite_url):
    config = fast_config(tmp_path)
    app = engine_app(config, sqlite_url)
    add_user(app, None, "boss", "manager")
    now = datetime.now(UTC)
    good = [file_at(app, now - timedelta(hours=3), f"139{i:08d}", "critical") for i in range(200)]
    # Business hours, started three and a half years ago: every deadline long past.
    ancient = file_at(app, datetime(2023, 5, 2, 2, 0, tzinfo=UTC), "13700000001", "medium")
    broken = file_at(app, now - timedelta(hours=3), "13700000002", "critical")
    with app.engine.begin() as connection:  # written under an older config that had this severity
        connection.execute(update(COMPLAINTS).where(COMPLAINTS.c.number == broken).values(severity="retired"))
    assert pending_due(app, good) == 800  # both warnings and both breaches of each
    scheduler = Scheduler(config, sqlite_url)
    try:
        assert wait_for(lambda: pending_due(app, good + [ancient]) == 0, 30)
        assert wait_for(lambda: any(row["complaint"] == broken for row in list_failed(app)), 10)
    finally:
        output = scheduler.stop()
    assert "Traceback" not in output
    assert "failed to fire; kept with their errors for another try (`redress deadlines failed`)" in output
    failed = [row for row in list_failed(app) if row["complaint"] == broken]
    assert sorted(row["kind"] for row in failed) == ["first_response", "resolution"]  # its two breaches
    assert all(row["status"] == "retrying" and "severity 'retired' has no SLA policy" in row["error"]
               for row in failed)
    assert [row for row in list_failed(app) if row["complaint"] != broken] == []
    assert pending_due(app, [broken]) >= 1  # still waiting, for its retry or an operator
