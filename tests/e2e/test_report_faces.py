"""The reports through the installed command: JSON, CSV, the HTML file and the terminal tables say the same
figures for the hand-worked month, and the HTML pack opens in a real headless Chromium with every chart drawn."""

from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser

import pytest

from tests.browser import colour_counts, is_blank, render, require_chromium
from tests.conftest import _staffed
from tests.e2e.test_cli import redress
from tests.report_month import READ_AT, moment, work_the_month
from workflow.read.reports import REPORTS
from workflow.read.reports.charts import PALETTES
from workflow.read.reports.model import Report
from workflow.read.reports.present import Words

NOW = moment(*READ_AT).isoformat()


@pytest.fixture(scope="module")
def month_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The hand-worked month in a SQLite file, built once for the module."""
    url = f"sqlite:///{tmp_path_factory.mktemp('month') / 'redress.db'}"
    staffed = _staffed(url)
    work_the_month(next(staffed))
    staffed.close()
    return url


def run(db: str, *args: str, check: bool = True):
    return redress("report", *args, db=db, user="boss", REDRESS_NOW=NOW, check=check)


def pack_json(db: str) -> list[dict]:
    return json.loads(run(db, "pack", "--month", "2026-11", "--json").stdout)


def csv_blocks(text: str) -> dict[tuple[str, str], list[list[str]]]:
    """The CSV's blocks by (report, table): the header line, then the rows."""
    blocks: dict[tuple[str, str], list[list[str]]] = {}
    current: list[list[str]] = []
    for row in csv.reader(io.StringIO(text)):
        if row and row[0].startswith("# "):
            current = blocks.setdefault((row[0][2:], row[1]), [])
        elif row:
            current.append(row)
    return blocks


def same(raw: object, text: str) -> bool:
    """A CSV or HTML value (text) is the JSON value: numbers compared as numbers, nothing as empty."""
    if raw is None:
        return text == ""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return str(raw) == text
    return abs(float(text) - raw) < 1e-9


