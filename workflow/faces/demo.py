"""`redress demo`: a realistic shift at a call centre, played through the real services.

The demo's clock starts at 08:00 on a Monday at least three days back and moves forward as the story goes, so
the timeline reads like real work.
"""

from __future__ import annotations

import mailbox
import shlex
from collections.abc import Callable
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, select

from notifications.sender import deliver_due
from workflow.adapters.db import redact
from workflow.adapters.models import COMPLAINTS, MESSAGES, User
from workflow.bootstrap import Redress
from workflow.config import FolderChannel
from workflow.domain.errors import InvalidInput
from workflow.services import compensation as comp
from workflow.services import lifecycle as svc
from workflow.services import surveys
from workflow.services.firing import fire_due
from workflow.services.people import add_user

STAFF = [
    ("zhou.min", "manager", "周敏"),
    ("chen.jie", "supervisor", "陈杰"),
    ("liu.yang", "senior", "刘洋"),
    ("wong.kahei", "senior", "黃嘉希"),
    ("li.na", "agent", "李娜"),
    ("zhang.wei", "agent", "张伟"),
    ("amy.lin", "agent", "Amy Lin"),
]

# (phone, email, name, tier, language)
CUSTOMERS = {
    "wang": ("13800138001", None, "王芳", "gold", "zh-CN"),
    "zhao": ("13911112222", "zhao.lei@example.cn", "赵磊", "silver", "zh-CN"),
    "chan": ("+85291234567", None, "陳美玲", "bronze", "zh-TW"),
    "sun": ("13655556666", None, "孙丽", "registered", "zh-CN"),
    "smith": (None, "j.smith@example.com", "John Smith", "silver", "en"),
    "huang": ("13700001111", None, "黄强", "registered", "zh-CN"),
    "lin": ("+886912345678", "lin.yt@example.tw", "林雅婷", "gold", "zh-TW"),
}


