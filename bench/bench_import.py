"""Importing complaints: the rate of `import_complaints` on SQLite, against a raw sqlite3 executemany of as many rows.

A file of N complaints is generated (seven in ten closed with a first response, one in ten cancelled, the rest
open in various states, with deadlines to arm; a customer for every three rows, some met again by email), then
imported into a fresh SQLite database, the whole use case timed: reading and checking every row, finding and
creating customers, numbers, trails chained in Python, clocks planned, and the commit. The median of several
runs is set against sqlite3 inserting N complaint-sized rows (as many columns) with executemany into a fresh
file with the engine's pragmas, in the same process; and against sqlite3 inserting the very rows the import
wrote (read back from its database) into a fresh migrated file, every index included: what the database alone
takes for them, a ceiling no import writing those rows can pass. A second import of the same file (all
duplicates) is timed too.

Usage: python bench/bench_import.py [--rows 20000] [--repeats 3] [--format csv|jsonl]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workflow.adapters.checkpoints import FALLBACK_PAGES  # noqa: E402
from workflow.adapters.migrate import upgrade  # noqa: E402
from workflow.adapters.models import COMPLAINTS  # noqa: E402
from workflow.bootstrap import bootstrap  # noqa: E402
from workflow.domain.clock import Clock  # noqa: E402
from workflow.services.import_rows import COLUMNS  # noqa: E402
from workflow.services.importing import import_complaints  # noqa: E402
from workflow.services.people import add_user  # noqa: E402

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Shanghai
CATEGORIES = ("delivery", "damaged", "quality", "refund", "return", "billing", "service")
CHANNELS = ("phone", "web", "email", "chat")


def generate(rows: int, seed: int = 7) -> list[dict[str, str]]:
    """Rows of a helpdesk export over the 60 days before NOW."""
    rng = random.Random(seed)
    out = []
    for i in range(rows):
        created = NOW - timedelta(days=60) + timedelta(minutes=rng.randrange(0, 59 * 24 * 60))
        customer = rng.randrange(max(rows // 3, 1))
        row = {"ref": f"HD-{i + 1}", "created_at": created.isoformat(), "category": rng.choice(CATEGORIES),
               "channel": rng.choice(CHANNELS), "summary": f"complaint {i + 1}: the parcel is late again",
               "name": f"Customer {customer}", "phone": f"138{customer:08d}",
               "email": f"c{customer}@example.cn" if customer % 4 == 0 else "",
               "severity": rng.choice(("low", "medium", "high", "")), "order_ref": f"SO-{rng.randrange(10**6)}"}
        kind = rng.random()
        if kind < 0.7:
            responded = created + timedelta(minutes=rng.randrange(5, 600))
            resolved = responded + timedelta(minutes=rng.randrange(30, 4000))
            closed = resolved + timedelta(minutes=rng.randrange(0, 3000))
            if closed < NOW:
                row.update(state="closed", first_responded_at=responded.isoformat(),
                           resolved_at=resolved.isoformat(), closed_at=closed.isoformat(), assignee="amy",
                           resolution="refunded")
            else:
                row.update(state="in_progress", assignee="amy")
        elif kind < 0.8:
            row.update(state="cancelled", closed_at=min(created + timedelta(hours=2), NOW).isoformat(),
                       cancel_reason="withdrawn")
        else:
            row.update(state=rng.choice(("received", "triaged", "assigned", "in_progress")))
            if row["state"] in ("assigned", "in_progress"):
                row["assignee"] = "amy"
        out.append(row)
    return out


def write_file(rows: list[dict[str, str]], path: Path) -> None:
    if path.suffix == ".csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    else:
        with path.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps({k: v for k, v in row.items() if v}, ensure_ascii=False) + "\n")


def staffed(db: Path):
    app = bootstrap(str(ROOT / "config.yaml"), str(db), Clock(NOW))
    upgrade(app.engine)
    add_user(app, None, "boss", "manager")
    add_user(app, "boss", "sup", "supervisor")
    add_user(app, "boss", "amy", "agent")
    return app


def raw_executemany(folder: Path, rows: int) -> tuple[float, float]:
    """sqlite3 inserting `rows` rows as wide as a complaint, committed, in a fresh file with the engine's pragmas."""
    columns = [c.name for c in COMPLAINTS.columns if c.name != "id"]
    connection = sqlite3.connect(folder / "raw.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(f"CREATE TABLE complaint (id INTEGER PRIMARY KEY, {', '.join(columns)})")
    values = [tuple(f"{name}-{i}" for name in columns) for i in range(rows)]
    sql = f"INSERT INTO complaint ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    start, start_cpu = time.perf_counter(), time.process_time()
    connection.execute("BEGIN")
    connection.executemany(sql, values)
    connection.execute("COMMIT")
    took, took_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    connection.close()
    return took, took_cpu


def own_rows_floor(imported: Path, folder: Path) -> tuple[float, int]:
    """sqlite3 inserting the very rows the import wrote (read back from its database: customers, complaints,
    events, deadlines) into a fresh migrated file, with executemany in one transaction: what the database
    alone takes for them, every index included. (seconds, rows)"""
    staffed(folder / "floor.db").engine.dispose()
    source = sqlite3.connect(imported)
    tables = {name: source.execute(f"SELECT * FROM {name}").fetchall()  # noqa: S608 - our own table names
              for name in ("customer", "complaint", "event", "deadline")}
    source.close()
    connection = sqlite3.connect(folder / "floor.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")  # as the engine's connections check them
    # As the engine's writer: its own checkpoint at 10,000 pages, the copy back done beside it, not in the commit.
    connection.execute(f"PRAGMA wal_autocheckpoint={FALLBACK_PAGES}")
    start = time.perf_counter()
    connection.execute("BEGIN IMMEDIATE")
    for name, rows in tables.items():
        if rows:
            connection.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(rows[0]))})", rows)  # noqa: S608
    connection.execute("COMMIT")
    took = time.perf_counter() - start
    connection.close()
    return took, sum(len(rows) for rows in tables.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    args = parser.parse_args()
    rows = generate(args.rows)
    imports, again, raws, cpu, raw_cpu, floors = [], [], [], [], [], []
    written = 0
    summary = None
    for run in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="redress-bench-import-") as name:
            folder = Path(name)
            source = folder / f"helpdesk.{args.format}"
            write_file(rows, source)
            app = staffed(folder / "redress.db")
            start, start_cpu = time.perf_counter(), time.process_time()
            summary = import_complaints(app, "sup", source)
            imports.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            start = time.perf_counter()
            repeat = import_complaints(app, "sup", source)
            again.append(time.perf_counter() - start)
            assert repeat.imported == 0 and repeat.duplicates == args.rows, repeat
            app.engine.dispose()
            floor, written = own_rows_floor(folder / "redress.db", folder)
            floors.append(floor)
            wall, used = raw_executemany(folder, args.rows)
            raws.append(wall)
            raw_cpu.append(used)
            print(f"run {run + 1}: import {imports[-1]:.3f} s, again {again[-1]:.3f} s, raw {raws[-1]:.3f} s, "
                  f"its own rows {floors[-1]:.3f} s", flush=True)
    assert summary is not None
    took, raw = statistics.median(imports), statistics.median(raws)
    print(f"\n{args.rows} rows ({args.format}): {summary.imported} imported, {summary.customers_created} customers "
          f"created, {summary.deadlines_armed} deadlines armed ({summary.past_due} already past due)")
    print(f"import: median {took:.3f} s = {args.rows / took:,.0f} complaints/s (target: 20,000/s)")
    print(f"second run (all duplicates): median {statistics.median(again):.3f} s")
    print(f"raw sqlite3 executemany of {args.rows} complaint-wide rows: median {raw:.3f} s = "
          f"{args.rows / raw:,.0f} rows/s")
    print(f"import / raw: {took / raw:.1f}x the time of the bare inserts")
    own = statistics.median(floors)
    print(f"the import's own {written:,} rows (customers, complaints, events, deadlines, every index) through "
          f"sqlite3 executemany: median {own:.3f} s, a ceiling of {args.rows / own:,.0f} complaints/s for any "
          f"import that writes them; the import takes {took / own:.1f}x that")
    # On a machine shared with other work the wall clock waits for the CPU; the process's own CPU time does not.
    took_cpu, raw_used = statistics.median(cpu), statistics.median(raw_cpu)
    print(f"CPU time: import median {took_cpu:.3f} s = {args.rows / took_cpu:,.0f} complaints/s; raw median "
          f"{raw_used:.3f} s; import / raw {took_cpu / raw_used:.1f}x")


if __name__ == "__main__":
    main()
