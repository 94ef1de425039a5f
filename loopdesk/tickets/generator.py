"""A deterministic generator of a Jiangmen-like dataset: staff, customers and work orders with full timelines.

For demos, load tests and benchmarks only. It bypasses the services on purpose (they write one ticket per
transaction; this writes tens of thousands per second): rows are built as plain strings and bulk-inserted,
with PostgreSQL `COPY` or SQLite `executemany`, in batches, so memory stays bounded whatever the size.
What the services would have stored is reproduced exactly:

- every ticket's timeline replays to its status and handler (events that move the ticket carry `to_unit`
  and `to_user`, like the services' create / dispatch / accept / transfer / return / reply / reopen);
- the SLA columns are those `loopdesk.sla.clock.compute_sla` derives from the timeline, computed here with
  an integer port of the same algorithm (`FastClock`) that the tests check against `compute_sla` itself;
  `due_at`, when no clock runs (a paused ticket), keeps the deadline before the pause, as the services do;
- the committed time is the policy's from registration, renewed as `_renew_passed_commitment` renews it when a
  reopening, a resumption or the information supplied finds it passed (with its customer-visible entry); a return
  goes back to the dispatcher by name, as `do_return_ticket` sends it (the bulk import has neither: its work orders
  are never reopened, suspended or returned);
- numbers are `JM-YYYYMMDD-NNNNNN`, continuing `TicketSequence`, which is brought up to date afterwards.

The clock port and the row writer live in `loopdesk.tickets.bulk`, shared with the bulk import of legacy tickets.

The same seed (and the same `end`) gives the same numbers, descriptions and timelines. Ids are taken from
max(id) + 1 at the start: do not run it while users create tickets.
"""

from __future__ import annotations

import bisect
import datetime as dt
import gc
import hashlib
import math
import multiprocessing
import random
import resource
import time
import traceback
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from loopdesk.customers.choices import Brand, Tier, VipLevel
from loopdesk.customers.models import Customer
from loopdesk.followup.models import FollowupPolicy
from loopdesk.org.choices import Role, UnitFunction, UnitLevel
from loopdesk.org.models import OrgUnit, User
from loopdesk.routing.models import RoutingRule
from loopdesk.sla.calendars import SHANGHAI, working_time_for
from loopdesk.sla.models import SlaPolicy
from loopdesk.surveys.models import Survey, SurveyKind, SurveyStatus
from loopdesk.tickets.bulk import (  # the clock port and row writer, shared with the bulk import
    DAY,
    HOUR,
    LOCAL_OFFSET,
    FastClock,
    RowWriter,
    TimeText,
    _columns,
    fast_sla,
)
from loopdesk.tickets.choices import (
    TERMINAL_STATUSES,
    CallbackVerdict,
    Channel,
    ContactType,
    EventKind,
    Priority,
    RejectReason,
    Status,
    Visibility,
)
from loopdesk.tickets.models import Category, Ticket, TicketSequence
from loopdesk.tickets.numbers import _sequence_name

DEMO_PASSWORD = "loopdesk-demo"  # noqa: S105 - the documented demo password
PROVINCE = "GD"
REGION = "JM"
MONTHLY_VOLUME = 5000  # Jiangmen, first half of 2010: ~5,000 complaints a month (domain.md §5)
REPEAT_WINDOW = 30 * DAY

E, S = EventKind, Status

# --------------------------------------------------------------------------------------------------
# Staff plan: (username prefix, how many, role, unit name, display-name hint). Numbered when count > 0.
# --------------------------------------------------------------------------------------------------

BRANCH_PLACES = [("城区", "cq"), ("新会", "xh"), ("鹤山", "hs"), ("台山", "ts"), ("开平", "kp"), ("恩平", "ep")]

# fmt: off
STAFF_PLAN: list[tuple[str, int, str, str]] = [
    ("agent", 10, Role.HOTLINE_AGENT, "话务室"), ("dispatcher", 4, Role.DISPATCHER, "综援室"),
    *[(f"clerk_{abbr}", 1, Role.HALL_CLERK, f"{place}渠道室") for place, abbr in BRANCH_PLACES],
    *[(f"am_{abbr}", 1, Role.ACCOUNT_MANAGER, f"{place}客服室") for place, abbr in BRANCH_PLACES],
    ("specialist_net", 3, Role.SPECIALIST, "网络维护中心"), ("specialist_opt", 2, Role.SPECIALIST, "网络优化中心"),
    ("specialist_eng", 1, Role.SPECIALIST, "工程管理中心"), ("specialist_it", 3, Role.SPECIALIST, "信息技术中心"),
    ("specialist_data", 2, Role.SPECIALIST, "数据业务中心"), ("specialist_group", 1, Role.SPECIALIST, "集团客户室"),
    ("specialist_mkt", 2, Role.SPECIALIST, "支撑室"), ("specialist_chn", 1, Role.SPECIALIST, "渠道管理室"),
    ("supervisor", 3, Role.SUPERVISOR, "服务管理室"), ("head_net", 0, Role.DEPARTMENT_HEAD, "网络部"),
    ("head_mkt", 0, Role.DEPARTMENT_HEAD, "市场经营部"), ("head_cs", 0, Role.DEPARTMENT_HEAD, "客户服务中心"),
    ("head_hr", 0, Role.DEPARTMENT_HEAD, "人力资源部"), ("admin", 0, Role.ADMINISTRATOR, "江门分公司"),
    ("auditor1", 0, Role.AUDITOR, "江门分公司"),
    # The province company's service supervisor: keeps what serves every region (SLA policies, calendars, categories,
    # SMS templates), which Jiangmen's supervisors only read (loopdesk.org.scope).
    ("supervisor_gd", 0, Role.SUPERVISOR, "广东公司"),
]

SURNAMES = "陈李黄梁张吴林刘何余关甄伍谭邝周冯郑罗杨赵许朱胡郭叶钟谢区麦司徒欧阳马温雷苏卢蔡曾彭邓汤莫容赖方袁潘廖严黎"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华志红玲建国文辉锦荣嘉欣浩然俊杰颖婷晓君子健永权少芬丽珍家豪"

# --------------------------------------------------------------------------------------------------
# Text: places in Jiangmen, and per top category the fragments a description is composed of.
# --------------------------------------------------------------------------------------------------

PLACES = [
    "蓬江区白沙街道", "蓬江区环市街道", "蓬江区杜阮镇", "蓬江区棠下镇", "江海区外海街道", "江海区礼乐街道",
    "新会区会城街道", "新会区司前镇", "新会区崖门镇", "新会区大泽镇", "鹤山市沙坪街道", "鹤山市共和镇", "鹤山市址山镇",
    "台山市台城街道", "台山市广海镇", "台山市川岛镇", "台山市都斛镇", "开平市长沙街道", "开平市赤坎镇", "开平市月山镇",
    "恩平市恩城街道", "恩平市圣堂镇", "恩平市大田镇", "五邑大学附近", "江门站附近", "万达广场附近", "东湖公园附近",
    "北街码头附近", "开平碉楼景区", "江门汽车总站附近",
]
WHEN = ["前天", "昨天晚上", "本周一", "上周末", "近一周", "近三天", "本月初", "上个月中旬", "今天上午", "近半个月"]
SPS = ["某音乐俱乐部", "手机报", "某游戏点播", "动漫基地", "手机阅读", "某彩铃包月", "某视频会员", "某资讯订阅"]
PACKAGES = ["全球通畅享套餐", "动感地带校园套餐", "神州行畅听卡", "流量加油包", "家庭融合套餐", "4G飞享套餐"]
GIFTS = ["话费返还", "流量赠送", "积分奖励", "充值卡", "手机礼品", "宽带优惠"]
COMPANIES = ["江门某五金厂", "新会某陈皮公司", "鹤山某建材公司", "台山某中学", "开平某物流公司", "恩平某医院"]

