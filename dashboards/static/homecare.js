// 居家上门服务: per provider and per elder for a month, quarter or year (the bureau all, a town its towns, a provider its
// own), the home-care alerts (towns and the bureau), Excel exports in Chinese; a caregiver sees their own visits.
"use strict";

const HC_CATEGORY = { high_age: "高龄", self_care: "自理", semi_disabled: "半失能", disabled: "失能" };
const HC_ITEMS = { meal: "助餐", cleaning: "助洁", emergency: "助急", personal_care: "生活照料", companionship: "精神慰藉",
  errands: "代办服务" };
const HC_CONSEQUENCE = { ok: "达标", rectify: "限期整改", may_terminate: "可解除合同", no_data: "无数据" };
const HC_ALERTS = {
  homecare_double_booked: "同一护理员同时在两户", homecare_just_long_enough: "服务时长屡屡刚够",
  homecare_far_away: "签到位置远离老人住址", homecare_qr_rate: "同一二维码使用过频", homecare_no_sign_out: "工单未签出",
  homecare_late_uploads: "服务记录屡屡延迟上传",
  homecare_satisfaction: "满意率未达标", homecare_complaints: "有效投诉率超标", homecare_town_survey: "镇街季度满意度低于80%",
};
Object.assign(KIND_NAMES, HC_ALERTS);  // the overview and 告警 name them in Chinese too, not by their code
// The evidence of a home-care alert, field by field in words: times in the stations' zone, never the raw record.
const HC_EVIDENCE = {
  visit: "工单", visits: "涉及工单", elder: "老人", caregiver: "护理员", provider: "服务商", day: "日期", month: "月份",
  sign_in: "签到", sign_out: "签出", sign_in_received: "签到上传", sign_out_received: "签出上传", minutes: "服务分钟",
  hours: "已过小时", counted: "有效工单", late: "延迟上传", share: "延迟比例", late_after_hours: "延迟上传阈值（小时）",
  habit_visits: "次数阈值", habit_share: "比例阈值", just_long_enough: "刚够时长的次数", sign_ins: "签到次数",
  max_per_day: "每日上限", close_pairs: "间隔过近的签到", closer_than_minutes: "间隔阈值（分钟）",
  overlap_minutes: "重叠分钟", metres: "距住址（米）", accuracy_m: "定位精度（米）", lat: "纬度", lon: "经度",
  distance_m: "距住址（米）", satisfaction: "满意率", complaints: "有效投诉", rate: "比例", town: "镇（街道）",
  quarter: "季度", orders: "工单数", home: "老人住址", limit_m: "距离阈值（米）", visits_not_listed: "另有工单（未列出）",
};
const HC_SKIP = new Set(["scope"]);
const isInstant = (x) => typeof x === "string" && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(x);
function hcEvidenceValue(x) {
  if (x === null || x === undefined || x === "") return "—";
  if (isInstant(x)) return time(x);
  if (typeof x === "number") return Number.isInteger(x) ? String(x) : String(Math.round(x * 100) / 100);
  if (typeof x === "boolean") return x ? "是" : "否";
  if (Array.isArray(x)) {
    const shown = x.slice(0, 6).map((i) => (i && typeof i === "object" && !Array.isArray(i)
      ? (i.visit || i.key || hcEvidenceValue(Object.values(i)[0])) : hcEvidenceValue(i)));
    return `${shown.join(Array.isArray(x[0]) ? "；" : "、")}${x.length > 6 ? ` 等 ${x.length} 项` : ""}`;
  }
  if (typeof x === "object") {
    return Object.entries(x).filter(([k]) => !HC_SKIP.has(k)).map(([k, v]) => `${HC_EVIDENCE[k] || k} ${hcEvidenceValue(v)}`).join("，");
  }
  return String(x);
}
const hcEvidence = (evidence) => el("div", { class: "evidence", "data-testid": "homecare-evidence" },
  Object.entries(evidence || {}).filter(([k]) => !HC_SKIP.has(k)).map(([k, v]) =>
    el("div", {}, `${HC_EVIDENCE[k] || k}：${hcEvidenceValue(v)}`)));

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
    el("td", {}, v.elder_id), el("td", {}, (v.items || []).map((i) => HC_ITEMS[i] || i).join("、")),
    el("td", {}, v.voided ? badge("state-closed", "作废") : "")));
  main.replaceChildren(card("我的服务记录（最近200次）", "span-12",
    table(["签入", "签出", "老人", "服务项目", ""], rows, { "data-testid": "homecare-visits" })));
}

