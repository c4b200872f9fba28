// 居家上门服务: per provider and per elder for a month, quarter or year (the bureau all, a town its towns, a provider its
// own), the home-care alerts (towns and the bureau), Excel exports in Chinese; a caregiver sees their own visits.
"use strict";

const HC_CATEGORY = { high_age: "高龄", self_care: "自理", semi_disabled: "半失能", disabled: "失能" };
const HC_CONSEQUENCE = { ok: "达标", rectify: "限期整改", may_terminate: "可解除合同", no_data: "无数据" };
const HC_ALERTS = {
  homecare_double_booked: "同一护理员同时在两户", homecare_just_long_enough: "服务时长屡屡刚够",
  homecare_far_away: "签到位置远离老人住址", homecare_qr_rate: "同一二维码使用过频", homecare_no_sign_out: "工单未签出",
  homecare_satisfaction: "满意率未达标", homecare_complaints: "有效投诉率超标", homecare_town_survey: "镇街季度满意度低于80%",
};

const hcMonth = () => {
  const [y, m] = Zone.date().split("-").map(Number);
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, "0")}`;  // the last whole month
};
const hcConsequence = (c) => badge(c === "ok" ? "state-open" : c === "no_data" ? "state-unknown" : "state-closed",
  HC_CONSEQUENCE[c] || c);

async function hcCaregiver(main) {
  const visits = await Api.get(`/homecare/visits${q({ newest_first: true, limit: 200 })}`);
  const rows = visits.map((v) => el("tr", { "data-visit": v.key },
    el("td", {}, time(v.sign_in_at)), el("td", {}, v.sign_out_at ? time(v.sign_out_at) : "未签出"),
    el("td", {}, v.elder_id), el("td", {}, (v.items || []).join("、")),
    el("td", {}, v.voided ? badge("state-closed", "作废") : "")));
  main.replaceChildren(card("我的服务记录（最近200次）", "span-12",
    table(["签入", "签出", "老人", "服务项目", ""], rows, { "data-testid": "homecare-visits" })));
}

Pages.homecare = async (main, args) => {
  if (App.me.role === "caregiver") return hcCaregiver(main);
  const period = args[0] && /^20\d{2}(-(0[1-9]|1[0-2]|Q[1-4]))?$/.test(args[0]) ? args[0] : hcMonth();
  const month = /^\d{4}-\d{2}$/.test(period) ? period : null;
  const supervisor = App.me.role === "bureau" || App.me.role === "town";
  const kinds = Object.keys(HC_ALERTS).map((k) => `kind=${k}`).join("&");
  const [providers, elders, alerts] = await Promise.all([
    Api.get(`/homecare/figures/providers/${period}`),
    month ? Api.get(`/homecare/figures/elders/${month}`) : Promise.resolve(null),
    supervisor ? Api.get(`/alerts?${kinds}&active=true&limit=200`) : Promise.resolve([]),
  ]);
  const picker = el("input", { type: "text", value: period, maxlength: 7, size: 8, "aria-label": "期间",
    placeholder: "2026-10 / 2026-Q4 / 2026" });
  const go = el("button", { type: "button", onclick: () => { location.hash = `#/homecare/${picker.value.trim()}`; } }, "查看");
  const download = (kind) => Api.download(`/homecare/exports/${kind}/${kind === "elders" && !month ? hcMonth() : period}?format=xlsx`)
    .catch((e) => toast(e.message));
  const toolbar = el("div", { class: "toolbar" }, "期间（月、季度或年）", picker, go,
    el("button", { type: "button", class: "secondary", "data-export": "homecare-providers", onclick: () => download("providers") }, "导出服务商考核 Excel"),
    el("button", { type: "button", class: "secondary", "data-export": "homecare-elders", onclick: () => download("elders") }, "导出老人服务情况 Excel"));
  const providerRows = providers.map((f) => el("tr", { "data-provider": f.provider },
    el("td", {}, f.name, el("div", { class: "muted" }, `${f.provider} · ${f.town}`)),
    el("td", {}, f.orders), el("td", {}, f.counted), el("td", {}, f.voided),
    el("td", {}, `${f.elder_months_met} / ${f.elder_months}`),
    el("td", {}, pct(f.service.followup_share)),
    el("td", {}, pct(f.service.satisfaction), el("div", { class: "muted" }, `${f.service.answers} 人次应答`)),
    el("td", {}, hcConsequence(f.service.satisfaction_consequence)),
    el("td", {}, `${f.service.valid_complaints}（${pct(f.service.complaint_rate)}）`),
    el("td", {}, hcConsequence(f.service.complaint_consequence)),
    el("td", {}, f.service.renewal_years === null ? "—" : f.service.renewal_years ? `可续签${f.service.renewal_years}年` : "不予续签")));
  const providerCard = card(`服务商 ${period}`, "span-12", toolbar,
    table(["服务商", "工单", "有效", "作废", "达标老人·月", "平台回访率", "满意率", "满意度结论", "有效投诉", "投诉结论", "续签展望"],
      providerRows, { "data-testid": "homecare-providers" }));
  const items = new Map(((elders && elders.items) || []).map((i) => [i.elder, i]));
  const elderRows = ((elders && elders.months) || []).map((m) => el("tr", { "data-elder": m.elder, "data-met": String(m.met) },
    el("td", {}, m.elder), el("td", {}, HC_CATEGORY[m.category] || m.category), el("td", {}, m.visits),
    el("td", {}, m.minutes), el("td", {}, m.required),
    el("td", {}, m.met ? badge("state-open", "达标") : badge("state-closed", "未达标")),
    el("td", {}, items.has(m.elder) ? `${items.get(m.elder).items.length} 项${items.get(m.elder).met ? "" : "（不足3项）"}` : "—")));
  const elderCard = month ? card(`老人月度服务 ${month}`, "span-12",
    table(["老人", "类别", "有效次数", "分钟", "应服务", "结论", "本年服务项目"], elderRows, { "data-testid": "homecare-elders" })) : null;
  const alertRows = alerts.map((a) => el("tr", { "data-alert": a.id, "data-kind": a.kind },
    el("td", {}, HC_ALERTS[a.kind] || a.kind), el("td", {}, a.town), el("td", {}, time(a.raised_at)),
    el("td", {}, (a.evidence && (a.evidence.provider || "")) || ""),
    el("td", {}, el("code", {}, JSON.stringify(a.evidence || {}).slice(0, 240)))));
  const alertCard = supervisor ? card("居家服务异常（仅为线索，需核实，不自动处罚）", "span-12",
    table(["类型", "镇（街道）", "发现时间", "服务商", "证据"], alertRows, { "data-testid": "homecare-alerts" })) : null;
  main.replaceChildren(el("div", { class: "grid" }, providerCard, elderCard, alertCard));
};
