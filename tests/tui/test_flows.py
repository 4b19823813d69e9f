"""The terminal app driven by Textual's headless Pilot: the main flows, on real databases, through the services."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from textual.widgets import DataTable, Select, Static

from tests.conftest import PINNED, file_one
from workflow.faces.seat import DirectSeat
from workflow.faces.tui.app import RedressTUI
from workflow.faces.tui.complaint import ComplaintScreen
from workflow.faces.tui.intake import NewComplaintScreen, PolicyScreen
from workflow.faces.tui.queue import QueueScreen
from workflow.faces.tui.supervisor import SupervisorScreen
from workflow.read.queries import complaint_detail, history
from workflow.scheduler import DeadlineScheduler
from workflow.services import lifecycle as svc
from workflow.services.compensation import add_step, list_steps

SIZE = (80, 24)


def drive(app, user: str, scenario, *, refresh: float = 60.0, size=SIZE):
    """Run `scenario(pilot, tui)` against the app on a direct seat acting as `user`; return what it returns."""
    async def run():
        tui = RedressTUI(DirectSeat(app, user), refresh_seconds=refresh)
        async with tui.run_test(size=size) as pilot:
            await pilot.pause()
            return await scenario(pilot, tui)
    return asyncio.run(run())


async def type_text(pilot, text: str) -> None:
    for character in text:
        await pilot.press(character if character != " " else "space")


async def fill_form(pilot, *texts: str) -> None:
    """Type into the form's text fields in order (lists are chosen by the caller), then submit."""
    for value in texts:
        await type_text(pilot, value)
        await pilot.press("tab")
    await pilot.press("ctrl+s")
    await pilot.pause()


def cell_texts(table: DataTable) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def test_filing_a_complaint_on_the_line_takes_a_few_keystrokes_and_suggests_the_severity(app):
    async def scenario(pilot, tui):
        await pilot.press("n")
        assert isinstance(tui.screen, NewComplaintScreen)
        await type_text(pilot, "13912345678")
        await pilot.press("tab", "tab")
        await type_text(pilot, "李雷")
        tui.screen.query_one("#category", Select).value = "delivery"
        tui.screen.query_one("#summary").focus()
        await type_text(pilot, "快递丢了，我要找律师")
        await pilot.pause()
        suggestion = str(tui.screen.query_one("#suggestion", Static).render())
        await pilot.press("ctrl+s")
        await pilot.pause()
        return suggestion, tui.screen

    suggestion, screen = drive(app, "amy", scenario)
    assert "severity critical" in suggestion and "律师" in suggestion
    assert isinstance(screen, ComplaintScreen) and screen.number.startswith("C-20261120-")
    detail = complaint_detail(app, screen.number)
    assert detail["severity"] == "critical" and detail["customer"]["name"] == "李雷"
    assert detail["channel"] == "phone" and detail["category"] == "delivery"


def test_an_agent_takes_routes_and_resolves_with_keys_and_forms(app):
    number = file_one(app)
    svc.triage(app, "amy", number)

    async def scenario(pilot, tui):
        tui.open_complaint(number)
        await pilot.pause()
        await pilot.press("a")  # take it
        await pilot.pause()
        await pilot.press("s")  # start: the form's reason is for someone else's complaint, so it goes empty
        await fill_form(pilot)
        await pilot.press("o")  # route: choose the owner from the list, say what to check
        await pilot.pause()
        tui.screen.query_one("#f-owner", Select).value = "物流部"
        tui.screen.query_one("#f-text").focus()
        await fill_form(pilot, "查件")
        await pilot.press("f")
        await fill_form(pilot, "已改派")
        await pilot.press("r")
        await fill_form(pilot, "明天送达")
        await pilot.press("v")
        await fill_form(pilot, "已送达")
        await pilot.pause()
        return str(tui.screen.query_one("#actions", Static).render())

    actions = drive(app, "amy", scenario)
    trail = [e["trigger"] for e in history(app, number)["events"]]
    assert trail == ["file", "triage", "assign", "start", "route", "owner_feedback", "respond", "resolve"]
    assert complaint_detail(app, number)["owner"] == "物流部"
    # A resolved complaint offers closing and reopening, not starting or routing again.
    assert "Close" in actions and "Reopen" in actions and "Route" not in actions and "Start work" not in actions


def test_answering_from_the_policy_manual_sends_the_answer_and_closes(app):
    number = file_one(app, category="refund", summary="退款多久到账")

    async def scenario(pilot, tui):
        tui.open_complaint(number)
        await pilot.pause()
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(tui.screen, PolicyScreen)
        await pilot.press("tab")  # to the hits, already searched from the summary
        await pilot.press("enter")
        await pilot.pause()

    drive(app, "amy", scenario)
    detail = complaint_detail(app, number)
    assert detail["state"] == "closed" and "退款" in detail["resolution"]
    assert [e["trigger"] for e in history(app, number)["events"]][-2:] == ["answer_from_manual", "survey_queued"]


