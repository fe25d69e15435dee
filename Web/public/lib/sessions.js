// The caller's conversations for the sidebar, without the DOM: summaries from `GET /sessions`
// pages and from the live channel `GET /sessions/updates`, merged into one list, newest
// activity first. Also the URLs of the session routes (list, rename, delete, export, audit).
//
// `reduceList(state, action)` returns a new state and never changes the one it is given.
// Actions:
//   {type: "load"}                          the first page is being (re)fetched
//   {type: "loaded", page}                  it arrived: {sessions: [...], next}
//   {type: "load_failed", error}
//   {type: "more"}, {type: "more_loaded", page}, {type: "more_failed", error}   "Load more"
//   {type: "session", summary}              created, renamed, new activity, turn status
//   {type: "session_deleted", id}

export const PAGE_SIZE = 50;
export const UPDATES_PATH = "/sessions/updates";
export const TITLE_MAX = 200;

const VALID_ID = /^[A-Za-z0-9_-]{1,128}$/;
const TOMBSTONES_KEPT = 500;
const STATUSES = new Set(["started", "completed", "cancelled", "failed"]);

/** The empty list, before anything was fetched. */
export function initialList() {
  return {
    items: [], // summaries, sorted: newest activity first
    next: null, // cursor of the next page, null when everything is loaded
    status: "idle", // "idle" | "loading" | "ready" | "error" (of the first page)
    loadingMore: false,
    error: null, // the last failure's message
    tombstones: [], // ids deleted while pages may still be on their way
    touched: null, // while the first page loads: id → summary | null (deleted) seen live meanwhile
  };
}

function time(value) {
  if (typeof value !== "string") return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : t;
}

/** A server summary → {id, title, created, lastActivity, activityTime, turnCount, lastTurnStatus}; null when it has no valid id. */
export function normalizeSummary(raw) {
  if (!raw || typeof raw !== "object" || typeof raw.id !== "string" || !VALID_ID.test(raw.id)) return null;
  const created = typeof raw.created === "string" ? raw.created : null;
  const lastActivity = typeof raw.last_activity === "string" ? raw.last_activity : created;
  return {
    id: raw.id,
    title: typeof raw.title === "string" ? raw.title : "",
    created,
    lastActivity,
    activityTime: time(lastActivity) ?? time(created) ?? 0,
    turnCount: Number.isInteger(raw.turn_count) && raw.turn_count >= 0 ? raw.turn_count : 0,
    lastTurnStatus: STATUSES.has(raw.last_turn_status) ? raw.last_turn_status : null,
  };
}

