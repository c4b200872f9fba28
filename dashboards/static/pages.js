// The pages: overview, stations, station, alerts, spot checks, assessment. Each renders into `main`.
"use strict";

const STATE_NAMES = {
  open: "开放", closed: "关闭", partial: "部分开放", unknown: "无法判定", excused: "已报备", not_scheduled: "非工作日",
  no_data: "暂无数据", not_started: "未开始",
};
const LEVEL_NAMES = { station: "站点", town: "镇（街道）", dispatch: "调度中心", bureau: "民政局" };
const STATUS_NAMES = { raised: "待处理", acknowledged: "已确认", resolved: "已解决" };
const KIND_NAMES = {
  emergency_call: "紧急呼叫", spot_check_closed: "抽查未开放", spot_check_unverifiable: "抽查无法核实",
  station_offline: "站点离线", sensor_anomaly: "设备异常", equipment_off: "工作时间内设备关闭",
  calendar_unknown_year: "节假日日历缺少年份",
};
// What a sensor anomaly found (the alert's `anomaly`).
const ANOMALY_NAMES = {
  "door-closed-entries": "门磁显示关闭时仍有人进出", "counter-zero": "人流计数器为零但摄像头见到人脸",
  "camera-silent": "有人进出但摄像头无上报", "door-open-idle": "门开但全时段无人进出",
  "door-unwatched": "人流计数器和摄像头均无上报时门开", "faces-unbacked": "仅凭无人流进出的人脸判为开放",
  "faces-uncorroborated": "人脸无对应人流进出（疑似照片）", "readings-repeated": "同一读数换编号重复上报（只计一次）",
  "late-evidence": "在线期间的事件事后补报（不计入）", "readings-out-of-sequence": "事后补报的读数序号与时间不符（不计入）",
  "clock-behind": "站点时钟滞后", "clock-unanswered": "站点不应答时间核对",
  "clock-stepped": "站点时钟被调动",
};
// The cloud's time checks of the day: how many the station answered, and how far behind its clock was found.
function clockCheck(d) {
  if (d.clock_behind_minutes != null) return `站点时钟慢 ${d.clock_behind_minutes} 分钟（当日读数无法定时，不计入），需现场核查`;
  if (d.clock_stepped_minutes != null) return `站点时钟被调动 ${d.clock_stepped_minutes} 分钟（当日读数无法定时，不计入），需现场核查`;
  if ((d.flags || []).includes("clock_unanswered")) {
    return `未应答：在线期间 ${d.time_checks_unanswered} 次时间核对均未应答（当日读数无法定时，不计入），需现场核查`;
  }
  if (d.time_checks > 0) return `应答 ${d.time_checks} 次，时钟正常`;
  if (d.verdict === "no_data") return "—";
  return "当日未应答（站点离线，或采集终端版本过旧），时钟未核对";
}

// Day flags the rules raise as evidence.
const FLAG_NAMES = {
  equipment_off: "工作时间内设备关闭", counts_unbalanced: "进出人数不平衡", door_open_idle: "门开但全时段无人进出",
  faces_uncorroborated: "人脸无对应人流进出（疑似照片）", faces_unchecked: "人流计数器未上报时计入的老人",
  readings_repeated: "同一读数换编号重复上报（只计一次）", late_evidence: "在线期间的事件事后补报（不计入）",
  readings_out_of_sequence: "事后补报的读数序号与时间不符（不计入）",
  faces_unbacked: "仅凭无人流进出的人脸判为开放", platform_lost_messages: "平台丢失部分数据（非站点原因）",
  clock_behind: "站点时钟滞后（当日读数无法定时，不计入）",
  clock_unanswered: "站点未应答时间核对（当日读数无法定时，不计入）",
  clock_stepped: "站点时钟被调动（当日读数无法定时，不计入）",
};
const UNCONFIRMED = "无法确认";
const NO_FACE_DATA = `${UNCONFIRMED}（无人脸数据）`;  // no camera, or a silent one: elders not counted
// A stretch of the day's timeline: a state, or the hours still to come today.
const TIMELINE_NAMES = { ...STATE_NAMES, upcoming: "未开始" };
// A care centre or neighbourhood point has no grade: the grade's standard, veto and subsidy do not apply to it.
const STATION_KINDS = { station: "居家养老服务站", care_centre: "照料中心", neighbourhood_point: "睦邻点" };
const NOT_APPLICABLE = "不适用";
const graded = (x) => !x || !x.kind || x.kind === "station";
const gradeText = (x) => (graded(x) ? (x.grade || "—") : `${STATION_KINDS[x.kind] || x.kind}（不分等级）`);
// The devices a station reports from, by the protocol's message kind.
const DEVICE_KINDS = { flow: "人流计数器", door: "门磁", face: "人脸识别摄像头", call: "一键呼叫按钮", health: "设备自检",
  agent: "站点采集终端" };
