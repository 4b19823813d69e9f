"""Staff and customers: who acts, what their role allows, and one customer profile for everyone."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session, func, select

from workflow.bootstrap import Redress
from workflow.config import LANGUAGES
from workflow.errors import InvalidInput, NotFound, PermissionDenied
from workflow.models import ROLES, Customer, User

_NAME = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def role_rank(role: str) -> int:
    return ROLES.index(role)


def require_role(user: User, minimum: str, action: str) -> None:
    """Refuse `action` unless the user's role is `minimum` or higher."""
    if role_rank(user.role) < role_rank(minimum):
        raise PermissionDenied(
            f"{user.name} is {_article(user.role)} {user.role}; {action} needs {minimum} or above"
        )


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def acting_user(session: Session, name: str | None) -> User:
    """The user a command acts as; every action is attributed to a known user."""
    if not name:
        raise InvalidInput("no acting user: pass --as NAME or set REDRESS_USER")
    user = session.exec(select(User).where(User.name == name)).first()
    if user is None:
        raise NotFound(f"no user '{name}'; add one with `redress user add {name} --role agent`")
    return user


def find_user(session: Session, name: str) -> User:
    user = session.exec(select(User).where(User.name == name)).first()
    if user is None:
        raise NotFound(f"no user '{name}'")
    return user


@dataclass(frozen=True)
class UserRecord:
    name: str
    display_name: str
    role: str


def add_user(app: Redress, actor: str | None, name: str, role: str, display_name: str | None = None) -> UserRecord:
    """Add a member of staff. The very first user must be a manager; after that, managers add users."""
    if role not in ROLES:
        raise InvalidInput(f"role '{role}' is not allowed; roles: {', '.join(ROLES)}")
    if not _NAME.match(name):
        raise InvalidInput(
            f"user name '{name}' is not allowed; use 2-64 lowercase letters, digits, '.', '_' or '-', starting with a letter"
        )
    with app.uow() as uow:
        session = uow.session
        if session.exec(select(func.count()).select_from(User)).one() == 0:
            if role != "manager":
                raise InvalidInput("the first user must be a manager, who then adds the others")
        else:
            require_role(acting_user(session, actor), "manager", "adding users")
        if session.exec(select(User).where(User.name == name)).first() is not None:
            raise InvalidInput(f"user '{name}' already exists")
        user = User(name=name, display_name=display_name or name, role=role, created_at=app.clock.now())
        session.add(user)
        uow.commit()
        return UserRecord(user.name, user.display_name, user.role)


def list_users(app: Redress) -> list[UserRecord]:
    with app.uow(write=False) as uow:
        users = uow.session.exec(select(User).order_by(User.name)).all()
        return [UserRecord(u.name, u.display_name, u.role) for u in users]


def normalize_phone(phone: str) -> str:
    """Digits only, keeping a leading '+': '138-0013 8000' and '13800138000' are one customer."""
    stripped = phone.strip()
    digits = re.sub(r"\D", "", stripped)
    if len(digits) < 5 or len(digits) > 20:
        raise InvalidInput(f"phone '{phone}' is not a phone number; give 5-20 digits")
    return ("+" if stripped.startswith("+") else "") + digits


def normalize_email(email: str) -> str:
    value = email.strip().lower()
    if not _EMAIL.match(value):
        raise InvalidInput(f"email '{email}' is not an email address")
    return value


def find_or_create_customer(
    app: Redress,
    session: Session,
    *,
    phone: str | None,
    email: str | None,
    name: str | None,
    tier: str | None,
    language: str | None,
) -> tuple[Customer, bool]:
    """The customer with this phone or email, else a new one; blanks in a found profile are filled in."""
    if not phone and not email:
        raise InvalidInput("a customer needs --phone or --email so they can be found next time")
    if tier is not None and tier not in app.config.tier_names:
        raise InvalidInput(f"tier '{tier}' is not allowed; tiers: {', '.join(app.config.tier_names)}")
    if language is not None and language not in LANGUAGES:
        raise InvalidInput(f"language '{language}' is not allowed; languages: {', '.join(LANGUAGES)}")
    phone = normalize_phone(phone) if phone else None
    email = normalize_email(email) if email else None
    customer = None
    if phone:
        customer = session.exec(select(Customer).where(Customer.phone == phone)).first()
    if customer is None and email:
        customer = session.exec(select(Customer).where(Customer.email == email)).first()
    if customer is not None:
        if phone and customer.phone is None:
            customer.phone = phone
        if email and customer.email is None:
            customer.email = email
        session.add(customer)
        return customer, False
    if not name:
        raise InvalidInput("new customer: --name is required the first time a customer calls")
    customer = Customer(
        name=name.strip(),
        phone=phone,
        email=email,
        tier=tier or app.config.tier_names[0],
        language=language or app.config.default_language,
        created_at=app.clock.now(),
    )
    session.add(customer)
    session.flush()
    return customer, True


def find_customer(session: Session, ref: str) -> Customer:
    """A customer by id, phone or email."""
    ref = ref.strip()
    customer = None
    if "@" in ref:
        customer = session.exec(select(Customer).where(Customer.email == normalize_email(ref))).first()
    else:
        if len(re.sub(r"\D", "", ref)) >= 5:
            customer = session.exec(select(Customer).where(Customer.phone == normalize_phone(ref))).first()
        if customer is None and ref.isdigit() and len(ref) <= 9:
            customer = session.get(Customer, int(ref))
    if customer is None:
        raise NotFound(f"no customer '{ref}' (give a customer id, phone or email)")
    return customer