// 回访: the day's sample (drawn by the platform with a recorded seed); staff record each call's answer.
async function hcFollowups(day) {
  const box = el("div", {}, el("p", { class: "muted" }, "加载中…"));
  let sample = null;
  try { sample = await Api.get(`/homecare/followups/samples/${day}`); } catch (err) {
    box.replaceChildren(el("p", { class: "muted" }, `${day} 尚未抽取回访样本（当日结束后由平台自动抽取）`));
    return box;
  }
  const answer = (key) => {
    const select = el("select", { name: "satisfaction", "aria-label": "回访结果" },
      el("option", { value: "satisfied" }, "满意"), el("option", { value: "basic" }, "基本满意"),
      el("option", { value: "unsatisfied" }, "不满意"), el("option", { value: "" }, "未接通"));
    const save = el("button", { type: "button", "data-action": "record", onclick: async () => {
      save.disabled = true;
      try {
        await Api.post(`/homecare/visits/${encodeURIComponent(key)}/followups`, {
          reached: select.value !== "", satisfaction: select.value || null });
        toast("已记录回访", 2000, "ok"); save.closest("tr").dataset.called = "true"; save.textContent = "已记录";
      } catch (err) { toast(`记录失败：${err.message}`); save.disabled = false; }
    } }, "记录");
    return el("div", { class: "toolbar" }, select, save);
  };
  const rows = sample.visits.map((v) => el("tr", { "data-visit": v.key, "data-called": String(v.called) },
    el("td", {}, v.key), el("td", {}, v.called ? "已回访" : answer(v.key))));
  // The sample is drawn over every town's orders; a town officer is told (and listed) only its own towns' part.
  const share = Math.round(sample.share * 100);
  const counts = sample.scoped
    ? `本辖区工单 ${sample.orders} 张，抽取 ${sample.size} 张（全区按 ≥${share}% 抽取）`
    : `全区工单 ${sample.orders} 张，抽取 ${sample.size} 张（≥${share}%）`;
  box.replaceChildren(el("p", { class: "muted", "data-testid": "homecare-sample-note" },
    `${day}：${counts}，随机种子 ${sample.seed}`),
  table(["工单", "回访结果"], rows, { "data-testid": "homecare-sample" }));
  return box;
}

