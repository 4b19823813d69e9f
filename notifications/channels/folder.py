"""The folder channel: each message written as one .eml file, whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from notifications.channels.base import Channel
from notifications.channels.mail import build_email

if TYPE_CHECKING:
    from workflow.config import FolderChannel


def eml_name(message: Any) -> str:
    """The same message always gets the same file name, so writing it twice leaves one file."""
    return f"{message.created_at:%Y%m%d-%H%M%S}-{message.kind}-{message.idempotency_key[:12]}.eml"


class FolderKind(Channel, kind="folder"):
    """Writes a .eml file under a temporary name, then renames it: a reader never sees half a message."""

    takes_mail = True

    def send(self, settings: FolderChannel, message: Any) -> None:
        folder = self.config.resolve_path(settings.path)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / eml_name(message)
        partial = Path(f"{target}.part")
        partial.write_bytes(bytes(build_email(settings.sender, message)))
        os.replace(partial, target)
