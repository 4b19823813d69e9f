"""The log channel: alerts printed to the scheduler's terminal, on stderr so a command's --json output stays JSON."""

from __future__ import annotations

import sys
from typing import Any

from notifications.channels.base import Channel


class LogKind(Channel, kind="log"):
    """Prints each message, its body under the subject when the body says more."""

    def send(self, settings: Any, message: Any) -> None:
        detail = f"\n  {message.body}" if message.body and message.body != message.subject else ""
        sys.stderr.write(f"ALERT to {message.recipient}: {message.subject}{detail}\n")
        sys.stderr.flush()