def run_demo(app: Redress, say: Callable[[str], None]) -> None:
    """Seed staff, customers and complaints across channels and severities, and play their lives.

    The story needs an empty database: played over earlier complaints it would collide with them half-way.
    """
    with app.uow(write=False) as uow:
        held = uow.session.execute(select(func.count()).select_from(COMPLAINTS)).scalar_one()
    if held:
        raise InvalidInput(f"database {redact(app.url)} already holds {held} complaint(s); the demo needs an empty "
                           "one: run it on a new file, e.g. `redress --db demo.db demo`")
    tz = ZoneInfo(app.config.timezone)
    three_days_ago = (app.clock.now() - timedelta(days=3)).astimezone(tz).date()
    # The story starts on a Monday at 08:00 local time, an hour before the first call.
    monday = three_days_ago - timedelta(days=three_days_ago.weekday())
    start = datetime.combine(monday, time(8, 0), tzinfo=tz)
    app.clock.pin(start)
    _ensure_staff(app, say)

    def at(hours: float) -> None:
        """Move the story's clock on; deadlines that fell due meanwhile fire, as the scheduler would."""
        app.clock.pin(start + timedelta(hours=hours))
        fired = fire_due(app).fired
        if fired:
            say(f"  [{app.clock.now().astimezone(tz):%a %H:%M}] scheduler: {fired} SLA deadline(s) fired")

    def file(agent: str, who: str, channel: str, category: str, summary: str, **extra: str) -> str:
        phone, email, name, tier, language = CUSTOMERS[who]
        outcome = svc.file_complaint(
            app, agent, channel=channel, category=category, summary=summary, phone=phone,
            email=email, name=name, tier=tier, language=language, **extra,
        )
        say(f"  filed {outcome.number} [{channel}] {name}: {summary[:40]}  -> severity: {outcome.detail}")
        return outcome.number

    say("\nDay 1: the phones ring")
    at(1)
    late = file("li.na", "wang", "phone", "delivery", "订单十天还没到，客服一直推脱，再不处理我就找律师起诉",
                order_ref="SO-20261118-5521")
    at(1.2)
    answered = file("zhang.wei", "sun", "phone", "refund", "退款多久能到账？", answer_id="refund-timeline")
    say(f"  {answered}: answered from the policy manual (refund-timeline) and closed on the line")
    at(1.5)
    broken = file("amy.lin", "smith", "email", "damaged", "The blender arrived with a cracked jug. Unacceptable.",
                  order_ref="SO-20261115-0042")
    at(2)
    tw = file("li.na", "chan", "chat", "warranty", "吹風機用了十天就壞了，保固怎麼處理？", order_ref="SO-20261105-7788")
    at(2.5)
    billing = file("zhang.wei", "zhao", "web", "billing", "同一笔订单被扣款两次，要求退回多扣的钱",
                   order_ref="SO-20261119-3141")
    at(2.6)
    dup = file("zhang.wei", "zhao", "email", "billing", "重复扣款，见网页投诉", order_ref="SO-20261119-3141")
    at(3)
    fax = file("liu.yang", "huang", "fax", "quality", "收到的商品与描述不符，颜色发错了", order_ref="SO-20261117-9001")
    at(3.5)
    letter = file("li.na", "lin", "letter", "service", "客服態度很差，我要向消基會投訴", order_ref="SO-20261101-1234")

    say("\nDay 1: triage and work")
    at(4)
    for number in (late, broken, tw, billing, fax, letter):
        svc.triage(app, "liu.yang", number)
    svc.cancel(app, "zhang.wei", dup, "duplicate", duplicate_of=billing, note="same double charge as the web complaint")
    say(f"  {dup}: cancelled as a duplicate of {billing}")
    svc.assign(app, "liu.yang", late, "li.na")
    svc.assign(app, "liu.yang", broken, "amy.lin")
    svc.assign(app, "liu.yang", billing, "zhang.wei")
    svc.assign(app, "wong.kahei", tw, "wong.kahei")
    svc.assign(app, "liu.yang", letter, "li.na")
    at(4.5)
    svc.start(app, "li.na", late)
    svc.respond(app, "li.na", late, "已致电客户道歉，承诺今天内给出物流核查结果")
    svc.route(app, "li.na", late, "物流部", "请核查快递单 SF1234567890 的位置")
    say(f"  {late}: routed to 物流部 (logistics) to investigate")
    svc.start(app, "amy.lin", broken)
    svc.wait_for_customer(app, "amy.lin", broken, "Asked the customer for photos of the jug and the box",
                          reason="photos_or_documents")
    say(f"  {broken}: waiting for the customer's photos")
    svc.start(app, "zhang.wei", billing)
    svc.route(app, "zhang.wei", billing, "财务部", "核对支付流水，确认重复扣款")
    svc.change_severity(app, "li.na", fax, "medium", "second wrong-colour delivery this month")
    svc.change_severity(app, "liu.yang", letter, "high", "a letter about staff attitude; no legal threat")
    say(f"  {letter}: senior agent lowered the severity to high, with a reason")

    say("\nDay 2: answers come back, by phone and by mail")
    at(26)
    svc.owner_feedback(app, "li.na", late, "物流部：包裹在中转站滞留，已改派顺丰加急，明天送达")
    svc.respond(app, "li.na", late, "已告知客户明天送达，并赠送20元优惠券致歉")
    at(27)
    _mail_day(app, say, broken)
    svc.resolve(app, "amy.lin", broken, "Replacement blender shipped by express; return label sent for the broken one")
    _show_plan(app, say, broken)
    replacement = _step(app, broken, "replacement")
    comp.complete_step(app, "amy.lin", replacement, "SF Express SF9876543210")
    say(f"  {broken}: replacement shipped; the customer is sent a replacement notice")
    at(28)
    svc.owner_feedback(app, "zhang.wei", billing, "财务部：确认重复扣款，已原路退回 299 元")
    refund = comp.add_step(app, "zhang.wei", billing, "refund", amount="299", reason="重复扣款退回")
    say(f"  {billing}: refund 299.00 requested by zhang.wei (agent limit 50.00): {refund.to_state}")
    comp.approve_step(app, "chen.jie", refund.id, "流水已核对")
    say(f"  {billing}: approved by supervisor chen.jie")
    comp.complete_step(app, "zhang.wei", refund.id, "退款流水号 RF20261119001")
    svc.resolve(app, "zhang.wei", billing, "多扣的 299 元已原路退回，预计 1-3 个工作日到账")
    svc.start(app, "wong.kahei", tw)

    say("\nDay 3: closing, and a customer calls back")
    at(50)
    svc.resolve(app, "li.na", late, "包裹已送达，客户确认收货；已发20元优惠券")
    _show_plan(app, say, late)
    for step in comp.list_steps(app, late, state="awaiting_approval"):
        comp.approve_step(app, "liu.yang", step["id"], "金卡会员，同意")
        say(f"  {late}: {step['kind']} {step['amount']} approved by senior liu.yang")
    for kind, done in (("voucher", "已发放"), ("gift", "已发放"), ("apology_letter", "致歉信随优惠券一并寄出"),
                       ("follow_up_call", "已回访，客户表示满意")):
        comp.complete_step(app, "li.na", _step(app, late, kind), done)
    svc.close(app, "li.na", late, "客户表示满意")
    svc.close(app, "amy.lin", broken, "Customer confirmed the replacement works")
    at(52)
    svc.reopen(app, "zhang.wei", billing, "客户来电：退款仍未到账")
    say(f"  {billing}: reopened, the customer says the refund has not arrived")
    svc.add_note(app, "chen.jie", billing, "主管跟进：请财务部提供退款流水号")

    say("\nDay 3: satisfaction surveys go out two business hours after closing")
    at(54)
    surveys.record(app, "li.na", late, 5, "快递很快，优惠券收到了")
    say(f"  {late}: survey answered on a call-back, score 5")
    low = surveys.record(app, "amy.lin", broken, 2, "Replacement fine, but it took three days")
    say(f"  {broken}: survey score 2 -> {low.follow_up}")

    report = deliver_due(app, limit=10_000)
    folder = app.config.messages.email
    where = app.config.resolve_path(folder.path) if isinstance(folder, FolderChannel) else "the configured channels"
    say(f"\nOutbox: {report.sent} messages delivered (customer letters and notices written to {where})")
    _summarise(app, say, late, f"{start:%Y-%m}")


