"""The human tables at 80 and 120 columns, through the installed command, against stored snapshots.

A shift's worth of Chinese and English complaints is filed, breached and escalated on a pinned clock; each
table is compared with tests/e2e/snapshots/<name>-<width>.txt exactly (REDRESS_UPDATE_SNAPSHOTS=1 rewrites
them), and the properties that make a table readable are asserted on their own as well.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from rich.cells import cell_len

from tests.conftest import CONFIG, OS_ACCOUNT
from tests.e2e.test_cli import REDRESS

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("REDRESS_UPDATE_SNAPSHOTS") == "1"
FILED = "2026-11-20T10:00:00+08:00"  # Friday morning in Shanghai
BREACHED = "2026-11-23T15:00:00+08:00"  # Monday afternoon: deadlines fire, complaints climb
VIEWED = "2026-11-23T16:30:00+08:00"
NUMBER = re.compile(r"C-\d{8}-\d{4}")

ZH_SUMMARY = ("快递已经超过十天没有送到，物流信息一直停在上海转运中心，"
              "打了三次客服电话都说再等等，孩子的生日礼物要来不及了")
EN_SUMMARY = ("The blender arrived with a cracked jug and the motor smells of burning after two minutes; "
              "I want a replacement shipped this week, not another form to fill in")
TW_SUMMARY = "客服態度很差，電話裡一直打斷我說話，還說這是我自己的問題，我要向消基會投訴"
REFUND_REASON = "Customer paid twice for the replacement jug; refund the second charge to the original card"


def redress(*args: str, env: dict[str, str], now: str = VIEWED, columns: int = 120) -> str:
    """One run of the installed command; it must succeed."""
    result = subprocess.run([str(REDRESS), *args], env={**env, "REDRESS_NOW": now, "COLUMNS": str(columns)},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"redress {' '.join(args)} exited {result.returncode}: {result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def shift(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], list[str]]:
    """A database after a weekend: three complaints filed Friday, breached and escalated by Monday afternoon."""
    home = tmp_path_factory.mktemp("tables")
    settings = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    settings["policy_manual"] = str(CONFIG.parent / "policy_manual.yaml")
    settings["messages"]["email"] = settings["messages"]["sms"] = {"type": "folder", "path": str(home / "mail")}
    config = home / "config.yaml"
    config.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDRESS_") and k not in ("FORCE_COLOR", "TERM")}
    env.update(REDRESS_CONFIG=str(config), REDRESS_DB=f"sqlite:///{home / 'redress.db'}", NO_COLOR="1")

    def run(*args: str, user: str | None = None, now: str = FILED) -> str:
        return redress(*args, *(["--as", user] if user else []), env=env, now=now)

    run("db", "upgrade")
    run("user", "add", "boss", "--role", "manager", "--os-user", OS_ACCOUNT)
    for name, role in (("chen.jie", "supervisor"), ("amy", "agent")):
        run("user", "add", name, "--role", role, user="boss")
    filed = [
        ("--channel", "phone", "--category", "delivery", "--severity", "high", "--summary", ZH_SUMMARY,
         "--phone", "13800138000", "--name", "王芳", "--order", "SO-20261101-0001"),
        ("--channel", "email", "--category", "damaged", "--summary", EN_SUMMARY, "--email",
         "john.smith@example.com", "--name", "John Smith", "--language", "en"),
        ("--channel", "letter", "--category", "service", "--severity", "medium", "--summary", TW_SUMMARY,
         "--phone", "+886912345678", "--name", "林雅婷", "--language", "zh-TW"),
    ]
    numbers = [json.loads(run("new", *fields, "--json", user="amy"))["number"] for fields in filed]
    chinese, english, taiwan = numbers
    for step in ("triage", "take", "start"):
        run(step, english, user="amy")
    run("triage", chinese, user="amy")
    run("compensation", "add", english, "refund", "--amount", "128.50", "--reason", REFUND_REASON, user="amy")
    run("compensation", "add", english, "apology_letter", "--reason", "道歉信：商品破损，给您添麻烦了", user="amy")
    run("tick", now=BREACHED)
    run("escalation", "ack", taiwan, "--reason", "calling the customer back now", user="chen.jie", now=BREACHED)
    return env, numbers


TABLES = {
    "queue": lambda numbers: ["queue"],
    "show-chinese": lambda numbers: ["show", numbers[0]],
    "show-english": lambda numbers: ["show", numbers[1]],
    "compensation-list": lambda numbers: ["compensation", "list"],
    "outbox-list": lambda numbers: ["outbox", "list"],
    "escalations": lambda numbers: ["escalations", "--as", "chen.jie"],
    "history": lambda numbers: ["history", numbers[1]],
    "customer-show": lambda numbers: ["customer", "show", "13800138000"],
}


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("name", sorted(TABLES))
def test_each_table_reads_as_its_snapshot_at_80_and_120_columns(shift, name, width):
    env, numbers = shift
    shown = redress(*TABLES[name](numbers), env=env, columns=width)
    snapshot = SNAPSHOTS / f"{name}-{width}.txt"
    if UPDATE:
        snapshot.parent.mkdir(exist_ok=True)
        snapshot.write_text(shown, encoding="utf-8")
    assert shown == snapshot.read_text(encoding="utf-8")
    assert_readable(shown, width)


def assert_readable(shown: str, width: int) -> None:
    """Every line fits; complaint numbers are whole; times are short; no Python values, no negative durations."""
    for line in shown.splitlines():
        assert cell_len(line) <= width, line
    for fragment in re.findall(r"C-\d[\d-]*", shown):
        assert NUMBER.fullmatch(fragment), fragment
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", shown), "an ISO time instead of a short local one"
    assert not re.search(r"\b(False|True|None)\b", shown)
    assert not re.search(r"(?<![\w-])-\d", shown), "a negative number"


def test_long_summaries_end_in_an_ellipsis_on_one_line_and_numbers_stay_whole(shift):
    env, numbers = shift
    for width in (80, 120):
        queue = redress("queue", env=env, columns=width).splitlines()
        rows = {NUMBER.match(line).group(): line for line in queue if NUMBER.match(line)}
        assert sorted(rows) == sorted(numbers)
        for number, summary in zip(numbers, (ZH_SUMMARY, EN_SUMMARY, TW_SUMMARY), strict=True):
            shown = rows[number].rstrip()
            assert shown.endswith("…")
            kept = shown[:-1].split("   ")[-1].lstrip()
            assert summary.startswith(kept) and len(kept) > 8
        english = rows[numbers[1]].rstrip()[:-1].split("   ")[-1].lstrip()
        assert EN_SUMMARY[len(english)] == " ", "an English summary is cut between words"


def test_show_lists_clocks_in_business_time_steps_and_the_commands_to_type(shift):
    env, numbers = shift
    shown = redress("show", numbers[1], env=env, columns=80)
    assert re.search(r"resolution\s+11-2\d \d\d:\d\d\s+(\d+h )?\d+m left", shown)
    assert re.search(r"first response\s+11-20 \d\d:\d\d\s+overdue by \d+h \d\dm", shown)
    assert re.search(r"refund\s+awaiting_approval\s+128\.50 CNY", shown)
    assert f"redress wait {numbers[1]} --message ..." in shown
    assert f"redress severity {numbers[1]} --to ... --reason ..." in shown
    assert "wait_for_customer" not in shown and "change_severity" not in shown
    detail = json.loads(redress("show", numbers[1], "--json", env=env))
    assert {"sla", "allowed_actions", "clocks", "compensation_steps"} <= detail.keys()
    assert [c["kind"] for c in detail["clocks"]] == ["first_response", "resolution", "escalation"]
    assert all(c["business_minutes_left"] is None or c["business_minutes_left"] >= 0 for c in detail["clocks"])


def test_the_board_counts_business_time_past_the_deadline_and_never_a_negative(shift):
    env, numbers = shift
    board = json.loads(redress("escalations", "--as", "chen.jie", "--json", env=env))
    assert {row["number"] for row in board} == set(numbers)
    # Friday 10:00 + 1h business time is due 11:00; Monday 16:30 is 7h + 7h30m of business time later.
    chinese = next(row for row in board if row["number"] == numbers[0])
    assert chinese["minutes_past_deadline"] == 7 * 60 + 7 * 60 + 30 and chinese["deadline_passed"] is True
    before = json.loads(redress("escalations", "--as", "chen.jie", "--json", env=env, now=FILED))
    assert all(row["minutes_past_deadline"] == 0 and row["deadline_passed"] is False for row in before)
    table = redress("escalations", "--as", "chen.jie", env=env, now=FILED, columns=80)
    assert_readable(table, 80)
    assert "yes" in table and "0m" not in table


# --- the cutting and the failed-deadline lines, without a subprocess ------------------------------------------


def test_text_is_cut_at_a_word_or_a_chinese_character_and_never_splits_one():
    from workflow.faces.text import shorten

    assert shorten("The blender arrived with a cracked jug", 20) == "The blender arrived…"
    assert shorten("快递已经超过十天没有送到", 9) == "快递已经…"  # 8 cells and the ellipsis; a 5th would split
    assert shorten("[Redress] C-20261120-0003 resolution due", 30) == "[Redress] C-20261120-0003…"
    assert shorten("[Redress] C-20261120-0003 resolution due", 20) == "[Redress]…"
    assert shorten("john.smith@example.com", 12) == "john.smith@…"  # one long word: cut inside, nothing else
    assert shorten("two\n lines  apart", 40) == "two lines  apart"
    for width in range(1, 30):
        assert cell_len(shorten(ZH_SUMMARY + EN_SUMMARY, width)) <= width


def test_a_generic_table_prints_yes_and_dashes_not_python_values(monkeypatch, capsys):
    from rich.console import Console

    from workflow.faces.cli import tables

    monkeypatch.setattr(tables, "_console", Console(width=80))
    tables.print_rows("Users", [{"name": "amy", "active": True, "email": None}, {"name": "bo", "active": False,
                                                                              "email": ""}])
    shown = capsys.readouterr().out
    assert "yes" in shown and not re.search(r"\b(False|True|None)\b", shown)


def test_failed_deadlines_keep_each_line_to_the_screen_with_short_times(monkeypatch, capsys):
    from rich.console import Console

    from workflow.faces.cli import tables

    monkeypatch.setattr(tables, "_console", Console(width=80))
    row = {"id": 7, "complaint": "C-20261120-0001", "kind": "first_response", "due_at": "2026-11-20T03:00:00+00:00",
           "status": "retrying", "attempts": 2, "retry_at": "2026-11-20T03:05:00+00:00",
           "error": "OperationalError: " + "the database refused the statement because " * 4}
    tables.print_failed_deadlines([row], "Asia/Shanghai")
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "     7  C-20261120-0001  first_response  due 11-20 11:00  try 3 at 11-20 11:05"
    assert lines[2].startswith("        OperationalError: the database") and lines[2].endswith("…")
    assert all(cell_len(line) <= 80 for line in lines)
