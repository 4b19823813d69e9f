"""What every screen of the terminal app shares: calling its seat safely, and local times."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from textual.screen import Screen

from workflow.domain.errors import ConcurrentChange, DatabaseUnavailable, NotSignedIn, RedressError, ServerUnavailable
from workflow.domain.inert import inert

T = TypeVar("T")
_SHOWN_FOR = 8.0  # seconds a notification stays up
_last_fault: dict[str, float] = {}  # a lasting fault's line -> when it was last shown
# Faults that last until someone mends them (the database, the server, the sign-in), by the title they are shown with.
LASTING: dict[type[RedressError], str] = {DatabaseUnavailable: "Database unavailable",
                                          ServerUnavailable: "Server unavailable", NotSignedIn: "Not signed in"}


def attempt(screen: Screen[Any], call: Callable[[], T], *, done: str | None = None) -> T | None:
    """Run a call to the seat; a refusal becomes a notification (never a traceback), success an optional one.

    Returns None when the call was refused. A concurrent change says so and
    the caller refreshes, so the user acts on the fresh view.
    """
    try:
        result = call()
    except ConcurrentChange as error:
        screen.notify(f"{inert(error)}. The view is refreshed.", title="Changed meanwhile", severity="warning",
                      timeout=8, markup=False)
        return None
    except tuple(LASTING) as error:
        # The views refresh every few seconds: one fault is shown once while it lasts, not stacked.
        line, now = inert(error), time.monotonic()
        if now - _last_fault.get(line, -_SHOWN_FOR) >= _SHOWN_FOR:
            _last_fault[line] = now
            title = next(title for kind, title in LASTING.items() if isinstance(error, kind))
            screen.notify(line, title=title, severity="error", timeout=_SHOWN_FOR, markup=False)
        return None
    except RedressError as error:
        # An error may quote what was typed: brackets in it are text, not markup.
        screen.notify(inert(error), title="Not done", severity="error", timeout=_SHOWN_FOR, markup=False)
        return None
    if done:
        screen.notify(done, timeout=4)
    return result


def local(timezone: str, iso: str | None, fmt: str = "%m-%d %H:%M") -> str:
    """An ISO time from the seat, in the call centre's timezone (the seat's)."""
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(timezone)).strftime(fmt)
