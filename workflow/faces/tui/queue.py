"""The agent's home: my queue and the team queue, most urgent first, with live countdowns."""

from __future__ import annotations

from functools import partial
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, TabbedContent, TabPane

from workflow.domain.inert import inert
from workflow.faces.tui.common import attempt
from workflow.faces.tui.screen import RedressScreen
from workflow.read.desk import countdown_text

# Sized for an 80-column terminal; the summary takes what is left (and more when the terminal is wider).
COLUMNS = (("number", "Number", 15), ("severity", "Sev", 8), ("state", "State", 11), ("level", "Lvl", 3),
           ("due", "Due in", 7), ("customer", "Customer", 8), ("summary", "Summary", None))
LEVEL_SHORT = {"agent": "agt", "senior": "snr", "supervisor": "sup", "manager": "mgr"}
URGENCY_STYLE = {"breached": "bold red", "warning": "yellow", "ok": ""}


def queue_cells(row: dict[str, Any]) -> list[Any]:
    """One table row; the countdown coloured by urgency. Customer text stays text (Text, never markup)."""
    style = URGENCY_STYLE[row["urgency"]]
    return [
        Text(row["number"], style=style), Text(row["severity"]), Text(row["state"]),
        Text(LEVEL_SHORT[row["level"]], style="bold" if row["level"] != "agent" else ""),
        Text(countdown_text(row["remaining_minutes"], row["paused"]), style=style),
        Text(inert(row["customer"])), Text(inert(row["summary"][:60])),
    ]


class QueueScreen(RedressScreen[None]):
    """Two tabs of complaints; Enter opens one, Tab switches. Refreshed every few seconds, keeping the cursor.

    Those who may read the supervisor board open on the team queue: watching the team is their job.
    """

    BINDINGS = [
        Binding("enter", "open", "Open", show=True),
        Binding("n", "new", "New complaint"),
        Binding("k", "manual", "Policy manual"),
        Binding("b", "board", "Supervisor board"),
        Binding("f5", "refresh", "Refresh", show=False),  # it refreshes itself every few seconds; help lists F5
        Binding("tab", "switch", "My/Team"),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The board's key is offered only to those the permissions table lets read it."""
        if action == "board":
            return self.redress_app.may("escalation_board")
        return True

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with TabbedContent(id="tabs"):
            with TabPane("My queue", id="mine"):
                yield self._table("mine-table")
            with TabPane("Team queue", id="team"):
                yield self._table("team-table")
        yield Footer()

    @staticmethod
    def _table(table_id: str) -> DataTable[Any]:
        table: DataTable[Any] = DataTable(id=table_id, cursor_type="row", zebra_stripes=True)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        return table

    def on_mount(self) -> None:
        self.sub_title = self.app.sub_title
        if self.redress_app.may("escalation_board"):
            self.query_one("#tabs", TabbedContent).active = "team"
            self.query_one("#team-table", DataTable).focus()
        self.action_refresh()
        self.set_interval(self.redress_app.refresh_seconds, self.action_refresh)

    def action_refresh(self) -> None:
        for mine, table_id in ((True, "mine-table"), (False, "team-table")):
            rows = attempt(self, partial(self._rows, mine))
            if rows is not None:
                self._fill(self.query_one(f"#{table_id}", DataTable), rows)

    def _rows(self, mine: bool) -> list[dict[str, Any]]:
        app = self.redress_app
        rows: list[dict[str, Any]] = app.seat.call("desk_queue", mine=mine, limit=app.queue_limit)
        return rows

    @staticmethod
    def _fill(table: DataTable[Any], rows: list[dict[str, Any]]) -> None:
        """Replace the rows but keep the cursor on the same complaint when it is still there."""
        selected = None
        if table.row_count and table.cursor_row < table.row_count:
            selected = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        table.clear()
        for row in rows:
            table.add_row(*queue_cells(row), key=row["number"])
        numbers = [row["number"] for row in rows]
        if selected in numbers:
            table.move_cursor(row=numbers.index(selected), animate=False)

    def action_switch(self) -> None:
        tabs = self.query_one("#tabs", TabbedContent)
        tabs.active = "team" if tabs.active == "mine" else "mine"
        self._current_table().focus()

    def _current_table(self) -> DataTable[Any]:
        active = self.query_one("#tabs", TabbedContent).active
        return self.query_one(f"#{active}-table", DataTable)

    def action_open(self) -> None:
        table = self._current_table()
        if table.row_count:
            number = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            if number:  # every row is keyed by its complaint number
                self.redress_app.open_complaint(number)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.redress_app.open_complaint(event.row_key.value)

    def action_new(self) -> None:
        self.redress_app.new_complaint()

    def action_manual(self) -> None:
        self.redress_app.browse_manual()

    def action_board(self) -> None:
        self.redress_app.open_board()
