"""The terminal app meets a database that goes away: one line in a notification, no traceback, no SQL."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from textual.widgets._toast import Toast

from tests.conftest import PG_ADMIN_URL, _staffed, file_one
from workflow.faces.seat import DirectSeat
from workflow.faces.tui.app import RedressTUI
from workflow.faces.tui.complaint import ComplaintScreen
from workflow.faces.tui.queue import QueueScreen


async def _drop_under_the_app(app, number: str, name: str) -> tuple[bool, bool, list[str]]:
    tui = RedressTUI(DirectSeat(app, "amy"), refresh_seconds=60)
    async with tui.run_test(size=(120, 30), notifications=True) as pilot:
        await pilot.pause()
        tui.open_complaint(number)
        await pilot.pause()
        admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        for _ in range(3):  # reloads every few seconds would stack the same fault
            await pilot.press("f5")
            await pilot.pause()
        on_complaint = isinstance(tui.screen, ComplaintScreen)
        await pilot.press("escape")
        await pilot.pause()
        tui.screen.action_refresh()
        await pilot.pause()
        toasts = [toast.render().plain for toast in tui.screen.query(Toast)]
        return on_complaint, isinstance(tui.screen, QueueScreen), toasts


@pytest.mark.postgres
def test_a_database_dropped_under_the_open_app_is_one_notification_and_the_app_stays_up(postgres_url):
    staffed = _staffed(postgres_url)
    app = next(staffed)
    try:
        name = postgres_url.rpartition("/")[2]
        on_complaint, on_queue, toasts = asyncio.run(_drop_under_the_app(app, file_one(app), name))
    finally:
        next(staffed, None)
    assert on_complaint and on_queue
    # The dropped connection, then the missing database: each said once, however often the views reload.
    assert len(toasts) == len(set(toasts)) <= 2, toasts
    assert f'database "{name}" does not exist' in toasts[-1]
    for shown in toasts:
        assert shown.startswith("Database unavailable\ncannot use database postgresql+psycopg://")
        assert "SELECT" not in shown and "parameters" not in shown and "Traceback" not in shown
