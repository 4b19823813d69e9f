"""`redress explain`: a hand-worked deadline told stretch by stretch, and random histories that always replay to
the stored due times (real SQLite, the real services, the clock moved by hand)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import file_one
from workflow.domain.errors import InvalidInput, InvalidTransition, PermissionDenied
from workflow.read.explain import explain
from workflow.services import lifecycle as svc
from workflow.services.firing import fire_due
from workflow.services.supervision import extend_deadline

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(text: str) -> datetime:
    """'2026-09-18 17:30' in Shanghai, as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(UTC)


def at(app, text: str) -> None:
    app.clock.pin(local(text))


def _lines(deadline: dict) -> list[tuple]:
    """Each line as (type, local start or day, local end, minutes or why)."""
    told = []
    for line in deadline["lines"]:
        if line["type"] == "skipped":
            told.append(("skipped", line["day"], line["why"]))
            continue
        start = datetime.fromisoformat(line["start"]).astimezone(SHANGHAI).strftime("%m-%d %H:%M")
        end = line["end"] and datetime.fromisoformat(line["end"]).astimezone(SHANGHAI).strftime("%m-%d %H:%M")
        told.append((line["type"], start, end,
                     line["minutes"] if line["type"] == "counted" else line["business_minutes"]))
    return told


def test_a_friday_evening_complaint_across_weekends_two_pauses_a_severity_change_an_extension_and_a_holiday(sqlite_app):
    """Worked by hand on the shipped `business` calendar (09:00-18:00 Mon-Fri, China's holidays): a silver
    member (factor 0.9), low then medium. Medium's resolution target is 18h x 0.9 = 972 minutes, plus a 60-minute
    extension: 1,032. Counted: Fri 17:30-18:00 (30), Sun 20th 09:00-11:00 (an adjusted working day, 120: 150),
    paused till Mon 14:00, Mon 14:00-18:00 (240: 390), Tue 09:00-10:00 (60: 450) and, medium now, 10:00-15:00
    (300: 750), paused till Thu 16:00, Thu 16:00-18:00 (120: 870); Fri 25th is the Mid-Autumn Festival and
    the weekend follows; Mon 28th 09:00 + 162 = 11:42."""
    app = sqlite_app
    at(app, "2026-09-18 17:30")  # a Friday evening
    number = file_one(app, severity="low", tier="silver", phone="13900000001", name="赵六")
    at(app, "2026-09-20 10:00")  # Sunday, worked instead of the National Day holiday
    svc.triage(app, "amy", number)
    svc.assign(app, "amy", number)
    svc.start(app, "amy", number)
    svc.respond(app, "amy", number, "we are looking into it")
    at(app, "2026-09-20 11:00")
    svc.wait_for_customer(app, "amy", number, "photos of the parcel please", reason="photos_or_documents")
    at(app, "2026-09-21 14:00")
    svc.customer_replied(app, "amy", number, "photos sent")
    at(app, "2026-09-22 10:00")
    svc.change_severity(app, "amy", number, "medium", "second parcel late too")
    at(app, "2026-09-22 15:00")
    svc.wait_for_customer(app, "amy", number, "the courier's reference please", reason="photos_or_documents")
    at(app, "2026-09-24 16:00")
    svc.customer_replied(app, "amy", number, "reference given")
    at(app, "2026-09-24 16:30")
    extend_deadline(app, "sup", number, "1h", "courier promised a call back")

    told = explain(app, number, "resolution")
    [resolution] = told["deadlines"]
    assert resolution["target_minutes"] == 1032
    assert resolution["policy"]["policy_minutes"] == 972.0
    assert resolution["policy"]["tier_factor"] == 0.9
    assert [c["by_minutes"] for c in resolution["policy"]["extensions"]] == [60.0]
    assert resolution["policy"]["matches_policy"]
    assert _lines(resolution) == [
        ("counted", "09-18 17:30", "09-18 18:00", 30.0),
        ("skipped", "2026-09-19", "no working hours on Saturdays"),
        ("counted", "09-20 09:00", "09-20 11:00", 120.0),
        ("paused", "09-20 11:00", "09-21 14:00", 7 * 60 + 5 * 60),
        ("counted", "09-21 14:00", "09-21 18:00", 240.0),
        ("counted", "09-22 09:00", "09-22 10:00", 60.0),
        ("counted", "09-22 10:00", "09-22 15:00", 300.0),
        ("paused", "09-22 15:00", "09-24 16:00", 3 * 60 + 9 * 60 + 7 * 60),
        ("counted", "09-24 16:00", "09-24 18:00", 120.0),
        ("skipped", "2026-09-25", "holiday: Mid-Autumn Festival"),
        ("skipped", "2026-09-26", "no working hours on Saturdays"),
        ("skipped", "2026-09-27", "no working hours on Sundays"),
        ("counted", "09-28 09:00", "09-28 11:42", 162.0),
    ]
    assert resolution["lines"][2]["note"] == "adjusted working day"
    assert resolution["lines"][3]["reason"] == "photos_or_documents: photos of the parcel please"
    assert resolution["lines"][3]["by"] == "amy"
    assert sum(line["minutes"] for line in resolution["lines"] if line["type"] == "counted") == 1032
    assert resolution["replayed_due_at"] == local("2026-09-28 11:42").isoformat()
    assert resolution["due_at"] == resolution["replayed_due_at"] and resolution["agrees"]
    assert [change["what"] for change in told["changes"]] == ["severity", "extension"]
    assert told["changes"][1]["by"] == "sup"

    # The warning: medium's 972 x 0.75 = 729 minutes, moved by the extension too: 789, that is 750 by Tuesday
    # 15:00 and 39 more from Thursday 16:00.
    [warning] = explain(app, number, "resolution_warning")["deadlines"]
    assert warning["target_minutes"] == 789 and warning["policy"]["policy_minutes"] == 729 and warning["agrees"]
    assert warning["replayed_due_at"] == local("2026-09-24 16:39").isoformat()