// The agent reports its own store of readings waiting to be sent (on its SD card) as the device `outbox`.
const OUTBOX_DEVICE = "outbox";
const OUTBOX_NAME = "采集终端存储（待发数据）";
const SCOPE_NAMES = { all: "全部站点", town: "按镇（街道）", random: "随机抽取", stations: "指定站点" };
// Why a spot check got its result, by the reason code the API gives (the English sentence beside it is only a fallback).
const REASONS = {
  open: "检查时段内开放", closed: "工作时间内未开放",
  closed_brief_openings: "工作时间内未开放，其间仅短暂开门，不视为开放",
  devices_off: "检查时段内设备关闭，无法确认开放，需现场核查",
  approved_closure: "已批准停业", not_working_day: "非工作日", outside_hours: "检查时段不在站点工作时间内",
  calendar_unknown: "缺少该年节假日安排，无法判定",
  platform_lost_messages: "平台丢失了各站点的部分数据（非站点原因），检查时段的开放状态无法确认，需现场核查",
  clock_behind: "站点时钟滞后，检查时段无法用传感器判定，需现场核查",
  clock_unanswered: "站点未应答当日的时间核对，检查时段无法用传感器判定，需现场核查",
  clock_stepped: "站点时钟被调动，检查时段无法用传感器判定，需现场核查",
};
const RESULT_NAMES = { pass: "通过", fail: "未开放", excused: "免检", unverifiable: "无法核实" };
const COLORS = {
  open: "#2ecc71", partial: "#f5b041", closed: "#e74c3c", unknown: "#7f8c9d", other: "#34495e", not_started: "#5dade2",
  upcoming: "rgba(93, 173, 226, .35)",
};

const badge = (cls, text) => el("span", { class: `badge ${cls}` }, text);
const stateBadge = (s) => badge(`state-${s}`, STATE_NAMES[s] || s);
const pct = (x) => (x === null || x === undefined ? "—" : `${Math.round(x * 100)}%`);
const time = (iso) => Zone.dateTime(iso);
// An instant as its wall-clock time in the zone, as if it were UTC: what ECharts draws with `useUTC: true`.
const wall = (iso) => Date.parse(`${Zone.date(iso)}T${Zone.formatter({ hour: "2-digit", minute: "2-digit", second: "2-digit" })
  .format(new Date(iso))}Z`);
const card = (title, cls, ...body) => el("section", { class: `card ${cls || ""}` }, el("h2", {}, title), ...body);
const q = (params) => {
  const s = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v !== null && v !== undefined));
  return s.toString() ? `?${s}` : "";
};

function chart(node, option) {
  const c = echarts.init(node, null, { renderer: "canvas" });
  c.setOption({ textStyle: { fontFamily: "WenQuanYi Micro Hei, Microsoft YaHei, sans-serif" }, ...option });
  App.cleanup.push(() => c.dispose());
  return c;
}

// An empty table says so under its headers (a bare header row reads like a page that failed to load).
// A table of class "cards" becomes a card a row on a phone: each cell carries its column's name to show beside it.
function table(headers, rows, attrs = {}) {
  if (/\bcards\b/.test(attrs.class || "")) {
    rows.forEach((tr) => [...tr.children].forEach((td, i) => td.setAttribute("data-label", headers[i])));
  }
  return el("div", { class: "table-wrap" }, el("table", attrs,
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows)),
  rows.length ? null : el("p", { class: "muted empty", "data-testid": "empty" }, "暂无记录"));
}

// A station's working weekdays ("1-5", "1,2,3,4,5,6": ISO numbers, 1 = Monday) as an officer says them: 周一至周五.
const WEEKDAY_NAMES = ["", "周一", "周二", "周三", "周四", "周五", "周六", "周日"];
function weekdaysText(spec) {
  const days = new Set();
  for (const part of String(Array.isArray(spec) ? spec.join(",") : spec ?? "").split(",")) {
    const m = /^\s*(\d)\s*(?:-\s*(\d)\s*)?$/.exec(part);
    if (!m) return spec; // not what the registry stores: shown as it is
    for (let d = Number(m[1]); d <= Number(m[2] || m[1]); d++) days.add(d);
  }
  const list = [...days].filter((d) => d >= 1 && d <= 7).sort();
  if (!list.length || list.length !== days.size) return spec;
  const run = list.length > 2 && list[list.length - 1] - list[0] === list.length - 1;
  return run ? `${WEEKDAY_NAMES[list[0]]}至${WEEKDAY_NAMES[list[list.length - 1]]}` : list.map((d) => WEEKDAY_NAMES[d]).join("、");
}

