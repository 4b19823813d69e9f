"""One rule, one refusal: for every action the permissions table keeps above agent, an agent is refused with the
same line through the installed `redress` command and the terminal app, or the terminal app does not offer it.

The cases are generated from the table: a new permission fails `test_every_permission_above_agent_has_a_case`
until it is given a command line and a place in the terminal app.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import Select

from tests.conftest import CONFIG, file_one
from tests.tui.test_flows import fill_form, type_text
from workflow.domain.errors import PermissionDenied
from workflow.domain.permissions import PERMISSIONS
from workflow.faces.seat import DirectSeat
from workflow.faces.tui.actions import COMPENSATION, LIFECYCLE, SUPERVISION
from workflow.faces.tui.app import RedressTUI
from workflow.faces.tui.complaint import ComplaintScreen
from workflow.faces.tui.forms import FormScreen
from workflow.faces.tui.queue import QueueScreen
from workflow.faces.tui.supervisor import SupervisorScreen
from workflow.services import lifecycle as svc

REDRESS = Path(sys.executable).parent / "redress"
ABOVE_AGENT = sorted(action for action, permission in PERMISSIONS.items() if permission.least_role != "agent")

# How an agent asks for each action on the command line ({n} is a complaint number).
CLI = {
    "lower_severity": ["severity", "{n}", "--to", "low", "--reason", "the customer calmed down"],
    "assign_others": ["assign", "{n}", "--to", "bob"],
    "cancel_as_spam": ["cancel", "{n}", "--reason", "spam"],
    "act_on_others_complaint": ["start", "{n}", "--message", "bob is away"],  # the complaint is bob's
    "escalation_board": ["escalations"],
    "acknowledge_escalation": ["escalation", "ack", "{n}", "--reason", "seen"],
    "extend_deadline": ["escalation", "extend", "{n}", "--by", "1h", "--reason", "waiting on the courier"],
    "lower_escalation": ["escalation", "lower", "{n}", "--to", "agent", "--reason", "handled"],
    "retry_messages": ["outbox", "retry", "1"],
    "retry_deadline": ["deadlines", "retry", "1"],
    "retry_mail": ["mail", "retry", "1"],
    "add_user": ["user", "add", "carl", "--role", "agent"],
    "change_role": ["user", "role", "bob", "--to", "senior"],
    "edit_user": ["user", "edit", "bob", "--email", "bob@example.cn"],
    "deactivate_user": ["user", "deactivate", "bob", "--reason", "left", "--to-queue"],
    "reactivate_user": ["user", "reactivate", "bob"],
    "reset_password": ["user", "password", "bob", "--password-stdin"],
    "revoke_sign_ins": ["user", "revoke", "bob", "--reason", "lost laptop"],
    "manage_api_keys": ["apikey", "create", "web-form", "--scope", "file:web"],
    "read_failed_deadlines": ["deadlines", "failed"],
    "survey_scores": ["survey", "scores"],
    "pause_report": ["sla", "pauses"],
    "replan_clocks": ["sla", "replan", "--dry-run"],
    "what_if": ["whatif", "--config", str(CONFIG), "--from", "2026-11-01", "--to", "2026-12-01"],
    "read_reports": ["report", "sla", "--month", "2026-11"],
    "import_complaints": ["import", "helpdesk.csv"],  # refused before the file is looked for
}



async def _lower_severity(pilot, tui) -> None:
    await pilot.press("e")
    tui.screen.query_one("#f-severity", Select).value = "low"
    tui.screen.query_one("#f-text").focus()
    await fill_form(pilot, "the customer calmed down")


async def _cancel_as_spam(pilot, tui) -> None:
    await pilot.press("d")
    tui.screen.query_one("#f-reason", Select).value = "spam"
    tui.screen.query_one("#f-duplicate_of").focus()
    await pilot.press("ctrl+s")
    await pilot.pause()


async def _start_someone_elses(pilot, tui) -> None:
    await pilot.press("s")
    await fill_form(pilot, "bob is away")


# What an agent does in the terminal app to attempt the actions it offers them, from the complaint's view.
TUI = {"lower_severity": _lower_severity, "cancel_as_spam": _cancel_as_spam,
       "act_on_others_complaint": _start_someone_elses}


def _cli_refusal(database_url: str, argv: list[str]) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_")}
    env.update(REDRESS_CONFIG=str(CONFIG), REDRESS_DB=database_url, REDRESS_NOW="2026-11-20T10:00:00+08:00",
               REDRESS_USER="amy", COLUMNS="120")
    result = subprocess.run([str(REDRESS), *argv], env=env, input="bob-new-password-2\n", capture_output=True,
                            text=True, timeout=60)  # the input: a new password, for the one command that reads it
    return result.returncode, result.stderr


def _tui(app, number: str, scenario) -> tuple[list[str], object, set[str | None]]:
    """Run `scenario` as agent amy from the complaint's view: the notifications, the last screen, the offers."""
    shown: list[str] = []

    async def run():
        tui = RedressTUI(DirectSeat(app, "amy"), refresh_seconds=60)
        async with tui.run_test(size=(120, 36)) as pilot:
            tui.notify = lambda message, **_: shown.append(str(message))  # type: ignore[method-assign]
            await pilot.pause()
            tui.open_complaint(number)
            await pilot.pause()
            offered = {action.permission for action in tui.screen.actions}
            await scenario(pilot, tui)
            return tui.screen, offered

    screen, offered = asyncio.run(run())
    return shown, screen, offered


