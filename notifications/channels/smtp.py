"""The email channel: SMTP, one connection per server for a whole delivery run, so a drain of thousands of
mails costs one handshake; and an exact account of whether the server may have kept a message."""

from __future__ import annotations

import os
import re
import smtplib
from typing import TYPE_CHECKING, Any

from notifications.channels.base import Channel, DeliveryFailed, DeliveryUncertain
from notifications.channels.mail import build_email
from workflow.domain.errors import describe_error

if TYPE_CHECKING:
    from workflow.config import Config, EmailChannel
    from workflow.services.alert_recipients import Recipients


class _Session(smtplib.SMTP):
    """An SMTP client that knows whether the whole message reached the server, and what the final reply was.

    smtplib's `data()` sends the content and reads the reply in one call; an
    error from it does not say which of the two failed. Here `handed_over`
    turns true only once the content and its end-of-data mark have all been
    written to the socket: before that the server cannot have accepted the
    message (it needs the final CRLF.CRLF), after it the server may have kept it.
    """

    handed_over = False
    final_reply: tuple[int, bytes] | None = None
    data_started = False

    def forget_last_send(self) -> None:
        self.handed_over, self.final_reply, self.data_started = False, None, False

    def data(self, msg: bytes) -> tuple[int, bytes]:  # type: ignore[override]
        self.forget_last_send()
        self.data_started = True
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        payload = re.sub(rb"(?m)^\.", b"..", msg)  # dot-stuffing, as smtplib does
        if not payload.endswith(b"\r\n"):
            payload += b"\r\n"
        # One sendall: if it raises, its last byte (the end-of-data mark) never reached the operating system.
        self.send(payload + b".\r\n")
        self.handed_over = True
        self.final_reply = self.getreply()
        return self.final_reply


class _SSLSession(_Session, smtplib.SMTP_SSL):
    """The same, over implicit TLS."""


class EmailKind(Channel, kind="email"):
    """SMTP has no idempotency key: an email the server may have kept is never resent on its own."""

    resends_safely = False
    takes_mail = True

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self._smtp: dict[tuple[str, int], _Session] = {}

    @classmethod
    def addressees(cls, settings: EmailChannel, recipients: Recipients) -> tuple[list[str], str | None]:
        addresses = [email for _, email in recipients.people if email]
        if not addresses:
            return [""], f"nobody alerted has an email address ({', '.join(recipients.names)})"
        return addresses, None

    def close(self) -> None:
        for connection in self._smtp.values():
            try:
                connection.quit()
            except Exception:  # noqa: BLE001 - a server that cannot say goodbye changes nothing delivered
                connection.close()
        self._smtp.clear()

    def send(self, settings: EmailChannel, message: Any) -> None:
        mail = build_email(settings.sender, message)
        for may_reconnect in (True, False):
            connection = None
            try:
                connection, reused = self._connection(settings)
                connection.forget_last_send()
                connection.send_message(mail)
                return
            except Exception as error:  # noqa: BLE001 - every failure is classified below, none escapes
                if connection is None:
                    raise DeliveryFailed(describe_error(error)) from None
                if connection.handed_over:
                    self._after_handover(settings, connection, error)
                    return
                # A server that closed an idle connection we reused costs a reconnect, not an attempt.
                stale = reused and not connection.data_started and isinstance(
                    error, smtplib.SMTPServerDisconnected | ConnectionError)
                if stale or connection.sock is None:
                    self._drop(settings)
                if not (stale and may_reconnect):
                    raise DeliveryFailed(describe_error(error)) from None

    def _connection(self, settings: EmailChannel) -> tuple[_Session, bool]:
        """The open connection to the channel's server and whether it was used before, or a new one."""
        key = (settings.host, settings.port)
        if key in self._smtp:
            return self._smtp[key], True
        session_class = _SSLSession if settings.ssl else _Session
        connection: _Session = session_class(settings.host, settings.port, timeout=settings.timeout_seconds)
        try:
            if settings.starttls and not settings.ssl:
                connection.starttls()
            if settings.username:
                connection.login(settings.username, os.environ.get(settings.password_env or "", ""))
        except BaseException:
            connection.close()
            raise
        self._smtp[key] = connection
        return connection, False

    def _drop(self, settings: EmailChannel) -> None:
        connection = self._smtp.pop((settings.host, settings.port), None)
        if connection is not None:
            connection.close()

    def _after_handover(self, settings: EmailChannel, connection: _Session, error: Exception) -> None:
        """The server had the whole message: a definite final reply decides, anything else leaves it uncertain."""
        reply = connection.final_reply
        code = reply[0] if reply else None
        if code is not None and 200 <= code < 300:
            return  # accepted, with a code smtplib does not expect
        if code is not None and 400 <= code < 600:
            if connection.sock is None:  # smtplib closes it after a 421
                self._drop(settings)
            raise DeliveryFailed(describe_error(error)) from None
        self._drop(settings)  # after an unanswered or garbled final reply, the session is in no known state
        raise DeliveryUncertain(describe_error(error)) from None
