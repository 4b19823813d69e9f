"""Delivery channels, one kind per config `type`: the log, SMTP email, an HTTP webhook and a folder of .eml
files. Importing the package registers every kind in CHANNEL_KINDS; `channel_for` finds the kind of a
configured channel, and a Deliverer runs them for one delivery run of the sender."""

from notifications.channels.base import (
    CHANNEL_KINDS,
    Channel,
    Deliverer,
    DeliveryFailed,
    DeliveryUncertain,
    channel_for,
)
from notifications.channels.folder import FolderKind, eml_name
from notifications.channels.log import LogKind
from notifications.channels.mail import build_email
from notifications.channels.smtp import EmailKind
from notifications.channels.webhook import WebhookKind

__all__ = [
    "CHANNEL_KINDS", "Channel", "Deliverer", "DeliveryFailed", "DeliveryUncertain", "EmailKind", "FolderKind",
    "LogKind", "WebhookKind", "build_email", "channel_for", "eml_name",
]