// A file field in Chinese: the browser draws its own button and "no file chosen" in its interface language
// (Choose File / No file chosen in an English one), so the field is hidden inside a label that says it in words.
function filePicker(input, label) {
  const chosen = el("span", { class: "muted", "data-testid": "file-chosen" }, "未选择文件");
  input.addEventListener("change", () => { chosen.textContent = input.files[0] ? input.files[0].name : "未选择文件"; });
  if (input.form) input.form.addEventListener("reset", () => { chosen.textContent = "未选择文件"; });
  return el("label", { class: "file-picker" }, input, el("span", { class: "button secondary" }, label), chosen);
}

// A month not over and not yet at its standard is under way, not failed: on track or at risk by its projection.
function metSoFar(m) {
  if (m.complete !== false) return "未达标";
  return m.at_risk ? `尚未达标，有风险（月末预计 ${m.projection ?? UNCONFIRMED}）` : "尚未达标（本月进行中，按进度预计可达标）";
}

const Pages = {};

Pages.overview = async (main) => {
  const [ov, stations, alerts] = await Promise.all([
    Api.get("/overview"), Api.get("/stations"), Api.get("/alerts?active=true&limit=20"),
  ]);
  const sum = (k) => ov.towns.reduce((n, t) => n + t[k], 0);
  const kpi = (cls, value, label, testid) => el("div", { class: `card kpi ${cls}` },
    el("div", { class: "value", "data-testid": testid }, value), el("div", { class: "label" }, label));
  const townChart = el("div", { class: "chart tall" });
  const gradeChart = el("div", { class: "chart tall" });
  main.replaceChildren(
    el("div", { class: "kpis" },
      kpi("", stations.length, "站点总数", "kpi-stations"),
      kpi("open", sum("open"), "今日开放", "kpi-open"),
      kpi("", sum("partial"), "部分开放", "kpi-partial"),
      kpi("closed", sum("closed"), "今日关闭", "kpi-closed"),
      kpi("unknown", sum("unknown"), "无法判定", "kpi-unknown"),
      kpi("not-started", sum("not_started"), "未开始", "kpi-not-started"),
      kpi("", ov.agents_offline, "设备离线", "kpi-offline"),
      kpi("alerts", ov.active_alerts, "未解决告警", "kpi-alerts")),
    el("div", { class: "grid" },
      card(`各镇（街道）今日站点状态 · ${ov.date}`, "span-8", townChart),
      card("未解决告警", "span-4", alertList(alerts)),
      card(`本月服务人数进度（按等级） · ${ov.month}`, "span-6",
        ov.month !== ov.current_month
          ? el("p", { class: "muted", "data-testid": "month-note" }, `本月（${ov.current_month}）尚无数据，显示最近有数据的月份：${ov.month}`)
          : null,
        gradeChart),
      card("站点列表", "span-6", stationTable(stations))));
  chart(townChart, {
    tooltip: { trigger: "axis" }, legend: { textStyle: { color: "#e6f0ff" } },
    grid: { left: 40, right: 16, bottom: 60, top: 40 },
    xAxis: { type: "category", data: ov.towns.map((t) => t.town), axisLabel: { color: "#e6f0ff", rotate: 30 } },
    // Whole stations: a town of two would otherwise get a 0.5 and a 1.5 on its axis.
    yAxis: { type: "value", minInterval: 1, axisLabel: { color: "#8fb0dd" }, splitLine: { lineStyle: { color: "#1d4d94" } } },
    series: ["open", "partial", "closed", "unknown", "not_started", "other"].map((k) => ({
      name: { ...STATE_NAMES, other: "其他" }[k], type: "bar", stack: "s", itemStyle: { color: COLORS[k] },
      data: ov.towns.map((t) => t[k]),
    })),
  });
  chart(gradeChart, {
    tooltip: { trigger: "axis" }, legend: { textStyle: { color: "#e6f0ff" } },
    grid: { left: 50, right: 16, bottom: 30, top: 40 },
    // A grade's stations without face data have no figure: said under the grade, never drawn as 0 elders.
    xAxis: { type: "category", data: ov.grades.map((g) => (g.unconfirmed ? `${g.grade}\n${g.unconfirmed} 站无人脸数据` : g.grade)),
      axisLabel: { color: "#e6f0ff" } },
    yAxis: { type: "value", axisLabel: { color: "#8fb0dd" }, splitLine: { lineStyle: { color: "#1d4d94" } } },
    series: [
      { name: "服务人数中位数", type: "bar", data: ov.grades.map((g) => g.elders_median), itemStyle: { color: "#27c3ff" } },
      { name: "月度标准", type: "line", data: ov.grades.map((g) => g.threshold), itemStyle: { color: "#e74c3c" } },
      { name: "预计达标站点", type: "bar", data: ov.grades.map((g) => g.on_track), itemStyle: { color: "#2ecc71" } },
    ],
  });
};

// The agent says whether it is online (a clean stop is 离线, not a fault); another device whether its last self-test
// passed, or nothing yet.
function deviceState(x) {
  if (x.online !== null && x.online !== undefined) return x.online ? "正常" : "离线";
  if (x.ok === false) return Faults.cell(x.error);
  return x.ok === null ? "未上报自检" : "正常";
}

