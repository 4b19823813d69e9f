"""config.yaml, validated once at start into typed objects; a mistake names file, key path and what is allowed."""

from __future__ import annotations

import os
import re
from datetime import date
from decimal import Decimal
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from workflow.domain.errors import ConfigError
from workflow.domain.sla import parse_duration, parse_hours
from workflow.domain.vocabulary import LOCAL_HOSTS, ROLES, Language, Role, StepKind

Labels = dict[Language, str]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(_Strict):
    url: str = "sqlite:///redress.db"
    # How long a change waits for a lock another process holds before it gives up with one line.
    lock_wait_seconds: float = Field(default=30, gt=0, le=600)


# Names are stored in sized columns (workflow/adapters/models.py); a test keeps these lengths equal to theirs.
NAME_LENGTHS = {"severity": 32, "category": 32, "tier": 16, "owner": 128}


class Severity(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=NAME_LENGTHS["severity"])
    label: Labels = {}


class Category(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=NAME_LENGTHS["category"])
    label: Labels = {}


class MemberTier(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=NAME_LENGTHS["tier"])
    severity_bump: int = Field(default=0, ge=0, le=3)
    # Multiplies every SLA target: 0.75 gives a gold member a clock a quarter shorter.
    sla_factor: float = Field(default=1.0, gt=0, le=2)


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


_LONGEST_TARGET_HOURS = 2000  # about a working year of 9-hour days


def _minutes(value: Any, *, target: bool = False) -> float:
    """A duration as written (30m, 4h, 1h30m, 45s or bare minutes) -> business minutes, parsed once at load.

    A target must be positive (a zero target breaches at filing, a zero climb runs up every level in one tick)
    and at most 2000 business hours (a longer one runs past the calendars kept).
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"'{value}' is not a duration; write e.g. 30m, 4h or 1h30m")
    minutes = float(value) if isinstance(value, (int, float)) else parse_duration(value)
    if target and minutes <= 0:
        raise ValueError(f"'{value}' is not a positive duration; write e.g. 30m, 4h or 1h30m")
    if target and minutes > _LONGEST_TARGET_HOURS * 60:
        raise ValueError(f"'{value}' is longer than {_LONGEST_TARGET_HOURS}h; write e.g. 30m, 4h or 1h30m")
    return minutes


# Durations in config.yaml, held as business minutes.
BusinessMinutes = Annotated[float, BeforeValidator(_minutes)]
TargetMinutes = Annotated[float, BeforeValidator(partial(_minutes, target=True))]


def _check_hours(values: list[str]) -> list[str]:
    """Each span is hours within one day, and no two spans of the day overlap (a minute is worked once)."""
    spans = sorted((parse_hours(value), value) for value in values)
    for (earlier, earlier_text), (later, later_text) in pairwise(spans):
        if later[0] < earlier[1]:
            raise ValueError(f"'{earlier_text}' and '{later_text}' overlap; give each working minute once")
    return values


def _check_timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone '{value}'; use an IANA name such as Asia/Shanghai") from None
    return value


class CalendarConfig(_Strict):
    """Working hours in a timezone, public holidays, and extra (adjusted) working days."""

    always_open: bool = False
    timezone: Optional[str] = None
    hours: dict[Weekday, list[str]] = {}
    holidays_country: Optional[str] = None
    closed_dates: list[date] = []
    working_days: list[date] = []
    working_day_hours: list[str] = ["09:00-18:00"]

    _hours_ok = field_validator("working_day_hours")(_check_hours)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: Optional[str]) -> Optional[str]:
        return value if value is None else _check_timezone(value)

    @field_validator("hours")
    @classmethod
    def _each_day_ok(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for spans in value.values():
            _check_hours(spans)
        return value

    @model_validator(mode="after")
    def _opens_some_day(self) -> CalendarConfig:
        # A clock on a calendar with no working weekday would never reach a deadline.
        if not self.always_open and not any(self.hours.values()):
            raise ValueError("no working hours on any weekday, so its clocks would never run; "
                             "give hours (e.g. mon: [09:00-18:00]) or always_open: true")
        return self

    @field_validator("holidays_country")
    @classmethod
    def _known_country(cls, value: Optional[str]) -> Optional[str]:
        if value is None:
            return value
        from workflow.adapters.holiday_cache import is_known_country

        if not is_known_country(value):
            raise ValueError(f"'{value}' is not a country the holidays package knows; use e.g. CN, HK, TW")
        return value


class SlaPolicy(_Strict):
    """Targets in business time for one severity, and how it climbs the escalation ladder."""

    calendar: str
    first_response: TargetMinutes
    resolution: TargetMinutes
    warn_at: float = Field(default=0.75, gt=0, lt=1)
    start_level: Role = "agent"
    climb_every: TargetMinutes = 120
    # The longest a complaint may wait on the customer: then the clock runs again by itself and the assignee and
    # the supervisors are alerted. None: no limit.
    max_pause: Optional[TargetMinutes] = None


class LogChannel(_Strict):
    """Alerts printed to the scheduler's log (the terminal it runs in)."""

    type: Literal["log"]


