"""Domain errors: each is one line for the user and carries its own exit code."""

from __future__ import annotations


class RedressError(Exception):
    """Base of every error a user can cause; the CLI prints it on one line and exits with `exit_code`, the server
    answers it with `http_status` and the same line."""

    exit_code = 1
    http_status = 400


class NotFound(RedressError):
    """An unknown complaint, user, customer or policy answer."""

    exit_code = 3
    http_status = 404


class InvalidTransition(RedressError):
    """A trigger the complaint's state does not allow; the message lists the allowed ones."""

    exit_code = 4
    http_status = 409


class PermissionDenied(RedressError):
    """The acting user's role is not high enough for the action."""

    exit_code = 5
    http_status = 403


class ConcurrentChange(RedressError):
    """Someone else changed the complaint since it was read; nothing was written."""

    exit_code = 6
    http_status = 409

    def __init__(self, message: str, current_version: int | None = None) -> None:
        super().__init__(message)
        self.current_version = current_version  # the fresh version, when the caller's was stale


class InvalidInput(RedressError):
    """A missing or malformed field; the message says what is allowed."""

    exit_code = 7
    http_status = 422


class ConfigError(RedressError):
    """config.yaml (or a file it names) is missing or malformed."""

    exit_code = 8
    http_status = 500


class DatabaseUnavailable(RedressError):
    """The database cannot be reached, or its schema is not up to date."""

    exit_code = 9
    http_status = 503


class SchedulerBusy(RedressError):
    """Another scheduler already fires deadlines for this SQLite database."""

    exit_code = 10
    http_status = 409


class UsageError(RedressError):
    """The command line itself is malformed (unknown option, missing argument)."""

    exit_code = 2
    http_status = 400


class TemplateBroken(RedressError):
    """A message template does not render (`redress templates check` lists every one)."""

    exit_code = 11
    http_status = 500


class NotSignedIn(RedressError):
    """No valid sign-in: a wrong name or password, or a token missing, malformed, expired or revoked."""

    exit_code = 12
    http_status = 401


class TooManyAttempts(RedressError):
    """Sign-in is slowed or locked after repeated failures; the message says until when."""

    exit_code = 13
    http_status = 429

    def __init__(self, message: str, retry_after_seconds: int = 1) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class ServerUnavailable(RedressError):
    """The Redress server a seat is signed in to cannot be reached or answered with a fault."""

    exit_code = 9
    http_status = 503


class MailboxUnavailable(RedressError):
    """A configured mailbox cannot be read: unreachable, refused the login, or its folder is missing."""

    exit_code = 15
    http_status = 503


MOST_ROWS = 10_000  # the most rows one read returns


def checked_limit(limit: int, most: int = MOST_ROWS) -> int:
    """A `--limit` of rows or answers: 1 to `most`, else a one-line refusal."""
    if not 1 <= limit <= most:
        raise InvalidInput(f"limit {limit} is not allowed; give 1 to {most}")
    return limit


def describe_error(error: BaseException, limit: int = 500, *, first_line: bool = False) -> str:
    """One line an operator can read and any database can store: the error's kind and first words.

    Replies from hostile servers carry NUL bytes and control characters; PostgreSQL refuses NUL in text.
    With `first_line`, only the message's first line is kept.
    """
    raw = str(error)
    if first_line:
        raw = (raw.strip().splitlines() or [""])[0]
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in raw).split())
    return (f"{type(error).__name__}: {text}" if text else type(error).__name__)[:limit]


class TamperedTrail(RedressError):
    """`redress audit verify` found an event or audit record that was changed or removed after it was written."""

    exit_code = 14