def _mail_day(app: Redress, say: Callable[[str], None], waiting: str) -> None:
    """Mail comes in: the customer's reply with photos resumes `waiting`, a new customer writes, a robot answers.

    Written into the configured Maildir and taken the way `redress scheduler` takes it; without a Maildir the
    agent records the reply by hand.
    """
    from workflow.config import MaildirMailbox
    from workflow.services import mail_in

    folder = next((box for box in app.config.mail.mailboxes if isinstance(box, MaildirMailbox)), None)
    if folder is None:
        svc.customer_replied(app, "amy.lin", waiting, "Photos received: the jug is cracked along the handle")
        return
    with app.uow(write=False) as uow:
        ours = uow.session.execute(
            select(MESSAGES.c.idempotency_key).join(COMPLAINTS, COMPLAINTS.c.id == MESSAGES.c.complaint_id)
            .where(COMPLAINTS.c.number == waiting, MESSAGES.c.audience == "customer")
            .order_by(col(MESSAGES.c.id).desc())).first()
    inbox = mailbox.Maildir(app.config.resolve_path(folder.path), create=True)
    inbox.add(_demo_mail("John Smith <j.smith@example.com>", "Re: Your complaint",
                         "Here are the photos: the jug is cracked along the handle.\n\n"
                         "On Mon, 23 Nov 2026 at 10:30, Redress Customer Care wrote:\n> Could you send photos?",
                         in_reply_to=f"<{ours[0]}@redress>" if ours else None, photo=True))
    inbox.add(_demo_mail("李华 <li.hua@example.cn>", "空调安装师傅迟到三小时",
                         "约好上午九点安装，师傅十二点才到，还多收了安装费，太差了！\n\n-- \n李华"))
    inbox.add(_demo_mail("Jane Doe <jane@example.org>", "Automatic reply: out of office",
                         "I am out of the office until Monday.", auto=True))
    runs = mail_in.fetch(app, mailbox=folder.name)
    for taken in runs[0].taken:
        say(f"  mail from {taken.sender}: {taken.outcome}{' ' + taken.complaint if taken.complaint else ''}"
            + (f" ({taken.detail})" if taken.detail else ""))


