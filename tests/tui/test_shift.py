"""An agent's and a supervisor's first hour in the terminal app: forms that keep what was typed, dialogs that say
what they decide, the policy manual in the customer's language, and the scheduler's news told at once."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import DataTable, Input, Select, Static, TabbedContent

from tests.conftest import PINNED, file_one
from tests.tui.test_flows import drive, type_text
from workflow.faces.tui.actions import offered
from workflow.faces.tui.complaint import ComplaintScreen
from workflow.faces.tui.forms import ConfirmScreen, FormScreen
from workflow.faces.tui.intake import LABELS, NewComplaintScreen, PolicyScreen
from workflow.read.news import ESCALATED, WARNED
from workflow.read.queries import complaint_detail, history
from workflow.services import lifecycle as svc
from workflow.services.compensation import add_step
from workflow.services.firing import fire_due
from workflow.services.kb import policy_answers


def screen_lines(tui) -> list[str]:
    """The text the active screen shows, line by line, as the terminal would."""
    return [strip.text for strip in tui.screen._compositor.render_strips()]


def mine(app, **overrides: str) -> str:
    number = file_one(app, **overrides)
    svc.triage(app, "amy", number)
    svc.assign(app, "amy", number)
    return number


# 9. q never throws a half-filled form away; Escape asks first; Ctrl+K works from the summary.

def test_q_in_a_half_filled_form_is_a_letter_and_the_form_stays(app):
    number = mine(app)

    async def scenario(pilot, tui):
        tui.open_complaint(number)
        await pilot.pause()
        await pilot.press("n")  # add a note: one line of text
        await pilot.pause()
        await type_text(pilot, "quote asked")
        typed = tui.screen.query_one("#f-text", Input).value
        await pilot.press("p")  # not a key of the complaint view here: a letter of the note
        return typed, tui.screen, tui.is_running

    typed, screen, running = drive(app, "amy", scenario)
    assert typed == "quote asked" and isinstance(screen, FormScreen) and running


def test_q_on_a_forms_list_does_not_quit_and_the_intake_keeps_what_was_typed(app):
    async def scenario(pilot, tui):
        await pilot.press("n")
        await type_text(pilot, "13912345678")
        tui.screen.query_one("#channel", Select).focus()
        await pilot.press("q")
        await pilot.pause()
        intake = tui.screen
        await pilot.press("ctrl+k")  # the manual over the form: its list of answers is no form, the intake is
        await pilot.pause()
        tui.screen.query_one("#hits").focus()
        await pilot.press("q", "escape")
        await pilot.pause()
        return tui.is_running, intake, tui.screen, tui.screen.query_one("#phone", Input).value

    running, intake, screen, phone = drive(app, "amy", scenario)
    assert running and isinstance(intake, NewComplaintScreen) and screen is intake and phone == "13912345678"


def test_leaving_a_form_with_typed_input_asks_first_and_an_empty_one_leaves_at_once(app):
    number = mine(app)

    async def scenario(pilot, tui):
        tui.open_complaint(number)
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("escape")  # nothing typed: gone at once
        await pilot.pause()
        empty = type(tui.screen)
        await pilot.press("n")
        await pilot.pause()
        await type_text(pilot, "half")
        await pilot.press("escape")
        await pilot.pause()
        asked = type(tui.screen)
        await pilot.press("n")  # no: back to the form, text intact
        await pilot.pause()
        kept = tui.screen.query_one("#f-text", Input).value
        await pilot.press("escape", "y")
        await pilot.pause()
        return empty, asked, kept, type(tui.screen)

    empty, asked, kept, after = drive(app, "amy", scenario)
    assert empty is ComplaintScreen and asked is ConfirmScreen and kept == "half" and after is ComplaintScreen


def test_ctrl_k_from_the_summary_files_and_answers_from_the_manual(app):
    async def scenario(pilot, tui):
        await pilot.press("n")
        await type_text(pilot, "13912345678")
        await pilot.press("tab", "tab")
        await type_text(pilot, "李雷")
        tui.screen.query_one("#category", Select).value = "refund"
        tui.screen.query_one("#summary", Input).focus()
        await type_text(pilot, "退款多久到账")
        await pilot.press("ctrl+k")  # the summary's input would take it as "delete to the end"
        await pilot.pause()
        manual = type(tui.screen)
        await pilot.press("enter", "enter")  # to the answers, then the first one
        await pilot.pause()
        return manual, tui.screen

    manual, screen = drive(app, "amy", scenario)
    assert manual is PolicyScreen and isinstance(screen, ComplaintScreen)
    detail = complaint_detail(app, screen.number)
    assert detail["summary"] == "退款多久到账" and detail["state"] == "closed" and "退款" in detail["resolution"]


# 10. Labels, a found customer shown as they are, Chinese whole at a modal's edge.

def test_every_intake_field_has_its_own_label(app):
    async def scenario(pilot, tui):
        await pilot.press("n")
        await pilot.pause()
        screen = tui.screen
        return {widget_id: (screen.query_one(f"#{widget_id}", Select).query_one("SelectCurrent")
                            if widget_id in ("tier", "language", "channel", "category", "severity")
                            else screen.query_one(f"#{widget_id}")).border_title for widget_id in LABELS}

    titles = drive(app, "amy", scenario)
    assert all(titles.values()) and len(set(titles.values())) == len(titles)
    assert titles["phone"] != titles["channel"] and "phone" in titles["phone"].lower()


def test_a_found_customer_is_shown_as_they_are_not_as_if_new(app):
    file_one(app, phone="13800000009", name="陳美玲", language="zh-TW", tier="gold")

    async def scenario(pilot, tui):
        await pilot.press("n")
        await type_text(pilot, "13800000009")
        await pilot.pause()
        name = tui.screen.query_one("#name", Input)
        language = tui.screen.query_one("#language", Select)
        found = name.value, name.disabled, language.value, language.disabled
        await pilot.press("backspace")  # no longer their number: the fields are a new customer's again
        await pilot.pause()
        return found, (name.value, name.disabled, language.disabled)

    found, retyped = drive(app, "amy", scenario)
    assert found == ("陳美玲", True, "zh-TW", True) and retyped == ("", False, False)


def test_intake_names_the_customers_open_complaints_and_the_earlier_one_about_the_order(app):
    still_open = file_one(app, phone="13800000009", name="陳美玲", summary="快递十天没到", order_ref="SO-7")
    closed = file_one(app, phone="13800000009", name="陳美玲", order_ref="SO-8")
    svc.cancel(app, "amy", closed, "duplicate", duplicate_of=still_open)

    async def scenario(pilot, tui):
        await pilot.press("n")
        await type_text(pilot, "13800000009")
        await pilot.pause()
        before = str(tui.screen.query_one("#related", Static).render())
        tui.screen.query_one("#order", Input).value = "SO-8"
        await pilot.pause()
        return before, str(tui.screen.query_one("#related", Static).render())

    before, with_order = drive(app, "amy", scenario)
    assert before == f"also open for this customer: {still_open} (received) 快递十天没到"
    assert with_order.splitlines() == [before, f"same order SO-8: {closed} (cancelled)"]


def test_a_modal_shows_a_long_chinese_reason_whole_at_80_columns(app):
    reason = ("顧客說吹風機用了十天就壞了保固期內應該免費更換但門市拒絕處理並且態度很差"
              "所以要求全額退款並補償運費和交通費")
    number = file_one(app, name="陳美玲")
    add_step(app, "amy", number, "refund", amount="480", reason=reason)

    async def scenario(pilot, tui):
        await pilot.press("b")
        await pilot.pause()
        tui.screen.query_one("#approvals", DataTable).focus()
        await pilot.press("a")
        await pilot.pause()
        return screen_lines(tui)

    lines = drive(app, "sup", scenario)
    shown = "".join(ch for line in lines for ch in line if "\u4e00" <= ch <= "\u9fff")
    assert reason in shown


# 11. Dialogs that say what they decide; Take it only when it is not mine; supervisors on the team; true help.

def test_the_approve_dialog_names_the_complaint_customer_kind_amount_and_who_asked(app):
    number = file_one(app, name="John Smith")
    add_step(app, "amy", number, "refund", amount="120", reason="price difference")

    async def scenario(pilot, tui):
        await pilot.press("b")
        await pilot.pause()
        tui.screen.query_one("#approvals", DataTable).focus()
        await pilot.press("j")
        await pilot.pause()
        return type(tui.screen), "\n".join(screen_lines(tui))

    screen, text = drive(app, "sup", scenario)
    assert screen is FormScreen
    for expected in ("Reject compensation step", number, "John Smith", "refund", "120.00 CNY", "asked by amy",
                     "price difference"):
        assert expected in text, expected


def test_take_it_is_not_offered_on_a_complaint_already_mine(app):
    number = file_one(app)
    svc.triage(app, "amy", number)

    async def scenario(pilot, tui):
        tui.open_complaint(number)
        await pilot.pause()
        before = str(tui.screen.query_one("#actions", Static).render())
        await pilot.press("a")
        await pilot.pause()
        return before, str(tui.screen.query_one("#actions", Static).render())

    before, after = drive(app, "amy", scenario)
    assert "Take it" in before and "Take it" not in after
    detail = complaint_detail(app, number)
    assert "assign" in detail["allowed_actions"]  # the machine allows reassigning; taking it again changes nothing
    assert "a" not in {a.key for a in offered(detail, "agent", "amy")}
    assert "a" in {a.key for a in offered(detail, "agent", "bob")}
    assert "T" not in {a.key for a in offered(detail, "supervisor", "amy")}  # nor taking over one's own
    assert "T" in {a.key for a in offered(detail, "supervisor", "sup")}


def test_a_supervisor_opens_on_the_team_queue_and_an_agent_on_their_own(app):
    async def scenario(pilot, tui):
        return tui.screen.query_one("#tabs", TabbedContent).active

    assert drive(app, "sup", scenario) == "team"
    assert drive(app, "boss", scenario) == "team"
    assert drive(app, "amy", scenario) == "mine"


def test_tab_switches_my_and_team_queue_as_the_help_says(app):
    async def scenario(pilot, tui):
        await pilot.press("tab")
        switched = tui.screen.query_one("#tabs", TabbedContent).active
        await pilot.press("tab")
        back = tui.screen.query_one("#tabs", TabbedContent).active
        await pilot.press("question_mark")
        await pilot.pause()
        return switched, back, str(tui.screen.query_one(Static).render())

    switched, back, help_text = drive(app, "amy", scenario)
    assert (switched, back) == ("team", "mine")
    assert "Tab  switch My/Team queue" in help_text and "q is a letter" in help_text


# 12. The manual: Enter does what it says; a zh-TW customer reads what the complaint records.

def test_enter_in_the_manual_from_the_queue_copies_the_answer_and_ctrl_k_files_with_it(app):
    expected = policy_answers(app, "退款多久到账", limit=1)[0]

    async def scenario(pilot, tui):
        await pilot.press("k")
        await type_text(pilot, "退款多久到账")
        await pilot.press("enter", "enter")
        await pilot.pause()
        copied, notes = tui.clipboard, [n.message for n in tui._notifications]
        await pilot.press("ctrl+k")
        await pilot.pause()
        intake = type(tui.screen)
        await type_text(pilot, "13912345678")
        await pilot.press("tab", "tab")
        await type_text(pilot, "李雷")
        tui.screen.query_one("#category", Select).value = "refund"
        await pilot.press("ctrl+k")
        await pilot.pause()
        return copied, notes, intake, tui.screen

    copied, notes, intake, screen = drive(app, "amy", scenario)
    assert copied == expected.answer and any("copied" in note for note in notes)
    assert intake is NewComplaintScreen and isinstance(screen, ComplaintScreen)
    detail = complaint_detail(app, screen.number)
    assert detail["summary"] == "退款多久到账" and detail["state"] == "closed"
    assert history(app, screen.number)["events"][-2]["data"]["policy_answer"] == expected.id


def test_a_zh_tw_customer_previews_the_text_the_complaint_records(app):
    number = file_one(app, phone="13800000009", name="陳美玲", language="zh-TW", category="refund",
                      summary="退款多久到账")

    async def scenario(pilot, tui):
        tui.open_complaint(number)
        await pilot.pause()
        await pilot.press("m")
        await pilot.pause()
        preview = str(tui.screen.query_one("#answer", Static).render())
        await pilot.press("enter", "enter")  # from the search to the answers; the first one
        await pilot.pause()
        return preview

    preview = drive(app, "amy", scenario)
    hit = policy_answers(app, "退款多久到账", language="zh-TW", limit=1)[0]
    assert hit.answer != policy_answers(app, "退款多久到账", language="zh-CN", limit=1)[0].answer
    assert preview.split("\n", 1)[1] == hit.answer
    assert complaint_detail(app, number)["resolution"] == hit.answer


# 13. The scheduler's warnings and escalations of my complaints, told at once and once.

def test_a_warning_and_an_escalation_of_my_complaint_are_each_told_once(app):
    number = mine(app, severity="critical")
    others = file_one(app, "bob", severity="critical", phone="13900000077", name="Other")  # not mine: not told

    async def scenario(pilot, tui):
        await pilot.pause(0.3)
        quiet = len(tui._notifications)
        app.clock.pin(PINNED + timedelta(minutes=16))  # first response (15 min) breached, its warning before
        fire_due(app)
        await pilot.pause(0.6)  # several refreshes at 0.2 s
        return quiet, [(n.title, n.message) for n in tui._notifications]

    quiet, notes = drive(app, "amy", scenario, refresh=0.2)
    fired = [e for e in history(app, number)["events"] if e["trigger"] in (WARNED, *ESCALATED)]
    assert quiet == 0 and {e["trigger"] for e in fired} == {"sla_warning", "sla_breach"}
    assert len(notes) == len(fired)
    assert ("Warning", f"{number}: {fired[0]['note']}") in notes
    assert ("Escalated", f"{number}: {fired[1]['note']}") in notes and "escalated" in fired[1]["note"]
    assert not any(others in message for _, message in notes)

