"""Mailboxes customer mail is read from: a local Maildir folder or an IMAP folder over verified TLS.

A mailbox only lists raw messages not yet taken and marks one taken; what a message means is the mail service's
business. Marking happens after the message's complaint is committed, so a crash in between lists the message
again: marking is idempotent, and the service recognises a message it already took by its key or Message-ID.
"""

from __future__ import annotations

import imaplib
import os
import re
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.consts import UID_PATTERN
from imap_tools.errors import (
    ImapToolsError,
    MailboxFetchError,
    MailboxFlagError,
    MailboxFolderCreateError,
    MailboxFolderSelectError,
    MailboxLoginError,
    UnexpectedCommandStatusError,
)
from imap_tools.utils import check_command_status

from workflow.domain.errors import MailboxUnavailable, describe_error
from workflow.domain.vocabulary import LOCAL_HOSTS

TAKEN_KEYWORD = "$RedressTaken"  # not \Seen: an agent reading the mailbox in a mail client must not hide mail
FETCH_CHUNK = 50  # messages per FETCH: few round trips, bounded memory when messages carry attachments
MOVE_BATCH = 500  # taken messages per MOVE: Dovecot spends ~0.5 s on one MOVE in a 10,000-message maildir folder


@dataclass(frozen=True)
class Fetched:
    key: str  # stable within its mailbox and unchanged by marking: Maildir unique name, IMAP "<UIDVALIDITY>:<UID>"
    raw: bytes  # the whole message as received


class Mailbox(Protocol):
    name: str

    def pending(self, limit: int | None = None) -> Iterator[Fetched]:
        """Messages not yet marked taken, oldest first."""
        ...

    def mark_taken(self, key: str) -> None:
        """Called only after the message's complaint is committed; marking twice is harmless."""
        ...

    def close(self) -> None: ...


class MaildirMailbox:
    """A Maildir folder as mail delivery agents write it: new mail is in new/, taken mail moves to cur/ as seen.

    The folders are created on first use, so a demo's mailbox needs no setup.
    """

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = Path(path)

    def pending(self, limit: int | None = None) -> Iterator[Fetched]:
        """Files in new/ by delivery time, then name; a file another reader took meanwhile is skipped."""
        with self._reading():
            self._ensure_folders()
            arrivals = sorted(self._arrivals())
        for _, name in arrivals[:limit]:
            with self._reading():
                try:
                    raw = (self.path / "new" / name).read_bytes()
                except FileNotFoundError:
                    continue
            yield Fetched(key=_maildir_key(name), raw=raw)

    def mark_taken(self, key: str) -> None:
        """Move new/<key>[:2,flags] to cur/<key>:2,<flags>S; a message no longer in new/ is left as it is."""
        if not key or "/" in key or key.startswith("."):
            raise ValueError(f"not a Maildir key: {key!r}")
        with self._reading():
            self._ensure_folders()
            for source in self._in_new(key):
                flags = set(source.name.partition(":2,")[2]) | {"S"}
                try:
                    source.rename(self.path / "cur" / f"{key}:2,{''.join(sorted(flags))}")
                except FileNotFoundError:
                    pass  # taken by another reader between the listing and the move

    def close(self) -> None:
        """Nothing stays open between calls."""

    def _arrivals(self) -> Iterator[tuple[int, str]]:
        """(delivery time, file name) of each message in new/."""
        with os.scandir(self.path / "new") as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    yield entry.stat().st_mtime_ns, entry.name
                except FileNotFoundError:
                    continue  # taken by another reader while listing

    def _in_new(self, key: str) -> list[Path]:
        plain = self.path / "new" / key
        if plain.exists():
            return [plain]
        return list((self.path / "new").glob(f"{_glob_escape(key)}:*"))

    def _ensure_folders(self) -> None:
        for folder in ("new", "cur", "tmp"):
            (self.path / folder).mkdir(parents=True, exist_ok=True)

    @contextmanager
    def _reading(self) -> Iterator[None]:
        try:
            yield
        except OSError as error:
            reason = error.strerror or describe_error(error, first_line=True)
            raise MailboxUnavailable(f"mailbox {self.name!r} ({self.path}): cannot read the folder: {reason}") from None


def _maildir_key(file_name: str) -> str:
    """The unique part of a Maildir file name, before its ":2,flags" information (as mailbox.Maildir keys it)."""
    return file_name.partition(":")[0]


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


