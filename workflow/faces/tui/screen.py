"""The screens' base: the app they run in, typed, so a screen reaches its seat without a cast of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from textual.screen import ModalScreen, Screen

if TYPE_CHECKING:
    from workflow.faces.tui.app import RedressTUI

ResultType = TypeVar("ResultType")


def takes_typing(screen: Screen[Any]) -> bool:
    """Whether `screen` is a form: its letters are typed into fields, not keys of the app."""
    return bool(getattr(screen, "TAKES_TYPING", False))


class RedressScreen(Screen[ResultType]):
    """A full screen of the terminal app."""

    TAKES_TYPING: ClassVar[bool] = False

    @property
    def redress_app(self) -> RedressTUI:
        """The running RedressTUI: its `seat`, the seat's `about`, acting `user` and `role`, and navigation."""
        return cast("RedressTUI", self.app)


class RedressModal(ModalScreen[ResultType]):
    """A dialog over a screen of the terminal app (a form, the policy manual, the help)."""

    TAKES_TYPING: ClassVar[bool] = False

    @property
    def redress_app(self) -> RedressTUI:
        """The running RedressTUI, as for RedressScreen."""
        return cast("RedressTUI", self.app)
