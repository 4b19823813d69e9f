"""Passwords and tokens at rest: Argon2id hashes for passwords, SHA-256 for random tokens.

A password is short and guessable, so it gets a slow, memory-hard hash (argon2-cffi's defaults, RFC 9106's
low-memory profile). A token is 256 random bits, so a fast hash is as safe and lets a request find its row by
the hash in one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from argon2 import PasswordHasher

TOKEN_PREFIXES = {"session": "rds_s_", "personal": "rds_p_", "api_key": "rds_k_"}  # a leaked token is recognisable


@cache
def _hasher() -> PasswordHasher:
    """Argon2 is loaded when a password is checked, not by every command that finds out who is acting."""
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def password_matches(stored_hash: str | None, password: str) -> bool:
    """Whether `password` is the one hashed; a user without a password matches none (after the same work)."""
    if stored_hash is None:
        _hasher().hash(password)  # the same time as a real check, so a missing password is not told by timing
        return False
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher().check_needs_rehash(stored_hash)


def new_token(kind: str) -> str:
    return TOKEN_PREFIXES[kind] + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
