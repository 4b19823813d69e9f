"""What intake says about the customer's other complaints, in the same words at the command line and in the app."""

from __future__ import annotations

from workflow.faces.text import shorten
from workflow.read.intake import Earlier, Related


def related_lines(related: Related) -> list[str]:
    """'also open for this customer: C-... (in_progress) 快递十天没到…' and 'same order SO-1: C-... (closed)'."""
    lines = []
    if related.open:
        lines.append(f"also open for this customer: {_listed(related.open, with_summary=True)}")
    if related.same_order:
        lines.append(f"same order {related.same_order[0].order_ref}: {_listed(related.same_order, with_summary=False)}")
    return lines


def _listed(earlier: tuple[Earlier, ...], *, with_summary: bool, most: int = 3) -> str:
    """The first `most` of them named, each summary cut short."""
    named = [f"{e.number} ({e.state})" + (f" {shorten(e.summary, 24)}" if with_summary else "") for e in earlier[:most]]
    more = f"; and {len(earlier) - most} more" if len(earlier) > most else ""
    return "; ".join(named) + more
