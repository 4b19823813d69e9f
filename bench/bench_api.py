"""The server under load: `show`, `queue` and filing through the API, against the same operations in process.

Seeds N complaints (a thousand filed through the services over the last day, a fifth of them on amy's desk and
two fifths closed; then copied, a day further back each time, with their events, deadlines and steps, through
SQLAlchemy Core: filing 100,000 through the services would take minutes), starts the real `redress serve`
(uvicorn, 1 worker on SQLite; 2 on PostgreSQL when REDRESS_BENCH_PG_URL names an admin URL, as
REDRESS_TEST_PG_URL does) and signs 16 clients in. Then, in each round, each operation with 16 threads,
first through the API, then in process:
- through the API: GET /api/v1/complaints/{ref} (random complaints), GET /api/v1/complaints (the queue),
  POST /api/v1/complaints (filing), over keep-alive httpx connections;
- in process: `perform` on the same operations as the same signed-in principal (the server does that plus
  the sign-in check, HTTP, validation and JSON), so the ratio is the server's overhead.
Prints the median over rounds of requests/s, p50/p99 latency and CPU per request (the server's, the clients',
the in-process calls': unlike the rates, it hardly moves with what else the machine runs), and the targets of
issue 14 met or missed.
With --profile: cProfile of the in-process calls and py-spy (if installed) on the server while it serves.

Usage: python bench/bench_api.py [--complaints 100000] [--rounds 3] [--requests 1600] [--quick] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import delete, insert, select, text  # noqa: E402

from workflow.adapters.migrate import upgrade  # noqa: E402
from workflow.adapters.models import COMPLAINTS, DEADLINES, EVENTS, STEPS, NumberSequence  # noqa: E402
from workflow.bootstrap import Redress, bootstrap  # noqa: E402
from workflow.domain.clock import Clock  # noqa: E402
from workflow.faces.operations import BY_NAME, perform  # noqa: E402
from workflow.services import lifecycle as svc  # noqa: E402
from workflow.services.people import add_user  # noqa: E402
from workflow.services.signin import authenticate, reset_password, set_password  # noqa: E402

CONFIG = ROOT / "config.yaml"
REDRESS = Path(sys.executable).parent / "redress"
CLIENTS = 16
TEMPLATES = 1_000
CATEGORIES = ["delivery", "damaged", "quality", "refund", "return", "warranty", "billing", "service"]
SEVERITIES = ["low", "medium", "high", "critical"]
CHANNELS = ["phone", "email", "web", "chat"]
SUMMARIES = ["快递十天没到，再不处理我就找律师", "The jug arrived cracked and the lid is missing",
             "退款还没到账，已经两周了", "发错颜色", "保固期内坏了，要维修"]
STAFF = (("sup", "supervisor"), ("amy", "agent"), ("bob", "agent"))
TARGET_P99_MS = 100
TARGET_FILINGS = 300


def password_of(name: str) -> str:
    return f"{name}-password-1"


# --- seeding --------------------------------------------------------------------------------------------------


def seed(url: str, complaints: int) -> list[str]:
    """`complaints` complaints and staff with passwords; the complaint numbers.

    A fifth of the first thousand stay on amy's desk, two fifths are resolved (closed unless a compensation step
    the rules planned is still open), the rest wait for triage.
    """
    templates = min(TEMPLATES, complaints)
    now = datetime.now(UTC)
    step = timedelta(days=1) / templates
    start = now - timedelta(days=1)
    clock = Clock(start)
    app = bootstrap(str(CONFIG), url, clock)
    upgrade(app.engine)
    add_user(app, None, "boss", "manager")
    set_password(app, "boss", None, password_of("boss"))
    for name, role in STAFF:
        add_user(app, "boss", name, role)
        reset_password(app, "boss", name, password_of(name))
    for i in range(templates):
        clock.pin(start + step * i)
        number = svc.file_complaint(
            app, "bob", channel=CHANNELS[i % len(CHANNELS)], category=CATEGORIES[i % len(CATEGORIES)],
            summary=SUMMARIES[i % len(SUMMARIES)], phone=f"139{i % 5_000:08d}", name=f"客户{i % 5_000}",
            order_ref=f"SO-{i}", severity=SEVERITIES[i % len(SEVERITIES)],
        ).number
        if i % 5 in (0, 1, 2):
            svc.triage(app, "amy", number)
            svc.assign(app, "amy", number)
        if i % 5 in (1, 2):
            svc.start(app, "amy", number)
            svc.respond(app, "amy", number, "已联系快递公司，明天送到")
            resolved = svc.resolve(app, "amy", number, "重新发货")
            if not resolved.planned_steps:  # a planned step (a replacement, a refund) keeps it resolved, not closed
                svc.close(app, "amy", number)
    copy_back(app, complaints // templates - 1, timedelta(days=1))
    with app.engine.connect() as connection:
        numbers = list(connection.execute(select(COMPLAINTS.c.number)).scalars())
    app.engine.dispose()
    return numbers


def copy_back(app: Redress, copies: int, span: timedelta) -> None:
    """Copies of every complaint with its events, deadlines and steps, each copy `span` further in the past.

    Ids are offset per copy; numbers follow the day each copy was filed on, and the day counters are kept, so
    the database is one the services could have written.
    """
    timezone = ZoneInfo(app.config.timezone)
    tables = (COMPLAINTS, STEPS, EVENTS, DEADLINES)
    sequences = NumberSequence.__table__
    with app.engine.begin() as connection:
        rows = {table.name: [dict(row) for row in connection.execute(select(table).order_by(table.c.id)).mappings()]
                for table in tables}
        top = {table.name: max((row["id"] for row in rows[table.name]), default=0) for table in tables}
        days = dict(connection.execute(select(sequences.c.day, sequences.c.last)).all())
        for copy in range(1, copies + 1):
            complaints = [moved(row, "complaint", copy, top, span) for row in rows["complaint"]]
            for complaint in complaints:
                day = complaint["created_at"].astimezone(timezone).strftime("%Y%m%d")
                days[day] = days.get(day, 0) + 1
                complaint["number"] = f"C-{day}-{days[day]:04d}"
            connection.execute(insert(COMPLAINTS), complaints)
            for table in tables[1:]:
                if rows[table.name]:
                    connection.execute(insert(table), [moved(row, table.name, copy, top, span)
                                                       for row in rows[table.name]])
        connection.execute(delete(sequences))
        connection.execute(insert(sequences), [{"day": day, "last": last} for day, last in days.items()])
        if connection.dialect.name == "postgresql":
            for table in tables:
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                        f"(SELECT max(id) FROM {table.name}))"))


def moved(row: dict[str, Any], table: str, copy: int, top: dict[str, int], span: timedelta) -> dict[str, Any]:
    """The row of copy number `copy`: its times `span` earlier per copy, its ids and references offset."""
    new = {key: value - span * copy if isinstance(value, datetime) else value for key, value in row.items()}
    new["id"] = row["id"] + top[table] * copy
    for key, target in (("complaint_id", "complaint"), ("duplicate_of_id", "complaint"),
                        ("step_id", "compensation_step")):
        if new.get(key) is not None:
            new[key] += top[target] * copy
    return new


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh database on the PostgreSQL server of `admin_url`, dropped afterwards."""
    import psycopg

    name = f"redress_bench_{uuid.uuid4().hex[:12]}"
    admin = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_url.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the server -----------------------------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(url: str, workers: int, log: Path) -> Server:
    """`redress serve` on a free port, answering /health; its access log goes to `log`."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
    environment.update(REDRESS_CONFIG=str(CONFIG), REDRESS_DB=url)
    with log.open("wb") as sink:
        process = subprocess.Popen([str(REDRESS), "serve", "--port", str(port), "--workers", str(workers)],
                                   env=environment, stdout=sink, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"redress serve exited {process.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"redress serve did not answer within 60 s: {log.read_text()}")


def stop_server(server: Server) -> None:
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()


def sign_in_clients(server: Server) -> list[str]:
    """One session token per client, half amy's and half bob's."""
    tokens = []
    for i in range(CLIENTS):
        name = "amy" if i % 2 == 0 else "bob"
        answer = httpx.post(f"{server.url}/api/v1/sign-in", json={"name": name, "password": password_of(name)})
        answer.raise_for_status()
        tokens.append(answer.json()["token"])
    return tokens


# --- load -----------------------------------------------------------------------------------------------------


@dataclass
class Result:
    rate: float  # requests/s over the whole burst
    p50_ms: float
    p99_ms: float
    cpu_ms: float  # this process's CPU per call: the calls themselves in process, the HTTP clients on the API
    server_ms: float  # the server's CPU per request (all its workers); 0 in process


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children (uvicorn's workers), from /proc; 0 where there is none."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(int(child)) for child in children)


def burst(workers: list[Callable[[int], None]], requests: int, server_pid: int | None = None) -> Result:
    """`requests` calls spread over one thread per worker, started together; each call is timed, and the CPU
    this process and the server spent is counted (CPU per request does not depend on what else the machine
    runs, as requests/s and latencies do)."""
    latencies: list[list[float]] = [[] for _ in workers]
    gate = threading.Barrier(len(workers) + 1)

    def run(index: int) -> None:
        call, mine = workers[index], latencies[index]
        gate.wait()
        for job in range(index, requests, len(workers)):
            started = time.perf_counter()
            call(job)
            mine.append(time.perf_counter() - started)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(workers))]
    for thread in threads:
        thread.start()
    gate.wait()
    started, cpu = time.perf_counter(), time.process_time()
    server_cpu = cpu_seconds(server_pid) if server_pid else 0.0
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    server_cpu = cpu_seconds(server_pid) - server_cpu if server_pid else 0.0
    every = [latency for mine in latencies for latency in mine]
    if len(every) != requests:
        raise SystemExit(f"only {len(every)} of {requests} calls answered; see the errors above")
    return Result(requests / elapsed, percentile(every, 0.5) * 1000, percentile(every, 0.99) * 1000,
                  cpu * 1000 / requests, server_cpu * 1000 / requests)


def filing(job: int, tag: str) -> dict[str, Any]:
    """A new complaint's fields: a customer on file four times in five, a new one the fifth time."""
    phone = f"138{tag}{job:06d}" if job % 5 == 0 else f"139{job * 7 % TEMPLATES:08d}"
    return {"channel": CHANNELS[job % len(CHANNELS)], "category": CATEGORIES[job % len(CATEGORIES)],
            "summary": SUMMARIES[job % len(SUMMARIES)], "phone": phone, "name": f"客户{job}",
            "order_ref": f"SO-{tag}-{job}"}


