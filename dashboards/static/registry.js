// 站点管理 (bureau): add a station or edit its name, town, kind, grade and hours; import the bureau's CSV from the page.
// A care centre (照料中心) or neighbourhood point (睦邻点) has no grade: its grade is left empty.
// The server checks every row with the command-line import's rules and answers one line per bad row. A change of
// hours or grade applies from the day it is made (the station's zone): each row's 历史 lists the versions.
"use strict";

const REGISTRY_FIELDS = [
  ["station_id", "站点编号", "如 hl-03"], ["name", "站点名称", ""], ["town", "镇（街道）", ""],
  ["kind", "类型", ""], ["grade", "等级", "2A/3A/4A/5A"], ["weekdays", "工作日", "1-5 表示周一至周五"],
  ["hours", "工作时间", "08:30-11:30 13:30-17:00"], ["address", "地址", ""],
];

Pages.registry = async (main) => {
  const list = await Api.get("/registry/stations");
  const form = el("form", { class: "form-grid", "data-testid": "station-form" },
    ...REGISTRY_FIELDS.map(([name, label, hint]) => el("label", {}, label,
      name === "grade"
        ? el("select", { name }, ["2A", "3A", "4A", "5A"].map((g) => el("option", { value: g }, g)),
          el("option", { value: "" }, "无（照料中心、睦邻点）"))
        : name === "kind"
          ? el("select", { name }, Object.entries(STATION_KINDS).map(([k, v]) => el("option", { value: k }, v)))
          : el("input", { name, placeholder: hint, maxlength: name === "address" ? 500 : 200 }))),
    el("label", { class: "check" }, el("input", { type: "checkbox", name: "open_on_holidays" }), "法定节假日开放"),
    el("div", { class: "toolbar" }, el("button", { type: "submit", "data-action": "save" }, "保存站点"),
      el("button", { type: "reset", class: "secondary", onclick: () => { form.dataset.edit = ""; form.elements.namedItem("station_id").disabled = false; } }, "新建")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const body = Object.fromEntries(REGISTRY_FIELDS.map(([name]) => [name, (f.get(name) || "").trim()]));
    body.open_on_holidays = form.elements.namedItem("open_on_holidays").checked;
    const editing = form.dataset.edit;
    try {
      if (editing) {
        delete body.station_id;
        await Api.request("PUT", `/registry/stations/${encodeURIComponent(editing)}`, body);
        toast(`站点 ${editing} 已更新`, 3000, "ok");
      } else {
        await Api.post("/registry/stations", body);
        toast(`站点 ${body.station_id} 已添加`, 3000, "ok");
      }
      route();
    } catch (err) { toast(`保存失败：${err.message}`); }
  });
  const edit = (s) => {
    form.dataset.edit = s.station_id;
    // elements.namedItem: `form.name` is the form's own name, not the input called "name".
    for (const [name] of REGISTRY_FIELDS) form.elements.namedItem(name).value = s[name] || (name === "kind" ? "station" : "");
    form.elements.namedItem("station_id").disabled = true;
    form.elements.namedItem("open_on_holidays").checked = s.open_on_holidays;
    form.scrollIntoView();
  };
  const listCard = (stations) => card(`站点登记（${stations.length}）`, "span-12",
    table(["编号", "名称", "镇（街道）", "类型", "等级", "工作日", "工作时间", "节假日开放", "地址", ""], stations.map((s) => el("tr", { "data-station": s.station_id },
      el("td", {}, s.station_id), el("td", {}, s.name), el("td", {}, s.town),
      el("td", {}, STATION_KINDS[s.kind] || s.kind), el("td", {}, s.grade || "—"),
      el("td", { title: s.weekdays }, weekdaysText(s.weekdays)), el("td", {}, s.hours), el("td", {}, s.open_on_holidays ? "是" : "否"),
      el("td", {}, s.address || "—"),
      el("td", {}, el("button", { type: "button", class: "secondary", "data-action": "edit", onclick: () => edit(s) }, "编辑"),
        el("button", { type: "button", class: "secondary", "data-action": "history", onclick: () => showHistory(s.station_id) }, "历史")))),
    { "data-testid": "registry" }));
  const history = el("div", { class: "span-12" });
  // Each day is judged by the hours in force on it: the versions, oldest first (1970-01-01: before the history).
  const showHistory = async (id) => {
    const versions = await Api.get(`/registry/stations/${encodeURIComponent(id)}/schedules`);
    history.replaceChildren(card(`${id} 工作时间、类型与等级的历次版本`, "",
      table(["生效日期", "工作日", "工作时间", "节假日开放", "类型", "等级"], versions.map((v) => el("tr", {},
        el("td", {}, v.effective_from === "1970-01-01" ? "启用记录前" : v.effective_from), el("td", { title: v.weekdays }, weekdaysText(v.weekdays)),
        el("td", {}, v.hours), el("td", {}, v.open_on_holidays ? "是" : "否"),
        el("td", {}, STATION_KINDS[v.kind] || v.kind), el("td", {}, v.grade || "—"))),
        { "data-testid": "schedule-history" })));
    history.scrollIntoView();
  };
  let shown = listCard(list);
  // After an import the list is redrawn in place, so the import's summary and problem lines stay on screen.
  const refresh = async () => { const next = listCard(await Api.get("/registry/stations")); shown.replaceWith(next); shown = next; };
  main.replaceChildren(el("div", { class: "grid" },
    card("添加 / 编辑站点", "span-12", el("p", { class: "muted" }, "与 CSV 导入相同的校验：类型、等级、工作日、工作时间有误的不会保存；照料中心、睦邻点不分等级（等级选“无”）。"
      + "工作时间、类型或等级的修改自当日（站点所在时区）起生效，此前的日子仍按当时的工作时间和等级评判。"), form),
    card("从 CSV 导入", "span-12", importForm(refresh)), shown, history));
};

function importForm(done) {
  const problems = el("ul", { class: "problems", "data-testid": "import-problems" });
  const summary = el("p", { "data-testid": "import-summary" });
  const input = el("input", { type: "file", accept: ".csv,text/csv", name: "csv" });
  const form = el("form", { class: "toolbar", "data-testid": "import-form" }, filePicker(input, "选择 CSV 文件"),
    el("button", { type: "submit" }, "导入"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = input.files[0];
    if (!file) { toast("请选择 CSV 文件"); return; }
    const res = await fetch(`${API}/registry/stations/import`, {
      method: "POST", body: await file.arrayBuffer(),
      headers: { Authorization: `Bearer ${Api.token()}`, "Content-Type": "text/csv" },
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) { toast(`导入失败：${data.detail || res.status}`); return; }
    summary.textContent = `新增 ${data.added}，更新 ${data.updated}，未变 ${data.unchanged}；问题 ${data.problems.length} 行`;
    problems.replaceChildren(...data.problems.map((p) => el("li", { title: p }, explainText(p))));
    toast("导入完成", 3000, "ok");
    await done();
  });
  return el("div", {}, el("p", { class: "muted" },
    "列：station_id,name,town,grade,weekdays,hours，可选 open_on_holidays,address,timezone,kind（UTF-8）。"
    + "kind 为 station（居家养老服务站，默认）、care_centre（照料中心）或 neighbourhood_point（睦邻点）；"
    + "照料中心、睦邻点不分等级，grade 留空。正确的行照常导入，有误的行逐行列出。"),
  form, summary, problems);
}
