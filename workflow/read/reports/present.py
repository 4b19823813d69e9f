"""Reports in the reader's language: every label in zh-CN, zh-TW and English, and every value formatted by babel
(numbers, percentages, money, days, times) from the one raw value the report holds. CSV keeps the raw values,
for a spreadsheet to compute with.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from workflow.read.reports.model import Report

BABEL_LOCALES = {"zh-CN": "zh_Hans_CN", "zh-TW": "zh_Hant_TW", "en": "en"}

# key -> (en, zh-CN, zh-TW). Names from config.yaml (severities, categories) use the config's own labels.
_WORDS: dict[str, tuple[str, str, str]] = {
    # reports and tables
    "sla": ("SLA compliance", "SLA 达成", "SLA 達成"),
    "agents": ("Agents' month", "坐席月度考核", "客服月度考核"),
    "satisfaction": ("Satisfaction", "满意度", "滿意度"),
    "compensation": ("Compensation", "补偿与退款", "補償與退款"),
    "backlog": ("Backlog", "积压工单", "積壓案件"),
    "at_risk": ("Customers at risk", "流失风险客户", "流失風險客戶"),
    "pack": ("Monthly pack", "月度报告", "月度報告"),
    "by_severity": ("By severity", "按严重程度", "按嚴重程度"),
    "by_category": ("By category", "按类别", "按類別"),
    "by_channel": ("By channel", "按渠道", "按管道"),
    "by_tier": ("By member tier", "按会员等级", "按會員等級"),
    "by_day": ("By day", "按日", "按日"),
    "by_agent": ("By agent", "按坐席", "按客服"),
    "by_kind": ("By kind", "按类型", "按類型"),
    "by_approver": ("By approver", "按审批人", "按審批人"),
    "escalations": ("Escalations per level", "各级升级", "各級升級"),
    "team_median": ("Team median", "团队中位数", "團隊中位數"),
    "distribution": ("Score distribution", "评分分布", "評分分佈"),
    "verbatims": ("What low scorers said", "低分客户原话", "低分客戶原話"),
    "overdue": ("Steps overdue now", "当前逾期的补偿步骤", "目前逾期的補償步驟"),
    "now_by_state": ("Open now, by state and level", "当前未结：按状态与级别", "目前未結：按狀態與級別"),
    "now_by_age": ("Open now, by age", "当前未结：按时长", "目前未結：按時長"),
    "customers": ("Customers", "客户", "客戶"),
    "compliance_over_time": ("Compliance over time", "达成率走势", "達成率走勢"),
    "backlog_ageing": ("Backlog ageing", "积压时长分布", "積壓時長分佈"),
    "score_distribution": ("Score distribution", "评分分布", "評分分佈"),
    "spend_by_kind": ("Spend per kind", "各类补偿支出", "各類補償支出"),
    # figures and columns
    "filed": ("Filed", "受理", "受理"),
    "first_response_met": ("First response met", "首次响应达标", "首次回應達標"),
    "first_response_breached": ("First response breached", "首次响应超时", "首次回應逾時"),
    "first_response_met_share": ("First response met %", "首次响应达标率", "首次回應達標率"),
    "resolution_met": ("Resolved in time", "按时解决", "按時解決"),
    "resolution_breached": ("Resolution breached", "解决超时", "解決逾時"),
    "resolution_met_share": ("Resolution met %", "解决达标率", "解決達標率"),
    "first_response_p50": ("First response, median", "首次响应中位数", "首次回應中位數"),
    "first_response_p90": ("First response, p90", "首次响应 P90", "首次回應 P90"),
    "resolution_p50": ("Resolution, median", "解决用时中位数", "解決用時中位數"),
    "resolution_p90": ("Resolution, p90", "解决用时 P90", "解決用時 P90"),
    "escalated": ("Escalated", "已升级", "已升級"),
    "escalated_hours": ("Hours escalated", "升级总时长", "升級總時長"),
    "escalated_hours_p50": ("Hours escalated, median", "升级时长中位数", "升級時長中位數"),
    "escalated_hours_p90": ("Hours escalated, p90", "升级时长 P90", "升級時長 P90"),
    "handled": ("Handled", "处理", "處理"),
    "closed": ("Closed", "已结案", "已結案"),
    "first_contact": ("First-contact answers", "首次接触解决", "首次接觸解決"),
    "breaches": ("Breaches", "超时", "逾時"),
    "reopened_share": ("Reopened", "重开率", "重開率"),
    "paused_minutes": ("Paused", "等待客户时长", "等待客戶時長"),
    "answers": ("Answers", "回访答复", "回訪答覆"),
    "steps_done": ("Steps done", "已完成补偿", "已完成補償"),
    "steps_overdue": ("Steps overdue", "逾期补偿", "逾期補償"),
    "refunds_stalled": ("Refunds stalled", "拖延退款", "拖延退款"),
    "agent": ("Agent", "坐席", "客服"),
    "agents_counted": ("Agents", "坐席人数", "客服人數"),
    "average": ("Average", "平均分", "平均分"),
    "low": ("Low scores", "低分", "低分"),
    "score": ("Score", "评分", "評分"),
    "share": ("Share", "占比", "佔比"),
    "surveys_sent": ("Surveys sent", "已发回访", "已發回訪"),
    "surveys_answered": ("Surveys answered", "已答回访", "已答回訪"),
    "response_rate": ("Response rate", "回复率", "回覆率"),
    "low_scores": ("Low scores", "低分", "低分"),
    "complaint": ("Complaint", "投诉单", "投訴單"),
    "recorded_at": ("Recorded", "记录时间", "記錄時間"),
    "comment": ("Comment", "客户原话", "客戶原話"),
    "category": ("Category", "类别", "類別"),
    "severity": ("Severity", "严重程度", "嚴重程度"),
    "channel": ("Channel", "渠道", "管道"),
    "tier": ("Tier", "会员等级", "會員等級"),
    "level": ("Level", "级别", "級別"),
    "complaints": ("Complaints", "投诉数", "投訴數"),
    "steps": ("Steps", "补偿步骤", "補償步驟"),
    "done": ("Done", "已完成", "已完成"),
    "currency": ("Currency", "币种", "幣別"),
    "spent": ("Spent", "已支出", "已支出"),
    "committed": ("Committed", "待支出", "待支出"),
    "kind": ("Kind", "类型", "類型"),
    "approver": ("Approver", "审批人", "審批人"),
    "approved": ("Approved", "批准", "核准"),
    "rejected": ("Rejected", "驳回", "駁回"),
    "approved_amount": ("Amount approved", "批准金额", "核准金額"),
    "turnaround_p50": ("Wait for decision, median", "审批等待中位数", "審批等待中位數"),
    "turnaround_p90": ("Wait for decision, p90", "审批等待 P90", "審批等待 P90"),
    "state": ("State", "状态", "狀態"),
    "amount": ("Amount", "金额", "金額"),
    "due_at": ("Due", "到期", "到期"),
    "late_hours": ("Late by", "已逾期", "已逾期"),
    "total": ("Total", "合计", "合計"),
    "open": ("Open", "未结", "未結"),
    "open_now": ("Open now", "当前未结", "目前未結"),
    "escalated_now": ("Escalated now", "当前已升级", "目前已升級"),
    "age": ("Age", "时长", "時長"),
    "day": ("Day", "日期", "日期"),
    "customer": ("Customer", "客户", "客戶"),
    "contact": ("Contact", "联系方式", "聯絡方式"),
    "reopens": ("Reopens", "重开", "重開"),
    "risk": ("Risk", "风险分", "風險分"),
    "latest": ("Latest complaint", "最近投诉", "最近投訴"),
    "why": ("Why", "原因", "原因"),
    "customers_at_risk": ("Customers at risk", "风险客户", "風險客戶"),
    # values
    "under_1d": ("< 1 day", "不足1天", "不足1天"),
    "1_3d": ("1-3 days", "1-3天", "1-3天"),
    "3_7d": ("3-7 days", "3-7天", "3-7天"),
    "7_14d": ("7-14 days", "7-14天", "7-14天"),
    "14_30d": ("14-30 days", "14-30天", "14-30天"),
    "over_30d": ("> 30 days", "30天以上", "30天以上"),
    "repeated": ("complained again", "重复投诉", "重複投訴"),
    "low_score": ("low score", "低分", "低分"),
    "reopened": ("reopened", "重开", "重開"),
    "breached": ("deadline breached", "超时", "逾時"),
    "senior": ("senior", "高级坐席", "資深客服"),
    "supervisor": ("supervisor", "主管", "主管"),
    "manager": ("manager", "经理", "經理"),
    "received": ("received", "已受理", "已受理"),
    "triaged": ("triaged", "已分级", "已分級"),
    "assigned": ("assigned", "已分派", "已指派"),
    "in_progress": ("in progress", "处理中", "處理中"),
    "waiting_customer": ("waiting on customer", "等待客户", "等待客戶"),
    "routed": ("with owner", "已转交", "已轉交"),
    "resolved": ("resolved", "已解决", "已解決"),
    "planned": ("planned", "待执行", "待執行"),
    "awaiting_approval": ("awaiting approval", "待审批", "待審批"),
    "registered": ("registered", "注册会员", "註冊會員"),
    "bronze": ("bronze", "铜牌", "銅牌"),
    "silver": ("silver", "银牌", "銀牌"),
    "gold": ("gold", "金牌", "金牌"),
    "apology_letter": ("apology letter", "致歉信", "致歉信"),
    "replacement": ("replacement", "换货", "換貨"),
    "refund": ("refund", "退款", "退款"),
    "voucher": ("voucher", "代金券", "禮券"),
    "gift": ("gift", "礼品", "禮品"),
    "follow_up_call": ("follow-up call", "回访电话", "回訪電話"),
    "phone": ("phone", "电话", "電話"),
    "web": ("web form", "网页表单", "網頁表單"),
    "email": ("email", "邮件", "郵件"),
    "chat": ("chat", "在线客服", "線上客服"),
    "sms": ("SMS", "短信", "簡訊"),
    "fax": ("fax", "传真", "傳真"),
    "letter": ("letter", "信件", "信件"),
    # page
    "hour_unit": ("h", "小时", "小時"),
    "period": ("Period", "期间", "期間"),
    "filters": ("Filters", "筛选", "篩選"),
    "none": ("none", "无", "無"),
    "generated": ("Generated", "生成时间", "產生時間"),
    "no_rows": ("Nothing to show.", "无数据。", "無資料。"),
}
_LANGUAGE_INDEX = {"en": 0, "zh-CN": 1, "zh-TW": 2}


class Words:
    """Labels and formatted values in one language, with the config's own names for severities and categories."""

    def __init__(self, report: Report, language: str | None = None) -> None:
        """The words `report` is read in: `language`, else the call centre's own."""
        language = language or report.language
        if language not in _LANGUAGE_INDEX:
            from workflow.domain.errors import InvalidInput

            raise InvalidInput(f"--lang '{language}' is not allowed; languages: {', '.join(_LANGUAGE_INDEX)}")
        self.language = language
        self.locale = BABEL_LOCALES[language]
        self.zone = ZoneInfo(report.timezone)
        self._named = {name: words.get(language) or words.get("en") or name for name, words in report.names.items()}

    def label(self, key: Any) -> str:
        """The word for a report, table, column or value key; the key itself when it has none."""
        text = str(key)
        if text in self._named:
            return self._named[text]
        words = _WORDS.get(text)
        return words[_LANGUAGE_INDEX[self.language]] if words else text

    def value(self, value: Any, kind: str, currency: str | None = None) -> str:
        """A raw value as the reader reads it; None (nothing to measure) is a dash."""
        from babel.dates import format_date, format_datetime
        from babel.numbers import format_currency, format_decimal, format_percent, get_currency_precision

        if value is None or value == "" and kind != "text":
            return "—"
        if kind in ("day", "time") and isinstance(value, str):  # as the JSON form carries them
            value = datetime.fromisoformat(value) if kind == "time" else date.fromisoformat(value)
        if kind == "count":
            return format_decimal(value, locale=self.locale)
        if kind == "minutes":
            hours, minutes = divmod(round(float(value)), 60)
            return (f"{hours}h {minutes:02d}m" if self.language == "en" else f"{hours}小时{minutes:02d}分") if hours \
                else (f"{minutes}m" if self.language == "en" else f"{minutes}分")
        if kind == "hours":
            shown = format_decimal(round(float(value), 1), format="#,##0.0", locale=self.locale)
            return f"{shown} {self.label('hour_unit')}"
        if kind == "ratio":
            return format_percent(value, format="#,##0.0%", locale=self.locale)
        if kind == "score":
            return format_decimal(round(float(value), 2), format="0.00", locale=self.locale)
        if kind == "money":
            code = currency or "CNY"
            return format_currency(value / 10 ** get_currency_precision(code), code, locale=self.locale)
        if kind == "day":
            return format_date(value, format="medium", locale=self.locale)
        if kind == "time":
            return format_datetime(value.astimezone(self.zone), format="short", locale=self.locale)
        if kind == "label":
            return self.label(value)
        if kind == "reasons":
            return ("、" if self.language != "en" else ", ").join(self.label(key) for key in str(value).split())
        return str(value)

    def period(self, report: Report) -> str:
        from datetime import timedelta

        last = (report.until - timedelta(microseconds=1)).astimezone(self.zone).date()
        return f"{self.value(report.since.astimezone(self.zone).date(), 'day')} – {self.value(last, 'day')}"

    def filters(self, report: Report) -> str:
        if not report.filters:
            return self.label("none")
        return ", ".join(f"{self.label(k)}: {self.label(v) if k != 'agent' else v}" for k, v in report.filters.items())


def cell(words: Words, row: dict[str, Any], key: str, kind: str, currency: str) -> str:
    """One table cell as shown: money in the row's own currency."""
    return words.value(row[key], kind, row.get("currency") or currency)


def to_csv(reports: list[Report]) -> str:
    """Every table of every report, raw values, one block each: a line naming report and table, the column keys,
    the rows; a blank line between blocks. Figures come first, as a table of their own."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for report in reports:
        writer.writerow([f"# {report.name}", "figures", report.since.isoformat(), report.until.isoformat()])
        writer.writerow(["figure", "value"])
        for key, _, value in report.figures:
            writer.writerow([key, _csv(value)])
        writer.writerow([])
        for table in report.tables:
            writer.writerow([f"# {report.name}", table.key])
            writer.writerow([column.key for column in table.columns])
            for row in table.rows:
                writer.writerow([_csv(value) for value in row])
            writer.writerow([])
    return out.getvalue()


def _csv(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value
