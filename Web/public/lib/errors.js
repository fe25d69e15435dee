// Connection-scoped errors the page acts on, and the words it shows for them. Pure: no DOM.
//
// A `message` frame refused with one of REFUSING_CODES was not taken: no `user` event comes
// for it, so the page gives the text back to the message box (and a resend of the same text
// reuses its client_message_id, so a message the server did take after all never runs twice).
// One refused with one of KEEPING_CODES (shutting_down) was not taken either, but the page
// keeps it pending and sends it again by itself, under the same id, once it has reconnected.

/**
 * busy: a turn is running; too_many_turns: over the turn limits; rate_limited: sent too fast;
 * store_unavailable: the server cannot store messages right now (its disk is full, say).
 */
export const REFUSING_CODES = new Set(["busy", "too_many_turns", "rate_limited", "store_unavailable"]);

/** shutting_down: the server is stopping; the message goes out again after reconnecting. */
export const KEEPING_CODES = new Set(["shutting_down"]);

/** What the notice says of a message kept over a server restart. */
export const KEPT_TEXT = "The server is restarting. Your message is kept and will be sent as soon as the connection is back.";

/** The connection-scoped error that comes just before a 4429 close. */
export const TOO_MANY_CONNECTIONS = "too_many_connections";

/** Milliseconds to wait before trying again, from an error event's `retry_after_ms` (or null). */
export function retryAfterOf(event) {
  const ms = event?.retry_after_ms;
  return typeof ms === "number" && Number.isFinite(ms) && ms >= 0 ? ms : null;
}

/** "12 s", "2 min", "1 min 30 s": a wait in words a person reads at a glance. */
export function waitText(ms) {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  return rest ? `${minutes} min ${rest} s` : `${minutes} min`;
}

const NOT_SENT = {
  busy: "Your message was not sent: it is back in the message box.",
  too_many_turns: "Your message was not sent: it is back in the message box.",
  rate_limited: "If it was a message, it is back in the message box.",
  store_unavailable: "Your message was not sent: it is back in the message box. Send it again in a moment.",
};

/**
 * The chat notice for a connection-scoped error `{code, message, retryAfterMs, receivedAt}`:
 * the server's words, what happened to the message, and when to try again (a time that stays
 * right however long the notice is shown, e.g. "You can send it again in 12 s, at 09:12:16.").
 */
export function noticeText(notice, formatTime = defaultTime) {
  if (!notice) return "";
  if (notice.keptMessage) return KEPT_TEXT;
  const parts = [notice.message || "The server refused the last request."];
  const refused = notice.refusedMessage ? NOT_SENT[notice.code] : null;
  if (refused) parts.push(refused);
  if (notice.retryAfterMs !== null && notice.retryAfterMs !== undefined) {
    const at = notice.receivedAt === null || notice.receivedAt === undefined ? "" : `, at ${formatTime(notice.receivedAt + notice.retryAfterMs)}`;
    parts.push(`You can ${refused ? "send it" : "try"} again in ${waitText(notice.retryAfterMs)}${at}.`);
  }
  return parts.join(" ");
}

function defaultTime(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** What a queued turn's status line says: position 1 is next. */
export function queuedText(position) {
  if (typeof position !== "number" || !Number.isFinite(position) || position < 1) return "Waiting for a free slot on the server.";
  if (position === 1) return "Waiting for a free slot on the server: your turn is next.";
  return `Waiting for a free slot on the server: ${Math.floor(position) - 1} ahead of yours.`;
}