def _demo_mail(sender: str, subject: str, body: str, *, in_reply_to: str | None = None, photo: bool = False,
               auto: bool = False) -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, "care@redress.example", subject
    if in_reply_to:
        mail["In-Reply-To"] = mail["References"] = in_reply_to
    if auto:
        mail["Auto-Submitted"] = "auto-replied"
    mail.set_content(body)
    if photo:
        mail.add_attachment(b"\xff\xd8\xff\xe0 demo photo", maintype="image", subtype="jpeg", filename="jug.jpg")
    return bytes(mail)


def _step(app: Redress, number: str, kind: str) -> int:
    return next(s["id"] for s in comp.list_steps(app, number) if s["kind"] == kind and s["state"] != "cancelled")


def _show_plan(app: Redress, say: Callable[[str], None], number: str) -> None:
    planned = [f"{s['kind']}{' ' + s['amount'] if s['amount'] else ''} ({s['state']})"
               for s in comp.list_steps(app, number)]
    say(f"  {number}: resolved; compensation planned by the rules: {', '.join(planned) or 'none'}")


def _ensure_staff(app: Redress, say: Callable[[str], None]) -> None:
    with app.uow(write=False) as uow:
        existing = set(uow.session.exec(select(User.name)).all())
    for name, role, display in STAFF:
        if name not in existing:
            # The manager reads the monthly report pack in the demo's mail folder.
            add_user(app, "zhou.min", name, role, display, email="zhou.min@example.cn" if role == "manager" else None)
    say("Staff: " + ", ".join(f"{display} ({role})" for _, role, display in STAFF))


def _summarise(app: Redress, say: Callable[[str], None], story: str, month: str) -> None:
    from workflow.faces.cli.tables import print_history, print_queue
    from workflow.faces.text import business_time, shorten
    from workflow.read.queries import history, queue
    from workflow.services.supervision import escalation_board

    tz = app.config.timezone
    say("\nThe open queue, most urgent first:")
    print_queue(queue(app), tz)
    board = escalation_board(app, "chen.jie")
    say(f"\nEscalations a supervisor sees ({len(board)}):")
    for row in board:
        past = f"{business_time(row['minutes_past_deadline'])} of business time past its deadline" if (
            row["deadline_passed"]) else "its deadline not yet passed"
        say(f"  {row['number']}  level {row['level']}, {past}, {row['severity']}: {shorten(row['summary'], 30)}")
    say(f"\nThe life of {story}, from the first call to a closed complaint number:")
    print_history(history(app, story), tz)
    redress, where = _command_for(app)
    say(
        f"\nThe database: {where}\n"
        "Try next (this demo's config trusts --as; a call centre signs in to `redress serve` instead):\n"
        f"  {redress} show {story} --as li.na\n"
        f"  {redress} compensation list {story} --as li.na\n"
        f"  {redress} templates preview apology_letter --complaint {story} --locale en\n"
        f"  {redress} queue --as li.na --mine\n"
        f"  {redress} kb search 退款多久到账 --as li.na\n"
        f"  {redress} escalations --as chen.jie\n"
        f"  {redress} outbox list --as chen.jie     # customer messages and staff alerts, sent or waiting\n"
        f"  {redress} report sla --month {month} --as zhou.min   # also agents, satisfaction, compensation, ...\n"
        f"  {redress} report pack --month {month} --html {month}.html --as zhou.min   # all six, charts, one file\n"
        f"  {redress} states"
    )


def _command_for(app: Redress) -> tuple[str, str]:
    """How to run redress on the demo's database, and where that database is: a file other than the config's
    own is named with --db on every command, so the commands read the demo's complaints."""
    from workflow.adapters.db import database_url, sqlite_file

    file = sqlite_file(app.url)
    where = str(file) if file is not None else redact(app.url)
    if app.url == database_url(app.config.database.url, app.config.base_dir):
        return "redress", where
    return (f"redress --db {shlex.quote(str(file))}", where) if file is not None else (
        "REDRESS_DB=<the URL> redress", where)
