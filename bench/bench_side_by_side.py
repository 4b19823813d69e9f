"""Several `redress scheduler` processes on one PostgreSQL database: firing and delivery rates by how many run.

For each number of schedulers (1, 2 and 4 by default) a fresh database gets the same backlog: critical
complaints imported as filed three days ago (`redress import`'s service), so every SLA deadline is due, four
per complaint. The schedulers start together and are watched from outside: progress is counted through the
deadline table's partial index and the outbox's status, on short-lived connections; their staff alerts go by
email to an aiosmtpd sink in a process of its own. Reported: deadlines fired per second (from the first
scheduler's start to the last deadline fired), alerts delivered per second (to the last one sent), each with
its scaling factor against one scheduler, and the peak resident memory of each scheduler (VmHWM).

Usage: python bench/bench_side_by_side.py --url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
       [--deadlines 100000] [--schedulers 1,2,4]
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workflow.adapters.migrate import upgrade  # noqa: E402
from workflow.bootstrap import bootstrap  # noqa: E402
from workflow.services.importing import import_complaints  # noqa: E402
from workflow.services.people import add_user  # noqa: E402

REDRESS = Path(sys.executable).parent / "redress"
# Pending and due: what the scheduler's own partial index answers.
_LEFT = ("SELECT count(*) FROM deadline WHERE fired_at IS NULL AND cancelled_at IS NULL AND set_aside_at IS NULL "
         "AND due_at <= now()")
_UNSENT = "SELECT count(*) FROM message WHERE audience = 'staff' AND status IN ('pending', 'sending', 'held')"
_ALERTS = "SELECT count(*), count(*) FILTER (WHERE status = 'sent') FROM message WHERE audience = 'staff'"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def fresh_database(admin_url: str) -> str:
    name = f"redress_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(plain(admin_url), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{admin_url.rpartition('/')[0]}/{name}"


def drop_database(url: str) -> None:
    admin = plain(url).rpartition("/")[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')


def bench_config(folder: Path, smtp_port: int) -> Path:
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    config["alerts"] = {"channels": [{"type": "email", "host": "127.0.0.1", "port": smtp_port}],
                        "fallback_email": None, "staff_hours": {}}
    config["messages"]["email"] = {"type": "email", "host": "127.0.0.1", "port": smtp_port}
    config["messages"]["sms"] = None
    config["reports"] = {"mail": {"day": None}}
    config["policy_manual"] = str(ROOT / "policy_manual.yaml")
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def backlog(config: Path, url: str, folder: Path, complaints: int) -> int:
    """Import `complaints` critical complaints filed three days ago; the number of deadlines due."""
    app = bootstrap(str(config), url)
    upgrade(app.engine)
    add_user(app, None, "boss", "manager", email="boss@example.cn")
    for name, role in (("sup", "supervisor"), ("sen", "senior"), ("amy", "agent")):
        add_user(app, "boss", name, role, email=f"{name}@example.cn")
    filed = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="minutes")
    source = folder / "backlog.csv"
    with source.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["ref", "created_at", "category", "channel", "summary", "phone", "name", "severity"])
        for i in range(complaints):
            writer.writerow([f"B-{i}", filed, "delivery", "phone", "parcel lost", f"139{i:08d}", "客户", "critical"])
    import_complaints(app, "boss", source)
    app.engine.dispose()
    with psycopg.connect(plain(url)) as connection:
        return int(connection.execute(_LEFT).fetchone()[0])  # type: ignore[index]


def peak_rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def one_run(admin_url: str, schedulers: int, complaints: int, folder: Path) -> dict[str, float]:
    port = free_port()
    sink = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                             "-c", "aiosmtpd.handlers.Sink"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = fresh_database(admin_url)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        config = bench_config(folder, port)
        due = backlog(config, url, folder, complaints)
        env = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
        env |= {"REDRESS_CONFIG": str(config), "REDRESS_DB": url}
        started = time.perf_counter()
        processes = [subprocess.Popen([str(REDRESS), "scheduler"], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL) for _ in range(schedulers)]
        fired_at = sent_at = None
        peaks = [0] * schedulers
        while sent_at is None and time.perf_counter() - started < 3600:
            time.sleep(0.25)
            peaks = [max(peak, peak_rss_kb(p.pid)) for peak, p in zip(peaks, processes, strict=True)]
            with psycopg.connect(plain(url), autocommit=True) as connection:
                if fired_at is None and connection.execute(_LEFT).fetchone()[0] == 0:  # type: ignore[index]
                    fired_at = time.perf_counter()
                if fired_at is not None and connection.execute(_UNSENT).fetchone()[0] == 0:  # type: ignore[index]
                    sent_at = time.perf_counter()
                    alerts, sent = connection.execute(_ALERTS).fetchone()  # type: ignore[misc]
        if fired_at is None or sent_at is None:
            raise SystemExit("the schedulers did not finish within an hour")
        return {"due": due, "fire_s": fired_at - started, "send_s": sent_at - started, "alerts": alerts,
                "sent": sent, "peak_mb": max(peaks) / 1024}
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        sink.terminate()
        sink.wait(timeout=10)
        drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("REDRESS_TEST_PG_URL"), help="a PostgreSQL admin URL")
    parser.add_argument("--deadlines", type=int, default=100_000)
    parser.add_argument("--schedulers", default="1,2,4")
    args = parser.parse_args()
    if not args.url:
        raise SystemExit("give --url (a PostgreSQL database the bench may create databases from)")
    counts = [int(n) for n in args.schedulers.split(",")]
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for count in counts:
            results[count] = one_run(args.url, count, args.deadlines // 4, Path(folder))
            row = results[count]
            print(f"{count} scheduler(s): {row['due']:.0f} deadlines fired in {row['fire_s']:.1f}s, "
                  f"{row['sent']:.0f}/{row['alerts']:.0f} alerts sent by {row['send_s']:.1f}s, "
                  f"peak RSS {row['peak_mb']:.0f} MB", flush=True)
    first = results[counts[0]]
    print("\n| schedulers | deadlines fired/s | scaling | alerts delivered/s | scaling | peak RSS each |")
    print("|---|---|---|---|---|---|")
    for count, row in results.items():
        fire, send = row["due"] / row["fire_s"], row["alerts"] / row["send_s"]
        print(f"| {count} | {fire:,.0f} | {fire / (first['due'] / first['fire_s']):.2f}x | {send:,.0f} | "
              f"{send / (first['alerts'] / first['send_s']):.2f}x | {row['peak_mb']:.0f} MB |")


if __name__ == "__main__":
    main()