// 登记/修改老人 (bureau; a town for its towns): the same checks as the CSV import. Typing a registered elder's id
// fills the form with its record, so saving keeps what the form does not show (package, coordinates). 服务开始/结束
// (the service period, both days included; empty: no limit) set what the elder's provider owes in those months.
function hcElderForm() {
  const input = (name, label, attrs = {}) => el("label", {}, label, el("input", { name, maxlength: 200, ...attrs }));
  const category = el("select", { name: "category" }, Object.entries(HC_CATEGORY).map(([v, n]) => el("option", { value: v }, n)));
  let loaded = null;
  const fill = async (id) => {
    if (loaded && loaded.id === id) return;  // already filled: never overwrite what was typed since
    loaded = id ? ((await Api.get("/homecare/elders")).find((e) => e.id === id) || null) : null;
    if (!loaded) return;
    for (const [name, value] of [["name", loaded.name], ["town", loaded.town], ["provider", loaded.provider_id],
      ["address", loaded.address], ["since", loaded.since], ["until", loaded.until]]) form.elements[name].value = value || "";
    category.value = loaded.category;
  };
  const form = el("form", { class: "toolbar", "data-testid": "homecare-elder-form", onsubmit: async (ev) => {
    ev.preventDefault();
    const f = Object.fromEntries(new FormData(form));
    const kept = loaded && loaded.id === f.id ? { package: loaded.package, lat: loaded.lat, lon: loaded.lon } : {};
    try {
      await Api.request("PUT", `/homecare/elders/${encodeURIComponent(f.id)}`, {
        ...kept, name: f.name, category: f.category, town: f.town, provider: f.provider, address: f.address || "",
        since: f.since || null, until: f.until || null });
      toast(`已保存老人 ${f.id}`, 2000, "ok");
    } catch (err) { toast(`保存失败：${err.message}`); }
  } }, input("id", "编号", { required: true, maxlength: 63, onchange: (ev) => fill(ev.target.value.trim()).catch(() => {}) }),
  input("name", "姓名", { required: true }),
  el("label", {}, "类别", category), input("town", "镇（街道）", { required: true }),
  input("provider", "服务商编号", { required: true, maxlength: 63 }), input("address", "住址", { maxlength: 500 }),
  input("since", "服务开始", { type: "date" }), input("until", "服务结束", { type: "date" }),
  el("button", { type: "submit" }, "保存"));
  return form;
}

// 登记/修改服务商 (bureau only) and 服务人员 (bureau; a town for the providers based in its towns; a provider its own
// staff, its own id filled in and fixed): the same checks as the CSV import, made by the server.
function hcRegistryForm(kind, fields, save) {
  const input = ([name, label, attrs]) => el("label", {}, label, el("input", { name, maxlength: 200, ...attrs }));
  const form = el("form", { class: "toolbar", "data-testid": `homecare-${kind}-form`, onsubmit: async (ev) => {
    ev.preventDefault();
    const f = Object.fromEntries(new FormData(form));
    try { toast(await save(f), 2000, "ok"); } catch (err) { toast(`保存失败：${err.message}`); }
  } }, fields.map(input), el("button", { type: "submit" }, "保存"));
  return form;
}

function hcProviderForm() {
  return hcRegistryForm("provider", [["id", "服务商编号", { required: true, maxlength: 63 }],
    ["name", "名称", { required: true }], ["town", "所在镇（街道）", { required: true }],
    ["phone", "电话", { maxlength: 32 }]], async (f) => {
    await Api.request("PUT", `/homecare/providers/${encodeURIComponent(f.id)}`, { name: f.name, town: f.town, phone: f.phone || "" });
    return `已保存服务商 ${f.id}`;
  });
}

