"""A report as data: headline figures and tables of raw values, each column with its kind.

Every face (table, JSON, CSV, HTML, the terminal app) is drawn from this one object, so they cannot disagree:
values stay raw here (minutes, minor units of money, ratios 0..1) and are formatted only where shown.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Literal

# How a value is shown: text, a count, business or wall minutes, hours, a ratio (0..1) shown as a percentage,
# an average score, money in minor units (the row's `currency` column names the currency), a day, a time.
Kind = Literal["text", "label", "count", "minutes", "hours", "ratio", "score", "money", "day", "time", "reasons"]


@dataclass(frozen=True)
class Column:
    key: str
    kind: Kind = "count"


@dataclass
class Table:
    """Rows of raw values, in the order of `columns`."""

    key: str
    columns: tuple[Column, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip((c.key for c in self.columns), row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class Chart:
    """A picture of a table: bars of `series` along `x` (stacked when there are several)."""

    key: str
    table: str
    x: str
    series: tuple[str, ...]
    kind: Literal["bars", "stacked", "line"] = "bars"


@dataclass
class Report:
    name: str
    since: datetime
    until: datetime
    filters: dict[str, str]
    figures: list[tuple[str, Kind, Any]] = field(default_factory=list)  # headline numbers: key, kind, value
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    currency: str = "CNY"
    timezone: str = "Asia/Shanghai"
    language: str = "zh-CN"  # the call centre's own language: the words a reader gets unless they ask for others
    names: dict[str, dict[str, str]] = field(default_factory=dict)  # config names (severities, ...) -> their words

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)

    def as_json(self) -> dict[str, Any]:
        """Raw values: minutes and money (minor units) as numbers, ratios 0..1, days and times in ISO 8601;
        `kinds` says what each figure and column is, and `charts` what is drawn from which table."""
        return {"report": self.name, "from": self.since.isoformat(), "to": self.until.isoformat(),
                "filters": self.filters, "currency": self.currency, "timezone": self.timezone,
                "language": self.language, "names": self.names,
                "figures": {key: _plain(value) for key, _, value in self.figures},
                "tables": {t.key: [{k: _plain(v) for k, v in r.items()} for r in t.records()] for t in self.tables},
                "kinds": {"figures": {key: kind for key, kind, _ in self.figures},
                          "tables": {t.key: {c.key: c.kind for c in t.columns} for t in self.tables}},
                "charts": [asdict(chart) for chart in self.charts]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        """The report `as_json` gave (from the server, or in process): the same object the faces draw."""
        kinds = data["kinds"]
        tables = []
        for key, records in data["tables"].items():
            columns = tuple(Column(name, kind) for name, kind in kinds["tables"][key].items())
            tables.append(Table(key, columns, [tuple(_typed(r[c.key], c.kind) for c in columns) for r in records]))
        return cls(data["report"], datetime.fromisoformat(data["from"]), datetime.fromisoformat(data["to"]),
                   dict(data["filters"]),
                   [(key, kind, _typed(data["figures"][key], kind)) for key, kind in kinds["figures"].items()],
                   tables, [Chart(c["key"], c["table"], c["x"], tuple(c["series"]), c["kind"]) for c in data["charts"]],
                   data["currency"], data["timezone"], data["language"], data["names"])


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _typed(value: Any, kind: str) -> Any:
    if value is None or not isinstance(value, str):
        return value
    if kind == "time":
        return datetime.fromisoformat(value)
    if kind == "day":
        return date.fromisoformat(value)
    return value