class Load:
    """The three operations through the API and in process, each as 16 workers."""

    def __init__(self, app: Redress, server: Server, tokens: list[str], numbers: list[str]) -> None:
        self.app, self.server, self.numbers = app, server, numbers
        self.principals = [authenticate(app, token) for token in tokens]
        self.clients = [httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {t}"},
                                     timeout=60) for t in tokens]
        self.filed = 0

    def close(self) -> None:
        for client in self.clients:
            client.close()

    def picks(self, requests: int) -> list[str]:
        return random.choices(self.numbers, k=requests)

    def api(self, operation: str, requests: int) -> list[Callable[[int], None]]:
        refs, tag = self.picks(requests), self._tag()

        def worker(client: httpx.Client) -> Callable[[int], None]:
            def call(job: int) -> None:
                if operation == "show":
                    answer = client.get(f"/complaints/{refs[job]}")
                elif operation == "queue":
                    answer = client.get("/complaints")
                else:
                    answer = client.post("/complaints", json=filing(job, tag))
                if answer.status_code not in (200, 201):
                    print(f"{operation}: {answer.status_code} {answer.text}", file=sys.stderr)
                    raise SystemExit(1)
            return call

        return [worker(client) for client in self.clients]

    def in_process(self, operation: str, requests: int) -> list[Callable[[int], None]]:
        refs, tag = self.picks(requests), self._tag()
        row = BY_NAME[operation]

        def worker(principal: Any) -> Callable[[int], None]:
            def call(job: int) -> None:
                arguments = {"ref": refs[job]} if operation == "show" else {} if operation == "queue" else \
                    filing(job, tag)
                perform(self.app, principal, row, arguments)
            return call

        return [worker(principal) for principal in self.principals]

    def _tag(self) -> str:
        """Two digits that keep each burst's customers and orders apart."""
        self.filed += 1
        return f"{self.filed % 100:02d}"


