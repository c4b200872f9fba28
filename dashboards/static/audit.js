// 操作日志 (bureau only): every change to stations, users, appeals and home-care elders — who, when, what, and the values before and after.
"use strict";

const AUDIT_ACTIONS = {
  "station.add": "添加站点", "station.edit": "修改站点", "station.import": "CSV 导入站点",
  "user.add": "添加用户", "user.change": "修改用户", "user.disable": "停用用户", "user.enable": "启用用户",
  "user.password": "重置密码", "appeal.file": "提交申诉", "appeal.decide": "申诉决定",
  "elder.add": "登记居家服务老人", "elder.change": "修改居家服务老人",
};

// The recorded fields, as the forms name them, and their coded values in words (never `null`, `true`, a role code).
const AUDIT_FIELDS = {
  role: "角色", towns: "镇（街道）", station: "站点", provider: "居家服务商", caregiver: "护理员工号", active: "状态",
  name: "名称", town: "镇（街道）", kind: "类型", grade: "等级", weekdays: "工作日", hours: "工作时间",
  open_on_holidays: "节假日开放", address: "地址", timezone: "时区", status: "状态", outcome: "决定",
  reason: "理由", text: "申诉理由", plan_id: "抽查计划", category: "类别", since: "服务开始", until: "服务结束",
  package: "服务套餐", lat: "纬度", lon: "经度", effective_from: "生效日期", date: "日期",
};
const AUDIT_VALUES = {
  role: (x) => ROLE_NAMES[x] || x, kind: (x) => STATION_KINDS[x] || x, active: (x) => (x ? "启用" : "已停用"),
  category: (x) => HC_CATEGORY[x] || x, status: (x) => APPEAL_STATUS[x] || x, outcome: (x) => APPEAL_STATUS[x] || x,
  timezone: (x) => (x === "Asia/Shanghai" ? "北京时间（Asia/Shanghai）" : x), weekdays: weekdaysText,
};
const ACTOR_ROLES = { cli: "命令行" };
function auditValue(key, x) {
  if (x === null || x === undefined || x === "") return "—";
  if (Array.isArray(x)) return x.length ? x.map((i) => auditValue(key, i)).join("、") : "—";
  if (AUDIT_VALUES[key]) return AUDIT_VALUES[key](x);
  if (typeof x === "boolean") return x ? "是" : "否";
  return typeof x === "object" ? JSON.stringify(x) : String(x);
}

Pages.audit = async (main) => {
  const entries = await Api.get("/audit?limit=500");
  const values = (v) => (v ? Object.entries(v).map(([k, x]) => el("div", {}, `${AUDIT_FIELDS[k] || k}：${auditValue(k, x)}`)) : "—");
  const rows = entries.map((e) => el("tr", { "data-action": e.action, "data-target": e.target },
    el("td", {}, time(e.at)), el("td", {}, e.actor, el("div", { class: "muted" }, ROLE_NAMES[e.actor_role] || ACTOR_ROLES[e.actor_role] || e.actor_role)),
    el("td", {}, AUDIT_ACTIONS[e.action] || e.action), el("td", {}, e.target),
    el("td", {}, values(e.before)), el("td", {}, values(e.after))));
  main.replaceChildren(el("div", { class: "grid" }, card(`操作日志（最近 ${entries.length} 条）`, "span-12",
    table(["时间", "操作人", "操作", "对象", "修改前", "修改后"], rows, { "data-testid": "audit" }))));
};
