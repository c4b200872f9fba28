// Times in the stations' zone, whatever the browser's: a laptop set to UTC must still read 08:30 for 08:30 in
// Shanghai, and "today" is the stations' date. The zone comes from the API (/auth/me), Asia/Shanghai until then.
"use strict";

const Zone = {
  name: "Asia/Shanghai",
  formatters: new Map(),

  formatter(options) {
    const key = `${this.name}|${JSON.stringify(options)}`;
    if (!this.formatters.has(key)) {
      this.formatters.set(key, new Intl.DateTimeFormat("zh-CN", { timeZone: this.name, hourCycle: "h23", ...options }));
    }
    return this.formatters.get(key);
  },

  // "2026/10/12 08:30:05": date and time of an instant in the zone.
  dateTime(value) {
    if (!value) return "—";
    return this.formatter({ year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" })
      .format(new Date(value));
  },

  // "08:30": the time of day of an instant in the zone.
  hm(value) {
    return this.formatter({ hour: "2-digit", minute: "2-digit" }).format(new Date(value));
  },

  // "2026-10-12": the zone's date of an instant (default: now).
  date(value = Date.now()) {
    const parts = Object.fromEntries(this.formatter({ year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(new Date(value)).map((p) => [p.type, p.value]));
    return `${parts.year}-${parts.month}-${parts.day}`;
  },
};
window.Zone = Zone;
