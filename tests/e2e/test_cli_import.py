"""`redress import FILE`, the installed command in a subprocess on a SQLite file: summaries, exit codes, and one
line per mistake (never a traceback)."""

from __future__ import annotations

import pytest

from tests.conftest import staffed_database
from tests.e2e.test_cli import as_json, assert_one_line_error, redress

HEADER = "ref,created_at,category,channel,summary,name,phone,state,assignee\n"
ROWS = ("T-1,2026-11-19T09:30+08:00,delivery,phone,快递十天没到,王芳,13800138000,received,\n"
        "T-2,2026-11-18T10:00+08:00,refund,email,退款没到账,王芳,13800138000,in_progress,amy\n")


@pytest.fixture
def db(sqlite_url: str) -> str:
    return staffed_database(sqlite_url, ("amy", "agent"))


def test_a_file_imports_once_then_reports_duplicates(db, tmp_path):
    source = tmp_path / "helpdesk.csv"
    source.write_text(HEADER + ROWS, encoding="utf-8")
    dry = redress("import", str(source), "--dry-run", db=db)
    assert dry.stdout.splitlines()[0] == (
        "helpdesk.csv: 2 would be imported, 0 already imported before (left as they are)")
    first = redress("import", str(source), db=db)
    assert first.stdout.splitlines()[:3] == [
        "helpdesk.csv: 2 imported, 0 already imported before (left as they are)",
        "  numbers: C-20261118-0001 .. C-20261119-0001",
        "  customers: 1 created, 0 found"]
    again = as_json(redress("import", str(source), "--json", db=db))
    assert (again["duplicates"], again["imported"]) == (2, 0)
    assert redress("audit", "verify", db=db).stdout.startswith("audit trail: OK (3 events")  # 2 filed, 1 moved on


def test_a_file_that_cannot_be_read_is_one_line_and_exit_7(db, tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes((HEADER + "T-1,2026-11-19T09:30+08:00,delivery,phone,café,Zoë,13800138000,,\n").encode("latin-1"))
    header = tmp_path / "header.csv"
    header.write_text("ref,created_at,colour\n", encoding="utf-8")
    named = tmp_path / "rows.txt"
    named.write_text(HEADER + ROWS, encoding="utf-8")
    cases = [
        (tmp_path / "missing.csv", ["cannot read", "missing.csv: no such file"]),
        (latin, ["latin.csv is not UTF-8 text"]),
        (header, ["the header names unknown column(s) 'colour'; columns: ref, created_at"]),
        (named, ["cannot tell the format of rows.txt", "--format csv"]),
    ]
    for path, fragments in cases:
        assert_one_line_error(redress("import", str(path), db=db, check=False), 7, *fragments)
    assert "2 imported" in redress("import", str(named), "--format", "csv", db=db).stdout


def test_bad_rows_are_listed_one_a_line_up_to_twenty_and_nothing_is_written(db, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(
        f'{{"ref": "B-{i}", "created_at": "2026-13-0{i % 9 + 1}", "category": "delivery", "channel": "phone", '
        f'"summary": "x", "name": "王芳", "phone": "13800138000"}}\n' for i in range(25)), encoding="utf-8")
    refused = redress("import", str(bad), db=db, check=False)
    assert refused.returncode == 7 and "Traceback" not in refused.stderr
    lines = refused.stderr.splitlines()
    assert lines[0] == "error: bad.jsonl: 25 errors in 25 rows; nothing was imported"
    assert lines[1] == "row 1, column created_at: '2026-13-01' is not a time like 2026-11-02T09:30+08:00"
    assert len(lines) == 22 and lines[-1] == "... and 5 more"
    listed = as_json(redress("import", str(bad), "--json", db=db, check=False))
    assert listed["ok"] is False and len(listed["errors"]) == 25
    assert as_json(redress("list", "--json", db=db)) == []
