"""What intake shows the agent while the customer is on the line: the customer's other open complaints and the
earlier ones about the same order, so a duplicate is spotted before it is filed twice.

One rule for every face: open is not closed or cancelled; the same order is the same order reference from the
same customer, in any state.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Row, select

from workflow.adapters.models import COMPLAINTS
from workflow.adapters.records import load_complaint
from workflow.bootstrap import Redress

_COLUMNS = (COMPLAINTS.c.number, COMPLAINTS.c.state, COMPLAINTS.c.summary, COMPLAINTS.c.order_ref)


@dataclass(frozen=True)
class Earlier:
    """Another complaint of the customer, as intake names it."""

    number: str
    state: str
    summary: str
    order_ref: str | None


@dataclass(frozen=True)
class Related:
    """The customer's other open complaints, and their complaints about the same order (open or closed)."""

    open: tuple[Earlier, ...] = ()
    same_order: tuple[Earlier, ...] = ()


def related_complaints(
    app: Redress, customer_id: int, order_ref: str | None, *, excluding: int | None = None, limit: int = 10,
) -> Related:
    """The customer's open complaints and those about `order_ref`, newest first, leaving out complaint `excluding`."""
    mine = select(*_COLUMNS).where(COMPLAINTS.c.customer_id == customer_id)
    if excluding is not None:
        mine = mine.where(COMPLAINTS.c.id != excluding)
    newest_first = (COMPLAINTS.c.created_at.desc(), COMPLAINTS.c.id.desc())
    with app.uow(write=False) as uow:
        session = uow.session
        still_open = session.execute(mine.where(COMPLAINTS.c.is_open.is_(True)).order_by(*newest_first)
                                     .limit(limit)).all()
        same_order = session.execute(mine.where(COMPLAINTS.c.order_ref == order_ref).order_by(*newest_first)
                                     .limit(limit)).all() if order_ref else []
    return Related(tuple(map(_earlier, still_open)), tuple(map(_earlier, same_order)))


def related_to(app: Redress, ref: str | int) -> Related:
    """What intake names beside complaint `ref` (just filed): the same customer's others, by the same rule."""
    with app.uow(write=False) as uow:
        complaint = load_complaint(uow.session, ref)
    return related_complaints(app, complaint.customer_id, complaint.order_ref, excluding=complaint.id)


def _earlier(row: Row) -> Earlier:
    return Earlier(row.number, row.state, row.summary, row.order_ref)
