"""One complaint: its details, customer and past complaints, deadlines, compensation, and the timeline.

Every action the complaint allows is one key or one click; the rest are not
offered. Actions carry the version this view shows, so acting on a complaint
someone else just changed is refused with a message and the view refreshes.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

from workflow.domain.inert import inert
from workflow.domain.vocabulary import ROLES
from workflow.faces.seat import Seat
from workflow.faces.text import business_time
from workflow.faces.tui.actions import Action, offered
from workflow.faces.tui.common import attempt, local
from workflow.faces.tui.forms import FormScreen
from workflow.faces.tui.screen import RedressScreen
from workflow.read.desk import countdown_text


def load_view(seat: Seat, number: str) -> dict[str, Any]:
    """Everything the view shows, read through the seat."""
    detail: dict[str, Any] = seat.call("show", number)
    detail["steps"] = seat.call("compensation", number)
    detail["events"] = seat.call("history", number)["events"]
    detail["messages"] = seat.call("outbox", complaint=number, limit=200)
    detail["explained"] = seat.call("explain", number)
    customer = detail["customer"] or {}
    ref = customer.get("phone") or customer.get("email") or str(customer.get("id", ""))
    detail["past"] = [c for c in seat.call("customer", ref)["complaints"] if c["number"] != number] if ref else []
    return detail


# How often the view's countdowns are read again though nothing changed: they are business minutes.
COUNTDOWN_SECONDS = 60.0


def pause_lines(pauses: list[dict[str, Any]], timezone: str) -> Text:
    """Every wait on the customer, so a complaint parked again and again shows it."""
    held = business_time(sum(p["business_minutes"] or 0 for p in pauses))
    told = Text(f"Waited on the customer {len(pauses)} time{'s' * (len(pauses) > 1)} ({held} held)",
                style="bold yellow" if len(pauses) > 1 else "bold")
    for p in pauses:
        if p["ended_at"] is None:
            ended = f"waiting, limit {local(timezone, p['limit_at'])}" if p["limit_at"] else "waiting"
        else:
            ended = business_time(p["business_minutes"] or 0) + (", ran to the limit"
                                                                 if p["ended_how"] == "pause_limit_reached" else "")
        told.append("\n" + inert(f"  {local(timezone, p['started_at'])}  {p['reason'] or '-'} by {p['by']}: {ended}"))
    return told


def explained_lines(explained: dict[str, Any], timezone: str) -> Text:
    """`redress explain` for the view: each pending deadline's policy, then what counted, skipped and paused."""
    told = Text()
    told.append("Why each deadline is due then (redress explain)", style="bold")
    if explained.get("problem"):
        told.append("\n" + inert(explained["problem"]))
        return told
    for deadline in explained["deadlines"]:
        if deadline.get("problem") or deadline["status"] != "pending":
            continue
        policy = deadline["policy"]
        due = local(timezone, deadline["replayed_due_at"]) if deadline["replayed_due_at"] else "-"
        told.append(f"\n{deadline['kind']} due {due}: ", style="bold")
        told.append(inert(f"{policy['how']} on '{policy['calendar']}'"))
        if not deadline["agrees"]:
            told.append("  (does not land on the stored due time: config.yaml changed since)", style="red")
        for line in deadline["lines"]:
            if line["type"] == "counted":
                told.append(f"\n  {local(timezone, line['start'])}-{local(timezone, line['end'], '%H:%M')}"
                            f"  +{business_time(line['minutes'])} = {business_time(line['total'])}"
                            + (f"  {line['note']}" if line["note"] else ""))
            elif line["type"] == "skipped":
                told.append(f"\n  {line['day']}  skipped: {line['why']}", style="dim")
            else:
                held = f", {business_time(line['business_minutes'])} held" if line.get("business_minutes") else ""
                told.append("\n  " + inert(f"{local(timezone, line['start'])}  {line['type']}: {line['reason']} "
                                           f"(by {line['by']}){held}"), style="yellow")
    return told


