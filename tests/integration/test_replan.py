"""Changing policy keeps time used: `sla replan` re-plans running clocks under a new config.yaml."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import file_one
from workflow.adapters.records import load_complaint
from workflow.config import Config
from workflow.domain.errors import PermissionDenied
from workflow.domain.sla import add_business_time, plan_for
from workflow.read.explain import explain
from workflow.read.queries import complaint_detail, history
from workflow.services import clocks
from workflow.services import lifecycle as svc
from workflow.services.replan import replan
from workflow.services.supervision import extend_deadline

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # Friday 10:00 in Shanghai
SHANGHAI = timedelta(hours=8)


def local(y: int, mo: int, d: int, h: int, mi: int = 0) -> str:
    return (datetime(y, mo, d, h, mi, tzinfo=UTC) - SHANGHAI).isoformat()


def change_config(app, *, policy: dict | None = None, closed: list[str] | None = None) -> Config:
    """Load a changed config.yaml into the running app; the config before it is returned."""
    was = app.config
    policies = {name: p.model_copy(update=policy or {}) if name == "medium" else p
                for name, p in was.sla.policies.items()}
    days = [date.fromisoformat(day) for day in closed or []]
    calendars = {name: c.model_copy(update={"closed_dates": days}) if days and name == "business" else c
                 for name, c in was.calendars.items()}
    app.config = was.model_copy(update={"sla": was.sla.model_copy(update={"policies": policies}),
                                        "calendars": calendars})
    app._calendars.clear()
    return was


def pending(app, number: str) -> dict[str, tuple[float | None, str | None]]:
    return {d["kind"]: (d["remaining_business_minutes"], d["due_at"])
            for d in complaint_detail(app, number)["sla"]["deadlines"]
            if d["pending"] and d["kind"] in clocks.SLA_KINDS}


def answered(app) -> str:
    """A medium complaint (business hours, resolution 18h) filed and answered Friday 10:00."""
    app.clock.pin(T0)
    number = file_one(app, severity="medium")
    for step in (svc.triage, svc.assign, svc.start):
        step(app, "amy", number)
    svc.respond(app, "amy", number, "looking into it")
    return number


def test_a_shorter_target_keeps_the_three_hours_used_and_moves_only_what_is_left(app):
    number = answered(app)
    app.clock.pin(T0 + timedelta(hours=3))  # Friday 13:00: 3 business hours used
    change_config(app, policy={"resolution": 12 * 60})
    before = pending(app, number)
    assert before["resolution"][1] == local(2026, 11, 24, 10)  # 18h: Friday 8h, Monday 9h, Tuesday 1h

    dry = replan(app, "boss", dry_run=True)
    assert (dry.checked, [r.number for r in dry.replanned]) == (1, [number])
    [done] = dry.replanned
    assert done.used_minutes == 180.0
    assert [(m.kind, m.from_target, m.to_target) for m in done.moves] == [
        ("resolution_warning", 810.0, 540.0), ("resolution", 1080.0, 720.0)]
    assert pending(app, number) == before and history(app, number)["events"][-1]["trigger"] == "respond"

    version = complaint_detail(app, number)["version"]
    replan(app, "boss", dry_run=False)
    after = pending(app, number)
    assert after["resolution"] == (540.0, local(2026, 11, 23, 13))  # 9h left: Friday 13-18, Monday 09-13
    assert after["resolution_warning"] == (360.0, local(2026, 11, 23, 10))
    detail = complaint_detail(app, number)
    assert detail["sla"]["elapsed_business_minutes"] == 180.0 and detail["version"] == version + 1
    event = history(app, number)["events"][-1]
    assert (event["trigger"], event["actor"], event["data"]["used_minutes"]) == ("sla_replan", "boss", 180.0)
    assert [m["to_due"] for m in event["data"]["moves"]] == [local(2026, 11, 23, 10), local(2026, 11, 23, 13)]
    [resolution] = explain(app, number, deadline="resolution")["deadlines"]
    assert resolution["replayed_due_at"] == resolution["due_at"]  # the explanation knows the re-plan
    assert replan(app, "boss", dry_run=False).replanned == []  # nothing left to move


def test_a_closed_day_added_to_the_calendar_does_not_take_back_time_already_used(app):
    number = answered(app)
    app.clock.pin(T0 + timedelta(hours=3))
    was = change_config(app, closed=["2026-11-20"])  # today, Friday, declared a company day off
    without = replan(app, "boss", dry_run=True)
    assert without.replanned[0].used_minutes == 0.0  # counted on today's calendars, Friday's 3h are gone
    assert "no previous config.yaml given" in without.counted_on
    kept = replan(app, "boss", dry_run=False, previous=was)
    assert kept.replanned[0].used_minutes == 180.0
    # 15h left from Friday 13:00 on the new calendar: Monday 9h, Tuesday 09:00-15:00.
    assert pending(app, number)["resolution"][1] == local(2026, 11, 24, 15)
    assert complaint_detail(app, number)["sla"]["elapsed_business_minutes"] == 180.0


def test_a_paused_clock_is_re_planned_when_it_runs_again(app):
    number = answered(app)
    app.clock.pin(T0 + timedelta(hours=1))
    svc.wait_for_customer(app, "amy", number, "photos please", reason="photos_or_documents")
    app.clock.pin(T0 + timedelta(hours=2))
    change_config(app, policy={"resolution": 10 * 60})
    [done] = replan(app, "boss", dry_run=False).replanned
    assert done.used_minutes == 60.0 and all(m.to_due is None for m in done.moves)
    assert pending(app, number)["resolution"] == (540.0, None)  # frozen at the pause: 10h - 1h
    app.clock.pin(T0 + timedelta(days=3))  # Monday 10:00
    svc.customer_replied(app, "amy", number)
    assert pending(app, number)["resolution"][1] == local(2026, 11, 24, 10)  # 9h on: Monday 10-18, Tuesday 9-10


def test_a_severity_change_keeps_a_supervisors_extension(app):
    number = answered(app)
    extend_deadline(app, "sup", number, "1h", "waiting on the courier")
    app.clock.pin(T0 + timedelta(hours=1))
    svc.change_severity(app, "amy", number, "high", "the customer threatens the press")
    rows = [d for d in complaint_detail(app, number)["sla"]["deadlines"] if d["pending"] and d["kind"] == "resolution"]
    assert rows[0]["remaining_business_minutes"] == 8 * 60 + 60 - 60  # high's 8h, plus the hour given, less 1h used


def test_the_command_line_lists_the_moves_as_json(app, database_url, tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    import yaml

    from tests.conftest import CONFIG

    answered(app)
    settings = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    settings["sla"]["policies"]["medium"]["resolution"] = "12h"
    settings["policy_manual"] = str(CONFIG.parent / "policy_manual.yaml")
    new = tmp_path / "new.yaml"
    new.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    redress = Path(sys.executable).parent / "redress"
    shown = subprocess.run([str(redress), "--config", str(new), "--db", database_url, "sla", "replan", "--dry-run",
                            "--was", str(CONFIG), "--json", "--as", "boss"], capture_output=True, text=True,
                           env={"PATH": "/usr/bin:/bin", "REDRESS_NOW": "2026-11-20T13:00:00+08:00"}, timeout=60)
    assert shown.returncode == 0, shown.stderr
    [done] = json.loads(shown.stdout)["replanned"]
    assert [(m["kind"], m["to_due"]) for m in done["moves"]] == [
        ("resolution_warning", local(2026, 11, 23, 10)), ("resolution", local(2026, 11, 23, 13))]


def test_only_a_manager_re_plans(app):
    with pytest.raises(PermissionDenied, match="re-planning the clocks needs manager or above"):
        replan(app, "sup")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ran=st.integers(0, 5 * 24 * 60), paused_after=st.none() | st.integers(0, 600),
       resolution=st.integers(60, 40 * 60), closed_days=st.lists(st.integers(0, 10), max_size=3))
def test_a_replan_never_loses_used_time(app, ran, paused_after, resolution, closed_days):
    number = answered(app)
    if paused_after is not None and paused_after < ran:
        app.clock.pin(T0 + timedelta(minutes=paused_after))
        svc.wait_for_customer(app, "amy", number, "photos please", reason="photos_or_documents")
    now = T0 + timedelta(minutes=ran)
    app.clock.pin(now)
    with app.uow(write=False) as uow:
        complaint = load_complaint(uow.session, number)
        used = clocks.elapsed(app, complaint, plan_for(app.config, "medium", "registered"), now)
    closed = [(T0 + timedelta(days=d)).strftime("%Y-%m-%d") for d in closed_days]
    was = change_config(app, policy={"resolution": float(resolution)}, closed=closed)
    try:
        replan(app, "boss", dry_run=False, previous=was)
        with app.uow(write=False) as uow:
            complaint = load_complaint(uow.session, number)
            plan = plan_for(app.config, "medium", "registered")
            assert clocks.elapsed(app, complaint, plan, now) == pytest.approx(used, abs=1e-6)
        left = pending(app, number)["resolution"]
        if left[1] is not None and resolution <= used:  # overdue: due at the next working minute, or already
            assert datetime.fromisoformat(left[1]) <= add_business_time(now, 0.0, app.calendar("business"))
        else:  # what is left (paused: or what is owed)
            assert left[0] == pytest.approx(round(resolution - used, 1), abs=0.11)
            if left[1] is not None:
                due = add_business_time(now, max(resolution - used, 0.0), app.calendar("business"))
                assert left[1] == due.isoformat()
    finally:
        app.config = was
        app._calendars.clear()
