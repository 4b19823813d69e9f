"""What every screen of the terminal app shares: calling a service safely, and local times."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from textual.screen import Screen

from workflow.errors import ConcurrentChange, RedressError
from workflow.inert import inert

T = TypeVar("T")


def attempt(screen: Screen[Any], call: Callable[[], T], *, done: str | None = None) -> T | None:
    """Run a service call; a refusal becomes a notification (never a traceback), success an optional one.

    Returns None when the call was refused. A concurrent change says so and
    the caller refreshes, so the user acts on the fresh view.
    """
    try:
        result = call()
    except ConcurrentChange as error:
        screen.notify(f"{inert(error)}. The view is refreshed.", title="Changed meanwhile", severity="warning",
                      timeout=8, markup=False)
        return None
    except RedressError as error:
        # An error may quote what was typed: brackets in it are text, not markup.
        screen.notify(inert(error), title="Not done", severity="error", timeout=8, markup=False)
        return None
    if done:
        screen.notify(done, timeout=4)
    return result


def local(app: Any, iso: str | None, fmt: str = "%m-%d %H:%M") -> str:
    """An ISO time from the services, in the call centre's timezone."""
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(app.config.timezone)).strftime(fmt)
