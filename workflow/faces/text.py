"""Text for a terminal: cut to fit in cells (a Chinese character takes two) at a word's boundary; business time."""

from __future__ import annotations

import re
from typing import Any

from rich.cells import cell_len

from workflow.domain.sla import business_time

__all__ = ["business_time", "shorten"]

_LINE_BREAKS = re.compile(r"[ \t]*[\r\n]+[ \t]*")


def past_deadline(row: dict[str, Any]) -> str:
    """The board's time past a deadline: business time, with the wall-clock time beside it ('11h 18m / 2d 03h')."""
    if not row["deadline_passed"]:
        return ""
    wall = round(row["wall_minutes_past_deadline"])
    days, minutes = divmod(wall, 24 * 60)
    beside = f"{days}d {minutes // 60:02d}h" if days else business_time(wall)
    return f"{business_time(row['minutes_past_deadline'])} / {beside}"


def shorten(text: str, width: int) -> str:
    """One line of at most `width` cells; a longer text is cut at a word or character boundary and ends in '…'.

    Only a first word longer than the room is cut inside it (an address, say): better than nothing.
    """
    line = _LINE_BREAKS.sub(" ", text)
    if cell_len(line) <= width:
        return line
    if width <= 1:
        return "…"[:width]
    end = _fitting(line, width - 1)
    cut = line[:end]
    if _inside_word(line, end):
        cut = cut[:max((i + 1 for i, char in enumerate(cut) if not _word_char(char)), default=0)] or cut
    return cut.rstrip() + "…"


def _fitting(line: str, cells: int) -> int:
    """How many characters of `line` fit in `cells`."""
    used = 0
    for index, char in enumerate(line):
        used += cell_len(char)
        if used > cells:
            return index
    return len(line)


def _word_char(char: str) -> bool:
    """Part of a word of a spaced script (a complaint number is one word); a Chinese character stands alone."""
    return not char.isspace() and cell_len(char) == 1


def _inside_word(line: str, end: int) -> bool:
    return 0 < end < len(line) and _word_char(line[end - 1]) and _word_char(line[end])


