// 现场抽查: a plan's stations are the visits. An inspector (bureau or town) opens one on a phone and records what was
// found; a record that disputes the sensors waits for the bureau, whose decision (with its reason) is what counts
// toward the veto. The quarter's coverage shows which towns and stations were checked and which not.
"use strict";

const REVIEW_NAMES = {
  pending: "待检查", sensor: "仅传感器", needs_visit: "需现场核查", awaiting_sensor: "待传感器判定",
  agreed: "一致", disputed: "不一致，待民政局裁定", decided: "民政局已裁定",
};
const FOUND_NAMES = { open: "开放", closed: "关闭", other: "其他" };
const REVIEW_ORDER = ["disputed", "needs_visit", "pending", "awaiting_sensor", "agreed", "decided", "sensor"];

const reviewBadge = (r) => badge(`review-${r}`, REVIEW_NAMES[r] || r);
const visitHref = (v) => `#/onsite/${v.plan_id}/${encodeURIComponent(v.station)}`;
const resultText = (r) => (r ? RESULT_NAMES[r] || r : "—");
// The rules' reasons carry their figures in brackets ("closed during working hours (a stretch longer than 15 min)").
const reasonText = (r) => REASONS[r] || REASONS[r.split(" (")[0]] || r;

// A wall-clock "YYYY-MM-DDTHH:MM" in the stations' zone as an instant (whatever the browser's zone is).
function zoneInstant(local) {
  const guess = Date.parse(`${local}:00Z`);
  return new Date(guess - (wall(new Date(guess).toISOString()) - guess)).toISOString();
}

Pages.onsite = async (main, [plan, station]) => {
  if (plan && station) return visitPage(main, plan, station);
  const [visits, cover, stations] = await Promise.all([Api.get("/onsite/visits"), Api.get("/onsite/coverage"),
    Api.get("/stations")]);
  const todo = visits.filter((v) => !["sensor", "agreed", "decided"].includes(v.review))
    .sort((a, b) => REVIEW_ORDER.indexOf(a.review) - REVIEW_ORDER.indexOf(b.review) || a.date.localeCompare(b.date));
  const done = visits.filter((v) => v.onsite).slice(0, 100);
  const item = (v) => el("li", { "data-visit": `${v.plan_id}/${v.station}`, "data-review": v.review },
    el("a", { href: visitHref(v) }, el("strong", {}, v.station_name), ` ${v.town}`),
    el("div", {}, `${v.date} ${v.start}-${v.end} `, reviewBadge(v.review)),
    el("div", { class: "muted" }, v.address || ""));
  main.replaceChildren(el("div", { class: "grid" },
    card("待办：现场核查与裁定", "span-6", todo.length
      ? el("ul", { class: "visits", "data-testid": "visits-todo" }, todo.slice(0, 200).map(item))
      : el("p", { class: "muted", "data-testid": "visits-todo" }, "没有待办的现场核查")),
    coverageCard(cover, new Map(stations.map((x) => [x.id, x.name]))),
    card("已记录的现场检查", "span-12", table(["日期", "站点", "现场", "传感器", "计入结果", "状态", "记录人"],
      done.map((v) => el("tr", { "data-visit": `${v.plan_id}/${v.station}`, "data-review": v.review },
        el("td", {}, `${v.date} ${v.start}-${v.end}`), el("td", {}, el("a", { href: visitHref(v) }, v.station_name)),
        el("td", {}, FOUND_NAMES[v.onsite.found]), el("td", {}, resultText(v.sensor_result)),
        el("td", {}, resultText(v.result)), el("td", {}, reviewBadge(v.review)), el("td", {}, v.onsite.recorded_by))),
      { "data-testid": "visits-done" }))));
};

// "2026-Q4" as an officer says it.
const QUARTERS = ["", "一", "二", "三", "四"];
const quarterText = (q) => {
  const m = /^(\d{4})-Q([1-4])$/.exec(q || "");
  return m ? `${m[1]}年第${QUARTERS[Number(m[2])]}季度` : q;
};

// The stations not checked yet are named as officers know them (the API lists their ids), each a link to its page.
function coverageCard(cover, names) {
  const unchecked = (ids) => ids.flatMap((id, i) => [i ? "、" : "",
    el("a", { href: `#/station/${encodeURIComponent(id)}`, "data-station": id }, names.get(id) || id)]);
  const towns = table(["镇（街道）", "站点数", "已抽查", "现场检查", "本镇自查计划", "未抽查站点"], cover.towns.map((t) =>
    el("tr", { "data-town": t.town, "data-covered": String(t.unchecked.length === 0) },
      el("td", {}, t.town), el("td", {}, t.stations), el("td", {}, `${t.checked}/${t.stations}`), el("td", {}, t.visited),
      el("td", {}, t.own_plans ? t.own_plans : badge("state-closed", "无")),
      el("td", {}, t.unchecked.length ? unchecked(t.unchecked) : badge("state-open", "全覆盖")))),
  { "data-testid": "coverage-towns", class: "cards wide-labels" });
  return card(`本季度抽查覆盖 · ${quarterText(cover.quarter)}`, "span-6",
    el("p", { class: "muted" }, `${cover.first_day} 至 ${cover.last_day}；已判定或已现场检查的抽查才算已抽查`), towns);
}

