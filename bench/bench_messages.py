"""Customer messages: rendering the apology letter per locale, and outbox delivery to a local SMTP server.

Prints the median of several runs of:
- apology letters rendered per second in each locale (all three forms: subject
  + text, HTML, SMS) through the sandboxed, StrictUndefined renderer, as a ratio
  to a plain Jinja2 Environment rendering the same templates in the same run;
- messages delivered per second by `deliver_due` to an aiosmtpd server on
  localhost (claim, send over one connection, record each outcome), as a ratio
  to bare smtplib sending the same number of messages over one connection.

Usage: python bench/bench_messages.py [--renders 3000] [--messages 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import smtplib
import socket
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape  # noqa: E402

from notifications.rendering import BUILT_IN, Renderer  # noqa: E402
from notifications.samples import sample_values  # noqa: E402
from notifications.sender import deliver_due  # noqa: E402
from workflow.adapters.migrate import upgrade  # noqa: E402
from workflow.bootstrap import bootstrap  # noqa: E402
from workflow.config import EmailChannel, load_config  # noqa: E402
from workflow.domain.clock import Clock  # noqa: E402
from workflow.domain.vocabulary import LANGUAGES  # noqa: E402
from workflow.services import lifecycle as svc  # noqa: E402
from workflow.services.people import add_user  # noqa: E402

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def render_rate(renderer: Renderer, locale: str, count: int) -> float:
    values = sample_values(NOW)
    renderer.render("apology_letter", locale, values)  # compile once, as a running engine has
    started = time.perf_counter()
    for _ in range(count):
        renderer.render("apology_letter", locale, values)
    return count / (time.perf_counter() - started)


def plain_jinja_rate(renderer: Renderer, locale: str, count: int) -> float:
    """The same three templates through an unsandboxed, lenient Environment: what the safety costs."""
    environment = Environment(loader=ChoiceLoader([FileSystemLoader(str(BUILT_IN))]),
                              autoescape=select_autoescape(enabled_extensions=("html",)),
                              trim_blocks=True, lstrip_blocks=True)
    environment.filters.update(renderer.environment.filters)
    values = {"locale": locale, "company": "Redress", "subject": "s", **sample_values(NOW)}
    names = [f"{locale}/apology_letter.{form}" for form in ("txt", "html", "sms")]
    templates = [environment.get_template(name) for name in names]
    started = time.perf_counter()
    for _ in range(count):
        for template in templates:
            template.render(values)
    return count / (time.perf_counter() - started)


class Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.count += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def outbox_rate(port: int, messages: int) -> float:
    """File `messages` complaints from customers with email (each queues an acknowledgement), then deliver them."""
    with tempfile.TemporaryDirectory() as folder:
        app = bootstrap(str(ROOT / "config.yaml"), f"sqlite:///{folder}/bench.db", Clock(NOW))
        channel = EmailChannel(type="email", host="127.0.0.1", port=port)
        app.config = app.config.model_copy(
            update={"messages": app.config.messages.model_copy(update={"email": channel, "sms": None})}
        )
        upgrade(app.engine)
        add_user(app, None, "boss", "manager")
        for i in range(messages):
            svc.file_complaint(app, "boss", channel="email", category="delivery", summary="parcel late",
                               email=f"c{i}@example.com", name=f"Customer {i}", language=LANGUAGES[i % 3],
                               severity="low")
        started = time.perf_counter()
        sent = 0
        while sent < messages:
            report = deliver_due(app, limit=messages)
            if report.sent == 0:
                raise SystemExit(f"delivery stalled after {sent} messages: {report}")
            sent += report.sent
        elapsed = time.perf_counter() - started
        app.engine.dispose()
        return sent / elapsed


def bare_smtp_rate(port: int, messages: int) -> float:
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for i in range(messages):
            mail = EmailMessage()
            mail["From"], mail["To"], mail["Subject"] = "redress@localhost", f"c{i}@example.com", "ack"
            mail.set_content("We received your complaint.\n" * 8)
            mail.add_alternative("<p>We received your complaint.</p>" * 8, subtype="html")
            smtp.send_message(mail)
    return messages / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--renders", type=int, default=3000)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    renderer = Renderer(load_config(ROOT / "config.yaml"))
    print(f"Rendering the apology letter (subject, text, HTML, SMS), {args.renders} renders, "
          f"median of {args.runs} runs:")
    for locale in LANGUAGES:
        ours = statistics.median(render_rate(renderer, locale, args.renders) for _ in range(args.runs))
        plain = statistics.median(plain_jinja_rate(renderer, locale, args.renders) for _ in range(args.runs))
        print(f"  {locale:6} {ours:8,.0f} letters/s   plain Jinja2 {plain:8,.0f}/s   ratio {ours / plain:.2f}")

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        ours = statistics.median(outbox_rate(controller.port, args.messages) for _ in range(args.runs))
        bare = statistics.median(bare_smtp_rate(controller.port, args.messages) for _ in range(args.runs))
    finally:
        controller.stop()
    print(f"Outbox delivery to aiosmtpd on localhost, {args.messages} messages, median of {args.runs} runs:")
    print(f"  deliver_due {ours:8,.0f} messages/s   bare smtplib {bare:8,.0f}/s   ratio {ours / bare:.2f}")
    print(f"  (the SMTP server accepted {sink.count} messages in all)")


if __name__ == "__main__":
    main()