function stationTable(stations) {
  // Today's share of the scheduled minutes served so far (the month's and the year's are on the station's page and
  // the assessment).
  return table(["站点", "镇（街道）", "等级", "今日", "今日开放率", "告警"], stations.map((s) => el("tr", { "data-station": s.id },
    el("td", {}, el("a", { href: `#/station/${encodeURIComponent(s.id)}` }, s.name)),
    el("td", {}, s.town), el("td", {}, gradeText(s)), el("td", {}, stateBadge(s.today)),
    el("td", {}, s.today === "unknown" ? UNCONFIRMED : pct(s.compliance)),
    el("td", {}, s.active_alerts || ""))), { "data-testid": "stations" });
}

function alertList(alerts) {
  if (!alerts.length) return el("p", { class: "muted" }, "暂无未解决告警");
  return el("ul", { class: "alert-list" }, alerts.map((a) => el("li", {},
    el("span", { class: `kind-${a.kind}` }, KIND_NAMES[a.kind] || a.kind), " ", a.station_name, " ",
    badge(`status-${a.status}`, STATUS_NAMES[a.status]), el("div", { class: "muted" }, time(a.raised_at)))));
}

Pages.stations = async (main) => {
  const form = el("form", { class: "toolbar" },
    el("input", { name: "town", placeholder: "镇（街道）" }),
    el("select", { name: "grade" }, el("option", { value: "" }, "全部等级"), ["2A", "3A", "4A", "5A"].map((g) => el("option", {}, g))),
    el("select", { name: "kind" }, el("option", { value: "" }, "全部类型"),
      Object.entries(STATION_KINDS).map(([k, v]) => el("option", { value: k }, v))),
    el("select", { name: "state" }, el("option", { value: "" }, "全部状态"),
      Object.entries(STATE_NAMES).map(([k, v]) => el("option", { value: k }, v))),
    el("button", { type: "submit" }, "查询"));
  const out = el("div");
  const load = async () => {
    const f = new FormData(form);
    out.replaceChildren(stationTable(await Api.get(`/stations${q({ town: f.get("town"), grade: f.get("grade"), kind: f.get("kind"), state: f.get("state") })}`)));
  };
  form.addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  main.replaceChildren(card("站点查询", "", form, out));
  await load();
};

