"""The month's reports for supervisors and above: each report's headline figures, its chart drawn as text bars
and its key table, one month at a time.

Everything shown comes from the report pack the seat answers (one `report_pack` call a month), worded and
formatted by the reports' own `Words`, as the CLI and the HTML pack are: this screen only measures bars.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from workflow.domain.inert import inert
from workflow.domain.permissions import refusal
from workflow.domain.vocabulary import REPORTS
from workflow.faces.tui.common import attempt
from workflow.faces.tui.screen import RedressScreen
from workflow.read.reports.charts import PALETTES
from workflow.read.reports.model import Chart, Report
from workflow.read.reports.present import BABEL_LOCALES, Words, cell

# Per report, the table shown under its chart, with the columns that fit 80 columns (empty: all of them) and
# the one-row table added under it as its last row (the team's median under the agents).
KEY_TABLES: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    "sla": ("by_severity", ("severity", "filed", "first_response_met_share", "resolution_met_share",
                            "resolution_p50"), None),
    "agents": ("agents", ("agent", "handled", "closed", "first_response_p50", "breaches", "satisfaction"),
               "team_median"),
    "satisfaction": ("verbatims", ("complaint", "score", "agent", "comment"), None),
    "compensation": ("overdue", ("complaint", "kind", "amount", "late_hours", "agent"), None),
    "backlog": ("now_by_state", (), None),
    "at_risk": ("customers", ("customer", "contact", "tier", "risk", "why"), None),
}
_NUMERIC = {"count", "minutes", "hours", "ratio", "score", "money"}
_EIGHTHS = " ▏▎▍▌▋▊▉"


def previous_month(now: datetime, timezone: str) -> str:
    """The month before `now` in the call centre's zone: the last whole month, the one a review reads."""
    first = now.astimezone(ZoneInfo(timezone)).date().replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def shifted(month: str, by: int) -> str:
    """YYYY-MM moved `by` months."""
    year, number = (int(part) for part in month.split("-"))
    index = year * 12 + number - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def bar(value: float | None, top: float, width: int) -> str:
    """A bar of eighth blocks, `width` cells for `top`; any value above nothing shows at least a sliver."""
    if not value or value <= 0 or top <= 0:
        return ""
    eighths = max(1, min(round(value / top * width * 8), width * 8))
    full, rest = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


def padded(text: str | Text, width: int, *, right: bool = False, style: str = "") -> Text:
    """`text` in `width` cells (wide characters count two), cut or filled with spaces."""
    shown = Text(text, style=style) if isinstance(text, str) else text.copy()
    shown.truncate(width)
    gap = " " * max(width - cell_len(shown.plain), 0)
    return Text.assemble(gap, shown) if right else Text.assemble(shown, gap)


