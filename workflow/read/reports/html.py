"""One self-contained HTML file for one report or the monthly pack: words in the reader's language, values
formatted by babel, charts as inline SVG, no script and nothing fetched. Every cell carries its raw value
(`data-value`) beside the formatted text, so a program reading the page gets what the JSON has.

Customer text (names, comments) is escaped by the template's autoescape: it is shown, never run.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from workflow.read.reports.charts import Series, svg
from workflow.read.reports.model import Report
from workflow.read.reports.present import Words, cell

_NUMERIC = {"count", "minutes", "hours", "ratio", "score", "money"}


@cache
def _template() -> Any:
    environment = Environment(loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["html"]))
    return environment.get_template("pack.html")


def raw(value: Any) -> str:
    """The raw value as `data-value` holds it: JSON's text for numbers, ISO 8601 for times, empty for none."""
    if value is None:
        return ""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value if isinstance(value, str) else json.dumps(value)


def render(reports: list[Report], words: Words, generated: datetime) -> str:
    title = words.label("pack") if len(reports) > 1 else words.label(reports[0].name)
    sections = [_section(report, words) for report in reports]
    return str(_template().render(title=title, words=words, sections=sections, period=words.period(reports[0]),
                                  generated=words.value(generated, "time")))


def _section(report: Report, words: Words) -> dict[str, Any]:
    figures = [{"key": key, "label": words.label(key), "raw": raw(value),
                "text": words.value(value, kind, report.currency)} for key, kind, value in report.figures]
    tables = []
    for table in report.tables:
        columns = [{"key": c.key, "label": words.label(c.key)} for c in table.columns]
        rows = [[{"key": c.key, "raw": raw(record[c.key]), "css": "num" if c.kind in _NUMERIC else
                  "words" if c.key == "comment" else "", "text": cell(words, record, c.key, c.kind, report.currency)}
                 for c in table.columns] for record in table.records()]
        tables.append({"key": table.key, "title": words.label(table.key), "columns": columns, "rows": rows})
    charts = [_chart(report, chart.key, words) for chart in report.charts]
    return {"name": report.name, "title": words.label(report.name), "filters": words.filters(report),
            "figures": figures, "tables": tables, "charts": charts}


def _chart(report: Report, key: str, words: Words) -> dict[str, Any]:
    chart = next(c for c in report.charts if c.key == key)
    table = report.table(chart.table)
    kinds = {c.key: c.kind for c in table.columns}
    records = table.records()
    x_kind = kinds[chart.x]
    x_labels = [_short_day(r[chart.x], words) if x_kind == "day" else words.value(r[chart.x], x_kind)
                for r in records]
    series = [Series(words.label(name), [None if r[name] is None else float(r[name]) for r in records])
              for name in chart.series]
    y_kind = kinds[chart.series[0]]

    def y_label(value: float) -> str:
        return words.value(value, y_kind, report.currency) if y_kind != "count" else words.value(round(value), "count")

    top = 1.0 if y_kind == "ratio" else None
    return {"title": words.label(key), "svg": svg(key, chart.kind, x_labels, series, y_label, words.label(key), top)}


def _short_day(day: date, words: Words) -> str:
    from babel.dates import format_skeleton

    return str(format_skeleton("Md", day, locale=words.locale))
