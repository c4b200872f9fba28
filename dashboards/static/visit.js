// 上门服务: the caregiver's phone page. Scan the elder's QR code with the phone's camera (the browser's own
// BarcodeDetector, or the vendored jsQR where there is none; a photo of the code works too), sign in, pick the
// service items, scan again and sign out.
//
// A weak mobile connection must not lose a visit nor count one twice: every scan is first written to a queue on the
// phone (localStorage) with the time it was taken and a key made on the phone, then sent; what could not be sent
// waits for the connection and goes later, oldest first. The server stores each key once and judges the phone's
// time. A scan the server refuses (a revoked code, a time it cannot believe) leaves the queue and is shown with the
// server's reason, never silently dropped.
"use strict";

const VISIT_PREFIX = "EC1.";
// The server's reasons, in the page's language (the rest are shown as they come).
const VISIT_REASONS = [
  [/revoked/, "该二维码已作废，请联系服务商重新打印"],
  [/not a visit code|forged|not valid/, "不是本平台有效的服务二维码"],
  [/another elder/, "二维码与签入的老人不一致"],
  [/in the future/, "手机时间比实际时间快，请校准手机时间"],
  [/old, more than/, "离线记录超过允许的上传期限"],
  [/of this elder at that time/, "该时段您已有这位老人的服务记录，同一次服务只能签入签出一次"],
];
const visitReason = (detail) => {
  const hit = VISIT_REASONS.find(([re]) => re.test(detail || ""));
  return hit ? `${hit[1]}（${detail}）` : detail;
};

// The queue and the open visit live in localStorage under the user's name: another caregiver logging in on the
// same phone neither sends nor sees them.
const VisitStore = {
  key(what) { return `eldercare.visit.${what}.${App.me.name}`; },
  read(what, fallback) {
    try { return JSON.parse(localStorage.getItem(VisitStore.key(what))) ?? fallback; } catch (_) { return fallback; }
  },
  write(what, value) {
    if (value === null) localStorage.removeItem(VisitStore.key(what));
    else localStorage.setItem(VisitStore.key(what), JSON.stringify(value));
  },
  queue() { return VisitStore.read("queue", []); },
  refused() { return VisitStore.read("refused", []); },
  open() { return VisitStore.read("open", null); },
};

// 128 random bits as hex: the visit's key, made here so a resend is recognised as the same scan.
function clientKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// One upload, given up after 20 s: on a weak signal a request can hang for minutes, and the queue must not wait on
// it (the scan stays queued and goes again; the server stores it once however often it arrives).
async function upload(path, body) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 20000);
  try {
    return await Api.request("POST", path, body, { signal: controller.signal });
  } finally {
    clearTimeout(timer);
  }
}

// Sends what is queued, oldest first (a sign-out never overtakes its sign-in). Stops at the first scan that could
// not reach the server; one run at a time.
const VisitSync = {
  running: null,
  listeners: new Set(),
  changed() { for (const fn of VisitSync.listeners) fn(); },
  flush() {
    if (!VisitSync.running) {
      VisitSync.running = VisitSync.send().finally(() => { VisitSync.running = null; VisitSync.changed(); });
    }
    return VisitSync.running;
  },
  async send() {
    for (;;) {
      const [entry] = VisitStore.queue();
      if (!entry) return;
      const path = entry.kind === "sign_in" ? "/homecare/visits/sign-in" : "/homecare/visits/sign-out";
      let visit = null;
      try {
        visit = await upload(path, entry.body);
      } catch (err) {
        // No answer (offline, timed out) or an answer that says "try later": keep it for the next attempt.
        if (!err.status || err.status === 401 || err.status === 429 || err.status >= 500) return;
        VisitStore.write("refused", [...VisitStore.refused(), { kind: entry.kind, at: entry.body.at, reason: err.detail || err.message }]);
        const open = VisitStore.open();
        if (open && entry.kind === "sign_in" && open.key === entry.body.key) VisitStore.write("open", null);
      }
      // Removed only now that the server has answered: a scan is never lost between queue and server.
      VisitStore.write("queue", VisitStore.queue().filter((e) => e.id !== entry.id));
      const open = VisitStore.open();
      if (visit && open && open.key === visit.key) VisitStore.write("open", { ...open, elder: visit.elder_name });
      VisitSync.changed();
    }
  },
};
window.addEventListener("online", () => App.me && VisitSync.flush());
setInterval(() => { if (App.me && App.me.role === "caregiver" && VisitStore.queue().length) VisitSync.flush(); }, 15000);

