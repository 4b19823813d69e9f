"""Outbox delivery: messages/s to a local SMTP server, and the drain after a sender is killed mid-drain.

Prints the median of several runs of:
- messages delivered per second by `deliver_due` on SQLite to an aiosmtpd
  server on localhost running in its own process, as a real server does
  (claim, send over one connection, record each, one at a time), as a ratio
  to bare smtplib sending the same number of prebuilt messages over one
  connection to the same server in the same run;
- the wall time of `redress outbox send` draining `--drain` queued messages
  after another `redress outbox send` was killed with SIGKILL mid-drain
  (the drain first settles the message the killed one had in flight).

Usage: python bench/bench_outbox.py [--messages 3000] [--drain 20000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import smtplib
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from notifications.channels import build_email  # noqa: E402
from notifications.sender import deliver_due  # noqa: E402
from workflow.adapters.migrate import upgrade  # noqa: E402
from workflow.adapters.models import MESSAGES  # noqa: E402
from workflow.bootstrap import bootstrap  # noqa: E402
from workflow.domain.clock import Clock  # noqa: E402
from workflow.domain.vocabulary import LANGUAGES  # noqa: E402
from workflow.services import lifecycle as svc  # noqa: E402
from workflow.services.people import add_user  # noqa: E402

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
LEASE = 30
REDRESS = str(Path(sys.executable).with_name("redress"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_smtp_server() -> tuple[subprocess.Popen, int]:
    """aiosmtpd in its own process, keeping nothing (its Sink handler), once it accepts connections."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                               "-c", "aiosmtpd.handlers.Sink"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server, port
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise SystemExit("the aiosmtpd server did not start")


def write_config(folder: Path, port: int) -> Path:
    settings = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    settings["messages"]["email"] = {"type": "email", "host": "127.0.0.1", "port": port}
    settings["messages"]["sms"] = None
    settings["policy_manual"] = str(ROOT / "policy_manual.yaml")
    settings["outbox"] = {"lease_seconds": LEASE}
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return path


def queue(config: Path, url: str, count: int) -> None:
    """`count` pending acknowledgements: 30 filed through the services, the rest copies of them to new customers."""
    app = bootstrap(str(config), url, Clock(NOW))
    upgrade(app.engine)
    add_user(app, None, "boss", "manager")
    for i in range(30):
        svc.file_complaint(app, "boss", channel="email", category="delivery", summary="parcel late",
                           email=f"c{i}@example.com", name=f"Customer {i}", language=LANGUAGES[i % 3],
                           severity="low")
    with app.uow() as uow:
        filed = [dict(row._mapping) for row in uow.session.execute(select(MESSAGES))]
        copies = []
        for i in range(30, count):
            row = filed[i % len(filed)] | {"recipient": f"c{i}@example.com", "idempotency_key": uuid.uuid4().hex}
            row.pop("id")
            copies.append(row)
        for start in range(0, len(copies), 5000):
            uow.session.execute(insert(MESSAGES), copies[start:start + 5000])
        uow.commit()
    app.engine.dispose()


def outbox_rate(folder: Path, config: Path, template: Path, messages: int, run: int) -> float:
    """deliver_due draining `messages` queued acknowledgements, in messages per second."""
    db = folder / f"rate-{run}.db"
    shutil.copy(template, db)
    app = bootstrap(str(config), f"sqlite:///{db}", Clock(NOW))
    started = time.perf_counter()
    report = deliver_due(app)
    elapsed = time.perf_counter() - started
    app.engine.dispose()
    if report.sent != messages:
        raise SystemExit(f"delivery sent {report.sent} of {messages}: {report}")
    return messages / elapsed


def prebuilt(template: Path, count: int) -> list[tuple[str, bytes]]:
    with sqlite3.connect(template) as connection:
        rows = connection.execute("SELECT recipient, subject, body, body_html, locale, idempotency_key, created_at "
                                  "FROM message ORDER BY id LIMIT ?", (count,)).fetchall()
    mails = [build_email("redress@localhost", SimpleNamespace(
        recipient=r[0], subject=r[1], body=r[2], body_html=r[3], locale=r[4], idempotency_key=r[5],
        created_at=datetime.fromisoformat(r[6]).replace(tzinfo=UTC))) for r in rows]
    return [(mail["To"], mail.as_bytes(policy=mail.policy.clone(linesep="\r\n"))) for mail in mails]


def bare_smtp_rate(port: int, mails: list[tuple[str, bytes]]) -> float:
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for recipient, content in mails:
            smtp.sendmail("redress@localhost", [recipient], content)
    return len(mails) / (time.perf_counter() - started)


def sent_so_far(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as connection:
            return connection.execute("SELECT count(*) FROM message WHERE status = 'sent'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def drain_after_kill(folder: Path, config: Path, template: Path, kill_after: int, run: int) -> tuple[float, str]:
    """Kill a sender once it has sent `kill_after`; time the next sender draining the rest."""
    db = folder / f"drain-{run}.db"  # a fresh name: the killed sender leaves its -wal and -shm files behind
    shutil.copy(template, db)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
    env |= {"REDRESS_CONFIG": str(config), "REDRESS_DB": f"sqlite:///{db}", "REDRESS_NOW": NOW.isoformat()}
    victim = subprocess.Popen([REDRESS, "outbox", "send"], env=env, stdout=subprocess.DEVNULL)
    while sent_so_far(db) < kill_after and victim.poll() is None:
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    env["REDRESS_NOW"] = (NOW + timedelta(seconds=LEASE + 1)).isoformat()
    started = time.perf_counter()
    drain = subprocess.run([REDRESS, "outbox", "send"], env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, drain.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--drain", type=int, default=20_000)
    parser.add_argument("--kill-after", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    server, port = start_smtp_server()
    try:
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            config = write_config(folder, port)
            rate_template, drain_template = folder / "rate-template.db", folder / "drain-template.db"
            queue(config, f"sqlite:///{rate_template}", args.messages)
            mails = prebuilt(rate_template, args.messages)
            ours, bare = [], []
            for run in range(args.runs):
                ours.append(outbox_rate(folder, config, rate_template, args.messages, run))
                bare.append(bare_smtp_rate(port, mails))
            print(f"Outbox delivery to aiosmtpd (own process) on localhost, SQLite, {args.messages} messages, "
                  f"median of {args.runs} runs:")
            ours_m, bare_m = statistics.median(ours), statistics.median(bare)
            print(f"  deliver_due {ours_m:8,.0f} messages/s   bare smtplib, prebuilt {bare_m:8,.0f}/s   "
                  f"ratio {ours_m / bare_m:.2f}")

            queue(config, f"sqlite:///{drain_template}", args.drain + args.kill_after)
            drains = []
            for run in range(args.runs):
                seconds, said = drain_after_kill(folder, config, drain_template, args.kill_after, run)
                drains.append(seconds)
                print(f"  drain run: {seconds:.1f} s ({said})")
            drain_m = statistics.median(drains)
            print(f"Drain of {args.drain:,} messages left after SIGKILL of a sender that had sent "
                  f"{args.kill_after:,}, median of {args.runs} runs:")
            print(f"  {drain_m:.1f} s, {args.drain / drain_m:,.0f} messages/s (target: under 90 s)")
    finally:
        server.kill()


if __name__ == "__main__":
    main()
