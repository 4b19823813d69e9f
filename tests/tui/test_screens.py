"""The terminal app's screens share one typed base and one stylesheet."""

from __future__ import annotations

import inspect
from pathlib import Path

from textual.screen import Screen

import workflow.faces.tui as tui_package
from workflow.faces.tui import app, complaint, forms, intake, queue, supervisor
from workflow.faces.tui.screen import RedressModal, RedressScreen

TUI = Path(tui_package.__file__).parent


def _screens() -> list[type[Screen]]:
    found = {obj for module in (app, complaint, forms, intake, queue, supervisor)
             for _, obj in inspect.getmembers(module, inspect.isclass)
             if issubclass(obj, Screen) and obj.__module__.startswith("workflow.faces.tui")
             and obj not in (RedressScreen, RedressModal)}
    return sorted(found, key=lambda cls: cls.__name__)


def test_every_screen_reaches_the_app_through_the_typed_base_and_styles_nothing_itself():
    screens = _screens()
    assert {cls.__name__ for cls in screens} >= {"ComplaintScreen", "FormScreen", "HelpScreen", "NewComplaintScreen",
                                                 "PolicyScreen", "QueueScreen", "SupervisorScreen"}
    for cls in screens:
        assert issubclass(cls, (RedressScreen, RedressModal)), cls.__name__
        assert "DEFAULT_CSS" not in vars(cls), f"{cls.__name__} styles itself; its rules belong in redress.tcss"


def test_the_stylesheet_is_the_apps_and_styles_every_screen():
    sheet = TUI / app.RedressTUI.CSS_PATH
    rules = sheet.read_text(encoding="utf-8")
    for cls in _screens():
        if cls.__name__ != "QueueScreen":  # the queue keeps Textual's own look
            assert f"{cls.__name__} " in rules, cls.__name__


def test_no_screen_silences_the_type_checker():
    for path in sorted(TUI.glob("*.py")):
        assert "type: ignore" not in path.read_text(encoding="utf-8"), path.name