// The phone's position, only when the caregiver has said yes on this phone (and the browser asks them too).
function visitLocation() {
  if (VisitStore.read("locate", false) !== true || !navigator.geolocation) return Promise.resolve(null);
  return new Promise((resolve) => navigator.geolocation.getCurrentPosition(
    (p) => resolve({ lat: p.coords.latitude, lon: p.coords.longitude, accuracy_m: p.coords.accuracy }),
    () => resolve(null), { enableHighAccuracy: true, timeout: 8000, maximumAge: 60000 }));
}

// The decoder: the browser's BarcodeDetector where it reads QR codes, else jsQR, loaded on first use.
const QrDecoder = {
  detector: undefined,
  async get() {
    if (QrDecoder.detector !== undefined) return QrDecoder.detector;
    if ("BarcodeDetector" in window) {
      try {
        if ((await BarcodeDetector.getSupportedFormats()).includes("qr_code")) {
          const detector = new BarcodeDetector({ formats: ["qr_code"] });
          QrDecoder.detector = async (source) => {
            const [hit] = await detector.detect(source);
            return hit ? hit.rawValue : null;
          };
          return QrDecoder.detector;
        }
      } catch (_) { /* fall through to jsQR */ }
    }
    if (!window.jsQR) {
      await new Promise((resolve, reject) => {
        document.head.append(el("script", { src: "static/vendor/jsQR.js", onload: resolve, onerror: reject }));
      });
    }
    const canvas = document.createElement("canvas");
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    QrDecoder.detector = async (source) => {
      const w = source.videoWidth || source.width;
      const h = source.videoHeight || source.height;
      if (!w || !h) return null;
      const scale = Math.min(1, 1280 / Math.max(w, h));
      canvas.width = Math.round(w * scale); canvas.height = Math.round(h * scale);
      ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
      const hit = window.jsQR(ctx.getImageData(0, 0, canvas.width, canvas.height).data, canvas.width, canvas.height);
      return hit ? hit.data : null;
    };
    return QrDecoder.detector;
  },
};

// Opens the scanner over the page; resolves with the code's text, or null when the caregiver cancels.
function scanQr(title) {
  return new Promise((resolve) => {
    let stream = null; let done = false;
    const video = el("video", { playsinline: true, muted: true, autoplay: true, "data-testid": "scanner-video" });
    const status = el("p", { class: "muted", "data-testid": "scanner-status" }, "正在打开摄像头…");
    const finish = (text) => {
      if (done) return;
      done = true;
      if (stream) stream.getTracks().forEach((t) => t.stop());
      overlay.remove();
      resolve(text);
    };
    const photo = el("input", { type: "file", accept: "image/*", capture: "environment", "data-testid": "scanner-photo",
      onchange: async () => {
        const file = photo.files[0];
        if (!file) return;
        try {
          const image = await createImageBitmap(file);
          const text = await (await QrDecoder.get())(image);
          if (text) finish(text); else status.textContent = "照片中没有识别到二维码，请靠近后重拍";
        } catch (_) { status.textContent = "无法读取这张照片"; }
      } });
    const overlay = el("div", { class: "scanner", role: "dialog", "aria-label": title },
      el("h2", {}, title), video, status,
      el("label", { class: "button secondary" }, "拍照识别", photo),
      el("button", { type: "button", class: "secondary", onclick: () => finish(null) }, "取消"));
    document.body.append(overlay);
    App.cleanup.push(() => finish(null));
    const loop = async () => {
      if (done) return;
      try {
        const text = video.readyState >= 2 ? await (await QrDecoder.get())(video) : null;
        if (text) { finish(text); return; }
      } catch (_) { /* a frame that cannot be read: try the next */ }
      setTimeout(loop, 200);
    };
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      status.textContent = "此浏览器无法使用摄像头，请用“拍照识别”";
      return;
    }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }).then((s) => {
      if (done) { s.getTracks().forEach((t) => t.stop()); return; }
      stream = s; video.srcObject = s;
      status.textContent = "请将老人家中的服务二维码放入画面";
      loop();
    }).catch(() => { status.textContent = "摄像头未授权或不可用，请用“拍照识别”"; });
  });
}

