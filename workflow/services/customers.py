"""Keeping a customer profile right (an email for a phone-only customer, a new tier or language), and finding one.

Edits are checked like intake (workflow/services/people.py) and audited field by field.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, or_, select, update

from workflow.adapters.models import COMPLAINTS, CUSTOMERS
from workflow.adapters.records import column_limit, optional_text
from workflow.bootstrap import Redress
from workflow.domain.errors import InvalidInput, checked_limit
from workflow.domain.permissions import require
from workflow.domain.vocabulary import checked_language
from workflow.services.audit import changes_of, differences, record_change
from workflow.services.people import acting_user, find_customer, normalize_email, normalize_phone

_PROFILE = ("id", "name", "phone", "email", "tier", "language")


def edit_customer(
    app: Redress, actor: str | None, ref: str, *, name: str | None = None, phone: str | None = None,
    email: str | None = None, tier: str | None = None, language: str | None = None,
) -> dict[str, Any]:
    """Change a customer's profile (any agent); a phone or email another customer has is refused."""
    after: dict[str, Any] = {}
    if name is not None:
        after["name"] = optional_text(name, "name", column_limit(CUSTOMERS.c.name))
        if not after["name"]:
            raise InvalidInput("name cannot be blank")
    if phone is not None:
        after["phone"] = normalize_phone(phone)
    if email is not None:
        after["email"] = normalize_email(email)
    if tier is not None and tier not in app.config.tier_names:
        raise InvalidInput(f"tier '{tier}' is not allowed; tiers: {', '.join(app.config.tier_names)}")
    checked_language(language)
    after.update({k: v for k, v in (("tier", tier), ("language", language)) if v is not None})
    if not after:
        raise InvalidInput("nothing to change: give --name, --phone, --email, --tier or --language")
    with app.uow() as uow:
        session = uow.session
        user = acting_user(session, actor)
        require(user, "edit_customer")
        customer = find_customer(session, ref)
        for contact in ("phone", "email"):
            if contact in after:
                holder = session.execute(select(CUSTOMERS.c.id, CUSTOMERS.c.name).where(
                    CUSTOMERS.c[contact] == after[contact], CUSTOMERS.c.id != customer.id)).first()
                if holder is not None:
                    raise InvalidInput(f"{contact} {after[contact]} belongs to customer #{holder.id} ({holder.name}); "
                                       "one phone or email names one customer")
        changes = differences(dict(customer._mapping), after)
        if not changes:
            raise InvalidInput(f"nothing to change: customer #{customer.id} already has those values")
        session.execute(update(CUSTOMERS).where(CUSTOMERS.c.id == customer.id).values(**after))
        record_change(session, app.clock.now(), user.name, "customer", customer.id, "edit", changes)
        uow.commit()
        return {**{k: customer._mapping[k] for k in _PROFILE}, **after, "changes": changes}


def customer_changes(app: Redress, ref: str) -> list[dict[str, Any]]:
    """Who changed a customer's profile, what from what to what, and when; oldest first."""
    with app.uow(write=False) as uow:
        return changes_of(uow.session, "customer", find_customer(uow.session, ref).id)


_OPEN_COUNTS = (select(COMPLAINTS.c.customer_id, func.count().label("open_complaints"))
                .where(COMPLAINTS.c.is_open.is_(True)).group_by(COMPLAINTS.c.customer_id).subquery())


def find_customers(app: Redress, text: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """Customers whose name contains `text` (any script, any case), or whose phone or email starts with it."""
    checked_limit(limit, 500)
    text = text.strip()
    if not text:
        raise InvalidInput("give part of a name, a phone or an email to search for")
    matches = [func.lower(CUSTOMERS.c.name).contains(text.lower(), autoescape=True),
               CUSTOMERS.c.email.startswith(text.lower(), autoescape=True)]
    digits = re.sub(r"\D", "", text)
    if digits and re.fullmatch(r"[+\d\s().-]+", text):
        matches.append(CUSTOMERS.c.phone.startswith(("+" if text.startswith("+") else "") + digits, autoescape=True))
    query = (select(*(CUSTOMERS.c[k] for k in _PROFILE),
                    func.coalesce(_OPEN_COUNTS.c.open_complaints, 0).label("open_complaints"))
             .outerjoin(_OPEN_COUNTS, _OPEN_COUNTS.c.customer_id == CUSTOMERS.c.id)
             .where(or_(*matches)).order_by(CUSTOMERS.c.name, CUSTOMERS.c.id).limit(limit))
    with app.uow(write=False) as uow:
        return [dict(row._mapping) for row in uow.session.execute(query)]
