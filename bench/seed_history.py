"""Fill an empty, migrated Redress database with a year of complaints and their histories, for report benchmarks.

Rows go straight into the tables in large batches: the services would take hours for a million complaints.
Each complaint's story is drawn once on its own SLA clock (business minutes of its policy's calendar, pauses
included) and every row is cut from that one story: the clock columns and report facts, the four SLA
deadlines, the audit events, the waits on the customer, compensation steps, the survey answer and the survey
message. So reports, `redress show` and the scheduler read the same history, and the figures add up.

Complaints are filed over the 365 days before `until`, mostly in working hours on working days; the older a
complaint, the likelier it is closed. The same --seed on the same starting database writes the same rows.

Usage: python bench/seed_history.py --url URL --count N [--until 2026-12-01] [--seed 7] [--batch 20000]
"""

from __future__ import annotations

import argparse
import math
import queue
import random
import sys
import threading
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from itertools import accumulate, chain
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Table, bindparam, create_engine, delete, event, func, insert, select  # noqa: E402
from sqlalchemy.engine import Connection, Engine  # noqa: E402

from workflow.adapters.db import check_schema, database_url, make_engine, redact, sqlite_file  # noqa: E402
from workflow.adapters.migrate import upgrade  # noqa: E402
from workflow.adapters.models import (  # noqa: E402
    COMPLAINTS,
    CUSTOMERS,
    DEADLINES,
    EVENTS,
    MESSAGES,
    PAUSES,
    STEPS,
    SURVEYS,
    USERS,
    NumberSequence,
)
from workflow.bootstrap import bootstrap  # noqa: E402
from workflow.domain.clock import Clock  # noqa: E402
from workflow.domain.errors import RedressError  # noqa: E402
from workflow.domain.vocabulary import CHANNELS, ROLES  # noqa: E402

CONFIG = ROOT / "config.yaml"
NUMBERS: Table = NumberSequence.__table__  # type: ignore[attr-defined]
TABLES = (USERS, CUSTOMERS, COMPLAINTS, DEADLINES, EVENTS, PAUSES, STEPS, SURVEYS, MESSAGES)
ROWS_PER_INSERT = 100  # rows in one INSERT ... VALUES statement
STAFF = {"agent": 60, "senior": 10, "supervisor": 4, "manager": 2}
SCHEDULER = "scheduler"
TOP = len(ROLES) - 1

# How the year's complaints are spread and how their stories go; the shares are of all complaints. A severity,
# category or tier the config has and these do not get weight 1.
SEVERITY_WEIGHTS = {"low": 50, "medium": 30, "high": 15, "critical": 5}
CATEGORY_WEIGHTS = {"delivery": 25, "damaged": 12, "quality": 14, "refund": 12, "return": 10, "warranty": 6,
                    "billing": 8, "service": 8, "other": 5}
CHANNEL_WEIGHTS = {"phone": 45, "web": 15, "email": 15, "chat": 14, "sms": 5, "fax": 1, "letter": 5}
TIER_WEIGHTS = {"registered": 60, "bronze": 20, "silver": 12, "gold": 8}
LANGUAGE_WEIGHTS = {"zh-CN": 80, "zh-TW": 10, "en": 10}
# Hours of the local day complaints arrive in, on working days and on other days.
WORKDAY_HOURS = [1, 1, 1, 1, 1, 1, 2, 4, 10, 40, 48, 46, 30, 38, 46, 45, 42, 38, 12, 8, 7, 5, 3, 2]
RESTDAY_HOURS = [1, 1, 1, 1, 1, 1, 1, 2, 5, 9, 11, 11, 9, 9, 10, 10, 9, 8, 7, 7, 6, 4, 3, 2]
RESTDAY_WEIGHT = 0.35  # a weekend or holiday gets this share of a working day's complaints
CANCELLED = 0.02
FIRST_CONTACT = 0.08
FIRST_RESPONSE_BREACH = 0.09  # drawn for worked complaints; stuck open ones breach on their own
RESOLUTION_BREACH = (0.5, 0.045)  # after a late first response, and after a timely one
ROUTED = 0.10
PAUSED = 0.15
REOPENED = 0.055  # of closed worked complaints
STEPS_SHARE = 0.24  # of resolved complaints
ASKED = 0.70  # closed complaints sent the survey
ANSWERED = 0.45 / ASKED  # of those asked
STALLED = 0.35  # open steps of an open resolved complaint left undone past their due time
OPEN_YOUNG = {"received": 8, "triaged": 8, "assigned": 10, "in_progress": 34, "waiting_customer": 14, "routed": 6,
              "resolved": 20}
OPEN_OLD = {"received": 1, "triaged": 2, "assigned": 3, "in_progress": 10, "waiting_customer": 2, "routed": 4,
            "resolved": 78}
FINAL = frozenset({"closed", "cancelled"})

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = ["芳", "伟", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀兰",
         "霞", "平", "刚", "桂英", "建华", "晓明", "婷", "玲", "斌", "宇", "浩", "凯", "佳怡", "子涵", "欣怡", "梓轩"]
ENGLISH = ["Chris Wong", "Emily Chan", "David Lee", "Grace Lin", "Kevin Ho", "Amy Cheung", "Jason Tan", "Olivia Ng"]
MAIL_DOMAINS = ["example.com", "example.net", "example.org"]
SUMMARIES = {
    "delivery": ["包裹超过承诺时间五天仍未送达", "物流信息三天没有更新", "快递显示已签收但本人没有收到"],
    "damaged": ["收到的商品外包装破损，屏幕有裂痕", "玻璃杯到货时碎了两个", "家具配件缺失且板材磕坏"],
    "quality": ["使用一周后电池无法充电", "衣服洗一次就严重褪色", "耳机左声道没有声音"],
    "refund": ["退货已签收十天仍未退款", "退款金额与实付金额不符", "申请退款后一直显示审核中"],
    "return": ["换货申请被拒绝，理由不明", "上门取件预约多次未到", "七天无理由退货被要求承担全部运费"],
    "warranty": ["保修期内维修被收取费用", "送修一个月没有任何进展", "保修卡丢失无法享受保修"],
    "billing": ["同一订单被重复扣款两次", "会员自动续费未经同意", "发票抬头开错，要求重开"],
    "service": ["客服电话等待四十分钟无人接听", "在线客服态度恶劣并挂断对话", "快递员态度差并拒绝送货上楼"],
    "other": ["App 无法登录，验证码收不到", "优惠券无法使用", "希望修改账户绑定的手机号"],
}
REPLIES = ["您好，已收到您的反馈，我们正在核实处理。", "非常抱歉给您带来不便，已联系相关部门跟进。",
           "已为您登记加急处理，会尽快给您答复。"]
RESOLUTIONS = ["已补发商品并承担运费", "已全额退款至原支付账户", "已安排上门更换", "已撤销重复扣款",
               "已向相关人员核实并致歉", "已延长保修并免费维修"]
WAIT_NOTES = ["请提供商品破损照片", "请确认是否接受换货方案", "请提供收款账户信息", "已约好明天回电",
              "请寄回商品后告知单号"]
LOW_COMMENTS = ["处理太慢了，等了好几天", "问题没有真正解决", "客服态度敷衍", "补偿太少，不满意",
                "打了好几次电话才有人处理"]
MID_COMMENTS = ["还可以，希望下次快一点", "问题解决了，但过程比较麻烦"]
HIGH_COMMENTS = ["处理很及时，谢谢", "客服很耐心，满意"]
CANCEL_REASONS = {"withdrawn": 60, "duplicate": 30, "spam": 10}
CAME = {"call": "", "link": "answered on the survey page", "email": "answered by email reply",
        "sms": "answered by SMS reply"}
