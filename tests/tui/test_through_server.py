"""The terminal app signed in to a real `redress serve` (a RemoteSeat): the Pilot flows, every call over HTTP.

The app in these tests has no database at all: it sees only what the server answers, and what it does is read
back from the server as another member of staff would.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from textual.widgets import DataTable, Select, Static

from tests.apiserver import RunningServer, password_of, stop_server
from tests.tui.test_flows import SIZE, cell_texts, fill_form, type_text
from workflow.faces.remote import RemoteSeat, sign_in
from workflow.faces.tui.app import RedressTUI
from workflow.faces.tui.complaint import ComplaintScreen
from workflow.faces.tui.intake import NewComplaintScreen
from workflow.faces.tui.queue import QueueScreen
from workflow.faces.tui.supervisor import SupervisorScreen

BOARD_REFUSED = "amy is an agent; the escalation board needs supervisor or above"


def drive(server: RunningServer, user: str, scenario: Any, *, size: tuple[int, int] = SIZE) -> Any:
    """Sign `user` in to the server, run `scenario(pilot, tui)` in the app on that seat; return what it returns."""
    seat = RemoteSeat(sign_in(server.url, user, password_of(user)))

    async def run() -> Any:
        tui = RedressTUI(seat, refresh_seconds=60)
        async with tui.run_test(size=size) as pilot:
            await pilot.pause()
            return await scenario(pilot, tui)

    return asyncio.run(run())


def file_by_api(server: RunningServer, actor: str = "amy", **overrides: str) -> str:
    fields = {"channel": "phone", "category": "delivery", "summary": "parcel is late", "phone": "13800138000",
              "name": "王芳", "order_ref": "SO-1", "severity": "medium", **overrides}
    with server.client(actor) as client:
        answer = client.post("/complaints", json=fields)
    assert answer.status_code == 201, answer.text
    number: str = answer.json()["number"]
    return number


def read(server: RunningServer, path: str, **params: Any) -> Any:
    """What the server says, read as a manager."""
    with server.client("boss") as client:
        answer = client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def notes(tui: RedressTUI) -> list[str]:
    return [note.message for note in tui._notifications]


def titled(tui: RedressTUI) -> list[tuple[str, str]]:
    """Every notification the app gave, with its title, oldest first."""
    return [(note.title, note.message) for note in tui._notifications]


def test_an_agent_opens_a_complaint_from_the_queue_and_takes_starts_and_resolves_it(api_server):
    number = file_by_api(api_server)
    with api_server.client("amy") as client:
        assert client.post(f"/complaints/{number}/triage", json={}).status_code == 200

    async def scenario(pilot, tui):
        assert isinstance(tui.screen, QueueScreen)
        await pilot.press("tab")  # to the team queue: the complaint is no one's yet
        team = cell_texts(tui.screen.query_one("#team-table", DataTable))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(tui.screen, ComplaintScreen) and tui.screen.number == number
        customer = str(tui.screen.query_one("#customer", Static).render())
        await pilot.press("a")  # take it
        await pilot.pause()
        await pilot.press("s")  # start: the form's reason is for someone else's complaint, so it goes empty
        await fill_form(pilot)
        await pilot.press("v")  # resolve
        await fill_form(pilot, "已送达")
        return team, customer, str(tui.screen.query_one("#actions", Static).render()), tui.screen.sub_title

    team, customer, actions, title = drive(api_server, "amy", scenario)
    assert [row[:3] for row in team] == [[number, "medium", "triaged"]]
    assert "王芳" in customer and "13800138000" in customer
    assert "Close" in actions and "Reopen" in actions and "Start work" not in actions
    assert title.startswith(f"{number}  resolved")
    trail = read(api_server, f"/complaints/{number}/history")["events"]
    assert [(e["trigger"], e["actor"]) for e in trail][-3:] == [("assign", "amy"), ("start", "amy"),
                                                                ("resolve", "amy")]
    assert read(api_server, f"/complaints/{number}")["resolution"] == "已送达"


def test_filing_on_the_intake_form_suggests_names_the_earlier_complaint_and_files_on_the_server(api_server):
    earlier = file_by_api(api_server, phone="13912345678", name="李雷", order_ref="SO-9")

    async def scenario(pilot, tui):
        await pilot.press("n")
        assert isinstance(tui.screen, NewComplaintScreen)
        await type_text(pilot, "13912345678")  # a known customer: found, with their open complaint
        await pilot.pause()
        found = str(tui.screen.query_one("#found", Static).render())
        related = str(tui.screen.query_one("#related", Static).render())
        tui.screen.query_one("#category", Select).value = "delivery"
        tui.screen.query_one("#summary").focus()
        await type_text(pilot, "快递丢了，我要找律师")
        await pilot.pause()
        suggestion = str(tui.screen.query_one("#suggestion", Static).render())
        await pilot.press("ctrl+s")
        await pilot.pause()
        return found, related, suggestion, tui.screen, notes(tui)

    found, related, suggestion, screen, shown = drive(api_server, "amy", scenario)
    assert "found: 李雷" in found and earlier in related
    assert "severity critical" in suggestion and "律师" in suggestion
    assert isinstance(screen, ComplaintScreen) and screen.number != earlier
    assert any(note.startswith(f"{screen.number} filed") for note in shown)
    filed = read(api_server, f"/complaints/{screen.number}")
    assert (filed["severity"], filed["customer"]["name"], filed["channel"]) == ("critical", "李雷", "phone")
    assert [e["actor"] for e in read(api_server, f"/complaints/{screen.number}/history")["events"]][:1] == ["amy"]


def test_an_action_the_server_refuses_is_one_line_and_changes_nothing(api_server):
    number = file_by_api(api_server, severity="high")

    async def scenario(pilot, tui):
        tui.open_complaint(number)
        await pilot.pause()
        await pilot.press("e")  # lower the severity: seniors and above
        tui.screen.query_one("#f-severity", Select).value = "low"
        tui.screen.query_one("#f-text").focus()
        await fill_form(pilot, "the customer calmed down")
        return tui.screen, notes(tui)

    screen, shown = drive(api_server, "amy", scenario)
    assert isinstance(screen, ComplaintScreen)
    assert "amy is an agent; lowering a severity needs senior or above" in shown
    assert read(api_server, f"/complaints/{number}")["severity"] == "high"


def test_an_agents_app_offers_no_board_and_a_forced_one_shows_the_servers_refusal(api_server):
    async def scenario(pilot, tui):
        footer = tui.export_screenshot()
        await pilot.press("b")
        await pilot.pause()
        asked = (type(tui.screen), notes(tui))
        tui.push_screen(SupervisorScreen())  # what no key of an agent's app does
        await pilot.pause()
        return footer, asked, notes(tui), tui.screen.query_one("#board", DataTable).row_count

    footer, (screen, after_b), forced, rows = drive(api_server, "amy", scenario)
    assert "Supervisor&#160;board" not in footer
    assert screen is QueueScreen and after_b == []
    assert BOARD_REFUSED in forced and rows == 0
    requests = [json.loads(line) for line in api_server.log_lines() if line.startswith("{")]
    assert [(r["user"], r["route"]) for r in requests if r["status"] == 403] == [("amy", "/api/v1/escalations")]


def test_a_supervisor_approves_a_refund_on_the_board_through_the_server(api_server):
    number = file_by_api(api_server)
    with api_server.client("amy") as client:
        step = client.post(f"/complaints/{number}/compensation",
                           json={"kind": "refund", "amount": "120", "reason": "price difference"}).json()

    async def scenario(pilot, tui):
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(tui.screen, SupervisorScreen)
        rows = cell_texts(tui.screen.query_one("#approvals", DataTable))
        tui.screen.query_one("#approvals", DataTable).focus()
        await pilot.press("a")
        await fill_form(pilot, "checked the order")
        return rows

    rows = drive(api_server, "sup", scenario)
    assert rows == [[str(step["id"]), number, "refund", "120.00 CNY", "amy", "price difference"]]
    assert [s["state"] for s in read(api_server, "/compensation", ref=number)] == ["approved"]


def test_a_revoked_sign_in_and_a_stopped_server_are_each_one_notification_and_the_app_stays_up(api_server):
    number = file_by_api(api_server)

    async def scenario(pilot, tui):
        tui.open_complaint(number)
        await pilot.pause()
        with api_server.client("boss") as client:  # a manager ends amy's sessions while her app is open
            assert client.post("/users/amy/revoke", json={"reason": "lost laptop"}).status_code == 200
        for _ in range(3):  # the views reload every few seconds: the same fault is not stacked
            await pilot.press("f5")
            await pilot.pause()
        revoked = titled(tui)
        stop_server(api_server)
        for _ in range(3):
            await pilot.press("f5")
            await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        return revoked, titled(tui)[len(revoked):], type(tui.screen)

    revoked, stopped, screen = drive(api_server, "amy", scenario)
    assert [title for title, _ in revoked] == ["Not signed in"], revoked
    assert revoked[0][1].startswith("the token was revoked at ") and revoked[0][1].endswith("; sign in again")
    assert [title for title, _ in stopped] == ["Server unavailable"], stopped
    assert stopped[0][1].startswith(f"cannot reach the Redress server at {api_server.url} ")
    assert screen is QueueScreen
