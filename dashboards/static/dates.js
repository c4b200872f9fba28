// A date picker's value read in Chinese beside it: "10月12日（周一）".
// The browser draws <input type="date"> in its own interface language, not the page's `lang`: a browser set to
// English shows 10/12/2026, which a Chinese reader may take for 10 December. The reading beside it is unambiguous
// whatever the browser's language, and its weekday is what an officer checks when planning a spot check or a closure.
"use strict";

const WEEKDAYS = ["周日", "周一", "周二", "周三", "周四", "周五", "周六"];
const PICKERS = 'input[type="date"], input[type="month"], input[type="datetime-local"]';

const Dates = {
  // The Chinese reading of a picker's value ("" when empty or not a date).
  zh(value) {
    const m = /^(\d{4})-(\d{2})(?:-(\d{2})(?:T(\d{2}:\d{2}))?)?$/.exec(value || "");
    if (!m) return "";
    const [, year, month, day, hm] = m;
    if (!day) return `${year}年${Number(month)}月`;
    const weekday = WEEKDAYS[new Date(Date.UTC(Number(year), Number(month) - 1, Number(day))).getUTCDay()];
    return `${Number(month)}月${Number(day)}日（${weekday}）${hm ? ` ${hm}` : ""}`;
  },

  // Put the reading after `input` once, and keep it up to date as the user picks or the form is reset.
  annotate(input) {
    if (input.dataset.zh) return;
    input.dataset.zh = "1";
    const reading = el("span", { class: "date-zh", "data-testid": "date-zh", "aria-hidden": "true" });
    const update = () => { reading.textContent = Dates.zh(input.value); };
    input.addEventListener("input", update);
    input.addEventListener("change", update);
    if (input.form) input.form.addEventListener("reset", () => setTimeout(update));
    input.after(reading);
    update();
  },

  // Every picker any page draws into `root`, now and later (pages build their forms in several modules).
  watch(root) {
    const scan = (node) => {
      if (node.nodeType !== Node.ELEMENT_NODE) return;
      if (node.matches(PICKERS)) Dates.annotate(node);
      node.querySelectorAll(PICKERS).forEach((n) => Dates.annotate(n));
    };
    new MutationObserver((records) => records.forEach((r) => r.addedNodes.forEach(scan))).observe(root,
      { childList: true, subtree: true });
    scan(root);
  },
};
window.Dates = Dates;