def test_a_paused_clock_says_what_is_left_and_has_no_due_time(sqlite_app):
    app = sqlite_app
    number = file_one(app, severity="high")  # Friday 10:00; high: 8h to resolve
    svc.triage(app, "amy", number)
    svc.assign(app, "amy", number)
    svc.start(app, "amy", number)
    app.clock.pin(app.clock.now() + timedelta(hours=2))
    svc.wait_for_customer(app, "amy", number, "order number please", reason="photos_or_documents")
    app.clock.pin(app.clock.now() + timedelta(days=3))
    [resolution] = explain(app, number, "resolution")["deadlines"]
    assert resolution["status"] == "paused" and resolution["due_at"] is None
    assert resolution["replayed_due_at"] is None and resolution["agrees"]
    assert resolution["counted_minutes"] == 120 and resolution["left_minutes"] == 8 * 60 - 120
    assert resolution["lines"][-1]["type"] == "paused" and resolution["lines"][-1]["end"] is None


def test_an_unknown_deadline_kind_is_refused_naming_the_kinds(sqlite_app):
    number = file_one(sqlite_app)
    with pytest.raises(InvalidInput, match="deadline 'resolve' is not a kind; kinds: first_response_warning"):
        explain(sqlite_app, number, "resolve")


COMMANDS = {
    "triage": lambda app, n: svc.triage(app, "amy", n),
    "take": lambda app, n: svc.assign(app, "amy", n),
    "start": lambda app, n: svc.start(app, "amy", n),
    "respond": lambda app, n: svc.respond(app, "amy", n, "on it"),
    "wait": lambda app, n: svc.wait_for_customer(app, "amy", n, "photos please", reason="photos_or_documents"),
    "replied": lambda app, n: svc.customer_replied(app, "amy", n, "photos sent"),
    "route": lambda app, n: svc.route(app, "amy", n, "仓储部", "check stock"),
    "feedback": lambda app, n: svc.owner_feedback(app, "amy", n, "found"),
    "resolve": lambda app, n: svc.resolve(app, "amy", n, "replacement sent"),
    "reopen": lambda app, n: svc.reopen(app, "amy", n, "called back"),
    "raise": lambda app, n: svc.change_severity(app, "sen", n, "critical", "furious"),
    "lower": lambda app, n: svc.change_severity(app, "sen", n, "low", "calmer"),
    "medium": lambda app, n: svc.change_severity(app, "sen", n, "medium", "as it is"),
    "extend": lambda app, n: extend_deadline(app, "sup", n, "90m", "waiting on the courier"),
    "fire": lambda app, n: fire_due(app),
}

histories = st.lists(st.tuples(st.sampled_from(sorted(COMMANDS)), st.integers(0, 3 * 24 * 60)), max_size=20)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories, start=st.integers(0, 7 * 24 * 60))
def test_any_history_replays_to_every_stored_due_time_and_never_counts_a_pause(sqlite_app, history, start):
    app = sqlite_app
    app.clock.pin(datetime(2026, 9, 14, tzinfo=UTC) + timedelta(minutes=start))
    number = file_one(app, severity="medium", tier="gold", phone=f"1390000{start:04d}"[-11:])
    for command, minutes_later in history:
        app.clock.pin(app.clock.now() + timedelta(minutes=minutes_later))
        try:
            COMMANDS[command](app, number)
        except (InvalidTransition, PermissionDenied, InvalidInput):
            pass
    told = explain(app, number)
    assert "problem" not in told
    for deadline in told["deadlines"]:
        assert deadline["agrees"], (deadline["kind"], deadline["due_at"], deadline["replayed_due_at"])
        counted = [line for line in deadline["lines"] if line["type"] == "counted"]
        if deadline["replayed_due_at"] is not None:
            assert sum(line["minutes"] for line in counted) == pytest.approx(deadline["target_minutes"], abs=0.1)
        gaps = [(line["start"], line["end"]) for line in deadline["lines"] if line["type"] in ("paused", "stopped")]
        for line in counted:
            for gap_start, gap_end in gaps:
                assert line["end"] <= gap_start or (gap_end is not None and line["start"] >= gap_end)
