"""Importing complaints from a file, on a real SQLite file and a real PostgreSQL database: all or nothing, once,
with customers found or made once, trails that verify, and clocks planned from the imported times."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from workflow.adapters.models import COMPLAINTS, CUSTOMERS, DEADLINES, EVENTS
from workflow.domain.errors import PermissionDenied
from workflow.domain.sla import add_business_time, plan_for
from workflow.services.audit_chain import verify_trail
from workflow.services.firing import fire_due
from workflow.services.importing import ImportRefused, import_complaints
from workflow.services.lifecycle import file_complaint

HEADER = ("ref", "created_at", "category", "channel", "summary", "name", "phone", "email", "severity", "state",
          "first_responded_at", "resolved_at", "closed_at", "assignee", "owner", "cancel_reason", "resolution")

# The clock is pinned at Friday 2026-11-20 10:00 in Shanghai (tests/conftest.py).
GOOD = [
    # Open since Thursday 09:30: its first response was due at 13:30 (4 business hours), so it is past due.
    {"ref": "H-1", "created_at": "2026-11-19T09:30+08:00", "category": "delivery", "channel": "phone",
     "summary": "快递十天没到", "name": "王芳", "phone": "13800138000", "severity": "medium"},
    # Closed in time: 60 business minutes to the first answer, 540 to resolution (Monday 10-18, Tuesday 9-10).
    {"ref": "H-2", "created_at": "2026-11-16T10:00+08:00", "category": "refund", "channel": "email",
     "summary": "退款没到账", "name": "李雷", "email": "lilei@example.cn", "severity": "low", "state": "closed",
     "first_responded_at": "2026-11-16T11:00+08:00", "resolved_at": "2026-11-17T10:00+08:00",
     "closed_at": "2026-11-18T10:00+08:00", "assignee": "amy", "resolution": "退款已原路退回"},
    # The same customer as H-1 (by phone), who now also gives an email; being worked by amy, answered.
    {"ref": "H-3", "created_at": "2026-11-19T15:00+08:00", "category": "damaged", "channel": "web",
     "summary": "box crushed", "name": "王芳", "phone": "138-0013-8000", "email": "wf@example.cn",
     "severity": "high", "state": "in_progress", "first_responded_at": "2026-11-19T16:00+08:00", "assignee": "amy"},
    # A customer already known by email: found, and their phone filled in.
    {"ref": "H-4", "created_at": "2026-11-18T10:00+08:00", "category": "quality", "channel": "chat",
     "summary": "scam!", "email": "OLD@example.cn", "phone": "13700000000", "state": "cancelled",
     "closed_at": "2026-11-18T11:00+08:00", "cancel_reason": "spam"},
    # Late on both targets: first answered the next day, resolved a day after its resolution was due.
    {"ref": "H-5", "created_at": "2026-11-16T09:00+08:00", "category": "billing", "channel": "phone",
     "summary": "charged twice", "name": "韩梅梅", "phone": "13900000000", "severity": "medium", "state": "closed",
     "first_responded_at": "2026-11-17T10:00+08:00", "resolved_at": "2026-11-18T18:00+08:00",
     "closed_at": "2026-11-18T18:00+08:00", "assignee": "bob"},
    {"ref": "H-6", "created_at": "2026-11-19T10:00+08:00", "category": "delivery", "channel": "phone",
     "summary": "courier lost it", "phone": "13900000000", "severity": "low", "state": "routed",
     "owner": "物流部", "assignee": "bob"},
]


def write_csv(path: Path, rows: list[dict[str, str]], header: tuple[str, ...] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def count(app, table) -> int:
    with app.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def complaints(app) -> dict[str, dict]:
    with app.engine.connect() as connection:
        return {row.import_ref: dict(row._mapping) for row in connection.execute(
            select(COMPLAINTS).where(COMPLAINTS.c.import_ref.is_not(None)))}


@pytest.fixture
def known_customer(app):
    file_complaint(app, "amy", channel="email", category="other", summary="earlier", email="old@example.cn",
                   name="老客户")


def test_a_file_with_bad_rows_is_refused_whole_with_every_mistake_named(app, tmp_path):
    bad = [
        {**GOOD[0], "ref": "B-1", "created_at": "2026-13-01"},
        {**GOOD[0], "ref": "B-2", "category": "weather"},
        {**GOOD[1], "ref": "B-3", "closed_at": ""},
        {**GOOD[0], "ref": "B-1"},
        {**GOOD[2], "ref": "B-5", "assignee": "nobody"},
        {**GOOD[0], "ref": "B-6", "phone": ""},
        {**GOOD[0], "ref": "B-7", "summary": " "},
        {**GOOD[0], "ref": "B-8", "name": "", "phone": "13811112222"},
        {**GOOD[0], "ref": "B-9", "created_at": "2026-11-19T09:30", "state": "waiting_customer"},
        {**GOOD[0], "ref": "B-10", "created_at": "2026-11-21T09:30+08:00"},
        {**GOOD[0], "ref": "B-11"},
    ]
    with pytest.raises(ImportRefused) as refused:
        import_complaints(app, "sup", write_csv(tmp_path / "bad.csv", bad))
    assert str(refused.value) == "bad.csv: 11 errors in 10 rows; nothing was imported"
    assert refused.value.exit_code == 7
    assert refused.value.lines == [
        "row 2, column created_at: '2026-13-01' is not a time like 2026-11-02T09:30+08:00",
        "row 3, column category: 'weather' is not a category; categories: delivery, damaged, quality, refund, "
        "return, warranty, billing, service, other",
        "row 4, column closed_at: is required for a complaint in state closed",
        "row 5, column ref: 'B-1' is also on row 2; each ref is imported once",
        "row 6, column assignee: no user 'nobody'",
        "row 7, column phone: a customer needs a phone or an email so they can be found next time",
        "row 8, column summary: is required",
        "row 9, column name: is required for a customer not seen before",
        "row 10, column created_at: '2026-11-19T09:30' has no UTC offset; write it like 2026-11-02T09:30+08:00",
        "row 10, column state: 'waiting_customer' is not a state; states: received, triaged, assigned, "
        "in_progress, routed, resolved, closed, cancelled",
        "row 11, column created_at: '2026-11-21T09:30+08:00' is later than now",
    ]
    assert (count(app, COMPLAINTS), count(app, CUSTOMERS), count(app, EVENTS), count(app, DEADLINES)) == (0, 0, 0, 0)


def test_a_good_file_imports_once_with_customers_trails_and_report_facts(app, tmp_path, known_customer):
    source = write_csv(tmp_path / "helpdesk.csv", GOOD)
    dry = import_complaints(app, "sup", source, dry_run=True)
    assert (dry.imported, dry.dry_run, count(app, COMPLAINTS)) == (6, True, 1)

    summary = import_complaints(app, "sup", source)
    assert (summary.rows, summary.imported, summary.duplicates) == (6, 6, 0)
    assert (summary.customers_created, summary.customers_found) == (3, 1)  # 王芳, 李雷, 韩梅梅; 老客户
    assert summary.numbers == ("C-20261116-0001", "C-20261119-0003")  # numbered by the day each was filed
    assert count(app, CUSTOMERS) == 4

    again = import_complaints(app, "sup", source)
    assert (again.imported, again.duplicates, again.numbers) == (0, 6, ())
    assert count(app, COMPLAINTS) == 7

    rows = complaints(app)
    with app.engine.connect() as connection:
        customers = {c.name: c for c in connection.execute(select(CUSTOMERS))}
    assert customers["老客户"].phone == "13700000000"  # a blank filled in, the profile otherwise kept
    assert customers["王芳"].email == "wf@example.cn"
    assert rows["import:H-3"]["customer_id"] == rows["import:H-1"]["customer_id"] == customers["王芳"].id

    closed = rows["import:H-2"]
    assert (closed["state"], closed["is_open"], closed["first_response_minutes"], closed["resolution_minutes"]) == (
        "closed", False, 60.0, 540.0)
    assert closed["first_response_breached_at"] is None and closed["resolution_breached_at"] is None
    late = rows["import:H-5"]
    assert late["first_response_breached_at"] == datetime(2026, 11, 16, 5, 0, tzinfo=UTC)  # Monday 13:00
    assert late["resolution_breached_at"] == datetime(2026, 11, 17, 10, 0, tzinfo=UTC)  # Tuesday 18:00
    assert rows["import:H-4"]["cancel_reason"] == "spam" and rows["import:H-4"]["resolved_at"] is None
    assert rows["import:H-6"]["owner"] == "物流部"

    with app.engine.connect() as connection:
        trail = [(e.trigger, e.from_state, e.to_state, e.actor) for e in connection.execute(
            select(EVENTS).where(EVENTS.c.complaint_id == closed["id"]).order_by(EVENTS.c.id))]
        filing = json.loads(connection.execute(select(EVENTS.c.data).where(
            EVENTS.c.complaint_id == closed["id"], EVENTS.c.trigger == "file")).scalar_one())
    assert trail == [("file", "", "received", "sup"), ("respond", "received", "received", "sup"),
                     ("resolve", "received", "resolved", "sup"), ("close", "resolved", "closed", "sup")]
    assert filing["imported"] | {"at": None} == {"file": "helpdesk.csv", "source": "import", "ref": "H-2",
                                                  "by": "sup", "at": None}
    assert verify_trail(app).events == count(app, EVENTS)


def test_clocks_run_from_the_imported_times_and_a_past_deadline_fires_at_the_next_sweep(app, tmp_path, known_customer):
    summary = import_complaints(app, "sup", write_csv(tmp_path / "helpdesk.csv", GOOD))
    rows = complaints(app)
    with app.engine.connect() as connection:
        imported = {row["id"] for row in rows.values()}
        armed = {(r.complaint_id, r.kind): r.due_at for r in connection.execute(select(DEADLINES))
                 if r.complaint_id in imported}
    opened, worked = rows["import:H-1"], rows["import:H-3"]
    plan = plan_for(app.config, "medium", "registered")
    calendar = app.calendar(plan.calendar)
    for kind, offset in plan.arming(first_response=True):
        assert armed[(opened["id"], kind)] == add_business_time(opened["created_at"], offset, calendar)
    assert armed[(opened["id"], "first_response")] == datetime(2026, 11, 19, 5, 30, tzinfo=UTC)  # Thursday 13:30
    # Answered before it was imported: only its resolution clocks run; closed ones have none.
    assert {kind for (complaint, kind) in armed if complaint == worked["id"]} == {"resolution_warning", "resolution"}
    assert {complaint for complaint, _ in armed} == {opened["id"], worked["id"], rows["import:H-6"]["id"]}
    now = app.clock.now()
    assert summary.deadlines_armed == len(armed)
    assert summary.past_due == sum(due <= now for due in armed.values()) > 0

    fire_due(app)
    with app.engine.connect() as connection:
        fired = connection.execute(select(func.count()).where(
            DEADLINES.c.fired_at.is_not(None), DEADLINES.c.complaint_id.in_(imported))).scalar_one()
        breached = connection.execute(select(COMPLAINTS.c.first_response_breached_at).where(
            COMPLAINTS.c.id == opened["id"])).scalar_one()
    assert fired == summary.past_due
    assert breached is not None
    assert verify_trail(app).events == count(app, EVENTS)


def test_csv_and_json_lines_give_the_same_complaints(app, tmp_path, known_customer):
    import_complaints(app, "sup", write_csv(tmp_path / "a.csv", GOOD), source="csv")
    jsonl = [{k: v for k, v in row.items() if v} for row in GOOD]
    summary = import_complaints(app, "sup", write_jsonl(tmp_path / "a.ndjson", jsonl), source="json")
    assert (summary.imported, summary.customers_created) == (6, 0)  # everyone is known by now

    def by_ref(source: str) -> dict[str, dict]:
        ignored = {"id", "number", "import_ref", "event_head"}
        return {ref.split(":", 1)[1]: {k: v for k, v in row.items() if k not in ignored}
                for ref, row in complaints(app).items() if ref.startswith(f"{source}:")}

    assert by_ref("csv") == by_ref("json")
    assert verify_trail(app).events == count(app, EVENTS)


def test_only_a_supervisor_or_above_imports(app, tmp_path):
    source = write_csv(tmp_path / "helpdesk.csv", GOOD)
    with pytest.raises(PermissionDenied, match="^amy is an agent; importing complaints needs supervisor or above$"):
        import_complaints(app, "amy", source)
    assert count(app, COMPLAINTS) == 0