class EmailChannel(_Strict):
    """Alerts by SMTP to each recipient's email address."""

    type: Literal["email"]
    host: str = "localhost"
    port: int = Field(default=25, ge=1, le=65535)
    starttls: bool = False
    ssl: bool = False
    username: Optional[str] = None
    password_env: Optional[str] = None  # the password is read from this environment variable
    sender: str = "redress@localhost"
    timeout_seconds: float = Field(default=10, gt=0)


class WebhookChannel(_Strict):
    """Alerts POSTed as JSON to a chat tool or SMS gateway."""

    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://")
    timeout_seconds: float = Field(default=5, gt=0)

    @field_validator("url")
    @classmethod
    def _has_host(cls, value: str) -> str:
        from urllib.parse import urlsplit

        try:
            host = urlsplit(value).hostname
        except ValueError:
            host = None
        if not host:
            raise ValueError(f"'{value}' names no host; write e.g. https://sms.example.com/send")
        return value


class FolderChannel(_Strict):
    """Each message written as one .eml file into a folder: the embedded default, and the demo's outbox."""

    type: Literal["folder"]
    path: str = "outbox-mail"
    sender: str = "redress@localhost"


class AlertsConfig(_Strict):
    """Where staff alerts go, and the address that gets an alert when no staff hold its level or any above."""

    channels: list[
        Annotated[LogChannel | EmailChannel | WebhookChannel | FolderChannel, Field(discriminator="type")]
    ] = [LogChannel(type="log")]
    fallback_email: Optional[str] = None
    # Quiet hours: the staff calendar of each level (role). An alert raised outside it is held and goes out in
    # one digest per person when the calendar opens; a level not named is told at once, day or night.
    staff_hours: dict[Role, str] = {}

    @field_validator("fallback_email")
    @classmethod
    def _an_address(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            raise ValueError(f"'{value}' is not an email address")
        return value


class OutboxConfig(_Strict):
    """How the sender retries, and how long its claim on a message in flight lasts unless renewed."""

    max_attempts: int = Field(default=5, ge=1)
    backoff_seconds: float = Field(default=2, gt=0)
    # A live sender renews the lease of the message it is sending every third of this; a message still
    # `sending` past its lease belongs to a sender that stopped, and the next pass settles it.
    lease_seconds: float = Field(default=60, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _older_names(cls, data: Any) -> Any:
        """Config files written for earlier releases still load: a pass now drains all that is due."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        data.pop("batch_size", None)
        if "stale_after_seconds" in data:
            if "lease_seconds" in data:
                raise ValueError("stale_after_seconds is the old name of lease_seconds; give only lease_seconds")
            data["lease_seconds"] = data.pop("stale_after_seconds")
        return data


class MessagesConfig(_Strict):
    """Customer messages: the company name they sign with, template overrides, and the two channels."""

    company: Labels = {"zh-CN": "Redress 客服中心", "zh-TW": "Redress 客服中心", "en": "Redress Customer Care"}
    templates_dir: Optional[str] = None  # a folder of <locale>/<name>.<form> files that replace the built-in ones
    email: Optional[Annotated[EmailChannel | FolderChannel, Field(discriminator="type")]] = FolderChannel(
        type="folder"
    )
    sms: Optional[Annotated[WebhookChannel | FolderChannel, Field(discriminator="type")]] = FolderChannel(
        type="folder"
    )




class RuleCondition(_Strict):
    """Every listed field must match; an empty list matches anything."""

    severity: list[str] = []
    category: list[str] = []
    tier: list[str] = []
    breached: Optional[bool] = None


# The most money one step may carry, wherever an amount comes from: it fits the 32-bit column of minor units.
MAX_AMOUNT = Decimal("10000000")


class PlannedStep(_Strict):
    kind: StepKind
    amount: Optional[Decimal] = Field(default=None, gt=0, le=MAX_AMOUNT, decimal_places=2)


class CompensationRule(_Strict):
    when: RuleCondition = RuleCondition()
    steps: list[PlannedStep] = Field(min_length=1)


class SurveyLinks(_Strict):
    """One-click score links in the survey email, answered on `redress serve`'s survey page.

    The links are signed with the secret in the environment variable `secret_env`; without it the survey asks
    for a reply instead, and the server refuses every link.
    """

    base_url: str = Field(default="http://127.0.0.1:8480", pattern=r"^https?://[^\s/]+(/[^\s]*)?$")
    secret_env: str = Field(default="REDRESS_LINK_SECRET", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    valid_days: int = Field(default=14, ge=1, le=365)


class SurveyConfig(_Strict):
    after_close: BusinessMinutes = 120
    low_score: int = Field(default=2, ge=1, le=5)
    on_low_score: Literal["reopen", "follow_up_call"] = "follow_up_call"
    links: SurveyLinks = SurveyLinks()


class CompensationConfig(_Strict):
    """Which steps a resolved complaint gets, how long each may take, and who may grant how much money."""

    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    # The business calendar steps fall due in (the people who carry them out keep office hours); None: the
    # complaint's own SLA calendar.
    calendar: Optional[str] = None
    # The most money a role grants without approval, per step, per complaint (the sum of its steps not cancelled)
    # and per requester in a local day; above any of them a higher role whose own limits allow it approves.
    approval_limits: dict[Role, Decimal] = {"agent": Decimal(50), "senior": Decimal(200),
                                            "supervisor": Decimal(1000), "manager": Decimal(10000)}
    complaint_limits: dict[Role, Decimal] = {"agent": Decimal(100), "senior": Decimal(400),
                                             "supervisor": Decimal(2000), "manager": Decimal(20000)}
    daily_limits: dict[Role, Decimal] = {"agent": Decimal(200), "senior": Decimal(800),
                                         "supervisor": Decimal(4000), "manager": Decimal(40000)}
    # Business time after resolution by which each kind of step is due (apology: when it is sent).
    due: dict[StepKind, BusinessMinutes] = {"apology_letter": 60, "replacement": 18 * 60, "refund": 9 * 60,
                                            "voucher": 4 * 60, "gift": 18 * 60, "follow_up_call": 9 * 60}
    rules: list[CompensationRule] = []
    survey: SurveyConfig = SurveyConfig()

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        # The shipped currency needs no look-up: babel's table costs every command tens of milliseconds.
        if value == "CNY":
            return value
        from babel.numbers import list_currencies

        if value not in list_currencies():
            raise ValueError(f"'{value}' is not an ISO 4217 currency code; write e.g. CNY, HKD, TWD or USD")
        return value

    @field_validator("approval_limits", "complaint_limits", "daily_limits")
    @classmethod
    def _limits_rise_with_the_role(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        previous: tuple[str, Decimal] | None = None
        for role in ROLES:
            if role not in value:
                continue
            limit = value[role]
            if not 0 <= limit <= MAX_AMOUNT:
                raise ValueError(f"{role}: {limit} is not allowed; a limit is 0 to {MAX_AMOUNT:.2f}")
            if previous is not None and limit < previous[1]:
                raise ValueError(f"{role}: {limit} is below the {previous[0]}'s {previous[1]}; "
                                 "a higher role may grant at least as much (agent <= senior <= supervisor <= manager)")
            previous = (role, limit)
        return value

    def due_after(self, kind: str) -> float:
        """Business minutes after resolution by which a step of `kind` is due."""
        return self.due.get(kind, 9 * 60)  # type: ignore[call-overload]

    def limits(self, role: str) -> tuple[Decimal, Decimal, Decimal]:
        """What `role` grants without approval: per step, per complaint, per requester and day (0 when unset)."""
        step, complaint, day = (limits.get(role, Decimal(0))  # type: ignore[call-overload]
                                for limits in (self.approval_limits, self.complaint_limits, self.daily_limits))
        return step, complaint, day


# The most any free text (a Text column) may hold; the limits below may only be tighter.
TEXT_CEILING = 100_000


class LimitsConfig(_Strict):
    """How many characters free text may have: a complaint's summary, a note or message, a reason."""

    summary: int = Field(default=2000, ge=1, le=TEXT_CEILING)
    note: int = Field(default=4000, ge=1, le=TEXT_CEILING)
    reason: int = Field(default=1000, ge=1, le=TEXT_CEILING)


class IdentityConfig(_Strict):
    """Who is acting, and how sign-in defends itself.

    `trust_claims`: on a direct database seat, `--as` and REDRESS_USER name the acting user. Only for the demo,
    the tests and trials: anyone at the keyboard may then act as anyone. Otherwise the operating-system account
    mapped to a member of staff acts (`redress user add NAME --os-user ACCOUNT`), and through a server the
    signed-in user.
    """

    trust_claims: bool = False
    session_hours: float = Field(default=12, gt=0, le=24 * 30)
    personal_token_days: int = Field(default=90, ge=1, le=3650)  # the longest a named token may live
    slow_after_failures: int = Field(default=3, ge=1, le=100)  # then each try waits 1 s, 2 s, 4 s ... longer
    lock_after_failures: int = Field(default=8, ge=2, le=100)
    lock_minutes: float = Field(default=15, gt=0, le=24 * 60)

    @model_validator(mode="after")
    def _lock_after_slowing(self) -> IdentityConfig:
        if self.lock_after_failures <= self.slow_after_failures:
            raise ValueError("lock_after_failures must be above slow_after_failures")
        return self


class ServerConfig(_Strict):
    """`redress serve`: where it listens and what it accepts."""

    host: str = "127.0.0.1"
    port: int = Field(default=8480, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    max_body_bytes: int = Field(default=65536, ge=1024, le=10_000_000)
    # Web pages on these origins may call the API from a browser (a web form or chat widget with an intake key).
    cors_origins: list[Annotated[str, Field(pattern=r"^https?://[^/\s]+$")]] = []


class MaildirMailbox(_Strict):
    """A local Maildir folder (new/, cur/, tmp/) that a mail server or `fetchmail` delivers into."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=32)
    type: Literal["maildir"]
    path: str = "inbox-mail"


class ImapMailbox(_Strict):
    """An IMAP mailbox, over TLS with the server's certificate verified (`ca_file` for a private CA)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=32)
    type: Literal["imap"]
    host: str
    port: int = Field(default=993, ge=1, le=65535)
    ssl: bool = True
    starttls: bool = False
    username: str
    password_env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")  # the password is read from this variable
    folder: str = "INBOX"
    done_folder: Optional[str] = None  # taken mail is moved here; else it stays, flagged as taken
    ca_file: Optional[str] = None


class SenderLimit(_Strict):
    messages: int = Field(default=20, ge=1)
    per_minutes: float = Field(default=60, gt=0)


class MailConfig(_Strict):
    """Customer mail in: which mailboxes are read, how often, and what is refused."""

    mailboxes: list[Annotated[MaildirMailbox | ImapMailbox, Field(discriminator="type")]] = []
    fetch_every_seconds: float = Field(default=60, ge=5, le=86_400)  # how often `redress scheduler` reads them
    actor: str = Field(default="mailroom", pattern=r"^[a-z][a-z0-9._-]{1,63}$")  # the system user mail acts as
    category: str = "other"  # of a complaint filed from mail; the agent changes it at triage
    reopen_within_days: float = Field(default=14, ge=0, le=365)  # a reply to a resolved complaint reopens it
    sender_limit: SenderLimit = SenderLimit()
    blocked_senders: list[str] = []  # addresses, or domains as "@example.com"
    max_attachment_bytes: int = Field(default=10 * 1024 * 1024, ge=0, le=100 * 1024 * 1024)
    max_attachments: int = Field(default=10, ge=0, le=100)

    @field_validator("blocked_senders")
    @classmethod
    def _lowercase(cls, values: list[str]) -> list[str]:
        return [value.strip().lower() for value in values if value.strip()]


class ReportMailConfig(_Strict):
    """The monthly pack: on `day` of each month at `at` (local time) the scheduler mails the month before's
    reports, as one HTML file, to `to` (roles, meaning their active members with an address, and addresses)."""

    day: Optional[int] = Field(default=None, ge=1, le=28)  # None: the pack is not mailed
    at: str = Field(default="08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    to: list[str] = ["manager"]
    language: Optional[Language] = None  # default: default_language
    # Where it goes; default: the customer mail channel (messages.email).
    channel: Optional[Annotated[EmailChannel | FolderChannel, Field(discriminator="type")]] = None

    @field_validator("to")
    @classmethod
    def _roles_or_addresses(cls, values: list[str]) -> list[str]:
        for value in values:
            if value not in ROLES and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
                raise ValueError(f"'{value}' is neither a role ({', '.join(ROLES)}) nor an email address")
        return values


class ReportsConfig(_Strict):
    mail: ReportMailConfig = ReportMailConfig()


class SchedulerConfig(_Strict):
    sweep_seconds: float = Field(default=0.5, gt=0, le=60)
    batch_size: int = Field(default=200, ge=1, le=10_000)
    # A deadline whose firing raises is tried again after this, doubling, and set aside after the last try.
    retry_backoff_seconds: float = Field(default=60, gt=0)
    fire_attempts: int = Field(default=5, ge=1, le=20)


class SlaConfig(_Strict):
    pause_states: list[str] = ["waiting_customer"]
    # Why a complaint may wait on the customer: waiting needs one of these. Empty: any reason, or none.
    pause_reasons: list[Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]] = []
    policies: dict[str, SlaPolicy]


class IntensityPhrase(_Strict):
    reason: str
    severity: str
    words: list[str] = Field(min_length=1)


class RepeatContact(_Strict):
    window_days: int = Field(default=30, ge=1)
    steps_per_contact: int = Field(default=1, ge=0)
    max_steps: int = Field(default=2, ge=0)


class History(_Strict):
    window_days: int = Field(default=90, ge=1)
    complaints: int = Field(default=3, ge=1)
    steps: int = Field(default=1, ge=0)


class Intensity(_Strict):
    phrases: list[IntensityPhrase] = []
    repeat_contact: RepeatContact = RepeatContact()
    history: History = History()


class Config(_Strict):
    """The whole validated configuration; `base_dir` is the folder relative paths start from."""

    database: DatabaseConfig = DatabaseConfig()
    timezone: str = "Asia/Shanghai"
    default_language: Language = "zh-CN"
    severities: list[Severity] = Field(min_length=1)
    default_severity: str
    categories: list[Category] = Field(min_length=1)
    member_tiers: list[MemberTier] = Field(min_length=1)
    intensity: Intensity = Intensity()
    calendars: dict[str, CalendarConfig]
    sla: SlaConfig
    alerts: AlertsConfig = AlertsConfig()
    outbox: OutboxConfig = OutboxConfig()
    messages: MessagesConfig = MessagesConfig()
    compensation: CompensationConfig = CompensationConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    limits: LimitsConfig = LimitsConfig()
    identity: IdentityConfig = IdentityConfig()
    server: ServerConfig = ServerConfig()
    mail: MailConfig = MailConfig()
    reports: ReportsConfig = ReportsConfig()
    policy_manual: str = "policy_manual.yaml"
    # Departments and people complaints are routed to, offered as a list in the terminal app.
    owners: list[Annotated[str, Field(min_length=1, max_length=NAME_LENGTHS["owner"])]] = []
    # Whether `route --owner` may name someone not in `owners` (with no owners listed, any owner goes).
    owners_free_text: bool = False
    base_dir: Path = Path(".")

    _timezone_ok = field_validator("timezone")(_check_timezone)

    @model_validator(mode="after")
    def _names_refer_to_defined_things(self) -> Config:
        for field in ("severities", "categories", "member_tiers", "sla.pause_reasons"):
            names = (self.sla.pause_reasons if field == "sla.pause_reasons"
                     else [item.name for item in getattr(self, field)])
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"{field}: duplicate names {', '.join(duplicates)}")
        allowed = self.severity_names
        if self.default_severity not in allowed:
            raise ValueError(
                f"default_severity: '{self.default_severity}' is not a severity; allowed: {', '.join(allowed)}"
            )
        self._check_sla(allowed)
        self._check_rules(allowed)
        self._check_named_files()
        self._check_mail()
        for index, phrase in enumerate(self.intensity.phrases):
            if phrase.severity not in allowed:
                raise ValueError(
                    f"intensity.phrases[{index}].severity: '{phrase.severity}' is not a severity; "
                    f"allowed: {', '.join(allowed)}"
                )
        return self

    def _check_sla(self, severities: list[str]) -> None:
        from states.definition import STATES

        missing = [name for name in severities if name not in self.sla.policies]
        if missing:
            raise ValueError(f"sla.policies: no policy for severity {', '.join(missing)}")
        for name, policy in self.sla.policies.items():
            if name not in severities:
                raise ValueError(f"sla.policies.{name}: not a severity; allowed: {', '.join(severities)}")
            if policy.calendar not in self.calendars:
                raise ValueError(
                    f"sla.policies.{name}.calendar: '{policy.calendar}' is not a calendar; "
                    f"allowed: {', '.join(self.calendars)}"
                )
        if self.compensation.calendar is not None and self.compensation.calendar not in self.calendars:
            raise ValueError(f"compensation.calendar: '{self.compensation.calendar}' is not a calendar; "
                             f"allowed: {', '.join(self.calendars)}")
        for level, calendar in self.alerts.staff_hours.items():
            if calendar not in self.calendars:
                raise ValueError(f"alerts.staff_hours.{level}: '{calendar}' is not a calendar; "
                                 f"allowed: {', '.join(self.calendars)}")
        for state in self.sla.pause_states:
            if state not in STATES:
                raise ValueError(f"sla.pause_states: '{state}' is not a state; allowed: {', '.join(STATES)}")

    def _check_named_files(self) -> None:
        manual = self.resolve_path(self.policy_manual)
        if not manual.is_file():
            raise ValueError(f"policy_manual: no file {manual}")
        if self.messages.templates_dir and not self.resolve_path(self.messages.templates_dir).is_dir():
            raise ValueError(f"messages.templates_dir: no folder {self.resolve_path(self.messages.templates_dir)}")

    def _check_mail(self) -> None:
        if self.mail.category not in self.category_names:
            raise ValueError(f"mail.category: '{self.mail.category}' is not a category; "
                             f"allowed: {', '.join(self.category_names)}")
        names = [box.name for box in self.mail.mailboxes]
        if "sms" in names:
            raise ValueError("mail.mailboxes: 'sms' names the texts an SMS gateway posts; name the mailbox otherwise")
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"mail.mailboxes: duplicate names {', '.join(duplicates)}")
        for index, box in enumerate(self.mail.mailboxes):
            if isinstance(box, ImapMailbox) and not (box.ssl or box.starttls) and box.host not in LOCAL_HOSTS:
                raise ValueError(f"mail.mailboxes[{index}]: plain IMAP (ssl and starttls both off) would send the "
                                 f"password to {box.host} unencrypted; allowed only to 127.0.0.1 or localhost")
            if isinstance(box, ImapMailbox) and box.ca_file and not self.resolve_path(box.ca_file).is_file():
                raise ValueError(f"mail.mailboxes[{index}].ca_file: no file {self.resolve_path(box.ca_file)}")

    def _check_rules(self, severities: list[str]) -> None:
        known = {"severity": severities, "category": self.category_names, "tier": self.tier_names}
        for index, rule in enumerate(self.compensation.rules):
            for field, allowed in known.items():
                for value in getattr(rule.when, field):
                    if value not in allowed:
                        raise ValueError(
                            f"compensation.rules[{index}].when.{field}: '{value}' is not defined; "
                            f"allowed: {', '.join(allowed)}"
                        )

    def tier(self, name: str) -> MemberTier:
        return next(t for t in self.member_tiers if t.name == name)

    @property
    def severity_names(self) -> list[str]:
        return [s.name for s in self.severities]

    @property
    def category_names(self) -> list[str]:
        return [c.name for c in self.categories]

    @property
    def tier_names(self) -> list[str]:
        return [t.name for t in self.member_tiers]

    def severity_rank(self, name: str) -> int:
        """Position of a severity in the configured order (0 = least severe)."""
        return self.severity_names.index(name)

    def resolve_path(self, value: str) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.base_dir / path


DEFAULT_CONFIG_NAME = "config.yaml"


def config_path(explicit: str | None = None) -> Path:
    """--config, else REDRESS_CONFIG, else ./config.yaml, else the config.yaml shipped beside cli.py."""
    chosen = explicit or os.environ.get("REDRESS_CONFIG")
    if chosen:
        return Path(chosen)
    local = Path.cwd() / DEFAULT_CONFIG_NAME
    if local.exists():
        return local
    return Path(__file__).resolve().parent.parent / DEFAULT_CONFIG_NAME


def load_config(path: Path) -> Config:
    """Read and validate `path`; raise ConfigError naming the file, the key path and what is allowed."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start} cannot be read); save it as UTF-8") from None
    try:
        # libyaml's C parser when installed: the pure-Python one costs a read command 10 ms.
        raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    raw.pop("base_dir", None)
    try:
        return Config(**raw, base_dir=path.resolve().parent)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_describe(exc.errors()[0])}") from None


def _describe(error: Any) -> str:
    """One line for the first validation error: key path, problem, and what is allowed."""
    loc = error.get("loc", ())
    key = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if error.get("type") == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        message = f"unknown key; allowed keys here: {', '.join(allowed)}"
    return f"{key}: {message}" if key else message


def _allowed_keys(parent: tuple) -> list[str]:
    model: Any = Config
    by_type: dict[str, Any] = {}  # the channels a key may hold, by the `type` pydantic puts in the key path
    for part in parent:
        if isinstance(part, int):
            continue
        if part in by_type:
            model, by_type = by_type[part], {}
            continue
        inner = _models_in(model.model_fields[part].annotation)
        model = inner[0] if inner else model
        by_type = {get_args(m.model_fields["type"].annotation)[0]: m for m in inner if "type" in m.model_fields}
    return [name for name in model.model_fields if name != "base_dir"]


def _models_in(annotation: Any) -> list[Any]:
    """The config models an annotation holds, however deep: in a list, an Optional, a union of channels."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for inner in get_args(annotation) for model in _models_in(inner)]
