// 抽查申诉: station staff contest a failed check of their station once, with text; the town (or bureau) decides,
// upheld or rejected, with the reason. An upheld appeal takes that check out of the veto's count.
"use strict";

const APPEAL_STATUS = { pending: "待决定", upheld: "申诉成立", rejected: "申诉驳回" };

Pages.appeals = async (main) => {
  const station = App.me.role === "station";
  const [appeals, checks] = await Promise.all([Api.get("/appeals"), station ? Api.get("/appeals/checks") : []]);
  const window_ = (x) => `${x.date} ${x.start}-${x.end}`;
  const checkRows = checks.map((c) => el("tr", { "data-plan": c.plan_id },
    el("td", {}, window_(c)), el("td", {}, REASONS[c.reason_code] || c.reason || "—"),
    el("td", {}, c.appeal_status ? badge(`appeal-${c.appeal_status}`, APPEAL_STATUS[c.appeal_status])
      : el("form", { class: "toolbar", "data-testid": "appeal-form", onsubmit: async (ev) => {
        ev.preventDefault();
        const text = ev.target.querySelector("textarea").value.trim();
        if (!text) { toast("请填写申诉理由"); return; }
        try {
          await Api.post("/appeals", { plan_id: c.plan_id, text });
          toast("申诉已提交，等待镇（街道）决定", 3000, "ok"); route();
        } catch (err) { toast(`提交失败：${err.message}`); }
      } }, el("textarea", { name: "text", rows: 2, maxlength: 2000, placeholder: "申诉理由（每次抽查只能申诉一次）" }),
      el("button", { type: "submit" }, "提交申诉")))));
  const decide = (a) => el("div", { class: "toolbar" },
    el("input", { name: "reason", placeholder: "决定理由", maxlength: 2000 }),
    ...[["upheld", "申诉成立"], ["rejected", "驳回"]].map(([outcome, label]) => el("button", {
      type: "button", class: outcome === "rejected" ? "secondary" : "", "data-action": outcome,
      onclick: async (ev) => {
        const reason = ev.target.closest("tr").querySelector("input[name=reason]");
        if (!reason.value.trim()) { toast("请填写决定理由"); reason.focus(); return; }
        try {
          await Api.post(`/appeals/${a.id}/decide`, { outcome, reason: reason.value.trim() });
          toast(`已决定：${label}`, 2500, "ok"); route();
        } catch (err) { toast(`操作失败：${err.message}`); }
      },
    }, label)));
  const decision = (a) => (a.decided_by
    ? el("div", {}, `${a.decided_by} · ${time(a.decided_at)}`, el("div", { class: "muted" }, a.decision_reason),
      a.status === "upheld" ? el("div", { class: "muted" }, "该次抽查不计入一票否决") : null)
    : (station ? "—" : decide(a)));
  const rows = appeals.map((a) => el("tr", { "data-appeal": a.id, "data-status": a.status },
    el("td", {}, a.station_name, el("div", { class: "muted" }, a.town)), el("td", {}, window_(a)),
    el("td", {}, a.text, el("div", { class: "muted" }, `${a.filed_by} · ${time(a.filed_at)}`)),
    el("td", {}, badge(`appeal-${a.status}`, APPEAL_STATUS[a.status])), el("td", {}, decision(a))));
  main.replaceChildren(el("div", { class: "grid" },
    station ? card("本站未通过的抽查", "span-12", el("p", { class: "muted" }, "抽查当天结束后才会显示；每次抽查只能申诉一次。"),
      table(["抽查时段", "结论", "申诉"], checkRows, { "data-testid": "failed-checks" })) : null,
    card(station ? "本站申诉" : "抽查申诉", "span-12",
      station ? null : el("div", { class: "toolbar" }, el("button", { type: "button", class: "secondary", "data-export": "appeals-csv",
        onclick: () => Api.download("/appeals/decisions.csv").catch((e) => toast(e.message)) }, "导出申诉决定（CSV）")),
      table(["站点", "抽查时段", "申诉理由", "状态", "决定"], rows, { "data-testid": "appeals" }))));
};
