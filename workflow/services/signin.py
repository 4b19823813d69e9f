"""Who is acting: staff sign in with a password and act through a token; systems act through an API key.

A session token comes from signing in and expires; a personal token is named, scoped and made for a script; an
API key belongs to a system (a web form, the telephony screen pop), never to a person. Every token is stored
as a hash and can be revoked. Repeated failed sign-ins are slowed, then locked for a while. Sign-ins, failures,
lockouts, revocations and password changes are audit records (never with the secret).

On a direct database seat there is no sign-in: the acting user is the operating-system account mapped to a
member of staff, or, where the config trusts claims (the demo, the tests), the name given with `--as`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Row
from sqlmodel import Session

from workflow.adapters.models import TOKENS, USERS
from workflow.adapters.secrets import hash_password, needs_rehash, new_token, password_matches, token_hash
from workflow.domain.errors import InvalidInput, NotFound, NotSignedIn, PermissionDenied, TooManyAttempts
from workflow.domain.permissions import require, scope_refusal
from workflow.domain.vocabulary import CHANNELS, SCOPES
from workflow.services.audit import record_change
from workflow.services.people import acting_user, deactivation, known_user

if TYPE_CHECKING:
    from workflow.bootstrap import Redress

_WRONG = "wrong user name or password"
_PASSWORD_LENGTHS = (10, 256)
_TOKEN_USE_GRANULARITY = timedelta(minutes=1)  # last use is written at most this often: reads stay reads

_BY_HASH = (
    select(TOKENS.c.id, TOKENS.c.kind, TOKENS.c.scopes, TOKENS.c.expires_at, TOKENS.c.revoked_at,
           TOKENS.c.last_used_at, USERS.c.id.label("user_id"), USERS.c.name, USERS.c.role, USERS.c.deactivated_at)
    .join(USERS, USERS.c.id == TOKENS.c.user_id)
    .where(TOKENS.c.token_hash == bindparam("hash"))
)


@dataclass(frozen=True)
class Principal:
    """Who a request or command acts as, and what its token may do (no scopes: all its role allows)."""

    user_id: int
    name: str
    role: str
    kind: str  # session, personal, api_key, or local (a direct database seat)
    scopes: tuple[str, ...] = ()
    token_id: int | None = None


@dataclass(frozen=True)
class SignedIn:
    token: str  # shown once, to the one who signed in; only its hash is kept
    name: str
    role: str
    expires_at: str


@dataclass(frozen=True)
class TokenRecord:
    """A token as listed: never the token itself."""

    id: int
    user: str
    kind: str
    name: str
    scopes: str
    created_at: str
    expires_at: str | None
    last_used_at: str | None
    revoked_at: str | None


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once
    id: int
    user: str
    name: str
    scopes: str
    expires_at: str | None


# --- signing in and out ----------------------------------------------------------------------------------


def sign_in(app: Redress, name: str, password: str) -> SignedIn:
    """A session token for `name`, or NotSignedIn; after repeated failures, TooManyAttempts."""
    identity = app.config.identity
    now = app.clock.now()
    with app.uow() as uow:
        session = uow.session
        user = _person(session, name)
        if user is not None:
            _refuse_while_slowed_or_locked(user, identity, now)
        # An unknown name costs the same hash as a known one, so the answer's time does not tell who exists.
        if not password_matches(None if user is None else user.password_hash, password) or user is None:
            if user is not None:
                _count_failure(app, session, user, now)
                uow.commit()
            raise NotSignedIn(_WRONG)
        values: dict[str, Any] = {"failed_sign_ins": 0, "last_failed_sign_in_at": None, "locked_until": None}
        if needs_rehash(user.password_hash):
            values["password_hash"] = hash_password(password)
        session.execute(update(USERS).where(USERS.c.id == user.id).values(**values))
        expires = now + timedelta(hours=identity.session_hours)
        token = _issue(session, user.id, "session", "", "", now, expires)
        record_change(session, now, user.name, "user", user.id, "sign_in", {})
        uow.commit()
        return SignedIn(token, user.name, user.role, expires.isoformat())


def _person(session: Session, name: str) -> Row | None:
    """The member of staff who may sign in by this name: active, a person, with a password set."""
    try:
        user = known_user(session, name)
    except NotFound:
        return None
    if user.deactivated_at is not None or user.is_system:
        return None
    return session.execute(select(USERS).where(USERS.c.id == user.id)).one()


def _refuse_while_slowed_or_locked(user: Row, identity: Any, now: datetime) -> None:
    if user.locked_until is not None and user.locked_until > now:
        wait = math.ceil((user.locked_until - now).total_seconds())
        raise TooManyAttempts(f"{user.name} is locked after {user.failed_sign_ins} failed sign-ins until "
                              f"{user.locked_until:%H:%M} UTC; a manager can unlock it by resetting the password",
                              retry_after_seconds=wait)
    if user.failed_sign_ins >= identity.slow_after_failures and user.last_failed_sign_in_at is not None:
        wait_until = user.last_failed_sign_in_at + timedelta(
            seconds=2 ** (user.failed_sign_ins - identity.slow_after_failures))
        if wait_until > now:
            wait = math.ceil((wait_until - now).total_seconds())
            raise TooManyAttempts(f"{user.failed_sign_ins} failed sign-ins for {user.name}; "
                                  f"try again in {wait} s", retry_after_seconds=wait)


def _count_failure(app: Redress, session: Session, user: Row, now: datetime) -> None:
    identity = app.config.identity
    failures = user.failed_sign_ins + 1
    values: dict[str, Any] = {"failed_sign_ins": USERS.c.failed_sign_ins + 1, "last_failed_sign_in_at": now}
    if failures >= identity.lock_after_failures:
        values["locked_until"] = now + timedelta(minutes=identity.lock_minutes)
    session.execute(update(USERS).where(USERS.c.id == user.id).values(**values))
    action = "locked_out" if "locked_until" in values else "sign_in_failed"
    record_change(session, now, user.name, "user", user.id, action, {"failed_sign_ins": [user.failed_sign_ins,
                                                                                        failures]})


def authenticate(app: Redress, token: str | None) -> Principal:
    """The principal a bearer token acts as, or NotSignedIn naming what is wrong with it."""
    if not token:
        raise NotSignedIn("not signed in: send 'Authorization: Bearer <token>' (run `redress login`)")
    now = app.clock.now()
    with app.uow(write=False) as uow:
        row = uow.session.execute(_BY_HASH, {"hash": token_hash(token)}).first()
    if row is None:
        raise NotSignedIn("the token is not one this server issued")
    if row.revoked_at is not None:
        raise NotSignedIn(f"the token was revoked at {row.revoked_at:%Y-%m-%d %H:%M} UTC; sign in again")
    if row.expires_at is not None and row.expires_at <= now:
        raise NotSignedIn(f"the token expired at {row.expires_at:%Y-%m-%d %H:%M} UTC; sign in again")
    if row.deactivated_at is not None:
        raise NotSignedIn(f"{row.name} was deactivated and can no longer act")
    if row.last_used_at is None or now - row.last_used_at >= _TOKEN_USE_GRANULARITY:
        with app.uow() as uow:
            uow.session.execute(update(TOKENS).where(TOKENS.c.id == row.id).values(last_used_at=now))
            uow.commit()
    return Principal(row.user_id, row.name, row.role, row.kind, tuple(row.scopes.split()), row.id)


def sign_out(app: Redress, principal: Principal) -> dict[str, Any]:
    """Revoke the token this request came with."""
    if principal.token_id is None:
        raise InvalidInput("this seat is not signed in to a server; there is nothing to sign out of")
    now = app.clock.now()
    with app.uow() as uow:
        uow.session.execute(update(TOKENS).where(TOKENS.c.id == principal.token_id, TOKENS.c.revoked_at.is_(None))
                            .values(revoked_at=now, revoked_by=principal.name))
        record_change(uow.session, now, principal.name, "user", principal.user_id, "sign_out", {})
        uow.commit()
    return {"signed_out": principal.name}


def revoke_sign_ins(app: Redress, actor: str, name: str, reason: str | None = None) -> dict[str, Any]:
    """End every session and token of `name` at once (a manager's, or one's own)."""
    now = app.clock.now()
    with app.uow() as uow:
        session = uow.session
        me = acting_user(session, actor)
        user = known_user(session, name)
        if user.id != me.id:
            require(me, "revoke_sign_ins")
        count = session.execute(update(TOKENS).where(TOKENS.c.user_id == user.id, TOKENS.c.revoked_at.is_(None),
                                                     TOKENS.c.kind != "api_key")
                                .values(revoked_at=now, revoked_by=me.name)).rowcount  # type: ignore[attr-defined]
        record_change(session, now, me.name, "user", user.id, "revoke", {"tokens": [count, 0]}, reason or "")
        uow.commit()
    return {"user": name, "revoked": count}


# --- passwords ---------------------------------------------------------------------------------------------


def set_password(app: Redress, actor: str, current: str | None, new: str) -> dict[str, Any]:
    """Change one's own password: the current one is asked for when there is one. Other sessions end."""
    now = app.clock.now()
    with app.uow() as uow:
        session = uow.session
        me = acting_user(session, actor)
        row = session.execute(select(USERS).where(USERS.c.id == me.id)).one()
        if row.password_hash is not None and not password_matches(row.password_hash, current or ""):
            raise NotSignedIn("the current password is wrong")
        _store_password(app, session, row, new, me.name, "password_set", now)
        uow.commit()
    return {"user": me.name, "password": "set"}