Pages.station = async (main, [id, day]) => {
  if (App.me.role === "station") id = App.me.station;
  if (!id) throw new Error("未指定站点");
  const ov = await Api.get("/overview").catch(() => null);
  const today = ov ? ov.date : Zone.date();
  let date = day || today;
  // Nothing derived yet (a future date, a new station) is a 404: shown as "no data", not as an error.
  // A station outside the user's scope (another town's, say) is a 404 too: that one is said, not shown as "no data".
  const orNone = (p) => p.catch((e) => {
    if (e.status === 404 && /^no station /.test(e.detail || "")) throw new Error("无权查看该站点，或站点不存在");
    if (e.status === 404) return null;
    throw e;
  });
  let day0 = await orNone(Api.get(`/stations/${encodeURIComponent(id)}/days/${date}`));
  let note = null;
  // Opened without a date before today holds anything (just after midnight, say): show the latest day that does.
  if (!day && day0 && day0.latest_data_day && day0.latest_data_day < date) {
    note = el("p", { class: "muted", "data-testid": "date-note" },
      `今日（${date}）${STATE_NAMES[day0.state_so_far] === "未开始" ? "尚未开始" : "尚无数据"}，显示最近有数据的一天：${day0.latest_data_day}`,
      " ", el("a", { href: `#/station/${encodeURIComponent(id)}/${date}` }, "查看今日"));
    date = day0.latest_data_day;
    day0 = await orNone(Api.get(`/stations/${encodeURIComponent(id)}/days/${date}`));
  }
  const month = date.slice(0, 7);
  const [month0, acts] = await Promise.all([
    orNone(Api.get(`/stations/${encodeURIComponent(id)}/months/${month}`)),
    Api.get(`/activities${q({ station: id, month })}`),
  ]);
  const d = day0 || { verdict: "no_data", timeline: [], devices: [], evidence: {}, flags: [], equipment_off: [] };
  // A station with no day yet (just registered) is still called by its name, not its id.
  const stationName = d.station_name
    || ((await Api.get("/stations").catch(() => [])).find((s) => s.id === id) || {}).name || id;
  const m = month0 || { days: [], activities: acts.length, met: null };
  const shown = d.state_so_far || d.verdict;
  const picker = el("input", { type: "date", value: date, onchange: (ev) => { location.hash = `#/station/${id}/${ev.target.value}`; } });
  const ev = d.evidence || {};
  const spans = (label, list) => el("div", {}, el("b", {}, `${label}：`), (list || []).join("，") || "—");
  const counts = table(["指标", "数值"], [
    [d.state_so_far ? "目前状态" : "当日结论", stateBadge(shown)],
    ["开放率（按计划时长）", pct(d.state_so_far ? d.compliance_so_far ?? d.compliance : d.compliance)],
    ["已知时长占比", pct(d.known_share)], ["未知时长（分钟）", d.unknown_minutes ?? "—"],
    // A month without any face (no camera, or a silent one) has no elders counted: 0 would read as a counted zero.
    // A day without a face in a month with some is a camera that saw nobody.
    ["服务人次", d.person_times ?? "—"], ["服务老人（去重）", m.basis === "unconfirmed" ? NO_FACE_DATA : d.elders ?? "—"],
    ["人脸未经人流核实的老人（不计入）", d.elders_uncorroborated ?? "—"], ["匿名访客", d.anonymous_visitors ?? "—"],
    ["迟开（分钟）", d.late_open_minutes ?? "—"], ["早闭（分钟）", d.early_close_minutes ?? "—"],
    ["异常标记", (d.flags || []).map((f) => FLAG_NAMES[f] || f).join("，") || "—"],
    ["时钟核对", clockCheck(d)],
    // The rows below are the shown day's month: after a jump to the latest day with data, not necessarily this one.
    [`${month} 服务老人`, m.basis === "unconfirmed" ? NO_FACE_DATA : m.elders ?? "—"],
    [`${month} 人脸未经人流核实的老人（不计入达标）`, m.elders_uncorroborated ?? "—"],
    [`${month} 匿名访客（不计入达标）`, m.anonymous_visitors ?? "—"],
    ["月度标准", graded(m) ? m.threshold ?? "—" : NOT_APPLICABLE],
    ["月末预计", graded(m) ? m.projection ?? (month0 ? UNCONFIRMED : "—") : NOT_APPLICABLE],
    ["是否达标", !month0 ? "—" : !graded(m) ? `${NOT_APPLICABLE}（${STATION_KINDS[m.kind] || m.kind}不分等级，无月度服务人数标准）`
      : (m.met === null ? NO_FACE_DATA : m.met ? "已达标" : metSoFar(m))],
    [`${month} 开放率`, !month0 ? "—" : (m.compliance === null ? `${UNCONFIRMED}（数据不足）` : pct(m.compliance))],
    [`${month} 主题活动`, m.activities],
  ].map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, v))), { "data-testid": "counts" });
  const devices = table(["设备", "类型", "最近上报", "状态"], d.devices.map((x) => el("tr", {},
    el("td", { class: "nowrap" }, x.device),
    el("td", {}, x.device === OUTBOX_DEVICE ? OUTBOX_NAME : DEVICE_KINDS[x.kind] || x.kind), el("td", {}, time(x.last_seen_at)),
    el("td", {}, deviceState(x)))),
  { class: "cards", "data-testid": "devices" });
  const calendar = el("div", { class: "calendar", "data-testid": "calendar" },
    ["一", "二", "三", "四", "五", "六", "日"].map((w) => el("div", { class: "head" }, w)));
  const first = new Date(`${month}-01T00:00:00`);
  for (let i = 1; i < ((first.getDay() + 6) % 7) + 1; i++) calendar.append(el("div"));
  for (const x of m.days) {
    calendar.append(el("a", { class: `day state-${x.verdict}`, href: `#/station/${id}/${x.date}` },
      el("b", {}, Number(x.date.slice(8))), STATE_NAMES[x.verdict] || x.verdict, el("br"), pct(x.compliance)));
  }
  const timelineChart = el("div", { class: "chart" });
  // Which colour is which, for the states the day's timeline holds (a phone has no hover tooltip to ask).
  const shownStates = [...new Set(d.timeline.map((s) => s.state))];
  const legend = el("div", { class: "legend", "data-testid": "timeline-legend" }, shownStates.map((s) => el("span", {},
    el("i", { style: `background: ${COLORS[s] || COLORS.other}` }), TIMELINE_NAMES[s] || s)));
  const actForm = App.me.role === "station" ? activityForm(id, () => route()) : null;
  main.replaceChildren(el("div", { class: "grid" },
    card(`${stationName} · ${date}`, "span-8", note, el("div", { class: "toolbar" }, picker, stateBadge(shown),
      d.as_of ? el("span", { class: "muted", "data-testid": "as-of" }, `截至 ${Zone.hm(d.as_of)}`) : null),
      timelineChart, legend,
      el("div", { class: "evidence", "data-testid": "evidence" },
        spans("计划时段", ev.sessions), spans("开放", ev.open), spans("关闭", ev.closed),
        spans("未知时长", d.unknown_so_far || ev.unknown), d.upcoming ? spans("未开始", d.upcoming) : null,
        spans("工作时间内设备关闭", d.equipment_off), spans("门磁开启", ev.door_open), spans("人员活动", ev.activity),
        spans("在站人员（计数）", ev.presence),
        ev.open_unconfirmed && ev.open_unconfirmed.length
          ? spans("开放未经确认（仅凭平台丢失数据前的门磁/计数状态，抽查不计）", ev.open_unconfirmed) : null)),
    card("当日指标", "span-4", counts),
    card(`月度合规日历 · ${month}`, "span-6", el("div", { class: "toolbar" },
      el("button", { type: "button", "data-export": "monthly-xlsx", onclick: () => Api.download(`/exports/stations/${encodeURIComponent(id)}/monthly/${month}?format=xlsx`).catch((e) => toast(e.message)) }, "导出月报 Excel"),
      el("button", { type: "button", class: "secondary", onclick: () => Api.download(`/exports/stations/${encodeURIComponent(id)}/monthly/${month}?format=csv`).catch((e) => toast(e.message)) }, "CSV")),
      calendar),
    card("设备健康", "span-6", devices),
    card("主题活动", "span-12", table(["日期", "主题", "参与人数", "记录人"], acts.map((a) => el("tr", {},
      el("td", {}, a.day), el("td", {}, a.theme), el("td", {}, a.participants), el("td", {}, a.recorded_by)))), actForm)));
  const data = d.timeline.map((s) => ({
    value: [0, wall(s.start), wall(s.end), s.state], itemStyle: { color: COLORS[s.state] },
  }));
  const hms = (v) => new Date(v).toISOString().slice(11, 19);
  chart(timelineChart, {
    useUTC: true, // the values are the zone's wall-clock times (see `wall`), so the axis reads station time
    tooltip: { formatter: (p) => `${TIMELINE_NAMES[p.value[3]] || p.value[3]}<br>${hms(p.value[1])} - ${hms(p.value[2])}` },
    grid: { left: 20, right: 20, top: 20, bottom: 40 },
    xAxis: { type: "time", axisLabel: { color: "#8fb0dd", formatter: "{HH}:{mm}" } },
    yAxis: { type: "category", data: ["时间轴"], show: false },
    series: [{
      type: "custom", data, encode: { x: [1, 2], y: 0 },
      renderItem: (params, api) => {
        const a = api.coord([api.value(1), 0]); const b = api.coord([api.value(2), 0]);
        const h = api.size([0, 1])[1] * 0.6;
        return { type: "rect", shape: { x: a[0], y: a[1] - h / 2, width: Math.max(1, b[0] - a[0]), height: h }, style: api.style() };
      },
    }],
  });
};

