"""Public holidays and adjusted working days from the `holidays` package, cached on disk.

Importing `holidays` costs about a tenth of a second, more than a whole
`redress show` may spend; the dates it yields for a country and a span of
years never change for an installed version, so they are kept in a small
JSON file in the user's cache folder, keyed by the package's install time.
"""

from __future__ import annotations

import json
import os
from datetime import date
from importlib.util import find_spec
from pathlib import Path

from workflow.adapters.cache import cache_folder, keep


def _cache_file(country: str, years: range) -> Path | None:
    spec = find_spec("holidays")
    if spec is None or spec.origin is None:
        return None
    stamp = int(os.stat(spec.origin).st_mtime)
    return cache_folder() / f"holidays-{country}-{years.start}-{years.stop}-{stamp}.json"


def public_days(country: str, years: range) -> tuple[dict[date, str], set[date]]:
    """(public holidays with their names, weekend days worked instead) for `country` in `years`."""
    path = _cache_file(country, years)
    if path is not None:
        try:
            cached = json.loads(path.read_text(encoding="utf-8"))
            return ({date.fromisoformat(d): name for d, name in cached["named"].items()},
                    {date.fromisoformat(d) for d in cached["worked"]})
        except (OSError, ValueError, KeyError, AttributeError):
            pass
    import holidays

    calendar = holidays.country_holidays(country, years=list(years))
    closed = {day: str(name) for day, name in sorted(calendar.items())}
    worked = {d for d in getattr(calendar, "weekend_workdays", set()) if d.year in years}
    if path is not None:
        keep(path, json.dumps({"named": {str(d): n for d, n in closed.items()}, "worked": sorted(map(str, worked))},
                              ensure_ascii=False))
    return closed, worked


def is_known_country(country: str) -> bool:
    """Whether `holidays` supports `country`; a cached calendar for it already proves it, without the import."""
    probe = _cache_file(country, range(0, 0))
    if probe is not None and probe.parent.is_dir():
        stamp = probe.name.rsplit("-", 1)[1]
        if any(probe.parent.glob(f"holidays-{country}-*-{stamp}")):
            return True
    import holidays

    return country in holidays.list_supported_countries()
