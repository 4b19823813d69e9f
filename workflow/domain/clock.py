"""The one clock of the engine: every "now" comes from here; REDRESS_NOW=<ISO time> pins it."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from workflow.domain.errors import ConfigError

# Business calendars, holidays and deadlines are kept for these years; an instant outside them is a mistake
# (a script pinned to the wrong century), not a time to compute deadlines from.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


class Clock:
    """Wall-clock time in UTC, or a pinned instant for demos, scripts and tests."""

    def __init__(self, pinned: datetime | None = None) -> None:
        self._pinned = pinned

    def now(self) -> datetime:
        """The current instant as an aware UTC datetime."""
        return self._pinned if self._pinned is not None else datetime.now(UTC)

    def pin(self, instant: datetime) -> None:
        """Travel to `instant`: from now on `now()` returns it (tests and simulations)."""
        instant = _as_utc(instant)
        if not EARLIEST <= instant < LATEST:
            raise ValueError(_out_of_range(instant.isoformat()))
        self._pinned = instant

    @classmethod
    def from_environment(cls) -> Clock:
        value = os.environ.get("REDRESS_NOW")
        return cls(parse_instant(value, "REDRESS_NOW") if value else None)


def local_minute(moment: datetime, timezone: str) -> str:
    """An instant as the call centre reads it: 'YYYY-MM-DD HH:MM' in its timezone."""
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def parse_instant(value: str, name: str) -> datetime:
    """An ISO 8601 time; one without an offset is taken as UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"{name}: '{value}' is not an ISO 8601 time; use e.g. 2026-11-22T09:30:00+08:00"
        ) from None
    try:
        instant = _as_utc(parsed)
    except OverflowError:  # year 1 or 9999 moved across midnight UTC
        raise ConfigError(f"{name}: {_out_of_range(value)}") from None
    if not EARLIEST <= instant < LATEST:
        raise ConfigError(f"{name}: {_out_of_range(value)}")
    return instant


def _out_of_range(value: str) -> str:
    return f"'{value}' is outside the years Redress keeps time for ({EARLIEST.year}-{LATEST.year - 1})"


def _as_utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        return instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)


def parse_period_edge(value: str, name: str, timezone: str) -> datetime:
    """A period's edge as a manager types it: a day (YYYY-MM-DD, its local midnight) or an ISO 8601 time."""
    from zoneinfo import ZoneInfo

    text = value.strip()
    if len(text) == 10:
        try:
            day = datetime.strptime(text, "%Y-%m-%d")
        except ValueError:
            raise ConfigError(f"{name}: '{value}' is not a day; use e.g. 2026-11-01") from None
        return parse_instant(day.replace(tzinfo=ZoneInfo(timezone)).isoformat(), name)
    try:
        return parse_instant(text, name)
    except ConfigError as error:
        if "outside the years" in str(error):
            raise
        raise ConfigError(f"{name}: '{value}' is neither a day (2026-11-01) nor an ISO 8601 time "
                          "(2026-11-01T09:30:00+08:00)") from None
