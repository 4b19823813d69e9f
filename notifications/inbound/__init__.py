"""Mail from customers, read: raw RFC 822 bytes in, one clean record out (no database, no network)."""

from notifications.inbound.parse import Attachment, IncomingMail, parse_mail
from notifications.inbound.text import detect_language, find_complaint_numbers, find_score, html_to_text, strip_quoted

__all__ = ["Attachment", "IncomingMail", "detect_language", "find_complaint_numbers", "find_score", "html_to_text",
           "parse_mail", "strip_quoted"]