Pages.visit = async (main) => {
  const fetchMine = () => Api.get("/homecare/my-visits").catch(() => null); // offline: null, the queue still works
  // The item list is kept on the phone too, so the page still opens from the browser's cache without a signal.
  const fetchItems = () => Api.get("/homecare/service-items")
    .then((list) => { VisitStore.write("items", list); return list; })
    .catch((err) => { const kept = VisitStore.read("items", null); if (kept) return kept; throw err; });
  // The decoder too is loaded now, while there is a signal: the scan that matters may be the one without.
  let [items, mine] = await Promise.all([fetchItems(), fetchMine(), QrDecoder.get().catch(() => null)]);
  VisitSync.flush();

  const render = () => {
    const queue = VisitStore.queue();
    const open = VisitStore.open();
    const refused = VisitStore.refused();
    const online = navigator.onLine;
    const status = el("div", { class: "visit-status" },
      badge(online ? "state-open" : "state-unknown", online ? "在线" : "离线"),
      el("span", { "data-testid": "queue-count", "data-count": queue.length },
        queue.length ? `${queue.length} 条记录待上传` : "记录已全部上传"),
      queue.length && online ? el("button", { type: "button", class: "secondary", onclick: () => VisitSync.flush() }, "立即上传") : null);
    const locate = el("label", { class: "visit-locate" },
      el("input", { type: "checkbox", name: "locate", checked: VisitStore.read("locate", false) === true,
        onchange: (ev) => VisitStore.write("locate", ev.target.checked) }),
      " 签入签出时附带手机位置（仅在您同意时发送）");
    const action = open ? openVisitCard(open, items) : card("开始服务", "span-12",
      el("p", { class: "muted" }, "到达老人家中后，扫描门上的服务二维码签入。"),
      el("button", { type: "button", class: "big", "data-action": "sign-in", onclick: signIn }, "扫码签入"));
    main.replaceChildren(el("div", { class: "grid visit" },
      card("上门服务", "span-12", status, locate), action,
      refused.length ? refusedCard(refused) : null,
      mine ? visitsCard(mine) : card("我的服务记录", "span-12", el("p", { class: "muted" }, "离线：联网后显示"))));
  };
  // After an upload the server's list is fetched again (it then holds what was just sent).
  const rerender = async () => {
    if (!main.isConnected) return;
    render();
    if (navigator.onLine) { mine = (await fetchMine()) || mine; if (main.isConnected) render(); }
  };
  VisitSync.listeners.add(rerender);
  App.cleanup.push(() => VisitSync.listeners.delete(rerender));
  const onNet = () => rerender();
  window.addEventListener("online", onNet); window.addEventListener("offline", onNet);
  App.cleanup.push(() => { window.removeEventListener("online", onNet); window.removeEventListener("offline", onNet); });

  async function scanned(title) {
    const text = await scanQr(title);
    if (text === null) return null;
    if (!text.startsWith(VISIT_PREFIX)) { toast("这不是本平台的服务二维码"); return null; }
    return text;
  }

  async function signIn() {
    const qr = await scanned("扫码签入");
    if (!qr) return;
    const body = { key: clientKey(), qr, at: new Date().toISOString(), location: await visitLocation() };
    const entry = { id: clientKey(), kind: "sign_in", body };
    VisitStore.write("open", { key: body.key, qr, at: body.at, items: [] });
    VisitStore.write("queue", [...VisitStore.queue(), entry]);
    toast(navigator.onLine ? "已签入" : "已签入（离线，联网后自动上传）", 3000, "ok");
    render();
    VisitSync.flush();
  }

  function openVisitCard(open, catalogue) {
    const picked = new Set(open.items);
    const boxes = catalogue.map((item) => el("label", { class: "visit-item" },
      el("input", { type: "checkbox", name: "item", value: item.code, checked: picked.has(item.code),
        onchange: (ev) => {
          if (ev.target.checked) picked.add(item.code); else picked.delete(item.code);
          VisitStore.write("open", { ...VisitStore.open(), items: [...picked] });
        } }),
      ` ${item.name}`));
    const signOut = async () => {
      if (!picked.size) { toast("请先勾选本次服务项目"); return; }
      const qr = await scanned("扫码签出");
      if (!qr) return;
      if (qr !== open.qr) { toast("请扫描签入时同一位老人的二维码"); return; }
      const body = { visit_key: open.key, qr, at: new Date().toISOString(), items: [...picked],
        location: await visitLocation() };
      const entry = { id: clientKey(), kind: "sign_out", body };
      VisitStore.write("queue", [...VisitStore.queue(), entry]);
      VisitStore.write("open", null);
      toast(navigator.onLine ? "已签出" : "已签出（离线，联网后自动上传）", 3000, "ok");
      render();
      VisitSync.flush();
    };
    return card("服务中", "span-12",
      el("p", { "data-testid": "open-visit" }, open.elder ? `老人：${open.elder}` : "老人：待上传后显示",
        el("br"), `签入时间：${time(open.at)}`),
      el("fieldset", { class: "visit-items", "data-testid": "visit-items" }, el("legend", {}, "本次服务项目"), boxes),
      el("button", { type: "button", class: "big", "data-action": "sign-out", onclick: signOut }, "扫码签出"));
  }

  function refusedCard(refused) {
    const rows = refused.map((r) => el("li", { "data-testid": "refused-entry" },
      `${r.kind === "sign_in" ? "签入" : "签出"} ${time(r.at)}：${visitReason(r.reason)}`));
    return card("未被接受的记录", "span-12", el("ul", {}, rows),
      el("button", { type: "button", class: "secondary", onclick: () => { VisitStore.write("refused", null); render(); } }, "我已知晓，清除"));
  }

  function visitsCard(visits) {
    const rows = visits.map((v) => el("tr", { "data-visit": v.id },
      el("td", {}, v.elder_name), el("td", {}, time(v.sign_in_at)),
      el("td", {}, v.sign_out_at ? time(v.sign_out_at) : "—"),
      el("td", {}, v.minutes === null ? "—" : `${v.minutes} 分钟`),
      el("td", {}, (v.item_names || v.items).join("、"))));
    return card("我的服务记录", "span-12", table(["老人", "签入", "签出", "时长", "项目"], rows, { "data-testid": "my-visits" }));
  }

  render();
};