def test_a_supervisor_approves_a_compensation_waiting_for_them(app):
    number = file_one(app)
    step = add_step(app, "amy", number, "refund", amount="120", reason="price difference")

    async def scenario(pilot, tui):
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(tui.screen, SupervisorScreen)
        rows = cell_texts(tui.screen.query_one("#approvals", DataTable))
        tui.screen.query_one("#approvals", DataTable).focus()
        await pilot.press("a")
        await fill_form(pilot, "checked the order")
        return rows

    rows = drive(app, "sup", scenario)
    assert rows == [[str(step.id), number, "refund", "120.00 CNY", "amy", "price difference"]]
    assert list_steps(app, number)[0]["state"] == "approved"


def test_an_agent_cannot_open_the_board(app):
    async def scenario(pilot, tui):
        await pilot.press("b")
        await pilot.pause()
        return tui.screen

    assert isinstance(drive(app, "amy", scenario), QueueScreen)


def test_an_escalation_appears_on_the_board_after_the_scheduler_fires_it(app):
    number = file_one(app, severity="critical")

    async def scenario(pilot, tui):
        await pilot.press("b")
        await pilot.pause()
        before = tui.screen.query_one("#board", DataTable).row_count
        app.clock.pin(PINNED + timedelta(minutes=16))  # first response (15 min) is now breached
        scheduler = DeadlineScheduler(app, lambda line: None)
        scheduler.start()  # the real APScheduler: its first sweep fires what is due
        for _ in range(50):
            await pilot.pause(0.1)
            if scheduler.fired_total:
                break
        scheduler.stop()
        await pilot.pause(0.5)  # the board refreshes every 0.2 s in this test
        return before, cell_texts(tui.screen.query_one("#board", DataTable))

    before, rows = drive(app, "sup", scenario, refresh=0.2)
    assert before == 0
    assert [row[:2] for row in rows] == [[number, "supervisor"]]


def test_a_board_longer_than_the_screen_holds_shows_its_first_rows_and_says_so(app, monkeypatch):
    from textual.widgets import Label

    from workflow.faces.tui import supervisor
    from workflow.services.firing import fire_due

    numbers = []
    for minute, phone in enumerate(("13900139001", "13900139002")):
        app.clock.pin(PINNED + timedelta(minutes=minute))
        numbers.append(file_one(app, severity="critical", phone=phone))
    app.clock.pin(PINNED + timedelta(minutes=20))
    fire_due(app)  # both breach their first response; the one filed first has been overdue longer

    async def scenario(pilot, tui):
        await pilot.press("b")
        await pilot.pause()
        title = str(tui.screen.query_one("#board-title", Label).render())
        return title, [row[0] for row in cell_texts(tui.screen.query_one("#board", DataTable))]

    title, rows = drive(app, "sup", scenario)
    assert rows == numbers and title.startswith("Escalations (highest level first")
    monkeypatch.setattr(supervisor, "BOARD_ROWS", 1)
    title, rows = drive(app, "sup", scenario)
    assert rows == numbers[:1] and title.startswith("Escalations, the first 1 (highest level first")


def test_acting_on_a_complaint_someone_just_changed_says_so_and_shows_the_fresh_view(app):
    number = file_one(app)
    svc.triage(app, "amy", number)

    async def scenario(pilot, tui):
        tui.open_complaint(number)
        await pilot.pause()
        svc.assign(app, "sen", number, "bob")  # behind this agent's back
        await pilot.press("n")
        await fill_form(pilot, "calling the customer")
        await pilot.pause()
        return tui.screen.sub_title, [n.message for n in tui._notifications]

    title, notes = drive(app, "amy", scenario)
    assert any("changed by someone else" in note or "changed since you read it" in note for note in notes)
    assert "v3" in title  # the view now shows the version after bob's assignment
    assert [e["trigger"] for e in history(app, number)["events"]] == ["file", "triage", "assign"]


def test_the_queue_shows_countdowns_and_refreshes_when_others_change_things(app):
    mine = file_one(app, severity="high")
    svc.triage(app, "amy", mine)
    svc.assign(app, "amy", mine)

    async def scenario(pilot, tui):
        table = tui.screen.query_one("#mine-table", DataTable)
        first = cell_texts(table)
        other = file_one(app, "bob", phone="13900000077", name="Other")
        svc.triage(app, "bob", other)
        svc.assign(app, "sen", other, "amy")
        await pilot.pause(0.6)
        return first, cell_texts(table), other

    first, later, other = drive(app, "amy", scenario, refresh=0.2)
    assert [row[0] for row in first] == [mine]
    assert first[0][4] == "1h00m"  # first response for high: 1 business hour
    assert [row[0] for row in later] == [mine, other]


def test_the_help_screen_lists_the_keys(app):
    async def scenario(pilot, tui):
        await pilot.press("question_mark")
        await pilot.pause()
        return str(tui.screen.query_one(Static).render())

    text = drive(app, "amy", scenario)
    assert "new complaint" in text and "policy manual" in text and "approve step" in text