SURVEY_TEXT = {
    "zh-CN": ("您对本次服务满意吗？", "您好，您的投诉 {} 已处理完毕，请回复 1-5 分评价我们的服务。"),
    "zh-TW": ("您對本次服務滿意嗎？", "您好，您的投訴 {} 已處理完畢，請回覆 1-5 分評價我們的服務。"),
    "en": ("How did we do?", "Your complaint {} is closed. Reply with a score from 1 to 5."),
}


def weighted(weights: Mapping[str, float]) -> tuple[list[str], list[float]]:
    """Choices and their cumulative shares (0..1], for one bisect per draw."""
    total = sum(weights.values())
    return list(weights), [c / total for c in accumulate(weights.values())]


class Line:
    """Business time on one calendar as one running count of minutes, turned both ways by bisection over the
    working periods laid out once for the whole span: walking the calendar per deadline would be too slow."""

    def __init__(self, calendar: Any, first: date, last: date) -> None:
        self.always = calendar.always_open
        self.starts: list[float] = []
        self.ends: list[float] = []
        self.before: list[float] = []
        if self.always:
            return
        worked, day = 0.0, first
        while day <= last:
            midnight = datetime.combine(day, day_time(0), tzinfo=calendar.zone).timestamp() / 60
            for begin, end in calendar.intervals_on(day):
                self.starts.append(midnight + begin)
                self.ends.append(midnight + end)
                self.before.append(worked)
                worked += end - begin
            day += timedelta(days=1)

    def business(self, wall: float) -> float:
        """Business minutes worked before `wall` (minutes since the epoch)."""
        if self.always:
            return wall
        i = bisect_right(self.starts, wall) - 1
        return 0.0 if i < 0 else self.before[i] + min(wall, self.ends[i]) - self.starts[i]

    def wall(self, business: float) -> float:
        """The first instant `business` minutes have been worked: a period's end rather than the next opening,
        as the services count (positive minutes only: zero from a closed moment would fall before it)."""
        if self.always:
            return business
        i = max(bisect_left(self.before, business - 1e-6) - 1, 0)  # float sums landing on a period end
        return self.starts[i] + business - self.before[i]

    def add(self, wall: float, minutes: float) -> float:
        return self.wall(self.business(wall) + minutes)


class Stamps:
    """Minutes since the epoch as the text a UTC time is stored as: SQLAlchemy's 'YYYY-MM-DD HH:MM:SS.ffffff'
    on SQLite, the same with '+00' for PostgreSQL's timestamptz. Two table look-ups per value."""

    def __init__(self, first: date, days: int, postgres: bool) -> None:
        self.base = int(datetime.combine(first, day_time(0), tzinfo=UTC).timestamp())
        suffix = ".000000+00" if postgres else ".000000"
        self.days = [(first + timedelta(days=d)).isoformat() + " " for d in range(days)]
        self.clock = [f"{h:02d}:{m:02d}:{s:02d}{suffix}" for h in range(24) for m in range(60) for s in range(60)]

    def __call__(self, minutes: float | None) -> str | None:
        if minutes is None:
            return None
        d, s = divmod(int(minutes * 60) - self.base, 86400)
        return self.days[d] + self.clock[s]

    def iso(self, minutes: float) -> str:
        """ISO 8601, as event data records due times."""
        d, s = divmod(int(minutes * 60) - self.base, 86400)
        return self.days[d][:10] + "T" + self.clock[s][:8] + "+00:00"

    def minute(self, minutes: float) -> str:
        """'YYYY-MM-DD HH:MM', as alert notes name a local due time."""
        d, s = divmod(int(minutes * 60) - self.base, 86400)
        return self.days[d] + self.clock[s][:5]


@dataclass(frozen=True)
class Plan:
    """One severity's SLA policy for one member tier, in business minutes."""

    first_response: float
    resolution: float
    warn_at: float
    start_level: int
    climb_every: float
    max_pause: float
    line: Line


# The columns each table's rows are written with, in this order. A column added later that is nullable or has a
# default takes it; any other stops the seeding with its name.
COLUMNS = {
    "user": "id name display_name role email created_at deactivated_at password_hash os_user failed_sign_ins "
            "last_failed_sign_in_at locked_until is_system",
    "customer": "id name phone email tier language created_at email_bounced_at email_bounce",
    "complaint": "id number state is_open severity severity_rank severity_reason category channel customer_id summary "
                 "order_ref assignee_id owner escalation_level resolution cancel_reason duplicate_of_id created_by_id "
                 "created_at updated_at closed_at sla_started_at sla_paused_at sla_paused_minutes sla_clock_at "
                 "sla_clock_minutes first_responded_at escalated_at escalation_acked_at version event_head follows_id "
                 "first_response_minutes resolution_minutes resolved_at first_response_breached_at "
                 "resolution_breached_at first_escalated_at peak_level reopens first_contact next_breach_at "
                 "overdue_since",
    "event": "id complaint_id at actor trigger from_state to_state note data hash prev_hash",
    "deadline": "id complaint_id kind level offset_minutes due_at fired_at cancelled_at created_at step_id "
                "fire_attempts fire_error retry_at set_aside_at",
    "pause": "id complaint_id paused_by reason started_at limit_at ended_at ended_by ended_how business_minutes",
    "compensation_step": "id complaint_id kind state amount_minor currency due_at source reason requested_by_id "
                         "decided_by_id decided_at done_by done_at note created_at version",
    "survey_answer": "id complaint_id score comment agent_id category recorded_by_id recorded_at via",
    "message": "id complaint_id kind audience locale channel recipient subject body body_html idempotency_key status "
               "attempts next_attempt_at last_error created_at sent_at lease_until",
}


class Refused(RuntimeError):
    """The database cannot be seeded as it is."""


