"""Writing staff alerts into the outbox inside the transaction that causes them."""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from workflow.adapters.bulk import insert_dicts
from workflow.adapters.models import MESSAGES

if TYPE_CHECKING:
    from workflow.services.alert_recipients import Recipients


def queue_staff_alert(
    app: Any, session: Session, *, complaint: Any, kind: str, headline: str, level: str,
    recipients: Recipients, now: datetime, hours_of: str | None = None,
) -> int:
    """Queue one staff alert (see `staff_alert_rows`); how many messages it made."""
    rows = staff_alert_rows(app, complaint=complaint, kind=kind, headline=headline, level=level,
                            recipients=recipients, now=now, hours_of=hours_of)
    queue_rows(session, rows)
    return len(rows)


def staff_alert_rows(
    app: Any, *, complaint: Any, kind: str, headline: str, level: str, recipients: Recipients, now: datetime,
    hours_of: str | None = None,
) -> list[dict[str, Any]]:
    """One message per channel and recipient, rendered from the staff_alert template in the default language.

    An alert a channel can take to nobody (no recipient at all, or no email address for the email channel) is
    written `failed` with the reason, never `sent`: the outbox shows that nobody was told.
    """
    from notifications.channels import channel_for
    from notifications.customer import complaint_values
    from notifications.rendering import RenderFailed

    locale = app.config.default_language
    values = complaint_values(app, complaint, _Nobody(), locale) | {"alert": {"headline": headline, "level": level}}
    channels = app.config.alerts.channels
    channel_kinds = [channel_for(channel) for channel in channels]
    mail_like = [channel_kind.takes_mail for channel_kind in channel_kinds]
    # Only the forms some channel sends: a mail needs text and HTML, the log and webhooks the short form.
    forms = ("txt", "html") * any(mail_like) + ("sms",) * (not all(mail_like))
    try:
        rendered = app.renderer.render("staff_alert", locale, values, forms)
        subject, text, html, short, error = rendered.subject, rendered.text, rendered.html, rendered.sms, None
    except RenderFailed as failure:
        subject = f"[Redress] {complaint.number} {headline}"
        text = html = short = ""
        error = str(failure)
    opens = quiet_until(app, hours_of or level, now)  # the recipients' own hours (an assignee's role), else the level's
    rows = []
    for channel, channel_kind, is_mail in zip(channels, channel_kinds, mail_like, strict=True):
        unreached = recipients.nobody_because
        if unreached is not None:
            targets = [""]
        else:
            targets, unreached = channel_kind.addressees(channel, recipients)
        problem = error or unreached
        rows += [
            {"complaint_id": complaint.id, "kind": kind, "audience": "staff", "locale": locale,
             "channel": channel.type, "recipient": target, "subject": subject,
             "body": text if is_mail else short, "body_html": html if is_mail else None,
             "idempotency_key": uuid.uuid4().hex,
             "status": "failed" if problem else "held" if opens else "pending", "attempts": 0,
             "next_attempt_at": opens or now, "last_error": problem, "created_at": now, "sent_at": None}
            for target in targets
        ]
    return rows


def queue_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert the messages of many alerts with one statement (a batch of deadlines fires them together)."""
    insert_dicts(session.connection(), MESSAGES, rows)


def quiet_until(app: Any, level: str, now: datetime) -> datetime | None:
    """When the staff calendar of `level` next opens, if it is closed at `now`; None: tell them now."""
    calendar = app.config.alerts.staff_hours.get(level)
    if calendar is None:
        return None
    return _opens_after(app.calendar(calendar), now)


@functools.lru_cache(maxsize=64)
def _opens_after(calendar: Any, now: datetime) -> datetime | None:
    """Asked once per alert, with the same calendar and instant for a whole batch of them."""
    from workflow.domain.sla import add_business_time

    opens: datetime = add_business_time(now, 0.0, calendar)
    return opens if opens > now else None


class _Nobody:
    name = ""
