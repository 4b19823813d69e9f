"""config.yaml validation: each mistake names the file, the key path and what is allowed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from workflow.config import load_config
from workflow.domain.clock import Clock
from workflow.domain.errors import ConfigError

CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"
MINIMAL = (
    f"policy_manual: {CONFIG.parent / 'policy_manual.yaml'}\n"
    "severities: [{name: low}, {name: high}]\ndefault_severity: low\n"
    "categories: [{name: other}]\nmember_tiers: [{name: registered}]\n"
    "calendars: {always: {always_open: true}}\n"
    "sla: {policies: {low: {calendar: always, first_response: 1h, resolution: 8h},"
    " high: {calendar: always, first_response: 15m, resolution: 2h}}}\n"
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_config_is_valid():
    config = load_config(CONFIG)
    assert config.severity_names == ["low", "medium", "high", "critical"]
    assert config.timezone == "Asia/Shanghai"


@pytest.mark.parametrize(
    "text,message",
    [
        (MINIMAL.replace("default_severity: low", "default_severity: urgent"),
         "default_severity: 'urgent' is not a severity; allowed: low, high"),
        (MINIMAL + "default_language: fr\n", "default_language: Input should be 'zh-CN', 'zh-TW' or 'en'"),
        (MINIMAL + "timezone: Mars/Olympus\n", "timezone: unknown timezone 'Mars/Olympus'"),
        (MINIMAL + "database: {uri: x}\n", "database.uri: unknown key; allowed keys here: url"),
        (MINIMAL.replace("{name: high}", "{name: high, colour: red}"),
         "severities[1].colour: unknown key; allowed keys here: name, label"),
        (MINIMAL + "intensity: {phrases: [{reason: r, severity: extreme, words: [x]}]}\n",
         "intensity.phrases[0].severity: 'extreme' is not a severity; allowed: low, high"),
        (MINIMAL + "member_tiers: [{name: gold, severity_bump: 9}]\n",
         "member_tiers[0].severity_bump: Input should be less than or equal to 3"),
        ("severities: [\n", "not valid YAML at line 2"),
        (MINIMAL.replace("calendar: always, first_response: 1h", "calendar: office, first_response: 1h"),
         "sla.policies.low.calendar: 'office' is not a calendar; allowed: always"),
        (MINIMAL.replace("first_response: 1h", "first_response: soon"),
         "sla.policies.low.first_response: 'soon' is not a duration; write e.g. 30m, 4h or 1h30m"),
        (MINIMAL.replace("first_response: 1h", "first_response: 0s"),
         "sla.policies.low.first_response: '0s' is not a positive duration"),
        (MINIMAL.replace("resolution: 8h", "resolution: 0m"),
         "sla.policies.low.resolution: '0m' is not a positive duration"),
        (MINIMAL.replace("resolution: 8h", "resolution: 8h, climb_every: 0m"),
         "sla.policies.low.climb_every: '0m' is not a positive duration"),
        (MINIMAL.replace("resolution: 8h", "resolution: 100000h"),
         "sla.policies.low.resolution: '100000h' is longer than 2000h"),
        (MINIMAL.replace(" high: {calendar: always, first_response: 15m, resolution: 2h}", ""),
         "sla.policies: no policy for severity high"),
        (MINIMAL.replace("sla: {policies:", "sla: {pause_states: [napping], policies:"),
         "sla.pause_states: 'napping' is not a state"),
        (MINIMAL.replace("{always: {always_open: true}}", "{always: {hours: {mon: ['18:00-09:00']}}}"),
         "calendars.always.hours: '18:00-09:00' is not a span of hours"),
        (MINIMAL.replace("{always: {always_open: true}}", "{always: {holidays_country: XX}}"),
         "calendars.always.holidays_country: 'XX' is not a country the holidays package knows"),
        (MINIMAL.replace("{always: {always_open: true}}", "{always: {hours: {sat: []}, working_days: [2026-12-05]}}"),
         "calendars.always: no working hours on any weekday, so its clocks would never run"),
        ("- a\n- b\n", "expected a mapping of settings"),
        (MINIMAL + "outbox: {stale_after_seconds: 30, lease_seconds: 60}\n",
         "outbox: stale_after_seconds is the old name of lease_seconds; give only lease_seconds"),
        # Checked for meaning, not only for type:
        (MINIMAL.replace("{always: {always_open: true}}", "{always: {always_open: true, timezone: Asia/Shanghia}}"),
         "calendars.always.timezone: unknown timezone 'Asia/Shanghia'"),
        (MINIMAL.replace("{always: {always_open: true}}", "{always: {hours: {mon: ['09:00-12:00', '11:00-18:00']}}}"),
         "calendars.always.hours: '09:00-12:00' and '11:00-18:00' overlap"),
        (MINIMAL.replace("{always: {always_open: true}}",
                         "{always: {hours: {mon: ['09:00-18:00']},"
                         " working_day_hours: ['09:00-18:00', '10:00-11:00']}}"),
         "calendars.always.working_day_hours: '09:00-18:00' and '10:00-11:00' overlap"),
        (MINIMAL + "compensation: {approval_limits: {agent: -5, senior: 200}}\n",
         "compensation.approval_limits: agent: -5 is not allowed; a limit is 0 to 10000000.00"),
        (MINIMAL + "compensation: {approval_limits: {agent: 50, senior: 200, supervisor: 100, manager: 10000}}\n",
         "compensation.approval_limits: supervisor: 100 is below the senior's 200"),
        (MINIMAL + "compensation: {approval_limits: {agent: 50, manager: 100000000}}\n",
         "manager: 100000000 is not allowed"),
        (MINIMAL + "compensation: {currency: XYZ}\n",
         "compensation.currency: 'XYZ' is not an ISO 4217 currency code"),
        (MINIMAL + "compensation: {rules: [{steps: [{kind: refund, amount: 99999999}]}]}\n",
         "compensation.rules[0].steps[0].amount: Input should be less than or equal to 10000000"),
        (MINIMAL + "messages: {sms: {type: webhook, url: 'https://'}}\n",
         "messages.sms.webhook.url: 'https://' names no host"),
        (MINIMAL + "messages: {templates_dir: no-such-folder}\n", "messages.templates_dir: no folder "),
        (MINIMAL.replace("policy_manual: ", "policy_manual: /nonexistent"), "policy_manual: no file /nonexistent"),
        (MINIMAL + "limits: {summary: 0}\n", "limits.summary: Input should be greater than or equal to 1"),
        (MINIMAL.replace("{name: registered}", "{name: registered_long_name}"),
         "member_tiers[0].name: String should have at most 16 characters"),
        (MINIMAL + f"owners: [物流部, {'部' * 129}]\n", "owners[1]: String should have at most 128 characters"),
    ],
)
def test_a_mistake_names_file_key_path_and_what_is_allowed(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(str(path))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_a_config_written_for_the_batch_sender_still_loads_with_its_stale_time_as_the_lease(tmp_path):
    config = load_config(write(tmp_path, MINIMAL + "outbox: {batch_size: 100, stale_after_seconds: 300}\n"))
    assert config.outbox.lease_seconds == 300
    assert load_config(write(tmp_path, MINIMAL)).outbox.lease_seconds == 60


def test_configured_names_are_held_to_the_length_of_the_column_that_stores_them():
    from workflow.adapters.models import COMPLAINTS, CUSTOMERS
    from workflow.config import NAME_LENGTHS

    columns = {"severity": COMPLAINTS.c.severity, "category": COMPLAINTS.c.category, "tier": CUSTOMERS.c.tier,
               "owner": COMPLAINTS.c.owner}
    assert NAME_LENGTHS == {name: column.type.length for name, column in columns.items()}


def test_a_config_that_is_not_utf8_is_one_line(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes(MINIMAL.encode() + b"# caf\xe9\n")
    expected = r"config.yaml: not UTF-8 text \(byte \d+ cannot be read\); save it as UTF-8$"
    with pytest.raises(ConfigError, match=expected):
        load_config(path)


def test_a_known_currency_other_than_the_default_loads(tmp_path):
    assert load_config(write(tmp_path, MINIMAL + "compensation: {currency: HKD}\n")).compensation.currency == "HKD"


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read configuration"):
        load_config(tmp_path / "absent.yaml")


def test_relative_paths_are_resolved_against_the_config_folder(tmp_path):
    config = load_config(write(tmp_path, MINIMAL))
    assert config.resolve_path("manual.yaml") == tmp_path / "manual.yaml"


def test_redress_now_pins_the_clock(monkeypatch):
    monkeypatch.setenv("REDRESS_NOW", "2026-11-20T10:00:00+08:00")
    assert Clock.from_environment().now() == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def test_a_malformed_redress_now_is_refused(monkeypatch):
    monkeypatch.setenv("REDRESS_NOW", "next tuesday")
    with pytest.raises(ConfigError, match="REDRESS_NOW: 'next tuesday' is not an ISO 8601 time"):
        Clock.from_environment()


def test_an_unpinned_clock_follows_real_time():
    before = datetime.now(UTC)
    assert before <= Clock().now() <= datetime.now(UTC)


@pytest.mark.parametrize("value", ["1899-12-31T23:00:00", "2100-01-01T08:00:00+08:00", "0001-01-01T00:00+08:00"])
def test_a_redress_now_outside_the_years_kept_is_refused(monkeypatch, value):
    monkeypatch.setenv("REDRESS_NOW", value)
    with pytest.raises(ConfigError, match=r"is outside the years Redress keeps time for \(2000-2099\)"):
        Clock.from_environment()


def test_pinning_the_clock_outside_the_years_kept_is_refused():
    with pytest.raises(ValueError, match="outside the years"):
        Clock().pin(datetime(1970, 1, 1, tzinfo=UTC))


def test_the_alerts_fallback_address_must_be_an_email_address(tmp_path):
    assert load_config(write(tmp_path, MINIMAL + "alerts: {fallback_email: duty@example.cn}\n")) \
        .alerts.fallback_email == "duty@example.cn"
    with pytest.raises(ConfigError, match=r"alerts.fallback_email: 'duty manager' is not an email address$"):
        load_config(write(tmp_path, MINIMAL + "alerts: {fallback_email: duty manager}\n"))


def test_plain_imap_is_refused_at_load_unless_to_this_machine(tmp_path):
    import yaml

    settings = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    settings["policy_manual"] = str(CONFIG.parent / "policy_manual.yaml")
    settings["mail"]["mailboxes"] = [{"name": "support", "type": "imap", "host": "imap.example.cn", "ssl": False,
                                      "username": "support", "password_env": "PW"}]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match="plain IMAP .* unencrypted; allowed only to 127.0.0.1 or localhost"):
        load_config(path)
    settings["mail"]["mailboxes"][0]["host"] = "localhost"
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    assert load_config(path).mail.mailboxes[0].host == "localhost"
