"""The terminal app at size: how fast the queue opens and what a live refresh costs the database.

Fills a fresh SQLite database with N complaints through the services (a fifth
of them assigned to the measured agent), then prints the median of several runs of:
- opening the app on its queue (Textual headless, 80x24): wall time from start
  to the first painted queue, and the database time inside it;
- one live refresh cycle (my queue + team queue, as the app runs it every
  2 s): database time (its statements replayed and fetched to the last row)
  and wall time (with the countdowns computed in Python).

Usage: python bench/bench_tui.py [--complaints 100000] [--runs 7]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from workflow.adapters.migrate import upgrade  # noqa: E402
from workflow.bootstrap import Redress, bootstrap  # noqa: E402
from workflow.domain.clock import Clock  # noqa: E402
from workflow.faces.tui.app import RedressTUI  # noqa: E402
from workflow.read.desk import change_marker, desk_queue  # noqa: E402
from workflow.services import lifecycle as svc  # noqa: E402
from workflow.services.people import add_user  # noqa: E402

CATEGORIES = ["delivery", "damaged", "quality", "refund", "return", "warranty", "billing", "service"]
SEVERITIES = ["low", "medium", "high", "critical"]


class SqlTimer:
    """The database's share of some work: every statement it ran, replayed and fetched to the last row.

    Timing cursor.execute alone would undercount on SQLite, which returns after
    the first row and produces the rest while they are fetched.
    """

    def __init__(self, engine) -> None:
        self.engine = engine
        self.statements: list[tuple[str, object]] = []
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append((statement, parameters))

    def start(self) -> None:
        self.statements = []

    def seconds(self) -> float:
        captured, self.statements = self.statements, []
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            started = time.perf_counter()
            for statement, parameters in captured:
                if statement.lstrip().upper().startswith("SELECT"):
                    cursor.execute(statement, parameters)
                    cursor.fetchall()
            return time.perf_counter() - started
        finally:
            raw.close()


def fill(app: Redress, clock: Clock, complaints: int) -> None:
    add_user(app, None, "boss", "manager")
    add_user(app, "boss", "amy", "agent")
    add_user(app, "boss", "sen", "senior")
    for i in range(complaints):
        clock.pin(clock.now() + timedelta(seconds=2))
        number = svc.file_complaint(
            app, "boss", channel="phone", category=CATEGORIES[i % 8], summary=f"快递问题 {i}",
            phone=f"139{i % 30_000:08d}", name=f"客户{i % 30_000}", severity=SEVERITIES[i % 4],
        ).number
        if i % 5 == 0:
            svc.triage(app, "boss", number)
            svc.assign(app, "sen", number, "amy")


def refresh_cycle(app: Redress) -> None:
    """What the queue screen runs every refresh: both tabs (the complaint view adds one index read)."""
    change_marker(app)
    desk_queue(app, "amy", mine=True, limit=100)
    desk_queue(app, "amy", mine=False, limit=100)


def measure_refresh(app: Redress, timer: SqlTimer, runs: int) -> tuple[float, float]:
    db, wall = [], []
    for _ in range(runs):
        timer.start()
        started = time.perf_counter()
        refresh_cycle(app)
        wall.append(time.perf_counter() - started)
        db.append(timer.seconds())
    return statistics.median(db), statistics.median(wall)


def measure_open(app: Redress, timer: SqlTimer) -> tuple[float, float]:
    async def run() -> tuple[float, float]:
        timer.start()
        started = time.perf_counter()
        tui = RedressTUI(app, "amy", refresh_seconds=3600)
        async with tui.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            opened = time.perf_counter() - started
            assert tui.screen.query_one("#mine-table").row_count > 0
        return opened, timer.seconds()
    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        clock = Clock(datetime(2026, 11, 20, 1, 0, tzinfo=UTC))
        app = bootstrap(str(ROOT / "config.yaml"), f"sqlite:///{folder}/tui.db", clock)
        upgrade(app.engine)
        started = time.perf_counter()
        fill(app, clock, args.complaints)
        print(f"filled {args.complaints:,} complaints in {time.perf_counter() - started:,.0f} s", flush=True)
        timer = SqlTimer(app.engine)
        refresh_cycle(app)  # warm: statements compiled, calendars built, pages cached, as in a running app
        opens = [measure_open(app, timer) for _ in range(args.runs)]
        open_wall = statistics.median(o[0] for o in opens)
        open_db = statistics.median(o[1] for o in opens)
        refresh_db, refresh_wall = measure_refresh(app, timer, args.runs * 3)
        app.engine.dispose()

    print(f"\nmedian of {args.runs} app starts and {args.runs * 3} refresh cycles, {args.complaints:,} complaints, "
          "SQLite:")
    print(f"  queue opens (start to first painted queue) : {open_wall * 1000:7.0f} ms wall, "
          f"{open_db * 1000:5.1f} ms in SQL  (target < 1,000 ms)")
    print(f"  live refresh cycle, database time          : {refresh_db * 1000:7.1f} ms  (target < 50 ms)")
    print(f"  live refresh cycle, wall time              : {refresh_wall * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
