"""The monthly pack mailed by the real scheduler on its day, through the outbox, to a real SMTP server."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from tests.conftest import CONFIG, _staffed
from tests.e2e.scheduling import Scheduler, engine_app, wait_for
from tests.e2e.test_cli import redress
from tests.report_month import work_the_month
from workflow.read.reports.mailing import mail_due_pack, month_due

PACK_DAY = datetime(2026, 12, 1, 8, 5, tzinfo=ZoneInfo("Asia/Shanghai"))  # just after the pack's 08:00


def _config(tmp_path: Path, port: int) -> Path:
    settings = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    settings["policy_manual"] = str(CONFIG.parent / "policy_manual.yaml")
    settings["messages"]["email"] = settings["messages"]["sms"] = {"type": "folder", "path": str(tmp_path / "mail")}
    settings["reports"] = {"mail": {"day": 1, "at": "08:00", "to": ["manager", "ops@example.cn"],
                                    "channel": {"type": "email", "host": "127.0.0.1", "port": port,
                                                "sender": "reports@example.cn"}}}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return path


def test_the_scheduler_mails_last_months_pack_once_with_the_html_attached(smtp, tmp_path):
    inbox, port = smtp
    url = f"sqlite:///{tmp_path / 'redress.db'}"
    staffed = _staffed(url)
    work_the_month(next(staffed))
    staffed.close()
    config = _config(tmp_path, port)
    redress("user", "edit", "boss", "--email", "boss@example.cn", db=url, user="boss", config=config)
    # What fell due since Friday fires first, so the figures are settled when the pack is read.
    redress("tick", db=url, config=config, REDRESS_NOW=PACK_DAY.isoformat())
    expected = tmp_path / "expected.html"
    redress("report", "pack", "--month", "2026-11", "--html", str(expected), db=url, user="boss", config=config,
            REDRESS_NOW=PACK_DAY.isoformat())

    scheduler = Scheduler(config, url, REDRESS_NOW=PACK_DAY.isoformat())
    try:
        assert wait_for(lambda: len(inbox.received) >= 2, 60), scheduler.stop()
        assert scheduler.said("the 2026-11 report pack is queued for 2 reader(s)")
    finally:
        output = scheduler.stop()
    assert "Traceback" not in output
    assert sorted(rcpt for rcpts, _ in inbox.received for rcpt in rcpts) == ["boss@example.cn", "ops@example.cn"]
    for _, mail in inbox.received:
        assert mail["Subject"] == "Redress 月度报告 2026-11" and mail["From"] == "reports@example.cn"
        assert "受理: 12" in mail.get_body(("plain",)).get_content()
        [attached] = list(mail.iter_attachments())
        assert attached.get_filename() == "redress-report-2026-11.html"
        assert attached.get_content_type() == "text/html"
        assert attached.get_payload(decode=True) == expected.read_bytes()  # the very pack `report pack` writes

    # Due until queued, and queued once: another pass (a restart, a second look) sends nothing more.
    app = engine_app(config, url, PACK_DAY)
    assert mail_due_pack(app) == ("2026-11", 0)
    assert month_due(app, datetime(2026, 12, 1, 7, 59, tzinfo=ZoneInfo("Asia/Shanghai"))) is None
    assert month_due(app, datetime(2027, 1, 20, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))) == "2026-12"
    app.engine.dispose()
    assert len(inbox.received) == 2
    shutil.rmtree(tmp_path / "mail", ignore_errors=True)
