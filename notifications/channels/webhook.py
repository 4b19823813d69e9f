"""The webhook channel: each message POSTed as JSON, with its idempotency key as a header."""

from __future__ import annotations

import json
import urllib.request
from typing import TYPE_CHECKING, Any

from notifications.channels.base import Channel, DeliveryFailed

if TYPE_CHECKING:
    from workflow.config import WebhookChannel
    from workflow.services.alert_recipients import Recipients


class WebhookKind(Channel, kind="webhook"):
    """A chat tool or SMS gateway; the receiver drops a repeat by the Idempotency-Key header."""

    @classmethod
    def addressees(cls, settings: WebhookChannel, recipients: Recipients) -> tuple[list[str], str | None]:
        return [settings.url], None

    def send(self, settings: WebhookChannel, message: Any) -> None:
        payload = json.dumps(
            {"kind": message.kind, "audience": getattr(message, "audience", "staff"), "to": message.recipient,
             "subject": message.subject, "text": message.body, "complaint_id": message.complaint_id,
             "idempotency_key": message.idempotency_key},
            ensure_ascii=False,
        ).encode("utf-8")
        request = urllib.request.Request(
            settings.url, data=payload, method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": message.idempotency_key},
        )
        with urllib.request.urlopen(request, timeout=settings.timeout_seconds) as response:  # noqa: S310 - configured URL
            if response.status >= 300:
                raise DeliveryFailed(f"webhook answered HTTP {response.status}")