@dataclass(frozen=True)
class Bars:
    """A chart ready to draw: worded x labels, raw values per series and their formatted texts."""

    title: str
    stacked: bool
    legend: tuple[tuple[str, str], ...]  # (series label, colour)
    rows: tuple[tuple[str, tuple[float | None, ...], tuple[str, ...]], ...]  # x label, values, shown
    top: float
    empty: str  # what an empty chart says

    @classmethod
    def of(cls, report: Report, chart: Chart, words: Words) -> Bars:
        """The chart's table worded as the HTML pack words it: short days, ratios against 100%; an x with
        nothing to measure in any series (a day nothing was filed) is left out, as the HTML's lines skip it."""
        table = report.table(chart.table)
        kinds = {c.key: c.kind for c in table.columns}
        y_kind = kinds[chart.series[0]]
        stacked = chart.kind == "stacked"
        rows = []
        for record in table.records():
            x = record[chart.x]
            label = _short_day(x, words) if kinds[chart.x] == "day" else words.value(x, kinds[chart.x])
            values = tuple(None if record[s] is None else float(record[s]) for s in chart.series)
            if all(value is None for value in values):
                continue
            if stacked:
                total = sum(record[s] or 0 for s in chart.series)
                shown: tuple[str, ...] = (words.value(total, y_kind, record.get("currency") or report.currency),)
            else:
                shown = tuple(cell(words, record, s, kinds[s], report.currency) for s in chart.series)
            rows.append((label, values, shown))
        sizes = [sum(v or 0.0 for v in values) if stacked else max((v or 0.0 for v in values), default=0.0)
                 for _, values, _ in rows]
        top = 1.0 if y_kind == "ratio" else max(sizes, default=0.0)
        colours = PALETTES.get(chart.key, ("cyan",))
        legend = tuple((words.label(s), colours[i % len(colours)]) for i, s in enumerate(chart.series))
        return cls(words.label(chart.key), stacked, legend, tuple(rows), top, words.label("no_rows"))

    def draw(self, width: int) -> Text:
        """A title with the legend, then one line per x: its bars scaled to `width`, each value at its end."""
        head = Text(self.title, style="bold")
        for label, colour in self.legend:
            head.append("  ")
            head.append("█", style=colour)
            head.append(f" {label}")
        if not self.rows:
            head.append(f"  {self.empty}", style="dim")
        lines = [head]
        label_w = max((cell_len(label) for label, _, _ in self.rows), default=0)
        value_w = max((cell_len(text) for _, _, shown in self.rows for text in shown), default=0)
        count = 1 if self.stacked else len(self.legend)
        bar_w = max(4, (width - label_w - 1 - count * (value_w + 2)) // count)
        for label, values, shown in self.rows:
            line = padded(label, label_w)
            if self.stacked:
                line.append(" ")
                line.append_text(padded(self._stack(values, bar_w), bar_w))
                line.append(" ")
                line.append_text(padded(shown[0], value_w, right=True))
            else:
                for value, text, (_, colour) in zip(values, shown, self.legend, strict=True):
                    line.append(" ")
                    line.append_text(padded(bar(value, self.top, bar_w), bar_w, style=colour))
                    line.append(" ")
                    line.append_text(padded(text, value_w, right=True))
                    line.append(" ")
            lines.append(line)
        return Text("\n").join(lines)

    def _stack(self, values: Sequence[float | None], width: int) -> Text:
        """One bar of coloured segments in whole cells, each ending where the running total does."""
        stack, done, running = Text(), 0, 0.0
        for value, (_, colour) in zip(values, self.legend, strict=True):
            running += value or 0.0
            end = round(running / self.top * width) if self.top > 0 else 0
            stack.append("█" * (end - done), style=colour)
            done = end
        if not stack.plain and running > 0:
            stack.append("▏", style=next(colour for value, (_, colour) in zip(values, self.legend, strict=True)
                                         if value))
        return stack


def _short_day(day: date, words: Words) -> str:
    from babel.dates import format_skeleton

    return str(format_skeleton("Md", day, locale=words.locale))


def figures_text(report: Report, words: Words, width: int) -> Text:
    """The headline figures, label and value, in two columns when both fit the width."""
    pairs = [(words.label(key), words.value(value, kind, report.currency)) for key, kind, value in report.figures]
    label_w = max((cell_len(label) for label, _ in pairs), default=0)
    value_w = max((cell_len(value) for _, value in pairs), default=0)
    column_w = label_w + 2 + value_w
    columns = 2 if 2 * column_w + 3 <= width else 1
    lines = []
    for start in range(0, len(pairs), columns):
        line = Text()
        for i, (label, value) in enumerate(pairs[start:start + columns]):
            line.append("   " if i else "")
            line.append_text(padded(label, label_w + 2))
            line.append_text(padded(value, value_w, right=True, style="bold"))
        lines.append(line)
    return Text("\n").join(lines)


class Drawing(Widget):
    """Text drawn for the width the widget is given: bars scale to it, figures take two columns when they fit."""

    def __init__(self, *, id: str) -> None:
        super().__init__(id=id)
        self.draw: Callable[[int], Text] = lambda width: Text()

    def show(self, draw: Callable[[int], Text]) -> None:
        self.draw = draw
        self.refresh(layout=True)

    def render(self) -> Text:
        return self.draw(self.content_size.width or 80)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.draw(width).split("\n"))