function activityForm(station, done) {
  const form = el("form", { class: "toolbar", "data-testid": "activity-form" },
    el("label", {}, "活动日期 ", el("input", { name: "day", type: "date", required: true })),
    el("input", { name: "theme", placeholder: "活动主题", required: true, maxlength: 200 }),
    el("input", { name: "participants", type: "number", min: 0, placeholder: "参与人数", required: true }),
    el("button", { type: "submit" }, "登记活动"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    try {
      await Api.post("/activities", { station, day: f.get("day"), theme: f.get("theme"), participants: Number(f.get("participants")) });
      toast("已登记主题活动", 2000, "ok"); done();
    } catch (err) { toast(`登记失败：${err.message}`); }
  });
  return form;
}

// What this user may do to an alert of a kind: the server's table, as /auth/me gives it.
const may = (action, kind) => (App.me.alert_actions[action] || []).includes(kind);

const ALERT_HEADERS = ["编号", "类型", "站点", "发生时间", "状态", "通知至", "确认", "操作"];
Pages.alerts = async (main) => {
  const filter = el("form", { class: "toolbar" },
    el("span", { class: `live ${App.live ? "on" : ""}`, title: "实时" }), "实时更新",
    App.me.role === "dispatch" ? null : el("select", { name: "kind" }, el("option", { value: "" }, "全部类型"),
      Object.entries(KIND_NAMES).map(([k, v]) => el("option", { value: k }, v))),
    el("select", { name: "status" }, el("option", { value: "" }, "全部状态"),
      Object.entries(STATUS_NAMES).map(([k, v]) => el("option", { value: k }, v))),
    el("button", { type: "submit" }, "筛选"));
  const body = el("tbody");
  const rows = new Map();
  const render = (a) => {
    const act = (label, action) => el("button", {
      type: "button", "data-action": action,
      onclick: async (ev) => {
        ev.target.disabled = true;
        try { render(await Api.post(`/alerts/${a.id}/${action}`, {})); } catch (err) { toast(`操作失败：${err.message}`); ev.target.disabled = false; }
      },
    }, label);
    const row = el("tr", { "data-alert": a.id, "data-status": a.status },
      el("td", {}, a.id), el("td", { class: `kind-${a.kind}` }, KIND_NAMES[a.kind] || a.kind,
        a.anomaly ? el("div", { class: "muted", "data-testid": "anomaly" },
          [ANOMALY_NAMES[a.anomaly] || a.anomaly, a.evidence && a.evidence.date ? `（${a.evidence.date}）` : ""].join("")) : null),
      el("td", {}, a.station ? [a.station_name, el("div", { class: "muted" }, a.town)]
        : a.kind === "calendar_unknown_year" ? el("a", { href: "#/calendar" }, `全局：缺少 ${a.evidence.year} 年节假日安排`) : "全局"),
      el("td", {}, time(a.raised_at)),
      el("td", {}, badge(`status-${a.status}`, STATUS_NAMES[a.status] || a.status)),
      el("td", {}, LEVEL_NAMES[a.level] || a.level),
      el("td", {}, a.acknowledged_by ? `${a.acknowledged_by} ${time(a.acknowledged_at)}` : "—"),
      el("td", {}, a.status === "raised" && may("acknowledge", a.kind) ? act("确认", "acknowledge") : null, " ",
        a.status !== "resolved" && may("resolve", a.kind) ? act("解决", "resolve") : null));
    // On a phone each alert is a card of labelled lines (the table's eight columns do not fit beside each other).
    [...row.children].forEach((td, i) => td.setAttribute("data-label", ALERT_HEADERS[i]));
    const old = rows.get(a.id);
    if (old) old.replaceWith(row); else body.prepend(row);
    rows.set(a.id, row);
  };
  const load = async () => {
    const f = new FormData(filter);
    const list = await Api.get(`/alerts${q({ kind: f.get("kind"), status: f.get("status"), limit: 200 })}`);
    body.replaceChildren(); rows.clear();
    list.reverse().forEach(render);
  };
  filter.addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  App.onAlert(render);
  main.replaceChildren(card("告警处置", "", filter,
    el("div", { class: "table-wrap" }, el("table", { "data-testid": "alerts", class: "cards" },
      el("thead", {}, el("tr", {}, ALERT_HEADERS.map((h) => el("th", {}, h)))), body))));
  await load();
};