// 服务二维码: printable cards of the elders' codes for the bureau, a town or a provider (print from the browser).
Pages["visit-codes"] = async (main) => {
  const cards = await Api.get("/homecare/qr-cards");
  const reissue = async (elder) => {
    if (!confirm(`作废 ${elder.name_masked} 的旧二维码并生成新码？旧码将立即失效，需打印新码替换。`)) return;
    try {
      await Api.post(`/homecare/elders/${encodeURIComponent(elder.elder_id)}/qr/reissue`, {});
      toast("已重新生成，请打印新码替换旧码", 3000, "ok"); route();
    } catch (err) { toast(`操作失败：${err.message}`); }
  };
  const issue = async (elder) => {
    try {
      await Api.post(`/homecare/elders/${encodeURIComponent(elder.elder_id)}/qr`, {});
      route();
    } catch (err) { toast(`操作失败：${err.message}`); }
  };
  const printable = cards.map((c) => el("figure", { class: "qr-card", "data-elder": c.elder_id },
    c.image ? el("img", { src: c.image, alt: "服务签到二维码" }) : el("p", { class: "muted" }, "未生成"),
    el("figcaption", {}, el("strong", {}, c.name_masked), el("div", {}, c.town),
      el("div", { class: "muted" }, c.token_id ? `码号 ${c.token_id.slice(0, 6)}` : ""),
      el("div", { class: "no-print toolbar" },
        c.token_id
          ? el("button", { type: "button", class: "secondary", onclick: () => reissue(c) }, "作废并重新生成")
          : el("button", { type: "button", onclick: () => issue(c) }, "生成二维码")))));
  main.replaceChildren(card("老人服务二维码", "span-12 qr-sheet",
    el("div", { class: "toolbar no-print" }, el("button", { type: "button", onclick: () => window.print() }, "打印"),
      el("span", { class: "muted" }, "二维码只含加密编号，不含老人个人信息；丢失或被复制时作废并重新生成。")),
    el("div", { class: "qr-cards", "data-testid": "qr-cards" }, printable)));
};
