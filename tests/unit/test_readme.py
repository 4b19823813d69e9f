"""The README shows the machine as it is: its diagram is the generated one."""

from __future__ import annotations

from pathlib import Path

from states.diagram import mermaid

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_diagram_is_the_generated_one():
    assert f"```mermaid\n{mermaid()}```" in README.read_text(encoding="utf-8")
