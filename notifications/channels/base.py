"""What every kind of delivery channel offers, the registry that finds a kind by its `type` in config.yaml,
and the delivery run that opens kinds as it needs them and closes them all at its end.

A send returns (delivered) or raises one of two errors and nothing else:
DeliveryFailed (the channel did not take the message; sending again is safe)
or DeliveryUncertain (an email was handed to the SMTP server but its answer
never came; it may have arrived, so it must not be resent on its own).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

from workflow.domain.errors import describe_error

if TYPE_CHECKING:
    from workflow.config import Config
    from workflow.services.alert_recipients import Recipients


class DeliveryFailed(Exception):
    """The channel did not take the message; the sender retries later."""


class DeliveryUncertain(Exception):
    """The SMTP server had the whole message but no final answer came back: it may or may not have kept it."""


class Channel(ABC):
    """A kind of channel, opened once per delivery run and closed at its end; the settings of each configured
    channel of the kind come with every message, so one open kind (one SMTP connection per server) serves them.

    A subclass names the config `type` it serves (`class EmailKind(Channel, kind="email")`) and is registered
    in CHANNEL_KINDS by that.
    """

    type: ClassVar[str]
    # Whether a second delivery after a crash is harmless: the receiver drops a repeat by its idempotency key.
    resends_safely: ClassVar[bool] = True
    # Whether it carries a mail (text and HTML bodies) rather than the short form of a message.
    takes_mail: ClassVar[bool] = False

    def __init_subclass__(cls, *, kind: str, **rest: Any) -> None:
        super().__init_subclass__(**rest)
        if kind in CHANNEL_KINDS:
            raise TypeError(f"channel type '{kind}' already has a kind: {CHANNEL_KINDS[kind].__qualname__}")
        cls.type = kind
        CHANNEL_KINDS[kind] = cls

    def __init__(self, config: Config) -> None:
        self.config = config

    @abstractmethod
    def send(self, settings: Any, message: Any) -> None:
        """Deliver one outbox row through the channel `settings` configure; any exception is a failed attempt."""

    def close(self) -> None:  # noqa: B027 - a hook: most kinds keep nothing open
        """Let go of what the run kept open; most kinds keep nothing."""

    @classmethod
    def addressees(cls, settings: Any, recipients: Recipients) -> tuple[list[str], str | None]:
        """The recipient of each alert row this channel gets, and why nobody is reached when none can be."""
        return [", ".join(recipients.names)], None


CHANNEL_KINDS: dict[str, type[Channel]] = {}


def channel_for(settings: Any) -> type[Channel]:
    """The kind serving a configured channel (a validated config model, so its `type` is always known)."""
    return CHANNEL_KINDS[settings.type]


class Deliverer:
    """Sends messages through their channels for one delivery run of the sender."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._open: dict[str, Channel] = {}

    def __enter__(self) -> Deliverer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        for channel in self._open.values():
            channel.close()
        self._open.clear()

    def send(self, settings: Any, message: Any) -> None:
        """Deliver one outbox row through its channel; raise DeliveryFailed or DeliveryUncertain, nothing else."""
        if not message.recipient:  # an alert that reached nobody, queued again: it still reaches nobody
            raise DeliveryFailed("the message names no recipient")
        channel = self._open.get(settings.type)
        if channel is None:
            channel = self._open[settings.type] = channel_for(settings)(self.config)
        try:
            channel.send(settings, message)
        except (DeliveryFailed, DeliveryUncertain):
            raise
        except Exception as error:  # noqa: BLE001 - whatever a receiver does to us is one failed attempt
            raise DeliveryFailed(describe_error(error)) from None
