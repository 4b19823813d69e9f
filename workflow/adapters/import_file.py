"""Reading a file of complaints to import: CSV with a header row, or JSON lines (one object per line).

Only reading: each record comes out as text fields with its row number (a spreadsheet's row, the header being
row 1; a JSON line's line number), and what is wrong with the file as a whole (not found, not UTF-8, a header
without a required column) is one InvalidInput. What the values mean is checked in workflow/services/import_rows.py.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from workflow.domain.errors import InvalidInput

FORMATS = ("csv", "jsonl")
_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass(frozen=True, slots=True)
class RawRow:
    """One record as read: its row number, its non-blank fields as text, and what made a field unreadable."""

    number: int
    fields: dict[str, str]
    problems: tuple[tuple[str, str], ...] = ()  # (column or "", why)


def format_of(path: Path, given: str | None) -> str:
    """The format named by --format, else by the file's extension."""
    if given is not None:
        if given not in FORMATS:
            raise InvalidInput(f"format '{given}' is not known; formats: {', '.join(FORMATS)}")
        return given
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise InvalidInput(f"cannot tell the format of {path.name} from its name (.csv, .jsonl or .ndjson); "
                           "give --format csv or --format jsonl")
    return found


def read_rows(path: Path, fmt: str, columns: tuple[str, ...], required: tuple[str, ...]) -> list[RawRow]:
    """Every record of the file; blank lines are skipped."""
    text = _text(path)
    if fmt == "csv":
        return _csv_rows(path, text, columns, required)
    return _json_rows(text, columns)


def _text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"cannot read {path}: no such file") from None
    except IsADirectoryError:
        raise InvalidInput(f"cannot read {path}: it is a folder, not a file") from None
    except OSError as error:
        raise InvalidInput(f"cannot read {path}: {error.strerror or error}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput(f"{path.name} is not UTF-8 text (byte {error.start} cannot be read); save it as UTF-8 "
                           "(a spreadsheet's \"CSV UTF-8\")") from None


def _csv_rows(path: Path, text: str, columns: tuple[str, ...], required: tuple[str, ...]) -> list[RawRow]:
    reader = csv.reader(io.StringIO(text, newline=""))
    number = 1
    try:
        header = [cell.strip() for cell in next(reader, [])]
        _check_header(path, header, columns, required)
        rows = []
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            problems: tuple[tuple[str, str], ...] = ()
            if len(cells) > len(header):
                problems = (("", f"has {len(cells)} cells, the header has {len(header)}"),)
            fields = {name: cell for name, cell in zip(header, cells, strict=False) if cell.strip()}
            rows.append(RawRow(number, fields, problems))
    except csv.Error as error:
        raise InvalidInput(f"{path.name}, row {number + 1}: not CSV ({error})") from None
    return rows


def _check_header(path: Path, header: list[str], columns: tuple[str, ...], required: tuple[str, ...]) -> None:
    if not any(header):
        raise InvalidInput(f"{path.name} is empty; its first row names the columns: {', '.join(columns)}")
    unknown = [name for name in header if name not in columns]
    if unknown:
        raise InvalidInput(f"{path.name}: the header names unknown column(s) {', '.join(repr(n) for n in unknown)}; "
                           f"columns: {', '.join(columns)}")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise InvalidInput(f"{path.name}: the header names {', '.join(repeated)} more than once")
    missing = [name for name in required if name not in header]
    if missing:
        raise InvalidInput(f"{path.name}: the header lacks the required column(s) {', '.join(missing)}")


def _json_rows(text: str, columns: tuple[str, ...]) -> list[RawRow]:
    rows = []
    # Lines end at "\n" only: str.splitlines would also cut at U+2028 and the like, which JSON text may hold.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as error:
            rows.append(RawRow(number, {}, (("", f"is not JSON ({error})"),)))
            continue
        if not isinstance(record, dict):
            rows.append(RawRow(number, {}, (("", "is not a JSON object ({...})"),)))
            continue
        fields: dict[str, str] = {}
        problems: list[tuple[str, str]] = []
        for name, value in record.items():
            if name not in columns:
                problems.append((str(name), f"is not a column; columns: {', '.join(columns)}"))
            elif isinstance(value, str):
                if value.strip():
                    fields[name] = value
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                fields[name] = str(value)
            elif value is not None:
                problems.append((name, "must be text"))
        rows.append(RawRow(number, fields, tuple(problems)))
    return rows