TEXT: dict[str, dict[str, list[str]]] = {
    "基础通信": {
        "open": [
            "客户反映{when}起在{place}", "客户来电称其在{place}家中", "客户投诉近{days}天在{place}",
            "客户称{place}一带{when}开始", "客户反映在{place}上班期间",
        ],
        "detail": [
            "手机信号时有时无，室内基本无信号", "通话经常断线，对方听不清", "上网速度很慢，网页要等很久才打开",
            "发送短信经常失败", "信号格数很少，经常显示无服务", "拨打电话提示网络忙，无法接通", "通话有杂音和回声",
            "短信发送失败，对方收不到", "短信延迟很久才收到", "上网慢，看视频一直卡顿", "无法上网，提示连不上网络",
            "出国漫游时无服务，不能打电话", "打电话时对方听不到我的声音", "收到大量垃圾短信",
            "晚上{hour}点前后基本无法上网",
        ],
        "extra": [
            "，已重启手机并更换卡槽测试，问题依旧", "，周边邻居也有同样情况", "，更换新手机后仍然如此", "",
            "，客户已在该处居住{days}年，以前信号正常",
        ],
        "demand": [
            "，要求尽快处理。", "，希望尽快改善信号覆盖。", "，请相关部门核查处理。",
            "，客户情绪较激动，要求{days}天内给予答复。", "，要求上门测试。",
        ],
        "resolution": [
            "经网络维护中心核查，{place}基站传输故障已于{when}修复，现场测试信号恢复正常。",
            "经现场测试，该处为覆盖弱区，已调整天线方向角并优化参数，信号明显改善。",
            "已纳入新建站点规划，临时为客户安装室内信号放大器。",
            "核查为客户终端设置问题，已指导客户重置网络设置，测试正常。",
        ],
    },
    "梦网业务": {
        "open": ["客户反映{when}", "客户查询话费详单发现", "客户投诉本月", "客户来电称{when}"],
        "detail": [
            "被扣取{sp}信息费{amount}元", "手机被莫名订购了{sp}包月业务", "收到{sp}推广短信后被扣费{amount}元",
            "从未订购{sp}业务却每月被扣费", "发送0000退订{sp}后仍在扣费",
        ],
        "extra": ["，本人从未回复过任何确认短信", "，已发送0000查询并退订", "", "，家中老人的手机也有同样情况"],
        "demand": [
            "，要求退订并退还费用。", "，要求查明订购来源并双倍返还。", "，要求对该SP进行处理。",
            "，要求关闭所有增值业务。",
        ],
        "resolution": [
            "经数据业务中心核查，{sp}无有效二次确认记录，已为客户退订并退还信息费{amount}元。",
            "已为客户取消全部梦网包月业务并开通增值业务屏蔽，对该SP按违规处理。",
            "核查客户于{when}通过WAP点击订购，已解释订购流程并协助退订。",
        ],
    },
    "通信费用": {
        "open": ["客户对{month}月账单有异议，", "客户反映{when}", "客户投诉本月话费", "客户来电称"],
        "detail": [
            "话费比平时多出{amount}元", "被收取流量超额费用{amount}元", "套餐月租被重复扣取",
            "出境{days}天被扣国际漫游费{amount}元", "充值{amount}元后余额未增加", "有余额却被停机",
        ],
        "extra": ["，详单上有多条不认识的通话记录", "，本人当月基本未使用", "", "，此前已多次反映未解决"],
        "demand": ["，要求核查并退还多扣费用。", "，要求提供详单并解释。", "，要求尽快开机并补偿。", "，请尽快核实。"],
        "resolution": [
            "经信息技术中心核查，计费系统套餐生效时间有误，已退还多扣费用{amount}元。",
            "核查扣费正确，已向客户详细解释计费规则并寄送详单。", "充值记录已补录，余额已到账，并为客户恢复通信。",
        ],
    },
    "市场营销": {
        "open": ["客户于{when}在{place}营业厅", "客户反映{when}参加", "客户投诉{when}办理的"],
        "detail": [
            "办理{pkg}活动，承诺的{gift}至今未到账", "参加预存话费送手机活动，赠送话费未按月返还",
            "办理{pkg}时营业员未说明合约期限", "积分兑换{gift}失败，积分已被扣除", "频繁接到营销推销电话",
        ],
        "extra": ["", "，营业员当时口头承诺可以随时取消", "，已多次到营业厅询问无果"],
        "demand": ["，要求兑现承诺。", "，要求取消活动并退费。", "，要求补发赠品。", "，要求停止推销。"],
        "resolution": [
            "经支撑室核查，活动赠送{gift}因系统配置延迟未到账，已于{when}补发。",
            "已向客户解释活动规则，客户同意继续保留活动。", "已将客户号码加入营销免打扰名单。",
        ],
    },
    "业务支撑": {
        "open": ["客户在{place}营业厅", "客户通过网上营业厅", "客户反映{when}", "客户投诉{when}"],
        "detail": [
            "办理{pkg}后至今未生效", "补办SIM卡后仍无法使用", "申请取消{pkg}未成功", "被开通了未申请的{pkg}",
            "实名登记信息有误无法办理过户", "短信营业厅指令回复无效",
        ],
        "extra": ["", "，已等待{days}天", "，营业员称系统故障"],
        "demand": ["，要求尽快处理。", "，要求恢复原套餐。", "，请核查系统记录。"],
        "resolution": [
            "经信息技术中心核查，开通工单在接口处积压，已手工处理完成。", "已为客户重新写卡并激活，测试正常。",
            "已取消错误开通的业务并退还相关费用{amount}元。",
        ],
    },
    "服务质量": {
        "open": ["客户投诉{when}在{place}营业厅", "客户反映{when}拨打10086时", "客户投诉其客户经理"],
        "detail": [
            "工作人员态度冷淡，不耐烦", "排队等候超过{minutes}分钟无人处理", "话务员解释前后不一致", "办错了业务",
            "多次联系不上", "答应的事情没有落实",
        ],
        "extra": ["", "，客户非常不满", "，要求工作人员道歉"],
        "demand": ["，要求处理相关人员。", "，要求给予解释。", "，希望改进服务。"],
        "resolution": [
            "经渠道管理室核实，已对当班营业员进行批评教育并纳入考核，已向客户致歉。",
            "已调整营业厅排班，高峰期增开窗口。", "已安排客户经理上门致歉并落实承诺事项。",
        ],
    },
    "集团业务": {
        "open": ["{company}反映", "集团客户{company}投诉", "{company}联系人来电称"],
        "detail": [
            "集团V网成员之间短号无法拨打", "企业专线{when}起中断", "集团短信平台发送失败", "校讯通短信家长收不到",
        ],
        "extra": ["", "，影响单位正常办公", "，涉及成员{days}0余人"],
        "demand": ["，要求尽快恢复。", "，要求说明原因并赔偿。", "，请客户经理跟进。"],
        "resolution": [
            "经集团客户室协调网络部排查，专线光缆已于{when}抢修恢复。", "V网成员数据已重新同步，短号恢复正常。",
            "集团短信平台端口已扩容，发送恢复正常。",
        ],
    },
    "其它": {
        "open": ["客户反映{when}", "客户来电", "客户建议"],
        "detail": [
            "收到大量骚扰诈骗短信", "怀疑个人信息被泄露", "希望在{place}增设自助缴费机", "希望延长营业厅营业时间",
            "咨询事项无法归类",
        ],
        "extra": ["", "，已转发至10086999"],
        "demand": ["，请核查处理。", "，希望采纳。", "，请给予答复。"],
        "resolution": [
            "已将相关号码提交垃圾短信治理平台处理。", "已将客户建议转相关部门研究，感谢客户支持。",
            "已向客户说明相关规定。",
        ],
    },
}
GENERIC_TEXT = TEXT["其它"]

# Consultations (咨询) and suggestions (建议) read as questions and proposals, not as complaints: per top category
# what customers ask or propose, an opening, a closing, and how the answer reads.
CONSULT_OPEN = ["客户来电咨询", "客户询问", "客户想了解", "客户在{place}来电咨询", "客户通过短信咨询"]
CONSULT_CLOSE = ["。", "，请告知。", "，希望得到详细说明。", "，请回电说明。", ""]
CONSULT: dict[str, list[str]] = {
    "基础通信": ["{place}是否已开通5G网络", "出国漫游需要开通什么业务以及资费标准", "{place}的新基站何时建成",
               "手机如何开启VoLTE高清通话", "家中信号弱是否可以申请安装室内信号放大器"],
    "梦网业务": ["如何查询名下已订购的增值业务", "{sp}的收费标准和退订方式", "怎样开通增值业务屏蔽",
               "手机阅读包月如何取消"],
    "通信费用": ["本月话费{amount}元的构成", "如何开通话费余额提醒", "{pkg}的月租和包含的通话分钟数",
               "话费详单的查询方法", "充值后何时到账"],
    "市场营销": ["{pkg}的办理条件", "近期有哪些{gift}活动", "积分可以兑换哪些礼品", "合约机活动到期后的资费"],
    "业务支撑": ["补办SIM卡需要带哪些证件", "如何办理携号转网", "号码过户的办理流程", "网上营业厅如何修改服务密码"],
    "服务质量": ["{place}附近营业厅的营业时间", "营业厅是否可以预约办理业务", "如何评价营业员的服务"],
    "集团业务": ["{company}如何开通集团V网", "集团专线的带宽和资费", "集团短信平台的开通流程"],
    "其它": ["宽带报装的办理流程", "{place}能否安装光纤宽带", "如何防范诈骗短信"],
}
CONSULT_ANSWER = ["已向客户详细解答{topic}相关问题，客户表示清楚。", "已告知客户办理渠道和所需资料，客户表示满意。",
                  "已介绍相关业务规则和资费标准，并短信发送说明。", "已向客户解答，并告知可通过网上营业厅自助查询。"]
SUGGEST_OPEN = ["客户建议", "客户提出建议：", "客户希望", "客户来电建议"]
SUGGEST_CLOSE = ["。", "，希望公司考虑。", "，以方便更多用户。", "，感谢公司重视。"]
SUGGEST: dict[str, list[str]] = {
    "基础通信": ["在{place}增建基站，改善室内覆盖", "地铁和隧道内增加信号覆盖", "晚高峰时段扩容{place}一带的网络"],
    "梦网业务": ["增值业务订购前增加短信二次确认", "每月发送一次已订购业务的清单", "提供一键退订全部增值业务的功能"],
    "通信费用": ["话费账单增加更清楚的分项说明", "流量快用完时及时短信提醒", "推出更多适合老年人的低价套餐"],
    "市场营销": ["优惠活动规则写得更简明", "老用户也能参加新用户优惠活动", "减少营销电话的次数"],
    "业务支撑": ["网上营业厅增加更多自助业务", "缩短补卡和过户的办理时间", "手机营业厅界面更简洁易用"],
    "服务质量": ["{place}营业厅在高峰期增开窗口", "营业厅增设老年人专用窗口", "10086人工服务减少等待时间"],
    "集团业务": ["集团客户配备专属的技术支持", "集团专线故障时主动通知", "集团短信平台增加发送统计报表"],
    "其它": ["公共场所增加免费充电设施", "加强对诈骗短信的拦截", "营业厅提供更多便民服务"],
}
SUGGEST_ANSWER = ["已记录客户建议并转相关部门研究，感谢客户支持。", "已向客户致谢，建议已反馈至{topic}相关部门。",
                  "已将建议纳入服务改进计划，并告知客户后续安排。"]

ANSWERS = [
    "已电话告知客户处理结果，客户表示接受。", "已向客户解释处理结果并致歉，客户表示理解。", "已短信告知客户处理结果。",
    "已答复客户，客户表示满意。", "已告知客户处理进展及后续安排。",
]
NOTES: dict[str, list[str]] = {
    E.DISPATCH: ["请尽快处理。", "客户情绪激动，请优先处理。", "请核查后回复。", ""],
    E.ACCEPT: [""],
    E.TRANSFER: ["非本部门处理范围，转派相关部门。", "需网络优化中心现场测试。", "需工程建设配合。"],
    E.RETURN: ["派单部门错误，退回重新派单。", "工单信息不全，退回。"],
    E.REQUEST_INFO: ["请补充客户具体地址及故障时间。", "请提供客户详单截图。", "请补充客户联系方式。"],
    E.PROVIDE_INFO: ["已补充客户地址及故障时间。", "已补充详单截图。", "已联系客户补充信息。"],
    E.REQUEST_HOLD: ["需新建基站解决，申请挂起。", "等待设备到货，申请挂起。"],
    E.APPROVE_HOLD: ["同意挂起。"],
    E.RESUME: ["条件已具备，恢复处理。"],
    E.CALLBACK: ["已回访客户。", "回访完成。"],
    E.CLOSE: ["归档。", ""],
    E.REOPEN: ["客户对处理结果不满意，重开工单。"],
    E.WITHDRAW: ["客户来电表示问题已自行解决，撤销工单。", "客户要求撤销。"],
    E.REJECT: ["重复受理，驳回。", "非有效投诉，驳回。"],
}

