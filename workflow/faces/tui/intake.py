"""Filing a complaint while the customer is on the line, and searching the policy manual."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Header, Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from workflow.domain.errors import RedressError
from workflow.domain.inert import inert
from workflow.faces.related import related_lines
from workflow.faces.tui.common import attempt
from workflow.faces.tui.forms import leave_form
from workflow.faces.tui.screen import RedressModal, RedressScreen

if TYPE_CHECKING:
    from workflow.services.kb import PolicyHit


class PolicyScreen(RedressModal[str | None]):
    """Search the policy manual, in the customer's language.

    Given to a complaint (`for_customer`), Enter on an answer chooses it and
    the text shown is the text the complaint records. Browsed from the queue,
    Enter copies the answer and Ctrl+K files a complaint answered with it.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel"),
                Binding("ctrl+k", "file_with", "File and answer for a customer", priority=True)]

    def __init__(self, query: str = "", *, language: str | None = None, for_customer: bool = True) -> None:
        super().__init__()
        self.query_text = query
        self.language = language
        self.for_customer = for_customer
        self.hits: dict[str, PolicyHit] = {}
        self.chosen: str | None = None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not self.for_customer if action == "file_with" else True

    def compose(self) -> ComposeResult:
        about = self.redress_app.about
        language = self.language or about["default_language"]
        heading = ("Policy manual: type what the customer asks; Enter on an answer gives it" if self.for_customer
                   else "Policy manual: Enter copies the answer; Ctrl+K files a complaint answered with it")
        with VerticalScroll():
            yield Static(heading, markup=False)
            with Horizontal():
                yield Input(value=self.query_text, placeholder="退款多久到账 / refund time", id="query")
                # The customer's language is theirs: only a browse from the queue may look at another.
                yield Select([(lang, lang) for lang in about["languages"]], value=language, allow_blank=False,
                             id="language", disabled=self.for_customer)
            yield OptionList(id="hits")
            yield Static(id="answer", markup=False)

    def on_mount(self) -> None:
        self.query_one("#query", Input).border_title = "Search"
        self.query_one("#language", Select).query_one("SelectCurrent").border_title = "Language"
        self._search(self.query_text)
        self.query_one("#query", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self._search(event.value)

    def on_select_changed(self, event: Select.Changed) -> None:
        self._search(self.query_one("#query", Input).value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#hits", OptionList).focus()

    def _search(self, query: str) -> None:
        language = str(self.query_one("#language", Select).value)
        hits: list[PolicyHit] | None = attempt(self, lambda: self.redress_app.seat.call(
            "manual_search", query, language=language, limit=8))
        if hits is None:
            return
        self.hits = {hit.id: hit for hit in hits}
        options = self.query_one("#hits", OptionList)
        options.clear_options()
        options.add_options([Option(Text(hit.title), id=hit.id) for hit in self.hits.values()])
        if self.hits:
            options.highlighted = 0
        else:
            self.query_one("#answer", Static).update("")

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        hit = self.hits.get(event.option.id or "")
        if hit is not None:
            self.chosen = hit.id
            self.query_one("#answer", Static).update(inert(f"{hit.title}\n{hit.answer}", multiline=True))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if self.for_customer:
            self.dismiss(event.option.id)
            return
        hit = self.hits[event.option.id or ""]
        self.app.copy_to_clipboard(hit.answer)
        self.notify(f"'{hit.title}' copied to the clipboard (where the terminal allows). "
                    "Ctrl+K files a complaint answered with it.", timeout=6, markup=False)

    def action_file_with(self) -> None:
        """Leave the manual for a new complaint that will be answered with the highlighted answer."""
        if self.chosen is None:
            return
        answer_id, query = self.chosen, self.query_one("#query", Input).value
        self.dismiss(None)
        self.app.push_screen(NewComplaintScreen(answer_id=answer_id, summary=query))

    def action_cancel(self) -> None:
        self.dismiss(None)


# The intake form's fields, each with its label: (widget id, label).
LABELS = {"phone": "Customer phone", "email": "Customer email", "name": "Customer name", "tier": "Tier",
          "language": "Language", "channel": "Came in by (channel)", "category": "Category",
          "summary": "Summary: what the customer says", "order": "Order ref (optional)",
          "severity": "Severity (empty: suggested)"}


class NewComplaintScreen(RedressScreen[None]):
    """Phone first: the customer is found (or a name asked for), then channel, category and summary.

    The suggested severity updates as the summary is typed. Ctrl+S files it;
    Ctrl+K answers it from the policy manual and closes it in the same step
    (from the summary too, where an input would otherwise take the key).
    A customer found by phone or email is shown as they are, not editable as if new.
    """

    TAKES_TYPING = True
    BINDINGS = [Binding("escape", "back", "Back"), Binding("ctrl+s", "file", "File", priority=True),
                Binding("ctrl+k", "answer", "File and answer from manual", priority=True)]

    def __init__(self, *, answer_id: str | None = None, summary: str = "") -> None:
        super().__init__()
        self.answer_id = answer_id  # chosen in the manual before the complaint: Ctrl+K files with it
        self.summary = summary
        self.known_customer: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        about = self.redress_app.about
        yield Header(show_clock=False)
        with VerticalScroll():
            with Horizontal():
                yield Input(placeholder="e.g. 13912345678", id="phone")
                yield Input(placeholder="when there is no phone", id="email")
            yield Static("type the phone (or email) to find the customer", id="found", markup=False)
            yield Static("", id="related", markup=False)
            with Horizontal():
                yield Input(placeholder="for a new customer", id="name")
                yield Select([(t, t) for t in about["tiers"]], prompt="default", id="tier")
                yield Select([(lang, lang) for lang in about["languages"]], prompt="default", id="language")
            with Horizontal():
                yield Select([(c, c) for c in about["channels"]], value="phone", allow_blank=False, id="channel")
                yield Select([(label, name) for name, label in about["category_labels"].items()],
                             prompt="choose...", id="category")
            yield Input(value=self.summary, id="summary")
            with Horizontal():
                yield Input(id="order")
                yield Select([(s, s) for s in about["severities"]], prompt="suggested", id="severity")
            yield Static("", id="suggestion", markup=False)
            with Horizontal():
                yield Button("File (Ctrl+S)", variant="primary", id="file")
                yield Button(f"File and answer with {self.answer_id} (Ctrl+K)" if self.answer_id
                             else "File and answer (Ctrl+K)", id="answer")
        yield Footer()

    def on_mount(self) -> None:
        for widget_id, label in LABELS.items():
            widget: Any = self.query_one(f"#{widget_id}")
            (widget.query_one("SelectCurrent") if isinstance(widget, Select) else widget).border_title = label
        self.query_one("#phone", Input).focus()

    def _value(self, widget_id: str) -> str | None:
        widget: Any = self.query_one(f"#{widget_id}")  # an Input or a Select
        value = widget.value
        if value is Select.NULL or value is None or not str(value).strip():
            return None
        return str(value).strip()

    def typed(self) -> bool:
        """Whether anything was typed or chosen that leaving would throw away."""
        return any(self._value(w) for w in LABELS if w != "channel") or self._value("channel") != "phone"

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id in ("phone", "email", "summary", "order"):
            self._suggest()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter moves on; after the phone or email it skips the customer's fields when the customer is known."""
        if event.input.id in ("phone", "email") and self.known_customer:
            self.query_one("#channel", Select).focus()
        else:
            self.focus_next()

    def _suggest(self) -> None:
        phone, email = self._value("phone"), self._value("email")
        if not phone and not email:
            self._show_customer(None)
            return
        try:
            suggestion = self.redress_app.seat.call(
                "suggest_intake", phone=phone, email=email, summary=self._value("summary") or "",
                order_ref=self._value("order"), tier=None if self.known_customer else self._value("tier"))
        except RedressError:  # still typing: not a phone number yet, so not the customer found before
            if self.known_customer:
                self._show_customer(None)
            return
        self._show_customer(suggestion["customer"])
        self.query_one("#suggestion", Static).update(f"severity {suggestion['severity']}: {suggestion['reason']}")

    def _show_related(self, customer: dict[str, Any] | None) -> None:
        """The found customer's other open complaints and those about this order: a duplicate spotted on the line."""
        seat, order = self.redress_app.seat, self._value("order") or ""  # "": no order (a query cannot say None)
        related = attempt(self, lambda: seat.call("customer_related", customer["id"], order)) if customer else None
        lines = related_lines(related) if related else []
        self.query_one("#related", Static).update("\n".join(inert(line) for line in lines))

    def _show_customer(self, customer: dict[str, Any] | None) -> None:
        """A found customer's name, tier and language are shown read-only; a new one's are typed."""
        was, self.known_customer = self.known_customer, customer
        found = self.query_one("#found", Static)
        name = self.query_one("#name", Input)
        tier, language = self.query_one("#tier", Select), self.query_one("#language", Select)
        if customer:
            found.update(inert(f"found: {customer['name']}  {customer['phone'] or ''} {customer['email'] or ''}"))
            name.value = inert(customer["name"])
            tier.set_options([(customer["tier"], customer["tier"])])
            language.set_options([(customer["language"], customer["language"])])
            tier.value, language.value = customer["tier"], customer["language"]
        else:
            found.update("new customer: type the name (tier and language optional)")
            if was:  # the number changed away from a known customer: their details are not this one's
                about = self.redress_app.about
                name.value = ""
                tier.set_options([(t, t) for t in about["tiers"]])
                language.set_options([(lang, lang) for lang in about["languages"]])
        for widget in (name, tier, language):
            widget.disabled = customer is not None
        self._show_related(customer)

    def customer_language(self) -> str:
        """The language the complaint records its answer in: the customer's, else the one chosen, else the default."""
        if self.known_customer:
            return str(self.known_customer["language"])
        return self._value("language") or str(self.redress_app.about["default_language"])

    def _fields(self) -> dict[str, Any]:
        new = self.known_customer is None
        return {"channel": self._value("channel") or "phone", "category": self._value("category") or "",
                "summary": self._value("summary") or "", "phone": self._value("phone"),
                "email": self._value("email"), "name": self._value("name") if new else None,
                "tier": self._value("tier") if new else None, "language": self._value("language") if new else None,
                "order_ref": self._value("order"), "severity": self._value("severity")}

    def action_file(self, answer_id: str | None = None) -> None:
        fields = self._fields()
        outcome = attempt(self, lambda: self.redress_app.seat.call("file", answer_id=answer_id, **fields))
        if outcome is None:
            return
        self.notify(f"{outcome.number} filed ({outcome.to_state}); severity {outcome.detail}", timeout=6)
        self.app.pop_screen()
        self.redress_app.open_complaint(outcome.number)

    def action_answer(self) -> None:
        """File and answer: with the answer chosen in the manual already, else one chosen now."""
        if self.answer_id:
            self.action_file(self.answer_id)
            return

        def chosen(answer_id: str | None) -> None:
            if answer_id:
                self.action_file(answer_id)

        self.app.push_screen(PolicyScreen(self._value("summary") or "", language=self.customer_language()), chosen)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "file":
            self.action_file()
        else:
            self.action_answer()

    def action_back(self) -> None:
        leave_form(self, self.typed(), lambda: self.dismiss(None))
