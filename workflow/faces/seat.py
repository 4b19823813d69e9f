"""A seat: where a command or the terminal app sends what the user asks, and as whom.

A direct seat calls the use cases in this process on the database, as the operating-system account's member of
staff (or, where the config trusts claims, the one `--as` names). A seat signed in to a server sends each call
there and acts as the token's user (workflow/faces/remote.py). Both go through the same operations table, so
the same checks run and the same answers come back.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from workflow.faces.operations import BY_NAME, perform

if TYPE_CHECKING:
    from workflow.bootstrap import Redress
    from workflow.services.signin import Principal


class Seat(Protocol):
    def call(self, operation: str, /, *args: Any, **kwargs: Any) -> Any: ...

    @property
    def user(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def timezone(self) -> str: ...

    def now(self) -> datetime: ...

    def about(self) -> Mapping[str, Any]: ...


def first_rows(seat: Seat, operation: str, limit: int, **kwargs: Any) -> tuple[list[Any], bool]:
    """The first `limit` rows a listing gives, and whether it has more (one row more is asked for to tell)."""
    from workflow.domain.errors import MOST_ROWS, checked_limit

    checked_limit(limit)  # as given, before asking for one more
    rows = seat.call(operation, **kwargs, limit=min(limit + 1, MOST_ROWS))
    return rows[:limit], len(rows) > limit


@cache
def caller_signature(name: str) -> inspect.Signature:
    """The operation's use case as a caller sees it: without the app, and without who acts."""
    operation = BY_NAME[name]
    parameters = list(inspect.signature(operation.function()).parameters.values())[1:]
    if operation.actor in ("position", "principal"):
        parameters = parameters[1:]
    return inspect.Signature([p for p in parameters if p.name != operation.actor])


def arguments_of(name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The call's arguments by name, as the operation's use case would bind them (a TypeError if they do not)."""
    return dict(caller_signature(name).bind(*args, **kwargs).arguments)


class DirectSeat:
    """Calls the use cases in this process; who acts comes from `local_principal`, checked once per seat."""

    def __init__(self, app: Redress, claimed: str | None) -> None:
        self.app = app
        self._claimed = claimed
        self._principal: Principal | None = None

    @property
    def principal(self) -> Principal:
        if self._principal is None:
            from workflow.services.signin import local_principal

            self._principal = local_principal(self.app, self._claimed)
        return self._principal

    @property
    def user(self) -> str:
        return self.principal.name

    @property
    def role(self) -> str:
        return self.principal.role

    def call(self, operation: str, /, *args: Any, **kwargs: Any) -> Any:
        return perform(self.app, self.principal, BY_NAME[operation], arguments_of(operation, args, kwargs))

    @property
    def timezone(self) -> str:
        return self.app.config.timezone

    def now(self) -> datetime:
        return self.app.clock.now()

    def about(self) -> Mapping[str, Any]:
        from workflow.faces.operations import about

        return about(self.app)