# Mixes (weights). Top categories by name: the five big ones above 80 % (domain.md §5).
ROOT_WEIGHTS = {
    "基础通信": 30, "梦网业务": 18, "通信费用": 17, "市场营销": 10, "业务支撑": 9, "服务质量": 7, "集团业务": 4,
    "其它": 5,
}
CONTACT_WEIGHTS = [
    (ContactType.COMPLAINT, 62), (ContactType.CONSULTATION, 20), (ContactType.FAULT, 10), (ContactType.SUGGESTION, 6),
    (ContactType.APPEAL, 2),
]
CHANNEL_WEIGHTS = [
    (Channel.HOTLINE, 58), (Channel.HALL, 20), (Channel.ACCOUNT_MANAGER, 5), (Channel.WEB, 7), (Channel.SMS, 5),
    (Channel.EMAIL, 2), (Channel.API, 3),
]
BRAND_WEIGHTS = [(Brand.GOTONE, 20), (Brand.MZONE, 25), (Brand.SHENZHOUXING, 55)]
VIP_SHARE = {Brand.GOTONE: 0.80, Brand.MZONE: 0.08, Brand.SHENZHOUXING: 0.036}  # ≈ 20 % overall
HOUR_WEIGHTS = [1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 3, 7, 10, 11, 10, 8, 8, 10, 10, 10, 9, 8, 8, 8, 7, 5, 2]

MSISDN_PREFIXES = [
    "134", "135", "136", "137", "138", "139", "147", "150", "151", "152", "157", "158", "159", "172", "178", "182",
    "183", "184", "187", "188", "195", "197", "198",
]
SURVEY_FIELDS = [
    "id", "kind", "msisdn", "ticket", "channel", "unit", "staff", "occasion", "token_hash", "status", "sent_at",
    "sms_at", "expires_at", "score", "answered_at", "answered_via", "comment", "region",
]
SURVEY_SCORES = {
    CallbackVerdict.SATISFIED: (5, 5, 4, 4, 3), CallbackVerdict.DISSATISFIED: (1, 2, 2, 3), "": (5, 4, 4, 3, 2),
}
_MSISDN_SPACE = len(MSISDN_PREFIXES) * 10**8
_MSISDN_MULT = 1_000_003  # prime, coprime with the space: id → number is a bijection
# fmt: on


def msisdn_for(index: int, salt: int = 0) -> str:
    """A unique-looking China Mobile number for customer `index` (a bijection on the number space)."""
    x = (index * _MSISDN_MULT + 48_271 + salt * 7_777_777) % _MSISDN_SPACE
    return MSISDN_PREFIXES[x // 10**8] + f"{x % 10**8:08d}"


def _cumulative(weights: list[float]) -> list[float]:
    total = float(sum(weights))
    acc, out = 0.0, []
    for w in weights:
        acc += w
        out.append(acc / total)
    out[-1] = 1.0
    return out


def _check_copy_safe(text: str) -> str:
    if any(ch in text for ch in "\t\n\r\\"):
        raise ValueError(f"generator text must not contain tabs, newlines or backslashes: {text!r}")
    return text


for _fragments in TEXT.values():
    for _parts in _fragments.values():
        for _text in _parts:
            _check_copy_safe(_text)


# --------------------------------------------------------------------------------------------------
# The reference data the generator draws on (org units, staff, categories, routing, SLA policies).
# --------------------------------------------------------------------------------------------------


class MissingReference(RuntimeError):
    """The organisation / categories / SLA policies are not there: run seed_reference() first."""


@dataclass
class Reference:
    units: dict[str, OrgUnit]  # by name
    unit_by_id: dict[int, OrgUnit]
    call_room: OrgUnit
    second_line: OrgUnit
    branches: list[OrgUnit]
    halls: list[OrgUnit | None]  # per branch: 渠道室
    customer_rooms: list[OrgUnit | None]  # per branch: 客服室
    leaves: list[Category]
    root_of: dict[int, int]
    root_name: dict[int, str]
    policies: list[SlaPolicy]
    rules: list[RoutingRule]
    staff_by_unit: dict[int, list[int]] = field(default_factory=dict)
    head_by_unit: dict[int, list[int]] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)

    @classmethod
    def load(cls) -> Reference:
        units = list(OrgUnit.objects.filter(region=REGION, is_active=True).order_by("path", "id"))
        by_name = {}
        for unit in units:
            by_name.setdefault(unit.name, unit)
        call_room = by_name.get("话务室") or next((u for u in units if u.function == UnitFunction.FRONT_LINE), None)
        second_line = next((u for u in units if u.function == UnitFunction.SECOND_LINE), None)
        if call_room is None or second_line is None:
            raise MissingReference("No call room / second-line room in region JM: run seed_reference() first.")
        branches = [u for u in units if u.name.endswith("分公司") and u.level == "centre"]
        halls, rooms = [], []
        for branch in branches:
            children = [u for u in units if u.parent_id == branch.pk]
            halls.append(next((u for u in children if u.name.endswith("渠道室")), None))
            rooms.append(next((u for u in children if u.name.endswith("客服室")), None))
        categories = list(Category.objects.filter(is_active=True).order_by("path", "id"))
        if not categories:
            raise MissingReference("No complaint categories: run seed_reference() first.")
        parents = {c.parent_id for c in categories if c.parent_id}
        by_id = {c.pk: c for c in categories}
        leaves = [c for c in categories if c.pk not in parents]
        root_of = {c.pk: c.ancestor_ids()[0] for c in categories}
        root_name = {c.pk: by_id[root_of[c.pk]].name if root_of[c.pk] in by_id else c.name for c in categories}
        policies = list(SlaPolicy.objects.filter(is_active=True).select_related("calendar").order_by("position", "id"))
        if not policies:
            raise MissingReference("No SLA policy: run seed_reference() first.")
        rules = list(
            RoutingRule.objects.filter(is_active=True).select_related("target_unit").order_by("position", "id")
        )
        return cls(
            units=by_name,
            unit_by_id={u.pk: u for u in units},
            call_room=call_room,
            second_line=second_line,
            branches=branches,
            halls=halls,
            customer_rooms=rooms,
            leaves=leaves,
            root_of=root_of,
            root_name=root_name,
            policies=policies,
            rules=rules,
        )


def _display_name(rnd: random.Random) -> str:
    return rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2, 2))))


def staff_names(per_role: int | None = None) -> list[tuple[str, str, str]]:
    """(username, role, unit name) of the planned demo staff. `per_role`: about that many in every role (a real
    operator's workload, for benchmarks), spread over the role's units in the plan; None: the small demo plan."""
    plan: list[tuple[str, str, str]] = []
    entries_of: dict[str, int] = {}
    for _prefix, _count, role, _unit in STAFF_PLAN:
        entries_of[role] = entries_of.get(role, 0) + 1
    seen: dict[str, int] = {}
    for prefix, count, role, unit_name in STAFF_PLAN:
        if per_role is None:
            total = count
        else:  # the role's share, at least one per unit; the first units take the remainder
            position = seen[role] = seen.get(role, -1) + 1
            share, rest = divmod(per_role, entries_of[role])
            total = max(1, share + (1 if position < rest else 0))
        if count == 0:  # a single named user ("head_net"); more of them "head_net_2", "head_net_3", ...
            names = [prefix] + [f"{prefix}_{i}" for i in range(2, total + 1)]
        else:
            names = [f"{prefix}{i}" for i in range(1, total + 1)]
        plan += [(name, role, unit_name) for name in names]
    return plan


def ensure_staff(ref: Reference, seed: int = 1, per_role: int | None = None) -> dict[str, User]:
    """Create the demo staff that is missing (idempotent); return every demo user by username."""
    rnd = random.Random(f"staff-{seed}")
    groups = {role.value: Group.objects.get_or_create(name=role.value)[0] for role in Role}
    wanted: list[tuple[str, str, OrgUnit]] = []
    # The plan's units are Jiangmen's, and the province company above them.
    above = {u.name: u for u in OrgUnit.objects.filter(level__in=(UnitLevel.HQ, UnitLevel.PROVINCE), is_active=True)}
    for name, role, unit_name in staff_names(per_role):
        unit = ref.units.get(unit_name) or above.get(unit_name)
        if unit is not None:
            wanted.append((name, role, unit))
    # Every unit tickets are routed to needs somebody to accept them.
    staffed = {unit.pk for _, role, unit in wanted if role in (Role.SPECIALIST, Role.DISPATCHER)}
    for rule in ref.rules:
        unit = rule.target_unit
        if unit.region == REGION and unit.pk not in staffed:
            wanted.append((f"specialist_{unit.code.lower().replace('-', '_')}", Role.SPECIALIST, unit))
            staffed.add(unit.pk)
    existing = {u.username: u for u in User.objects.filter(username__in=[w[0] for w in wanted])}
    password = make_password(DEMO_PASSWORD)  # hashed once: the hasher is deliberately slow
    new_users, memberships = [], []
    for position, (username, role, unit) in enumerate(wanted):
        name = _display_name(rnd)
        if username in existing:
            continue
        user = User(
            username=username,
            password=password,
            unit=unit,
            display_name=name,
            first_name=name[1:],
            last_name=name[:1],
            # By place in the plan and the unit's region code: unique also when staff is added later.
            employee_no=f"{unit.region}{position + 1:05d}",
            is_active=True,
            is_staff=role in (Role.ADMINISTRATOR, Role.SUPERVISOR, Role.AUDITOR),  # the admin: policy, audit log
            is_superuser=role == Role.ADMINISTRATOR,
        )
        new_users.append((user, role))
    User.objects.bulk_create([u for u, _ in new_users])
    created = {u.username: u for u in User.objects.filter(username__in=[u.username for u, _ in new_users])}
    memberships = [
        User.groups.through(user_id=created[u.username].pk, group_id=groups[role].pk) for u, role in new_users
    ]
    User.groups.through.objects.bulk_create(memberships, ignore_conflicts=True)
    users = {**existing, **created}
    role_of = {username: role for username, role, _ in wanted}
    ref.users = users
    ref.staff_by_unit = {}
    for username, user in sorted(users.items()):
        role = role_of[username]
        if role in (Role.SPECIALIST, Role.DISPATCHER, Role.HOTLINE_AGENT, Role.HALL_CLERK, Role.ACCOUNT_MANAGER):
            ref.staff_by_unit.setdefault(user.unit_id, []).append(user.pk)
        if role == Role.DEPARTMENT_HEAD:
            ref.head_by_unit.setdefault(user.unit_id, []).append(user.pk)
    return users


