"""The reports screen: the month's figures as the report pack words them, months and reports switched with keys,
customer text drawn as text, and a clear refusal for an agent."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from textual.widgets import DataTable, Static, TabbedContent

from tests.conftest import file_one
from tests.tui.test_flows import cell_texts, drive
from workflow.domain.permissions import PERMISSIONS
from workflow.faces.seat import DirectSeat
from workflow.faces.tui.queue import QueueScreen
from workflow.faces.tui.reports import ReportsScreen, bar, previous_month, shifted
from workflow.faces.tui.supervisor import SupervisorScreen
from workflow.read.reports import REPORTS
from workflow.read.reports.model import Report
from workflow.read.reports.present import Words
from workflow.services import lifecycle as svc
from workflow.services.compensation import add_step
from workflow.services.surveys import record

NAME = "[red]王芳[/red]\x1b[2J"  # markup and an escape code a customer might have typed
COMMENT = "[bold]太慢了[/bold]"


@pytest.fixture
def november(app):
    """A few complaints filed on 20 November, answered, one resolved and scored low, one with a refund; the
    clock then on 2 December, so the screen opens on November."""
    slow = file_one(app, severity="low", phone="13800000001", name=NAME)
    jug = file_one(app, severity="high", category="damaged", summary="The jug arrived cracked",
                   phone="13800000002", name="John Smith")
    file_one(app, severity="medium", phone="13800000003", name="陳美玲")
    for number in (slow, jug):
        svc.triage(app, "amy", number)
        svc.assign(app, "amy", number)
        svc.start(app, "amy", number)
    svc.resolve(app, "amy", slow, "sent a new one")
    svc.close(app, "amy", slow)
    record(app, "amy", slow, 1, COMMENT)
    add_step(app, "amy", jug, "refund", amount="120", reason="price difference")
    app.clock.pin(datetime(2026, 12, 2, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai
    return app


def _pack(app, month: str) -> list[Report]:
    return [Report.from_json(data) for data in DirectSeat(app, "sup").call("report_pack", month)]


async def _open(pilot) -> ReportsScreen:
    await pilot.press("b", "r")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, ReportsScreen)
    return screen


def _text(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


def _shows(text: str, label: str, value: str) -> bool:
    """The label, then the value at the end of its column."""
    return re.search(rf"(?:^|   ){re.escape(label)}  +{re.escape(value)}(?:$|   )", text, re.M) is not None


def test_a_supervisor_reads_every_reports_figures_as_the_pack_words_them(november):
    expected = _pack(november, "2026-11")

    async def scenario(pilot, tui):
        screen = await _open(pilot)
        month = _text(screen, "#month")
        shown = {}
        for name in REPORTS:
            assert screen.query_one("#reports", TabbedContent).active == f"tab-{name}"
            shown[name] = (_text(screen, f"#figures-{name}"), _text(screen, f"#chart-{name}"),
                           cell_texts(screen.query_one(f"#table-{name}", DataTable)))
            await pilot.press("tab")
        return month, shown

    month, shown = drive(november, "sup", scenario)
    words = Words(expected[0])
    assert "2026-11" in month and words.period(expected[0]) in month
    for report in expected:
        words = Words(report)
        figures, _, _ = shown[report.name]
        for key, kind, value in report.figures:
            assert _shows(figures, words.label(key), words.value(value, kind, report.currency)), (key, figures)
    sla = next(r for r in expected if r.name == "sla")
    assert dict((k, v) for k, _, v in sla.figures)["filed"] == 3  # the figures are not all zero
    _, chart, table = shown["sla"]
    assert Words(sla).label("compliance_over_time") in chart and "█" in chart
    assert [row[0] for row in table] == [Words(sla).label(row[0]) for row in sla.table("by_severity").rows]
    _, chart, _ = shown["compensation"]
    assert "¥" in chart
    _, _, agents = shown["agents"]
    assert agents[-1][0] == Words(sla).label("team_median") and agents[0][0] == "amy"


def test_the_brackets_and_arrows_move_the_month_and_the_period_follows(november):
    october, december = _pack(november, "2026-10")[0], _pack(november, "2026-12")[0]

    async def scenario(pilot, tui):
        screen = await _open(pilot)
        months = []
        for key in ("left_square_bracket", "right_square_bracket", "right", "left"):
            await pilot.press(key)
            await pilot.pause()
            months.append((screen.month, _text(screen, "#month"), _text(screen, "#figures-sla")))
        return months

    (m1, line1, fig1), (m2, _, _), (m3, line3, fig3), (m4, _, _) = drive(november, "sup", scenario)
    assert (m1, m2, m3, m4) == ("2026-10", "2026-11", "2026-12", "2026-11")
    words = Words(october)
    assert "2026-10" in line1 and words.period(october) in line1
    assert _shows(fig1, words.label("filed"), "0")
    assert "2026-12" in line3 and Words(december).period(december) in line3


def test_tab_shift_tab_and_the_language_key_switch_what_is_shown(november):
    async def scenario(pilot, tui):
        screen = await _open(pilot)
        tabs = screen.query_one("#reports", TabbedContent)
        seen = []
        for key in ("tab", "tab", "shift+tab", "shift+tab", "shift+tab"):
            await pilot.press(key)
            await pilot.pause()
            seen.append(tabs.active)
        await pilot.press("l")  # zh-CN, the call centre's language, then zh-TW
        await pilot.pause()
        taiwan = _text(screen, "#figures-at_risk")
        await pilot.press("l")
        await pilot.pause()
        return seen, taiwan, _text(screen, "#figures-at_risk"), str(tabs.get_tab("tab-at_risk").label)

    seen, taiwan, english, label = drive(november, "sup", scenario)
    assert seen == ["tab-agents", "tab-satisfaction", "tab-agents", "tab-sla", "tab-at_risk"]
    assert "風險客戶" in taiwan and "Customers at risk" in english and label == "Customers at risk"


def test_customer_names_and_comments_are_drawn_as_text_never_as_markup(november):
    async def scenario(pilot, tui):
        screen = await _open(pilot)
        return (cell_texts(screen.query_one("#table-at_risk", DataTable)),
                cell_texts(screen.query_one("#table-satisfaction", DataTable)))

    at_risk, verbatims = drive(november, "sup", scenario)
    assert at_risk[0][0] == "[red]王芳[/red]\\x1b[2J"
    assert verbatims[0][-1] == COMMENT


def test_escape_and_q_go_back_to_the_board(november):
    async def scenario(pilot, tui):
        await _open(pilot)
        await pilot.press("escape")
        after_escape = tui.screen
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("q")
        return after_escape, tui.screen, tui.is_running

    after_escape, after_q, running = drive(november, "sup", scenario)
    assert isinstance(after_escape, SupervisorScreen) and isinstance(after_q, SupervisorScreen) and running


def test_an_agent_is_told_plainly_that_reports_need_a_supervisor_and_the_app_goes_on(november):
    permission = PERMISSIONS["read_reports"]
    line = f"amy is an agent; {permission.wording} needs {permission.least_role} or above"

    async def scenario(pilot, tui):
        told: list[str] = []
        tui.notify = lambda message, **_: told.append(str(message))
        tui.open_reports()
        await pilot.pause()
        refused_from_app = tui.screen
        tui.push_screen(ReportsScreen("2026-11"))  # even opened directly, it says so and reads nothing
        await pilot.pause()
        month = str(tui.screen.query_one("#month", Static).render())
        await pilot.press("right_square_bracket", "tab", "l", "escape")
        await pilot.pause()
        return told, refused_from_app, month, tui.screen, tui.is_running

    told, refused_from_app, month, last, running = drive(november, "amy", scenario)
    assert told == [line] and isinstance(refused_from_app, QueueScreen)
    assert month == line
    assert isinstance(last, QueueScreen) and running


def test_months_bars_and_the_default_month():
    assert shifted("2026-01", -1) == "2025-12" and shifted("2026-12", 1) == "2027-01"
    assert previous_month(datetime(2026, 11, 30, 17, 0, tzinfo=UTC), "Asia/Shanghai") == "2026-11"  # 1 Dec there
    assert previous_month(datetime(2026, 1, 5, tzinfo=UTC), "Asia/Shanghai") == "2025-12"
    assert bar(1.0, 1.0, 10) == "█" * 10 and bar(0.5, 1.0, 3) == "█▌" and bar(0.001, 1.0, 10) == "▏"
    assert bar(0, 1.0, 10) == bar(None, 1.0, 10) == ""
