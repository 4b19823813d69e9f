"""Firing with bad rows: deadlines/s when none fails, when one fails, and when one in every batch fails.

Setup files N critical complaints (first response due at the same moment) into
a SQLite file once; each run copies that file and fires every due first-response
deadline in-process with `fire_due` (batches of `scheduler.batch_size`). Bad rows
are complaints whose severity is no longer configured, so their breach raises and
is set aside. The figure is deadlines/s, median of --runs, and its ratio to the
run with no bad row measured in the same process.

Usage: python bench/bench_firing_faults.py [--complaints 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select, update  # noqa: E402

from bench.bench_scheduler import FIRST_RESPONSE_MINUTES, bench_config  # noqa: E402
from workflow.adapters.migrate import upgrade  # noqa: E402
from workflow.adapters.models import COMPLAINTS  # noqa: E402
from workflow.bootstrap import bootstrap  # noqa: E402
from workflow.domain.clock import Clock  # noqa: E402
from workflow.services.firing import fire_due  # noqa: E402
from workflow.services.lifecycle import file_complaint  # noqa: E402
from workflow.services.people import add_user  # noqa: E402

START = Clock().now().replace(microsecond=0)


def setup(folder: Path, complaints: int) -> tuple[Path, Path]:
    config = bench_config(folder)
    database = folder / "prepared.db"
    clock = Clock(START)
    app = bootstrap(str(config), f"sqlite:///{database}", clock)
    upgrade(app.engine)
    add_user(app, None, "boss", "manager")
    for i in range(complaints):
        file_complaint(app, "boss", channel="phone", category="delivery", summary="快递没到",
                       phone=f"139{i:08d}", name="客户", severity="critical")
    clock.pin(START + timedelta(minutes=1))  # the warnings (a tenth of the target) are not what is measured
    fire_due(app)
    app.engine.dispose()
    return config, database


def run(config: Path, prepared: Path, bad_every: int | None) -> tuple[float, int, int]:
    """Copy the prepared file, spoil every `bad_every`-th complaint, fire everything due; (seconds, fired, failed)."""
    database = prepared.with_name("run.db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    shutil.copy(prepared, database)
    app = bootstrap(str(config), f"sqlite:///{database}", Clock(START + timedelta(minutes=FIRST_RESPONSE_MINUTES)))
    if bad_every:
        with app.engine.begin() as connection:
            ids = connection.execute(select(COMPLAINTS.c.id).order_by(COMPLAINTS.c.id)).scalars().all()
            spoiled = ids[bad_every // 2::bad_every]
            connection.execute(update(COMPLAINTS).where(COMPLAINTS.c.id.in_(spoiled)).values(severity="retired"))
    started = time.perf_counter()
    report = fire_due(app)
    elapsed = time.perf_counter() - started
    app.engine.dispose()
    return elapsed, report.fired, report.failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config, prepared = setup(Path(folder), args.complaints)
        batch = 200  # the shipped scheduler.batch_size
        cases = {"none fails": None, "one fails": args.complaints, "one per batch fails": batch}
        rates: dict[str, float] = {}
        for name, bad_every in cases.items():
            runs = [run(config, prepared, bad_every) for _ in range(args.runs)]
            seconds = statistics.median(r[0] for r in runs)
            fired, failed = runs[0][1], runs[0][2]
            rates[name] = (fired + failed) / seconds
            print(f"{name:>20}: {rates[name]:8,.0f} deadlines/s (median of {args.runs}; fired {fired:,}, "
                  f"set aside {failed:,}) = {rates[name] / rates['none fails']:.2f}x of none failing")


if __name__ == "__main__":
    main()