class ImapMailbox:
    """An IMAP folder read over TLS verified against the system's CAs or `ca_file` (a private CA).

    Taken messages get the keyword `$RedressTaken` (and \\Seen), which alone keeps them from being listed again.
    With a `done_folder` they then move there in batches: every MOVE_BATCH marks and at `close()`; what a crash
    or a lost connection left flagged but unmoved is moved after the next connection.
    Keys embed the folder's UIDVALIDITY: when the server renumbers the folder, old keys stop matching and every
    message is listed again under a new key; the mail service then recognises what it already took by Message-ID.
    The connection opens on first use, is reused until `close()`, and is dropped after any failure so the next
    call starts afresh.
    """

    def __init__(self, name: str, host: str, port: int, username: str, password: str, folder: str = "INBOX", *,
                 ssl: bool = True, starttls: bool = False, ca_file: Path | None = None,
                 done_folder: str | None = None, timeout: float = 30) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.username = username
        self._password = password
        self.folder = folder
        self.ssl = ssl
        self.starttls = starttls
        self.ca_file = ca_file
        if done_folder == folder:
            raise ValueError(f"mailbox {name!r}: done_folder must differ from the folder read ({folder!r})")
        self.done_folder = done_folder
        self.timeout = timeout
        self._box: BaseMailBox | None = None
        self._uidvalidity = ""
        self._to_move: set[str] = set()  # UIDs taken, not yet moved to done_folder

    def pending(self, limit: int | None = None) -> Iterator[Fetched]:
        """Messages without `$RedressTaken`, by UID ascending, fetched in chunks without setting \\Seen."""
        with self._talking():
            box = self._connected()
            uids = sorted(int(uid) for uid in box.uids(f"UNKEYWORD {TAKEN_KEYWORD}"))[:limit]
            validity = self._uidvalidity
        for start in range(0, len(uids), FETCH_CHUNK):
            chunk = uids[start:start + FETCH_CHUNK]
            with self._talking():
                box = self._connected()
                if self._uidvalidity != validity:
                    return  # renumbered since the listing began (after a reconnect): these UIDs name other mail
                answer = box.client.uid("FETCH", ",".join(map(str, chunk)), "(UID BODY.PEEK[])")
                check_command_status(answer, MailboxFetchError)
            for uid, raw in sorted(_bodies(answer[1])):
                yield Fetched(key=f"{validity}:{uid}", raw=raw)

    def mark_taken(self, key: str) -> None:
        """Flag the message taken and seen, durably before returning; a key of an older UIDVALIDITY, or of a
        message already moved, changes nothing."""
        validity, _, uid = key.partition(":")
        with self._talking():
            box = self._connected()
            if validity != self._uidvalidity:
                return
            answer = box.client.uid("STORE", uid, "+FLAGS.SILENT", f"({TAKEN_KEYWORD} \\Seen)")
            check_command_status(answer, MailboxFlagError)
            if self.done_folder:
                self._to_move.add(uid)
                if len(self._to_move) >= MOVE_BATCH:
                    self._move_taken(box)

    def close(self) -> None:
        """Move what was taken to `done_folder` and log out. Never raises: a message that could not be moved is
        still flagged taken, and moves after the next connection."""
        box = self._box
        if box is None:
            return
        try:
            with self._talking():
                self._move_taken(box)
        except MailboxUnavailable:
            return  # the connection is already dropped
        self._box = None
        try:
            box.logout()
        except (OSError, imaplib.IMAP4.error, ImapToolsError):
            box.client.shutdown()  # a goodbye the server cannot hear: just let the connection go

    def _connected(self) -> BaseMailBox:
        if self._box is None:
            box = self._open()
            box.login(self.username, self._password, initial_folder=None)
            _refresh_capabilities(box)  # after login the server may offer more (MOVE, UIDPLUS)
            box.folder.set(self.folder)
            self._uidvalidity = _uidvalidity(box, self.folder)
            if self.done_folder:
                if not box.folder.exists(self.done_folder):  # made now, so a name the server refuses shows at once
                    box.folder.create(self.done_folder)
                self._to_move = set(box.uids(f"KEYWORD {TAKEN_KEYWORD}"))  # taken before a crash, not moved yet
            self._box = box
        return self._box

    def _open(self) -> BaseMailBox:
        if not (self.ssl or self.starttls):
            if self.host not in LOCAL_HOSTS:
                raise self._unavailable("plain IMAP (ssl and starttls off) is allowed only to 127.0.0.1 or "
                                        "localhost; turn on ssl or starttls")
            return MailBoxUnencrypted(self.host, self.port, timeout=self.timeout)
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        if self.ssl:
            return MailBox(self.host, self.port, timeout=self.timeout, ssl_context=context)
        return MailBoxStartTls(self.host, self.port, timeout=self.timeout, ssl_context=context)

    def _move_taken(self, box: BaseMailBox) -> None:
        """One MOVE for every message taken so far."""
        if not (self.done_folder and self._to_move):
            return
        box.move(sorted(self._to_move, key=int), self.done_folder, chunks=MOVE_BATCH)
        self._to_move.clear()

    @contextmanager
    def _talking(self) -> Iterator[None]:
        """Any failure becomes one line naming the mailbox, and the connection is dropped."""
        try:
            yield
        except MailboxUnavailable:
            self._drop()
            raise
        except (OSError, EOFError, imaplib.IMAP4.error, ImapToolsError) as error:
            self._drop()
            raise self._unavailable(self._reason(error)) from None

    def _reason(self, error: BaseException) -> str:
        if isinstance(error, MailboxLoginError):
            return f"login refused for {self.username}"
        if isinstance(error, MailboxFolderSelectError):
            return f"folder {self.folder!r} cannot be opened: {_server_text(error.command_result)}"
        if isinstance(error, MailboxFolderCreateError):
            return f"done folder {self.done_folder!r} cannot be created: {_server_text(error.command_result)}"
        if isinstance(error, ssl.SSLCertVerificationError):
            return f"the server's TLS certificate is not trusted: {error.verify_message}"
        if isinstance(error, ssl.SSLError):
            return f"TLS failed: {error.reason or error.strerror}"
        if isinstance(error, ConnectionRefusedError):
            return "connection refused"
        if isinstance(error, TimeoutError):
            return f"no answer within {self.timeout:g} s"
        if isinstance(error, socket.gaierror):
            return f"host not found: {error.strerror}"
        if isinstance(error, OSError) and error.strerror:
            return f"connection failed: {error.strerror}"
        if isinstance(error, UnexpectedCommandStatusError):
            return f"the server refused: {_server_text(error.command_result)}"
        return f"the server failed: {describe_error(error, first_line=True)}"

    def _unavailable(self, reason: str) -> MailboxUnavailable:
        # A hostile server could quote the password back in its answer: it never reaches a log or a screen.
        line = " ".join(f"mailbox {self.name!r} ({self.host}:{self.port}): {reason}".split())
        # Masked only where a password this long could be told apart from the words around it ("x" is in them).
        masked = len(self._password or "") >= 4
        return MailboxUnavailable(line.replace(self._password, "***") if masked else line)

    def _drop(self) -> None:
        box, self._box = self._box, None
        if box is not None:
            try:
                box.client.shutdown()
            except OSError:
                pass  # already gone


