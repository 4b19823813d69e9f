"""What an agent waits for at the command line: the human views and the policy-manual search, as whole processes.

On a database of N complaints (filed through the services, a fifth of them on the
measured agent's desk), times whole `redress` processes as an agent types them:
`show N` and `queue --mine` as tables at 80 columns, `history N`, `kb search`
with a natural Chinese phrasing, `new` with intake's duplicate check, and
`redress --help`; each as a ratio to `python -c "import sqlmodel"` measured in
the same run. Runs alternate commands so a busy moment spreads over all of them.

Usage: python bench/bench_agent_commands.py [--complaints 20000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
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
SUMMARIES = ["快递十天没到，再不处理我就找律师", "The jug arrived cracked and the lid is missing",
             "退款还没到账，已经两周了", "发错颜色", "保固期内坏了，要维修"]


def fill(db: Path, complaints: int) -> str:
    """N complaints; every fifth one taken by the measured agent. Returns one of the agent's numbers."""
    clock = Clock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    app = bootstrap(str(ROOT / "config.yaml"), str(db), clock)
    upgrade(app.engine)
    add_user(app, None, "boss", "manager")
    add_user(app, "boss", "amy", "agent")
    add_user(app, "boss", "bob", "agent")
    mine = ""
    for i in range(complaints):
        clock.pin(clock.now() + timedelta(seconds=1))
        outcome = svc.file_complaint(
            app, "bob", channel="phone", category=CATEGORIES[i % len(CATEGORIES)],
            summary=SUMMARIES[i % len(SUMMARIES)], phone=f"139{i % 5_000:08d}", name=f"客户{i % 5_000}",
            order_ref=f"SO-{i % 8_000}",
        )
        if i % 5 == 0:
            svc.triage(app, "amy", outcome.number)
            svc.assign(app, "amy", outcome.number)
            mine = outcome.number
    app.engine.dispose()
    return mine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--complaints", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "redress.db"
        number = fill(db, args.complaints)
        env = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
        env.update(REDRESS_CONFIG=str(ROOT / "config.yaml"), REDRESS_DB=str(db), REDRESS_USER="amy", COLUMNS="80",
                   REDRESS_NOW="2026-11-23T10:00:00+08:00")
        commands = {
            "import sqlmodel (floor)": [sys.executable, "-c", "import sqlmodel"],
            "redress --help": [str(REDRESS), "--help"],
            f"redress show {number}": [str(REDRESS), "show", number],
            "redress queue --mine": [str(REDRESS), "queue", "--mine"],
            f"redress history {number}": [str(REDRESS), "history", number],
            "redress kb search (zh phrasing)": [str(REDRESS), "kb", "search", "退款还没到"],
        }
        times: dict[str, list[float]] = {name: [] for name in [*commands, "redress new (phone call)"]}
        for i in range(args.repeats):
            for name, command in commands.items():
                started = time.perf_counter()
                subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
                times[name].append(time.perf_counter() - started)
            new = [str(REDRESS), "new", "--channel", "phone", "--category", "delivery", "--phone",
                   f"139{i:08d}", "--name", "王芳", "--order", f"SO-{i}", "--summary", "快递还没到"]
            started = time.perf_counter()
            subprocess.run(new, env=env, check=True, stdout=subprocess.DEVNULL)
            times["redress new (phone call)"].append(time.perf_counter() - started)
    floor = statistics.median(times["import sqlmodel (floor)"])
    print(f"median of {args.repeats} runs, {args.complaints:,} complaints, SQLite, COLUMNS=80:")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"  {name:<34}: {median * 1000:>7,.0f} ms  ({median / floor:.2f} x import sqlmodel)")


if __name__ == "__main__":
    main()
