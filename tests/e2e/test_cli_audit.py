"""`redress audit verify` and `redress db grants`, the installed command in a subprocess."""

from __future__ import annotations

import sqlite3

from tests.conftest import OS_ACCOUNT
from tests.e2e.test_cli import as_json, assert_one_line_error, file_complaint, redress


def test_audit_verify_passes_a_clean_trail_and_names_a_forged_event(sqlite_url, tmp_path):
    redress("db", "upgrade", db=sqlite_url)
    redress("user", "add", "boss", "--role", "manager", "--os-user", OS_ACCOUNT, db=sqlite_url)
    redress("user", "add", "amy", "--role", "agent", "--as", "boss", db=sqlite_url)
    redress("user", "role", "amy", "--to", "senior", "--reason", "promoted", "--as", "boss", db=sqlite_url)
    number = file_complaint(sqlite_url)
    for step in (["triage"], ["take"], ["start"], ["resolve", "-m", "已送达"]):
        redress(step[0], number, *step[1:], db=sqlite_url, user="amy")
    events = len(as_json(redress("history", number, "--json", db=sqlite_url))["events"])

    verified = redress("audit", "verify", db=sqlite_url)
    assert verified.stdout == f"audit trail: OK ({events} events, 3 audit records)\n"  # 2 staff added, a role changed
    assert as_json(redress("audit", "verify", "--json", db=sqlite_url)) == {
        "ok": True, "events": events, "audit_records": 3}

    path = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:  # an intruder with the file: past the trigger, and back
        connection.execute("DROP TRIGGER event_no_update")
        forged = connection.execute("SELECT id FROM event WHERE trigger = 'resolve'").fetchone()[0]
        connection.execute("UPDATE event SET note = '客户同意不赔' WHERE id = ?", (forged,))
    tampered = redress("audit", "verify", db=sqlite_url, check=False)
    assert_one_line_error(tampered, 14, f"event {forged} of {number}: its content does not match its hash")
    assert tampered.stdout == ""


def test_db_grants_prints_the_application_role_sql_and_refuses_a_bad_name(sqlite_url):
    sql = redress("db", "grants", "--role", "redress_app", db=sqlite_url).stdout
    assert 'GRANT SELECT, INSERT ON "public"."event", "public"."audit_record" TO "redress_app";' in sql
    granted = [line for line in sql.splitlines() if line.startswith("GRANT SELECT, INSERT, UPDATE, DELETE")]
    assert len(granted) == 1 and '"public"."complaint"' in granted[0] and '"public"."event"' not in granted[0]
    refused = redress("db", "grants", "--role", 'app"; DROP TABLE event; --', db=sqlite_url, check=False)
    assert_one_line_error(refused, 7, "is not allowed; a role name is lower-case letters")
