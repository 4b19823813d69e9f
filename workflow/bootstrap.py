"""The one place that wires configuration, clock and database together."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflow.adapters.db import UnitOfWork, check_schema, database_url, make_engine
from workflow.config import Config, config_path, load_config
from workflow.domain.clock import Clock

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from notifications.rendering import Renderer
    from workflow.domain.business_index import BusinessIndex
    from workflow.domain.sla import BusinessCalendar
    from workflow.services.kb import PolicyManual


_INDEX_SPAN = timedelta(days=150)  # a business index's span: clocks set today end within it
_INDEX_KEPT = timedelta(days=30)  # how far the clock moves on before the index is built again


@dataclass
class Redress:
    """Everything a use case needs: the validated config, the clock and the database."""

    config: Config
    clock: Clock
    url: str
    engine: Engine
    schema_checked: bool = False
    # The years calendars hold holidays for; None: the years around the clock's now (a what-if of an older
    # period asks for its own).
    calendar_years: range | None = None
    _manual: PolicyManual | None = field(default=None, repr=False)
    _calendars: dict[str, BusinessCalendar] = field(default_factory=dict, repr=False)
    _renderer: Renderer | None = field(default=None, repr=False)
    _indexes: dict[str, BusinessIndex] = field(default_factory=dict, repr=False)

    def uow(self, *, write: bool = True) -> UnitOfWork:
        """A unit of work; the first one checks the schema is at this code's revision."""
        self.check()
        return UnitOfWork(self.engine, self.url, write=write)

    def check(self) -> None:
        """DatabaseUnavailable unless the database can be used and is at this code's schema (checked once)."""
        if not self.schema_checked:
            check_schema(self.engine, self.url)
            self.schema_checked = True

    def forget_database(self) -> None:
        """Drop every pooled connection and check the schema again on next use (the file may have changed)."""
        self.engine.dispose()
        self.schema_checked = False

    def calendar(self, name: str) -> BusinessCalendar:
        """The named business calendar, built once (holidays for the years around the clock's now)."""
        if name not in self._calendars:
            from workflow.adapters.holiday_cache import public_days
            from workflow.domain.sla import build_calendar

            spec = self.config.calendars[name]
            year = self.clock.now().year
            years = self.calendar_years or range(year - 1, year + 3)
            self._calendars[name] = build_calendar(
                timezone_name=spec.timezone or self.config.timezone,
                always_open=spec.always_open,
                hours=spec.hours,
                holidays_country=spec.holidays_country,
                closed_dates=spec.closed_dates,
                working_days=spec.working_days,
                working_day_hours=spec.working_day_hours,
                years=years,
                public_days=public_days,
            )
        return self._calendars[name]

    def with_calendars(self, **changes: Any) -> Redress:
        """A copy that builds its own calendars and business indexes (for another config or other years), so
        neither its calendars nor the ones cached here are taken for the other's."""
        return dataclasses.replace(self, _calendars={}, _indexes={}, **changes)

    def business_index(self, name: str) -> BusinessIndex:
        """The named calendar's working time indexed from the day before the clock's now to months ahead, so a
        new complaint's clocks are each one bisection instead of a walk through the calendar. Built again when
        the clock has moved a month on (or back), or the calendar was built again; it answers as the calendar."""
        from workflow.domain.business_index import BusinessIndex

        calendar, now = self.calendar(name), self.clock.now()
        index = self._indexes.get(name)
        if index is None or index.calendar is not calendar or not index.start <= now < index.start + _INDEX_KEPT:
            start = now - timedelta(days=1)
            index = self._indexes[name] = BusinessIndex(calendar, start, start + _INDEX_SPAN)
        return index

    @property
    def renderer(self) -> Renderer:
        """The message renderer, built on first use (its templates compile once, then are cached)."""
        if self._renderer is None:
            from notifications.rendering import Renderer

            self._renderer = Renderer(self.config)
        return self._renderer

    @property
    def manual(self) -> PolicyManual:
        if self._manual is None:
            from workflow.services.kb import load_manual

            self._manual = load_manual(self.config)
        return self._manual


def bootstrap(
    config_file: str | None = None,
    db: str | None = None,
    clock: Clock | None = None,
) -> Redress:
    """Build the engine's context from --config/REDRESS_CONFIG, --db/REDRESS_DB and REDRESS_NOW."""
    path: Path = config_path(config_file)
    config = load_config(path)
    chosen = db or os.environ.get("REDRESS_DB")
    # A URL given on the command line is relative to where the user stands;
    # one in config.yaml is relative to the config file.
    url = database_url(chosen, Path.cwd()) if chosen else database_url(config.database.url, config.base_dir)
    return Redress(
        config=config,
        clock=clock or Clock.from_environment(),
        url=url,
        engine=make_engine(url, config.database.lock_wait_seconds),
    )
