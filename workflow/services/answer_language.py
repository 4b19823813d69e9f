"""Which language a policy answer is given in: the one asked for, else the customer's own.

Apart from workflow.services.kb because finding a customer needs the people
service, which the bootstrap (and so the manual's loading) must not depend on.
"""

from __future__ import annotations

from sqlalchemy import select

from workflow.adapters.models import CUSTOMERS
from workflow.adapters.records import load_complaint
from workflow.bootstrap import Redress
from workflow.domain.errors import InvalidInput
from workflow.domain.vocabulary import checked_language
from workflow.services.people import find_customer


def answer_language(
    app: Redress, *, language: str | None = None, customer: str | None = None, complaint: str | None = None
) -> str | None:
    """`language` when given, else the language of `customer` (id, phone or email) or of `complaint`'s customer.

    None when nothing names one: the manual's text then comes in the configured default language.
    """
    if customer is not None and complaint is not None:
        raise InvalidInput("give --customer or --complaint, not both")
    if checked_language(language) is not None or (customer is None and complaint is None):
        return language
    with app.uow(write=False) as uow:
        if customer is not None:
            return str(find_customer(uow.session, customer).language)
        customer_id = load_complaint(uow.session, str(complaint)).customer_id
        return str(uow.session.execute(select(CUSTOMERS.c.language).where(CUSTOMERS.c.id == customer_id))
                   .scalar_one())
