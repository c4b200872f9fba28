// The server's refusals in Chinese. The API answers in English (its `detail`, shared with the command line); the
// person at the dashboard reads what went wrong in Chinese, with the figures the server gave. A sentence not known
// here is shown as the server wrote it, never dropped. FastAPI's validation answers (a list of problems) are
// shown as "field: problem" lines, never as raw JSON.
"use strict";

// The request fields a form sends, as its labels name them.
const FIELD_NAMES = {
  first_day: "开始日期", last_day: "结束日期", reason: "原因", date: "日期", start: "开始时间", end: "结束时间",
  town: "镇（街道）", sample: "随机抽取数", name: "名称", password: "密码", role: "角色", towns: "镇（街道）",
  station: "站点", station_id: "站点编号", grade: "等级", kind: "类型", weekdays: "工作日", hours: "工作时间",
  address: "地址", day: "日期", theme: "活动主题", participants: "参与人数", found: "现场情况", notes: "说明",
  visited_at: "到访时间", outcome: "裁定结果", text: "申诉理由", content: "节假日文件", provider: "服务商",
  caregiver: "护理员工号", category: "类别", since: "服务开始", until: "服务结束", phone: "电话",
};

// [pattern, Chinese]: `$1`… are the pattern's groups (dates, names, figures the server gave).
const ERROR_TEXTS = [
  // Spot-check plans (cloud.derive.plans) and their route.
  [/^the check date (\S+) is in the past \(today is (\S+)\): plan a check for today or later$/,
    "抽查日期 $1 已过（今天是 $2），请安排今天或以后的日期"],
  [/^the window must end after it starts$/, "结束时间须晚于开始时间"],
  [/^no stations match the plan$/, "没有符合条件的站点：请检查镇（街道）名称"],
  [/^a town plans checks of its own town: give the town$/, "镇（街道）只能抽查本镇站点：请填写镇（街道）"],
  [/^(.+) is not one of your towns$/, "$1 不是您管辖的镇（街道）"],
  [/^unknown stations: (.+)$/, "未登记的站点：$1"],
  // Closures, appeals, activities, on-site records.
  [/^last_day is before first_day$/, "结束日期早于开始日期"],
  [/^a closure covers at most (\d+) days$/, "一次停业申请最多 $1 天"],
  [/^closure (\d+) is already (\w+)$/, "停业申请 $1 已处理"],
  [/^an activity cannot be recorded before it happens$/, "活动尚未发生，不能登记"],
  [/^appeal (\d+) is already (\w+)$/, "申诉 $1 已决定"],
  [/^the visit time is in the future$/, "到访时间不能晚于现在"],
  [/^the visit time is before the planned day (\S+)$/, "到访时间早于抽查日 $1"],
  [/^the visit was recorded by (.+) already$/, "该次检查已由 $1 记录"],
  [/^say in the notes what was found$/, "请在说明中写明所见情况"],
  [/^control characters are not allowed$/, "不能包含控制字符"],
  [/^alert (\d+) is already (\w+)$/, "告警 $1 已处理"],
  [/^no visit of '(.+)' on plan (\d+) in your scope$/, "无权查看该次抽查（站点 $1，计划 $2），或该次抽查不存在"],
  [/^no (closure|appeal|alert|spot-check plan) (\d+) in your scope$/, "无权查看该记录，或记录不存在"],
  // Users (cloud.accounts; the command line's options named in brackets are left out).
  [/^user '(.+)' already exists$/, "用户 $1 已存在"],
  [/^the password must be at least (\d+) characters$/, "密码至少 $1 位"],
  [/^user name must be 1-64 printable characters without surrounding spaces$/, "用户名须为 1–64 个可打印字符，首尾不能有空格"],
  [/^a town officer needs at least one town \(--town\)$/, "镇（街道）用户须填写至少一个镇（街道）"],
  [/^towns \(--town\) are only for the town role \(--role town\)$/, "只有镇（街道）用户可以填写镇（街道）"],
  [/^station staff need a station \(--station\)$/, "站点工作人员须选择站点"],
  [/^a station \(--station\) is only for the station role \(--role station\)$/, "只有站点工作人员可以选择站点"],
  [/^station '(.+)' is not registered in your towns$/, "站点 $1 不在您管辖的镇（街道）"],
  [/^station '(.+)' is not registered$/, "站点 $1 未登记"],
  [/^you cannot change your own role$/, "不能修改自己的角色"],
  [/^you cannot disable or enable yourself$/, "不能停用或启用自己"],
  [/^a town officer manages station staff accounts only$/, "镇（街道）只能管理站点工作人员账号"],
  // Stations (the registry's and the CSV import's checks, firmware_config.schedule).
  [/^station (\S+) already exists; edit it instead$/, "站点 $1 已存在，请点“编辑”修改"],
  [/^weekdays is empty; use ISO weekday numbers like 1-5 or 1,3,5$/, "工作日为空：请填写如 1-5 或 1,3,5"],
  [/^weekdays part '(.+)' is not a number or a range like 1-5$/, "工作日“$1”不是数字或 1-5 这样的范围"],
  [/^weekdays part '(.+)': ISO weekdays are 1 \(Monday\) to 7 \(Sunday\)$/, "工作日“$1”有误：1 为周一，7 为周日"],
  [/^weekdays range '(.+)' runs backwards$/, "工作日范围“$1”前后颠倒"],
  [/^hours is empty; use sessions like 08:30-11:30 13:30-17:00$/, "工作时间为空：请填写如 08:30-11:30 13:30-17:00"],
  [/^(?:hours: )?session '(.+)': (.+) is not a time of day$/, "工作时间“$1”中 $2 不是有效时刻"],
  [/^hours session '(.+)' is not HH:MM-HH:MM$/, "工作时间“$1”格式应为 HH:MM-HH:MM"],
  [/^hours session '(.+)' ends before it starts$/, "工作时间“$1”结束早于开始"],
  [/^hours session '(.+)' overlaps or precedes the one before it$/, "工作时间“$1”与前一时段重叠或顺序颠倒"],
  [/^grade is empty \(a station \(居家养老服务站\) needs its grade: 2A, 3A, 4A or 5A\)$/,
    "等级为空：居家养老服务站须选择等级（2A、3A、4A 或 5A）"],
  [/^grade must be empty for kind care_centre .*$/, "照料中心不分等级：等级请选“无”"],
  [/^grade must be empty for kind neighbourhood_point .*$/, "睦邻点不分等级：等级请选“无”"],
  // A CSV file's lines (cloud.csv_records, cloud.registry.csv_rows): one problem a line, several joined by "; ".
  [/^grade must be one of (.+) \(got '(.*)'\)$/, "等级须为 $1 之一（填的是“$2”）"],
  [/^(\w+) is empty$/, (_, field) => `${FIELD_NAMES[field] || field}为空`],
  [/^use ISO weekday numbers like (\S+) or (\S+)$/, "工作日请填写如 $1 或 $2"],
  [/^use sessions like (.+)$/, "工作时间请填写如 $1"],
  [/^station (\S+) is already on line (\d+)$/, "站点 $1 已在第 $2 行"],
  [/^(\d+) cells but the header has (\d+) columns$/, "这一行有 $1 格，表头有 $2 列"],
  [/^header lacks column\(s\) (.+)$/, "表头缺少列 $1"],
  [/^expected a header row (.+)$/, "第一行应为表头 $1"],
  [/^expected (.+)$/, "表头应为 $1"],
  [/^the file is empty$/, "文件为空"],
  [/^unknown column\(s\) (.+) ignored$/, "不认识的列 $1，已忽略"],
  [/^known optional columns: (.+)$/, "可选列为 $1"],
  [/^there are no optional columns$/, "没有可选列"],
  [/^the file is not UTF-8 \(byte (\d+)\)$/, "文件不是 UTF-8 编码（第 $1 字节）"],
  [/^save it from Excel as 'CSV UTF-8 \(comma delimited\)'$/, "请在 Excel 中另存为“CSV UTF-8（逗号分隔）”"],
  [/^open_on_holidays '(.*)' must be yes or no$/, "节假日开放“$1”须为 yes 或 no"],
  [/^kind '(.*)' must be one of .*$/, "类型“$1”须为 station（居家养老服务站）、care_centre（照料中心）或 neighbourhood_point（睦邻点）"],
  // The bureau's holiday file (cloud.rules.holidays_file).
  [/^expected 3 cells date,kind,name, got (\d+)$/, "应为 date,kind,name 三格，这一行有 $1 格"],
  [/^bad date '(.*)' \(expected YYYY-MM-DD\)$/, "日期“$1”有误（应为 YYYY-MM-DD）"],
  [/^date (\S+) is outside (\d+)-(\d+)$/, "日期 $1 不在 $2–$3 年之间"],
  [/^bad kind '(.*)' \(expected holiday or workday\)$/, "类型“$1”有误（应为 holiday 放假或 workday 上班）"],
  [/^name longer than (\d+) characters$/, "名称超过 $1 个字符"],
  [/^name contains control characters$/, "名称含控制字符"],
  [/^duplicate date (\S+) \(first on line (\d+)\)$/, "日期 $1 重复（首次在第 $2 行）"],
  [/^\.\.\. and (\d+) more problems$/, "……另有 $1 个问题"],
  // Generic refusals.
  [/^conflicts with an existing record$/, "与已有记录冲突"],
  [/^a value is out of range or malformed$/, "输入的值超出范围或格式有误"],
  [/^busy; try again shortly$/, "系统繁忙，请稍后再试"],
  [/^Field required$/, "必填"],
  [/^Input should be a valid date.*$/, "须为有效日期"],
  [/^Input should be a valid time.*$/, "须为有效时间"],
  [/^Input should be a valid integer.*$/, "须为整数"],
  [/^Input should be greater than or equal to (\S+)$/, "须不小于 $1"],
  [/^Input should be greater than (\S+)$/, "须大于 $1"],
  [/^String should have at least (\d+) characters?$/, "至少 $1 个字符"],
  [/^String should have at most (\d+) characters$/, "最多 $1 个字符"],
];

// One sentence in Chinese if it is known (the server joins several problems with "; "; a file's start "line N: ").
function explainText(text) {
  if (String(text).includes("\n")) return String(text).split("\n").map(explainText).join("\n");
  const line = /^line (\d+): (.*)$/.exec(String(text));
  if (line) return `第 ${line[1]} 行：${explainText(line[2])}`;
  const one = (part) => {
    const clean = part.trim().replace(/^Value error, /, "");
    for (const [pattern, zh] of ERROR_TEXTS) if (pattern.test(clean)) return clean.replace(pattern, zh);
    return clean;
  };
  return String(text).split(/; (?=\S)/).map(one).join("；");
}

// The `detail` of a refusal as one line for a toast: a sentence, or FastAPI's list of field problems.
function explainError(detail) {
  if (typeof detail === "string") return explainText(detail);
  if (Array.isArray(detail)) {
    return detail.map((d) => {
      const field = (d.loc || []).filter((x) => x !== "body" && typeof x === "string").pop();
      const msg = explainText(d.msg || "");
      return field ? `${FIELD_NAMES[field] || field}：${msg}` : msg;
    }).join("；");
  }
  return "请求未被接受";
}
window.explainError = explainError;
window.explainText = explainText;