def test_every_permission_above_agent_has_a_case():
    assert set(CLI) == set(ABOVE_AGENT)
    assert set(TUI) <= set(ABOVE_AGENT)


@pytest.mark.parametrize("action", ABOVE_AGENT)
def test_an_agent_gets_the_same_refusal_from_the_command_and_the_terminal_app(app, database_url, action):
    number = file_one(app, severity="high")
    if action == "act_on_others_complaint":
        svc.triage(app, "sen", number)
        svc.assign(app, "sen", number, "bob")
    expected = PermissionDenied.exit_code
    code, stderr = _cli_refusal(database_url, [part.format(n=number) for part in CLI[action]])
    assert (code, stderr) == (expected, f"error: {_refusal(action, number)}\n")

    if action in TUI:
        shown, screen, _ = _tui(app, number, TUI[action])
        assert _refusal(action, number) in shown
        assert not isinstance(screen, FormScreen)  # the form closed; nothing was done
    else:
        async def press_its_key(pilot, tui) -> None:
            for key in _keys_for(action):
                await type_text(pilot, key)
                await pilot.pause()

        shown, screen, offered = _tui(app, number, press_its_key)
        assert action not in offered
        assert isinstance(screen, ComplaintScreen) and shown == []  # its key, if it has one, does nothing


def test_the_board_refuses_an_agent_in_the_service_and_the_terminal_app_does_not_offer_it(app):
    from workflow.services.supervision import escalation_board

    with pytest.raises(PermissionDenied) as refused:
        escalation_board(app, "amy")
    assert str(refused.value) == _refusal("escalation_board")
    assert escalation_board(app, "sup") == []

    def queue_for(user: str) -> tuple[str, object]:
        async def run():
            tui = RedressTUI(DirectSeat(app, user), refresh_seconds=60)
            async with tui.run_test(size=(120, 36)) as pilot:
                await pilot.pause()
                footer = tui.export_screenshot()
                await type_text(pilot, "b")
                await pilot.pause()
                return footer, tui.screen
        return asyncio.run(run())

    agent_view, agent_screen = queue_for("amy")
    supervisor_view, supervisor_screen = queue_for("sup")
    board_key = "Supervisor&#160;board"  # the footer as the screenshot draws it
    assert board_key not in agent_view and isinstance(agent_screen, QueueScreen)
    assert board_key in supervisor_view and isinstance(supervisor_screen, SupervisorScreen)


def _refusal(action: str, number: str = "") -> str:
    if action == "act_on_others_complaint":  # the line names whose complaint it is
        return f"{number} is assigned to bob; only bob, or a senior or above giving a reason, may start it"
    permission = PERMISSIONS[action]
    return f"amy is an agent; {permission.wording} needs {permission.least_role} or above"


def _keys_for(action: str) -> list[str]:
    """The keys of the terminal app's actions that carry this permission (for a supervisor, say)."""
    return [a.key for a in [*LIFECYCLE.values(), *COMPENSATION, *SUPERVISION] if a.permission == action]
