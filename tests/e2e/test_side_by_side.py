"""Three `redress scheduler` processes on one PostgreSQL database, firing 20,000 due deadlines (5,000 in the
default run, to keep CI short; bench/slow_tests.sh runs all 20,000) and delivering
their alerts to a real SMTP server, one of them killed with SIGKILL midway: every deadline fires once, every
alert arrives once (the one the killed process had in flight, if any, is `uncertain` and arrived at most once),
and exactly one scheduler leads the chores at a time."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from tests.e2e.scheduling import Scheduler, counts, engine_app, fast_config, fired_more_than_once, wait_for
from workflow.adapters.models import DEADLINES, EVENTS, MESSAGES
from workflow.services.lifecycle import file_complaint
from workflow.services.people import add_user
from workflow.services.report_mail import PACK

# Four SLA deadlines each: 5,000 deadlines in the default run; bench/slow_tests.sh runs 5,000 complaints (20,000).
COMPLAINTS = int(os.environ.get("REDRESS_SIDE_BY_SIDE_COMPLAINTS", "1250"))
pytestmark = pytest.mark.postgres


def side_by_side_config(tmp_path: Path, port: int) -> Path:
    """Critical complaints whose four SLA deadlines all fall due within 8 s; staff alerts by email only."""
    path = fast_config(tmp_path, resolution="8s")
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["alerts"] = {"channels": [{"type": "email", "host": "127.0.0.1", "port": port}], "fallback_email": None,
                        "staff_hours": {}}
    config["messages"]["email"] = {"type": "email", "host": "127.0.0.1", "port": port}
    config["messages"]["sms"] = None
    config["outbox"] = {"lease_seconds": 3}  # a killed sender's message in flight is settled within seconds
    config["scheduler"] = {"sweep_seconds": 0.5, "batch_size": 200}
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


ALERTS = MESSAGES.c.kind.in_(("sla_warning", "sla_breach", "escalate"))


def staff_alerts(app) -> dict[str, int]:
    """The email alerts' statuses, counted."""
    with app.uow(write=False) as uow:
        rows = uow.session.execute(
            select(MESSAGES.c.status, func.count()).where(ALERTS).group_by(MESSAGES.c.status)).all()
    return {status: count for status, count in rows}


def test_three_schedulers_fire_and_send_everything_once_while_one_is_killed(tmp_path, postgres_url, smtp):
    inbox, port = smtp
    config = side_by_side_config(tmp_path, port)
    app = engine_app(config, postgres_url)
    add_user(app, None, "boss", "manager", email="boss@example.cn")
    add_user(app, "boss", "sup", "supervisor", email="sup@example.cn")
    add_user(app, "boss", "sen", "senior", email="sen@example.cn")
    started = time.monotonic()
    for i in range(COMPLAINTS):
        file_complaint(app, "boss", channel="phone", category="delivery", summary="late",
                       phone=f"139{i:08d}", name="客户", severity="critical")
    filed = time.monotonic() - started
    time.sleep(8.5)  # every deadline is due: the schedulers start on a backlog of 4 x COMPLAINTS
    with app.uow(write=False) as uow:
        due = uow.session.execute(select(func.count()).select_from(DEADLINES)
                                  .where(DEADLINES.c.fired_at.is_(None), DEADLINES.c.cancelled_at.is_(None))
                                  ).scalar_one()
    assert due == 4 * COMPLAINTS

    schedulers = [Scheduler(config, postgres_url) for _ in range(3)]
    started = time.monotonic()
    try:
        assert wait_for(lambda: all(s.said("beside any other schedulers") for s in schedulers), 30)
        # Midway through firing (and sending, which starts with the first batch): one is killed mid-batch.
        assert wait_for(lambda: counts(app)[0] >= 2 * COMPLAINTS, 300), staff_alerts(app)
        victim = schedulers[0]
        victim.kill()
        killed_at = (counts(app)[0], len(inbox.received))
        assert wait_for(lambda: counts(app)[2] == 0 and staff_alerts(app).keys() <= {"sent", "uncertain"}, 900), (
            counts(app), staff_alerts(app))
        print(f"filed in {filed:.0f}s; killed one at {killed_at[0]} fired, {killed_at[1]} sent; all fired and sent "
              f"{time.monotonic() - started:.0f}s after the start")
        survivors = schedulers[1:]
        assert all(s.alive() for s in survivors)
        leaders = [s for s in survivors if s.said("leads the chores")]
        assert leaders, [s.lines[-5:] for s in survivors]
    finally:
        outputs = [s.stop() for s in schedulers]

    fired, events, pending = counts(app)
    assert (fired, events, pending) == (4 * COMPLAINTS, 4 * COMPLAINTS, 0)
    assert fired_more_than_once(app) == []
    with app.uow(write=False) as uow:
        by_scheduler = uow.session.execute(select(func.count()).select_from(EVENTS)
                                           .where(EVENTS.c.actor == "scheduler")).scalar_one()
        keys = {f"<{key}@redress>": status for key, status in uow.session.execute(
            select(MESSAGES.c.idempotency_key, MESSAGES.c.status).where(ALERTS))}
        packs = uow.session.execute(select(func.count()).select_from(MESSAGES)
                                    .where(MESSAGES.c.kind == PACK)).scalar_one()
    assert packs <= 1  # a chore of the leader: the month's pack (when due) is queued once, not by each scheduler
    assert by_scheduler == 4 * COMPLAINTS
    statuses = staff_alerts(app)
    assert sum(statuses.values()) == 4 * COMPLAINTS and statuses.get("uncertain", 0) <= 1, statuses
    kept = inbox.kept()
    for key, status in keys.items():
        assert kept[key] == 1 if status == "sent" else kept[key] <= 1, (key, status, kept[key])
    assert sum(kept.values()) == len(inbox.received)  # nothing the server kept is unaccounted for
    assert all(s.said("scheduler: fired") for s in schedulers[1:])  # the work was shared
    assert all("Traceback" not in output for output in outputs)