Pages["spot-checks"] = async (main) => {
  const year = Number(Zone.date().slice(0, 4));
  const [plans, results, vetoes] = await Promise.all([
    Api.get("/spot-checks"), Api.get(`/spot-checks/results${q({ year })}`), Api.get(`/spot-checks/vetoes${q({ year })}`),
  ]);
  const form = el("form", { class: "toolbar", "data-testid": "plan-form" },
    el("input", { name: "date", type: "date", required: true }),
    el("input", { name: "start", type: "time", value: "09:00", required: true }),
    el("input", { name: "end", type: "time", value: "10:00", required: true }),
    el("input", { name: "town", placeholder: "镇（街道），空=全部" }),
    el("input", { name: "sample", type: "number", min: 1, placeholder: "随机抽取数（可空）" }),
    el("button", { type: "submit" }, "制定抽查计划"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const body = { date: f.get("date"), start: f.get("start"), end: f.get("end") };
    if (f.get("town")) body.town = f.get("town");
    if (f.get("sample")) body.sample = Number(f.get("sample"));
    try { await Api.post("/spot-checks", body); toast("抽查计划已保存", 2000, "ok"); route(); } catch (err) { toast(`保存失败：${err.message}`); }
  });
  main.replaceChildren(el("div", { class: "grid" },
    card("抽查计划（不向站点公开）", "span-12", form, table(["编号", "日期", "时段", "范围", "站点数", "制定人"],
      plans.map((p) => el("tr", {}, el("td", {}, p.id), el("td", {}, p.date), el("td", {}, `${p.start}-${p.end}`),
        el("td", {}, SCOPE_NAMES[p.scope] || p.scope, p.town ? `：${p.town}` : ""), el("td", {}, p.stations.length), el("td", {}, p.created_by || "—"))), { "data-testid": "plans" })),
    card(`抽查结果 · ${year}`, "span-8", table(["日期", "站点", "结果", "说明"], results.map((r) => el("tr", {},
      el("td", {}, r.date), el("td", {}, r.station_name || r.station),
      el("td", {}, RESULT_NAMES[r.result] || r.result, r.review === "decided" ? "（民政局裁定）" : r.review === "disputed" ? "（现场记录不一致，待裁定）" : ""),
      el("td", {}, REASONS[r.reason_code] || r.reason || ""))))),
    card(`一票否决 · ${year}`, "span-4", table(["站点", "未开放次数", "否决"], vetoes.map((v) => el("tr", {},
      el("td", {}, v.station_name || v.station), el("td", {}, v.failed), el("td", {}, v.veto === null ? NOT_APPLICABLE : v.veto ? badge("state-closed", "否决") : "—"))),
      { "data-testid": "vetoes" }))));
};