class _Cells(HTMLParser):
    """Every figure's and every cell's raw value (data-value) and shown text, by report and table."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[tuple[str, str], tuple[str, str]] = {}
        self.cells: dict[tuple[str, str], list[dict[str, tuple[str, str]]]] = {}
        self.report = self.table = ""
        self._open: tuple[str, str] | None = None
        self._text = ""
        self._body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "data-report" in a:
            self.report = a["data-report"]
        if "data-table" in a:
            self.table = a["data-table"]
            self.cells[(self.report, self.table)] = []
        if tag == "tbody":
            self._body = True
        if tag == "tr" and self.table and self._body:
            self.cells[(self.report, self.table)].append({})
        if "data-figure" in a:
            self._open, self._text = ("figure", a["data-figure"]), ""
            self.figures[(self.report, a["data-figure"])] = (a["data-value"], "")
        if tag == "td":
            self._open, self._text = ("cell", a["data-column"]), ""
            self.cells[(self.report, self.table)][-1][a["data-column"]] = (a["data-value"], "")

    def handle_data(self, data: str) -> None:
        if self._open:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.table, self._body = "", False
        if self._open and tag in ("li", "td"):
            kind, key = self._open
            if kind == "figure":  # the label, then the value: the text ends with the value
                self.figures[(self.report, key)] = (self.figures[(self.report, key)][0], self._text)
            else:
                row = self.cells[(self.report, self.table)][-1]
                row[key] = (row[key][0], self._text)
            self._open = None


def test_json_csv_html_and_the_tables_say_the_same(month_db, tmp_path):
    reports = pack_json(month_db)
    assert [data["report"] for data in reports] == list(REPORTS)
    # One report alone is the pack's own.
    assert json.loads(run(month_db, "sla", "--month", "2026-11", "--json").stdout) == reports[0]
    blocks = csv_blocks(run(month_db, "pack", "--month", "2026-11", "--csv").stdout)
    page = tmp_path / "pack.html"
    assert run(month_db, "pack", "--month", "2026-11", "--html", str(page), "--lang", "en").stdout.startswith(
        f"wrote {page} (6 reports, Nov 1, 2026 – Nov 30, 2026)")
    cells = _Cells()
    cells.feed(page.read_text(encoding="utf-8"))
    compared = 0
    for data in reports:
        name = data["report"]
        words = Words(Report.from_json(data), "en")
        kinds = data["kinds"]
        figure_rows = blocks[(name, "figures")]
        assert figure_rows[0] == ["figure", "value"]
        assert {key: value for key, value in figure_rows[1:]}.keys() == data["figures"].keys()
        for key, value in figure_rows[1:]:
            raw = data["figures"][key]
            assert same(raw, value), (name, key, raw, value)
            shown_raw, shown_text = cells.figures[(name, key)]
            assert same(raw, shown_raw), (name, key)
            assert shown_text.endswith(words.value(raw, kinds["figures"][key], data["currency"]))
            compared += 1
        for table, rows in data["tables"].items():
            columns = list(kinds["tables"][table])
            csv_rows = blocks[(name, table)]
            assert csv_rows[0] == columns and len(csv_rows) - 1 == len(rows)
            html_rows = cells.cells.get((name, table), [])
            assert len(html_rows) == len(rows), (name, table)
            for row, csv_row, html_row in zip(rows, csv_rows[1:], html_rows, strict=True):
                for column, text in zip(columns, csv_row, strict=True):
                    assert same(row[column], text), (name, table, column, row[column], text)
                    shown_raw, shown_text = html_row[column]
                    assert same(row[column], shown_raw), (name, table, column)
                    kind = kinds["tables"][table][column]
                    assert shown_text == words.value(row[column], kind, row.get("currency") or data["currency"])
                    compared += 1
    assert compared == sum(len(d["figures"]) + sum(len(r) for rows in d["tables"].values() for r in rows)
                           for d in reports) > 800  # every value, none skipped
    # The terminal tables show the same formatted figures (wide enough that nothing is split).
    shown = redress("report", "pack", "--month", "2026-11", "--lang", "en", db=month_db, user="boss",
                    REDRESS_NOW=NOW, COLUMNS="200").stdout
    for data in reports:
        words = Words(Report.from_json(data), "en")
        for key, value in data["figures"].items():
            line = f"{words.label(key)}"
            assert any(row.strip().startswith(line) and row.strip().endswith(
                words.value(value, data["kinds"]["figures"][key], data["currency"])) for row in shown.splitlines())


def test_customer_words_are_shown_never_obeyed(month_db, tmp_path):
    """The low scorer wrote markup and an escape code: the page escapes it, the terminal shows the code."""
    page = tmp_path / "satisfaction.html"
    run(month_db, "satisfaction", "--month", "2026-11", "--html", str(page))
    html = page.read_text(encoding="utf-8")
    assert "&lt;b&gt;太差&lt;/b&gt;" in html and "<b>太差" not in html
    shown = run(month_db, "satisfaction", "--month", "2026-11").stdout
    assert "\x1b" not in shown and "\\x1b[31m" in shown


def test_period_and_output_mistakes_are_one_line_with_their_exit_code(month_db, tmp_path):
    bad = run(month_db, "sla", "--month", "November", check=False)
    assert (bad.returncode, bad.stderr) == (7, "error: --month 'November' is not a month; use e.g. 2026-11\n")
    both = run(month_db, "sla", "--month", "2026-11", "--json", "--csv", check=False)
    assert (both.returncode, both.stderr) == (2, "error: give one of --json, --csv and --html\n")
    nowhere = run(month_db, "sla", "--month", "2026-11", "--html", str(tmp_path / "no" / "r.html"), check=False)
    assert nowhere.returncode == 2 and "the folder" in nowhere.stderr and "does not exist" in nowhere.stderr
    agent = redress("report", "sla", "--month", "2026-11", db=month_db, user="amy", REDRESS_NOW=NOW, check=False)
    assert agent.returncode == 5 and agent.stderr.startswith("error: amy is an agent;")
    lang = run(month_db, "sla", "--month", "2026-11", "--lang", "fr", check=False)
    assert (lang.returncode, lang.stderr) == (7, "error: --lang 'fr' is not allowed; languages: en, zh-CN, zh-TW\n")


def test_the_pack_opens_in_a_real_browser_with_every_chart_drawn(month_db, tmp_path):
    require_chromium()
    for language in ("zh-CN", "en"):
        page = tmp_path / f"pack-{language}.html"
        run(month_db, "pack", "--month", "2026-11", "--html", str(page), "--lang", language)
        assert "http://" not in page.read_text(encoding="utf-8").replace('xmlns="http://www.w3.org/2000/svg"', "")
        opened = render(page, tmp_path / f"pack-{language}.png", width=1100, height=9000)
        assert opened.console == []
        assert not is_blank(opened.screenshot)
        assert opened.dom.count("<svg") == len(PALETTES)
        for chart, colours in PALETTES.items():
            painted = colour_counts(opened.screenshot, {
                f"{chart} {i}": tuple(int(c[k:k + 2], 16) for k in (1, 3, 5)) for i, c in enumerate(colours)})
            # every chart draws: its first colour (the legend swatch and the bars or line) painted plenty
            assert painted[f"{chart} 0"] > 150, (language, chart, painted)