def reset_password(app: Redress, actor: str, name: str, new: str) -> dict[str, Any]:
    """A manager sets someone's password; it unlocks the account and ends the user's sessions."""
    now = app.clock.now()
    with app.uow() as uow:
        session = uow.session
        manager = acting_user(session, actor)
        require(manager, "reset_password")
        user = known_user(session, name)
        if user.deactivated_at is not None:
            raise InvalidInput(f"{deactivation(session, user)}; reactivate them first")
        row = session.execute(select(USERS).where(USERS.c.id == user.id)).one()
        if row.is_system:
            raise InvalidInput(f"{name} is a system with an API key; systems do not sign in")
        _store_password(app, session, row, new, manager.name, "password_reset", now)
        uow.commit()
    return {"user": name, "password": "reset"}


def _store_password(app: Redress, session: Session, user: Row, new: str, by: str, action: str,
                    now: datetime) -> None:
    shortest, longest = _PASSWORD_LENGTHS
    if not shortest <= len(new) <= longest:
        raise InvalidInput(f"a password needs {shortest} to {longest} characters")
    if new.casefold() == user.name.casefold():
        raise InvalidInput("a password may not be the user name")
    session.execute(update(USERS).where(USERS.c.id == user.id).values(
        password_hash=hash_password(new), failed_sign_ins=0, last_failed_sign_in_at=None, locked_until=None))
    session.execute(update(TOKENS).where(TOKENS.c.user_id == user.id, TOKENS.c.kind == "session",
                                         TOKENS.c.revoked_at.is_(None)).values(revoked_at=now, revoked_by=by))
    record_change(session, now, by, "user", user.id, action, {})


