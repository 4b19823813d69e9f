"""Screenshots of the agent queue, the complaint view and the supervisor board, compared with approved SVGs.

Regenerate after an intended change with `pytest tests/tui --snapshot-update` and review the diff.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import PINNED, file_one
from workflow.faces.seat import DirectSeat
from workflow.faces.tui.app import RedressTUI
from workflow.services import lifecycle as svc
from workflow.services.compensation import add_step
from workflow.services.firing import fire_due

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 36), id="120x36")]


@pytest.fixture
def desk(sqlite_app):
    """A small, fixed shift: complaints in several states, one escalated, one refund waiting for approval."""
    app = sqlite_app
    late = file_one(app, severity="critical", summary="快递丢了，我要找律师", phone="13800000001", name="王芳")
    jug = file_one(app, severity="medium", category="damaged", summary="The jug arrived cracked",
                   phone="13800000002", name="John Smith")
    wait = file_one(app, severity="low", summary="發票抬頭寫錯了", phone="13800000003", name="陳美玲")
    for number in (late, jug, wait):
        svc.triage(app, "amy", number)
        svc.assign(app, "amy", number)
    svc.start(app, "amy", wait)
    svc.wait_for_customer(app, "amy", wait, "需要訂單截圖", reason="photos_or_documents")
    add_step(app, "amy", jug, "refund", amount="120", reason="price difference")
    app.clock.pin(PINNED + timedelta(minutes=40))
    fire_due(app)
    app.numbers = {"late": late, "jug": jug, "wait": wait}  # type: ignore[attr-defined]
    return app


@pytest.mark.parametrize("size", SIZES)
def test_agent_queue(snap_compare, desk, size):
    assert snap_compare(RedressTUI(DirectSeat(desk, "amy"), refresh_seconds=3600), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_complaint_view(snap_compare, desk, size):
    async def open_it(pilot):
        pilot.app.open_complaint(desk.numbers["jug"])
        await pilot.pause()

    assert snap_compare(RedressTUI(DirectSeat(desk, "amy"), refresh_seconds=3600), terminal_size=size,
                        run_before=open_it)


@pytest.mark.parametrize("size", SIZES)
def test_supervisor_board(snap_compare, desk, size):
    assert snap_compare(RedressTUI(DirectSeat(desk, "sup"), refresh_seconds=3600), terminal_size=size, press=["b"])
