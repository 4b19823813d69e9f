"""Fixed vocabularies the code itself relies on: staff roles (in rank order), intake channels, languages.

A language given by a user is checked here, once for every use case that takes one.

The config's allowed values and every check and list in the faces derive from these.
"""

from typing import Literal, get_args

from states.compensation import STEP_KINDS, StepKind
from workflow.domain.errors import InvalidInput

__all__ = [
    "ACTED_ON", "CANCEL_REASONS", "CHANNELS", "INBOUND_OUTCOMES", "LANGUAGES", "LOCAL_HOSTS", "MESSAGE_STATUSES",
    "REPORTS", "RETRYABLE", "ROLES", "SCOPES", "STEP_KINDS",
    "Channel", "Language", "Role", "Scope", "StepKind", "checked_language",
]

# Staff roles, lowest first: a role may do what every role below it may.
Role = Literal["agent", "senior", "supervisor", "manager"]
ROLES: tuple[str, ...] = get_args(Role)
# How a complaint reached the call centre.
Channel = Literal["phone", "web", "email", "chat", "sms", "fax", "letter"]
CHANNELS: tuple[str, ...] = get_args(Channel)
# The languages customer messages and answers are written in (zh-CN first: the customers are Chinese-speaking).
Language = Literal["zh-CN", "zh-TW", "en"]
LANGUAGES: tuple[str, ...] = get_args(Language)

# What a named token or an API key may be limited to; a session may do all its user's role allows. `file:web`
# files complaints from the web channel only.
Scope = Literal["read", "file", "work", "compensation", "supervise", "staff", "lookup", "account", "inbound"]
SCOPES: tuple[str, ...] = get_args(Scope)


# Why a complaint may be cancelled without being resolved.
CANCEL_REASONS: tuple[str, ...] = ("duplicate", "spam", "withdrawn")

# A message's life in the outbox. held: raised in a level's quiet hours, waiting for its calendar to open;
# digested: sent inside a digest. An operator may queue a failed or uncertain one again (RETRYABLE).
MESSAGE_STATUSES: tuple[str, ...] = ("pending", "held", "sending", "sent", "failed", "uncertain", "withdrawn",
                                     "digested")
RETRYABLE: tuple[str, ...] = ("failed", "uncertain")

# The reports (workflow/read/reports), in the pack's order. Named here so listing them loads no database code:
# every command's --help lists them.
REPORTS: tuple[str, ...] = ("sla", "agents", "satisfaction", "compensation", "backlog", "at_risk")

# Hosts that never leave this machine: the only ones a password may be sent to unencrypted (plain IMAP).
LOCAL_HOSTS: frozenset[str] = frozenset({"127.0.0.1", "localhost", "::1"})

# What a message taken in became (workflow/services/mail_in.py); the first six acted on a complaint.
ACTED_ON: tuple[str, ...] = ("filed", "joined", "resumed", "reopened", "follow_on", "survey")
INBOUND_OUTCOMES: tuple[str, ...] = (*ACTED_ON, "automatic", "bounce", "blocked", "limited", "duplicate", "failed",
                                     "retried")


def checked_language(language: str | None, what: str = "language") -> str | None:
    """The language as given (None stays None), or a one-line refusal naming the languages allowed."""
    if language is not None and language not in LANGUAGES:
        raise InvalidInput(f"{what} '{language}' is not allowed; {what}s: {', '.join(LANGUAGES)}")
    return language