/** Newest activity first; equal times by id, so the order never flickers. */
export function compareSessions(a, b) {
  if (a.activityTime !== b.activityTime) return b.activityTime - a.activityTime;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function sorted(items) {
  return [...items].sort(compareSessions);
}

function pageItems(page) {
  const list = Array.isArray(page?.sessions) ? page.sessions : [];
  const seen = new Set();
  const items = [];
  for (const raw of list) {
    const summary = normalizeSummary(raw);
    if (!summary || seen.has(summary.id)) continue;
    seen.add(summary.id);
    items.push(summary);
  }
  return items;
}

function cursor(page) {
  return typeof page?.next === "string" && page.next ? page.next : null;
}

/**
 * Whether a session that is not in the list belongs in it: everything does when the whole
 * list is loaded; otherwise only what is newer than the oldest loaded one (the rest comes
 * with "Load more", in its place).
 */
function inLoadedRange(items, next, summary) {
  if (next === null || items.length === 0) return true;
  return compareSessions(summary, items.at(-1)) < 0;
}

function upsert(state, summary) {
  const index = state.items.findIndex((s) => s.id === summary.id);
  let items;
  if (index >= 0) items = sorted(state.items.map((s, i) => (i === index ? summary : s)));
  else if (inLoadedRange(state.items, state.next, summary)) items = sorted([...state.items, summary]);
  else items = state.items;
  const tombstones = state.tombstones.includes(summary.id) ? state.tombstones.filter((id) => id !== summary.id) : state.tombstones;
  return { ...state, items, tombstones };
}

function remove(state, id) {
  const items = state.items.filter((s) => s.id !== id);
  const tombstones = state.tombstones.includes(id) ? state.tombstones : [...state.tombstones, id].slice(-TOMBSTONES_KEPT);
  return { ...state, items, tombstones };
}

function touch(state, id, summary) {
  if (!state.touched) return state;
  return { ...state, touched: { ...state.touched, [id]: summary } };
}

/** Applies one action (see the top of this file). */
export function reduceList(state, action) {
  switch (action?.type) {
    case "load":
      return { ...state, status: "loading", loadingMore: false, error: null, touched: state.touched ?? {} };
    case "loaded": {
      // The fresh first page replaces the list (pages loaded after it start over); what
      // arrived live while it was on its way is newer than it, or as new, and wins.
      let next = { ...state, items: sorted(pageItems(action.page)), next: cursor(action.page), status: "ready", error: null, touched: null, tombstones: [] };
      for (const [id, summary] of Object.entries(state.touched ?? {})) next = summary ? upsert(next, summary) : remove(next, id);
      return next;
    }
    case "load_failed":
      return { ...state, status: "error", error: String(action.error ?? "failed"), touched: null };
    case "more":
      return state.next === null || state.loadingMore ? state : { ...state, loadingMore: true, error: null };
    case "more_loaded": {
      // Older pages are older than what the list knows: an entry it has already (moved up by a
      // live update) and one deleted meanwhile stay as they are.
      const known = new Set(state.items.map((s) => s.id));
      const fresh = pageItems(action.page).filter((s) => !known.has(s.id) && !state.tombstones.includes(s.id));
      return { ...state, items: sorted([...state.items, ...fresh]), next: cursor(action.page), loadingMore: false, error: null };
    }
    case "more_failed":
      return { ...state, loadingMore: false, error: String(action.error ?? "failed") };
    case "session": {
      const summary = normalizeSummary(action.summary);
      if (!summary) return state;
      return touch(upsert(state, summary), summary.id, summary);
    }
    case "session_deleted": {
      const id = action.id;
      if (typeof id !== "string" || !VALID_ID.test(id)) return state;
      return touch(remove(state, id), id, null);
    }
    default:
      return state;
  }
}

/** What the list shows as a conversation's name: its title, or a stand-in when it has none. */
export function displayTitle(summary) {
  const title = (summary?.title ?? "").trim();
  return title || "Untitled conversation";
}

/** A title the server takes for a rename (1–200 characters after trimming), or null. */
export function validTitle(text) {
  const title = typeof text === "string" ? text.trim() : "";
  return title.length >= 1 && [...title].length <= TITLE_MAX ? title : null;
}

const STATUS_LABELS = { started: "Answering", completed: "Completed", cancelled: "Stopped", failed: "Failed" };

/** The last turn's status in words ("Completed", "Stopped", …), or "" when there was no turn. */
export function turnStatusLabel(status) {
  return STATUS_LABELS[status] ?? "";
}

function encoded(id) {
  if (typeof id !== "string" || !VALID_ID.test(id)) throw new TypeError(`not a session id: ${id}`);
  return encodeURIComponent(id);
}

/** `GET /sessions?limit=…[&before=…]`. */
export function sessionsPath({ limit = PAGE_SIZE, before = null } = {}) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (before) query.set("before", before);
  return `/sessions?${query}`;
}

/** `/sessions/{id}`: PATCH to rename, DELETE to delete. */
export function sessionPath(id) {
  return `/sessions/${encoded(id)}`;
}

/** `/sessions/{id}/audit`: the access audit of the conversation. */
export function auditPath(id) {
  return `${sessionPath(id)}/audit`;
}

const EXPORTS = {
  markdown: { extension: "md", label: "Markdown" },
  json: { extension: "json", label: "JSON" },
};

/** The export link of a conversation: {href, filename, label} for "markdown" or "json". */
export function exportLink(id, format) {
  const kind = EXPORTS[format];
  if (!kind) throw new TypeError(`unknown export format: ${format}`);
  return { href: `${sessionPath(id)}/export?format=${format}`, filename: `bedside-${id}.${kind.extension}`, label: kind.label };
}

/** The page URL of a conversation (`/?session=…`, keeping the page's other query parameters). */
export function conversationHref(id, here) {
  const url = new URL(String(here));
  url.searchParams.set("session", id);
  url.hash = "";
  return `${url.pathname}${url.search}`;
}
