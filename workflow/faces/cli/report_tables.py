"""A report on the terminal: its headline figures, then each table, worded and formatted for the reader.

Customer text (names, comments) is made inert: escape codes are shown, never obeyed.
"""

from __future__ import annotations

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

from workflow.domain.inert import inert
from workflow.read.reports.model import Report
from workflow.read.reports.present import Words, cell

_NUMERIC = {"count", "minutes", "hours", "ratio", "score", "money"}


def _natural(header: str, cells: list[list[str]], i: int) -> int:
    """A column's width: its widest value, and its header in at most two lines."""
    return max(max(cell_len(row[i]) for row in cells), (cell_len(header) + 1) // 2)


def _table(title: str | None, headers: list[str], cells: list[list[str]], numeric: list[bool],
           chosen: list[int]) -> Table:
    shown = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False)
    for i in chosen:
        shown.add_column(headers[i], justify="right" if numeric[i] else "left", overflow="fold",
                         min_width=min(_natural(headers[i], cells, i), 24))
    for row in cells:
        shown.add_row(*(row[i] for i in chosen))
    return shown


def _fitted(console: Console, title: str, headers: list[str], cells: list[list[str]],
            numeric: list[bool]) -> list[Table]:
    """The table in pieces that fit the screen side by side, each led by the first column (what the row is):
    a column goes on to the next piece when the piece measured with it would be wider than the screen."""
    pieces: list[list[int]] = [[0]]
    for i in range(1, len(headers)):
        trial = _table(None, headers, cells, numeric, [*pieces[-1], i])
        if len(pieces[-1]) > 1 and console.measure(trial).maximum > console.width - 2:
            pieces.append([0])
        pieces[-1].append(i)
    return [_table(title if n == 0 else None, headers, cells, numeric, piece) for n, piece in enumerate(pieces)]


def print_reports(reports: list[Report], words: Words) -> None:
    console = Console(highlight=False, soft_wrap=False)
    for report in reports:
        console.print(f"[bold]{inert(words.label(report.name))}[/bold]  {inert(words.period(report))}  "
                      f"({inert(words.label('filters'))}: {inert(words.filters(report))})", markup=True)
        if report.figures:
            figures = Table(box=box.SIMPLE, show_header=False, pad_edge=False)
            figures.add_column(no_wrap=True)
            figures.add_column(justify="right", no_wrap=True)
            for key, kind, value in report.figures:
                figures.add_row(words.label(key), words.value(value, kind, report.currency))
            console.print(figures)
        for table in report.tables:
            headers = [words.label(c.key) for c in table.columns]
            cells = [[inert(cell(words, record, c.key, c.kind, report.currency)) for c in table.columns]
                     for record in table.records()]
            if not cells:
                console.print(f"[bold]{inert(words.label(table.key))}[/bold]: {words.label('no_rows')}\n")
                continue
            numeric = [c.kind in _NUMERIC for c in table.columns]
            for shown in _fitted(console, words.label(table.key), headers, cells, numeric):
                console.print(shown)
