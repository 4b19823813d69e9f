"""Explaining a deadline and trying a policy: `explain` on a complaint parked 50 times, and the what-if replay rate.

explain: a complaint waits on the customer and comes back 50 times over ten weeks; `explain N` is timed against
`show N` (complaint_detail) in the same process. what-if: complaints with random lives are filed through the
services in time order, the scheduler firing at each due time; their recorded histories are read once and
replayed under a proposed config.yaml (a shorter resolution target) until 100,000 complaints have been replayed;
the rate is set against reading the same event rows with the sqlite3 module. Then whole `what_if` calls on the
database (two queries, a replay under the current config for the identity check and one under the proposal).

Usage: python bench/bench_clocks.py [--complaints 1000] [--replays 100000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.integration.test_whatif import generate  # noqa: E402
from workflow.adapters.migrate import upgrade  # noqa: E402
from workflow.bootstrap import bootstrap  # noqa: E402
from workflow.domain.clock import Clock  # noqa: E402
from workflow.read import whatif  # noqa: E402
from workflow.read.explain import explain  # noqa: E402
from workflow.read.queries import complaint_detail  # noqa: E402
from workflow.services import lifecycle as svc  # noqa: E402
from workflow.services.people import add_user  # noqa: E402

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def staffed(db: Path):
    app = bootstrap(str(ROOT / "config.yaml"), str(db), Clock(T0))
    upgrade(app.engine)
    add_user(app, None, "boss", "manager")
    for name, role in (("sup", "supervisor"), ("sen", "senior"), ("amy", "agent"), ("bob", "agent")):
        add_user(app, "boss", name, role)
    return app


def median_seconds(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_explain(folder: Path, repeats: int) -> None:
    app = staffed(folder / "explain.db")
    number = svc.file_complaint(app, "amy", channel="phone", category="delivery", summary="parcel is late",
                                phone="13800138000", name="王芳", severity="low").number
    for step in (svc.triage, svc.assign, svc.start):
        step(app, "amy", number)
    moment = T0
    for _ in range(50):  # 20 minutes of work between waits: all 50 fall inside the 27h resolution target
        moment += timedelta(minutes=20)
        app.clock.pin(moment)
        svc.wait_for_customer(app, "amy", number, "photos please", reason="photos_or_documents")
        moment += timedelta(hours=23, minutes=40)
        app.clock.pin(moment)
        svc.customer_replied(app, "amy", number, "photos came")
    told = explain(app, number)
    [resolution] = [d for d in told["deadlines"] if d["kind"] == "resolution"]
    assert resolution["replayed_due_at"] == resolution["due_at"], "the explanation must land on the stored due time"
    explain_s = median_seconds(lambda: explain(app, number), repeats)
    show_s = median_seconds(lambda: complaint_detail(app, number), repeats)
    print(f"explain, 50 pauses: {explain_s * 1000:.1f} ms median of {repeats}; show {show_s * 1000:.1f} ms; "
          f"ratio {explain_s / show_s:.1f}x; {len(resolution['lines'])} lines told")


def bench_whatif(folder: Path, complaints: int, replays: int, repeats: int) -> None:
    db = folder / "whatif.db"
    app = staffed(db)
    start = time.perf_counter()
    generate(app, complaints, seed=7)
    print(f"what-if: {complaints} complaints generated through the services in {time.perf_counter() - start:.0f} s")
    rows, events, _ = whatif._load(app, T0 - timedelta(days=1), T0 + timedelta(days=365))
    policies = {name: p.model_copy(update={"resolution": p.resolution * 0.75})
                for name, p in app.config.sla.policies.items()}
    proposal = app.config.model_copy(update={"sla": app.config.sla.model_copy(update={"policies": policies})})
    import dataclasses

    policy = whatif._Policy(dataclasses.replace(app, config=proposal, _calendars={}))
    now = app.clock.now()

    def replay_all() -> None:
        done = 0
        while done < replays:
            for complaint in rows:  # each history read from its events afresh, as `whatif` does once each
                policy.replay(policy.history(complaint, events.get(complaint.id, [])), now)
                done += 1
                if done == replays:
                    break

    replay_s = median_seconds(replay_all, repeats)
    connection = sqlite3.connect(db)

    def read_raw() -> None:
        done = 0
        while done < replays:
            for _ in connection.execute("SELECT id, complaint_id, at, \"trigger\", from_state, to_state, data "
                                        "FROM event ORDER BY complaint_id, at, id"):
                pass
            done += len(rows)

    raw_s = median_seconds(read_raw, repeats)
    rate = replays / replay_s
    print(f"what-if replay: {replays:,} complaints in {replay_s:.2f} s median of {repeats}: {rate:,.0f} complaints/s "
          f"(target 5,000); reading their event rows with sqlite3: {replays / raw_s:,.0f} complaints/s, "
          f"ratio {replay_s / raw_s:.1f}x")
    whole_s = median_seconds(lambda: whatif.what_if(app, "boss", proposal, "2026-11-01", "2027-12-01"), repeats)
    print(f"what_if on the database ({len(rows)} complaints, both replays and the identity check): "
          f"{whole_s:.2f} s, {len(rows) / whole_s:,.0f} complaints/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=1000)
    parser.add_argument("--replays", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="redress-bench-clocks-") as folder:
        bench_explain(Path(folder), args.repeats)
        bench_whatif(Path(folder), args.complaints, args.replays, args.repeats)


if __name__ == "__main__":
    main()
