// The shell: login, the role's menu, hash routing to the pages, the live alert toast, the clock.
"use strict";

const MENUS = {
  bureau: [["overview", "总览"], ["stations", "站点"], ["alerts", "告警"], ["spot-checks", "抽查"], ["onsite", "现场抽查"],
    ["closures", "停业申请"], ["assessment", "年度考核"], ["calendar", "节假日"], ["appeals", "申诉"], ["registry", "站点管理"],
    ["users", "用户"], ["audit", "操作日志"], ["homecare", "居家服务"], ["visit-codes", "服务二维码"]],
  town: [["overview", "总览"], ["stations", "站点"], ["alerts", "告警"], ["spot-checks", "抽查"], ["onsite", "现场抽查"],
    ["closures", "停业申请"], ["assessment", "年度考核"], ["appeals", "申诉"], ["users", "用户"], ["homecare", "居家服务"],
    ["visit-codes", "服务二维码"]],
  station: [["station", "本站"], ["alerts", "告警"], ["closures", "停业申请"], ["appeals", "申诉"]],
  dispatch: [["alerts", "紧急呼叫"]],
  provider: [["homecare", "居家服务"], ["visit-codes", "服务二维码"], ["users", "用户"]],
  caregiver: [["visit", "上门服务"], ["homecare", "我的服务"]],
};
const ROLE_NAMES = { bureau: "民政局管理员", town: "镇（街道）", station: "站点工作人员", dispatch: "调度中心",
  provider: "居家服务商", caregiver: "护理员" };

const App = { me: null, stopStream: null, cleanup: [] };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  // A field is built before it joins the page: give it the page's language first, for a browser that draws date and
  // time pickers in it (the page is Chinese: 2026/10/12 and 09:00, not 10/12/2026 and 09:00 AM).
  if (tag === "input") node.lang = document.documentElement.lang;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
window.el = el;

function toast(text, ms = 6000, kind = "alarm") {
  const node = document.getElementById("toast");
  node.textContent = text; node.hidden = false;
  node.classList.toggle("ok", kind === "ok");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { node.hidden = true; }, ms);
}
window.toast = toast;

function showLogin(message) {
  document.getElementById("login").hidden = false;
  document.getElementById("login-error").textContent = message || "";
  document.getElementById("main").replaceChildren();
  document.getElementById("nav").replaceChildren();
  document.getElementById("user").textContent = "";
  document.getElementById("logout").hidden = true;
  if (App.stopStream) { App.stopStream(); App.stopStream = null; }
}

async function start() {
  if (!Api.token()) return showLogin();
  try {
    App.me = await Api.get("/auth/me");
  } catch (err) {
    return showLogin();
  }
  Zone.name = App.me.timezone || Zone.name;
  document.getElementById("login").hidden = true;
  document.getElementById("user").textContent = `${App.me.name} · ${ROLE_NAMES[App.me.role]}`;
  document.getElementById("logout").hidden = false;
  const nav = document.getElementById("nav");
  nav.replaceChildren(...MENUS[App.me.role].map(([id, label]) => el("a", { href: `#/${id}`, "data-page": id }, label)));
  startStream();
  route();
}

// One stream per login: pages subscribe to it; an emergency call pops a toast whatever page is open.
const listeners = new Set();
App.onAlert = (fn) => { listeners.add(fn); App.cleanup.push(() => listeners.delete(fn)); };
function startStream() {
  if (App.stopStream) App.stopStream();
  App.stopStream = Api.stream("/alerts/stream", (type, data) => {
    if (type !== "alert") return;
    if (data.kind === "emergency_call" && data.status === "raised") {
      toast(`紧急呼叫：${data.station_name}（${data.town}）`);
    }
    for (const fn of listeners) fn(data);
  }, (on) => {
    App.live = on;
    document.querySelectorAll(".live").forEach((n) => n.classList.toggle("on", on));
  });
}

function route() {
  for (const fn of App.cleanup.splice(0)) fn();
  const [page, ...args] = location.hash.replace(/^#\/?/, "").split("?")[0].split("/");
  const menu = MENUS[App.me.role];
  const allowed = new Set([...menu.map(([id]) => id), ...(App.me.role === "station" ? [] : ["station"])]);
  const name = allowed.has(page) ? page : menu[0][0];
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === name));
  // Each visit draws into a view of its own: a page still loading when the user moves on draws into its detached
  // view, never over the page that replaced it.
  const view = el("div", { class: "view" }, el("p", { class: "muted" }, "加载中…"));
  document.getElementById("main").replaceChildren(view);
  Pages[name](view, args.map(decodeURIComponent)).catch((err) => {
    view.replaceChildren(el("div", { class: "card" }, el("p", { class: "error" }, `加载失败：${err.message}`)));
  });
}

function tick() {
  document.getElementById("clock").textContent = Zone.dateTime(Date.now());
}

document.addEventListener("DOMContentLoaded", () => {
  Dates.watch(document.getElementById("main"));
  document.getElementById("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target);
    try {
      await Api.login(form.get("username"), form.get("password"));
      ev.target.reset();
      start();
    } catch (err) {
      document.getElementById("login-error").textContent = err.message;
    }
  });
  document.getElementById("logout").addEventListener("click", () => Api.logout().finally(() => showLogin()));
  window.addEventListener("eldercare:logout", () => showLogin("登录已过期，请重新登录"));
  window.addEventListener("hashchange", () => App.me && route());
  window.addEventListener("resize", () => document.querySelectorAll(".chart").forEach((n) => {
    const chart = echarts.getInstanceByDom(n); if (chart) chart.resize();
  }));
  tick(); setInterval(tick, 1000);
  start();
});
window.App = App;
