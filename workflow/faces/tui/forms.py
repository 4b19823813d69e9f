"""A small modal form: choose from lists, type only where text is the point.

A form is a title and a list of fields; it returns the values by field name,
or None when the user backs out with Escape. It checks only that required
fields are filled; every rule stays in the services, which answer with a
one-line error the app shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Label, Select, Static

from workflow.faces.tui.screen import RedressModal


@dataclass(frozen=True)
class Field:
    """One field: a list to choose from (`options`) or a line of text."""

    name: str
    label: str
    options: list[tuple[str, str]] = field(default_factory=list)
    required: bool = True
    value: str | None = None
    placeholder: str = ""


class FormScreen(RedressModal[dict[str, str] | None]):
    """Ask for a few values; Enter in the last field or the OK button submits, Escape cancels."""

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
                yield Label(spec.label + ("" if spec.required else " (optional)"), markup=False)
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
        self.dismiss(None)

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
