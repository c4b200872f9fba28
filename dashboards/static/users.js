// 用户管理: the bureau manages users of every role; a town officer, its own stations' staff; a home-care provider,
// its own caregivers' accounts. Add, disable/enable, reset a password, change role and scope (towns, station,
// provider, job number). Passwords go to the server only; they are never shown back.
"use strict";

Pages.users = async (main) => {
  const me = App.me.role;
  const bureau = me === "bureau";
  const homecare = bureau || me === "provider";
  const [list, stations, providers, caregivers] = await Promise.all([Api.get("/users"),
    me === "provider" ? Promise.resolve([]) : Api.get("/stations"),
    homecare ? Api.get("/homecare/providers") : Promise.resolve([]),
    homecare ? Api.get("/homecare/caregivers") : Promise.resolve([])]);
  const pick = (name, items, value, label) => el("select", { name, "aria-label": name },
    el("option", { value: "" }, "—"),
    items.map((s) => el("option", { value: s.id, selected: s.id === value }, `${label(s)}（${s.id}）`)));
  const stationSelect = (name, value) => pick(name, stations, value, (s) => s.name);
  const providerSelect = (value) => pick("provider", providers, value, (p) => p.name);
  const caregiverSelect = (value) => pick("caregiver", caregivers, value, (c) => c.name);
  // What each officer may give: the bureau any role, a town station staff, a provider its caregivers.
  const own = bureau ? null : me === "provider" ? "caregiver" : "station";
  const roleSelect = (value) => el("select", { name: "role", disabled: !bureau },
    Object.entries(ROLE_NAMES).map(([r, label]) => el("option", { value: r, selected: r === value }, label)));
  const form = el("form", { class: "form-grid", "data-testid": "user-form" },
    el("label", {}, "用户名", el("input", { name: "name", required: true, maxlength: 64 })),
    el("label", {}, "角色", roleSelect(own || "station")),
    bureau ? el("label", {}, "镇（街道）", el("input", { name: "towns", placeholder: "多个用顿号分隔" })) : null,
    me === "provider" ? null : el("label", {}, "站点", stationSelect("station", "")),
    bureau ? el("label", {}, "居家服务商", providerSelect("")) : null,
    homecare ? el("label", {}, "护理员工号", caregiverSelect("")) : null,
    el("label", {}, "初始密码", el("input", { name: "password", type: "password", required: true, minlength: 8, autocomplete: "new-password" })),
    el("div", { class: "toolbar" }, el("button", { type: "submit", "data-action": "add-user" }, "添加用户")));
  const towns = (text) => (text || "").split(/[、,，\s]+/).map((t) => t.trim()).filter(Boolean);
  const scopeOf = (role, f) => ({
    towns: role === "town" ? towns(f.towns) : [], station: role === "station" ? f.station || null : null,
    provider: role === "provider" ? f.provider || null : null, caregiver: role === "caregiver" ? f.caregiver || null : null,
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = Object.fromEntries(new FormData(form));
    const role = own || f.role;
    try {
      await Api.post("/users", { name: f.name.trim(), role, password: f.password, ...scopeOf(role, f) });
      toast(`用户 ${f.name} 已添加`, 3000, "ok"); route();
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
    const provider = providerSelect(u.provider);
    const caregiver = caregiverSelect(u.caregiver);
    const scope = me === "provider" ? caregiver : el("div", {}, station, homecare ? provider : null, homecare ? caregiver : null);
    const password = el("input", { name: "new-password", type: "password", placeholder: "新密码（至少 8 位）", autocomplete: "new-password", size: 14 });
    const values = () => ({ towns: townInput.value, station: station.value, provider: provider.value, caregiver: caregiver.value });
    return el("tr", { "data-user": u.name, "data-active": String(u.active) },
      el("td", {}, u.name), el("td", {}, role), el("td", {}, townInput), el("td", {}, scope),
      el("td", {}, u.active ? badge("state-open", "启用") : badge("state-closed", "已停用")),
      el("td", {}, el("div", { class: "toolbar" },
        el("button", { type: "button", class: "secondary", "data-action": "save",
          onclick: (ev) => call(ev.target, "PATCH", `/users/${u.id}`, { role: role.value, ...scopeOf(role.value, values()) }, "已保存") }, "保存"),
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
  const intro = bureau ? "镇（街道）用户填写所辖镇；站点工作人员选择站点；居家服务商账号选择服务商，护理员账号选择工号。停用或重置密码后，该用户已登录的页面立即失效。"
    : me === "provider" ? "只能管理本单位护理员的账号（工号须已登记在本单位）。" : "只能管理本镇（街道）所辖站点的工作人员账号。";
  main.replaceChildren(el("div", { class: "grid" },
    card(bureau ? "添加用户" : me === "provider" ? "添加本单位护理员账号" : "添加本镇站点工作人员", "span-12",
      el("p", { class: "muted" }, intro), form),
    card(`用户（${list.length}）`, "span-12",
      table(["用户名", "角色", "镇（街道）", me === "provider" ? "工号" : "站点 / 居家服务", "状态", "操作"], rows, { "data-testid": "users" }))));
};
