"""The lifecycle actions table (workflow/faces/actions.py) as both faces offer it, checked row by row.

Every row with a command is an installed `redress` command with the row's help and options; every row with a key is
offered by the terminal app wherever the machine allows its trigger, asking for what the row asks for. A row added
to the table is checked here without a new line of test. The policy search the faces share is checked last.
"""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import OptionList

from states.definition import STATES, Trigger
from states.machine import allowed_triggers
from tests.conftest import file_one
from tests.e2e.test_cli import as_json, redress
from workflow.faces.actions import ACTIONS, LifecycleAction
from workflow.faces.cli.root import COMMANDS
from workflow.faces.seat import DirectSeat
from workflow.faces.tui.actions import COMPENSATION, LIFECYCLE, SUPERVISION, offered
from workflow.faces.tui.app import RedressTUI
from workflow.faces.tui.intake import PolicyScreen
from workflow.services.kb import policy_answers

COMMANDED = [row for row in ACTIONS if row.command is not None]
KEYED = [row for row in ACTIONS if row.key is not None]


def _name(row: LifecycleAction) -> str:
    return row.command or row.trigger


def test_every_trigger_of_the_machine_is_a_row_but_answering_from_the_manual_and_a_leavers_hand_over():
    # Answering from the manual picks from a search in each face, so it is written out there. Handing work over
    # and back to the queue happen only as a leaver is deactivated (`redress user deactivate`), never by an agent;
    # a wait on the customer ends at its limit only by the scheduler.
    assert {row.trigger for row in ACTIONS} == set(Trigger) - {Trigger.ANSWER_FROM_MANUAL, Trigger.HAND_OVER,
                                                               Trigger.UNASSIGN, Trigger.PAUSE_LIMIT_REACHED}


def test_each_key_of_the_complaint_view_does_one_thing():
    keys = [action.key for action in [*LIFECYCLE.values(), *COMPENSATION, *SUPERVISION]] + ["m"]
    assert len(keys) == len(set(keys)), keys
    assert len(LIFECYCLE) == len(KEYED)  # one keyed row per trigger


@pytest.mark.parametrize("row", COMMANDED, ids=_name)
def test_every_row_with_a_command_is_an_installed_command_with_the_rows_help_and_options(row, sqlite_url):
    assert COMMANDS[row.command] == "lifecycle"
    shown = redress(row.command, "--help", db=sqlite_url).stdout
    assert row.help in " ".join(shown.split())
    for ask in row.asks:
        for flag in ask.flags:
            assert f" {flag} " in shown, (flag, shown)


@pytest.mark.parametrize("row", KEYED, ids=_name)
def test_every_row_with_a_key_is_offered_where_the_machine_allows_it_and_asks_what_the_row_asks(row, sqlite_app):
    where = [state for state in STATES if row.trigger in allowed_triggers(state)]
    assert where, f"no state allows {row.trigger}"
    for state in STATES:
        detail = {"state": state, "severity": "medium", "allowed_actions": list(allowed_triggers(state))}
        actions = {action.key: action for action in offered(detail, "agent")}
        assert (row.key in actions) == (state in where), state
        if state in where:
            action = actions[row.key]
            assert action.label == row.label
            fields = action.fields(DirectSeat(sqlite_app, "amy"), detail)
            assert [(f.name, f.required) for f in fields] == [(ask.name, ask.required) for ask in row.asks]


def test_the_severity_form_starts_at_the_complaints_severity_and_lists_the_configured_ones(sqlite_app):
    detail = {"state": "received", "severity": "high", "allowed_actions": ["change_severity"]}
    [severity, reason] = LIFECYCLE["change_severity"].fields(DirectSeat(sqlite_app, "amy"), detail)
    assert severity.value == "high" and [v for _, v in severity.options] == sqlite_app.config.severity_names
    assert reason.options == [] and reason.label == "Reason"


def test_a_row_fires_its_trigger_from_the_command_line_and_the_terminal_app(sqlite_app, sqlite_url):
    from workflow.read.queries import complaint_detail, history

    by_command, by_key = file_one(sqlite_app), file_one(sqlite_app, phone="13800138001")
    redress("note", by_command, "-m", "called back", db=sqlite_url, user="amy")
    version = complaint_detail(sqlite_app, by_key)["version"]
    LIFECYCLE["note"].run(DirectSeat(sqlite_app, "amy"), by_key, version, {"text": "called back"})
    last = [history(sqlite_app, number)["events"][-1] for number in (by_command, by_key)]
    assert [(e["trigger"], e["note"]) for e in last] == [("note", "called back")] * 2


def test_both_faces_show_the_same_policy_answers(sqlite_app, sqlite_url):
    question = "退款多久到账"
    on_the_line = as_json(redress("kb", "search", question, "--limit", "8", "--json", db=sqlite_url, user="amy"))
    assert on_the_line and on_the_line == [vars(hit) for hit in policy_answers(sqlite_app, question, limit=8)]

    async def search() -> list[str]:
        tui = RedressTUI(DirectSeat(sqlite_app, "amy"), refresh_seconds=60)
        async with tui.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            tui.push_screen(PolicyScreen(question))
            await pilot.pause()
            hits = tui.screen.query_one("#hits", OptionList)
            return [str(hits.get_option_at_index(i).id) for i in range(hits.option_count)]

    assert asyncio.run(search()) == [hit["id"] for hit in on_the_line]


def test_policy_answers_refuse_a_language_not_in_the_vocabulary(sqlite_app):
    from workflow.domain.errors import InvalidInput

    with pytest.raises(InvalidInput, match="language 'fr' is not allowed; languages: zh-CN, zh-TW, en"):
        policy_answers(sqlite_app, "refund", language="fr")
    english = policy_answers(sqlite_app, "refund", language="en")
    assert english and all(hit.answer for hit in english)