# --- profiling ------------------------------------------------------------------------------------------------


def profile_in_process(load: Load, requests: int) -> None:
    """Where one call's time goes in process: the 12 functions with the most time of their own, per operation."""
    for operation in ("show", "queue", "file"):
        call = load.in_process(operation, requests)[0]
        profiler = cProfile.Profile()
        profiler.enable()
        for job in range(requests):
            call(job)
        profiler.disable()
        print(f"\ncProfile, {requests} calls of {operation} in process, one thread (by own time):")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)


def profile_server(load: Load, operation: str, requests: int) -> None:
    """py-spy on the serving process while it answers `requests` calls, sampling the thread that holds the GIL
    (one worker runs Python on one core at a time): shares by layer on the stack and by own frame. SQLite's own
    work, which releases the GIL, is not in it."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        print("\npy-spy is not installed: no profile of the server")
        return
    with tempfile.NamedTemporaryFile(suffix=".txt") as output:
        recorder = subprocess.Popen([spy, "record", "--pid", str(load.server.process.pid), "--subprocesses",
                                     "--gil", "--rate", str(SPY_RATE), "--format", "raw", "--output", output.name,
                                     "--duration", "600", "--nonblocking"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        result = burst(load.api(operation, requests), requests, load.server.process.pid)
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=60)
        stacks = [line.rpartition(" ") for line in Path(output.name).read_text().splitlines() if line.strip()]
    own: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    total = 0
    for stack, _, count in stacks:
        samples = int(count)
        frames = stack.split(";")
        total += samples
        own[frames[-1]] += samples
        for layer, markers in LAYERS.items():
            if all(any(marker in frame for frame in frames) for marker in markers):
                layers[layer] += samples
    if not total:
        print("\npy-spy recorded no busy samples")
        return
    held = total / SPY_RATE / (requests / result.rate)
    print(f"\npy-spy on the server answering {requests} {operation} calls at {result.rate:.0f}/s: {total} samples "
          f"holding the GIL, {held:.0%} of the burst" + (" (summed over workers)" if held > 1 else ""))
    for layer in LAYERS:
        print(f"  {layer:<44} {layers[layer] / total:>5.0%}")
    print("  busiest frames (own time):")
    for frame, samples in own.most_common(12):
        print(f"    {samples / total:>5.0%}  {frame[:110]}")


SPY_RATE = 250
# A stack counts towards a layer when it holds all the layer's frames (by the start of their names).
LAYERS: dict[str, tuple[str, ...]] = {
    "the use case (perform)": ("perform (workflow/faces/operations.py",),
    "  of it in SQLAlchemy": ("perform (workflow/faces/operations.py", "sqlalchemy/"),
    "  of it opening database connections": ("perform (workflow/faces/operations.py", "DefaultDialect.connect"),
    "the token check (authenticate)": ("authenticate (workflow/services/signin.py",),
    "FastAPI arguments and validation": ("solve_dependencies (fastapi",),
    "the answer to JSON (to_wire, render)": ("to_wire (workflow/faces/wire.py",),
    "the access log line": ("StreamHandler.emit (logging",),
    "the event loop thread (HTTP, middleware)": ("Runner.run (asyncio/runners.py",),
}


# --- the run --------------------------------------------------------------------------------------------------


def measure(url: str, workers: int, args: argparse.Namespace, folder: Path) -> dict[str, list[Result]]:
    started = time.perf_counter()
    numbers = seed(url, args.complaints)
    print(f"seeded {len(numbers):,} complaints in {time.perf_counter() - started:.0f} s", flush=True)
    server = start_server(url, workers, folder / "server.log")
    app = bootstrap(str(CONFIG), url, Clock())
    load = Load(app, server, sign_in_clients(server), numbers)
    results: dict[str, list[Result]] = {}
    sizes = {"show": args.requests, "queue": args.requests // 2, "file": args.requests // 2}
    try:
        for _ in range(args.rounds):
            for operation, requests in sizes.items():
                api = burst(load.api(operation, requests), requests, server.process.pid)
                local = burst(load.in_process(operation, requests), requests)
                results.setdefault(f"{operation} api", []).append(api)
                results.setdefault(f"{operation} in process", []).append(local)
        if args.profile:
            profile_in_process(load, 200)
            for operation in sizes:
                profile_server(load, operation, sizes[operation] * 2)
    finally:
        load.close()
        stop_server(server)
        app.engine.dispose()
    return results


def median(results: list[Result], key: str) -> float:
    return statistics.median(getattr(result, key) for result in results)


def report(title: str, results: dict[str, list[Result]], rounds: int) -> None:
    """The table, then each target of issue 14 met or missed."""
    print(f"\n{title}; {CLIENTS} concurrent clients, median of {rounds} round(s):")
    print(f"  {'':<6}{'------------- through the API -------------':>46}  {'--------- in process ---------':>32}"
          f"  {'API / in process':>17}")
    print(f"  {'':<6}{'req/s':>7}{'p50 ms':>8}{'p99 ms':>8}{'server CPU':>12}{'client CPU':>11}  {'calls/s':>8}"
          f"{'p50 ms':>8}{'p99 ms':>8}{'CPU':>8}  {'time':>8}{'CPU':>9}")
    for operation in ("show", "queue", "file"):
        api, local = results[f"{operation} api"], results[f"{operation} in process"]
        rate, local_rate = median(api, "rate"), median(local, "rate")
        server, local_cpu = median(api, "server_ms"), median(local, "cpu_ms")
        print(f"  {operation:<6}{rate:>7,.0f}{median(api, 'p50_ms'):>8.1f}{median(api, 'p99_ms'):>8.1f}"
              f"{server:>9.2f} ms{median(api, 'cpu_ms'):>8.2f} ms  {local_rate:>8,.0f}"
              f"{median(local, 'p50_ms'):>8.1f}{median(local, 'p99_ms'):>8.1f}{local_cpu:>5.2f} ms"
              f"  {local_rate / rate:>7.2f}x{server / local_cpu:>8.2f}x")
    verdicts = []
    for operation in ("show", "queue"):
        p99 = median(results[f"{operation} api"], "p99_ms")
        verdicts.append(f"{operation} p99 {p99:.0f} ms {'meets' if p99 < TARGET_P99_MS else 'MISSES'} "
                        f"< {TARGET_P99_MS} ms")
    filings = median(results["file api"], "rate")
    verdicts.append(f"filing {filings:.0f}/s {'meets' if filings >= TARGET_FILINGS else 'MISSES'} "
                    f">= {TARGET_FILINGS}/s")
    print("  targets: " + "; ".join(verdicts))
    print("  CPU: per request or call (the server's processes; the 16 HTTP clients; the calls in process). "
          f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1_600, help="show calls per burst (queue, file: half)")
    parser.add_argument("--quick", action="store_true", help="10,000 complaints, one round of 320 calls")
    parser.add_argument("--profile", action="store_true", help="cProfile in process and py-spy on the server")
    parser.add_argument("--sqlite-workers", type=int, default=1, help="server processes on SQLite")
    args = parser.parse_args()
    if args.quick:
        args.complaints, args.rounds, args.requests = 10_000, 1, 320
    random.seed(14)
    with tempfile.TemporaryDirectory() as folder:
        sqlite = measure(f"sqlite:///{Path(folder) / 'redress.db'}", args.sqlite_workers, args, Path(folder))
        report(f"SQLite, {args.sqlite_workers} worker(s), {args.complaints:,} complaints", sqlite, args.rounds)
        pg_admin = os.environ.get("REDRESS_BENCH_PG_URL")
        if pg_admin:
            with postgres_database(pg_admin) as url:
                pg = measure(url, 2, args, Path(folder))
            report(f"PostgreSQL, 2 workers, {args.complaints:,} complaints", pg, args.rounds)


if __name__ == "__main__":
    main()
