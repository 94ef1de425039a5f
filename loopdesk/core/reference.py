"""Reference data every installation starts with: role groups, the Jiangmen organisation, the complaint
category tree, business calendars, SLA policies and routing rules.

`seed_reference()` is idempotent. Every object is looked up by its natural key (a `code`, a group name, or
for SLA policies and routing rules the set of conditions they match on) and created only when missing;
existing rows are never overwritten, so supervisors' edits in the admin survive a re-run. Everything runs
in one transaction. See docs/reference-data.md for the tables as seeded.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from loopdesk.customers.choices import Tier
from loopdesk.org.choices import Role, UnitFunction, UnitLevel
from loopdesk.org.models import OrgUnit
from loopdesk.routing.models import RoutingRule
from loopdesk.sla.models import BusinessCalendar, CalendarKind, SlaPolicy
from loopdesk.tickets.choices import ContactType
from loopdesk.tickets.models import Category

PROVINCE = "GD"
REGION = "JM"

# --------------------------------------------------------------------------------------------------
# Organisation (domain.md §2). (code, parent code, name, English name, level, function, region)
# --------------------------------------------------------------------------------------------------

_L, _F = UnitLevel, UnitFunction

BRANCHES: list[tuple[str, str, str]] = [
    # (code suffix, Chinese place name, English place name)
    ("CQ", "城区", "Urban district"),
    ("XH", "新会", "Xinhui"),
    ("HS", "鹤山", "Heshan"),
    ("TS", "台山", "Taishan"),
    ("KP", "开平", "Kaiping"),
    ("EP", "恩平", "Enping"),
]


def _org_units() -> list[tuple[str, str | None, str, str, str, str, str]]:
    units: list[tuple[str, str | None, str, str, str, str, str]] = [
        ("HQ", None, "集团总部", "Group headquarters", _L.HQ, _F.MANAGEMENT, "HQ"),
        ("GD", "HQ", "广东公司", "Guangdong company", _L.PROVINCE, _F.MANAGEMENT, PROVINCE),
        ("JM", "GD", "江门分公司", "Jiangmen company", _L.CITY, _F.MANAGEMENT, REGION),
        # Customer service centre: the hotline and the second line.
        ("JM-CSC", "JM", "客户服务中心", "Customer service centre", _L.CENTRE, _F.FRONT_LINE, REGION),
        ("JM-CALL", "JM-CSC", "话务室", "Call room (10086)", _L.ROOM, _F.FRONT_LINE, REGION),
        ("JM-L2", "JM-CSC", "综援室", "Second-line support room", _L.ROOM, _F.SECOND_LINE, REGION),
    ]
    # Branches: service halls (channel room) and account managers (customer room).
    for suffix, place, place_en in BRANCHES:
        branch = f"JM-BR-{suffix}"
        units += [
            (branch, "JM", f"{place}分公司", f"{place_en} branch", _L.CENTRE, _F.FRONT_LINE, REGION),
            (f"{branch}-CS", branch, f"{place}客服室", f"{place_en} customer room", _L.ROOM, _F.FRONT_LINE, REGION),
            (f"{branch}-CH", branch, f"{place}渠道室", f"{place_en} channel room", _L.ROOM, _F.FRONT_LINE, REGION),
        ]
    units += [
        # Network department.
        ("JM-NET", "JM", "网络部", "Network department", _L.CENTRE, _F.SPECIALIST, REGION),
        ("JM-NET-MAINT", "JM-NET", "网络维护中心", "Network maintenance centre", _L.ROOM, _F.SPECIALIST, REGION),
        ("JM-NET-OPT", "JM-NET", "网络优化中心", "Network optimisation centre", _L.ROOM, _F.SPECIALIST, REGION),
        ("JM-NET-ENG", "JM-NET", "工程管理中心", "Engineering management centre", _L.ROOM, _F.SPECIALIST, REGION),
        ("JM-NET-IT", "JM-NET", "信息技术中心", "IT centre", _L.ROOM, _F.SPECIALIST, REGION),
        # Marketing department.
        ("JM-MKT", "JM", "市场经营部", "Marketing department", _L.CENTRE, _F.SPECIALIST, REGION),
        ("JM-MKT-DATA", "JM-MKT", "数据业务中心", "Data services centre", _L.ROOM, _F.SPECIALIST, REGION),
        ("JM-MKT-GROUP", "JM-MKT", "集团客户室", "Group customer room", _L.ROOM, _F.SPECIALIST, REGION),
        ("JM-MKT-SUP", "JM-MKT", "支撑室", "Support room", _L.ROOM, _F.SPECIALIST, REGION),
        ("JM-MKT-SVC", "JM-MKT", "服务管理室", "Service management room", _L.ROOM, _F.MANAGEMENT, REGION),
        ("JM-MKT-CHN", "JM-MKT", "渠道管理室", "Channel management room", _L.ROOM, _F.SPECIALIST, REGION),
        # Human resources: reads reports only.
        ("JM-HR", "JM", "人力资源部", "Human resources department", _L.CENTRE, _F.MANAGEMENT, REGION),
    ]
    return units


ORG_UNITS = _org_units()

# --------------------------------------------------------------------------------------------------
# Complaint category tree (domain.md §5). Codes are dotted paths of stable ASCII segments.
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cat:
    """A category to seed: `code` is the last segment only; the full code is the dotted path."""

    code: str
    name: str
    name_en: str
    keywords: str = ""
    children: tuple[Cat, ...] = field(default_factory=tuple)


def _c(code: str, name: str, name_en: str, keywords: str = "", *children: Cat) -> Cat:
    return Cat(code, name, name_en, keywords, tuple(children))


CATEGORY_TREE: tuple[Cat, ...] = (
    _c(
        "BASIC",
        "基础通信",
        "Basic communication",
        "信号 通话 短信 上网 网络",
        _c(
            "COVERAGE",
            "信号覆盖",
            "Signal coverage",
            "信号 覆盖 没信号 无信号 信号差 基站",
            _c("INDOOR", "室内无信号", "No signal indoors", "室内 家里 无信号 地下室 电梯"),
            _c("OUTDOOR", "室外弱信号", "Weak signal outdoors", "室外 信号弱 信号差 格数少"),
            _c("NEW_ESTATE", "新建小区无覆盖", "No coverage in a new housing estate", "新小区 新楼盘 新建 无覆盖 基站"),
            _c("ROAD", "道路沿线信号差", "Poor coverage along roads", "公路 高速 沿线 乡村 信号差"),
        ),
        _c(
            "CALL",
            "通话质量",
            "Call quality",
            "通话 电话 打不通 声音",
            _c("DROP", "掉话", "Dropped calls", "掉话 断线 通话中断"),
            _c("NOISE", "杂音", "Noise on the line", "杂音 回声 声音不清 断断续续"),
            _c("ONE_WAY", "单通", "One-way audio", "单通 听不到对方 对方听不到"),
            _c("NO_CONNECT", "无法接通", "Calls cannot connect", "打不通 无法接通 呼叫失败"),
        ),
        _c(
            "SMS",
            "短信",
            "SMS",
            "短信 彩信",
            _c("FAIL", "收发失败", "Cannot send or receive", "短信发不出 收不到短信 发送失败"),
            _c("DELAY", "短信延迟", "Delayed messages", "短信延迟 迟到 很久才收到"),
            _c("SPAM", "垃圾短信", "Spam messages", "垃圾短信 骚扰短信 诈骗短信 10086999"),
        ),
        _c(
            "DATA",
            "数据业务",
            "Mobile data",
            "上网 GPRS 流量 网速",
            _c("SLOW", "上网慢", "Slow mobile data", "上网慢 网速慢 卡顿"),
            _c("NO_ACCESS", "无法上网", "No mobile data", "无法上网 上不了网 连不上 GPRS"),
        ),
        _c(
            "ROAMING",
            "漫游通信",
            "Roaming service",
            "漫游 出国 境外",
            _c("NO_SERVICE", "漫游无法使用", "No service while roaming", "漫游 无服务 国外 不能打电话"),
        ),
    ),
    _c(
        "SERVICE",
        "服务质量",
        "Service quality",
        "服务 态度 投诉员工",
        _c(
            "HALL",
            "营业厅服务态度",
            "Service hall attitude",
            "营业厅 沟通100 营业员 态度",
            _c("RUDE", "营业员态度差", "Rude hall clerk", "营业员 态度差 不耐烦 恶劣"),
            _c("QUEUE", "排队等候时间长", "Long queues", "排队 等候 时间长 人多"),
        ),
        _c(
            "HOTLINE",
            "热线服务态度",
            "Hotline attitude",
            "10086 热线 客服 话务员",
            _c("RUDE", "话务员态度差", "Rude hotline agent", "客服 态度差 挂电话 不耐烦"),
            _c("WAIT", "热线难接通", "Hotline hard to reach", "10086 打不进 人工 等待 排队"),
            _c("INCONSISTENT", "答复口径不一", "Inconsistent answers", "说法不一 答复不一致 推诿"),
        ),
        _c(
            "ERROR",
            "业务办理差错",
            "Handling errors",
            "办错 差错 失误",
            _c("WRONG_SERVICE", "办错业务", "Wrong service activated by staff", "办错 开错 套餐 错误办理"),
            _c("WRONG_INFO", "告知信息错误", "Wrong information given", "告知错误 误导 解释错误"),
        ),
        _c(
            "ACCOUNT_MANAGER",
            "客户经理服务",
            "Account manager service",
            "客户经理 VIP 大客户",
            _c("UNREACHABLE", "客户经理联系不上", "Account manager unreachable", "客户经理 联系不上 不接电话"),
            _c("PROMISE", "承诺未兑现", "Promise not kept", "承诺 没兑现 答应 未落实"),
        ),
    ),
    _c(
        "FEE",
        "通信费用",
        "Charges and billing",
        "话费 扣费 费用 账单",
        _c(
            "DISPUTE",
            "话费争议",
            "Bill dispute",
            "话费 争议 多扣 账单 详单",
            _c("CALL_CHARGE", "通话费异常", "Unusual call charges", "通话费 长途费 多收"),
            _c("DATA_CHARGE", "流量费异常", "Unusual data charges", "流量费 流量 超出 高额"),
            _c("DETAIL", "详单与实际不符", "Itemised bill does not match", "详单 清单 不符 没打过"),
        ),
        _c(
            "PLAN",
            "套餐扣费",
            "Plan charges",
            "套餐 月租 扣费",
            _c("RATE", "资费与宣传不符", "Tariff differs from what was advertised", "资费 宣传 不符 套餐价格"),
            _c("DOUBLE", "重复扣费", "Charged twice", "重复扣费 扣两次 多扣"),
        ),
        _c(
            "ROAMING",
            "国际漫游费",
            "International roaming charges",
            "国际漫游 漫游费 境外",
            _c("HIGH", "漫游费过高", "Roaming charges too high", "漫游费 太贵 天价"),
            _c("DATA", "漫游流量费争议", "Roaming data charge dispute", "漫游 流量 境外上网 天价流量"),
        ),
        _c(
            "PAYMENT",
            "缴费充值",
            "Payment and top-up",
            "缴费 充值 充值卡 退费",
            _c("NOT_CREDITED", "充值未到账", "Top-up not credited", "充值 没到账 充值卡 缴费未到"),
            _c("REFUND", "退费问题", "Refund problem", "退费 退款 余额"),
        ),
        _c(
            "SUSPENSION",
            "停复机",
            "Suspension for arrears",
            "停机 复机 欠费",
            _c("WRONG", "误停机", "Wrongly suspended", "停机 误停 有余额 欠费停机"),
        ),
    ),
    _c(
        "MARKETING",
        "市场营销",
        "Marketing",
        "营销 活动 优惠 促销",
        _c(
            "CAMPAIGN",
            "营销活动",
            "Campaigns",
            "活动 促销 赠送 礼品",
            _c("GIFT", "赠品未兑现", "Gift not delivered", "赠品 礼品 话费赠送 没收到"),
            _c("RULES", "活动规则不清", "Unclear campaign rules", "规则 不清楚 条件 误导"),
        ),
        _c(
            "OFFER",
            "优惠办理",
            "Offers",
            "优惠 办理 生效",
            _c("NOT_EFFECTIVE", "优惠未生效", "Offer not applied", "优惠 没生效 未到账"),
            _c("CANNOT_APPLY", "无法办理优惠", "Cannot sign up for an offer", "不能办理 不符合条件 办不了"),
        ),
        _c(
            "POINTS",
            "积分",
            "Points",
            "积分 兑换",
            _c("REDEEM", "积分兑换问题", "Points redemption", "积分 兑换 礼品 失败"),
            _c("WRONG", "积分计算错误", "Points miscalculated", "积分 少了 清零 错误"),
        ),
        _c(
            "HANDSET",
            "合约购机",
            "Handset contracts",
            "合约机 购机 手机 存费送机",
            _c("CONTRACT", "合约条款争议", "Contract terms dispute", "合约 条款 违约金 在网"),
        ),
        _c(
            "CALLS",
            "营销外呼骚扰",
            "Unwanted marketing contacts",
            "外呼 推销 骚扰 营销短信",
            _c("OUTBOUND", "营销电话骚扰", "Unwanted marketing calls", "推销电话 外呼 骚扰 频繁"),
        ),
    ),
    _c(
        "GROUP",
        "集团业务",
        "Group business",
        "集团 企业 单位",
        _c(
            "VPMN",
            "集团V网",
            "Group VPMN",
            "V网 短号 集团网",
            _c("SHORT_NUMBER", "短号无法拨打", "Short numbers do not work", "短号 打不通 V网"),
            _c("FEE", "集团资费争议", "Group tariff dispute", "集团 资费 V网 费用"),
        ),
        _c(
            "LINE",
            "集团专线",
            "Dedicated lines",
            "专线 宽带 企业",
            _c("OUTAGE", "专线中断", "Line outage", "专线 中断 断网 故障"),
        ),
        _c(
            "INDUSTRY",
            "行业应用",
            "Industry applications",
            "校讯通 企信通 MAS 行业应用",
            _c("SCHOOL", "校讯通", "School messaging (Xiaoxuntong)", "校讯通 家长 学校 短信"),
            _c("MAS", "企信通/MAS", "Enterprise messaging (MAS)", "企信通 MAS 集团短信"),
        ),
    ),
    _c(
        "MONTERNET",
        "梦网业务",
        "Monternet value-added services",
        "梦网 SP 增值业务 信息费",
        _c(
            "UNCONFIRMED",
            "未经确认订购",
            "Ordered without confirmation",
            "未订购 莫名扣费 被订购 定制",
            _c("SMS", "短信类SP订购", "SMS service ordered", "短信 SP 订购 包月"),
            _c("WAP", "WAP类订购", "WAP service ordered", "WAP 手机上网 点击 订购"),
        ),
        _c(
            "UNSUBSCRIBE",
            "退订失败",
            "Unsubscribe failed",
            "退订 取消 0000",
            _c("STILL_CHARGED", "退订后仍扣费", "Still charged after unsubscribing", "退订 仍扣费 还在扣"),
            _c("CODE", "退订指令无效", "Unsubscribe code does not work", "0000 退订 指令 无效"),
        ),
        _c(
            "BILLING",
            "扣费争议",
            "Charge dispute",
            "信息费 扣费 争议",
            _c("INFO_FEE", "信息费争议", "Information fee dispute", "信息费 多扣 不认可"),
            _c("REFUND", "要求退还信息费", "Information fee refund", "退还 信息费 退费 赔偿"),
        ),
        _c(
            "CONTENT",
            "内容质量",
            "Content quality",
            "内容 SP 质量",
            _c("BAD", "内容不良", "Objectionable content", "不良 低俗 内容"),
            _c("NOT_WORKING", "业务无法使用", "Service does not work", "无法使用 打不开 用不了"),
        ),
    ),
    _c(
        "SUPPORT",
        "业务支撑",
        "Business support",
        "办理 开通 系统",
        _c(
            "HANDLING",
            "业务办理失败",
            "Handling failed",
            "办理失败 系统 开通",
            _c("OPEN_FAIL", "业务开通失败", "Activation failed", "开通失败 没开通 开不了"),
            _c("CANCEL_FAIL", "业务取消失败", "Cancellation failed", "取消失败 关不掉 取消不了"),
        ),
        _c(
            "WRONG_ACTIVATION",
            "错误开通",
            "Wrong activation",
            "错误开通 误开通",
            _c("UNREQUESTED", "未申请被开通", "Activated without request", "没申请 被开通 莫名开通"),
        ),
        _c(
            "NUMBER",
            "号码与SIM卡",
            "Number and SIM card",
            "号码 SIM 卡 实名",
            _c("SIM", "补换卡问题", "SIM replacement", "补卡 换卡 SIM 失败"),
            _c("REAL_NAME", "实名登记/过户问题", "Real-name registration / transfer", "实名 过户 登记 身份证"),
        ),
        _c(
            "SELF_SERVICE",
            "自助渠道",
            "Self-service channels",
            "网上营业厅 短信营业厅 e100 自助",
            _c("WEB", "网上营业厅故障", "Web self-service fault", "网上营业厅 网站 登录 故障"),
            _c("SMS", "短信营业厅指令无效", "SMS self-service command fails", "短信营业厅 指令 10086 无效"),
        ),
    ),
    _c(
        "OTHER",
        "其它",
        "Other",
        "其它 其他",
        _c(
            "PRIVACY",
            "个人信息安全",
            "Personal data protection",
            "个人信息 泄露 隐私",
            _c("LEAK", "个人信息泄露", "Personal data leaked", "泄露 隐私 个人信息 被卖"),
        ),
        _c(
            "SUGGESTION",
            "意见建议",
            "Suggestions",
            "建议 意见",
            _c("GENERAL", "一般建议", "General suggestion", "建议 希望 改进"),
        ),
        _c("MISC", "其他问题", "Miscellaneous", "其他 无法归类"),
    ),
)

# --------------------------------------------------------------------------------------------------
# Business calendars.
# --------------------------------------------------------------------------------------------------

CAL_ALWAYS = "24x7"
CAL_WORKDAYS = "workdays"
CAL_WORKDAYS_FULL = "workdays-full"

CALENDARS: list[dict[str, object]] = [
    {"code": CAL_ALWAYS, "name": "全天候（24×7）", "name_en": "Around the clock (24×7)",
     "kind": CalendarKind.ALWAYS, "work_start": dt.time(0, 0)},
    {
        "code": CAL_WORKDAYS,
        "name": "工作日 08:30–17:30",
        "name_en": "Working days 08:30–17:30",
        "kind": CalendarKind.WORKDAYS,
        "work_start": dt.time(8, 30),
        "work_end": dt.time(17, 30),
    },
    {
        # Whole working days: 1440 minutes on this calendar are one working day (regulator "N working days").
        "code": CAL_WORKDAYS_FULL,
        "name": "工作日（全天）",
        "name_en": "Working days (whole days)",
        "kind": CalendarKind.WORKDAYS,
        "work_start": dt.time(0, 0),
        "work_end": None,
    },
]

# --------------------------------------------------------------------------------------------------
# SLA policies (first match by position). Natural key: the conditions. Minutes on the policy's calendar.
# --------------------------------------------------------------------------------------------------

SLA_POLICIES: list[dict[str, object]] = [
    {
        "name": "申诉工单（工信部/12300）",
        "name_en": "Regulator appeals (MIIT / 12300)",
        "position": 10,
        "conditions": {"contact_type": ContactType.APPEAL},
        "calendar": CAL_ALWAYS,
        "first_response_minutes": 120,
        "hop_reply_minutes": 1440,
        "resolution_minutes": 14400,
        "overtime_minutes": 1440,
        "problem_minutes": 2880,
        "warn_before_minutes": 240,
    },
    {
        "name": "VIP客户",
        "name_en": "VIP customers",
        "position": 20,
        "conditions": {"tier": Tier.VIP},
        "calendar": CAL_ALWAYS,
        "first_response_minutes": 30,
        "hop_reply_minutes": 1440,
        "resolution_minutes": 2880,
        "overtime_minutes": 2880,
        "problem_minutes": 4320,
        "warn_before_minutes": 240,
    },
    {
        "name": "信号覆盖投诉（3个工作日测试，7个工作日解决）",
        "name_en": "Coverage complaints (test within 3 working days, solve within 7)",
        "position": 30,
        "conditions": {"category": "BASIC.COVERAGE"},
        "calendar": CAL_WORKDAYS_FULL,
        "first_response_minutes": 3 * 1440,
        "hop_reply_minutes": 2 * 1440,
        "resolution_minutes": 7 * 1440,
        "overtime_minutes": 2 * 1440,
        "problem_minutes": 3 * 1440,
        "warn_before_minutes": 240,
    },
    {
        "name": "投诉（默认）",
        "name_en": "Complaints (default)",
        "position": 900,
        "conditions": {"contact_type": ContactType.COMPLAINT},
        "calendar": CAL_ALWAYS,
        "first_response_minutes": 120,
        "hop_reply_minutes": 2880,
        "resolution_minutes": 4320,
        "overtime_minutes": 2880,
        "problem_minutes": 4320,
        "warn_before_minutes": 240,
    },
    {
        "name": "默认",
        "name_en": "Default",
        "position": 1000,
        "conditions": {},
        "calendar": CAL_ALWAYS,
        "first_response_minutes": 120,
        "hop_reply_minutes": 2880,
        "resolution_minutes": 4320,
        "overtime_minutes": 2880,
        "problem_minutes": 4320,
        "warn_before_minutes": 240,
    },
]

# --------------------------------------------------------------------------------------------------
# Routing rules for Jiangmen (domain.md §5). Natural key: the conditions. (name, position, category, target)
# --------------------------------------------------------------------------------------------------

ROUTING_RULES: list[tuple[str, str, int, str, str]] = [
    ("信号覆盖 → 网络优化中心", "Signal coverage → network optimisation centre", 10, "BASIC.COVERAGE", "JM-NET-OPT"),
    ("基础通信 → 网络维护中心", "Basic telecom → network maintenance centre", 20, "BASIC", "JM-NET-MAINT"),
    ("梦网业务 → 数据业务中心", "Monternet services → data services centre", 30, "MONTERNET", "JM-MKT-DATA"),
    ("通信费用 → 信息技术中心", "Charges → IT centre", 40, "FEE", "JM-NET-IT"),
    ("业务支撑 → 信息技术中心", "Business support → IT centre", 50, "SUPPORT", "JM-NET-IT"),
    ("市场营销 → 支撑室", "Marketing → support room", 60, "MARKETING", "JM-MKT-SUP"),
    ("集团业务 → 集团客户室", "Corporate services → corporate customers room", 70, "GROUP", "JM-MKT-GROUP"),
    ("服务质量 → 渠道管理室", "Service quality → channel management room", 80, "SERVICE", "JM-MKT-CHN"),
    ("其它 → 综援室", "Other → second-line support room", 90, "OTHER", "JM-L2"),
]

# --------------------------------------------------------------------------------------------------
# Role groups and their Django model permissions (for the admin; roles are checked by group name).
# --------------------------------------------------------------------------------------------------

SUPERVISOR_PERMISSIONS: list[str] = [
    *(
        f"{app}.{action}_{model}"
        for app, model in [
            ("routing", "routingrule"),
            ("sla", "slapolicy"),
            ("sla", "businesscalendar"),
            ("sla", "calendarday"),
            ("tickets", "category"),
            # The assessment scheme's items and weights (the scorecard page's "Edit items and weights").
            ("reports", "assessmentscheme"),
            ("reports", "assessmentitem"),
            # The customer SMS texts (one set for every region: a city's supervisors only read them in the admin,
            # `notify.services.may_edit_templates`).
            ("notify", "messagetemplate"),
        ]
        for action in ("add", "change", "view")
    ),
    "reports.delete_assessmentitem",  # an item removed from the scheme in the admin's inline
    # To pick target units and branches in routing rules.
    "org.view_orgunit",
    "tickets.reveal_customer",
    "tickets.view_all_tickets",
]


def _app_labels() -> list[str]:
    """Our apps (every `loopdesk.*` app with models) plus auth."""
    labels = [cfg.label for cfg in apps.get_app_configs() if cfg.name.startswith("loopdesk.")]
    return [*labels, "auth"]


def _permissions_for_role(role: str) -> list[Permission]:
    if role == Role.ADMINISTRATOR:
        return list(Permission.objects.filter(content_type__app_label__in=_app_labels()))
    if role == Role.AUDITOR:
        return list(Permission.objects.filter(content_type__app_label__in=_app_labels(), codename__startswith="view_"))
    if role == Role.SUPERVISOR:
        wanted = [name.split(".", 1) for name in SUPERVISOR_PERMISSIONS]
        found = [
            perm
            for perm in Permission.objects.filter(codename__in=[codename for _, codename in wanted]).select_related(
                "content_type"
            )
            if [perm.content_type.app_label, perm.codename] in wanted
        ]
        missing = {".".join(w) for w in wanted} - {f"{p.content_type.app_label}.{p.codename}" for p in found}
        if missing:
            raise LookupError(f"permissions missing: {sorted(missing)}")
        return found
    return []


def _seed_groups(counts: Counter[str]) -> None:
    # Permissions are normally created after migrate; make sure they exist even on a fresh schema.
    for cfg in apps.get_app_configs():
        if cfg.label in _app_labels():
            create_permissions(cfg, verbosity=0)
    for role in Role:
        group, created = Group.objects.get_or_create(name=role.value)
        counts["groups"] += int(created)
        have = set(group.permissions.values_list("pk", flat=True))
        to_add = [perm for perm in _permissions_for_role(role) if perm.pk not in have]
        if to_add:
            group.permissions.add(*to_add)
            counts["group_permissions"] += len(to_add)


def _seed_org_units(counts: Counter[str]) -> dict[str, OrgUnit]:
    by_code: dict[str, OrgUnit] = {}
    for code, parent_code, name, name_en, level, function, region in ORG_UNITS:
        unit, created = OrgUnit.objects.get_or_create(
            code=code,
            defaults={
                "parent": by_code[parent_code] if parent_code else None,
                "name": name,
                "name_en": name_en,
                "level": level,
                "function": function,
                "province": PROVINCE,
                "region": region,
            },
        )
        by_code[code] = unit
        counts["org_units"] += int(created)
    return by_code


def _seed_categories(counts: Counter[str]) -> dict[str, Category]:
    by_code: dict[str, Category] = {}

    def walk(nodes: tuple[Cat, ...], parent: Category | None) -> None:
        for position, node in enumerate(nodes, start=1):
            code = f"{parent.code}.{node.code}" if parent else node.code
            category, created = Category.objects.get_or_create(
                code=code,
                defaults={
                    "parent": parent,
                    "name": node.name,
                    "name_en": node.name_en,
                    "position": position * 10,
                    "keywords": node.keywords,
                },
            )
            by_code[code] = category
            counts["categories"] += int(created)
            walk(node.children, category)

    walk(CATEGORY_TREE, None)
    return by_code


def _seed_calendars(counts: Counter[str]) -> dict[str, BusinessCalendar]:
    by_code: dict[str, BusinessCalendar] = {}
    for spec in CALENDARS:
        defaults = {key: value for key, value in spec.items() if key != "code"}
        calendar, created = BusinessCalendar.objects.get_or_create(code=spec["code"], defaults=defaults)
        by_code[calendar.code] = calendar
        counts["calendars"] += int(created)
    return by_code


_POLICY_CONDITIONS = ("contact_type", "category", "tier", "priority", "channel")
_RULE_CONDITIONS = ("region", "category", "contact_type", "tier", "branch", "channel")


def _seed_sla_policies(
    counts: Counter[str], categories: dict[str, Category], calendars: dict[str, BusinessCalendar]
) -> None:
    for spec in SLA_POLICIES:
        conditions: dict[str, object] = dict(spec["conditions"])  # type: ignore[call-overload]
        if "category" in conditions:
            conditions["category"] = categories[str(conditions["category"])]
        lookup = {name: conditions.get(name, None if name == "category" else "") for name in _POLICY_CONDITIONS}
        defaults = {key: value for key, value in spec.items() if key not in {"conditions", "calendar"}}
        defaults["calendar"] = calendars[str(spec["calendar"])]
        _, created = SlaPolicy.objects.get_or_create(**lookup, defaults=defaults)
        counts["sla_policies"] += int(created)


def _seed_routing_rules(counts: Counter[str], categories: dict[str, Category], units: dict[str, OrgUnit]) -> None:
    for name, name_en, position, category_code, target_code in ROUTING_RULES:
        lookup = {
            "region": REGION,
            "category": categories[category_code],
            "contact_type": "",
            "tier": "",
            "branch": None,
            "channel": "",
        }
        _, created = RoutingRule.objects.get_or_create(
            **lookup, defaults={"name": name, "name_en": name_en, "position": position,
                                "target_unit": units[target_code]}
        )
        counts["routing_rules"] += int(created)


COUNT_KEYS = (
    "groups",
    "group_permissions",
    "org_units",
    "categories",
    "calendars",
    "sla_policies",
    "routing_rules",
)


@transaction.atomic
def seed_reference() -> dict[str, int]:
    """Create whatever reference data is missing; return how many objects of each kind were created.

    Safe to run any number of times: nothing existing is changed, so a second run returns all zeros.
    """
    counts: Counter[str] = Counter(dict.fromkeys(COUNT_KEYS, 0))
    _seed_groups(counts)
    units = _seed_org_units(counts)
    categories = _seed_categories(counts)
    calendars = _seed_calendars(counts)
    _seed_sla_policies(counts, categories, calendars)
    _seed_routing_rules(counts, categories, units)
    return {key: counts[key] for key in COUNT_KEYS}