def _refresh_capabilities(box: BaseMailBox) -> None:
    answer = box.client.capability()
    check_command_status(answer, UnexpectedCommandStatusError)
    box.client.capabilities = tuple(answer[1][-1].decode().upper().split())


def _uidvalidity(box: BaseMailBox, folder: str) -> str:
    """The selected folder's UIDVALIDITY, from SELECT's answer, else asked for."""
    _, values = box.client.response("UIDVALIDITY")
    if values and values[-1]:
        return str(int(values[-1]))
    return str(box.folder.status(folder, ["UIDVALIDITY"])["UIDVALIDITY"])


def _bodies(answer: list) -> Iterator[tuple[int, bytes]]:
    """(UID, whole message) from a FETCH answer; a UID may be sent before or after the body, and unrelated
    untagged updates (another client's flag change) are ignored."""
    for index, item in enumerate(answer):
        if not isinstance(item, tuple):
            continue
        head, raw = item
        after = answer[index + 1] if index + 1 < len(answer) and isinstance(answer[index + 1], bytes) else b""
        found = re.search(UID_PATTERN, head.decode("ascii", "replace")) or re.search(
            UID_PATTERN, after.decode("ascii", "replace"))
        if found:
            yield int(found.group("uid")), raw


def _server_text(command_result: tuple) -> str:
    data = command_result[1] if len(command_result) > 1 else []
    text = b" ".join(part for part in data if isinstance(part, bytes)).decode("utf-8", "replace")
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())[:200] or "no reason given"
