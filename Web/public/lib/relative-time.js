// "just now", "5 minutes ago", "yesterday", "Mar 4": how long ago something happened, in the
// page's language (English), for the conversation list.

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });

/** Milliseconds since the epoch of an ISO 8601 time (or a number, or a Date); null when not a time. */
export function toTime(value) {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.getTime();
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value !== "string" || !value) return null;
  const time = Date.parse(value);
  return Number.isNaN(time) ? null : time;
}

/**
 * How long before `now` the time `then` was: under 45 s (or in the future, a clock a little
 * ahead) "just now"; then minutes, hours, days (up to 6); older ones as a date, with the year
 * when it is not the year of `now`. `timeZone` is for the date (the browser's by default).
 */
export function relativeTime(then, now = Date.now(), { timeZone } = {}) {
  const time = toTime(then);
  const current = toTime(now);
  if (time === null || current === null) return "";
  const ago = current - time;
  if (ago < 45 * SECOND) return "just now";
  if (ago < 45 * MINUTE) return relative.format(-Math.max(1, Math.round(ago / MINUTE)), "minute");
  if (ago < 22 * HOUR) return relative.format(-Math.max(1, Math.round(ago / HOUR)), "hour");
  const days = calendarDays(time, current, timeZone);
  if (days === 0) return relative.format(-Math.round(ago / HOUR), "hour"); // earlier the same day
  if (days < 7) return relative.format(-days, "day");
  const sameYear = yearOf(time, timeZone) === yearOf(current, timeZone);
  return new Intl.DateTimeFormat("en", { month: "short", day: "numeric", year: sameYear ? undefined : "numeric", timeZone }).format(time);
}

/** The full date and time, for a tooltip or a table cell ("Mar 4, 2026, 09:12:03"). */
export function absoluteTime(value, { timeZone } = {}) {
  const time = toTime(value);
  if (time === null) return "";
  return new Intl.DateTimeFormat("en", {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
    timeZone,
  }).format(time);
}

function dayNumber(time, timeZone) {
  const parts = new Intl.DateTimeFormat("en", { year: "numeric", month: "numeric", day: "numeric", timeZone }).formatToParts(time);
  const get = (type) => Number(parts.find((p) => p.type === type).value);
  return Math.floor(Date.UTC(get("year"), get("month") - 1, get("day")) / DAY);
}

/** Calendar days between two times where the reader is: 23:00 yesterday is 1 day ago at 08:00. */
function calendarDays(then, now, timeZone) {
  return dayNumber(now, timeZone) - dayNumber(then, timeZone);
}

function yearOf(time, timeZone) {
  return new Intl.DateTimeFormat("en", { year: "numeric", timeZone }).format(time);
}
