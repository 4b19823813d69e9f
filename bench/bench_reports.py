"""Reports on a million complaints: each report and the monthly pack for the last month of a seeded year, on SQLite
and on PostgreSQL, against the database's own floor measured in the same process.

The database is seeded once by bench/seed_history.py (a year of complaints with their histories) and kept, so a
second run only measures: `--sqlite FILE` (created and seeded when missing) and `--postgres URL` (a database,
seeded when it holds no complaints). Each figure is the median of `--runs` runs after one warm-up. The floor is
one raw aggregate over the month's complaints through the bare driver (sqlite3, psycopg): count, breaches and the
business minutes summed, grouped by severity, the least any report could cost.

The pack is read in one transaction (all six reports) and rendered to its HTML file, as the scheduler mails it.

Usage: python bench/bench_reports.py --count 1000000 --sqlite /tmp/reports-1m.db [--postgres URL] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench.seed_history import seed  # noqa: E402
from workflow.adapters.db import make_engine, sqlite_file  # noqa: E402
from workflow.adapters.migrate import upgrade  # noqa: E402
from workflow.adapters.models import COMPLAINTS, USERS  # noqa: E402
from workflow.bootstrap import bootstrap  # noqa: E402
from workflow.domain.clock import Clock  # noqa: E402
from workflow.read.reports import REPORTS, monthly_pack, report  # noqa: E402
from workflow.read.reports.html import render  # noqa: E402
from workflow.read.reports.model import Report  # noqa: E402
from workflow.read.reports.present import Words  # noqa: E402

CONFIG = ROOT / "config.yaml"
ZONE = ZoneInfo("Asia/Shanghai")
UNTIL = datetime(2026, 12, 1, tzinfo=ZONE)  # the seeded year ends here; the pack is November's
READ_AT = datetime(2026, 12, 1, 9, 0, tzinfo=ZONE)
MONTH = "2026-11"
FLOOR_SQL = """
    SELECT severity, COUNT(*), SUM(CASE WHEN first_response_breached_at IS NOT NULL THEN 1 ELSE 0 END),
           SUM(first_response_minutes), SUM(resolution_minutes)
    FROM complaint WHERE created_at >= {lo} AND created_at < {hi} GROUP BY severity
"""


def median_seconds(work: Callable[[], Any], runs: int) -> float:
    work()  # warm-up: caches, prepared plans
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def ready(url: str, count: int) -> None:
    """Migrate and seed the database unless it already holds complaints."""
    path = sqlite_file(url)
    if path is not None and not path.exists():
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
    app = bootstrap(str(CONFIG), url, Clock(READ_AT))
    with app.uow(write=False) as uow:
        held = uow.session.execute(select(func.count()).select_from(COMPLAINTS)).scalar_one()
    app.engine.dispose()
    if held:
        print(f"  {held:,} complaints already there: measuring only", flush=True)
        return
    print(f"  seeding {count:,} complaints ...", flush=True)
    written = seed(url, count, until=UNTIL.astimezone(UTC))
    print(f"  seeded in {written['seconds']:.0f} s", flush=True)


def floor(url: str, runs: int) -> float:
    """The bare driver's one grouped aggregate over the month."""
    lo, hi = datetime(2026, 11, 1, tzinfo=ZONE).astimezone(UTC), UNTIL.astimezone(UTC)
    path = sqlite_file(url)
    if path is not None:
        import sqlite3

        connection = sqlite3.connect(path)
        sql = FLOOR_SQL.format(lo="?", hi="?")
        params: tuple[Any, ...] = (lo.strftime("%Y-%m-%d %H:%M:%S.%f"), hi.strftime("%Y-%m-%d %H:%M:%S.%f"))
    else:
        import psycopg

        connection = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
        sql, params = FLOOR_SQL.format(lo="%s", hi="%s"), (lo, hi)
    try:
        return median_seconds(lambda: connection.execute(sql, params).fetchall(), runs)
    finally:
        connection.close()


def measure(label: str, url: str, count: int, runs: int) -> dict[str, float]:
    print(f"{label}: {url}", flush=True)
    ready(url, count)
    app = bootstrap(str(CONFIG), url, Clock(READ_AT))
    with app.uow(write=False) as uow:
        manager = uow.session.execute(select(USERS.c.name).where(USERS.c.role == "manager").limit(1)).scalar_one()
        total = uow.session.execute(select(func.count()).select_from(COMPLAINTS)).scalar_one()
    figures: dict[str, float] = {"complaints": total}
    for name in REPORTS:
        figures[name] = median_seconds(lambda name=name: report(app, manager, name, month=MONTH), runs)
        print(f"  {name:<13} {figures[name]:7.3f} s", flush=True)

    def pack() -> None:
        reports = [Report.from_json(data) for data in monthly_pack(app, manager, MONTH)]
        render(reports, Words(reports[0]), READ_AT)

    figures["pack"] = median_seconds(pack, runs)
    figures["floor"] = floor(url, runs)
    print(f"  {'pack':<13} {figures['pack']:7.3f} s (all six, read together, rendered to HTML)")
    print(f"  {'floor':<13} {figures['floor']:7.3f} s (one raw grouped aggregate over the month); "
          f"pack = {figures['pack'] / figures['floor']:.1f}x the floor", flush=True)
    app.engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="complaints to seed when a database is empty")
    parser.add_argument("--sqlite", help="SQLite file (seeded when missing)")
    parser.add_argument("--postgres", help="PostgreSQL URL of a database (seeded when it holds no complaints)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not args.sqlite and not args.postgres:
        parser.error("give --sqlite FILE and/or --postgres URL")
    results = {}
    if args.sqlite:
        results["sqlite"] = measure("SQLite", f"sqlite:///{Path(args.sqlite).resolve()}", args.count, args.runs)
    if args.postgres:
        results["postgres"] = measure("PostgreSQL", args.postgres, args.count, args.runs)
    print("\n| report | " + " | ".join(results) + " |\n|---|" + "---|" * len(results))
    for name in (*REPORTS, "pack", "floor"):
        print(f"| {name} | " + " | ".join(f"{r[name]:.2f} s" for r in results.values()) + " |")


if __name__ == "__main__":
    main()