class ReportsScreen(RedressScreen[None]):
    """Six tabs, one per report, for one month; `[` and `]` (or left and right) move the month."""

    BINDINGS = [
        Binding("escape,q", "back", "Back"),
        Binding("left_square_bracket,left", "month(-1)", "Prev month", key_display="["),
        Binding("right_square_bracket,right", "month(1)", "Next month", key_display="]"),
        Binding("tab", "report(1)", "Next report"),
        Binding("shift+tab", "report(-1)", "Prev report", show=False),
        Binding("l", "language", "Language"),
        Binding("f5", "reload", "Reload", show=False),
    ]

    def __init__(self, month: str | None = None) -> None:
        super().__init__()
        self.month = month
        self.reports: list[Report] = []
        self.language: str | None = None  # None: each report's own (the call centre's language)

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Static(id="month")
        with TabbedContent(id="reports"):
            for name in REPORTS:
                with TabPane(name, id=f"tab-{name}"), VerticalScroll(id=f"body-{name}", classes="report"):
                    yield Drawing(id=f"figures-{name}")
                    yield Drawing(id=f"chart-{name}")
                    yield Static(id=f"title-{name}", classes="table-title")
                    table: DataTable[Any] = DataTable(id=f"table-{name}", cursor_type="none", zebra_stripes=True)
                    table.can_focus = False
                    yield table
        yield Footer()

    def on_mount(self) -> None:
        app = self.redress_app
        self.sub_title = app.sub_title
        if self.month is None:
            self.month = previous_month(app.seat.now(), app.seat.timezone)
        self.load(self.month)
        self._body().focus()

    def load(self, month: str) -> bool:
        """Read the month's pack; on a refusal or a fault the month shown stays as it was."""
        app = self.redress_app
        if not app.may("read_reports"):
            self._status(Text(refusal(app.acting, "read_reports"), style="bold red"))
            return False
        pack = attempt(self, lambda: app.seat.call("report_pack", month))
        if pack is None:
            if not self.reports:
                self._status(Text(f"{month}: no reports read", style="bold red"))
            return False
        self.month, self.reports = month, [Report.from_json(data) for data in pack]
        self.draw()
        return True

    def draw(self) -> None:
        tabs = self.query_one("#reports", TabbedContent)
        for report in self.reports:
            words = Words(report, self.language)
            name = report.name
            tabs.get_tab(f"tab-{name}").label = Text(words.label(name))
            self.query_one(f"#figures-{name}", Drawing).show(partial(figures_text, report, words))
            chart = self.query_one(f"#chart-{name}", Drawing)
            chart.display = bool(report.charts)
            if report.charts:
                chart.show(Bars.of(report, report.charts[0], words).draw)
            self._table(report, words)
        report = self.reports[0]
        words = Words(report, self.language)
        line = Text.assemble(("[ ◀ ", "dim"), (str(self.month), "bold"), (" ▶ ]", "dim"), "  ", words.period(report))
        self._status(line)

    def _table(self, report: Report, words: Words) -> None:
        """The report's key table, customer text as text; an empty one says so."""
        key, chosen, summary = KEY_TABLES[report.name]
        table = report.table(key)
        columns = [c for c in table.columns if not chosen or c.key in chosen]
        shown = self.query_one(f"#table-{report.name}", DataTable)
        shown.clear(columns=True)
        for column in columns:
            shown.add_column(Text(words.label(column.key), justify="right" if column.kind in _NUMERIC else "left"),
                             key=column.key)
        records = table.records()
        for record in records:
            shown.add_row(*(self._cell(words, record, c.key, c.kind, report.currency) for c in columns))
        if summary and records:
            for record in report.table(summary).records():
                shown.add_row(Text(words.label(summary), style="bold"),
                              *(self._cell(words, record, c.key, c.kind, report.currency) for c in columns[1:]))
        title = Text(words.label(key), style="bold")
        if not records:
            title.append(f"  {words.label('no_rows')}", style="dim")
        self.query_one(f"#title-{report.name}", Static).update(title)
        shown.display = bool(records)

    @staticmethod
    def _cell(words: Words, record: dict[str, Any], key: str, kind: str, currency: str) -> Text:
        if key not in record:
            return Text("")
        return Text(inert(cell(words, record, key, kind, currency)), justify="right" if kind in _NUMERIC else "left")

    def _status(self, line: Text) -> None:
        self.query_one("#month", Static).update(line)

    def _body(self) -> VerticalScroll:
        active = self.query_one("#reports", TabbedContent).active
        return self.query_one(f"#body-{active.removeprefix('tab-')}", VerticalScroll)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """A report chosen by click scrolls with the arrows, as one chosen with Tab does."""
        self._body().focus()

    def action_month(self, by: int) -> None:
        if self.month is not None:
            self.load(shifted(self.month, by))

    def action_report(self, by: int) -> None:
        tabs = self.query_one("#reports", TabbedContent)
        index = REPORTS.index(tabs.active.removeprefix("tab-"))
        tabs.active = f"tab-{REPORTS[(index + by) % len(REPORTS)]}"
        self._body().focus()

    def action_language(self) -> None:
        """The next of the reports' languages; the figures stay the ones read."""
        if not self.reports:
            return
        languages = list(BABEL_LOCALES)
        current = self.language or self.reports[0].language
        self.language = languages[(languages.index(current) + 1) % len(languages)]
        self.draw()

    def action_reload(self) -> None:
        if self.month is not None:
            self.load(self.month)

    def action_back(self) -> None:
        self.app.pop_screen()
