// The API client: bearer token in sessionStorage, JSON calls, authenticated downloads, and the live alert stream.
"use strict";

const API = "/api/v1";

const Api = {
  token() { return sessionStorage.getItem("eldercare.token"); },
  setToken(token) {
    if (token) sessionStorage.setItem("eldercare.token", token); else sessionStorage.removeItem("eldercare.token");
  },

  async login(username, password) {
    const body = new URLSearchParams({ username, password });
    const res = await fetch(`${API}/auth/token`, { method: "POST", body });
    if (res.status === 429) throw new Error("登录失败次数过多，请稍后再试");
    if (!res.ok) throw new Error("用户名或密码错误");
    const data = await res.json();
    Api.setToken(data.access_token);
    return data;
  },

  // Revoke the token on the server (a copy of it stops working too), then forget it here.
  async logout() {
    const token = Api.token();
    Api.setToken(null);
    if (token) {
      await fetch(`${API}/auth/logout`, { method: "POST", headers: { Authorization: `Bearer ${token}` } }).catch(() => null);
    }
  },

  // `signal` lets a caller give up on a request (the phone's upload queue does after 20 s).
  async request(method, path, body, { signal } = {}) {
    const headers = { Authorization: `Bearer ${Api.token()}` };
    const init = { method, headers, signal };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(`${API}${path}`, init);
    if (res.status === 401) {
      Api.setToken(null);
      window.dispatchEvent(new Event("eldercare:logout"));
      throw new Error("登录已过期");
    }
    if (!res.ok) {
      let detail = res.statusText;
      try { detail = (await res.json()).detail; } catch (_) { /* not JSON */ }
      // The message is for the person (in Chinese, errors.js); `detail` is the server's own, for the pages' logic.
      const err = new Error(explainError(detail));
      err.status = res.status;
      err.detail = typeof detail === "string" ? detail : "";
      throw err;
    }
    return res.status === 204 ? null : res.json();
  },
  get(path) { return Api.request("GET", path); },
  post(path, body) { return Api.request("POST", path, body); },

  // Download with the bearer header (a plain link cannot carry it), saved under the server's file name.
  async download(path) {
    const res = await fetch(`${API}${path}`, { headers: { Authorization: `Bearer ${Api.token()}` } });
    if (!res.ok) throw new Error(`下载失败 (${res.status})`);
    const disposition = res.headers.get("Content-Disposition") || "";
    const match = /filename\*=UTF-8''([^;]+)|filename="?([^";]+)"?/.exec(disposition);
    const name = match ? decodeURIComponent(match[1] || match[2]) : "export";
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement("a");
    a.href = url; a.download = name; document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  },

  // Server-Sent Events read through fetch, so the token travels in a header, never in a URL. Reconnects.
  stream(path, onEvent, onState) {
    const controller = new AbortController();
    let stopped = false;
    const run = async () => {
      while (!stopped) {
        try {
          const res = await fetch(`${API}${path}`, {
            headers: { Authorization: `Bearer ${Api.token()}`, Accept: "text/event-stream" },
            signal: controller.signal,
          });
          if (res.status === 401) {
            // Revoked (logout elsewhere, the user disabled) or expired: back to the login page, no reconnecting.
            Api.setToken(null);
            window.dispatchEvent(new Event("eldercare:logout"));
            return;
          }
          if (!res.ok || !res.body) throw new Error(`stream ${res.status}`);
          onState(true);
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = "";
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += value;
            let cut;
            while ((cut = buffer.indexOf("\n\n")) >= 0) {
              const block = buffer.slice(0, cut);
              buffer = buffer.slice(cut + 2);
              let type = "message"; const data = [];
              for (const line of block.split("\n")) {
                if (line.startsWith("event:")) type = line.slice(6).trim();
                else if (line.startsWith("data:")) data.push(line.slice(5).trim());
              }
              if (data.length) onEvent(type, JSON.parse(data.join("\n")));
            }
          }
        } catch (err) {
          if (stopped) return;
        }
        onState(false);
        if (!stopped) await new Promise((r) => setTimeout(r, 2000));
      }
    };
    run();
    return () => { stopped = true; controller.abort(); };
  },
};
window.Api = Api;