# --- named tokens and API keys -----------------------------------------------------------------------------


def checked_scopes(scopes: str | list[str] | tuple[str, ...] | None) -> str:
    """Scopes as stored (space-separated, sorted), or a one-line refusal naming those allowed."""
    words = scopes.replace(",", " ").split() if isinstance(scopes, str) else list(scopes or [])
    if not words:
        raise InvalidInput(f"give at least one scope; scopes: {', '.join(SCOPES)} (file:CHANNEL files from one "
                           "channel only)")
    for word in words:
        scope, _, qualifier = word.partition(":")
        if scope not in SCOPES or (qualifier and (scope != "file" or qualifier not in CHANNELS)):
            raise InvalidInput(f"scope '{word}' is not allowed; scopes: {', '.join(SCOPES)}, or file:CHANNEL "
                               f"with a channel of {', '.join(CHANNELS)}")
    return " ".join(sorted(set(words)))


def create_personal_token(app: Redress, principal: Principal, name: str, scopes: str | list[str],
                          days: int | None = None) -> IssuedToken:
    """A named token for one's scripts, limited to `scopes` (never beyond the scopes of the token asking),
    expiring within the configured days."""
    longest = app.config.identity.personal_token_days
    days = longest if days is None else days
    if not 1 <= days <= longest:
        raise InvalidInput(f"a token lives 1 to {longest} days; {days} is not allowed")
    stored = _within_own_scopes(principal, checked_scopes(scopes))
    label = _label(name)
    now = app.clock.now()
    expires = now + timedelta(days=days)
    with app.uow() as uow:
        me = acting_user(uow.session, principal.name)
        token = _issue(uow.session, me.id, "personal", label, stored, now, expires)
        record_change(uow.session, now, me.name, "user", me.id, "token_created", {"token": [None, label]})
        token_id = _id_of(uow.session, token)
        uow.commit()
    return IssuedToken(token, token_id, me.name, label, stored, _iso(expires))


def create_api_key(app: Redress, principal: Principal, name: str, scopes: str | list[str]) -> IssuedToken:
    """An API key for a system (a web form, an SMS gateway): a new member of staff that is a system, agent role.

    What the system files and does is attributed to its name; it never signs in and never receives work. A
    scoped token makes keys no wider than itself.
    """
    from workflow.services.people import add_user

    actor = principal.name
    stored = _within_own_scopes(principal, checked_scopes(scopes))
    with app.uow(write=False) as uow:
        require(acting_user(uow.session, actor), "manage_api_keys")  # before the system's user is added
    add_user(app, actor, name, "agent", display_name=f"{name} (system)", system=True)
    now = app.clock.now()
    with app.uow() as uow:
        manager = acting_user(uow.session, actor)
        require(manager, "manage_api_keys")
        system = known_user(uow.session, name)
        token = _issue(uow.session, system.id, "api_key", name, stored, now, None)
        record_change(uow.session, now, manager.name, "user", system.id, "api_key_created", {"scopes": [None, stored]})
        token_id = _id_of(uow.session, token)
        uow.commit()
    return IssuedToken(token, token_id, name, name, stored, None)