class Writer:
    """Each table's INSERT, built with SQLAlchemy Core and compiled once for the driver, run with executemany
    over a whole batch of tuples: SQLAlchemy's per-value processing would cost more than storing the row. Up to
    ROWS_PER_INSERT rows go in one statement, which halves the time on both databases. Batches are written on
    a thread of their own while the next is drawn; the connection is that thread's until `drain`."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect
        if self.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

            self.dialect = PGDialect_psycopg(paramstyle="format")  # positional, so rows can stay tuples
            self.variables = 65535
        else:
            import sqlite3

            getlimit = getattr(connection.connection.dbapi_connection, "getlimit", None)
            self.variables = getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if getlimit else 999
        self.statements: dict[str, Statement] = {}
        self.counts: dict[str, int] = {}
        self.batches: queue.Queue[list[tuple[Table, list[tuple]]] | None] = queue.Queue(maxsize=1)
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self.work, name="seed-writer", daemon=True)
        self.thread.start()

    def submit(self, batch: list[tuple[Table, list[tuple]]]) -> None:
        """Hand over a batch (parents first) to be written and committed as one transaction."""
        self.check()
        self.batches.put(batch)

    def drain(self) -> None:
        """Wait until every batch handed over is committed."""
        self.batches.join()
        self.check()

    def close(self) -> None:
        self.batches.put(None)
        self.thread.join()

    def check(self) -> None:
        if self.failure is not None:
            raise self.failure

    def work(self) -> None:
        while (batch := self.batches.get()) is not None:
            try:
                if self.failure is None:
                    for table, rows in batch:
                        self.write(table, rows)
                    self.connection.commit()
            except BaseException as error:  # handed to the drawing thread at its next call
                self.failure = error
            finally:
                self.batches.task_done()
        self.batches.task_done()

    def write(self, table: Table, rows: list[tuple]) -> None:
        if not rows:
            return
        if table.name not in self.statements:
            self.statements[table.name] = Statement.of(table, self.dialect, self.variables)
        statement = self.statements[table.name]
        rows = [statement.convert(row) for row in rows] if statement.convert else rows
        whole = len(rows) - len(rows) % statement.per_insert if statement.many else 0
        if whole and statement.many:
            size = statement.per_insert
            self.connection.exec_driver_sql(statement.many, [
                tuple(chain.from_iterable(rows[i:i + size])) for i in range(0, whole, size)])
        if whole < len(rows):
            self.connection.exec_driver_sql(statement.one, rows[whole:])
        self.counts[table.name] = self.counts.get(table.name, 0) + len(rows)


@dataclass(frozen=True)
class Statement:
    """One table's INSERT for one row and for `per_insert` rows, and how to turn a row into its parameters
    when the table has columns this file does not know (their defaults) or orders them otherwise."""

    one: str
    many: str | None
    per_insert: int
    convert: Callable[[tuple], tuple] | None

    @classmethod
    def of(cls, table: Table, dialect: Any, variables: int) -> Statement:
        names = COLUMNS[table.name].split()
        compiled = insert(table).compile(dialect=dialect, column_keys=names, for_executemany=True)
        order = list(compiled.positiontup or ())
        if order != names:
            index = {name: i for i, name in enumerate(names)}
            defaults: dict[str, Any] = {}
            for name in order:
                default = table.c[name].default
                if name not in index:
                    if default is None or not default.is_scalar:
                        raise Refused(f"{table.name}.{name} is new and needs a value: teach bench/seed_history.py")
                    defaults[name] = default.arg  # type: ignore[attr-defined]
            names = order

            def convert(row: tuple) -> tuple:
                return tuple(row[index[n]] if n in index else defaults[n] for n in order)
        else:
            convert = None  # type: ignore[assignment]
        size = max(1, min(ROWS_PER_INSERT, variables // len(names)))
        rows: list[dict[str, Any]] = [{name: bindparam(f"{name}_{i}") for name in names} for i in range(size)]
        many = insert(table).values(rows).compile(dialect=dialect)
        expected = [f"{name}_{i}" for i in range(size) for name in names]
        fits = size > 1 and list(many.positiontup or ()) == expected
        return cls(compiled.string, many.string if fits else None, size, convert)


def seeding_engine(url: str) -> Engine:
    """An engine for this process alone: on SQLite, no fsync and no foreign-key checks while bulk loading; on
    PostgreSQL, commits that do not wait for the disk (this session only)."""
    if url.startswith("postgresql"):
        return create_engine(url, connect_args={"options": "-c synchronous_commit=off"})
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        def pragmas(dbapi_connection: Any, _record: Any) -> None:
            for pragma in ("journal_mode=WAL", "synchronous=OFF", "foreign_keys=OFF", "temp_store=MEMORY",
                           "cache_size=-65536"):
                dbapi_connection.execute(f"PRAGMA {pragma}")

        event.listen(engine, "connect", pragmas)
    return engine


class Seeder:
    """Draws complaint stories in filing order and writes them a batch at a time."""

    def __init__(self, app: Any, connection: Connection, count: int, until: datetime, seed: int) -> None:
        self.config = app.config
        self.connection = connection
        self.count = count
        self.rng = random.Random(seed)
        self.zone = ZoneInfo(self.config.timezone)
        self.until = until.timestamp() / 60
        self.start = self.until - 365 * 1440
        first_day = (until - timedelta(days=365)).astimezone(self.zone).date()
        self.first_day = first_day
        self.last_day = until.astimezone(self.zone).date()
        span_first, span_last = first_day - timedelta(days=800), self.last_day + timedelta(days=400)
        postgres = connection.dialect.name == "postgresql"
        self.stamp = Stamps(span_first - timedelta(days=1), (span_last - span_first).days + 3, postgres)
        self.local_offset = until.astimezone(self.zone).utcoffset().total_seconds() / 60  # type: ignore[union-attr]
        self.lines = {name: Line(app.calendar(name), span_first, span_last) for name in self.config.calendars}
        self.business = app.calendar("business")
        self.step_line = self.lines[self.config.compensation.calendar or "business"]
        self.plans = {
            (severity, tier.name): self._plan(severity, tier.sla_factor)
            for severity in self.config.severity_names for tier in self.config.member_tiers
        }
        self.ranks = {name: self.config.severity_rank(name) for name in self.config.severity_names}
        self.manual = [(a.id, a.category, a.title, a.answer) for a in app.manual.answers]
        self.writer = Writer(connection)
        self.ids = {t.name: (connection.execute(select(func.max(t.c.id))).scalar() or 0) + 1 for t in TABLES}
        self.rows: dict[str, list[tuple]] = {t.name: [] for t in TABLES}
        config = self.config
        self.pick = {name: weighted(w) for name, w in (
            ("severity", {n: SEVERITY_WEIGHTS.get(n, 1) for n in config.severity_names}),
            ("category", {n: CATEGORY_WEIGHTS.get(n, 1) for n in config.category_names}),
            ("tier", {n: TIER_WEIGHTS.get(n, 1) for n in config.tier_names}),
            ("channel", {n: CHANNEL_WEIGHTS.get(n, 1) for n in CHANNELS}), ("language", LANGUAGE_WEIGHTS),
            ("cancel", CANCEL_REASONS), ("young", OPEN_YOUNG), ("old", OPEN_OLD))}
        self.first_complaint = self.ids["complaint"]

    def _plan(self, severity: str, factor: float) -> Plan:
        policy = self.config.sla.policies[severity]
        return Plan(policy.first_response * factor, policy.resolution * factor, policy.warn_at,
                    ROLES.index(policy.start_level), policy.climb_every, policy.max_pause or math.inf,
                    self.lines[policy.calendar])

    def choose(self, what: str) -> str:
        names, cumulative = self.pick[what]
        return names[bisect_right(cumulative, self.rng.random() * 0.999999999)]

    def flush(self) -> None:
        """One batch, one transaction; parents first."""
        self.writer.submit([(table, self.rows[table.name]) for table in TABLES])
        self.rows = {t.name: [] for t in TABLES}

    def next_id(self, table: str) -> int:
        value = self.ids[table]
        self.ids[table] = value + 1
        return value

    # ---- staff and customers -------------------------------------------------------------------------------

    def staff(self) -> None:
        """The seeded staff, next to anyone already there; the mail system user answers survey links."""
        existing = {row.name: row for row in self.connection.execute(select(USERS))}
        created = self.stamp(self.start - 400 * 1440)
        for role, wanted in STAFF.items():
            for n in range(1, wanted + 1):
                name = f"{role}{n:02d}"
                if name not in existing:
                    display = self.rng.choice(SURNAMES) + self.rng.choice(GIVEN)
                    self.rows["user"].append((self.next_id("user"), name, display, role, f"{name}@redress.example.com",
                                              created, None, None, None, 0, None, None, False))
        mailroom = self.config.mail.actor
        if mailroom not in existing:
            self.rows["user"].append((self.next_id("user"), mailroom, "Customer replies (mail and survey links)",
                                      "agent", None, created, None, None, None, 0, None, None, True))
        self.flush()
        self.writer.drain()
        self.people: dict[str, list[tuple[int, str]]] = {role: [] for role in ROLES}
        self.system: tuple[int, str] = (0, "")
        for row in self.connection.execute(select(USERS).order_by(USERS.c.id)):
            if row.is_system:
                if row.name == mailroom:
                    self.system = (row.id, row.name)
            elif row.deactivated_at is None:
                self.people[row.role].append((row.id, row.name))

    def customers(self) -> None:
        """count/3 customers; tier and language kept per customer for the clocks and the survey message."""
        rng, first = self.rng, self.ids["customer"]
        total = max(self.count // 3, 1)
        self.customer_first, self.customer_total = first, total
        self.tiers: list[str] = []
        self.languages: list[str] = []
        for i in range(total):
            cid = self.next_id("customer")
            tier, language = self.choose("tier"), self.choose("language")
            self.tiers.append(tier)
            self.languages.append(language)
            name = rng.choice(ENGLISH) if language == "en" else rng.choice(SURNAMES) + rng.choice(GIVEN)
            created = self.start - rng.random() * 700 * 1440
            self.rows["customer"].append((cid, name, self.phone(cid), self.email(cid), tier, language,
                                          self.stamp(created), None, None))
            if len(self.rows["customer"]) >= 50_000 or i == total - 1:
                self.flush()

    @staticmethod
    def phone(cid: int) -> str:
        """Unique per customer: a multiplier prime to 10**9 spreads ids over the subscriber digits."""
        return f"1{3 + cid % 7}{(cid * 7919 + 12345) % 1_000_000_000:09d}"

    @staticmethod
    def email(cid: int) -> str | None:
        """Most customers have one; the rest are reached by SMS."""
        if (cid * 2654435761 >> 8) % 100 >= 85:
            return None
        return f"c{cid}@{MAIL_DOMAINS[cid % 3]}"

    def customer(self) -> int:
        """Any customer, or now and then one of the few who call again and again."""
        rng = self.rng
        if rng.random() < 0.06:
            return self.customer_first + 33 * rng.randrange(max(self.customer_total // 33, 1))
        return self.customer_first + rng.randrange(self.customer_total)

    # ---- the year ------------------------------------------------------------------------------------------

    def days(self) -> list[tuple[date, float, float, float, int]]:
        """(local day, its midnight and window in epoch minutes, complaints that day): working days get more."""
        windows = []
        day = self.first_day
        while day <= self.last_day:
            midnight = datetime.combine(day, day_time(0), tzinfo=self.zone).timestamp() / 60
            begin, end = max(midnight, self.start), min(midnight + 1440, self.until)
            if end > begin:
                weight = (1.0 if self.business.intervals_on(day) else RESTDAY_WEIGHT) * (end - begin) / 1440
                windows.append((day, midnight, begin, end, weight))
            day += timedelta(days=1)
        total = sum(w[-1] for w in windows)
        shares = [self.count * w[-1] / total for w in windows]
        counts = [int(s) for s in shares]
        for i in sorted(range(len(shares)), key=lambda i: counts[i] - shares[i])[: self.count - sum(counts)]:
            counts[i] += 1
        return [(day, midnight, begin, end, n)
                for (day, midnight, begin, end, _), n in zip(windows, counts, strict=True)]

    def times_on(self, day: date, midnight: float, begin: float, end: float, n: int) -> list[float]:
        hours = WORKDAY_HOURS if self.business.intervals_on(day) else RESTDAY_HOURS
        cumulative = list(accumulate(hours))
        rng, times = self.rng, list[float]()
        while len(times) < n:
            hour = bisect_right(cumulative, rng.random() * cumulative[-1] * 0.999999999)
            t = midnight + (hour * 3600 + rng.randrange(3600)) / 60  # whole seconds, as stored
            if begin <= t < end:
                times.append(t)
        return sorted(times)

    def run(self, progress: Callable[[int, int], None] | None, batch: int) -> None:
        self.writer.drain()
        existing = {day: last for day, last in self.connection.execute(select(NUMBERS.c.day, NUMBERS.c.last))}
        sequences: dict[str, int] = {}
        done = 0
        for day, midnight, begin, end, n in self.days():
            key = day.strftime("%Y%m%d")
            last = existing.get(key, 0)
            for t in self.times_on(day, midnight, begin, end, n):
                last += 1
                self.complaint(self.next_id("complaint"), t, f"C-{key}-{last:04d}")
                done += 1
                if len(self.rows["complaint"]) >= batch:
                    self.flush()
                    if progress:
                        progress(done, self.count)
            if n:
                sequences[key] = last
        self.flush()
        self.writer.drain()
        self.connection.execute(delete(NUMBERS).where(NUMBERS.c.day.in_(list(sequences))))
        self.connection.execute(insert(NUMBERS), [{"day": d, "last": n} for d, n in sequences.items()])
        self.connection.commit()
        if progress:
            progress(done, self.count)

    # ---- one complaint -------------------------------------------------------------------------------------

    def complaint(self, cid: int, t0: float, number: str) -> None:
        """Draw one complaint's story and append its rows."""
        rng = self.rng
        rnd = rng.random
        severity, category, channel = self.choose("severity"), self.choose("category"), self.choose("channel")
        customer = self.customer()
        tier = self.tiers[customer - self.customer_first]
        plan = self.plans[severity, tier]
        creator = rng.choice(self.people["agent"] or self.people["senior"])
        u = rnd()
        if u < CANCELLED:
            story = self.cancelled(cid, t0, plan, creator)
        elif u < CANCELLED + FIRST_CONTACT:
            story = Story(t0, plan, self.until, self.local_offset)
            answer_id, category, title, answer = rng.choice(self.manual)
            language = self.languages[customer - self.customer_first]
            text = answer.get(language) or answer.get(self.config.default_language) or next(iter(answer.values()))
            story.first_contact(creator[1], text, f'{{"policy_answer": "{answer_id}", "language": "{language}"}}')
        else:
            story = self.worked(cid, t0, plan, severity, category, creator, tier)
        self.write(cid, number, t0, story, severity, category, channel, customer, creator)

    def cancelled(self, cid: int, t0: float, plan: Plan, creator: tuple[int, str]) -> Story:
        rng = self.rng
        story = Story(t0, plan, self.until, self.local_offset)
        reason = self.choose("cancel")
        actor = rng.choice(self.people["senior"] or self.people["agent"]) if reason == "spam" else creator
        duplicate = cid - rng.randint(1, 300) if reason == "duplicate" else None
        if duplicate is not None and duplicate < self.first_complaint:
            reason, duplicate = "withdrawn", None
        at = plan.first_response * rng.uniform(0.1, 0.9)
        if rng.random() < 0.6:
            story.at_clock(at * 0.3, creator[1], "triage", "triaged")
        data = f'{{"reason": "{reason}"' + (f', "duplicate_of": {duplicate}}}' if duplicate else "}")
        story.at_clock(at, actor[1], "cancel", "cancelled", data=data)
        story.cancel_reason, story.duplicate_of = reason, duplicate
        story.cut(self.until)
        return story

    def worked(self, cid: int, t0: float, plan: Plan, severity: str, category: str,
               creator: tuple[int, str], tier: str) -> Story:
        """Triage, assignment, a first response, waits and routing, resolution, steps, closing (and reopening),
        then cut where the complaint stands at `until`."""
        rng = self.rng
        rnd = rng.random
        story = Story(t0, plan, self.until, self.local_offset)
        people = self.people
        seniors = rnd() < (0.5 if plan.start_level >= 1 else 0.1)
        assignee = rng.choice(people["senior"] if seniors and people["senior"] or not people["agent"]
                              else people["agent"])
        story.assignee = assignee
        name = assignee[1]
        frt, rest = plan.first_response, plan.resolution
        late = rnd() < FIRST_RESPONSE_BREACH
        fr = frt * (rng.uniform(1.05, 3.0) if late else 0.01 + 0.96 * rnd() ** 1.6)
        if rnd() < RESOLUTION_BREACH[0 if late else 1]:
            r = max(rest * rng.uniform(1.02, 2.5), fr + 5)
        else:
            r = fr + (rest * 0.98 - fr) * (0.03 + 0.97 * rnd() ** 1.8)
        triage = fr * rng.uniform(0.05, 0.3)
        assign = triage + (fr - triage) * rng.uniform(0.1, 0.5)
        started = assign + (fr - assign) * rng.uniform(0.1, 0.9)
        routed = None
        if rnd() < ROUTED:
            out = fr + (r - fr) * rng.uniform(0.1, 0.6)
            routed = (out, out + (r - out) * rng.uniform(0.2, 0.8), rng.choice(self.config.owners or ["售后部"]))
        if rnd() < PAUSED:
            for _ in range(rng.randint(1, 3)):
                at = rng.uniform(fr, r)
                if routed and routed[0] <= at <= routed[1]:
                    continue
                limited = rnd() < 0.1 and plan.max_pause < math.inf
                length = plan.max_pause if limited else min(rng.uniform(10, 1500), plan.max_pause * 0.95)
                story.pauses.append((at, length, rng.choice(self.config.sla.pause_reasons), limited))
            story.pauses.sort()
        creator_name = creator[1]
        story.at_clock(triage, creator_name, "triage", "triaged")
        story.at_clock(assign, creator_name, "assign", "assigned", data=f'{{"assignee": "{name}"}}')
        story.at_clock(started, name, "start", "in_progress")
        story.at_clock(fr, name, "respond", None, note=rng.choice(REPLIES))
        if routed:
            story.at_clock(routed[0], name, "route", "routed", data=f'{{"owner": "{routed[2]}"}}')
            story.at_clock(routed[1], name, "owner_feedback", "in_progress")
            story.owner = routed[2]
        for at, _, reason, limited in story.pauses:
            began = story.pause_wall(at)
            story.event(began, name, "wait_for_customer", "waiting_customer", rng.choice(WAIT_NOTES),
                        f'{{"pause_reason": "{reason}"}}', clock=at)
            if limited:
                story.event(story.pause_wall(at, end=True), SCHEDULER, "pause_limit_reached", "in_progress",
                            "the longest pause of its policy: the clock runs again", '{"deadline": "pause_limit"}',
                            clock=at)
            else:
                story.event(story.pause_wall(at, end=True), name, "customer_replied", "in_progress", "客户已回复",
                            clock=at)
        resolution = rng.choice(RESOLUTIONS)
        story.resolution = resolution
        resolved = story.at_clock(r, name, "resolve", "resolved", note=resolution)
        closing = plan.line.add(resolved, rng.uniform(5, 1500))
        if rnd() < STEPS_SHARE:
            last = self.plan_steps(cid, story, resolved, severity, category, tier)
            closing = max(closing, last + 1)
        story.event(closing, name, "close", "closed")
        if rnd() < self.open_chance(t0):
            story.cut_open(self.until, self.choose("young" if self.until - t0 < 3 * 1440 else "old"))
        else:
            story.cut(self.until)
        if story.events and story.events[-1][4] == "closed" and rnd() < REOPENED:
            story.reopen(rng, name, self.until)
        return story

    def open_chance(self, t0: float) -> float:
        """Recent complaints are mostly still open; more than a quarter of the older ones are stuck."""
        age = (self.until - t0) / 1440
        return min(0.95, 0.32 + 0.65 * math.exp(-age / 20))

    def plan_steps(self, cid: int, story: Story, resolved: float, severity: str, category: str,
                   tier: str) -> float:
        """Compensation planned at resolution by the configured rules, and money the agent adds; when the last
        step is settled."""
        rng = self.rng
        breached = story.planned_breach
        kinds: list[tuple[str, int | None, str]] = []
        for rule in self.config.compensation.rules:
            when = rule.when
            if when.breached in (None, breached) and all(not listed or value in listed for listed, value in (
                    (when.severity, severity), (when.category, category), (when.tier, tier))):
                kinds += [(s.kind, None if s.amount is None else int(s.amount * 100), "policy") for s in rule.steps]
        if not kinds or rng.random() < 0.4:
            kind = rng.choice(("refund", "refund", "refund", "voucher", "gift"))
            kinds.append((kind, int(math.exp(rng.uniform(math.log(1000), math.log(50000)))) // 100 * 100, "agent"))
        last = resolved
        limits = self.config.compensation.approval_limits
        due_minutes = self.config.compensation.due
        requester = story.assignee or self.people["agent"][0]
        requester_role_limit = float(limits["agent" if requester in self.people["agent"] else "senior"]) * 100
        for kind, amount, source in {k[0]: k for k in reversed(kinds)}.values():  # one per kind, the first wins
            created = resolved if source == "policy" else resolved + rng.uniform(1, 30)
            due = self.step_line.add(created, float(due_minutes[kind]))
            step = Step(cid, kind, amount, source, requester[0], created, due)
            if amount is not None and amount > requester_role_limit:
                role = next((r for r in ("senior", "supervisor", "manager")
                             if amount <= float(limits[r]) * 100 and self.people[r]), "manager")
                step.decider = rng.choice(self.people[role] or self.people["manager"] or self.people["agent"])[0]
                step.decided = created + rng.uniform(30, 48 * 60)
                step.rejected = rng.random() < 0.1
            ready = step.decided or created
            if kind == "apology_letter":
                step.done, step.done_by = max(due, ready), SCHEDULER
            elif not step.rejected:
                late = rng.random() < 0.15
                step.done = self.step_line.add(ready, float(due_minutes[kind]) * (
                    rng.uniform(1.1, 3.0) if late else rng.uniform(0.1, 0.95)))
                step.done = max(step.done, ready + 1)
                step.done_by = requester[1]
                step.cancelled = rng.random() < 0.05
            story.steps.append(step)
            last = max(last, step.settled())
        return last

    # ---- rows ----------------------------------------------------------------------------------------------

    def write(self, cid: int, number: str, t0: float, story: Story, severity: str, category: str, channel: str,
              customer: int, creator: tuple[int, str]) -> None:
        """The complaint's rows, from its story as it stands at `until`."""
        rng, stamp, rows = self.rng, self.stamp, self.rows
        story.scheduled(stamp)
        state = story.state
        closed = state == "closed"
        self.deadline_rows(cid, story)
        for p in story.pause_rows:
            rows["pause"].append((self.next_id("pause"), cid, story.assignee[1] if story.assignee else creator[1],
                                  p[0], stamp(p[1]), stamp(p[2]), stamp(p[3]), p[4], p[5], p[6]))
        for step in story.steps:
            u = rng.random()
            stalled = 0 if state != "resolved" or u >= STALLED else 1 if u >= STALLED / 3 else 2
            rows["compensation_step"].append(step.row(self.next_id("compensation_step"), stamp, self.until,
                                                      self.config.compensation.currency, closed, stalled))
        events = story.events
        if closed and rng.random() < ASKED:
            self.survey(cid, number, story, customer, category)
        language = self.languages[customer - self.customer_first]
        data = (f'{{"channel": "{channel}", "category": "{category}", "severity": "{severity}", '
                f'"new_customer": false, "language": "{language}"}}')
        summary = rng.choice(SUMMARIES.get(category) or SUMMARIES["other"])
        events.insert(0, (t0, creator[1], "file", None, "received", summary, data))
        level, peak, first_escalated, escalated = story.levels
        updated = max(e[0] for e in events)
        state_now = "received"
        for e in sorted(events, key=lambda e: e[0]):
            from_state = state_now
            state_now = e[4] or state_now
            rows["event"].append((self.next_id("event"), cid, stamp(e[0]), e[1], e[2],
                                  "" if e[2] == "file" else from_state, state_now, e[5], e[6], None, None))
        order_ref = f"SO{cid * 37 % 100_000_000:08d}" if rng.random() < 0.7 else None
        rows["complaint"].append((
            cid, number, state, state not in FINAL, severity, self.ranks[severity], f"set by {creator[1]} at intake",
            category, channel, customer, summary, order_ref, story.assignee[0] if story.assignee else None,
            story.owner, level, story.resolution if story.resolved_at else None, story.cancel_reason,
            story.duplicate_of, creator[0], stamp(t0), stamp(updated), stamp(story.closed_at),
            stamp(story.sla_started), stamp(story.paused_at), story.paused_minutes, stamp(story.checkpoint[0]),
            story.checkpoint[1], stamp(story.responded_at), stamp(escalated), None, len(events) - story.quiet,
            None, None, story.fr_minutes, story.resolution_minutes, stamp(story.resolved_at),
            stamp(story.fr_breached), stamp(story.res_breached), stamp(first_escalated), peak, story.reopens,
            story.first_contact_given, stamp(self.next_breach(story)), stamp(self.overdue_since(story, escalated))))

    @staticmethod
    def next_breach(story: Story) -> float | None:
        """What workflow/services/clocks.py keeps on the complaint (NEXT_BREACH), from the rows written."""
        return min((due for kind, _, due, _, cancelled, _ in story.deadlines
                    if cancelled is None and due is not None
                    and (kind == "resolution" or (kind == "first_response" and story.responded_at is None))),
                   default=None)

    @staticmethod
    def overdue_since(story: Story, escalated: float | None) -> float | None:
        """What workflow/services/breaches.py keeps on an escalated complaint: its first breached deadline."""
        if escalated is None:
            return None
        return min((due for kind, _, due, fired, _, _ in story.deadlines
                    if fired is not None and kind in ("first_response", "resolution")), default=None)

    def deadline_rows(self, cid: int, story: Story) -> None:
        stamp, rows = self.stamp, self.rows["deadline"]
        for kind, offset, due, fired, cancelled, created in story.deadlines:
            rows.append((self.next_id("deadline"), cid, kind, None, offset, stamp(due), stamp(fired),
                         stamp(cancelled), stamp(created), None, 0, None, None, None))

    def survey(self, cid: int, number: str, story: Story, customer: int, category: str) -> None:
        """The survey queued at closing and sent after `survey.after_close`; most who get it answer."""
        rng, stamp = self.rng, self.stamp
        closed = story.closed_at
        assert closed is not None
        send_at = story.plan.line.add(closed, float(self.config.compensation.survey.after_close))
        email = self.email(customer)
        language = self.languages[customer - self.customer_first]
        subject, body = SURVEY_TEXT.get(language, SURVEY_TEXT["zh-CN"])
        sent = send_at <= self.until
        self.rows["message"].append((
            self.next_id("message"), cid, "survey", "customer", language,
            "customer_email" if email else "customer_sms", email or self.phone(customer), subject,
            body.format(number), None, f"seed-survey-{cid}", "sent" if sent else "pending", 1 if sent else 0,
            stamp(send_at), None, stamp(closed), stamp(send_at + 0.05) if sent else None, None))
        closer = story.assignee[1] if story.assignee else SCHEDULER
        story.events.append((closed, closer, "survey_queued", None, None, "satisfaction survey queued to go out",
                             f'{{"send_at": "{stamp.iso(send_at)}"}}'))
        story.quiet += 1
        if not sent or rng.random() >= ANSWERED:
            return
        recorded = send_at + rng.expovariate(1 / 600) + 1
        if recorded > self.until:
            return
        unhappy = story.fr_breached is not None or story.res_breached is not None
        u = rng.random() - (0.15 if unhappy else 0.0)
        score = 1 if u < 0.06 else 2 if u < 0.13 else 3 if u < 0.25 else 4 if u < 0.55 else 5
        comment = ""
        if score <= 2 and rng.random() < 0.85:
            comment = rng.choice(LOW_COMMENTS)
        elif score == 3 and rng.random() < 0.3:
            comment = rng.choice(MID_COMMENTS)
        elif score >= 4 and rng.random() < 0.1:
            comment = rng.choice(HIGH_COMMENTS)
        via = (rng.choice(("link", "link", "email", "call")) if email else rng.choice(("sms", "call")))
        recorder = (story.assignee or rng.choice(self.people["agent"])) if via == "call" else self.system
        self.rows["survey_answer"].append((
            self.next_id("survey_answer"), cid, score, comment, story.assignee[0] if story.assignee else None,
            category, recorder[0], stamp(recorded), via))
        note = "; ".join(part for part in (CAME[via], comment) if part)
        story.events.append((recorded, recorder[1], "survey_answered", None, None, note,
                             f'{{"score": {score}, "via": "{via}"}}'))


class Step:
    """One compensation step's life: asked for, perhaps decided on, carried out or cancelled."""

    def __init__(self, complaint_id: int, kind: str, amount: int | None, source: str, requester: int,
                 created: float, due: float) -> None:
        self.complaint_id, self.kind, self.amount, self.source = complaint_id, kind, amount, source
        self.requester, self.created, self.due = requester, created, due
        self.decider: int | None = None
        self.decided: float | None = None
        self.rejected = False
        self.cancelled = False
        self.done: float | None = None
        self.done_by: str | None = None

    def settled(self) -> float:
        return self.done or self.decided or self.created

    def row(self, step_id: int, stamp: Stamps, until: float, currency: str, closed: bool, stalled: int) -> tuple:
        """The step as it stands at `until`: a closed complaint's are all settled; a stalled one (1) is not
        carried out, and (2) not even decided on."""
        decided = self.decided if self.decided is not None and self.decided <= until and stalled < 2 else None
        if self.decider is not None and decided is None:
            state, done, done_by = "awaiting_approval", None, None
        elif self.rejected:
            state, done, done_by = "cancelled", None, None
        elif self.cancelled and self.done is not None and self.done <= until:
            state, done, done_by = "cancelled", None, None
        elif self.done is not None and self.done <= until and (closed or not stalled):
            state, done, done_by = "done", self.done, self.done_by
        else:
            state, done, done_by = ("approved" if decided is not None else "planned"), None, None
        note = "reason given to the customer" if state == "cancelled" else ""
        version = 1 + (decided is not None) + (state in ("done", "cancelled"))
        money = self.amount is not None
        return (step_id, self.complaint_id, self.kind, state, self.amount, currency if money else None,
                stamp(self.due), self.source, "compensation rule" if self.source == "policy" else "客户要求补偿",
                self.requester, self.decider if decided is not None else None, stamp(decided), done_by, stamp(done),
                note, stamp(self.created), version)


class Story:
    """One complaint's life on its SLA clock: lifecycle events in wall time, pauses at clock positions, and
    what the clocks had done by the time the story stops (closed, or cut where it stands at `until`)."""

    def __init__(self, t0: float, plan: Plan, until: float, local_offset: float) -> None:
        self.t0, self.plan, self.until, self.local_offset = t0, plan, until, local_offset
        self.b0 = plan.line.business(t0)
        # (wall, actor, trigger, from_state (filled in on writing), to_state or None, note, data)
        self.events: list[tuple] = []
        self.pauses: list[tuple[float, float, str, bool]] = []  # clock position, business minutes, reason, limited
        self.steps: list[Step] = []
        self.assignee: tuple[int, str] | None = None
        self.owner: str | None = None
        self.resolution: str | None = None
        self.cancel_reason: str | None = None
        self.duplicate_of: int | None = None
        self.state = "received"
        self.quiet = 0  # events that did not change the complaint row (no new version)
        self.reopens = 0
        self.reopened: list[tuple[float, float]] = []  # (reopened at, clock when resolved again)
        self.first_contact_given = False
        # What `scheduled` works out from the story as cut.
        self.deadlines: list[tuple[str, float, float | None, float | None, float | None, float]] = []
        self.pause_rows: list[tuple[str, float, float | None, float | None, str | None, str | None, float | None]] = []
        self.responded_at: float | None = None
        self.fr_minutes: float | None = None
        self.fr_breached: float | None = None
        self.res_breached: float | None = None
        self.paused_minutes = 0.0
        self.paused_at: float | None = None
        self.sla_started = t0
        self.closed_at: float | None = None
        self.resolved_at: float | None = None
        self.resolution_minutes: float | None = None
        self.checkpoint: tuple[float | None, float] = (t0, 0.0)
        self.levels: tuple[int, int, float | None, float | None] = (plan.start_level, plan.start_level, None, None)

    # Wall times from clock positions: a pause that began before the position pushes it later.
    def wall_at(self, clock: float, pauses: list | None = None) -> float:
        extra = 0.0
        for at, length, _, _ in (self.pauses if pauses is None else pauses):
            if at < clock:
                extra += length
        return self.plan.line.wall(self.b0 + clock + extra)

    def pause_wall(self, at: float, end: bool = False) -> float:
        before = sum(length for p, length, _, _ in self.pauses if p < at)
        mine = next(length for p, length, _, _ in self.pauses if p == at) if end else 0.0
        return self.plan.line.wall(self.b0 + at + before + mine)

    def event(self, wall: float, actor: str, trigger: str, to_state: str | None, note: str = "", data: str = "{}",
              clock: float | None = None) -> float:
        self.events.append((wall, actor, trigger, clock, to_state, note, data))
        return wall

    def at_clock(self, clock: float, actor: str, trigger: str, to_state: str | None, note: str = "",
                 data: str = "{}") -> float:
        return self.event(self.wall_at(clock), actor, trigger, to_state, note, data, clock)

    def first_contact(self, actor: str, answer: str, data: str) -> None:
        self.event(self.t0, actor, "answer_from_manual", "closed", answer, data, 0.0)
        self.resolution = answer
        self.first_contact_given = True

    def cut(self, until: float) -> None:
        """Keep what happened by `until`."""
        self.events.sort(key=lambda e: e[0])
        keep = [e for e in self.events if e[0] <= until]
        self.events = keep

    def cut_open(self, until: float, wanted: str) -> None:
        """Stop the story in state `wanted` (its last visit by `until`): the rest has not happened yet. A wait
        on the customer is kept only while it is still within the policy's longest pause."""
        self.events.sort(key=lambda e: e[0])
        state, candidates = "received", []
        for i, e in enumerate(self.events):
            state = e[4] or state
            later = self.events[i + 1][0] if i + 1 < len(self.events) else math.inf
            if e[0] <= until and state == wanted and (wanted != "waiting_customer" or later > until):
                candidates.append(i)
        if candidates:
            self.events = self.events[: candidates[-1] + 1]
        else:
            self.cut(until)

    def reopen(self, rng: random.Random, actor: str, until: float) -> None:
        """Reopened once or twice after closing; each time a fresh resolution clock, resolved and closed again."""
        line, plan = self.plan.line, self.plan
        closed = self.events[-1][0]
        added: list[tuple] = []
        cycles: list[tuple[float, float]] = []
        for _ in range(rng.choice((1, 1, 1, 2))):
            again = line.add(closed, rng.uniform(60, 3000))
            r2 = plan.resolution * rng.uniform(0.05, 0.7)
            started = line.business(again)
            resolved = line.wall(started + r2)
            closing = line.add(resolved, rng.uniform(5, 600))
            if closing > until:
                break
            added += [(again, actor, "reopen", None, "in_progress", "客户来电表示问题仍未解决", "{}"),
                      (resolved, actor, "resolve", None, "resolved", self.resolution or "", "{}"),
                      (closing, actor, "close", None, "closed", "", "{}")]
            cycles.append((again, r2))
            closed = closing
        self.events += added
        self.reopened = cycles

    # ---- what the clocks did -------------------------------------------------------------------------------

    @property
    def planned_breach(self) -> bool:
        """Whether the story as drawn breaches a target before resolving (compensation rules look at it)."""
        plan = self.plan
        fr = next((e[3] for e in self.events if e[2] == "respond"), None)
        resolve = next((e[3] for e in self.events if e[2] == "resolve"), None)
        return (fr is not None and fr > plan.first_response) or (resolve is not None and resolve > plan.resolution)

    def scheduled(self, stamp: Stamps) -> None:
        """Facts, deadlines, pauses and the scheduler's own events, from the story as cut."""
        plan, events = self.plan, self.events
        state = "received"
        for e in events:
            state = e[4] or state
        self.state = state
        triggers = {e[2]: e for e in events}
        first_contact = "answer_from_manual" in triggers
        kept_pauses = [p for p in self.pauses if any(e[2] == "wait_for_customer" and e[3] == p[0] for e in events)]
        ongoing = state == "waiting_customer"
        finished = kept_pauses[:-1] if ongoing else kept_pauses
        respond = triggers.get("respond")
        cancel = triggers.get("cancel")
        resolve = next((e for e in events if e[2] == "resolve"), None)
        if first_contact:
            stop, stopped_at = 0.0, self.t0
        elif resolve is not None:
            stop, stopped_at = resolve[3], resolve[0]
        elif cancel is not None:
            stop, stopped_at = cancel[3], cancel[0]
        elif ongoing:
            stop, stopped_at = kept_pauses[-1][0], None
        else:  # running at `until`
            until = self.until
            stop = plan.line.business(until) - self.b0 - sum(p[1] for p in finished)
            stopped_at = None
        wall_at = self.wall_at
        pauses = kept_pauses
        responded = respond[3] if respond is not None else (0.0 if first_contact else None)
        fr_end = responded if responded is not None else stop
        self.responded_at = respond[0] if respond is not None else (self.t0 if first_contact else None)
        self.fr_minutes = responded
        fr_ended = responded is not None or stopped_at is not None
        fr_ended_at = self.responded_at if responded is not None else stopped_at
        deadlines: list[tuple[str, float, float | None, float | None, float | None, float]] = []
        scheduler: list[tuple] = []
        targets = (("first_response_warning", plan.first_response * plan.warn_at, fr_end, fr_ended, fr_ended_at),
                   ("first_response", plan.first_response, fr_end, fr_ended, fr_ended_at),
                   ("resolution_warning", plan.resolution * plan.warn_at, stop, stopped_at is not None, stopped_at),
                   ("resolution", plan.resolution, stop, stopped_at is not None, stopped_at))
        self.fr_breached = self.res_breached = None
        dues = {kind: wall_at(offset, [p for p in pauses if p[0] < end])  # a wait after it stopped did not move it
                for kind, offset, end, _, _ in targets}
        for kind, offset, end, ended, ended_at in targets:
            due = dues[kind]
            if end > offset and not first_contact:
                deadlines.append((kind, offset, due, due, None, self.t0))
                if kind.endswith("_warning"):
                    target = kind.removesuffix("_warning")
                    local = stamp.minute(dues[target] + self.local_offset)
                    scheduler.append((due, SCHEDULER, "sla_warning", None, None,
                                      f"{target.replace('_', ' ')} due {local}",
                                      f'{{"deadline": "{kind}", "due_at": "{stamp.iso(due)}"}}'))
                elif kind == "first_response":
                    self.fr_breached = due
                else:
                    self.res_breached = due
            elif ended:
                deadlines.append((kind, offset, due, None, ended_at, self.t0))
            else:
                deadlines.append((kind, offset, None if ongoing else due, None, None, self.t0))
        self.levels = self.climb(stop, scheduler, pauses, stamp)
        for again, r2 in self.reopened:
            line = plan.line
            started = line.business(again)
            for kind, offset in (("resolution_warning", plan.resolution * plan.warn_at),
                                 ("resolution", plan.resolution)):
                due = line.wall(started + offset)
                resolved_again = line.wall(started + r2)
                if r2 > offset:
                    deadlines.append((kind, offset, due, due, None, again))
                    local = stamp.minute(line.wall(started + plan.resolution) + self.local_offset)
                    scheduler.append((due, SCHEDULER, "sla_warning", None, None, f"resolution due {local}",
                                      f'{{"deadline": "{kind}", "due_at": "{stamp.iso(due)}"}}'))
                else:
                    deadlines.append((kind, offset, due, None, resolved_again, again))
        self.deadlines = deadlines
        self.events = events + scheduler
        # Steps are planned at resolution: none if it has not happened by `until`.
        self.steps = [s for s in self.steps if s.created <= self.until] if resolve is not None else []
        # The complaint's columns.
        self.pause_rows = []
        for i, (at, length, reason, limited) in enumerate(pauses):
            began = self.pause_wall(at)
            limit_at = plan.line.wall(plan.line.business(began) + plan.max_pause) if plan.max_pause < math.inf \
                else None
            if ongoing and i == len(pauses) - 1:
                self.pause_rows.append((reason, began, limit_at, None, None, None, None))
            else:
                how = "pause_limit_reached" if limited else "customer_replied"
                by = SCHEDULER if limited else self.assignee[1] if self.assignee else SCHEDULER
                self.pause_rows.append((reason, began, limit_at, self.pause_wall(at, end=True), by, how, length))
        self.paused_minutes = sum(p[1] for p in finished)
        self.paused_at = self.pause_wall(pauses[-1][0]) if ongoing else None
        self.sla_started = self.t0
        closing = [e for e in events if e[4] in ("closed", "cancelled")]
        self.closed_at = closing[-1][0] if state in FINAL else None
        resolves = [e for e in events if e[2] == "resolve"]
        if first_contact:
            self.resolved_at, self.resolution_minutes = self.t0, 0.0
        elif resolves:
            self.resolved_at = resolves[-1][0]
            self.resolution_minutes = stop + sum(r2 for _, r2 in self.reopened)
        else:
            self.resolved_at = self.resolution_minutes = None
        self.reopens = len(self.reopened)
        if self.reopened:
            again, r2 = self.reopened[-1]
            self.sla_started, self.paused_minutes = again, 0.0
            self.checkpoint = (self.resolved_at, r2)
        elif stopped_at is not None:
            self.checkpoint = (stopped_at, stop)
        elif ongoing:
            self.checkpoint = (self.paused_at, stop)
        else:  # running: from the last resume, or from the start
            last = finished[-1] if finished else None
            self.checkpoint = (self.pause_wall(last[0], end=True), last[0]) if last else (self.t0, 0.0)

    def climb(self, stop: float, scheduler: list[tuple], pauses: list, stamp: Stamps) -> tuple:
        """Each breach climbs one level; the ladder climbs again every `climb_every` until the clock stops."""
        plan = self.plan
        level = plan.start_level
        peak, first, last = level, None, None
        breaches = []
        if self.fr_breached is not None:
            breaches.append((plan.first_response, "first_response"))
        if self.res_breached is not None:
            breaches.append((plan.resolution, "resolution"))
        ladder: float | None = None
        while True:
            breach = breaches[0] if breaches else None
            if breach is not None and (ladder is None or breach[0] <= ladder):
                at, kind, trigger = breach[0], breach[1], "sla_breach"
            elif ladder is not None:
                at, kind, trigger = ladder, "escalation", "escalate"
            else:
                break
            if at >= stop:
                break
            if trigger == "sla_breach":
                breaches.pop(0)
            wall = self.wall_at(at, pauses)
            to = min(level + 1, TOP)
            head = (f"{kind.replace('_', ' ')} deadline breached" if trigger == "sla_breach"
                    else "still unresolved: next step of the escalation ladder")
            if to > level:
                head += f", escalated to {ROLES[to]}"
            scheduler.append((wall, SCHEDULER, trigger, None, None, head,
                              f'{{"deadline": "{kind}", "due_at": "{stamp.iso(wall)}", "from_level": '
                              f'"{ROLES[level]}", "to_level": "{ROLES[to]}"}}'))
            level, peak = to, max(peak, to)
            first = first if first is not None else wall
            last = wall
            ladder = at + plan.climb_every if level + 1 <= TOP else None
        return level, peak, first, last


def seed(url: str, count: int, *, until: datetime, seed: int = 7, batch: int = 20000,
         progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Write `count` complaints with a year of history before `until` into a migrated, complaint-free database.

    Returns the rows written per table and the seconds taken.
    """
    began = time.perf_counter()
    if until.tzinfo is None:
        raise ValueError("until must be timezone-aware")
    app = bootstrap(str(CONFIG), url, Clock(until))
    app.calendar_years = range(until.year - 3, until.year + 2)
    check_schema(app.engine, app.url)
    app.engine.dispose()
    engine = seeding_engine(app.url)
    try:
        with engine.connect() as connection:
            if connection.execute(select(COMPLAINTS.c.id).limit(1)).first() is not None:
                raise Refused(f"{redact(app.url)} already holds complaints: seed an empty, migrated database")
            connection.commit()
            seeder = Seeder(app, connection, count, until, seed)
            try:
                seeder.staff()
                seeder.customers()
                seeder.run(progress, batch)
            finally:
                seeder.writer.close()
            finish(connection)
            counts = dict(seeder.writer.counts)
    finally:
        engine.dispose()
    return {**counts, "seconds": round(time.perf_counter() - began, 1)}


def finish(connection: Connection) -> None:
    """PostgreSQL: sequences past the ids written here, and fresh planner statistics; SQLite: fold the WAL in."""
    if connection.dialect.name == "postgresql":
        for table in TABLES:
            name = connection.dialect.identifier_preparer.quote(table.name)
            connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {name}")
        connection.commit()
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    else:
        connection.commit()
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.commit()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="SQLAlchemy URL or SQLite path; a new SQLite file is migrated")
    parser.add_argument("--count", type=int, required=True, help="complaints to write")
    parser.add_argument("--until", default="2026-12-01", help="end of the year, a local date (default 2026-12-01)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch", type=int, default=20000, help="complaints per transaction")
    args = parser.parse_args(argv)
    url = database_url(args.url, Path.cwd())
    config_timezone = bootstrap(str(CONFIG), url).config.timezone
    until = datetime.combine(date.fromisoformat(args.until), day_time(0), tzinfo=ZoneInfo(config_timezone))
    path = sqlite_file(url)
    if path is not None and not path.exists():
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        print(f"created and migrated {path}")

    def report(done: int, total: int) -> None:
        print(f"\r{done:,}/{total:,} complaints", end="", file=sys.stderr, flush=True)

    try:
        result = seed(url, args.count, until=until.astimezone(UTC), seed=args.seed, batch=args.batch,
                      progress=report)
    except (Refused, RedressError) as error:
        raise SystemExit(f"seed_history: {error}") from None
    print(file=sys.stderr)
    seconds = result.pop("seconds")
    for table, rows in result.items():
        print(f"{table:>18} {rows:>12,}")
    print(f"{args.count:,} complaints in {seconds:.1f} s: {args.count / max(seconds, 1e-9):,.0f} complaints/s, "
          f"{sum(result.values()) / max(seconds, 1e-9):,.0f} rows/s")
    if path is not None:
        print(f"{path}: {path.stat().st_size / 1e6:,.0f} MB")


if __name__ == "__main__":
    main()
