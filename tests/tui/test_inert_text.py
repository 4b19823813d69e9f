"""Customer text with escape codes and bidi overrides is drawn inert by the terminal app."""

from __future__ import annotations

import asyncio

from textual.widgets import DataTable, Static

from tests.conftest import file_one
from tests.tui.test_flows import cell_texts, drive
from workflow.services import lifecycle as svc

HOSTILE = "快递没到\x1b[2J\x1b]0;pwned\x07 \u202eevil"


def _assert_inert(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text, repr(text)


def test_the_queue_and_the_complaint_view_draw_escape_codes_and_overrides_as_text(app):
    number = file_one(app, summary=HOSTILE)
    svc.triage(app, "amy", number)
    svc.add_note(app, "amy", number, "note\x1b[31m \u2066x\u2069")

    async def scenario(pilot, tui):
        queue_rows = cell_texts(tui.screen.query_one("#team-table", DataTable))
        tui.open_complaint(number)
        await pilot.pause()
        sections = {name: str(tui.screen.query_one(f"#{name}", Static).render())
                    for name in ("summary", "customer")}
        return queue_rows, sections, tui.export_screenshot()

    queue_rows, sections, screenshot = drive(app, "amy", scenario, size=(160, 40))
    drawn = " ".join(" ".join(row) for row in queue_rows)
    _assert_inert(drawn)
    assert "\\x1b[2J" in drawn and "\\u202e" in drawn
    for text in sections.values():
        _assert_inert(text)
    assert "\\x1b]0;pwned\\x07" in sections["summary"]
    _assert_inert(screenshot)
    assert "\\x1b[31m" in screenshot


def test_a_refusal_quoting_typed_text_is_shown_as_text_not_markup(app):
    from textual.widgets._toast import Toast

    from workflow.faces.seat import DirectSeat
    from workflow.faces.tui.app import RedressTUI
    from workflow.faces.tui.common import attempt

    async def run():
        tui = RedressTUI(DirectSeat(app, "amy"), refresh_seconds=60)
        async with tui.run_test(size=(160, 40), notifications=True) as pilot:
            await pilot.pause()
            # A route owner typed with markup and an escape code: refused, and the refusal quotes it.
            result = attempt(tui.screen, lambda: svc.route(app, "amy", "C-20991231-0001", "[/bold][red]x\x1b[2J"))
            await pilot.pause()
            return result, [toast.render().plain for toast in tui.screen.query(Toast)]

    result, shown = asyncio.run(run())
    assert result is None
    assert shown == ["Not done\nowner '[/bold][red]x\\x1b[2J' is not a configured owner; "
                     "owners: 物流部, 财务部, 质检部, 售后部, 仓储部, 客服主管"]