// The working calendar: which years are known (package or the bureau's holiday file), the file's days, the upload.
const YEAR_SOURCES = { package: "国务院通知（内置日历）", file: "本地节假日文件", unknown: "未知：无法判定" };
const DAY_KINDS = { holiday: "放假", workday: "上班（调休）" };
Pages.calendar = async (main) => {
  const cal = await Api.get("/calendar");
  const problems = el("pre", { class: "error", "data-testid": "calendar-problems", hidden: true });
  const input = el("input", { type: "file", accept: ".csv,text/csv", name: "file", "data-testid": "calendar-file" });
  const form = el("form", { class: "toolbar", "data-testid": "calendar-form" }, filePicker(input, "选择 CSV 文件"),
    el("button", { type: "submit" }, "上传节假日文件"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = input.files[0];
    if (!file) { toast("请选择 CSV 文件（表头 date,kind,name）"); return; }
    try {
      await Api.post("/calendar", { content: await file.text() });
      toast("节假日文件已生效，系统将自动重算受影响的日期", 3000, "ok");
      route();
    } catch (err) {
      problems.hidden = false;
      problems.textContent = `文件未采用，请修改以下问题后重新上传：\n${err.message}`;
    }
  });
  const v = cal.version;
  const missing = cal.unknown_years.length
    ? el("p", { class: "error", "data-testid": "calendar-missing" },
      `日历缺少 ${cal.unknown_years.join("、")} 年的节假日安排：这些年份的开放情况无法判定，请上传国务院通知。`)
    : null;
  main.replaceChildren(el("div", { class: "grid" },
    card("节假日日历", "span-12", missing,
      table(["年份", "来源"], cal.years.map((y) => el("tr", {}, el("td", {}, y.year),
        el("td", {}, YEAR_SOURCES[y.source] || y.source))), { "data-testid": "calendar-years" }),
      el("p", { class: "muted" }, v ? `当前文件：${v.source === "upload" ? "上传" : "配置文件"} · ${v.uploaded_by || "—"} · ${time(v.uploaded_at)}`
        + (v.applied_at ? ` · 已于 ${time(v.applied_at)} 安排重算` : " · 等待重算") : "当前未使用本地节假日文件"),
      el("p", { class: "muted" }, "文件格式：CSV（UTF-8），表头 date,kind,name；kind 为 holiday（放假）或 workday（上班）。"
        + "文件中的日期优先于内置日历；文件列出某一年的任一日期即视为该年已知，未列出的日期按周一至周五上班、周末休息判定，"
        + "因此须列出该年全部节假日和调休上班日。"),
      form, problems),
    card("本地节假日文件中的日期", "span-12", table(["日期", "类型", "名称"], cal.days.map((d) => el("tr", {},
      el("td", {}, d.date), el("td", {}, DAY_KINDS[d.kind] || d.kind), el("td", {}, d.name))),
    { "data-testid": "calendar-days" }))));
};

Pages.assessment = async (main) => {
  const year = Number(new URLSearchParams(location.hash.split("?")[1] || "").get("year")) || Number(Zone.date().slice(0, 4));
  const rows = await Api.get(`/assessments/${year}`);
  main.replaceChildren(card(`${year} 年度考核与运营补贴`, "", table(
    ["站点", "镇（街道）", "等级", "年度开放率", "达标月数", "主题活动月数", "抽查未开放", "一票否决", "合格可得补贴（元）", "导出"],
    rows.map((r) => el("tr", { "data-station": r.station },
      el("td", {}, r.station_name), el("td", {}, r.town), el("td", {}, gradeText(r)),
      el("td", {}, r.compliance === null ? `${UNCONFIRMED}（数据不足）` : pct(r.compliance)),
      // A month without face data is neither met nor missed: said beside the count, as the sheet does.
      el("td", {}, r.graded === false ? NOT_APPLICABLE
        : `${r.months_met}/${r.months}` + (r.months_unconfirmed ? `（${r.months_unconfirmed} 个月无人脸数据）` : "")),
      el("td", {}, `${r.months_with_activity}/${r.months}`),
      el("td", {}, r.failed_spot_checks),
      el("td", {}, r.graded === false ? NOT_APPLICABLE : r.veto ? badge("state-closed", "否决") : "—"),
      el("td", {}, r.graded === false ? NOT_APPLICABLE : r.subsidy_if_eligible ?? "—"),
      el("td", {},
        el("button", { type: "button", "data-export": "xlsx", onclick: () => Api.download(`/exports/stations/${r.station}/assessment/${year}?format=xlsx`).catch((e) => toast(e.message)) }, "Excel"), " ",
        el("button", { type: "button", class: "secondary", onclick: () => Api.download(`/exports/stations/${r.station}/assessment/${year}?format=csv`).catch((e) => toast(e.message)) }, "CSV")))),
    { "data-testid": "assessment" })));
};
window.Pages = Pages;
