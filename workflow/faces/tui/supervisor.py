"""The supervisor's board: escalations by level with time past the deadline, and approvals waiting."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Header, Label

from workflow.domain.inert import inert
from workflow.faces.seat import first_rows
from workflow.faces.text import past_deadline
from workflow.faces.tui.common import attempt
from workflow.faces.tui.forms import Field, FormScreen, text
from workflow.faces.tui.screen import RedressScreen

_BOARD_TITLE = "Escalations{} (highest level first, longest past deadline first; business / wall time)"
BOARD_ROWS = 200  # a screen's worth many times over; a longer board says it shows only the first ones


class SupervisorScreen(RedressScreen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("enter", "open", "Open"),
        Binding("a", "approve", "Approve"),
        Binding("j", "reject", "Reject"),
        Binding("r", "reports", "Reports"),
        Binding("f5", "refresh", "Refresh", show=False),  # in ? help; the footer keeps room for Quit and Help
    ]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with Vertical():
            yield Label(_BOARD_TITLE.format(""), id="board-title")
            board: DataTable[Any] = DataTable(id="board", cursor_type="row", zebra_stripes=True)
            for key, label, width in (("number", "Number", 15), ("level", "Level", 10), ("past", "Past due", 16),
                                      ("ack", "Ack", 3), ("sev", "Sev", 8), ("assignee", "Assignee", 9),
                                      ("summary", "Summary", 33)):
                board.add_column(label, key=key, width=width)
            yield board
            yield Label("Compensation waiting for your approval")
            approvals: DataTable[Any] = DataTable(id="approvals", cursor_type="row")
            for key, label, width in (("id", "Step", 5), ("number", "Complaint", 15), ("kind", "Kind", 10),
                                      ("amount", "Amount", 10), ("by", "Asked by", 9), ("reason", "Reason", 30)):
                approvals.add_column(label, key=key, width=width)
            yield approvals
        yield Footer()

    def __init__(self) -> None:
        super().__init__()
        self.steps: dict[str, dict[str, Any]] = {}  # the approvals shown, by step id

    def on_mount(self) -> None:
        self.action_refresh()
        self.set_interval(self.redress_app.refresh_seconds, self.action_refresh)

    def action_refresh(self) -> None:
        seat = self.redress_app.seat
        shown = attempt(self, lambda: first_rows(seat, "escalations", BOARD_ROWS))
        if shown is not None:
            board, more = shown
            self.query_one("#board-title", Label).update(
                _BOARD_TITLE.format(f", the first {BOARD_ROWS}" if more else ""))
            table = self.query_one("#board", DataTable)
            keep = table.cursor_row
            table.clear()
            for row in board:
                past = past_deadline(row)
                table.add_row(Text(row["number"], style="bold red" if not row["acknowledged"] else ""),
                              row["level"], past, "yes" if row["acknowledged"]
                              else "no", row["severity"], Text(inert(row["assignee"] or "-")),
                              Text(inert(row["summary"])), key=row["number"])
            table.move_cursor(row=min(keep, max(table.row_count - 1, 0)), animate=False)
        steps = attempt(self, lambda: seat.call("compensation", mine_to_approve=True))
        if steps is not None:
            self.steps = {str(step["id"]): step for step in steps}
            table = self.query_one("#approvals", DataTable)
            table.clear()
            for step in steps:
                table.add_row(str(step["id"]), step["complaint"], step["kind"], f"{step['amount']} {step['currency']}",
                              Text(inert(step["requested_by"])), Text(inert(step["reason"])), key=str(step["id"]))

    def _selected(self, table_id: str) -> str | None:
        table = self.query_one(f"#{table_id}", DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def action_open(self) -> None:
        if self.focused is self.query_one("#approvals", DataTable):
            step = self._selected("approvals")
            number = self.query_one("#approvals", DataTable).get_row(step)[1] if step else None
        else:
            number = self._selected("board")
        if number:
            self.redress_app.open_complaint(number)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_approve(self) -> None:
        self._decide("Approve", "approved", "approve_step", text("text", "Note", required=False))

    def action_reject(self) -> None:
        self._decide("Reject", "rejected", "reject_step", text("text", "Reason"))

    def _decide(self, verb: str, outcome: str, decide: str, field: Field) -> None:
        """Approve or reject the selected compensation step, asking for the note or reason."""
        step = self._selected("approvals")
        if step is None or step not in self.steps:
            self.notify("no compensation step is waiting for you", timeout=4)
            return
        about = attempt(self, lambda: self._describe(self.steps[step]))
        if about is None:
            return

        def submit(values: dict[str, str] | None) -> None:
            if values is not None:
                attempt(self, lambda: self.redress_app.seat.call(decide, int(step), values["text"]),
                        done=f"step {step} {outcome}")
                self.action_refresh()

        self.app.push_screen(FormScreen(f"{verb} compensation step {step}", [field], note=about), submit)

    def _describe(self, step: dict[str, Any]) -> str:
        """What the supervisor decides on: the complaint, its customer, the kind, the amount and who asked why."""
        customer = self.redress_app.seat.call("show", step["complaint"])["customer"] or {}
        amount = f" {step['amount']} {step['currency']}" if step["amount"] else ""
        return inert(f"Complaint {step['complaint']}, customer {customer.get('name', '-')}\n"
                     f"{step['kind']}{amount}, asked by {step['requested_by']}\n"
                     f"Reason: {step['reason']}", multiline=True)

    def action_reports(self) -> None:
        self.redress_app.open_reports()

    def action_back(self) -> None:
        self.app.pop_screen()
