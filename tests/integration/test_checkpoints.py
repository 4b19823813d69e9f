"""SQLite's log is copied back into the database beside the writers (workflow/adapters/checkpoints.py), and a
process killed while that happens loses nothing it committed."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import CONFIG, ROOT, file_one
from workflow.adapters.db import sqlite_file


def _complaints_in_the_database_file_alone(db: Path, folder: Path) -> int | None:
    """How many complaints a copy of the database file, without its log, holds (None: caught mid-write)."""
    copy = folder / "alone.db"
    for leftover in folder.glob("alone.db*"):
        leftover.unlink()
    shutil.copyfile(db, copy)
    try:
        with sqlite3.connect(copy) as connection:
            return int(connection.execute("SELECT count(*) FROM complaint").fetchone()[0])
    except sqlite3.DatabaseError:
        return None
    finally:
        connection.close()


def test_committed_complaints_reach_the_database_file_without_a_writer_checkpointing(sqlite_app, tmp_path):
    numbers = [file_one(sqlite_app) for _ in range(12)]  # about 360 log pages: SQLite's own checkpoint waits for 1,000
    db = sqlite_file(sqlite_app.url)
    assert db is not None
    deadline = time.monotonic() + 10
    while (found := _complaints_in_the_database_file_alone(db, tmp_path)) != len(numbers):
        assert time.monotonic() < deadline, f"the database file alone holds {found} of {len(numbers)} complaints"
        time.sleep(0.05)


_FILER = """
import sys
from datetime import UTC, datetime
from workflow.bootstrap import bootstrap
from workflow.domain.clock import Clock
from workflow.services.lifecycle import file_complaint

app = bootstrap(sys.argv[1], sys.argv[2], Clock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC)))
for i in range(100_000):
    outcome = file_complaint(app, "amy", channel="phone", category="delivery", summary=f"parcel {i} is late",
                             phone=f"139{i:08d}", name=f"customer {i}")
    print(outcome.number, flush=True)
"""


def test_a_writer_killed_while_its_log_is_copied_back_loses_nothing_it_committed(sqlite_app):
    db = sqlite_file(sqlite_app.url)
    sqlite_app.engine.dispose()
    process = subprocess.Popen([sys.executable, "-c", _FILER, str(CONFIG), sqlite_app.url], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    committed = []
    assert process.stdout is not None
    for line in process.stdout:
        committed.append(line.strip())
        if len(committed) == 600:  # about 18,000 log pages: many checkpoints beside it by now
            break
    process.kill()
    process.wait(timeout=30)
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = {row[0] for row in connection.execute("SELECT number FROM complaint")}
        halves = connection.execute(
            "SELECT count(*) FROM complaint c WHERE (SELECT count(*) FROM event e WHERE e.complaint_id = c.id) != 1"
            " OR (SELECT count(*) FROM deadline d WHERE d.complaint_id = c.id) = 0").fetchone()[0]
    connection.close()
    assert set(committed) <= stored
    assert len(stored) - len(committed) <= 1  # at most the one committed as the kill came, before it was printed
    assert halves == 0
