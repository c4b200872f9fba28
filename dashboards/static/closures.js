// 停业申请: station staff ask for a closure; the town (or bureau) approves or rejects with a reason; the bureau sees
// all, decides on late approvals and exports the excused days as the CSV `cloud derive --exceptions` reads.
"use strict";

const CLOSURE_STATUS = { requested: "待审批", approved: "已批准", rejected: "已驳回" };

Pages.closures = async (main) => {
  const role = App.me.role;
  const list = await Api.get("/closures");
  const act = (label, path, body, cls) => el("button", {
    type: "button", class: cls || "", "data-action": label,
    onclick: async (ev) => {
      const row = ev.target.closest("tr");
      const reason = row.querySelector("input[name=reason]");
      if (reason && !reason.value.trim()) { toast("请填写审批意见"); reason.focus(); return; }
      ev.target.disabled = true;
      try {
        await Api.post(path, { ...body, reason: reason ? reason.value.trim() : "" });
        toast(`已${label}`, 2000, "ok"); route();
      } catch (err) { toast(`操作失败：${err.message}`); ev.target.disabled = false; }
    },
  }, label);
  const decision = (c) => (c.decided_by
    ? el("div", {}, `${c.decided_by} · ${time(c.decided_at)}`, el("div", { class: "muted" }, c.decision_reason || ""))
    : "—");
  const late = (c) => {
    if (!c.late) return "—";
    const days = c.late_days.join("、");
    if (c.late_excused !== null) {
      return el("div", {}, `${days}：${c.late_excused ? "民政局决定免责" : "维持抽查结果"}`,
        el("div", { class: "muted" }, `${c.late_decided_by} · ${time(c.late_decided_at)} · ${c.late_decision_reason}`));
    }
    return el("div", {}, badge("state-closed", "迟报"), ` ${days} 批准前已被抽查，未免除，待民政局决定`);
  };
  const actions = (c) => {
    const base = `/closures/${c.id}`;
    if (c.status === "requested" && role !== "station") {
      return el("div", { class: "toolbar" }, el("input", { name: "reason", placeholder: "审批意见", maxlength: 500 }),
        act("批准", `${base}/approve`, {}), act("驳回", `${base}/reject`, {}, "secondary"));
    }
    if (role === "bureau" && c.late && c.late_excused === null) {
      return el("div", { class: "toolbar" }, el("input", { name: "reason", placeholder: "决定理由", maxlength: 500 }),
        act("免责", `${base}/late-decision`, { excuse: true }), act("维持", `${base}/late-decision`, { excuse: false }, "secondary"));
    }
    return null;
  };
  const rows = list.map((c) => el("tr", { "data-closure": c.id, "data-status": c.status },
    el("td", {}, c.id), el("td", {}, c.station_name, el("div", { class: "muted" }, c.town)),
    el("td", {}, c.first_day === c.last_day ? c.first_day : `${c.first_day} 至 ${c.last_day}`), el("td", {}, c.reason),
    el("td", {}, badge(`closure-${c.status}`, CLOSURE_STATUS[c.status])),
    el("td", {}, c.requested_by, el("div", { class: "muted" }, time(c.requested_at))),
    el("td", {}, decision(c)), el("td", {}, late(c)), el("td", {}, actions(c))));
  const listCard = card(role === "station" ? "本站停业申请" : "停业申请审批", "span-12",
    role === "station" ? null : el("div", { class: "toolbar" },
      el("button", { type: "button", class: "secondary", "data-export": "exceptions-csv",
        onclick: () => Api.download("/closures/exceptions.csv").catch((e) => toast(e.message)) }, "导出已批准停业日（CSV）")),
    table(["编号", "站点", "日期", "原因", "状态", "申请", "审批", "迟报", "操作"], rows, { "data-testid": "closures" }));
  main.replaceChildren(el("div", { class: "grid" }, role === "station" ? closureForm() : null, listCard));
};

function closureForm() {
  const form = el("form", { class: "toolbar", "data-testid": "closure-form" },
    el("label", {}, "开始 ", el("input", { name: "first_day", type: "date", required: true, value: Zone.date() })),
    el("label", {}, "结束 ", el("input", { name: "last_day", type: "date", required: true, value: Zone.date() })),
    el("input", { name: "reason", placeholder: "停业原因（如台风、装修）", required: true, maxlength: 500 }),
    el("button", { type: "submit" }, "提交申请"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    try {
      await Api.post("/closures", { first_day: f.get("first_day"), last_day: f.get("last_day"), reason: f.get("reason") });
      toast("停业申请已提交，等待镇（街道）审批", 3000, "ok"); route();
    } catch (err) { toast(`提交失败：${err.message}`); }
  });
  return card("申请停业（闭站）", "span-12", el("p", { class: "muted" }, "事前申请并获批准的日期不计入未开放；抽查之后补报的，需民政局决定。"), form);
}