def _within_own_scopes(principal: Principal, stored: str) -> str:
    """A token cannot make a wider one: a scoped principal grants only scopes it holds itself."""
    if principal.scopes:
        wider = [scope for scope in stored.split() if scope_refusal(principal.scopes, *_split(scope)) is not None]
        if wider:
            raise PermissionDenied(f"this token is scoped to {' '.join(principal.scopes)} and cannot grant "
                                   f"{' '.join(wider)}")
    return stored


def _split(scope: str) -> tuple[str, str | None]:
    name, _, qualifier = scope.partition(":")
    return name, qualifier or None


def list_tokens(app: Redress, actor: str, *, everyone: bool = False) -> list[TokenRecord]:
    """One's own tokens, or (managers) everyone's, newest first; never the tokens themselves."""
    with app.uow(write=False) as uow:
        me = acting_user(uow.session, actor)
        query = (select(TOKENS, USERS.c.name.label("user")).join(USERS, USERS.c.id == TOKENS.c.user_id)
                 .order_by(TOKENS.c.id.desc()).limit(500))
        if everyone:
            require(me, "manage_api_keys")
        else:
            query = query.where(TOKENS.c.user_id == me.id)
        return [TokenRecord(r.id, r.user, r.kind, r.name, r.scopes, r.created_at.isoformat(), _iso(r.expires_at),
                            _iso(r.last_used_at), _iso(r.revoked_at)) for r in uow.session.execute(query)]


def revoke_token(app: Redress, actor: str, token_id: int) -> dict[str, Any]:
    """Revoke one token: one's own, or any (an API key included) for a manager."""
    now = app.clock.now()
    with app.uow() as uow:
        session = uow.session
        me = acting_user(session, actor)
        row = session.execute(select(TOKENS).where(TOKENS.c.id == token_id)).first()
        if row is None:
            raise NotFound(f"no token {token_id}")
        if row.user_id != me.id:
            require(me, "manage_api_keys")
        if row.revoked_at is not None:
            raise InvalidInput(f"token {token_id} was already revoked at {row.revoked_at:%Y-%m-%d %H:%M} UTC")
        session.execute(update(TOKENS).where(TOKENS.c.id == token_id).values(revoked_at=now, revoked_by=me.name))
        record_change(session, now, me.name, "user", row.user_id, "token_revoked", {"token": [row.name, None]})
        uow.commit()
    return {"token": token_id, "revoked": True}


def _issue(session: Session, user_id: int, kind: str, name: str, scopes: str, now: datetime,
           expires: datetime | None) -> str:
    token = new_token(kind)
    session.execute(insert(TOKENS).values(user_id=user_id, kind=kind, name=name, token_hash=token_hash(token),
                                          scopes=scopes, created_at=now, expires_at=expires))
    return token


def _id_of(session: Session, token: str) -> int:
    return int(session.execute(select(TOKENS.c.id).where(TOKENS.c.token_hash == token_hash(token))).scalar_one())


def _label(name: str) -> str:
    label = " ".join(name.split())
    if not 1 <= len(label) <= 64:
        raise InvalidInput("a token's name needs 1 to 64 characters")
    return label


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


# --- the direct database seat ------------------------------------------------------------------------------


def local_principal(app: Redress, claimed: str | None) -> Principal:
    """Who acts on a direct database seat: the claimed user where the config trusts claims, else the
    operating-system account mapped to a member of staff."""
    with app.uow(write=False) as uow:
        session = uow.session
        if claimed:
            if not app.config.identity.trust_claims:
                raise PermissionDenied(f"--as and REDRESS_USER are not trusted by this config (identity."
                                       f"trust_claims is false); you act as the operating-system account "
                                       f"'{os_account()}', or sign in to a server with `redress login`")
            user = acting_user(session, claimed)
        else:
            user = _mapped_user(session, os_account(), trusted=app.config.identity.trust_claims)
        return Principal(user.id, user.name, user.role, "local")


def _mapped_user(session: Session, account: str, *, trusted: bool) -> Row:
    row = session.execute(select(USERS.c.name).where(USERS.c.os_user == account)).first()
    if row is None and session.execute(select(USERS.c.id).limit(1)).first() is None:
        raise InvalidInput(f"no staff yet: add the first manager with `redress user add NAME --role manager "
                           f"--os-user {account}`")
    if row is None:
        hint = "pass --as NAME or set REDRESS_USER, or " if trusted else ""
        raise InvalidInput(f"no acting user: the operating-system account '{account}' is not mapped to any member "
                           f"of staff; {hint}ask a manager to run `redress user edit NAME --os-user {account}`")
    return acting_user(session, row.name)


def os_account() -> str:
    """The operating-system account running this process, from its user id (not USER or LOGNAME: those are
    claims anyone can set)."""
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid {os.getuid()}"