function hcCaregiverForm(ownProvider) {
  const provider = ownProvider ? { required: true, maxlength: 63, value: ownProvider, readonly: true } : { required: true, maxlength: 63 };
  return hcRegistryForm("caregiver", [["id", "工号", { required: true, maxlength: 63 }],
    ["name", "姓名", { required: true }], ["provider", "服务商编号", provider], ["phone", "电话", { maxlength: 32 }]], async (f) => {
    await Api.request("PUT", `/homecare/caregivers/${encodeURIComponent(f.id)}`, { name: f.name, provider: f.provider, phone: f.phone || "" });
    return `已保存服务人员 ${f.id}`;
  });
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
    // Months not over yet are not judged: named beside the count, not counted as missed.
    el("td", {}, `${f.elder_months_met} / ${f.elder_months}`,
      (f.running || []).length ? el("div", { class: "muted" }, `${f.running.join("、")} 未结束，不计`) : null),
    el("td", {}, pct(f.service.followup_share)),
    el("td", {}, pct(f.service.satisfaction), el("div", { class: "muted" }, `${f.service.answers} 人次应答`)),
    el("td", {}, hcConsequence(f.service.satisfaction_consequence)),
    el("td", {}, `${f.service.valid_complaints}（${pct(f.service.complaint_rate)}）`),
    el("td", {}, hcConsequence(f.service.complaint_consequence)),
    // Only a year has an outlook; a year without any follow-up answered has none (not 不予续签).
    el("td", {}, !/^\d{4}$/.test(period) ? "—" : f.service.renewal_years === null ? "无回访应答，无法判断"
      : f.service.renewal_years ? `可续签${f.service.renewal_years}年` : "不予续签")));
  const providerCard = card(`服务商 ${period}`, "span-12", toolbar,
    table(["服务商", "工单", "有效", "作废", "达标老人·月", "平台回访率", "满意率", "满意度结论", "有效投诉", "投诉结论", "续签展望"],
      providerRows, { "data-testid": "homecare-providers" }));
  const items = new Map(((elders && elders.items) || []).map((i) => [i.elder, i]));
  // Orders signed in outside the elder's service period: counted, and marked for the town to ask about.
  const outside = new Map();
  for (const o of (elders && elders.outside_period) || []) outside.set(o.elder, (outside.get(o.elder) || 0) + 1);
  const elderRows = ((elders && elders.months) || []).map((m) => el("tr", { "data-elder": m.elder, "data-met": String(m.met) },
    el("td", {}, m.elder), el("td", {}, HC_CATEGORY[m.category] || m.category),
    el("td", {}, m.visits, outside.has(m.elder) ? el("span", { class: "muted", "data-outside": outside.get(m.elder) },
      `（含服务期外 ${outside.get(m.elder)} 次）`) : null),
    el("td", {}, m.minutes), el("td", {}, m.required),
    el("td", {}, m.met ? badge("state-open", "达标")
      : (elders.running || []).includes(m.month) ? badge("state-unknown", "进行中") : badge("state-closed", "未达标")),
    el("td", {}, items.has(m.elder) ? `${items.get(m.elder).items.length} 项${items.get(m.elder).met ? "" : "（不足3项）"}` : "—")));
  const elderCard = month ? card(`老人月度服务 ${month}`, "span-12",
    table(["老人", "类别", "有效次数", "分钟", "应服务", "结论", "本年服务项目"], elderRows, { "data-testid": "homecare-elders" })) : null;
  const alertRows = alerts.map((a) => el("tr", { "data-alert": a.id, "data-kind": a.kind },
    el("td", {}, HC_ALERTS[a.kind] || a.kind), el("td", {}, a.town), el("td", {}, time(a.raised_at)),
    el("td", {}, (a.evidence && (a.evidence.provider || "")) || ""),
    el("td", {}, hcEvidence(a.evidence))));
  const alertCard = supervisor ? card("居家服务异常（仅为线索，需核实，不自动处罚）", "span-12",
    table(["类型", "镇（街道）", "发现时间", "服务商", "证据"], alertRows, { "data-testid": "homecare-alerts" })) : null;
  let followCard = null;
  let registryCard = null;
  if (supervisor) {
    const yesterday = new Date(Date.parse(`${Zone.date()}T00:00:00Z`) - 86400e3).toISOString().slice(0, 10);
    const dayInput = el("input", { type: "date", value: args[1] || yesterday, "aria-label": "回访日期" });
    const holder = el("div", {});
    const load = async () => holder.replaceChildren(await hcFollowups(dayInput.value));
    followCard = card("平台回访（每日工单抽样）", "span-12", el("div", { class: "toolbar" }, "日期", dayInput,
      el("button", { type: "button", class: "secondary", onclick: load }, "查看")), holder);
    await load();
    registryCard = card("登记或修改服务对象、服务商和服务人员", "span-12",
      el("h3", {}, "服务对象（老人）"), hcElderForm(),
      App.me.role === "bureau" ? el("h3", {}, "服务商") : null, App.me.role === "bureau" ? hcProviderForm() : null,
      el("h3", {}, "服务人员"), hcCaregiverForm(null));
  } else if (App.me.role === "provider") {
    registryCard = card("登记或修改本单位服务人员", "span-12", hcCaregiverForm(App.me.provider));
  }
  main.replaceChildren(el("div", { class: "grid" }, providerCard, elderCard, followCard, alertCard, registryCard));
};
