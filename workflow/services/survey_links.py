"""One-click survey links: a short token naming a complaint and a score, signed with the deployment's secret.

A token is URL-safe base64 of a version byte, the complaint id, the score, the expiry (Unix seconds) and the first
16 bytes of an HMAC-SHA256 over them, keyed by the secret in the environment variable `survey.links.secret_env`.
It needs no table: the survey answer itself makes it single use (one answer per complaint). The answer a link
gives is recorded in workflow/services/surveys.py; this module only makes and reads tokens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from workflow.bootstrap import Redress

VERSION = 1
_FIELDS = struct.Struct(">BIBI")  # version, complaint id, score, expiry
_MAC_BYTES = 16
_TOKEN_BYTES = _FIELDS.size + _MAC_BYTES
_PURPOSE = b"redress survey link\x00"  # the secret signs nothing else, but say what this signature is for
SHORTEST_SECRET = 16  # characters; a shorter secret is treated as none (it could be guessed)

# Why a link does nothing, and the HTTP status the survey page answers with: each cause its own.
REFUSALS = {
    "malformed": 400,  # not a token at all (cut short, mangled by a mail client, made up)
    "forged": 403,  # a token whose signature does not match: a changed score or complaint, or another secret
    "unknown": 404,  # signed, but the complaint is gone
    "answered": 409,  # the complaint already has an answer: a second click, or another score's link
    "commented": 409,  # a comment was already given
    "unanswered": 409,  # a comment sent before any score
    "comment": 422,  # an empty comment, or one longer than `limits.note`
    "reopened": 409,  # the complaint is being worked on again; a survey is taken once it is resolved
    "expired": 410,
    "unconfigured": 503,  # no secret: this server can check no link
}


class LinkRefused(Exception):
    """A survey link that does nothing; the page words `reason` in `language` (None: the default language)."""

    def __init__(self, reason: str, language: str | None = None, score: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = REFUSALS[reason]
        self.language = language
        self.score = score  # the answer already given, for an "answered" refusal


@dataclass(frozen=True)
class LinkClaim:
    """What a genuine token says: this complaint's customer gives this score, until `expires_at`."""

    complaint_id: int
    score: int
    expires_at: datetime


def link_secret(app: Redress) -> bytes | None:
    """The signing secret from the environment, or None when it is unset or too short to be safe."""
    secret = os.environ.get(app.config.compensation.survey.links.secret_env, "")
    return secret.encode("utf-8") if len(secret) >= SHORTEST_SECRET else None


def sign(secret: bytes, claim: LinkClaim) -> str:
    """The token for `claim`: 35 URL-safe characters."""
    fields = _FIELDS.pack(VERSION, claim.complaint_id, claim.score, int(claim.expires_at.timestamp()))
    return base64.urlsafe_b64encode(fields + _mac(secret, fields)).rstrip(b"=").decode("ascii")


def read(secret: bytes, token: str) -> LinkClaim:
    """The claim of a genuine token; LinkRefused "malformed" or "forged" otherwise. Expiry is the caller's check."""
    if len(token) > 64:
        raise LinkRefused("malformed")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise LinkRefused("malformed") from None
    if len(raw) != _TOKEN_BYTES or raw[0] != VERSION:
        raise LinkRefused("malformed")
    fields, mac = raw[:_FIELDS.size], raw[_FIELDS.size:]
    if not hmac.compare_digest(mac, _mac(secret, fields)):
        raise LinkRefused("forged")
    _, complaint_id, score, expires = _FIELDS.unpack(fields)
    if not 1 <= score <= 5 or complaint_id == 0:
        raise LinkRefused("malformed")  # signed by this secret yet never made by `sign` here
    return LinkClaim(complaint_id, score, datetime.fromtimestamp(expires, UTC))


def claim_of(app: Redress, token: str) -> LinkClaim:
    """The claim of a token this deployment signed; LinkRefused when there is no secret or it is not genuine."""
    secret = link_secret(app)
    if secret is None:
        raise LinkRefused("unconfigured")
    return read(secret, token)


def link_for(app: Redress, complaint_id: int, score: int, now: datetime) -> str | None:
    """The survey page's address giving `score` for the complaint, valid `links.valid_days` from `now`.

    None when no secret is set: the survey then asks the customer to reply instead.
    """
    secret = link_secret(app)
    return None if secret is None else _address(app, secret, complaint_id, score, now)


def links_for(app: Redress, complaint_id: int, now: datetime) -> dict[int, str] | None:
    """The five links (score -> address) a survey email carries, or None when no secret is set."""
    secret = link_secret(app)
    if secret is None:
        return None
    return {score: _address(app, secret, complaint_id, score, now) for score in range(1, 6)}


def _address(app: Redress, secret: bytes, complaint_id: int, score: int, now: datetime) -> str:
    links = app.config.compensation.survey.links
    claim = LinkClaim(complaint_id, score, now + timedelta(days=links.valid_days))
    return f"{links.base_url.rstrip('/')}/survey/{sign(secret, claim)}"


def _mac(secret: bytes, fields: bytes) -> bytes:
    return hmac.new(secret, _PURPOSE + fields, hashlib.sha256).digest()[:_MAC_BYTES]
