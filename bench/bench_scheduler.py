"""Catch-up of the real `redress scheduler` on a big SQLite database, measured from outside its process.

The database is a year of history seeded by bench/seed_history.py (--complaints; 1,000,000 is 4.1M deadlines,
8.7M events, about 3 GB). Once per size a template is made from it: --missed breach and warning deadlines of
open complaints, spread over the deadline table, are set pending again (fired_at NULL), as if the scheduler
had been down when they fell due. Each run copies the template, starts `redress scheduler` on the copy with
the clock pinned at the end of the seeded year (REDRESS_NOW) and the bench config (no mailbox, no report
pack), and watches it from this process:

- progress: how many of those deadlines are still pending and due, counted through the partial index
  ix_deadline_pending_due, on a fresh connection closed after each look (no reader pins the WAL), every
  --poll seconds; catch-up ends when none is left, or at the scheduler's own "fired N deadline(s)" line;
- peak memory: the scheduler's own, VmHWM from /proc/<pid>/status sampled at each look (reported), and
  ru_maxrss from wait4() when it exits (SIGTERM once caught up), with its user and system CPU time. ru_maxrss
  is shown beside it only: it also counts the pages the child shared with this process between fork and
  exec, so after this process seeded a database itself it reports this process's size (567 MB at 1M);
- the WAL's largest size seen, and aggregate checks in SQL at the end: deadlines fired at the pinned now,
  none left due, none failed.

The scheduler also delivers the staff alerts its firing queues (to the config's folder channel), as it does
in production. Prints one line per run and a table with the median catch-up rate.

--pragma NAME=VALUE (repeatable) adds a PRAGMA on every SQLite connection of the scheduler, after the engine's
own, to try a setting without changing the code.

Usage: python bench/bench_scheduler.py --db /tmp/scale/s1m.db --complaints 1000000 [--missed 25000] [--runs 3]
           [--pragma cache_size=-65536]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REDRESS = Path(sys.executable).parent / "redress"
UNTIL = "2026-12-01"
NOW = "2026-12-01T00:00:00+08:00"  # the end of the seeded year: seed_history's --until, local midnight
NOW_STORED = "2026-11-30 16:00:00.000000"  # the same instant as SQLite stores a UTC time
KINDS = ("first_response", "resolution", "first_response_warning", "resolution_warning")
# Pending and due: the scheduler's own sweep condition, answered by the partial index ix_deadline_pending_due.
LEFT = ("SELECT count(*) FROM deadline INDEXED BY ix_deadline_pending_due "
        "WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= ?")


def bench_config(folder: Path) -> Path:
    """The shipped config with no mailbox to read and no report pack to send; the outbox folder is here."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    config["policy_manual"] = str(ROOT / "policy_manual.yaml")
    config["mail"]["mailboxes"] = []
    config["reports"]["mail"]["day"] = None
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def template(db: Path, complaints: int, missed: int) -> Path:
    """The seeded database with `missed` deadlines pending again; made once per size and count."""
    if not db.exists():
        import seed_history

        print(f"seeding {complaints:,} complaints into {db} (bench/seed_history.py) ...", flush=True)
        seed_history.main(["--url", str(db), "--count", str(complaints), "--until", UNTIL])
    made = db.with_name(f"{db.stem}.missed-{missed}{db.suffix}")
    if made.exists():
        at_head(made)
        return made
    print(f"making {made.name}: {missed:,} deadlines of open complaints pending again ...", flush=True)
    partial = made.with_name(made.name + ".part")
    shutil.copyfile(db, partial)
    at_head(partial)  # before deadlines are set pending again, so no migration reads them as never fired
    connection = sqlite3.connect(partial, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        kinds = ", ".join(f"'{k}'" for k in KINDS)
        # Spread over the table (a multiplicative hash of the id), not the oldest ones together.
        changed = connection.execute(
            f"UPDATE deadline SET fired_at = NULL WHERE id IN (SELECT d.id FROM deadline d "
            f"JOIN complaint c ON c.id = d.complaint_id WHERE c.is_open = 1 AND d.fired_at IS NOT NULL "
            f"AND d.cancelled_at IS NULL AND d.set_aside_at IS NULL AND d.kind IN ({kinds}) AND d.due_at <= ? "
            f"ORDER BY (d.id * 2654435761) % 4294967291 LIMIT ?)", (NOW_STORED, missed)).rowcount
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    if changed != missed:
        partial.unlink()
        raise SystemExit(f"only {changed:,} fired deadlines of open complaints to set pending; use --missed {changed}")
    partial.rename(made)
    return made


def at_head(db: Path) -> None:
    """A database made by older code migrated to this code's schema (as `redress db upgrade` would), or the
    scheduler would only wait for that upgrade. A template made by older code is migrated as it is."""
    from workflow.adapters.migrate import upgrade
    from workflow.bootstrap import bootstrap

    app = bootstrap(str(ROOT / "config.yaml"), str(db))
    upgrade(app.engine)
    app.engine.dispose()


def left_due(db: Path) -> int:
    """Deadlines pending and due at the pinned now, on a connection of its own (closed at once)."""
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return int(connection.execute(LEFT, (NOW_STORED,)).fetchone()[0])
    finally:
        connection.close()


def fired_at_now(db: Path) -> int:
    """Deadlines fired at the pinned now (an aggregate: no rows leave the database)."""
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return int(connection.execute("SELECT count(*) FROM deadline WHERE fired_at = ?", (NOW_STORED,)).fetchone()[0])
    finally:
        connection.close()


def status(pid: int) -> dict[str, int]:
    """VmHWM and VmRSS of a process, in kB ({} once it is gone)."""
    found = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                found[key] = int(value.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return found


def pragma_hook(folder: Path, pragmas: list[str]) -> Path:
    """A sitecustomize module that sends `pragmas` on every SQLite connection the scheduler opens, after the
    engine's own: to try a setting on the real process without changing it."""
    hook = folder / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(
        "from sqlalchemy import event\nfrom sqlalchemy.engine import Engine\n\n\n"
        "@event.listens_for(Engine, 'connect')\n"
        "def _pragmas(connection, _record):\n"
        "    if type(connection).__module__.startswith('sqlite3'):\n"
        f"        for pragma in {pragmas!r}:\n"
        "            connection.execute('PRAGMA ' + pragma)\n", encoding="utf-8")
    return hook


def one_run(made: Path, work: Path, config: Path, missed: int, poll: float, timeout: float,
            pragmas: list[str]) -> dict[str, float]:
    db = work / "catchup.db"
    shutil.copyfile(made, db)
    before = left_due(db)
    fired_before = fired_at_now(db)  # a `tick` on the seeded file may have fired some at this instant already
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
    env.update(REDRESS_CONFIG=str(config), REDRESS_DB=str(db), REDRESS_NOW=NOW, HOME=str(work),
               XDG_CONFIG_HOME=str(work))
    if pragmas:
        env["PYTHONPATH"] = str(pragma_hook(work, pragmas))
    lines: list[tuple[float, str]] = []
    started = time.perf_counter()
    child = subprocess.Popen([str(REDRESS), "scheduler"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.append((time.perf_counter(), line.rstrip()))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    hwm = wal = 0
    done = None
    while time.perf_counter() - started < timeout:
        time.sleep(poll)
        hwm = max(hwm, status(child.pid).get("VmHWM", 0))
        wal_file = db.with_name(db.name + "-wal")
        wal = max(wal, wal_file.stat().st_size if wal_file.exists() else 0)
        if child.poll() is not None:
            raise SystemExit("the scheduler exited: " + " | ".join(text for _, text in lines[-5:]))
        if left_due(db) == 0:
            done = time.perf_counter()
            break
    if done is None:
        child.kill()
        raise SystemExit(f"not caught up after {timeout:.0f} s")
    fired_lines = [at for at, text in lines if "scheduler: fired" in text]
    finished = fired_lines[0] if fired_lines else done  # the first sweep's own line: it fires all that was due
    hwm = max(hwm, status(child.pid).get("VmHWM", 0))
    child.send_signal(signal.SIGTERM)
    _, exit_status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(exit_status)
    reader.join(timeout=5)
    fired = fired_at_now(db) - fired_before
    connection = sqlite3.connect(db)
    try:
        failed = connection.execute("SELECT count(*) FROM deadline WHERE fire_attempts > 0").fetchone()[0]
    finally:
        connection.close()
    for suffix in ("", "-wal", "-shm", ".scheduler.lock"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    # The seeded year may leave a few deadlines of its own due at its end, beside the missed ones: all are fired.
    if before < missed or fired != before or failed:
        raise SystemExit(f"expected at least {missed:,} due and all fired, found {before:,} due, {fired:,} fired, "
                         f"{failed} failed")
    return {"deadlines": before, "seconds": finished - started, "rate": before / (finished - started),
            "hwm_mb": hwm / 1024,
            "maxrss_mb": usage.ru_maxrss / 1024, "user_s": usage.ru_utime, "sys_s": usage.ru_stime,
            "wal_mb": wal / 1e6, "exit": child.returncode,
            "per_cpu_s": before / max(usage.ru_utime + usage.ru_stime, 1e-9)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, required=True, help="seeded SQLite file (seeded first if missing)")
    parser.add_argument("--complaints", type=int, default=100_000, help="complaints to seed if --db is missing")
    parser.add_argument("--missed", type=int, default=25_000, help="deadlines missed while no scheduler ran")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--poll", type=float, default=0.5, help="seconds between looks at the database")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--pragma", action="append", default=[], metavar="NAME=VALUE",
                        help="a PRAGMA for the scheduler's connections on top of the engine's (repeat), to try one")
    args = parser.parse_args()
    db = args.db.resolve()
    made = template(db, args.complaints, args.missed)
    connection = sqlite3.connect(f"file:{made}?mode=ro", uri=True)
    complaints, open_, deadlines = connection.execute(
        "SELECT count(*), sum(is_open), (SELECT max(id) FROM deadline) FROM complaint").fetchone()
    plan = connection.execute("EXPLAIN QUERY PLAN " + LEFT, (NOW_STORED,)).fetchall()[0][3]
    connection.close()
    print(f"{complaints:,} complaints ({open_:,} open), {deadlines:,} deadlines, "
          f"{made.stat().st_size / 1e9:.2f} GB; progress read by: {plan}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(dir=db.parent) as folder:
        config = bench_config(Path(folder))
        for run in range(args.runs):
            result = one_run(made, Path(folder), config, args.missed, args.poll, args.timeout, args.pragma)
            results.append(result)
            print(f"run {run + 1}: {result['deadlines']:,.0f} deadlines in {result['seconds']:.1f} s = "
                  f"{result['rate']:,.0f}/s; "
                  f"peak RSS {result['hwm_mb']:.0f} MB (VmHWM; ru_maxrss {result['maxrss_mb']:.0f} MB); "
                  f"CPU user {result['user_s']:.1f} s, system {result['sys_s']:.1f} s "
                  f"({result['per_cpu_s']:,.0f} deadlines per CPU-second); "
                  f"WAL up to {result['wal_mb']:.0f} MB; exit {result['exit']}", flush=True)
    median = {key: statistics.median(r[key] for r in results) for key in results[0]}
    extra = f" with PRAGMA {', '.join(args.pragma)}" if args.pragma else ""
    print(f"\n`redress scheduler` catch-up, SQLite{extra}, {complaints:,} complaints, median of {args.runs} runs:")
    print("| complaints | missed deadlines | catch-up | per CPU-second | peak RSS (scheduler) | CPU user / system "
          "| WAL max |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {complaints:,} | {args.missed:,} | {median['rate']:,.0f} /s ({median['seconds']:.1f} s; "
          f"{min(r['rate'] for r in results):,.0f}-{max(r['rate'] for r in results):,.0f}) | "
          f"{median['per_cpu_s']:,.0f} /s | {median['hwm_mb']:.0f} MB | "
          f"{median['user_s']:.1f} s / {median['sys_s']:.1f} s | "
          f"{median['wal_mb']:.0f} MB |")


if __name__ == "__main__":
    main()
