// 操作日志 (bureau only): every change to stations, users, appeals and home-care elders — who, when, what, and the values before and after.
"use strict";

const AUDIT_ACTIONS = {
  "station.add": "添加站点", "station.edit": "修改站点", "station.import": "CSV 导入站点",
  "user.add": "添加用户", "user.change": "修改用户", "user.disable": "停用用户", "user.enable": "启用用户",
  "user.password": "重置密码", "appeal.file": "提交申诉", "appeal.decide": "申诉决定",
  "elder.add": "登记居家服务老人", "elder.change": "修改居家服务老人",
};

Pages.audit = async (main) => {
  const entries = await Api.get("/audit?limit=500");
  const values = (v) => (v ? Object.entries(v).map(([k, x]) => el("div", {}, `${k}: ${Array.isArray(x) ? x.join("、") : x}`)) : "—");
  const rows = entries.map((e) => el("tr", { "data-action": e.action, "data-target": e.target },
    el("td", {}, time(e.at)), el("td", {}, e.actor, el("div", { class: "muted" }, ROLE_NAMES[e.actor_role] || e.actor_role)),
    el("td", {}, AUDIT_ACTIONS[e.action] || e.action), el("td", {}, e.target),
    el("td", {}, values(e.before)), el("td", {}, values(e.after))));
  main.replaceChildren(el("div", { class: "grid" }, card(`操作日志（最近 ${entries.length} 条）`, "span-12",
    table(["时间", "操作人", "操作", "对象", "修改前", "修改后"], rows, { "data-testid": "audit" }))));
};
