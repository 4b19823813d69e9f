"""The survey page's latency: GET /survey/{token} through the real server, against the link use case in process.

Seeds resolved complaints through the services on a SQLite file (one per request: each click records an answer,
so no link is used twice), mints a score link for each, starts the real `redress serve` (uvicorn, 1 worker) with
the signing secret and the clock pinned, then in each round:
- through the server: one client clicks a fresh link after another over a keep-alive connection (each request
  verifies the token, records the answer and the event as the mail system user, and renders the page);
- in process: `answer_by_link` on fresh links (the same work without HTTP, the page or uvicorn).
Prints the median over rounds of p50/p99 latency for each, and the issue's figure: the page's p99.

Usage: python bench/bench_survey_page.py [--requests 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.conftest import PINNED  # noqa: E402
from workflow.adapters.migrate import upgrade  # noqa: E402
from workflow.bootstrap import Redress, bootstrap  # noqa: E402
from workflow.domain.clock import Clock  # noqa: E402
from workflow.read.queries import complaint_detail  # noqa: E402
from workflow.services import lifecycle as svc  # noqa: E402
from workflow.services.people import add_user  # noqa: E402
from workflow.services.survey_links import LinkClaim, sign  # noqa: E402
from workflow.services.surveys import answer_by_link  # noqa: E402

CONFIG = ROOT / "config.yaml"
REDRESS = Path(sys.executable).parent / "redress"
SECRET = "bench-secret-0123456789abcdefghij"


def seed(app: Redress, count: int) -> list[str]:
    """`count` resolved complaints, each with a fresh score-5 link; the links' tokens."""
    tokens = []
    for i in range(count):
        number = svc.file_complaint(app, "amy", channel="email", category="delivery", summary="快递十天没到",
                                    email=f"c{i}@example.cn", name=f"客户{i}", severity="low").number
        for step in (svc.triage, svc.assign, svc.start):
            step(app, "amy", number)
        svc.resolve(app, "amy", number, "重新发货")
        claim = LinkClaim(complaint_detail(app, number)["id"], 5, PINNED + timedelta(days=14))
        tokens.append(sign(SECRET.encode(), claim))
    return tokens


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2] * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def through_server(url: str, tokens: list[str]) -> list[float]:
    took = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for token in tokens:
            started = time.perf_counter()
            answer = client.get(f"/survey/{token}")
            took.append(time.perf_counter() - started)
            assert answer.status_code == 200, answer.text
    return took


def in_process(app: Redress, tokens: list[str]) -> list[float]:
    took = []
    for token in tokens:
        started = time.perf_counter()
        answer_by_link(app, token)
        took.append(time.perf_counter() - started)
    return took


def start_server(url: str, log: Path) -> tuple[str, subprocess.Popen[bytes]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
    environment.update(REDRESS_CONFIG=str(CONFIG), REDRESS_DB=url, REDRESS_NOW=PINNED.isoformat(),
                       REDRESS_LINK_SECRET=SECRET)
    with log.open("wb") as sink:
        process = subprocess.Popen([str(REDRESS), "serve", "--port", str(port)], env=environment, stdout=sink,
                                   stderr=subprocess.STDOUT)
    served = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{served}/health", timeout=1).status_code == 200:
                return served, process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"redress serve did not answer: {log.read_text()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    os.environ["REDRESS_LINK_SECRET"] = SECRET
    folder = Path(tempfile.mkdtemp(prefix="bench-survey-"))
    url = f"sqlite:///{folder / 'redress.db'}"
    app = bootstrap(str(CONFIG), url, Clock(PINNED))
    upgrade(app.engine)
    add_user(app, None, "boss", "manager")
    add_user(app, "boss", "amy", "agent")
    started = time.perf_counter()
    batches = [seed(app, options.requests) for _ in range(2 * options.rounds)]
    seeded = 2 * options.rounds * options.requests
    print(f"seeded {seeded} resolved complaints in {time.perf_counter() - started:.0f} s")
    served, process = start_server(url, folder / "server.log")
    rows: dict[str, list[tuple[float, float]]] = {"server": [], "in process": []}
    try:
        for round_ in range(options.rounds):
            rows["server"].append(percentiles(through_server(served, batches[2 * round_])))
            rows["in process"].append(percentiles(in_process(app, batches[2 * round_ + 1])))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    print(f"GET /survey/{{token}}: {options.requests} fresh links per round, median of {options.rounds} rounds")
    for name, figures in rows.items():
        p50 = statistics.median(p for p, _ in figures)
        p99 = statistics.median(p for _, p in figures)
        print(f"  {name:<11} p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")
    app.engine.dispose()


if __name__ == "__main__":
    main()
