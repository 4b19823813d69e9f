"""Filing a complaint while the customer is on the line, and searching the policy manual."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Header, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from workflow.domain.errors import RedressError
from workflow.domain.inert import inert
from workflow.domain.vocabulary import CHANNELS
from workflow.faces.tui.common import attempt
from workflow.faces.tui.screen import RedressModal, RedressScreen
from workflow.services.kb import PolicyHit, policy_answers
from workflow.services.lifecycle import file_complaint, suggest_for_intake


class PolicyScreen(RedressModal[str | None]):
    """Search the policy manual; Enter on an answer chooses it, Escape backs out."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, query: str = "") -> None:
        super().__init__()
        self.query_text = query
        self.hits: dict[str, PolicyHit] = {}

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Label("Policy manual: type what the customer asks; Enter on an answer to give it")
            yield Input(value=self.query_text, placeholder="退款多久到账 / refund time", id="query")
            yield OptionList(id="hits")
            yield Static(id="answer", markup=False)

    def on_mount(self) -> None:
        self._search(self.query_text)
        self.query_one("#query", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self._search(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#hits", OptionList).focus()

    def _search(self, query: str) -> None:
        self.hits = {hit.id: hit for hit in policy_answers(self.redress_app.redress, query, limit=8)}
        options = self.query_one("#hits", OptionList)
        options.clear_options()
        options.add_options([Option(Text(hit.title), id=hit.id) for hit in self.hits.values()])
        if self.hits:
            options.highlighted = 0

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        hit = self.hits.get(event.option.id or "")
        if hit is not None:
            self.query_one("#answer", Static).update(inert(f"{hit.title}\n{hit.answer}", multiline=True))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class NewComplaintScreen(RedressScreen[None]):
    """Phone first: the customer is found (or a name asked for), then channel, category and summary.

    The suggested severity updates as the summary is typed. Ctrl+S files it;
    Ctrl+K answers it from the policy manual and closes it in the same step.
    """

    BINDINGS = [Binding("escape", "back", "Back"), Binding("ctrl+s", "file", "File"),
                Binding("ctrl+k", "answer", "File and answer from manual")]

    def compose(self) -> ComposeResult:
        config = self.redress_app.redress.config
        yield Header(show_clock=False)
        with VerticalScroll():
            with Horizontal():
                yield Input(placeholder="phone", id="phone")
                yield Input(placeholder="email", id="email")
            yield Static("type the phone (or email) to find the customer", id="found", markup=False)
            with Horizontal():
                yield Input(placeholder="name (new customer)", id="name")
                yield Select([(t, t) for t in config.tier_names], prompt="tier", id="tier")
                yield Select([(lang, lang) for lang in ("zh-CN", "zh-TW", "en")], prompt="language", id="language")
            with Horizontal():
                yield Select([(c, c) for c in CHANNELS], value="phone", allow_blank=False, id="channel")
                yield Select([(c.label.get(config.default_language, c.name), c.name) for c in config.categories],
                             prompt="category", id="category")
            yield Input(placeholder="summary: what the customer says", id="summary")
            with Horizontal():
                yield Input(placeholder="order ref (optional)", id="order")
                yield Select([(s, s) for s in config.severity_names], prompt="severity: suggested", id="severity")
            yield Static("", id="suggestion", markup=False)
            with Horizontal():
                yield Button("File (Ctrl+S)", variant="primary", id="file")
                yield Button("Answer from manual (Ctrl+K)", id="answer")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#phone", Input).focus()

    def _value(self, widget_id: str) -> str | None:
        widget: Any = self.query_one(f"#{widget_id}")  # an Input or a Select
        value = widget.value
        if value is Select.NULL or value is None or not str(value).strip():
            return None
        return str(value).strip()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id in ("phone", "email", "summary", "order"):
            self._suggest()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter moves on; after the phone or email it skips the new-customer fields when the customer is known."""
        if event.input.id in ("phone", "email") and self.known_customer:
            self.query_one("#category", Select).focus()
        else:
            self.focus_next()

    known_customer = False

    def _suggest(self) -> None:
        phone, email = self._value("phone"), self._value("email")
        if not phone and not email:
            return
        try:
            suggestion = suggest_for_intake(self.redress_app.redress, phone=phone, email=email,
                                            summary=self._value("summary") or "", order_ref=self._value("order"),
                                            tier=self._value("tier"))
        except RedressError:
            return  # still typing: not a phone number yet
        customer = suggestion["customer"]
        self.known_customer = customer is not None
        found = self.query_one("#found", Static)
        if customer:
            found.update(inert(f"found: {customer['name']}, {customer['tier']}, {customer['language']}"
                               f"  {customer['phone'] or ''} {customer['email'] or ''}"))
        else:
            found.update("new customer: type the name (tier and language optional)")
        self.query_one("#suggestion", Static).update(f"severity {suggestion['severity']}: {suggestion['reason']}")

    def _fields(self) -> dict[str, Any]:
        return {"channel": self._value("channel") or "phone", "category": self._value("category") or "",
                "summary": self._value("summary") or "", "phone": self._value("phone"),
                "email": self._value("email"), "name": self._value("name"), "tier": self._value("tier"),
                "language": self._value("language"), "order_ref": self._value("order"),
                "severity": self._value("severity")}

    def action_file(self, answer_id: str | None = None) -> None:
        fields = self._fields()
        outcome = attempt(self, lambda: file_complaint(self.redress_app.redress, self.redress_app.user,
                                                       answer_id=answer_id, **fields))
        if outcome is None:
            return
        self.notify(f"{outcome.number} filed ({outcome.to_state}); severity {outcome.detail}", timeout=6)
        self.app.pop_screen()
        self.redress_app.open_complaint(outcome.number)

    def action_answer(self) -> None:
        def chosen(answer_id: str | None) -> None:
            if answer_id:
                self.action_file(answer_id)

        self.app.push_screen(PolicyScreen(self._value("summary") or ""), chosen)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "file":
            self.action_file()
        else:
            self.action_answer()

    def action_back(self) -> None:
        self.app.pop_screen()
