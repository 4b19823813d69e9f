"""The Textual application: acts through one seat as its user, opens on their queue, and routes between screens.

The seat is a direct database seat or one signed in to a Redress server: the app does every read and write with
`seat.call`, takes its choices from `seat.about()`, and never learns which of the two it has.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from workflow.domain.inert import inert
from workflow.domain.permissions import allows, refusal
from workflow.faces.seat import Seat
from workflow.faces.tui.common import attempt
from workflow.faces.tui.complaint import ComplaintScreen
from workflow.faces.tui.intake import NewComplaintScreen, PolicyScreen
from workflow.faces.tui.queue import QueueScreen
from workflow.faces.tui.reports import ReportsScreen
from workflow.faces.tui.screen import RedressModal, takes_typing
from workflow.faces.tui.supervisor import SupervisorScreen

HELP = """\
Everywhere    ?  this help    Esc  back    F5  refresh now
              q  quit; while a form is open q is a letter like any other
Queue         Enter  open    n  new complaint    k  policy manual
              Tab  switch My/Team queue (supervisors open on Team)
              b  supervisor board (supervisors)
Complaint     the line at the top is what this complaint allows now:
              press the key shown, or click it
              m  answer from the policy manual and close (when allowed)
Forms         Tab moves; Enter on the last field or Ctrl+S submits;
              Esc leaves, asking first when something was typed
New complaint phone (or email) finds the customer; Ctrl+S files;
              Ctrl+K files and answers from the policy manual
Policy manual type to search; Enter on an answer gives it to the complaint;
              from the queue, Enter copies it and Ctrl+K files with it
Supervisors   b board: Enter open, a approve step, j reject step, r reports
News          the scheduler's warnings and escalations of your open
              complaints pop up as they happen
Colours       yellow: a warning fired, the deadline is near;
              red: past a deadline or escalated
Countdowns are business time (working hours of the complaint's calendar)."""


class HelpScreen(RedressModal[None]):
    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(HELP, markup=False)


@dataclass(frozen=True)
class Acting:
    """Who the seat acts as, as the permissions table reads a user."""

    name: str
    role: str


class RedressTUI(App[None]):
    """The terminal app. Everything it shows and does goes through its seat: the same operations as the CLI."""

    TITLE = "Redress"
    CSS_PATH = "redress.tcss"
    BINDINGS = [Binding("q", "quit", "Quit"), Binding("question_mark", "help", "Help")]

    def __init__(self, seat: Seat, *, refresh_seconds: float = 2.0, queue_limit: int = 100) -> None:
        """Who acts and what the forms offer are read here, so a seat that cannot act fails before the screen opens."""
        super().__init__()
        self.seat = seat
        self.refresh_seconds = refresh_seconds
        self.queue_limit = queue_limit
        self.acting = Acting(seat.user, seat.role)
        self.user, self.role = self.acting.name, self.acting.role
        self.about: Mapping[str, Any] = seat.about()  # time zone and the choices the forms offer
        self.sub_title = f"{self.user} ({self.role})"
        self.news_after: int | None = None  # the last event the news was read up to; None: not read yet

    def on_mount(self) -> None:
        self.push_screen(QueueScreen())
        self.news_after = attempt(self.screen, lambda: self.seat.call("latest_event"))
        self.set_interval(self.refresh_seconds, self.tell_news)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While a form is open (under the manual too), q is a letter: quitting would throw the form away."""
        if action == "quit":
            return not any(takes_typing(screen) for screen in self.screen_stack)
        return True

    def tell_news(self) -> None:
        """One notification per warning or escalation the scheduler wrote on my open complaints since last time.

        News starts after the newest event when the app opened (or when it could first read it), so opening the
        app does not replay the past.
        """
        if self.news_after is None:
            self.news_after = attempt(self.screen, lambda: self.seat.call("latest_event"))
            return
        after = self.news_after
        read = attempt(self.screen, lambda: self.seat.call("news", after))
        if read is None:
            return
        self.news_after = read["after"]
        for item in read["news"]:
            self.notify(f"{item['number']}: {inert(item['what'])}", title="Escalated" if item["escalated"]
                        else "Warning", severity="error" if item["escalated"] else "warning", timeout=12,
                        markup=False)

    def open_complaint(self, number: str) -> None:
        self.push_screen(ComplaintScreen(number))

    def new_complaint(self) -> None:
        self.push_screen(NewComplaintScreen())

    def browse_manual(self) -> None:
        self.push_screen(PolicyScreen(for_customer=False))

    def may(self, action: str) -> bool:
        """Whether the acting user may do `action` (a name in the permissions table): what the screens offer."""
        return allows(self.role, action)

    def open_board(self) -> None:
        """The board, or the refusal the CLI gives (the same line, from the permissions table)."""
        if not self.may("escalation_board"):
            self.notify(refusal(self.acting, "escalation_board"), title="Not done", severity="error", markup=False)
            return
        self.push_screen(SupervisorScreen())

    def open_reports(self) -> None:
        """The month's reports, or the refusal the CLI gives."""
        if not self.may("read_reports"):
            self.notify(refusal(self.acting, "read_reports"), title="Not done", severity="error", markup=False)
            return
        self.push_screen(ReportsScreen())

    def action_help(self) -> None:
        self.push_screen(HelpScreen())


def run_tui(seat: Seat) -> None:
    RedressTUI(seat).run()
