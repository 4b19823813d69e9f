"""Staff and customers: who acts and their profiles (roles' rights are in domain/permissions.py), one customer profile.

A leaver is deactivated with their work handed over in workflow/services/handover.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, func, insert, select, update
from sqlmodel import Session

from workflow.adapters.models import COMPLAINTS, CUSTOMERS, USERS
from workflow.adapters.prepared import Prepared
from workflow.adapters.records import (
    SNAPSHOT_COLUMNS,
    ComplaintSnapshot,
    checked_text,
    column_limit,
    complaint_key,
    load_complaint,
    optional_text,
)
from workflow.bootstrap import Redress
from workflow.domain.errors import InvalidInput, NotFound, PermissionDenied
from workflow.domain.permissions import PERMISSIONS, allows, require
from workflow.domain.vocabulary import ROLES, checked_language
from workflow.services.audit import differences, last_change, record_change

_NAME = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


_USER_BY_NAME = select(USERS.c.id, USERS.c.name, USERS.c.role, USERS.c.deactivated_at, USERS.c.is_system).where(
    USERS.c.name == bindparam("name"))
_USER = Prepared(_USER_BY_NAME)
_USER_SHARED = Prepared(_USER_BY_NAME.with_for_update(read=True))  # SQLite ignores it: a writer holds the file
_ACTIVE_MANAGERS = select(func.count()).select_from(USERS).where(
    USERS.c.role == "manager", USERS.c.deactivated_at.is_(None))
_CUSTOMER_BY = {
    column: Prepared(select(CUSTOMERS).where(CUSTOMERS.c[column] == bindparam("value")))
    for column in ("id", "phone", "email")
}
_INSERT_CUSTOMER = Prepared(insert(CUSTOMERS))


def _user_row(session: Session, name: str, *, share_lock: bool = False) -> Row | None:
    # A name `add_user` would refuse names nobody, and may not even be text a driver can send (invalid UTF-8).
    if not _NAME.fullmatch(name):
        return None
    return (_USER_SHARED if share_lock else _USER).first(session, {"name": name})


def deactivation(session: Session, user: Row) -> str:
    """How a deactivated user left, for refusals: 'li.na was deactivated on 2026-11-20 by boss (left the company)'."""
    line = last_change(session, "user", user.id, "deactivate")
    how = f" by {line['actor']} ({line['reason']})" if line else ""
    return f"{user.name} was deactivated on {user.deactivated_at:%Y-%m-%d}{how}"


def acting_user(session: Session, name: str | None) -> Row:
    """The user a command acts as (id, name, role); every action is attributed to a known, active user."""
    if not name:
        raise InvalidInput("no acting user: pass --as NAME or set REDRESS_USER")
    user = _user_row(session, name)
    if user is None:
        raise NotFound(f"no user '{name}'; add one with `redress user add {name} --role agent`")
    if user.deactivated_at is not None:
        raise PermissionDenied(f"{deactivation(session, user)} and can no longer act")
    return user


# Who acts and the complaint they act on, read together: every transition starts with both. The user's
# columns come first and keep their names (the row serves as the user); the complaint's id is renamed.
_USER_WIDTH = len(_USER_BY_NAME.selected_columns)
_ACTOR_AND_COMPLAINT = {
    key: Prepared(select(*_USER_BY_NAME.selected_columns, COMPLAINTS.c.id.label("complaint_id"),
                         *SNAPSHOT_COLUMNS[1:])
    .select_from(USERS.join(COMPLAINTS, COMPLAINTS.c[key] == bindparam("ref")))
    .where(USERS.c.name == bindparam("name")))
    for key in ("number", "id")
}


def acting_user_and_complaint(session: Session, name: str | None, ref: str | int) -> tuple[Row, ComplaintSnapshot]:
    """`acting_user` and then `load_complaint`, in one statement when both are found and the user may act.

    Otherwise the two lookups run one after the other, so the refusal is the same as theirs.
    """
    try:
        key = complaint_key(ref) if name and _NAME.fullmatch(name) else None
    except InvalidInput:
        key = None
    found = None
    if key is not None:
        found = _ACTOR_AND_COMPLAINT[key[0]].first(session, {"name": name, "ref": key[1]})
    if found is None or found.deactivated_at is not None:
        return acting_user(session, name), load_complaint(session, ref)
    return found, ComplaintSnapshot(*found[_USER_WIDTH:])


def find_user(session: Session, name: str) -> Row:
    """A user who can be given work: a deactivated one cannot.

    The row is share-locked (PostgreSQL) so a deactivation at the same moment waits for this work to be
    given, then hands it over too; or this waits for the deactivation, then refuses.
    """
    user = known_user(session, name, share_lock=True)
    if user.deactivated_at is not None:
        raise InvalidInput(f"{deactivation(session, user)}; give the work to an active user")
    if user.is_system:
        raise InvalidInput(f"{name} is a system with an API key; give the work to a person")
    return user


def known_user(session: Session, name: str, *, share_lock: bool = False) -> Row:
    """Any user by name, active or deactivated."""
    user = _user_row(session, name, share_lock=share_lock)
    if user is None:
        raise NotFound(f"no user '{name}'")
    return user


def system_user(app: Redress, session: Session, name: str, display_name: str) -> Row:
    """The system that acts for mail, survey links and gateways (`mail.actor`), made the first time it acts.

    A system is a user so every event and record names who did it; it never signs in and is never given work.
    """
    user = _user_row(session, name)
    if user is None:
        now = app.clock.now()
        session.execute(insert(USERS).values(name=name, display_name=display_name, role="agent",
                                             created_at=now, is_system=True))
        user = known_user(session, name)
        record_change(session, now, "redress", "user", user.id, "add", {"role": [None, "agent"],
                                                                       "is_system": [None, True]})
        return user
    if not user.is_system:
        raise InvalidInput(f"'{name}' is a member of staff, not a system; name another system user in config.yaml")
    if user.deactivated_at is not None:
        raise PermissionDenied(f"{deactivation(session, user)} and can no longer act")
    return user


@dataclass(frozen=True)
class UserRecord:
    name: str
    display_name: str
    role: str
    email: str | None = None
    active: bool = True


def add_user(
    app: Redress, actor: str | None, name: str, role: str, display_name: str | None = None,
    email: str | None = None, os_user: str | None = None, *, system: bool = False,
) -> UserRecord:
    """Add a member of staff. The very first user must be a manager; after that, managers add users (audited).

    `os_user` maps an operating-system account to them, for a direct database seat; a `system` is an
    integration with an API key (see workflow/services/signin.py), never given work.
    """
    _check_role(role)
    os_user = _os_account(os_user)
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            f"user name '{name}' is not allowed; use 2-64 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter"
        )
    display_name = _display_name(display_name)
    email = normalize_email(email) if email else None
    with app.uow() as uow:
        session = uow.session
        if session.execute(select(func.count()).select_from(USERS)).scalar_one() == 0:
            if not allows(role, "add_user"):  # somebody has to be able to add the others
                raise InvalidInput(f"the first user must be a {PERMISSIONS['add_user'].least_role}, "
                                   "who then adds the others")
        else:
            require(acting_user(session, actor), "add_user")
        if _user_row(session, name) is not None:
            raise InvalidInput(f"user '{name}' already exists")
        _refuse_taken_os_account(session, os_user)
        record = UserRecord(name, display_name or name, role, email)
        session.execute(insert(USERS).values(
            name=name, display_name=record.display_name, role=role, email=email, created_at=app.clock.now(),
            os_user=os_user, is_system=system))
        added = known_user(session, name)
        record_change(session, app.clock.now(), actor or name, "user", added.id, "add",
                      {"role": [None, role], **({"os_user": [None, os_user]} if os_user else {})})
        uow.commit()
        return record


_OS_ACCOUNT = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]{0,63}$")


def _os_account(value: str | None) -> str | None:
    if value is None:
        return None
    if not _OS_ACCOUNT.fullmatch(value):
        raise InvalidInput(f"operating-system account '{value}' is not allowed; give a login name such as lina")
    return value


def _refuse_taken_os_account(session: Session, os_user: str | None, user_id: int | None = None) -> None:
    if os_user is None:
        return
    holder = session.execute(select(USERS.c.id, USERS.c.name).where(USERS.c.os_user == os_user)).first()
    if holder is not None and holder.id != user_id:
        raise InvalidInput(f"the operating-system account '{os_user}' already acts as {holder.name}")


def has_staff(app: Redress) -> bool:
    """Whether any member of staff exists yet (the first one is added with nobody to act as)."""
    with app.uow(write=False) as uow:
        return bool(uow.session.execute(select(func.count()).select_from(USERS)).scalar_one())


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidInput(f"role '{role}' is not allowed; roles: {', '.join(ROLES)}")


def _display_name(value: str | None) -> str | None:
    return optional_text(value, "display name", column_limit(USERS.c.display_name)) or None


_USER_RECORD = select(USERS.c.name, USERS.c.display_name, USERS.c.role, USERS.c.email,
                      USERS.c.deactivated_at.is_(None).label("active"))


def list_users(app: Redress, *, include_inactive: bool = False) -> list[UserRecord]:
    """Staff by name: the active ones, or with `include_inactive` the leavers too."""
    query = _USER_RECORD.order_by(USERS.c.name)
    if not include_inactive:
        query = query.where(USERS.c.deactivated_at.is_(None))
    with app.uow(write=False) as uow:
        return [UserRecord(*row) for row in uow.session.execute(query)]


def change_role(app: Redress, actor: str | None, name: str, role: str, reason: str | None = None) -> UserRecord:
    """Give a member of staff another role (managers only); the last active manager is never demoted."""
    _check_role(role)
    reason = optional_text(reason, "reason", app.config.limits.reason)
    with app.uow() as uow:
        session = uow.session
        manager = acting_user(session, actor)
        require(manager, "change_role")
        user = _changeable(session, name)
        if user.role == role:
            raise InvalidInput(f"{name} is already a {role}")
        if user.role == "manager" and session.execute(_ACTIVE_MANAGERS).scalar_one() == 1:
            raise InvalidInput(f"{name} is the last manager; make another user a manager first")
        _change_user(app, session, manager, user, "role", {"role": role}, reason)
        uow.commit()
        return _user_record(session, name)


def edit_user(app: Redress, actor: str | None, name: str, *, email: str | None = None,
              display_name: str | None = None, os_user: str | None = None) -> UserRecord:
    """Set a member of staff's email (where their alerts go), display name, or operating-system account
    (managers only)."""
    after: dict[str, Any] = {}
    if os_user is not None:
        after["os_user"] = _os_account(os_user)
    if email is not None:
        after["email"] = normalize_email(email)
    if display_name is not None:
        after["display_name"] = _display_name(display_name) or name
    if not after:
        raise InvalidInput("nothing to change: give --email, --display-name or --os-user")
    with app.uow() as uow:
        session = uow.session
        manager = acting_user(session, actor)
        require(manager, "edit_user")
        user = _changeable(session, name)
        _refuse_taken_os_account(session, after.get("os_user"), user.id)
        _change_user(app, session, manager, user, "edit", after)
        uow.commit()
        return _user_record(session, name)


def _changeable(session: Session, name: str) -> Row:
    """The full row of a user whose profile may change: any user but a deactivated one."""
    user = known_user(session, name)
    if user.deactivated_at is not None:
        raise InvalidInput(f"{deactivation(session, user)}; reactivate them first")
    return session.execute(select(USERS).where(USERS.c.id == user.id)).one()


def _change_user(app: Redress, session: Session, manager: Row, user: Row, action: str, after: dict[str, Any],
                 reason: str = "") -> None:
    changes = differences(dict(user._mapping), after)
    if not changes:
        raise InvalidInput(f"nothing to change: {user.name} already has those values")
    session.execute(update(USERS).where(USERS.c.id == user.id).values(**after))
    record_change(session, app.clock.now(), manager.name, "user", user.id, action, changes, reason)


def _user_record(session: Session, name: str) -> UserRecord:
    return UserRecord(*session.execute(_USER_RECORD.where(USERS.c.name == name)).one())


def normalize_phone(phone: str) -> str:
    """Digits only, keeping a leading '+': '138-0013 8000' and '13800138000' are one customer."""
    stripped = checked_text(phone.strip(), "phone", column_limit(CUSTOMERS.c.phone))
    digits = re.sub(r"\D", "", stripped)
    if len(digits) < 5 or len(digits) > 20:
        raise InvalidInput(f"phone '{phone}' is not a phone number; give 5-20 digits")
    return ("+" if stripped.startswith("+") else "") + digits


def normalize_email(email: str) -> str:
    value = checked_text(email.strip().lower(), "email", column_limit(CUSTOMERS.c.email))
    if not _EMAIL.fullmatch(value):
        raise InvalidInput(f"email '{email}' is not an email address")
    return value


@dataclass(frozen=True)
class CustomerRecord:
    """The customer facts a complaint needs."""

    id: int
    name: str
    tier: str
    language: str
    created: bool
    phone: str | None = None
    email: str | None = None
    email_bounced_at: datetime | None = None  # mail to the address bounced: reach them another way


def _customer_by(session: Session, column: str, value: str | int) -> Row | None:
    return _CUSTOMER_BY[column].first(session, {"value": value})


def find_or_create_customer(
    app: Redress,
    session: Session,
    *,
    phone: str | None,
    email: str | None,
    name: str | None,
    tier: str | None,
    language: str | None,
) -> CustomerRecord:
    """The customer with this phone or email, else a new one; blanks in a found profile are filled in."""
    if not phone and not email:
        raise InvalidInput("a customer needs --phone or --email so they can be found next time")
    if tier is not None and tier not in app.config.tier_names:
        raise InvalidInput(f"tier '{tier}' is not allowed; tiers: {', '.join(app.config.tier_names)}")
    checked_language(language)
    phone = normalize_phone(phone) if phone else None
    email = normalize_email(email) if email else None
    found = _customer_by(session, "phone", phone) if phone else None
    if found is None and email:
        found = _customer_by(session, "email", email)
    if found is not None:
        blanks = {k: v for k, v in (("phone", phone), ("email", email)) if v and getattr(found, k) is None}
        if blanks:
            session.execute(update(CUSTOMERS).where(CUSTOMERS.c.id == found.id).values(**blanks))
        return CustomerRecord(found.id, found.name, found.tier, found.language, created=False,
                              phone=found.phone or phone, email=found.email or email,
                              email_bounced_at=found.email_bounced_at)
    if not name or not name.strip():
        raise InvalidInput("new customer: --name is required the first time a customer calls")
    values: dict[str, Any] = {
        "name": name.strip(),
        "phone": phone,
        "email": email,
        "tier": tier or app.config.tier_names[0],
        "language": language or app.config.default_language,
        "created_at": app.clock.now(),
    }
    new_id = _INSERT_CUSTOMER.insert(session, values)
    return CustomerRecord(new_id, values["name"], values["tier"], values["language"], created=True,
                          phone=phone, email=email)


def lookup_customer(session: Session, phone: str | None, email: str | None) -> Row | None:
    """The customer with this phone (else email), or None: for an intake form while the customer talks."""
    found = _customer_by(session, "phone", normalize_phone(phone)) if phone and phone.strip() else None
    if found is None and email and email.strip():
        found = _customer_by(session, "email", normalize_email(email))
    return found


def find_customer(session: Session, ref: str) -> Row:
    """A customer by id, phone or email."""
    ref = ref.strip()
    customer = None
    if "@" in ref:
        customer = _customer_by(session, "email", normalize_email(ref))
    else:
        if len(re.sub(r"\D", "", ref)) >= 5:
            customer = _customer_by(session, "phone", normalize_phone(ref))
        if customer is None and ref.isdigit() and len(ref) <= 9:
            customer = _customer_by(session, "id", int(ref))
    if customer is None:
        raise NotFound(f"no customer '{ref}' (give a customer id, phone or email)")
    return customer
