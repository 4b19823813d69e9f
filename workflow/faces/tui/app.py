"""The Textual application: acts as one user, opens on their queue, and routes between screens."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from workflow.bootstrap import Redress
from workflow.domain.errors import RedressError
from workflow.domain.permissions import Person, allows, refusal
from workflow.faces.tui.complaint import ComplaintScreen
from workflow.faces.tui.intake import NewComplaintScreen, PolicyScreen
from workflow.faces.tui.queue import QueueScreen
from workflow.faces.tui.screen import RedressModal
from workflow.faces.tui.supervisor import SupervisorScreen
from workflow.services.people import acting_user

HELP = """\
Everywhere            ?  this help      q  quit      Esc  back      F5  refresh now
Queue                 Enter  open       n  new complaint     k  policy manual
                      b  supervisor board (supervisors)      Tab / click  switch My/Team queue
Complaint             the buttons at the top are what this complaint allows now;
                      press the key shown on a button, or click it. Forms: Tab moves,
                      Enter submits on the last field, Esc cancels.
                      m  answer from the policy manual and close (when allowed)
New complaint         phone (or email) finds the customer; Ctrl+S files,
                      Ctrl+K files and answers from the policy manual
Supervisor board      Enter  open      a  approve step      j  reject step
Colours               yellow: a warning fired, the deadline is near;  red: past a deadline or escalated
Countdowns are business time (working hours of the complaint's calendar)."""


class HelpScreen(RedressModal[None]):
    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(HELP, markup=False)


class RedressTUI(App[None]):
    """The terminal app. Everything it shows and does goes through the same services as the CLI."""

    TITLE = "Redress"
    CSS_PATH = "redress.tcss"
    BINDINGS = [Binding("q", "quit", "Quit"), Binding("question_mark", "help", "Help")]

    def __init__(self, redress: Redress, user: str, *, refresh_seconds: float = 2.0, queue_limit: int = 100) -> None:
        super().__init__()
        self.redress = redress
        self.refresh_seconds = refresh_seconds
        self.queue_limit = queue_limit
        with redress.uow(write=False) as uow:
            row = acting_user(uow.session, user)
        self.acting = Person(row.id, row.name, row.role)
        self.user = row.name
        self.role = row.role
        self.sub_title = f"{row.name} ({row.role})"

    def on_mount(self) -> None:
        self.push_screen(QueueScreen())

    def open_complaint(self, number: str) -> None:
        self.push_screen(ComplaintScreen(number))

    def new_complaint(self) -> None:
        self.push_screen(NewComplaintScreen())

    def browse_manual(self) -> None:
        self.push_screen(PolicyScreen())

    def may(self, action: str) -> bool:
        """Whether the acting user may do `action` (a name in the permissions table): what the screens offer."""
        return allows(self.role, action)

    def open_board(self) -> None:
        """The board, or the refusal the CLI gives (the same line, from the permissions table)."""
        if not self.may("escalation_board"):
            self.notify(refusal(self.acting, "escalation_board"), title="Not done", severity="error", markup=False)
            return
        self.push_screen(SupervisorScreen())

    def action_help(self) -> None:
        self.push_screen(HelpScreen())


def run_tui(redress: Redress, user: str | None) -> None:
    if not user:
        raise RedressError("no acting user: pass --as NAME or set REDRESS_USER")
    RedressTUI(redress, user).run()
