"""The Chinese a bureau reads on the exported sheets, for what the rules record as codes and English sentences.

The rules keep stable codes (verdicts, spot-check reason codes) and English sentences with their details for the API;
the dashboard translates the codes in the browser, and the sheets, which a bureau files as they are, are translated
here with the same wording. A text this module does not recognise is shown as it is, never dropped.
"""

import re
from collections.abc import Mapping
from typing import Any

# The kinds of site (firmware_config.kind), as a bureau names them.
KINDS = {"station": "居家养老服务站", "care_centre": "照料中心", "neighbourhood_point": "睦邻点"}
NOT_APPLICABLE = "不适用"

VERDICTS = {"open": "开放", "closed": "关闭", "partial": "部分开放", "unknown": "无法判定", "excused": "已报备",
            "not_scheduled": "非工作日"}

SPOT_REASONS = {
    "open": "检查时段内开放", "closed": "工作时间内未开放",
    "closed_brief_openings": "工作时间内未开放，其间仅短暂开门，不视为开放",
    "devices_off": "检查时段内设备关闭，无法确认开放，需现场核查",
    "approved_closure": "已批准停业", "not_working_day": "非工作日", "outside_hours": "检查时段不在站点工作时间内",
    "calendar_unknown": "缺少该年节假日安排，无法判定",
    "platform_lost_messages": "平台在检查时段丢失了各站点的部分数据（非站点原因），无法判定，需现场核查",
    "clock_behind": "站点时钟滞后，检查时段无法用传感器判定，需现场核查",
    "clock_unanswered": "站点未应答当日的时间核对，检查时段无法用传感器判定，需现场核查",
    "clock_stepped": "站点时钟被调动，检查时段无法用传感器判定，需现场核查",
}
CLOSURE_PREFIX = "approved closure: "  # the spot-check judge's sentence for an approved closure, then its reason

# The month's reasons (cloud.rules.rollup), by their fixed forms.
_MONTH_REASONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"the working calendar is unknown for (\d+) day\(s\)"), "{0} 天缺少节假日安排，无法判定"),
    (re.compile(r"no scheduled working hours"), "本月无计划工作时间"),
    (re.compile(r"only (\d+)% of the scheduled minutes are known \(at least (\d+)% needed\)"),
     "计划时长中仅 {0}% 有设备数据（至少需 {1}%）"),
    (re.compile(r"not graded: a care centre or neighbourhood point has no monthly threshold"),
     "照料中心、睦邻点不分等级，无月度服务人数标准"),
    (re.compile(r"no faces seen this month \(no camera, or it was silent\): distinct elders cannot be confirmed"),
     "本月无人脸数据（无摄像头或未上报），无法确认去重老人数"),
]


def kind(code: str) -> str:
    return KINDS.get(code, code)


def verdict(code: str) -> str:
    return VERDICTS.get(code, code)


def spot_reason(record: Mapping[str, Any]) -> str:
    """Why the sensors judged a spot check so, in Chinese, with the stretches behind a fail or an unverifiable one
    and an approved closure's own reason."""
    code = str(record.get("reason_code") or "")
    english = str(record.get("reason") or "")
    if code not in SPOT_REASONS:
        return english
    text = SPOT_REASONS[code]
    if code == "approved_closure" and english.startswith(CLOSURE_PREFIX):
        text += f"：{english.removeprefix(CLOSURE_PREFIX)}"
    stretches = [str(s) for s in record.get("stretches") or ()]
    if stretches:
        text += f"（{'、'.join(stretches)}）"
    return text


def month_reason(text: str) -> str:
    """A month's reason (why compliance or the threshold cannot be judged) in Chinese."""
    for pattern, chinese in _MONTH_REASONS:
        if match := pattern.fullmatch(text):
            return chinese.format(*match.groups())
    return text
