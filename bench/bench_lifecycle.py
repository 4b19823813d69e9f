"""Lifecycle throughput on SQLite: filing and transitions through the services, and CLI latency.

Prints the median of several runs of:
- complaints filed/s and transitions/s through the services (one transaction each),
  each as a ratio to a raw sqlite3 loop inserting one row per transaction, measured
  in the same run just before filing and just after the transitions (their mean), so a
  machine shared with other work weighs on both sides of the ratio alike;
- the wall time of `redress show N --json` and `redress queue --json` at that size,
  as a ratio to `python -c "import sqlmodel"`, all measured in the same run (not with --no-cli).

Usage: python bench/bench_lifecycle.py [--complaints 100000] [--runs 3] [--no-cli]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workflow.adapters.migrate import upgrade  # noqa: E402
from workflow.bootstrap import bootstrap  # noqa: E402
from workflow.domain.clock import Clock  # noqa: E402
from workflow.services import lifecycle as svc  # noqa: E402
from workflow.services.people import add_user  # noqa: E402

REDRESS = Path(sys.executable).parent / "redress"
CATEGORIES = ["delivery", "damaged", "quality", "refund", "return", "warranty", "billing", "service"]
CHANNELS = ["phone", "web", "email", "chat", "fax", "letter"]
SUMMARIES = ["快递十天没到", "The jug arrived cracked", "退款还没到账，太差了", "发错颜色", "保固期内坏了，要维修"]


def raw_sqlite_inserts(path: Path, rows: int) -> float:
    """The floor: plain sqlite3, one small row per committed transaction, same pragmas as the engine."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, number TEXT, state TEXT, summary TEXT)")
    started = time.perf_counter()
    for i in range(rows):
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO t (number, state, summary) VALUES (?, ?, ?)", (f"C-{i}", "received", "x"))
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return rows / elapsed


def wall_time(command: list[str], env: dict[str, str], repeats: int = 5) -> float:
    """Median wall time of a whole process."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode:
            raise SystemExit(f"{' '.join(command[1:])} failed ({done.returncode}): {done.stderr.strip()}")
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def one_run(complaints: int, folder: Path, cli: bool) -> dict[str, float]:
    db = folder / "redress.db"
    clock = Clock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    app = bootstrap(str(ROOT / "config.yaml"), str(db), clock)
    upgrade(app.engine)
    add_user(app, None, "boss", "manager")
    add_user(app, "boss", "amy", "agent")

    floor_before = raw_sqlite_inserts(folder / "raw-before.db", min(complaints, 20_000))

    numbers = []
    started = time.perf_counter()
    for i in range(complaints):
        clock.pin(clock.now() + timedelta(seconds=1))
        outcome = svc.file_complaint(
            app, "amy", channel=CHANNELS[i % len(CHANNELS)], category=CATEGORIES[i % len(CATEGORIES)],
            summary=SUMMARIES[i % len(SUMMARIES)], phone=f"139{i % 20_000:08d}", name=f"客户{i % 20_000}",
            order_ref=f"SO-{i % 50_000}", severity=None if i % 2 else "medium",
        )
        numbers.append(outcome.number)
    filed_per_s = complaints / (time.perf_counter() - started)

    started = time.perf_counter()
    for number in numbers:
        svc.triage(app, "amy", number)
    transitions_per_s = complaints / (time.perf_counter() - started)
    app.engine.dispose()
    floor = (floor_before + raw_sqlite_inserts(folder / "raw-after.db", min(complaints, 20_000))) / 2
    result = {
        "raw_inserts_per_s": floor,
        "filed_per_s": filed_per_s,
        "transitions_per_s": transitions_per_s,
        "filed_ratio": filed_per_s / floor,
        "transitions_ratio": transitions_per_s / floor,
    }
    if not cli:
        return result

    env = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
    env.update(REDRESS_CONFIG=str(ROOT / "config.yaml"), REDRESS_DB=str(db), REDRESS_USER="amy")
    import_floor = wall_time([sys.executable, "-c", "import sqlmodel"], env)
    show = wall_time([str(REDRESS), "show", numbers[len(numbers) // 2], "--json"], env)
    queue = wall_time([str(REDRESS), "queue", "--json"], env)
    return result | {"import_sqlmodel_s": import_floor, "show_s": show, "queue_s": queue}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-cli", action="store_true", help="only filing and transitions")
    args = parser.parse_args()
    runs = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            result = one_run(args.complaints, Path(folder), not args.no_cli)
        runs.append(result)
        print(f"run {run + 1}: " + ", ".join(f"{k}={v:,.3f}" for k, v in result.items()), flush=True)
    median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    print(f"\nmedian of {args.runs} runs, {args.complaints:,} complaints, SQLite:")
    print(f"  raw sqlite3 insert+commit floor : {median['raw_inserts_per_s']:>9,.0f} rows/s")
    print(f"  complaints filed (services)     : {median['filed_per_s']:>9,.0f} /s  "
          f"({median['filed_ratio']:.3f} x floor; target >= 3,000/s)")
    print(f"  transitions (services)          : {median['transitions_per_s']:>9,.0f} /s  "
          f"({median['transitions_ratio']:.3f} x floor; target >= 8,000/s)")
    if args.no_cli:
        return
    print(f"  python -c 'import sqlmodel'     : {median['import_sqlmodel_s'] * 1000:>9,.0f} ms")
    print(f"  redress show N --json           : {median['show_s'] * 1000:>9,.0f} ms  "
          f"({median['show_s'] / median['import_sqlmodel_s']:.2f} x import; target <= 1.5x)")
    print(f"  redress queue --json            : {median['queue_s'] * 1000:>9,.0f} ms  "
          f"({median['queue_s'] / median['import_sqlmodel_s']:.2f} x import)")


if __name__ == "__main__":
    main()
