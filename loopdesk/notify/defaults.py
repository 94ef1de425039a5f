"""The built-in Chinese texts of the customer SMS; a stored MessageTemplate of the same kind replaces them."""

SURVEY_INSTRUCTIONS = "请回复数字评价：5非常满意，4很满意，3一般，2不太满意，1很差。"

DEFAULT_TEXTS: dict[str, str] = {
    "ack": "【中国移动】您反映的问题已受理，工单号{number}，我们将于{committed_date}前答复您。"
    "如有疑问请致电{hotline}。",
    "progress": "【中国移动】您的工单{number}正由{handler_unit}处理，承诺答复时间{committed_date}，感谢您耐心等待。",
    "progress_late": "【中国移动】您的工单{number}正由{handler_unit}继续处理，我们将尽快答复您并告知新的答复时间，"
    "给您带来不便敬请谅解。",
    "info_request": "【中国移动】处理您的工单{number}需要您补充信息，{handler_unit}将与您联系，您也可致电{hotline}。",
    "resolution": "【中国移动】您的工单{number}已处理完毕并答复您。如仍有问题请致电{hotline}。",
    "commit_changed": "【中国移动】您的工单{number}承诺答复时间调整为{committed_date}，给您带来不便敬请谅解。",
    "survey": "【中国移动】您的工单{number}已办结。{survey_instructions}"
    "也可打开{survey_link}评价，{valid_hours}小时内有效。",
    "window_survey": "【中国移动】感谢您光临{unit}。{survey_instructions}{valid_hours}小时内回复有效。",
    "survey_thanks": "【中国移动】已收到您的评价（{score_label}），感谢您的支持！",
    "help": "【中国移动】未能识别您的回复。{survey_instructions}如需帮助请致电{hotline}。",
    "survey_closed": "【中国移动】您回复的满意度评价已结束（已评价或已超过有效期），本次回复未计入评价，感谢您的支持。"
    "如需帮助请致电{hotline}。",
    "spam_ack": "【中国移动】已收到您对{reported_number}的垃圾信息举报，感谢您的监督。",
    "optout_ack": "【中国移动】您已退订服务通知短信，如需恢复请致电{hotline}。",
}
