"""A small modal form: choose from lists, type only where text is the point.

A form is a title and a list of fields; it returns the values by field name,
or None when the user backs out with Escape. It checks only that required
fields are filled; every rule stays in the services, which answer with a
one-line error the app shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Select, Static

from workflow.faces.tui.screen import RedressModal, RedressScreen


@dataclass(frozen=True)
class Field:
    """One field: a list to choose from (`options`) or a line of text."""

    name: str
    label: str
    options: list[tuple[str, str]] = field(default_factory=list)
    required: bool = True
    value: str | None = None
    placeholder: str = ""


class ConfirmScreen(RedressModal[bool]):
    """A yes-or-no question: y says yes; n, Escape or Enter (No has the focus) say no."""

    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self.question, markup=False)
            with Horizontal():
                yield Button("Yes (y)", variant="error", id="yes")
                yield Button("No (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


def leave_form(screen: RedressModal[Any] | RedressScreen[Any], typed: bool, leave: Callable[[], object]) -> None:
    """Leave a form at once when nothing was typed, else only once the user says to throw it away."""
    if not typed:
        leave()
        return

    def answered(yes: bool | None) -> None:
        if yes:
            leave()

    screen.app.push_screen(ConfirmScreen("Throw away what you typed in this form?"), answered)


class FormScreen(RedressModal[dict[str, str] | None]):
    """Ask for a few values; Enter in the last field or the OK button submits, Escape cancels.

    Each field has its label above it; the note says what the form acts on.
    """

    TAKES_TYPING = True
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "OK")]

    def __init__(self, title: str, fields: list[Field], note: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.fields = fields
        self.note = note

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self.title_text, classes="title", markup=False)
            if self.note:
                yield Static(self.note, markup=False)
            for spec in self.fields:
                # Static, not Label: a long label wraps by cell width instead of being cut mid-character.
                yield Static(spec.label + ("" if spec.required else " (optional)"), classes="label", markup=False)
                if spec.options:
                    yield Select(spec.options, id=f"f-{spec.name}", allow_blank=not spec.value,
                                 value=spec.value if spec.value else Select.NULL, prompt="choose...")
                else:
                    yield Input(value=spec.value or "", placeholder=spec.placeholder, id=f"f-{spec.name}")
            yield Static("", id="problem", classes="problem", markup=False)
            with Horizontal():
                yield Button("OK", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def values(self) -> dict[str, str]:
        result: dict[str, str] = {}
        for spec in self.fields:
            widget: Any = self.query_one(f"#f-{spec.name}")  # an Input or a Select
            value = widget.value
            result[spec.name] = "" if value is Select.NULL or value is None else str(value).strip()
        return result

    def action_submit(self) -> None:
        values = self.values()
        missing = [spec.label for spec in self.fields if spec.required and not values[spec.name]]
        if missing:
            self.query_one("#problem", Static).update(f"needed: {', '.join(missing)}")
            return
        self.dismiss(values)

    def action_cancel(self) -> None:
        typed = self.values() != {spec.name: (spec.value or "").strip() for spec in self.fields}
        leave_form(self, typed, lambda: self.dismiss(None))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.action_submit()
        else:
            self.action_cancel()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        inputs = [w for w in self.query(Input)]
        if inputs and event.input is inputs[-1]:
            self.action_submit()
        else:
            self.focus_next()

    def on_mount(self) -> None:
        if self.fields:
            self.query_one(f"#f-{self.fields[0].name}").focus()


def choose(label: str, items: list[str], value: str | None = None, name: str | None = None) -> Field:
    """A list field whose labels are the values themselves."""
    return Field(name or label.lower().replace(" ", "_"), label, [(item, item) for item in items], value=value)


def text(name: str, label: str, *, required: bool = True, placeholder: str = "", value: str | None = None) -> Field:
    return Field(name, label, required=required, placeholder=placeholder, value=value)
