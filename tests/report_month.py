"""A month worked by hand for the report tests: a dozen complaints in the week of 2 to 6 November 2026 with known
times, waits, breaches, scores and compensation steps, run through the real services with the clock moved and
the scheduler's firing at every step (so breaches and climbs happen as they would).

Times are Shanghai local; the business calendar is 09:00-18:00 Monday to Friday (no holidays that week).
Targets (config.yaml): low first response 8h, resolution 27h; medium 4h and 18h; high 1h and 8h; a breach
climbs one level. The compensation rules are switched off so every step here is one the test adds.
The report is read at Friday 6 November 17:00.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from notifications.sender import deliver_due
from workflow.bootstrap import Redress
from workflow.services import compensation as steps
from workflow.services import lifecycle as svc
from workflow.services import surveys
from workflow.services.firing import fire_due

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAYS = {"Mon": 2, "Tue": 3, "Wed": 4, "Thu": 5, "Fri": 6}
READ_AT = ("Fri", "17:00")


def moment(day: str, clock: str) -> datetime:
    hour, minute = (int(part) for part in clock.split(":"))
    return datetime(2026, 11, DAYS[day], hour, minute, tzinfo=SHANGHAI)


def at(app: Redress, day: str, clock: str) -> None:
    """Move the clock and let the scheduler do what is due: fire deadlines, deliver the outbox."""
    app.clock.pin(moment(day, clock))
    fire_due(app)
    deliver_due(app)


def _file(app: Redress, actor: str, phone: str, name: str, severity: str, channel: str, category: str,
          tier: str = "registered", assignee: str | None = None, **extra: str) -> str:
    number = svc.file_complaint(app, actor, channel=channel, category=category, summary=f"{name}: {category}",
                                phone=phone, name=name, tier=tier, severity=severity, **extra).number
    if assignee is not None:
        svc.triage(app, assignee, number)
        svc.assign(app, assignee, number)
        svc.start(app, assignee, number)
    return number


def work_the_month(app: Redress) -> dict[str, str]:
    """Run the week; the complaints' numbers by the names the tests use."""
    app.config = app.config.model_copy(
        update={"compensation": app.config.compensation.model_copy(update={"rules": []})})
    n: dict[str, str] = {}
    at(app, "Mon", "09:00")
    n["k1"] = _file(app, "amy", "13900000001", "甲", "medium", "phone", "delivery", assignee="amy")
    n["k2"] = _file(app, "amy", "13900000002", "乙", "medium", "email", "billing", assignee="amy")
    n["wait"] = _file(app, "amy", "13900000003", "丙", "low", "letter", "warranty", assignee="amy")
    at(app, "Mon", "09:30")
    svc.respond(app, "amy", n["wait"], "we need your decision")
    at(app, "Mon", "10:00")
    svc.respond(app, "amy", n["k1"], "on its way")
    svc.wait_for_customer(app, "amy", n["wait"], "repair or refund?", reason="customer_decision")
    n["high"] = _file(app, "bob", "13900000004", "丁", "high", "chat", "damaged", tier="bronze", assignee="bob")
    at(app, "Mon", "10:30")
    svc.respond(app, "bob", n["high"], "sorry, please send photos")
    at(app, "Mon", "11:00")
    svc.resolve(app, "amy", n["k1"], "redelivered")
    svc.close(app, "amy", n["k1"])
    svc.wait_for_customer(app, "bob", n["high"], "photos please", reason="photos_or_documents")
    at(app, "Mon", "13:00")  # k2's first response falls due and is breached: it climbs to senior
    at(app, "Mon", "14:00")
    surveys.record(app, "amy", n["k1"], 5, "谢谢，很快")
    svc.respond(app, "amy", n["k2"], "we are checking the charge")
    at(app, "Mon", "16:00")
    svc.resolve(app, "amy", n["k2"], "refunded the double charge")
    svc.close(app, "amy", n["k2"])
    at(app, "Tue", "09:00")
    n["k4"] = _file(app, "amy", "13900000005", "戊", "low", "web", "delivery")
    svc.triage(app, "amy", n["k4"])
    at(app, "Tue", "10:00")
    surveys.record(app, "amy", n["k2"], 2, "回复太慢了")  # a low score: a follow-up call, the complaint reopened
    svc.customer_replied(app, "bob", n["high"], "photos sent")
    at(app, "Tue", "10:30")
    replacement = steps.add_step(app, "bob", n["high"], "replacement", reason="cracked on arrival")
    at(app, "Tue", "10:45")
    steps.complete_step(app, "bob", replacement.id)
    at(app, "Tue", "11:00")
    svc.resolve(app, "bob", n["high"], "replacement sent")
    svc.close(app, "bob", n["high"])
    at(app, "Tue", "14:00")
    at(app, "Tue", "15:00")
    surveys.record(app, "bob", n["high"], 4)
    at(app, "Wed", "09:00")  # k4's first response was due Tuesday 17:00: breached now, at senior
    n["k11"] = _file(app, "bob", "13900000001", "甲", "medium", "phone", "delivery", assignee="bob")
    at(app, "Wed", "09:30")
    follow_up = _open_step(app, n["k2"], "follow_up_call")
    steps.complete_step(app, "amy", follow_up)
    svc.respond(app, "bob", n["k11"], "looking into it")
    at(app, "Wed", "10:00")
    svc.resolve(app, "amy", n["k2"], "called back, customer satisfied")
    svc.close(app, "amy", n["k2"])
    svc.assign(app, "amy", n["k4"])
    svc.start(app, "amy", n["k4"])
    svc.respond(app, "amy", n["k4"], "sorry for the wait")
    at(app, "Wed", "11:00")
    svc.resolve(app, "amy", n["k4"], "parcel found")
    svc.close(app, "amy", n["k4"])
    at(app, "Wed", "14:00")
    n["k12"] = _file(app, "sen", "13900000006", "己", "medium", "phone", "service", assignee="sen")
    at(app, "Wed", "14:30")
    svc.respond(app, "sen", n["k12"], "apologies")
    at(app, "Wed", "15:00")
    svc.resolve(app, "sen", n["k12"], "coached the courier")
    svc.close(app, "sen", n["k12"])
    at(app, "Thu", "09:00")
    n["k5"] = _file(app, "bob", "13900000005", "戊", "low", "phone", "delivery", assignee="bob")
    n["k6"] = _file(app, "amy", "13900000007", "庚", "low", "phone", "billing", assignee="amy")
    at(app, "Thu", "09:30")
    svc.respond(app, "bob", n["k5"], "checking")
    svc.respond(app, "amy", n["k6"], "checking the bill")
    at(app, "Thu", "10:00")
    refund = steps.add_step(app, "amy", n["k6"], "refund", amount="30", reason="overcharged")
    voucher = steps.add_step(app, "amy", n["k6"], "voucher", amount="100", reason="for the trouble")
    gift = steps.add_step(app, "amy", n["k6"], "gift", amount="500", reason="asked for a gift")
    surveys.record(app, "sen", n["k12"], 1, "<b>太差</b> 再也不买了\x1b[31m")
    at(app, "Thu", "11:00")
    steps.complete_step(app, "sen", _open_step(app, n["k12"], "follow_up_call"))
    at(app, "Thu", "11:30")
    svc.resolve(app, "sen", n["k12"], "called back")
    svc.close(app, "sen", n["k12"])
    at(app, "Thu", "12:00")
    steps.approve_step(app, "sup", voucher.id)  # the complaint's steps come to 630 CNY: above a senior's 400
    at(app, "Thu", "13:30")
    steps.complete_step(app, "amy", voucher.id)
    at(app, "Thu", "16:00")
    steps.reject_step(app, "boss", gift.id, "a voucher was given")
    at(app, "Fri", "09:00")  # k11's resolution was due Thursday 18:00: breached now, at senior
    n["k7"] = _file(app, "amy", "13900000008", "辛", "low", "email", "refund", tier="silver",
                    answer_id="refund-timeline")
    at(app, "Fri", "09:30")
    n["k8"] = _file(app, "bob", "13900000009", "壬", "medium", "fax", "other")
    svc.cancel(app, "sen", n["k8"], "spam")
    at(app, "Fri", "10:00")  # k6's refund was due now and is not done: it climbs to senior
    at(app, "Fri", "11:00")
    svc.resolve(app, "bob", n["k11"], "delivered")
    svc.close(app, "bob", n["k11"])
    at(app, "Fri", "15:00")
    n["k10"] = _file(app, "amy", "13900000010", "癸", "medium", "sms", "quality")
    at(app, *READ_AT)
    assert refund.to_state == "planned"
    return n


def _open_step(app: Redress, number: str, kind: str) -> int:
    [found] = [s["id"] for s in steps.list_steps(app, number) if s["kind"] == kind
               and s["state"] not in ("done", "cancelled")]
    return int(found)
