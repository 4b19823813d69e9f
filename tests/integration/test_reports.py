"""Every report figure of a hand-worked month (tests/report_month.py), on SQLite and PostgreSQL.

The arithmetic is in the comments: business minutes on the 09:00-18:00 calendar, nearest-rank percentiles
(the value at rank ceil(p/100 * n) of the sorted values).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import _staffed, fresh_postgres
from tests.report_month import work_the_month
from workflow.domain.errors import InvalidInput, NotFound, PermissionDenied
from workflow.read.reports import report


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def month(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """The hand-worked month, worked once per database for the module: reports only read it."""
    database = (iter([f"sqlite:///{tmp_path_factory.mktemp('month') / 'redress.db'}"]) if request.param == "sqlite"
                else fresh_postgres())
    url = next(database)
    staffed = _staffed(url)
    app = next(staffed)
    yield app, work_the_month(app)
    staffed.close()
    next(database, None)  # drops the PostgreSQL database


def figures(app, name, **options):
    data = report(app, "boss", name, month="2026-11", **options)
    return data["figures"], data["tables"]


def by(rows, key):
    return {row[key]: {k: v for k, v in row.items() if k != key} for row in rows}


def test_sla_compliance_of_the_month_worked_by_hand(month):
    app, _ = month
    shown, tables = figures(app, "sla")
    # First responses (business minutes): k1 60, k2 300 (breached at Mon 13:00), wait 30, high 30, k4 600
    # (Tue 09:00 to Wed 10:00; breached), k11 30, k12 30, k5 30, k6 30, k7 0 (answered on the line);
    # k8 was cancelled and k10 is not answered yet. Sorted: 0 30 30 30 30 30 30 60 300 600; p50 = rank 5,
    # p90 = rank 9.
    # Resolutions of complaints now resolved or closed: k1 120, k2 420 + 540 after its reopen = 960, high 120
    # (its 480-minute wait left out), k4 660, k11 1200 (breached Fri 09:00), k12 60 + 90 = 150, k7 0. Sorted:
    # 0 120 120 150 660 960 1200; p50 = rank 4, p90 = rank 7.
    # Escalated: k2 (Mon 13:00 to its close Wed 10:00, 45 h), k4 (Wed 09:00-11:00, 2 h), k11 (Fri 09:00-11:00,
    # 2 h), k6 (its refund overdue Fri 10:00, open at 17:00: 7 h). Sorted 2 2 7 45: p50 rank 2, p90 rank 4.
    assert shown == {
        "filed": 12, "first_response_met": 8, "first_response_breached": 2, "first_response_met_share": 0.8,
        "resolution_met": 6, "resolution_breached": 1, "resolution_met_share": 6 / 7,
        "first_response_p50": 30.0, "first_response_p90": 300.0, "resolution_p50": 150.0, "resolution_p90": 1200.0,
        "escalated": 4, "escalated_hours": 56.0, "escalated_hours_p50": 2.0, "escalated_hours_p90": 45.0}
    # medium: k1 k2 k11 k12 k8 k10; low: wait k4 k5 k6 k7; high: the damaged one. No critical complaint.
    assert by(tables["by_severity"], "severity") == {
        "high": {"filed": 1, "first_response_met": 1, "first_response_breached": 0, "first_response_met_share": 1.0,
                 "resolution_met": 1, "resolution_breached": 0, "resolution_met_share": 1.0,
                 "first_response_p50": 30.0, "first_response_p90": 30.0, "resolution_p50": 120.0,
                 "resolution_p90": 120.0},
        # first responses 0 30 30 30 600; resolutions 0 (k7) 660 (k4)
        "low": {"filed": 5, "first_response_met": 4, "first_response_breached": 1, "first_response_met_share": 0.8,
                "resolution_met": 2, "resolution_breached": 0, "resolution_met_share": 1.0,
                "first_response_p50": 30.0, "first_response_p90": 600.0, "resolution_p50": 0.0,
                "resolution_p90": 660.0},
        # first responses 30 30 60 300; resolutions 120 150 960 1200
        "medium": {"filed": 6, "first_response_met": 3, "first_response_breached": 1,
                   "first_response_met_share": 0.75, "resolution_met": 3, "resolution_breached": 1,
                   "resolution_met_share": 0.75, "first_response_p50": 30.0, "first_response_p90": 300.0,
                   "resolution_p50": 150.0, "resolution_p90": 1200.0}}
    tiers = by(tables["by_tier"], "tier")
    assert {tier: row["filed"] for tier, row in tiers.items()} == {"bronze": 1, "registered": 10, "silver": 1}
    # registered first responses 0.. : 30 30 30 30 30 60 300 600 (k7 is silver, high is bronze): p90 rank 8
    assert (tiers["registered"]["first_response_p50"], tiers["registered"]["first_response_p90"]) == (30.0, 600.0)
    channels = by(tables["by_channel"], "channel")
    assert (channels["web"]["first_response_breached"], channels["phone"]["resolution_breached"]) == (1, 1)
    days = {row["day"]: row["filed"] for row in tables["by_day"]}
    assert len(days) == 30 and sum(days.values()) == 12
    assert {d: f for d, f in days.items() if f} == {"2026-11-02": 4, "2026-11-03": 1, "2026-11-04": 2,
                                                     "2026-11-05": 2, "2026-11-06": 3}
    assert by(tables["by_day"], "day")["2026-11-02"]["first_response_met_share"] == 0.75  # k2 breached of 4
    assert tables["escalations"] == [{"level": "senior", "complaints": 4}, {"level": "supervisor", "complaints": 0},
                                     {"level": "manager", "complaints": 0}]


def test_each_agents_month_beside_the_team_median(month):
    app, _ = month
    shown, tables = figures(app, "agents")
    assert shown == {"agents_counted": 3}
    agents = by(tables["agents"], "agent")
    # amy: k1 k2 wait k4 k6, and k7 she answered on the line. Closed k1 k2 k4 k7. First responses 0 30 30 60 300
    # 600: median rank 3. Breaches: k2 and k4 (first response). Resolved k1 k2 k4 k7, k2 reopened: 1/4.
    # Her wait on the customer (Mon 10:00, still open at Fri 17:00): 480 + 3 x 540 + 480 = 2580 minutes.
    # Scores for her: 5 and 2. Steps on her complaints: k2's follow-up call and k6's voucher done; k6's refund
    # (due Fri 10:00) overdue and stalled; k6's gift rejected.
    assert agents["amy"] == {"handled": 6, "closed": 4, "first_contact": 1, "first_response_p50": 30.0,
                             "breaches": 2, "reopened_share": 0.25, "paused_minutes": 2580.0, "satisfaction": 3.5,
                             "answers": 2, "steps_done": 2, "steps_overdue": 1, "refunds_stalled": 1}
    # bob: high, k11, k5; k11's resolution breached; the wait Mon 11:00 to Tue 10:00 held 420 + 60 minutes.
    assert agents["bob"] == {"handled": 3, "closed": 2, "first_contact": 0, "first_response_p50": 30.0,
                             "breaches": 1, "reopened_share": 0.0, "paused_minutes": 480.0, "satisfaction": 4.0,
                             "answers": 1, "steps_done": 1, "steps_overdue": 0, "refunds_stalled": 0}
    assert agents["sen"] == {"handled": 1, "closed": 1, "first_contact": 0, "first_response_p50": 30.0,
                             "breaches": 0, "reopened_share": 1.0, "paused_minutes": None, "satisfaction": 1.0,
                             "answers": 1, "steps_done": 1, "steps_overdue": 0, "refunds_stalled": 0}
    # the middle of amy, bob and sen; paused time only amy and bob have: (2580 + 480) / 2
    assert tables["team_median"] == [{"handled": 3.0, "closed": 2.0, "first_contact": 0.0,
                                      "first_response_p50": 30.0, "breaches": 1.0, "reopened_share": 0.25,
                                      "paused_minutes": 1530.0, "satisfaction": 3.5, "answers": 1.0,
                                      "steps_done": 1.0, "steps_overdue": 0.0, "refunds_stalled": 0.0}]
    only_bob, tables = figures(app, "agents", agent="bob")
    assert [row["agent"] for row in tables["agents"]] == ["bob"] and tables["team_median"][0]["handled"] == 3.0


def test_satisfaction_scores_response_rate_and_verbatims(month):
    app, n = month
    shown, tables = figures(app, "satisfaction")
    # Scores: k1 5, k2 2, high 4, k12 1. Surveys sent: k1 k2 high k4 k12 k11 k7 (seven), four answered.
    assert shown == {"answers": 4, "average": 3.0, "surveys_sent": 7, "surveys_answered": 4,
                     "response_rate": 4 / 7, "low_scores": 2}
    assert [(row["score"], row["answers"]) for row in tables["distribution"]] == [(1, 1), (2, 1), (3, 0), (4, 1),
                                                                                  (5, 1)]
    assert by(tables["by_agent"], "agent") == {"amy": {"answers": 2, "average": 3.5, "low": 1},
                                               "bob": {"answers": 1, "average": 4.0, "low": 0},
                                               "sen": {"answers": 1, "average": 1.0, "low": 1}}
    assert by(tables["by_tier"], "tier")["registered"] == {"answers": 3, "average": 8 / 3, "low": 2}
    assert [(row["complaint"], row["score"], row["comment"]) for row in tables["verbatims"]] == [
        (n["k12"], 1, "<b>太差</b> 再也不买了\x1b[31m"), (n["k2"], 2, "回复太慢了")]


def test_compensation_spend_approvers_and_overdue_steps(month):
    app, n = month
    shown, tables = figures(app, "compensation")
    # Steps: high's replacement, k2's and k12's follow-up calls (all done); k6's refund 30 (open, due Fri 10:00),
    # voucher 100 (approved by sup after 2 h, done) and gift 500 (rejected by boss after 6 h).
    assert shown == {"steps": 6, "done": 4, "spent": 10000, "committed": 3000, "overdue": 1, "refunds_stalled": 1}
    assert [(row["kind"], row["steps"], row["done"], row["spent"], row["committed"]) for row in tables["by_kind"]] == [
        ("replacement", 1, 1, 0, 0), ("refund", 1, 0, 0, 3000), ("voucher", 1, 1, 10000, 0), ("gift", 1, 0, 0, 0),
        ("follow_up_call", 2, 2, 0, 0)]
    assert by(tables["by_approver"], "approver") == {
        "boss": {"approved": 0, "rejected": 1, "currency": "CNY", "approved_amount": 0, "turnaround_p50": 6.0,
                 "turnaround_p90": 6.0},
        "sup": {"approved": 1, "rejected": 0, "currency": "CNY", "approved_amount": 10000, "turnaround_p50": 2.0,
                "turnaround_p90": 2.0}}
    [late] = tables["overdue"]
    assert (late["complaint"], late["kind"], late["amount"], late["late_hours"], late["agent"]) == (
        n["k6"], "refund", 3000, 7.0, "amy")


def test_backlog_now_and_at_the_end_of_each_day(month):
    app, _ = month
    shown, tables = figures(app, "backlog")
    # Open at Fri 17:00: the wait (filed Mon, 4 days), k5 and k6 (Thu, 1 day; k6 at senior), k10 (today).
    assert shown == {"open_now": 4, "escalated_now": 1}
    assert by(tables["now_by_state"], "state") == {
        "received": {"agent": 1, "senior": 0, "supervisor": 0, "manager": 0, "total": 1},
        "in_progress": {"agent": 1, "senior": 1, "supervisor": 0, "manager": 0, "total": 2},
        "waiting_customer": {"agent": 1, "senior": 0, "supervisor": 0, "manager": 0, "total": 1}}
    assert by(tables["now_by_age"], "age") == {"under_1d": {"open": 1}, "1_3d": {"open": 2}, "3_7d": {"open": 1},
                                               "7_14d": {"open": 0}, "14_30d": {"open": 0}, "over_30d": {"open": 0}}
    # End of each day, from filing and (last) closing days: Mon k2 wait high; Tue k2 wait (1 day) k4; Wed wait
    # (2 days) k11 k12 (k12 last closed Thu); Thu wait (3 days) k11 (1) k5 k6; Fri wait (4) k5 k6 (1) k10.
    assert [(row["day"], row["under_1d"], row["1_3d"], row["3_7d"], row["open"]) for row in tables["by_day"]] == [
        ("2026-11-01", 0, 0, 0, 0), ("2026-11-02", 3, 0, 0, 3), ("2026-11-03", 1, 2, 0, 3),
        ("2026-11-04", 2, 1, 0, 3), ("2026-11-05", 2, 1, 1, 4), ("2026-11-06", 1, 2, 1, 4)]


def test_customers_at_risk_best_tier_and_highest_risk_first_with_why(month):
    app, n = month
    shown, tables = figures(app, "at_risk")
    # 乙 (k2): low score 3 + reopen 2 + breach 1 = 6; 己 (k12): low 3 + reopen 2 = 5; 甲 (k1, k11): a second
    # complaint 2 + breach 1 = 3; 戊 (k4, k5): 2 + 1 = 3 (甲 came first). All registered.
    assert shown == {"customers_at_risk": 4}
    assert [(row["customer"], row["risk"], row["why"], row["latest"]) for row in tables["customers"]] == [
        ("乙", 6, "low_score reopened breached", n["k2"]), ("己", 5, "low_score reopened", n["k12"]),
        ("甲", 3, "repeated breached", n["k11"]), ("戊", 3, "repeated breached", n["k5"])]


def test_filters_narrow_every_report_to_the_same_complaints(month):
    app, _ = month
    shown, _ = figures(app, "sla", severity="medium", channel="phone")  # k1, k11, k12
    assert (shown["filed"], shown["resolution_breached"], shown["first_response_p90"]) == (3, 1, 60.0)
    shown, _ = figures(app, "sla", agent="bob")
    assert (shown["filed"], shown["resolution_breached"]) == (3, 1)
    shown, tables = figures(app, "satisfaction", tier="bronze")
    assert (shown["answers"], shown["average"]) == (1, 4.0)
    shown, _ = figures(app, "compensation", category="billing")
    assert (shown["steps"], shown["spent"]) == (4, 10000)  # k2's follow-up call and k6's three
    shown, _ = figures(app, "backlog", level="senior")
    assert shown == {"open_now": 1, "escalated_now": 1}
    shown, _ = figures(app, "at_risk", category="delivery")  # 甲 twice (one breach), 戊 twice (one breach)
    assert shown == {"customers_at_risk": 2}
    assert report(app, "boss", "sla", since="2026-11-03", until="2026-11-04")["figures"]["filed"] == 1


@pytest.mark.parametrize(("options", "refusal"), [
    ({"month": "2026-13"}, "--month '2026-13' is not a month; use e.g. 2026-11"),
    ({}, "give the period: --month YYYY-MM, or --from DAY and --to DAY"),
    ({"since": "2026-11-05", "until": "2026-11-01"}, "--from 2026-11-05 is not before --to 2026-11-01"),
    ({"month": "2026-11", "since": "2026-11-01"}, "give either --month or --from and --to, not both"),
    ({"month": "2026-11", "severity": "urgent"}, "--severity 'urgent' is not allowed; severitys: low, medium"),
    ({"month": "2026-11", "level": "boss"}, "--level 'boss' is not allowed; levels: agent, senior, supervisor"),
])
def test_a_bad_period_or_filter_is_one_line_naming_what_is_allowed(sqlite_app, options, refusal):
    with pytest.raises(InvalidInput) as refused:
        report(sqlite_app, "boss", "sla", **options)
    assert str(refused.value).startswith(refusal)


def test_reports_are_for_supervisors_and_above(sqlite_app):
    with pytest.raises(PermissionDenied):
        report(sqlite_app, "amy", "sla", month="2026-11")
    assert report(sqlite_app, "sup", "backlog", month="2026-11")["figures"]["open_now"] == 0
    with pytest.raises(NotFound, match="no member of staff 'nobody'"):
        report(sqlite_app, "boss", "agents", month="2026-11", agent="nobody")
    with pytest.raises(InvalidInput, match="no report 'money'; reports: sla, agents, satisfaction"):
        report(sqlite_app, "boss", "money", month="2026-11")
