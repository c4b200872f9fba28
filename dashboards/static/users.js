// 用户管理: the bureau manages users of every role; a town officer, its own stations' staff. Add, disable/enable,
// reset a password, change role, towns or station. Passwords go to the server only; they are never shown back.
"use strict";

Pages.users = async (main) => {
  const bureau = App.me.role === "bureau";
  const [list, stations] = await Promise.all([Api.get("/users"), Api.get("/stations")]);
  const stationSelect = (name, value) => el("select", { name },
    el("option", { value: "" }, "—"),
    stations.map((s) => el("option", { value: s.id, selected: s.id === value }, `${s.name}（${s.id}）`)));
  const roleSelect = (value) => el("select", { name: "role", disabled: !bureau },
    Object.entries(ROLE_NAMES).map(([r, label]) => el("option", { value: r, selected: r === value }, label)));
  const form = el("form", { class: "form-grid", "data-testid": "user-form" },
    el("label", {}, "用户名", el("input", { name: "name", required: true, maxlength: 64 })),
    el("label", {}, "角色", roleSelect("station")),
    el("label", {}, "镇（街道）", el("input", { name: "towns", placeholder: "多个用顿号分隔", disabled: !bureau })),
    el("label", {}, "站点", stationSelect("station", "")),
    el("label", {}, "初始密码", el("input", { name: "password", type: "password", required: true, minlength: 8, autocomplete: "new-password" })),
    el("div", { class: "toolbar" }, el("button", { type: "submit", "data-action": "add-user" }, "添加用户")));
  const towns = (text) => (text || "").split(/[、,，\s]+/).map((t) => t.trim()).filter(Boolean);
  const scopeOf = (role, townText, station) => ({
    towns: role === "town" ? towns(townText) : [], station: role === "station" ? station || null : null,
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const role = bureau ? f.get("role") : "station";
    try {
      await Api.post("/users", { name: f.get("name").trim(), role, password: f.get("password"), ...scopeOf(role, f.get("towns"), f.get("station")) });
      toast(`用户 ${f.get("name")} 已添加`, 3000, "ok"); route();
    } catch (err) { toast(`添加失败：${err.message}`); }
  });
  const call = async (button, method, path, body, done) => {
    button.disabled = true;
    try { await Api.request(method, path, body); toast(done, 2500, "ok"); route(); } catch (err) {
      toast(`操作失败：${err.message}`); button.disabled = false;
    }
  };
  const rows = list.map((u) => {
    const role = roleSelect(u.role);
    const townInput = el("input", { name: "towns", value: u.towns.join("、"), disabled: !bureau, size: 10 });
    const station = stationSelect("station", u.station);
    const password = el("input", { name: "new-password", type: "password", placeholder: "新密码（至少 8 位）", autocomplete: "new-password", size: 14 });
    return el("tr", { "data-user": u.name, "data-active": String(u.active) },
      el("td", {}, u.name), el("td", {}, role), el("td", {}, townInput), el("td", {}, station),
      el("td", {}, u.active ? badge("state-open", "启用") : badge("state-closed", "已停用")),
      el("td", {}, el("div", { class: "toolbar" },
        el("button", { type: "button", class: "secondary", "data-action": "save",
          onclick: (ev) => call(ev.target, "PATCH", `/users/${u.id}`, { role: role.value, ...scopeOf(role.value, townInput.value, station.value) }, "已保存") }, "保存"),
        el("button", { type: "button", class: "secondary", "data-action": u.active ? "disable" : "enable",
          onclick: (ev) => call(ev.target, "POST", `/users/${u.id}/${u.active ? "disable" : "enable"}`, undefined, u.active ? "已停用" : "已启用") },
        u.active ? "停用" : "启用"),
        password,
        el("button", { type: "button", class: "secondary", "data-action": "reset",
          onclick: (ev) => {
            if (password.value.length < 8) { toast("新密码至少 8 位"); return; }
            call(ev.target, "POST", `/users/${u.id}/password`, { password: password.value }, "密码已重置，原登录已失效");
          } }, "重置密码"))));
  });
  main.replaceChildren(el("div", { class: "grid" },
    card(bureau ? "添加用户" : "添加本镇站点工作人员", "span-12",
      el("p", { class: "muted" }, bureau ? "镇（街道）用户填写所辖镇；站点工作人员选择站点。停用或重置密码后，该用户已登录的页面立即失效。"
        : "只能管理本镇（街道）所辖站点的工作人员账号。"), form),
    card(`用户（${list.length}）`, "span-12",
      table(["用户名", "角色", "镇（街道）", "站点", "状态", "操作"], rows, { "data-testid": "users" }))));
};