async function visitPage(main, plan, station) {
  const v = await Api.get(`/onsite/visits/${plan}/${encodeURIComponent(station)}`);
  const facts = el("dl", { class: "facts" },
    el("dt", {}, "站点"), el("dd", {}, `${v.station_name}（${v.station}）`),
    el("dt", {}, "地址"), el("dd", {}, v.address || "—"),
    el("dt", {}, "抽查时段"), el("dd", {}, `${v.date} ${v.start}-${v.end}`),
    el("dt", {}, "制定人"), el("dd", {}, v.planned_by),
    el("dt", {}, "状态"), el("dd", { "data-testid": "visit-review" }, reviewBadge(v.review)));
  const parts = [card(`现场抽查 · ${v.station_name}`, "span-12", el("a", { href: "#/onsite" }, "‹ 返回列表"), facts)];
  if (!v.onsite) {
    parts.push(recordForm(v));
  } else {
    parts.push(comparison(v));
    if (v.review === "disputed" && App.me.role === "bureau") parts.push(decisionForm(v));
  }
  main.replaceChildren(el("div", { class: "grid" }, ...parts));
}

function recordForm(v) {
  const choice = (value, label) => el("label", { class: "choice" },
    el("input", { type: "radio", name: "found", value, required: true }), ` ${label}`);
  const form = el("form", { class: "stack", "data-testid": "record-form" },
    el("fieldset", {}, el("legend", {}, "现场情况"), choice("open", "开放（有人服务）"), choice("closed", "关闭"),
      choice("other", "其他（请在说明中写明）")),
    el("label", {}, "到访时间（站点时区）",
      el("input", { name: "visited_at", type: "datetime-local", required: true, value: `${Zone.date()}T${Zone.hm(Date.now())}` })),
    el("label", {}, "说明", el("textarea", { name: "notes", rows: 4, maxlength: 2000, placeholder: "所见情况、在场人员、照片编号…" })),
    el("button", { type: "submit" }, "提交现场记录"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    if (f.get("found") === "other" && !String(f.get("notes") || "").trim()) { toast("选择“其他”时请写明所见情况"); return; }
    try {
      await Api.post(`/onsite/visits/${v.plan_id}/${encodeURIComponent(v.station)}/record`, {
        found: f.get("found"), notes: String(f.get("notes") || ""), visited_at: zoneInstant(f.get("visited_at")),
      });
      toast("现场记录已保存", 2000, "ok"); route();
    } catch (err) { toast(`保存失败：${err.message}`); }
  });
  return card("记录现场检查", "span-12", el("p", { class: "muted" },
    "记录与传感器判定并列保存；两者不一致时由民政局裁定，以裁定结果为准（民政局的抽查计入一票否决）。每次检查只能记录一次。"), form);
}

function comparison(v) {
  const o = v.onsite;
  const decided = o.decided_outcome
    ? el("div", { "data-testid": "decision" }, `民政局裁定：${resultText(o.decided_outcome)}（${o.decided_by} · ${time(o.decided_at)}）`,
      el("div", { class: "muted" }, o.decision_reason))
    : null;
  return card("传感器与现场记录", "span-12",
    table(["", "结果", "说明"], [
      el("tr", {}, el("td", {}, "传感器判定"), el("td", {}, resultText(v.sensor_result)),
        el("td", {}, v.sensor_reason ? reasonText(v.sensor_reason) : "检查时段结束后判定")),
      el("tr", { "data-testid": "onsite-record" }, el("td", {}, "现场记录"), el("td", {}, FOUND_NAMES[o.found]),
        el("td", {}, `${o.recorded_by} · 到访 ${time(o.visited_at)}`, el("div", { class: "muted" }, o.notes || ""))),
      el("tr", {}, el("td", {}, "计入结果"), el("td", { "data-testid": "counted" }, resultText(v.result)), el("td", {}, decided || "")),
    ]));
}

function decisionForm(v) {
  const form = el("form", { class: "stack", "data-testid": "decision-form" },
    el("label", {}, "裁定结果", el("select", { name: "outcome", required: true },
      el("option", { value: "" }, "请选择"), el("option", { value: "pass" }, "通过（开放）"),
      el("option", { value: "fail" }, "未开放"), el("option", { value: "excused" }, "免检"))),
    el("label", {}, "裁定理由", el("textarea", { name: "reason", rows: 3, maxlength: 1000, required: true })),
    el("button", { type: "submit" }, "裁定"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    try {
      await Api.post(`/onsite/visits/${v.plan_id}/${encodeURIComponent(v.station)}/decision`,
        { outcome: f.get("outcome"), reason: String(f.get("reason") || "").trim() });
      toast("已裁定", 2000, "ok"); route();
    } catch (err) { toast(`裁定失败：${err.message}`); }
  });
  return card("民政局裁定", "span-12", el("p", { class: "muted" }, "现场记录与传感器判定不一致：以裁定结果为准（民政局的抽查计入一票否决）。"), form);
}