class ComplaintScreen(RedressScreen[None]):
    BINDINGS = [Binding("escape", "back", "Back"), Binding("f5", "reload", "Refresh"),
                Binding("m", "manual", "Answer from manual", show=False)]

    def __init__(self, number: str) -> None:
        super().__init__()
        self.number = number
        self.view: dict[str, Any] = {}
        self.actions: list[Action] = []
        self.marker = 0

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Static(id="actions")
        with VerticalScroll(id="body"):
            yield Static(id="summary", classes="section")
            yield Static(id="customer", classes="section")
            yield Static(id="deadlines", classes="section")
            yield Static(id="steps", classes="section")
            yield Static(id="timeline", classes="section")
            yield Static(id="explained", classes="section")
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()
        self.set_interval(self.redress_app.refresh_seconds, self._refresh_if_changed)
        self.set_interval(COUNTDOWN_SECONDS, self.action_reload)  # time left moves on when nothing else does

    def _refresh_if_changed(self) -> None:
        marker = attempt(self, lambda: self.redress_app.seat.call("change_marker"))
        if marker is not None and marker != self.marker:
            self.action_reload()

    def action_reload(self) -> None:
        seat = self.redress_app.seat
        marker = attempt(self, lambda: seat.call("change_marker"))
        view = attempt(self, lambda: load_view(seat, self.number))
        if view is None or marker is None:
            return
        self.marker = marker
        self.view = view
        self.actions = offered(view, self.redress_app.role, self.redress_app.user)
        self.sub_title = f"{view['number']}  {view['state']}  v{view['version']}"
        self._render_actions()
        self._render_sections()

    def _render_actions(self) -> None:
        """The actions as clickable labels, `key label`, wrapped between actions to the screen's width."""
        items = [(f"screen.act({i})", a.key, a.label) for i, a in enumerate(self.actions)]
        if "answer_from_manual" in self.view.get("allowed_actions", []):
            items.append(("screen.manual", "m", "Answer from manual"))
        width = max(self.app.size.width - 2, 20)
        lines: list[str] = []
        line, used = "", 0
        for target, key, label in items:
            size = cell_len(f"{key} {label}") + 2
            if used and used + size > width:
                lines.append(line)
                line, used = "", 0
            line += f"[@click={target}][b]{key}[/b] {label}[/]  "
            used += size
        lines.append(line)
        self.query_one("#actions", Static).update("\n".join(lines).rstrip() or "no action is open to you here")

    def on_resize(self, event: events.Resize) -> None:
        if self.view:
            self._render_actions()

    def action_act(self, index: int) -> None:
        self.run_action_form(self.actions[index])

    def _render_sections(self) -> None:
        v, timezone = self.view, self.redress_app.seat.timezone
        head = Text()
        head.append(f"{v['number']}  ", style="bold")
        head.append(f"{v['state']}  severity {v['severity']}  level {ROLES[v['escalation_level']]}  ")
        head.append(inert(f"{v['category']} via {v['channel']}  assignee {v['assignee'] or '-'}  "
                          f"owner {v['owner'] or '-'}") + "\n")
        head.append(inert(v["summary"], multiline=True))
        if v["resolution"]:
            head.append("\nResolution: " + inert(v["resolution"], multiline=True))
        head.append("\nSeverity: " + inert(v["severity_reason"]), style="dim")
        if v.get("follows"):
            head.append(f"\nFollows {v['follows']} (the customer wrote again after it was closed)")
        for file in v.get("attachments", []):
            kept = "" if file["kept"] else f"  {file['note']}"
            head.append("\n" + inert(f"Attachment {file['id']}: {file['filename']} ({file['content_type']}, "
                                      f"{file['size']:,} bytes){kept}"), style="cyan")
        self.query_one("#summary", Static).update(head)

        customer = v["customer"] or {}
        who = Text()
        who.append(inert(f"Customer {customer.get('name', '')}"), style="bold")
        who.append(inert(f"  {customer.get('phone') or ''} {customer.get('email') or ''}  tier {customer.get('tier')}, "
                         f"{customer.get('language')}"))
        for past in v["past"][:5]:
            who.append("\n" + inert(f"  {past['number']}  {past['state']:<16} {past['category']:<9} "
                                    f"{past['summary'][:40]}"))
        self.query_one("#customer", Static).update(who)

        clocks = Table(title="Deadlines (business time)", title_justify="left", expand=True, box=None)
        for column in ("kind", "due", "left", "status"):
            clocks.add_column(column)
        step_kinds = {s["id"]: s["kind"] for s in v["steps"]}
        for d in v["sla"]["deadlines"]:
            status = "pending" if d["pending"] else ("fired" if d["fired_at"] else "cancelled")
            kind = f"step: {step_kinds.get(d.get('step_id'), '?')}" if d["kind"] == "step" else d["kind"]
            suspended = v["sla"]["paused"] and d["pending"] and d["due_at"] is None  # a pause limit runs on
            left = countdown_text(d["remaining_business_minutes"], suspended)
            clocks.add_row(kind, local(timezone, d["due_at"]), left, status, style="" if d["pending"] else "dim")
        pauses = v.get("pauses", [])
        self.query_one("#deadlines", Static).update(Group(clocks, pause_lines(pauses, timezone)) if pauses else clocks)
        self.query_one("#explained", Static).update(explained_lines(v["explained"], timezone))

        steps = Table(title="Compensation", title_justify="left", expand=True, box=None)
        for column in ("id", "kind", "amount", "state", "due", "by", "reason"):
            steps.add_column(column)
        for s in v["steps"]:
            steps.add_row(str(s["id"]), s["kind"], f"{s['amount']} {s['currency']}" if s["amount"] else "",
                          s["state"], local(timezone, s["due_at"]), Text(inert(s["requested_by"])),
                          Text(inert(s["reason"])))
        self.query_one("#steps", Static).update(steps if v["steps"] else Text("Compensation: none planned"))

        timeline = Table(title="Timeline", title_justify="left", expand=True, box=None)
        for column in ("at", "who", "what", "note"):
            timeline.add_column(column)
        # The customer's own words (a reply by mail or text) are said to be theirs, next to what we sent them.
        entries = [(e["at"], f"customer ({e['data']['channel']})" if e["data"].get("from_customer") else e["actor"],
                    e["trigger"], e["note"]) for e in v["events"]]
        entries += [(m["created_at"], "outbox", f"{m['kind']} ({m['status']})", m["subject"]) for m in v["messages"]]
        for at, who_, what, note in sorted(entries, key=lambda entry: entry[0]):
            timeline.add_row(local(timezone, at), Text(inert(who_)), Text(inert(what)), Text(inert(note)))
        self.query_one("#timeline", Static).update(timeline)

    def on_key(self, event: events.Key) -> None:
        for action in self.actions:
            if event.character == action.key:
                event.stop()
                self.run_action_form(action)
                return

    def run_action_form(self, action: Action) -> None:
        seat = self.redress_app.seat
        fields = attempt(self, lambda: action.fields(seat, self.view))  # a list of staff, say, is read first
        if fields is None:
            return
        version = self.view["version"]

        def submit(values: dict[str, str] | None) -> None:
            if values is None:
                return
            attempt(self, lambda: action.run(seat, self.number, version, values), done=f"{action.label}: done")
            self.action_reload()

        if fields:
            self.app.push_screen(FormScreen(f"{action.label} - {self.number}", fields), submit)
        else:
            submit({})

    def action_manual(self) -> None:
        if "answer_from_manual" not in self.view.get("allowed_actions", []):
            return
        from workflow.faces.tui.intake import PolicyScreen

        version = self.view["version"]

        def chosen(answer_id: str | None) -> None:
            if answer_id:
                attempt(self, lambda: self.redress_app.seat.call("answer", self.number, answer_id,
                                                                 expected_version=version),
                        done="answered from the policy manual and closed")
                self.action_reload()

        language = (self.view["customer"] or {}).get("language")
        self.app.push_screen(PolicyScreen(self.view["summary"], language=language), chosen)

    def action_back(self) -> None:
        self.app.pop_screen()
