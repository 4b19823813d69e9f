"""Reads and `tick` at size: what an agent and a supervisor wait for on a year of history, SQLite or PostgreSQL.

On a database seeded by bench/seed_history.py (1,000,000 complaints: 4.1M deadlines, 8.7M events, 30% open),
times whole processes, each as a ratio to `python -c "import sqlmodel"` measured in the same run, rounds
alternating so a busy moment spreads over all of them:
- `redress queue --json` (the open queue, most urgent first, 50 rows);
- `redress show N --json` (an open complaint halfway down the numbers);
- `redress escalations --json` as a supervisor (the supervisor board);
- `redress tick --json` with nothing due (the due query, the outbox's);
- the terminal app's first screen: a process that opens it as an agent (Textual headless, 80x24), waits for
  the painted queue and exits.
The clock is pinned at the end of the seeded year (REDRESS_NOW), where nothing is due.

`--plans` prints instead the query plan of every SELECT those reads and the SLA and backlog reports send
(EXPLAIN QUERY PLAN on SQLite, EXPLAIN ANALYZE on PostgreSQL), marking the ones that scan or sort a table.

A database that holds no complaints is seeded first (a missing SQLite file is created and migrated; a
PostgreSQL database must exist: `createdb -h HOST -p PORT -U postgres bench_scale`).

Usage: python bench/bench_scale.py --db /tmp/scale/s1m.db --complaints 1000000 [--repeats 5] [--plans]
       python bench/bench_scale.py --db postgresql+psycopg://postgres@127.0.0.1:54330/bench_scale --complaints 100000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_scheduler import bench_config  # noqa: E402 - the shipped config, no mailbox, no report pack

REDRESS = Path(sys.executable).parent / "redress"
UNTIL = "2026-12-01"
NOW = "2026-12-01T00:00:00+08:00"  # the end of the seeded year (seed_history's --until, local midnight)
AGENT, SUPERVISOR, MANAGER = "agent01", "supervisor01", "manager01"


def ensure_seeded(url: str, complaints: int) -> None:
    """Migrate the database and seed a year of history into it unless it already holds complaints."""
    import seed_history
    from sqlalchemy import select

    from workflow.adapters.db import make_engine, sqlite_file
    from workflow.adapters.migrate import upgrade
    from workflow.adapters.models import COMPLAINTS

    path = sqlite_file(url)
    if path is None or path.exists():
        engine = make_engine(url)
        upgrade(engine)
        with engine.connect() as connection:
            seeded = connection.execute(select(COMPLAINTS.c.id).limit(1)).first() is not None
        engine.dispose()
        if seeded:
            return
    print(f"seeding {complaints:,} complaints (bench/seed_history.py) ...", flush=True)
    seed_history.main(["--url", url, "--count", str(complaints), "--until", UNTIL])


def facts(url: str) -> dict[str, Any]:
    """What the database holds, a complaint to show, and how much is due at the pinned now (should be none)."""
    from sqlalchemy import func, select

    from workflow.adapters.db import make_engine, sqlite_file
    from workflow.adapters.models import COMPLAINTS, DEADLINES, EVENTS, MESSAGES

    now = datetime.fromisoformat(NOW)
    engine = make_engine(url)
    with engine.connect() as c:
        count = c.execute(select(func.count()).select_from(COMPLAINTS)).scalar_one()
        open_ = c.execute(select(func.count()).select_from(COMPLAINTS).where(COMPLAINTS.c.is_open.is_(True))
                          ).scalar_one()
        numbers = c.execute(select(COMPLAINTS.c.number).where(COMPLAINTS.c.is_open.is_(True))
                            .order_by(COMPLAINTS.c.id).offset(open_ // 2).limit(1)).scalar_one()
        due = c.execute(select(func.count()).select_from(DEADLINES).where(
            DEADLINES.c.fired_at.is_(None), DEADLINES.c.cancelled_at.is_(None), DEADLINES.c.due_at <= now)
        ).scalar_one()
        found = {
            "complaints": count, "open": open_, "show": numbers, "due_now": due,
            "deadlines": c.execute(select(func.max(DEADLINES.c.id))).scalar_one(),
            "events": c.execute(select(func.max(EVENTS.c.id))).scalar_one(),
            "outbox_due": c.execute(select(func.count()).select_from(MESSAGES).where(
                MESSAGES.c.status == "pending", MESSAGES.c.next_attempt_at <= now)).scalar_one(),
        }
    engine.dispose()
    path = sqlite_file(url)
    found["size_mb"] = path.stat().st_size / 1e6 if path is not None else None
    return found


def tui_once() -> None:
    """Child process: open the terminal app as REDRESS_USER on REDRESS_DB, wait for the painted queue, exit."""
    from textual.widgets import DataTable

    from workflow.bootstrap import bootstrap
    from workflow.faces.seat import DirectSeat
    from workflow.faces.tui.app import RedressTUI

    async def run() -> None:
        tui = RedressTUI(DirectSeat(bootstrap(), os.environ["REDRESS_USER"]), refresh_seconds=3600)
        async with tui.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            if tui.screen.query_one("#mine-table", DataTable).row_count == 0:
                raise SystemExit("the agent's queue painted empty")
    asyncio.run(run())


def commands(number: str) -> dict[str, tuple[list[str], str | None]]:
    """What is timed: the command and who runs it (REDRESS_USER)."""
    return {
        "python -c 'import sqlmodel'": ([sys.executable, "-c", "import sqlmodel"], None),
        "redress queue --json": ([str(REDRESS), "queue", "--json"], AGENT),
        f"redress show {number} --json": ([str(REDRESS), "show", number, "--json"], AGENT),
        "redress escalations --json (board)": ([str(REDRESS), "escalations", "--json"], SUPERVISOR),
        "redress tick --json (nothing due)": ([str(REDRESS), "tick", "--json"], None),
        "terminal app, first screen": ([sys.executable, str(Path(__file__).resolve()), "--tui-once"], AGENT),
    }


def run(command: list[str], env: dict[str, str], user: str | None) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, env={**env, **({"REDRESS_USER": user} if user else {})},
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return elapsed, done.stdout


def plans(url: str, config: Path, number: str) -> None:
    """The query plan of every SELECT queue, show, the board, the TUI's refresh and tick's due queries send."""
    from sqlalchemy import event

    from notifications.sender import deliver_due
    from workflow.bootstrap import bootstrap
    from workflow.domain.clock import Clock
    from workflow.read.desk import change_marker, desk_queue
    from workflow.read.queries import complaint_detail, queue
    from workflow.read.reports import report
    from workflow.services.firing import fire_due
    from workflow.services.supervision import escalation_board

    app = bootstrap(str(config), url, Clock(datetime.fromisoformat(NOW)))
    postgres = app.engine.dialect.name == "postgresql"
    captured: list[tuple[str, str, Any]] = []
    reading = [""]

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if (statement.lstrip().upper().startswith(("SELECT", "WITH", "UPDATE")) and "EXPLAIN" not in statement
                and (reading[0].startswith("tick") or not statement.lstrip().upper().startswith("UPDATE"))):
            captured.append((reading[0], statement, parameters))

    event.listen(app.engine, "before_cursor_execute", record)
    reads = {
        "queue": lambda: queue(app, actor=AGENT),
        "show": lambda: complaint_detail(app, number),
        "board": lambda: escalation_board(app, SUPERVISOR),
        # The reports' hottest: the SLA report and the backlog over the seeded year's last month.
        "report sla": lambda: report(app, MANAGER, "sla", since="2026-11-01", until="2026-12-01"),
        "report backlog": lambda: report(app, MANAGER, "backlog", since="2026-11-01", until="2026-12-01"),
        "tui refresh (mine, team)": lambda: (change_marker(app), desk_queue(app, AGENT, mine=True),
                                             desk_queue(app, AGENT, mine=False)),
    }
    for name, read in reads.items():
        reading[0] = name
        read()
    reading[0] = "tick (nothing due)"
    fire_due(app)
    deliver_due(app)
    event.remove(app.engine, "before_cursor_execute", record)
    seen = set()
    raw = app.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for name, statement, parameters in captured:
            if (name, statement) in seen:
                continue
            seen.add((name, statement))
            writes = statement.lstrip().upper().startswith("UPDATE")  # planned, never run
            explain = "EXPLAIN QUERY PLAN " if not postgres else "EXPLAIN " if writes else "EXPLAIN (ANALYZE, BUFFERS) "
            started = time.perf_counter()
            if not postgres and not writes:  # SQLite's plan has no timing: run the statement to its last row
                cursor.execute(statement, parameters)
                cursor.fetchall()
            cursor.execute(explain + statement, parameters)
            rows = cursor.fetchall()
            elapsed = time.perf_counter() - started
            lines = [r[0] for r in rows] if postgres else [f"{'  ' * _depth(rows, r)}{r[3]}" for r in rows]
            bad = [line for line in lines if _is_bad(line, postgres)]
            flag = "  <-- " + "; ".join(b.strip() for b in bad) if bad else ""
            print(f"\n[{name}] {elapsed * 1000:.1f} ms{flag}\n  {' '.join(statement.split())[:300]}")
            for line in lines:
                print(f"    {line}")
    finally:
        raw.close()
        app.engine.dispose()


def _depth(rows: Sequence[Any], row: Any) -> int:
    parents = {r[0]: r[1] for r in rows}
    depth, parent = 0, row[1]
    while parent in parents:
        depth, parent = depth + 1, parents[parent]
    return depth


def _is_bad(line: str, postgres: bool) -> bool:
    """A full scan of a table (not an index search), or a sort SQLite or PostgreSQL has to do itself."""
    if postgres:
        match = re.search(r"(Seq Scan|Sort|HashAggregate|GroupAggregate).*actual time=[\d.]+\.\.[\d.]+ rows=(\d+)",
                          line)
        return match is not None and int(match.group(2)) > 1000
    return bool(re.match(r"\s*SCAN \w+(?! USING (COVERING )?INDEX ix_deadline_pending_due)", line)
                and "USING INTEGER PRIMARY KEY" not in line) or "TEMP B-TREE" in line


def main() -> None:
    if sys.argv[1:] == ["--tui-once"]:
        tui_once()
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="SQLite path or postgresql+psycopg:// URL")
    parser.add_argument("--complaints", type=int, default=100_000, help="seeded if the database holds none")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--plans", action="store_true", help="print the query plans instead of timing")
    args = parser.parse_args()

    from workflow.adapters.db import database_url

    url = database_url(args.db, Path.cwd())
    ensure_seeded(url, args.complaints)
    found = facts(url)
    size = f", {found['size_mb']:,.0f} MB" if found["size_mb"] else ""
    print(f"{found['complaints']:,} complaints ({found['open']:,} open), {found['deadlines']:,} deadlines, "
          f"{found['events']:,} events{size}; due at {NOW}: {found['due_now']} deadline(s), "
          f"{found['outbox_due']} message(s)", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        config = bench_config(Path(folder))
        if args.plans:
            plans(url, config, found["show"])
            return
        env = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
        env.update(REDRESS_CONFIG=str(config), REDRESS_DB=url, REDRESS_NOW=NOW, COLUMNS="80",
                   XDG_CONFIG_HOME=folder, HOME=folder)  # no saved sign-in: the database seat
        timed = commands(found["show"])
        for name, (command, user) in timed.items():  # warm the page cache; tick sends what the outbox has due
            _, out = run(command, env, user)
            if "tick" in name:
                print(f"first tick: {out.strip()}", flush=True)
        samples: dict[str, list[float]] = {name: [] for name in timed}
        for _ in range(args.repeats):
            for name, (command, user) in timed.items():
                samples[name].append(run(command, env, user)[0])
    floor = statistics.median(samples["python -c 'import sqlmodel'"])
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"\nmedian of {args.repeats} runs, {found['complaints']:,} complaints ({found['open']:,} open), {backend}:")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"  {name:<38}: {median * 1000:>7,.0f} ms  ({median / floor:.2f} x import sqlmodel; "
              f"{min(values) * 1000:,.0f}-{max(values) * 1000:,.0f})")


if __name__ == "__main__":
    main()
