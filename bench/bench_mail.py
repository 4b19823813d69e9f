"""Mail in: messages taken per second from a Maildir, half new complaints and half replies to them.

Prints the median of several runs of:
- `fetch` on SQLite taking N/2 new messages (each files a complaint and queues its acknowledgement), then N/2
  replies threaded by In-Reply-To to those acknowledgements (each joins its complaint and alerts the staff), one
  transaction per message with its inbound record, and the Maildir move after each commit;
- as a ratio to the floor of reading the same Maildir in the same run: listing it with the standard library's
  `mailbox.Maildir` and parsing every message with `email.message_from_bytes` (no database).

Usage: python bench/bench_mail.py [--messages 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import email
import mailbox
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from workflow.adapters.migrate import upgrade  # noqa: E402
from workflow.adapters.models import COMPLAINTS, MESSAGES  # noqa: E402
from workflow.bootstrap import bootstrap  # noqa: E402
from workflow.config import MaildirMailbox, SenderLimit  # noqa: E402
from workflow.domain.clock import Clock  # noqa: E402
from workflow.services.mail_in import fetch  # noqa: E402
from workflow.services.people import add_user  # noqa: E402

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
SUBJECTS = ["快递十天没到", "商品破损，要求换货", "退款一直没有到账", "The blender arrived broken", "發票開錯了"]


def message(sender: str, subject: str, body: str, in_reply_to: str | None = None) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Customer <{sender}>"
    mail["To"] = "care@shop.cn"
    mail["Subject"] = subject
    mail["Date"] = format_datetime(NOW)
    mail["Message-ID"] = f"<{sender}.{len(body)}.{hash(subject) & 0xffff}@client.example>"
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
        mail["References"] = in_reply_to
    mail.set_content(body)
    return bytes(mail)


def fill(folder: Path, raws: list[bytes]) -> None:
    box = mailbox.Maildir(folder, create=True)
    for raw in raws:
        box.add(raw)


def floor_rate(folder: Path) -> float:
    """The same Maildir listed and every message parsed by the standard library: the reading floor."""
    started = time.perf_counter()
    box = mailbox.Maildir(folder, factory=None, create=False)
    count = 0
    for key in box.iterkeys():
        email.message_from_bytes(box.get_bytes(key))
        count += 1
    return count / (time.perf_counter() - started)


def one_run(count: int) -> tuple[float, float, float, float]:
    work = Path(tempfile.mkdtemp(prefix="redress-bench-mail-"))
    try:
        app = bootstrap(str(ROOT / "config.yaml"), f"sqlite:///{work}/bench.db", Clock(NOW))
        upgrade(app.engine)
        add_user(app, None, "boss", "manager")
        inbox = work / "inbox"
        app.config = app.config.model_copy(update={"mail": app.config.mail.model_copy(update={
            "mailboxes": [MaildirMailbox(name="inbox", type="maildir", path=str(inbox))],
            "sender_limit": SenderLimit(messages=1000, per_minutes=60)})})
        half = count // 2
        news = [message(f"c{i}@example.cn", SUBJECTS[i % len(SUBJECTS)], f"第 {i} 位客户：请尽快处理我的订单。")
                for i in range(half)]
        fill(inbox, news)
        floor = floor_rate(inbox)
        started = time.perf_counter()
        runs = fetch(app)
        filed_seconds = time.perf_counter() - started
        assert sum(t.outcome == "filed" for t in runs[0].taken) == half, "every new message files a complaint"
        with app.uow(write=False) as uow:
            acknowledgements = uow.session.execute(
                select(COMPLAINTS.c.number, MESSAGES.c.idempotency_key, MESSAGES.c.recipient)
                .join(MESSAGES, MESSAGES.c.complaint_id == COMPLAINTS.c.id)
                .where(MESSAGES.c.kind == "acknowledgement")).all()
        replies = [message(row.recipient, f"Re: {row.number}", "补充：订单号 SO-12345，谢谢。\n\n> 我们已收到您的投诉",
                           f"<{row.idempotency_key}@redress>") for row in acknowledgements]
        fill(inbox, replies)
        started = time.perf_counter()
        runs = fetch(app)
        reply_seconds = time.perf_counter() - started
        assert sum(t.outcome == "joined" for t in runs[0].taken) == len(replies), "every reply joins its complaint"
        app.engine.dispose()
        total = half + len(replies)
        return total / (filed_seconds + reply_seconds), half / filed_seconds, len(replies) / reply_seconds, floor
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = [one_run(args.messages) for _ in range(args.runs)]
    total, filed, joined, floor = (statistics.median(r[i] for r in results) for i in range(4))
    print(f"mail in, {args.messages:,} messages from a Maildir on SQLite, median of {args.runs} runs:")
    print(f"  all:     {total:8,.0f} messages/s  (target 200/s)")
    print(f"  new:     {filed:8,.0f} messages/s  (each files a complaint and queues its acknowledgement)")
    print(f"  replies: {joined:8,.0f} messages/s  (each threads by In-Reply-To, joins and alerts)")
    print(f"  floor:   {floor:8,.0f} messages/s  (stdlib Maildir + email parsing, no database); "
          f"ratio {total / floor:.3f}")


if __name__ == "__main__":
    main()