# --------------------------------------------------------------------------------------------------
# The generator.
# --------------------------------------------------------------------------------------------------


@dataclass
class Options:
    tickets: int
    seed: int = 1
    customers: int | None = None  # default: a third of the tickets, at least 1,000
    months: int | None = None  # default: ~5,000 tickets a month, at most 36 months
    end: dt.datetime | None = None  # "now" for the data: open tickets are open as of this moment
    batch_size: int = 2000
    open_share: float = 0.0  # extra share of tickets left unfinished (stuck open), for queue benchmarks
    # Drop the ticket tables' secondary indexes / foreign keys for the load and rebuild them after. None: only
    # for a big load (>= 50,000 tickets) into an empty ticket table, outside any transaction.
    rebuild_indexes: bool | None = None
    # Build the tickets in a forked child process while this one writes. None: for >= 10,000 tickets, unless
    # inside a caller's transaction. The data is the same either way.
    process: bool | None = None
    progress: Callable[[int, int], None] | None = None
    surveys: bool = True  # satisfaction surveys of closed tickets and window services (see _write_surveys)
    staff_per_role: int | None = None  # about this many staff in every role (None: the small demo plan)


@dataclass
class Result:
    tickets: int = 0
    events: int = 0
    customers: int = 0
    users: int = 0
    seconds: float = 0.0
    first_ticket_id: int = 0
    index_seconds: float = 0.0  # rebuilding the indexes after the load (included in `seconds`)
    surveys: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    child_peak_rss_mb: float = 0.0  # peak RSS of the child process that built the tickets (0: none)


def _time_text(suffix: str) -> Callable[[int], str]:
    """`TimeText` as a plain function that reads its caches directly (called ~20 times per ticket)."""
    text = TimeText(suffix)
    days, tod = text.days, text.tod

    def ts(epoch: int) -> str:
        prefix = days.get(epoch // DAY)
        return text(epoch) if prefix is None else prefix + tod[epoch % DAY]

    return ts


class _Cut(Exception):
    """The next event of the timeline would be after `end`: the ticket stays where it is."""


class Generator:
    def __init__(self, options: Options):
        self.o = options
        if options.tickets < 0:
            raise ValueError("tickets must be >= 0")
        self.rnd = random.Random(options.seed)
        end = options.end or timezone.now()
        self.end = int(end.timestamp())
        months = options.months or max(1, min(36, math.ceil(options.tickets / MONTHLY_VOLUME)))
        self.days = max(1, round(months * 30.44))
        end_local_day = (self.end + LOCAL_OFFSET) // DAY
        self.first_day = end_local_day - self.days + 1
        self.n_customers = options.customers if options.customers is not None else max(1000, options.tickets // 3)
        if self.n_customers < 1:
            raise ValueError("at least one customer is needed")
        self.w = RowWriter()
        self.ts = _time_text(self.w.tz_suffix)

    # -- public -------------------------------------------------------------------------------------

    def run(self) -> Result:
        started = time.perf_counter()
        result = Result()
        ref = Reference.load()
        self.ref = ref
        with transaction.atomic():
            users = ensure_staff(ref, self.o.seed, self.o.staff_per_role)
        result.users = len(users)
        self._prepare(ref)
        result.customers = self._write_customers()
        result.first_ticket_id = self.ticket_id
        rebuild = self.o.rebuild_indexes
        if rebuild is None:
            rebuild = self.o.tickets >= 50_000 and not connection.in_atomic_block and not Ticket.objects.exists()
        keys = ("ticket", "event", "access", "survey") if self.o.surveys else ("ticket", "event", "access")
        recreate = self.w.drop_secondary_indexes(keys) if rebuild else []
        self.w.bulk_mode(True)
        try:
            self._write_tickets(result)
        finally:
            self.w.bulk_mode(False)
            rebuild_started = time.perf_counter()
            self.w.rebuild(recreate)
            result.index_seconds = time.perf_counter() - rebuild_started
        self.w.reset_sequences()
        # The customer base of the generated months (per 10,000 customers): every month end of the history kept with
        # the customers generated, as `snapshot_customers --since` does, so that a month's figure does not move
        # when customers are added later.
        from loopdesk.reports import customerbase

        customerbase.backfill(dt.date(1970, 1, 1) + dt.timedelta(days=self.first_day))
        result.surveys = self.survey_id - self.survey_id0
        result.seconds = time.perf_counter() - started
        return result

    def _surveys(self, tid: int, cid: int, channel: str, unit: int, user: int, closed: int, seq: int,
                 verdict: str) -> None:
        """Satisfaction surveys as the surveys app sends them: one per closed work order, sent at the close and
        answered by about 45 % (scores follow the callback verdict), and a window-service survey after about one
        in four hall and hotline contacts (rating the unit and agent who registered it). Built here, with the
        ticket, from their own random stream (`surveys-<seed>`, drawn in ticket order), and written with its batch."""
        r, N, ts, end = self.survey_rnd, self.N, self.ts, self.end
        msisdn = self.moved_msisdn.get(cid) or msisdn_for(cid)
        occasions = [(SurveyKind.TICKET, f"ticket:{tid}:{seq}", str(tid))]
        if channel in (Channel.HALL, Channel.HOTLINE) and r.random() < 0.25:
            occasions.append((SurveyKind.WINDOW, f"window:{channel}:gen-{tid}", N))
        sent, expires = ts(closed), closed + self.survey_valid
        expires_s, unit_s, user_s = ts(expires), str(unit), str(user)
        scores = SURVEY_SCORES.get(verdict, SURVEY_SCORES[""])
        for kind, occasion, ticket in occasions:
            answered = closed + 60 * r.randint(2, 36 * 60)
            status, answered_at, via, score = SurveyStatus.OPEN, N, "", N
            if r.random() < 0.45 and answered <= end:
                status, answered_at, via, score = SurveyStatus.ANSWERED, ts(answered), "sms", str(r.choice(scores))
            elif expires <= end:
                status = SurveyStatus.EXPIRED
            token = hashlib.sha256(f"{self.o.seed}:{occasion}".encode()).hexdigest()
            self.survey_rows.append([str(self.survey_id), kind, msisdn, ticket, channel, unit_s, user_s, occasion,
                                     token, status, sent, sent, expires_s, score, answered_at, via, "", REGION])
            self.survey_id += 1

    # -- preparation --------------------------------------------------------------------------------

    def _prepare(self, ref: Reference) -> None:
        r = self.rnd
        self.N, self.T, self.F = self.w.null, self.w.true, self.w.false
        users = ref.users
        by_prefix: dict[str, list[User]] = {}
        for name, user in sorted(users.items()):
            by_prefix.setdefault(name.rstrip("0123456789"), []).append(user)
        self.agents = [(u.pk, u.unit_id) for u in by_prefix.get("agent", [])] or [self._any_user(ref.call_room)]
        self.dispatchers = [(u.pk, u.unit_id) for u in by_prefix.get("dispatcher", [])] or [
            self._any_user(ref.second_line)
        ]
        # Whose transfer routes a work order as a dispatch does (`do_transfer_ticket` sets the dispatching unit).
        self.dispatcher_ids = {u.pk for u in by_prefix.get("dispatcher", [])}
        self.branch_ids = [b.pk for b in ref.branches] or [ref.call_room.pk]
        # Per branch: every clerk of its hall and every account manager of its customer room (a ticket takes one by
        # its id, so that the work spreads over them without another random draw).
        self.hall_staff: list[list[tuple[int, int]] | None] = []
        self.am_staff: list[list[tuple[int, int]] | None] = []
        for hall, room in zip(ref.halls, ref.customer_rooms, strict=True):
            self.hall_staff.append(self._unit_staff(hall) if hall else None)
            self.am_staff.append(self._unit_staff(room) if room else None)
        if not self.hall_staff:
            self.hall_staff, self.am_staff = [None], [None]
        # Categories: a leaf within a top category, the top categories by the Jiangmen mix.
        roots: dict[int, list[Category]] = {}
        for leaf in ref.leaves:
            roots.setdefault(ref.root_of[leaf.pk], []).append(leaf)
        self.root_ids = sorted(roots)
        self.root_cum = _cumulative([ROOT_WEIGHTS.get(ref.root_name[rid], 2) for rid in self.root_ids])
        self.root_leaves = [roots[rid] for rid in self.root_ids]
        self.leaf_cum = [_cumulative([1.0 / (i + 1) ** 0.5 for i in range(len(ls))]) for ls in self.root_leaves]
        self.contact_values = [c for c, _ in CONTACT_WEIGHTS]
        self.contact_cum = _cumulative([w for _, w in CONTACT_WEIGHTS])
        self.channel_values = [c for c, _ in CHANNEL_WEIGHTS]
        self.channel_cum = _cumulative([w for _, w in CHANNEL_WEIGHTS])
        self.hour_cum = _cumulative(HOUR_WEIGHTS)
        self.specialist_units = [
            uid
            for uid in ref.staff_by_unit
            if ref.unit_by_id[uid].function == UnitFunction.SPECIALIST
        ] or [ref.second_line.pk]
        self.route_cache: dict[tuple[Any, ...], int] = {}
        self.detail_cache: dict[int, list[str]] = {}
        self.policy_cache: dict[tuple[Any, ...], SlaPolicy] = {}
        self.clocks: dict[int, FastClock] = {}
        first = self.first_day - 400
        last = (self.end + LOCAL_OFFSET) // DAY + 3 * 366
        for policy in ref.policies:
            key = policy.calendar_id
            if key not in self.clocks:
                self.clocks[key] = FastClock(working_time_for(policy.calendar), first, last)
        self.committed_cache: dict[tuple[int, int], int] = {}
        # Day weights: weekdays busier, a little noise and growth; tickets are spread by them.
        weights = []
        for i in range(self.days):
            weekday = (self.first_day + i + 3) % 7  # 1970-01-01 was a Thursday
            w = (0.85 if weekday >= 5 else 1.0) * (0.9 + 0.2 * i / self.days) * r.uniform(0.85, 1.15)
            weights.append(w)
        self.day_cum = _cumulative(weights)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT day, last_value FROM {TicketSequence._meta.db_table} WHERE region = %s",  # noqa: S608
                [REGION],
            )
            self.sequences = {self._day_number(day): value for day, value in cursor.fetchall()}
            self.pg_sequences = self._day_sequences(cursor)
        for day, value in self.pg_sequences.items():  # registered on PostgreSQL: the day's sequence is ahead
            self.sequences[day] = max(self.sequences.get(day, 0), value)
        self.touched_days: set[int] = set()
        self.ticket_id = self.w.next_id("ticket")
        self.event_id = self.w.next_id("event")
        self.access_id = self.w.next_id("access")
        self.link_id = self.w.next_id("link")
        self.links: list[list[Any]] = []  # repeat-complaint links of the batch being built
        self.customer_id0 = self.w.next_id("customer")
        self.moved_msisdn: dict[int, str] = {}  # customer id → number, where msisdn_for's was taken already
        self.w.tables["survey"] = (Survey._meta.db_table, _columns(Survey, SURVEY_FIELDS))
        self.survey_id0 = self.survey_id = self.w.next_id("survey")
        self.survey_rows: list[list[Any]] = []  # surveys of the batch being built
        self.survey_rnd = random.Random(f"surveys-{self.o.seed}")
        self.survey_valid = int(FollowupPolicy.current().survey_valid_hours * HOUR)
        self.cust_tier = bytearray(self.n_customers)
        self.cust_branch = bytearray(self.n_customers)
        self.cust_am = bytearray(self.n_customers)
        self._repeat_state_allocated = False

    @staticmethod
    def _number(day: int, seqno: int) -> str:
        """A work order's number from its local day (days since 1970-01-01) and that day's sequence."""
        return f"{REGION}-{dt.date(1970, 1, 1) + dt.timedelta(days=day):%Y%m%d}-{seqno:06d}"

    @classmethod
    def _day_sequences(cls, cursor: Any) -> dict[int, int]:
        """PostgreSQL: the last number each day's sequence handed out (tickets.numbers takes a work order's number
        from it, not from the counter row), by day."""
        if connection.vendor != "postgresql":
            return {}
        cursor.execute(
            "SELECT sequencename, COALESCE(last_value, start_value - 1) FROM pg_sequences "
            "WHERE schemaname = current_schema() AND sequencename LIKE %s",
            [f"tkt\\_no\\_{REGION.lower()}\\_%"],
        )
        found = {}
        for name, value in cursor.fetchall():
            digits = name.rsplit("_", 1)[-1]
            if len(digits) == 8 and digits.isdigit():
                found[cls._day_number(dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:])))] = int(value)
        return found

    @staticmethod
    def _day_number(day: Any) -> int:
        if isinstance(day, str):
            day = dt.date.fromisoformat(day)
        return (day - dt.date(1970, 1, 1)).days

    def _unit_staff(self, unit: OrgUnit) -> list[tuple[int, int]]:
        staff = self.ref.staff_by_unit.get(unit.pk)
        return [(uid, unit.pk) for uid in staff] if staff else [self._any_user(unit)]

    def _any_user(self, unit: OrgUnit) -> tuple[int, int]:
        staff = self.ref.staff_by_unit.get(unit.pk)
        if staff:
            return staff[0], unit.pk
        user = User.objects.filter(unit=unit, is_active=True).order_by("id").first()
        if user is None:
            user = self.ref.users[sorted(self.ref.users)[0]]
        return user.pk, unit.pk

    # -- customers ----------------------------------------------------------------------------------

    def _write_customers(self) -> int:
        r = random.Random(f"customers-{self.o.seed}")
        rnd, N = r.random, self.N
        brand_values = [b for b, _ in BRAND_WEIGHTS]
        brand_cum = _cumulative([w for _, w in BRAND_WEIGHTS])
        am_lists = [[uid for uid, _unit in s] if s else None for s in self.am_staff]
        ts = self.ts
        created_hi = self.first_day * DAY - LOCAL_OFFSET
        batch: list[list[Any]] = []
        base = self.customer_id0
        n_branches = len(self.branch_ids)
        for i in range(self.n_customers):
            cid = base + i
            brand = brand_values[bisect.bisect_left(brand_cum, rnd())]
            vip = VipLevel.NONE
            if rnd() < VIP_SHARE[brand]:
                x = rnd()
                vip = VipLevel.DIAMOND if x < 0.1 else VipLevel.GOLD if x < 0.4 else VipLevel.SILVER
            if brand == Brand.GOTONE:
                arpu = r.uniform(100, 320) * (1.6 if vip == VipLevel.DIAMOND else 1.0)
            elif brand == Brand.MZONE:
                arpu = r.uniform(25, 90)
            else:
                arpu = r.uniform(8, 70)
            b = int(rnd() * n_branches)
            managers = am_lists[b]
            am = managers[cid % len(managers)] if managers and vip != VipLevel.NONE and rnd() < 0.9 else None
            self.cust_tier[i] = vip != VipLevel.NONE
            self.cust_branch[i] = b
            self.cust_am[i] = am is not None
            batch.append(
                [
                    str(cid),
                    msisdn_for(cid),
                    _display_name(r),
                    brand,
                    vip,
                    f"{arpu:.2f}",
                    str(int(arpu * r.uniform(6, 60))),
                    PROVINCE,
                    REGION,
                    str(self.branch_ids[b]),
                    N,
                    str(am) if am else N,
                    ts(created_hi - int(rnd() * 3 * 365 * DAY)),
                ]
            )
            if len(batch) >= 10_000:
                self._flush_customers(batch)
                batch = []
        self._flush_customers(batch)
        return self.n_customers

    def _flush_customers(self, batch: list[list[Any]]) -> None:
        if not batch:
            return
        # Numbers are a bijection of the id, but rows written by hand may already hold one: move those aside.
        taken = set(Customer.objects.filter(msisdn__in=[row[1] for row in batch]).values_list("msisdn", flat=True))
        for row in batch:
            salt = 0
            while row[1] in taken:
                salt += 1
                row[1] = msisdn_for(int(row[0]), salt)
            if salt:
                self.moved_msisdn[int(row[0])] = row[1]
        with transaction.atomic():
            self.w.write("customer", batch)

    # -- tickets ------------------------------------------------------------------------------------

    def _write_tickets(self, result: Result) -> None:
        """Build the tickets in a child process (forked: it inherits the prepared state and never touches the
        database) that hands finished batches over a pipe, while this process writes the previous one; the
        child builds exactly what this process would, from the same random streams in the same order, so the
        data does not depend on the mode. Inside a caller's transaction (tests) the default is this process."""
        total = self.o.tickets
        forked = self.o.process
        if forked is None:
            forked = not connection.in_atomic_block and total >= 10_000
        if forked and "fork" not in multiprocessing.get_all_start_methods():
            forked = False
        if forked:
            self._write_from_child(result, total)
        else:
            statuses: dict[str, int] = {}
            for batch in self._batches(total, statuses):
                self._take(result, batch)
            result.statuses = statuses
        self._save_sequences()
        if self.o.progress:
            self.o.progress(result.tickets, total)

    def _allocate_repeat_state(self) -> None:
        """Repeat complaints (same customer, same top category, within 30 days): each customer's latest complaint,
        in flat arrays of 16 bytes a customer (53 MB for the 3.3 M customers of a 10 M-ticket run), and beside them
        only the latest complaints replaced within 30 days by one in another top category (`displaced`, pruned
        to the window: a small share of a month's complaints), nothing that grows with the number of tickets.
        Allocated where the tickets are built (the forked child), so the
        writing parent never holds a copy."""
        n = self.n_customers
        self.last_root = array("H", [0]) * n  # index + 1 of the top category (0: none yet)
        self.last_time = array("I", [0]) * n  # created, epoch seconds
        self.last_ticket = array("I", [0]) * n  # its id
        # Its number (region-day-sequence), for the repeat event: set once the number is known (below).
        self.last_day = array("H", [0]) * n
        self.last_seq = array("I", [0]) * n
        # A customer's latest complaint replaced by one in another top category while still within 30 days, by
        # (customer, top category): (created, id, day, sequence). A later complaint in the first category still
        # repeats it (the service looks at every top category). Pruned to the window: a month's complaints at most.
        self.displaced: dict[tuple[int, int], tuple[int, int, int, int]] = {}
        self._displaced_pruned = 0
        self._repeat_state_allocated = True

    def _displace(self, ci: int, created: int) -> None:
        """Keep the customer's latest complaint (about to be replaced by one in another top category) if a later
        complaint could still repeat it."""
        if created - self.last_time[ci] <= REPEAT_WINDOW:
            self.displaced[(ci, self.last_root[ci])] = (
                self.last_time[ci], self.last_ticket[ci], self.last_day[ci], self.last_seq[ci])
        if len(self.displaced) > 2 * self._displaced_pruned + 4096:
            self.displaced = {k: v for k, v in self.displaced.items() if created - v[0] <= REPEAT_WINDOW}
            self._displaced_pruned = len(self.displaced)

    def _batches(self, total: int, statuses: dict[str, int]) -> Iterator[tuple[list[list[Any]], ...]]:
        """(tickets, events, unit access, repeat links, surveys) rows, a batch of `batch_size` tickets at a time."""
        if not self._repeat_state_allocated:
            self._allocate_repeat_state()
        batch_size = max(1, self.o.batch_size)
        tickets: list[list[Any]] = []
        events: list[list[Any]] = []
        access: list[list[Any]] = []
        for created, day in self._creation_times(total):
            status = self._ticket(created, day, tickets, events, access)
            statuses[status] = statuses.get(status, 0) + 1
            if len(tickets) >= batch_size:
                yield tickets, events, access, self.links, self.survey_rows
                tickets, events, access, self.links, self.survey_rows = [], [], [], [], []
        if tickets:
            yield tickets, events, access, self.links, self.survey_rows
            self.links, self.survey_rows = [], []

    def _take(self, result: Result, batch: tuple[list[list[Any]], ...]) -> None:
        self._flush(*batch)
        result.tickets += len(batch[0])
        result.events += len(batch[1])
        if self.o.progress:
            self.o.progress(result.tickets, self.o.tickets)

    # What the child hands back at the end: the counters the parent continues from.
    _CHILD_STATE = ("ticket_id", "event_id", "access_id", "link_id", "survey_id", "sequences", "touched_days")

    def _write_from_child(self, result: Result, total: int) -> None:
        ctx = multiprocessing.get_context("fork")
        receiver, sender = ctx.Pipe(duplex=False)
        child = ctx.Process(target=self._child, args=(sender, total), daemon=True)
        # Every object so far goes to the collector's permanent generation, in both processes, until the child
        # has ended: a collection would otherwise write to each object's header and so copy every page of the
        # inherited heap into the child (a SQLite load with 3.3 M customers: 332 MB PSS without this, 291 with).
        gc.collect()
        gc.freeze()
        child.start()
        sender.close()
        try:
            while True:
                try:
                    message = receiver.recv()
                except EOFError:
                    child.join(timeout=10)
                    code = child.exitcode
                    raise RuntimeError(f"the generator process ended without its data (exit {code})") from None
                if message[0] == "batch":
                    self._take(result, message[1])
                elif message[0] == "done":
                    state = message[1]
                    for name in self._CHILD_STATE:
                        setattr(self, name, state[name])
                    result.statuses = state["statuses"]
                    result.child_peak_rss_mb = state["peak_rss_mb"]
                    break
                else:
                    raise RuntimeError(f"the generator process failed:\n{message[1]}")
        finally:
            receiver.close()
            child.join(timeout=60)
            if child.is_alive():
                child.kill()
            gc.unfreeze()

    def _child(self, sender: Any, total: int) -> None:
        """In the forked child: build the batches and send them; then the counters, or the error."""
        try:
            statuses: dict[str, int] = {}
            for batch in self._batches(total, statuses):
                sender.send(("batch", batch))
            state = {name: getattr(self, name) for name in self._CHILD_STATE}
            state["statuses"] = statuses
            state["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            sender.send(("done", state))
        except BaseException:
            sender.send(("error", traceback.format_exc()))
        finally:
            sender.close()

    def _flush(
        self,
        tickets: list[list[Any]],
        events: list[list[Any]],
        access: list[list[Any]],
        links: list[list[Any]] | tuple[()] = (),
        surveys: list[list[Any]] | tuple[()] = (),
    ) -> int:
        with transaction.atomic():
            if self.w.pg:
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            self.w.write("ticket", tickets)
            self.w.write("event", events)
            self.w.write("access", access)
            self.w.write("link", list(links))
            self.w.write("survey", list(surveys))
        return len(events)

    def _save_sequences(self) -> None:
        if not self.touched_days:
            return
        epoch = dt.date(1970, 1, 1)
        existing = {(s.day - epoch).days: s for s in TicketSequence.objects.filter(region=REGION)}
        new, changed = [], []
        for day in sorted(self.touched_days):
            value = self.sequences[day]
            row = existing.get(day)
            if row is None:
                new.append(TicketSequence(region=REGION, day=epoch + dt.timedelta(days=day), last_value=value))
            elif row.last_value != value:
                row.last_value = value
                changed.append(row)
        with transaction.atomic():
            TicketSequence.objects.bulk_create(new, batch_size=1000)
            TicketSequence.objects.bulk_update(changed, ["last_value"], batch_size=1000)
            # A day whose sequence exists continues from it, not from the counter row: move it past our numbers.
            days = [day for day in sorted(self.touched_days) if day in self.pg_sequences]
            if days:
                with connection.cursor() as cursor:
                    for day in days:
                        name = _sequence_name(REGION, epoch + dt.timedelta(days=day))
                        cursor.execute(
                            "SELECT setval(%s, GREATEST(%s, COALESCE((SELECT last_value FROM pg_sequences "
                            "WHERE schemaname = current_schema() AND sequencename = %s), 0)))",
                            [name, self.sequences[day], name])

    def _creation_times(self, total: int) -> Iterator[tuple[int, int]]:
        """`total` creation times in order, spread over the days by weight and over the day by the hour curve."""
        r = random.Random(f"times-{self.o.seed}")
        done = 0
        hour_cum = self.hour_cum
        for i, cum in enumerate(self.day_cum):
            upto = round(total * cum)
            n, done = upto - done, upto
            if n <= 0:
                continue
            day = self.first_day + i
            base = day * DAY - LOCAL_OFFSET
            secs = sorted(bisect.bisect_left(hour_cum, r.random()) * HOUR + int(r.random() * HOUR) for _ in range(n))
            for sec in secs:
                at = base + sec
                if at > self.end:
                    at = self.end - int(r.random() * HOUR)
                yield at, day

    def _route(self, leaf: Category, contact_type: str, tier: str, branch_id: int, channel: str) -> int:
        key = (leaf.id, contact_type, tier, branch_id, channel)
        unit = self.route_cache.get(key)
        if unit is None:
            unit = self.ref.second_line.pk
            ancestors = leaf.ancestor_ids()
            for rule in self.ref.rules:
                if (
                    (not rule.region or rule.region == REGION)
                    and (not rule.contact_type or rule.contact_type == contact_type)
                    and (not rule.tier or rule.tier == tier)
                    and (not rule.channel or rule.channel == channel)
                    and (not rule.branch_id or rule.branch_id == branch_id)
                    and (not rule.category_id or rule.category_id in ancestors)
                ):
                    unit = rule.target_unit_id
                    break
            if unit not in self.ref.staff_by_unit:
                unit = self.ref.second_line.pk
            self.route_cache[key] = unit
        return unit

    def _policy(self, leaf: Category, contact_type: str, tier: str, priority: str, channel: str) -> SlaPolicy:
        key = (leaf.id, contact_type, tier, priority, channel)
        policy = self.policy_cache.get(key)
        if policy is None:
            ancestors = leaf.ancestor_ids()
            for p in self.ref.policies:
                if (
                    (not p.contact_type or p.contact_type == contact_type)
                    and (not p.tier or p.tier == tier)
                    and (not p.priority or p.priority == priority)
                    and (not p.channel or p.channel == channel)
                    and (not p.category_id or p.category_id in ancestors)
                ):
                    policy = p
                    break
            else:
                raise MissingReference("No SLA policy matches; add a default policy (seed_reference() does).")
            self.policy_cache[key] = policy
        return policy

    def _details(self, leaf: Category, root: str) -> list[str]:
        """The detail fragments of the top category that fit the leaf (by its search keywords), else all."""
        found = self.detail_cache.get(leaf.id)
        if found is None:
            details = TEXT.get(root, GENERIC_TEXT)["detail"]
            words = [w for w in (leaf.keywords or "").split() if len(w) >= 2]
            found = [d for d in details if any(w in d for w in words)] or details
            self.detail_cache[leaf.id] = found
        return found

    def _text(self, root: str, leaf: Category, contact_type: str) -> tuple[str, str, str]:
        rnd = self.rnd.random
        parts = TEXT.get(root, GENERIC_TEXT)

        def pick(seq: Any) -> Any:
            return seq[int(rnd() * len(seq))]

        place = pick(PLACES)
        values = {
            "place": place,
            "when": pick(WHEN),
            "days": 2 + int(rnd() * 8),
            "hour": 7 + int(rnd() * 5),
            "amount": pick((5, 8, 10, 15, 20, 30, 50, 68, 88, 120, 200, 350)),
            "sp": pick(SPS),
            "pkg": pick(PACKAGES),
            "gift": pick(GIFTS),
            "company": pick(COMPANIES),
            "month": 1 + int(rnd() * 12),
            "minutes": pick((30, 40, 60, 90)),
        }
        title = leaf.name + "（" + place + "）"
        if contact_type in (ContactType.CONSULTATION, ContactType.SUGGESTION):
            consult = contact_type == ContactType.CONSULTATION
            topics = (CONSULT if consult else SUGGEST).get(root) or (CONSULT if consult else SUGGEST)["其它"]
            opening = pick(CONSULT_OPEN if consult else SUGGEST_OPEN)
            text = opening + pick(topics) + pick(CONSULT_CLOSE if consult else SUGGEST_CLOSE)
            values["topic"] = leaf.name
            answer = pick(CONSULT_ANSWER if consult else SUGGEST_ANSWER)
            return title, text.format_map(values), answer.format_map(values)
        opening = pick(parts["open"])
        if contact_type == ContactType.APPEAL:
            opening = "工信部申诉转办：" + opening
        text = opening + pick(self._details(leaf, root)) + pick(parts["extra"]) + pick(parts["demand"])
        description = text.format_map(values)
        resolution = pick(parts["resolution"]).format_map(values)
        return title, description, resolution

    def _staff_of(self, unit_id: int) -> int:
        staff = self.ref.staff_by_unit[unit_id]
        return staff[int(self.rnd.random() * len(staff))]

    def _handling_seconds(self, vip: bool) -> int:
        """Dispatch → reply: most within a day, some past 48 h (overtime), a few past 72 h (problem)."""
        x = self.rnd.random()
        if x < 0.70:
            secs = self.rnd.uniform(0.5, 24) * HOUR
        elif x < 0.87:
            secs = self.rnd.uniform(24, 47) * HOUR
        elif x < 0.94:
            secs = self.rnd.uniform(48, 71) * HOUR
        else:
            secs = self.rnd.uniform(72, 240) * HOUR
        return int(secs * (0.6 if vip else 1.0))

    def _ticket(self, created: int, day: int, tickets: list, events: list, access: list) -> str:
        r = self.rnd
        rnd = r.random
        ref = self.ref
        N, T, F = self.N, self.T, self.F
        ts = self.ts
        end = self.end
        tid = self.ticket_id
        self.ticket_id += 1

        # Who, what, how.
        ci = int(rnd() * self.n_customers)
        if self.cust_tier[ci] and rnd() < 0.5:  # VIPs complain rarely
            ci = int(rnd() * self.n_customers)
        vip = bool(self.cust_tier[ci])
        tier = Tier.VIP if vip else Tier.REGULAR
        b = self.cust_branch[ci]
        branch_id = self.branch_ids[b]
        contact_type = self.contact_values[bisect.bisect_left(self.contact_cum, rnd())]
        ri = bisect.bisect_left(self.root_cum, rnd())
        leaves = self.root_leaves[ri]
        leaf = leaves[bisect.bisect_left(self.leaf_cum[ri], rnd())]
        root_name = ref.root_name[leaf.id]
        repeat_of, number_of = None, ""
        if contact_type in (ContactType.COMPLAINT, ContactType.APPEAL):
            if self.last_root[ci] == ri + 1:
                if created - self.last_time[ci] <= REPEAT_WINDOW:
                    repeat_of = self.last_ticket[ci]
                    number_of = self._number(self.last_day[ci], self.last_seq[ci])
            else:
                older = self.displaced.get((ci, ri + 1))
                if older is not None and created - older[0] <= REPEAT_WINDOW:
                    repeat_of, number_of = older[1], self._number(older[2], older[3])
                if self.last_root[ci]:
                    self._displace(ci, created)
            previous = (self.last_root[ci], self.last_time[ci], self.last_ticket[ci])
            self.last_root[ci], self.last_time[ci], self.last_ticket[ci] = ri + 1, created, tid
        if contact_type == ContactType.APPEAL:
            channel = Channel.REGULATOR
        else:
            channel = self.channel_values[bisect.bisect_left(self.channel_cum, rnd())]
            if channel == Channel.ACCOUNT_MANAGER and not (self.cust_am[ci] and self.am_staff[b]):
                channel = Channel.HOTLINE
            if channel == Channel.HALL and not self.hall_staff[b]:
                channel = Channel.HOTLINE
        if contact_type == ContactType.APPEAL:
            priority = Priority.URGENT
        elif vip:
            priority = Priority.HIGH
        elif contact_type == ContactType.SUGGESTION:
            priority = Priority.LOW
        else:
            priority = Priority.HIGH if rnd() < 0.03 else Priority.NORMAL
        if channel == Channel.HOTLINE:
            fr_user, fr_unit = self.agents[int(rnd() * len(self.agents))]
        elif channel == Channel.HALL:
            clerks = self.hall_staff[b]
            fr_user, fr_unit = clerks[tid % len(clerks)]  # type: ignore[index,arg-type]
        elif channel == Channel.ACCOUNT_MANAGER:
            managers = self.am_staff[b]  # the customer's own account manager (as _write_customers chose)
            fr_user, fr_unit = managers[(self.customer_id0 + ci) % len(managers)]  # type: ignore[index,arg-type]
        else:
            fr_user, fr_unit = self.dispatchers[int(rnd() * len(self.dispatchers))]
        target = self._route(leaf, contact_type, tier, branch_id, channel)
        policy = self._policy(leaf, contact_type, tier, priority, channel)
        clock = self.clocks[policy.calendar_id]
        title, description, resolution_text = self._text(root_name, leaf, contact_type)

        # The timeline. Each event: [kind, at, actor, actor_unit, from_status, to_status, from_unit, to_unit,
        # to_user, note, visibility, data]; `_Cut` stops it at `end`.
        evs: list[list[Any]] = []
        state = {"status": "", "unit": fr_unit, "user": fr_user, "t": created}
        stuck_at = -1
        if self.o.open_share and rnd() < self.o.open_share:
            stuck_at = 2 + int(rnd() * 5)
        units_seen: list[int] = []
        counters = {"dispatch": 0, "return": 0, "reopen": 0}
        ckey = (policy.pk, created)
        first_commitment = self.committed_cache.get(ckey)
        if first_commitment is None:
            first_commitment = clock.add(created, policy.resolution_minutes, [])
            if len(self.committed_cache) > 10_000:
                self.committed_cache.clear()
            self.committed_cache[ckey] = first_commitment  # type: ignore[assignment]
        commitment: dict[str, Any] = {"at": first_commitment}
        extra: dict[str, Any] = {"resolution": "", "answer": "", "verdict": "", "reject": "", "dispatcher": N}

        def ev(
            kind: str,
            delay: float,
            actor: int | None,
            actor_unit: int | None,
            to_status: str = "",
            handler: tuple[int, int | None] | None = None,
            note: str = "",
            visibility: str = Visibility.INTERNAL,
            data: str = "{}",
        ) -> None:
            at = state["t"] + int(delay)
            if at > end or len(evs) == stuck_at:
                raise _Cut
            state["t"] = at
            from_status = state["status"]
            from_unit = to_unit = to_user = None
            if handler is not None:
                from_unit = state["unit"] if evs else None
                to_unit, to_user = handler
                state["unit"], state["user"] = handler
            if to_status:
                state["status"] = to_status
            evs.append(
                [
                    kind,
                    at,
                    actor,
                    actor_unit,
                    from_status if to_status else "",
                    to_status,
                    from_unit,
                    to_unit,
                    to_user,
                    note,
                    visibility,
                    data,
                ]
            )

        def renew_passed_commitment() -> None:
            """After the last event (reopen, resume, information supplied): a committed time passed by then is renewed
            from the policy, counted from then, with the customer-visible entry `_renew_passed_commitment` writes."""
            last = evs[-1]
            at = last[1]
            if commitment["at"] > at:
                return
            previous, commitment["at"] = commitment["at"], clock.add(at, policy.resolution_minutes, [])
            data = (f'{{"from": "{dt.datetime.fromtimestamp(previous, dt.UTC).isoformat()}", '
                    f'"to": "{dt.datetime.fromtimestamp(commitment["at"], dt.UTC).isoformat()}", "{last[0]}": true}}')
            evs.append([E.COMMIT_TIME, at, last[2], last[3], "", "", None, None, None, "", Visibility.CUSTOMER, data])

        def note(kind: str) -> str:
            options = NOTES[kind]
            return options[int(rnd() * len(options))]

        def handle_department(first_unit: int, dispatcher: tuple[int, int]) -> None:
            """dispatch → accept → (info / hold / transfer) → reply, possibly with a misrouting first."""
            d_user, d_unit = dispatcher
            unit = first_unit
            if rnd() < 0.04 and len(self.specialist_units) > 1:
                wrong = self.specialist_units[int(rnd() * len(self.specialist_units))]
                if wrong != unit:
                    dispatch(d_user, d_unit, wrong, r.uniform(60, 3600), note(E.DISPATCH))
                    spec = self._staff_of(wrong)
                    # Back to the one who dispatched it, by name (`do_return_ticket`).
                    ev(E.RETURN, r.uniform(0.5, 10) * HOUR, spec, wrong, S.RETURNED, (d_unit, d_user), note(E.RETURN))
                    counters["return"] += 1
            budget = self._handling_seconds(vip)
            start = state["t"]
            dispatch(d_user, d_unit, unit, r.uniform(60, 3 * HOUR), note(E.DISPATCH))
            spec = self._staff_of(unit)
            ev(E.ACCEPT, min(budget * 0.2, r.uniform(300, 4 * HOUR)), spec, unit, S.IN_PROGRESS, (unit, spec))
            if rnd() < 0.05:
                others = [u for u in self.specialist_units if u != unit]
                if others:
                    new_unit = others[int(rnd() * len(others))]
                    ev(
                        E.TRANSFER,
                        budget * 0.2,
                        spec,
                        unit,
                        S.DISPATCHED,
                        (new_unit, None),
                        note(E.TRANSFER),
                        data=f'{{"to_unit": "{new_unit}"}}',
                    )
                    if spec in self.dispatcher_ids:
                        extra["dispatcher"] = str(unit)
                    unit = new_unit
                    counters["dispatch"] += 1
                    units_seen.append(unit)
                    spec = self._staff_of(unit)
                    ev(E.ACCEPT, r.uniform(300, 2 * HOUR), spec, unit, S.IN_PROGRESS, (unit, spec))
            work(spec, unit, budget, allow_hold=root_name == "基础通信")
            spent = state["t"] - start
            reply(spec, unit, max(600, budget - spent))

        def dispatch(d_user: int, d_unit: int, unit: int, delay: float, text: str) -> None:
            ev(E.DISPATCH, delay, d_user, d_unit, S.DISPATCHED, (unit, None), text, data=f'{{"to_unit": "{unit}"}}')
            extra["dispatcher"] = str(d_unit)
            counters["dispatch"] += 1
            units_seen.append(unit)

        def work(spec: int, unit: int, budget: int, allow_hold: bool) -> None:
            """Sometimes the department needs more information, or a suspension (e.g. a base station to build)."""
            x = rnd()
            if x < 0.06:
                ev(E.REQUEST_INFO, budget * 0.1, spec, unit, S.PENDING_INFO, note=note(E.REQUEST_INFO))
                ev(E.PROVIDE_INFO, r.uniform(1, 48) * HOUR, fr_user, fr_unit, S.IN_PROGRESS, note=note(E.PROVIDE_INFO))
                renew_passed_commitment()
            elif x < 0.075 and allow_hold and ref.head_by_unit.get(ref.unit_by_id[unit].parent_id or 0):
                # Approved by one of the heads of the department above (never by the specialist who asked:
                # the services refuse that); a unit without a head above gets no hold.
                ev(E.REQUEST_HOLD, budget * 0.1, spec, unit, S.HOLD_REQUESTED, note=note(E.REQUEST_HOLD))
                parent = ref.unit_by_id[unit].parent_id or 0
                head = r.choice(ref.head_by_unit[parent])
                ev(E.APPROVE_HOLD, r.uniform(1, 8) * HOUR, head, parent, S.ON_HOLD, note=note(E.APPROVE_HOLD))
                ev(E.RESUME, r.uniform(5, 40) * DAY, spec, unit, S.IN_PROGRESS, note=note(E.RESUME))
                renew_passed_commitment()

        def reply(spec: int, unit: int, delay: float) -> None:
            ev(E.REPLY, delay, spec, unit, S.REPLIED, (fr_unit, fr_user), resolution_text)
            extra["resolution"] = resolution_text

        def close_loop(first_contact: bool) -> None:
            answer = ANSWERS[int(rnd() * len(ANSWERS))]
            if contact_type in (ContactType.CONSULTATION, ContactType.SUGGESTION):
                answer = resolution_text  # what was explained or noted, not "the result of handling your complaint"
            ev(
                E.ANSWER,
                r.uniform(120, 1200) if first_contact else r.uniform(600, 6 * HOUR),
                fr_user,
                fr_unit,
                S.ANSWERED,
                note=answer,
                visibility=Visibility.CUSTOMER,
            )
            extra["answer"] = answer
            if first_contact:
                extra["resolution"] = resolution_text if contact_type != ContactType.CONSULTATION else answer
            if rnd() < (0.35 if first_contact else 0.85):
                y = rnd()
                verdict = (
                    CallbackVerdict.SATISFIED
                    if y < 0.85
                    else CallbackVerdict.UNREACHABLE
                    if y < 0.92
                    else CallbackVerdict.DISSATISFIED
                )
                ev(
                    E.CALLBACK,
                    r.uniform(2, 48) * HOUR,
                    fr_user,
                    fr_unit,
                    S.CALLED_BACK,
                    note=note(E.CALLBACK),
                    data=f'{{"verdict": "{verdict}"}}',
                )
                extra["verdict"] = verdict
                if verdict == CallbackVerdict.DISSATISFIED:
                    if counters["reopen"]:
                        extra["verdict"] = CallbackVerdict.UNREACHABLE
                        evs[-1][11] = '{"verdict": "unreachable"}'
                    else:
                        ev(
                            E.REOPEN,
                            r.uniform(300, 3 * HOUR),
                            fr_user,
                            fr_unit,
                            S.NEW,
                            (fr_unit, fr_user),
                            note(E.REOPEN),
                        )
                        renew_passed_commitment()
                        counters["reopen"] += 1
                        extra["resolution"] = extra["answer"] = extra["verdict"] = ""
                        again = target if target != fr_unit else self.specialist_units[0]
                        handle_department(again, (fr_user, fr_unit))
                        close_loop(False)
                        return
            ev(E.CLOSE, r.uniform(300, 2 * HOUR), fr_user, fr_unit, S.CLOSED, note=note(E.CLOSE))

        def route_by() -> tuple[int, int]:
            # Hotline tickets are dispatched by the second line; the others by whoever registered them.
            if channel == Channel.HOTLINE:
                return self.dispatchers[int(rnd() * len(self.dispatchers))]
            return fr_user, fr_unit

        try:
            ev(
                E.CREATE,
                0,
                fr_user,
                fr_unit,
                S.NEW,
                (fr_unit, fr_user),
                description,
                data=f'{{"channel": "{channel}", "contact_type": "{contact_type}"}}',
            )
            if repeat_of is not None:
                evs.append(
                    [
                        E.REPEAT,
                        created,
                        None,
                        None,
                        "",
                        "",
                        None,
                        None,
                        None,
                        "",
                        Visibility.INTERNAL,
                        f'{{"repeat_of": "{number_of}"}}',
                    ]
                )
                self.links.append([str(self.link_id), str(tid), str(repeat_of), "repeat", str(fr_user), ts(created)])
                self.link_id += 1
            x = rnd()
            direct = (
                (contact_type == ContactType.CONSULTATION and x < 0.8)
                or (contact_type == ContactType.SUGGESTION and x < 0.5)
                or x < 0.03
                or target == fr_unit
            )
            if x > 0.985 and not direct:
                ev(
                    E.REJECT,
                    r.uniform(300, 4 * HOUR),
                    fr_user,
                    fr_unit,
                    S.REJECTED,
                    note=note(E.REJECT),
                    data='{"reason": "invalid", "duplicate_of": null}',
                )
                extra["reject"] = RejectReason.INVALID
            elif direct:
                close_loop(True)
            else:
                by = route_by()
                if by[1] != fr_unit:
                    # The agent passes the ticket to the second line, which takes it and sends it on.
                    dispatch(fr_user, fr_unit, by[1], r.uniform(60, 900), "")
                    budget = self._handling_seconds(vip)
                    start = state["t"]
                    ev(E.ACCEPT, r.uniform(60, 1800), by[0], by[1], S.IN_PROGRESS, (by[1], by[0]))
                    unit, spec = by[1], by[0]
                    if target != by[1]:
                        ev(
                            E.TRANSFER,
                            r.uniform(300, 3 * HOUR),
                            by[0],
                            by[1],
                            S.DISPATCHED,
                            (target, None),
                            note(E.DISPATCH),
                            data=f'{{"to_unit": "{target}"}}',
                        )
                        extra["dispatcher"] = str(by[1])  # a dispatcher's transfer routes it (`do_transfer_ticket`)
                        counters["dispatch"] += 1
                        units_seen.append(target)
                        unit, spec = target, self._staff_of(target)
                        ev(E.ACCEPT, r.uniform(300, 4 * HOUR), spec, unit, S.IN_PROGRESS, (unit, spec))
                    if rnd() < 0.015:
                        ev(E.WITHDRAW, r.uniform(1, 20) * HOUR, fr_user, fr_unit, S.WITHDRAWN, note=note(E.WITHDRAW))
                        raise _Cut
                    work(spec, unit, budget, allow_hold=root_name == "基础通信")
                    reply(spec, unit, max(600, budget - (state["t"] - start)))
                else:
                    if rnd() < 0.015:
                        ev(E.WITHDRAW, r.uniform(1, 20) * HOUR, fr_user, fr_unit, S.WITHDRAWN, note=note(E.WITHDRAW))
                        raise _Cut
                    handle_department(target, by)
                close_loop(False)
        except _Cut:
            pass

        # SLA columns, exactly as compute_sla derives them from this timeline.
        sla = fast_sla([(e[0], e[1], e[5]) for e in evs], policy, clock, end)
        committed = commitment["at"]
        due = sla.due_at if sla.due_at is not None else (sla.due_before_pause or committed)

        # Became overtime / problem: written when the reply revealed it, or by the periodic sweep at the time.
        if sla.is_overtime or sla.is_problem:
            marks = []
            for kind, flag, at in (
                (E.OVERTIME, sla.is_overtime, sla.overtime_at),
                (E.PROBLEM, sla.is_problem, sla.problem_at),
            ):
                if flag:
                    when = at if at is not None and at <= end else (sla.replied_at or end)
                    if sla.replied_at is not None and (at is None or at > sla.replied_at):
                        when = sla.replied_at
                    marks.append(
                        [
                            kind,
                            min(when, end),
                            None,
                            None,
                            "",
                            "",
                            None,
                            None,
                            None,
                            "",
                            Visibility.INTERNAL,
                            f'{{"{kind}_at": "{self._iso(at)}"}}',
                        ]
                    )
            for mark in marks:
                pos = len(evs)
                while pos > 1 and evs[pos - 1][1] > mark[1]:
                    pos -= 1
                evs.insert(pos, mark)

        status = state["status"]
        is_open = status not in TERMINAL_STATUSES
        eid = self.event_id
        ticket_s = str(tid)
        for seq, e in enumerate(evs, start=1):
            events.append(
                [
                    str(eid),
                    ticket_s,
                    str(seq),
                    e[0],
                    N if e[2] is None else str(e[2]),
                    N if e[3] is None else str(e[3]),
                    e[4],
                    e[5],
                    N if e[6] is None else str(e[6]),
                    N if e[7] is None else str(e[7]),
                    N if e[8] is None else str(e[8]),
                    e[9],
                    e[10],
                    e[11],
                    ts(e[1]),
                ]
            )
            eid += 1
        self.event_id = eid
        for unit_id in dict.fromkeys(units_seen):
            access.append([str(self.access_id), ticket_s, str(unit_id)])
            self.access_id += 1

        seqno = self.sequences.get(day, 0) + 1
        self.sequences[day] = seqno
        self.touched_days.add(day)
        number = self._number(day, seqno)
        if status == S.REJECTED and contact_type in (ContactType.COMPLAINT, ContactType.APPEAL):
            # A rejected complaint does not count as the earlier one of a repeat.
            self.last_root[ci], self.last_time[ci], self.last_ticket[ci] = previous
        elif contact_type in (ContactType.COMPLAINT, ContactType.APPEAL):
            self.last_day[ci], self.last_seq[ci] = day, seqno
        last = evs[-1][1]
        n = len(evs)
        if status == S.CLOSED and self.o.surveys:
            self._surveys(tid, self.customer_id0 + ci, channel, fr_unit, fr_user, state["t"], n, extra["verdict"])

        def t(v: int | None) -> str | None:
            return N if v is None else ts(v)

        tickets.append(
            [
                ticket_s,
                number,
                PROVINCE,
                REGION,
                contact_type,
                str(leaf.id),
                str(ref.root_of[leaf.id]),
                channel,
                priority,
                str(self.customer_id0 + ci),
                tier,
                str(branch_id),
                title,
                description,
                str(fr_user),
                str(fr_unit),
                str(state["unit"]),
                N if state["user"] is None else str(state["user"]),
                extra["dispatcher"],
                status,
                T if is_open else F,
                str(policy.pk),
                ts(committed),
                N,
                t(sla.first_response_due_at),
                t(sla.first_responded_at),
                t(sla.cycle_started_at),
                t(sla.hop_started_at),
                t(sla.hop_due_at),
                t(sla.overtime_at),
                t(sla.problem_at),
                t(sla.resolution_due_at),
                ts(due),
                T if sla.paused else F,
                T if sla.is_overtime else F,
                T if sla.is_problem else F,
                F if repeat_of is None else T,
                t(sla.replied_at),
                t(sla.answered_at),
                N if is_open else ts(state["t"]),
                extra["resolution"],
                extra["answer"],
                extra["verdict"],
                extra["reject"],
                str(counters["reopen"]),
                str(counters["dispatch"]),
                str(counters["return"]),
                N,
                N,
                str(1 + n),
                str(n),
                ts(created),
                ts(last),
            ]
        )
        return status

    def _iso(self, epoch: int | None) -> str:
        if epoch is None:
            return ""
        return dt.datetime.fromtimestamp(epoch, SHANGHAI).isoformat()


def generate(options: Options) -> Result:
    """Generate staff (if missing), customers and tickets as described by `options`."""
    return Generator(options).run()


def ensure_reference() -> bool:
    """Seed the reference data when no organisation exists yet. True if it was seeded now."""
    if OrgUnit.objects.filter(region=REGION).exists():
        return False
    try:
        from loopdesk.core.reference import seed_reference
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise MissingReference(
            "No organisation in the database and loopdesk.core.reference.seed_reference is not available."
        ) from exc
    seed_reference()
    return True


def planned_usernames() -> set[str]:
    names = set()
    for prefix, count, _role, _unit in STAFF_PLAN:
        names.update([prefix] if count == 0 else [f"{prefix}{i}" for i in range(1, count + 1)])
    return names


def demo_logins() -> list[tuple[str, str, str]]:
    """(username, roles, unit) of the demo staff, for the README and `load_demo`, ordered by role."""
    planned = planned_usernames()
    rows = []
    for user in User.objects.select_related("unit").prefetch_related("groups").order_by("id"):
        if user.username in planned or user.username.startswith("specialist_"):
            groups = sorted(g.name for g in user.groups.all())
            rows.append((user.username, ", ".join(groups), user.unit.name if user.unit else ""))
    order = [r.value for r in Role]

    def key(row: tuple[str, str, str]) -> tuple[int, str, int]:
        role = row[1].split(", ")[0]
        digits = row[0][len(row[0].rstrip("0123456789")) :]
        return (order.index(role) if role in order else len(order), row[0].rstrip("0123456789"), int(digits or 0))

    return sorted(rows, key=key)


__all__ = [
    "DEMO_PASSWORD",
    "FastClock",
    "MissingReference",
    "Options",
    "Reference",
    "Result",
    "demo_logins",
    "ensure_reference",
    "ensure_staff",
    "fast_sla",
    "generate",
    "msisdn_for",
]
