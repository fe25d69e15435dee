// <session-sidebar>: the caller's conversations, newest activity first, kept live by the
// /sessions/updates channel. Each row links to its conversation (`?session=`), shows when it
// was last active and how its last turn ended, and can be renamed in place (Enter saves,
// Escape cancels) or deleted after a confirmation dialog.
//
// Keyboard: the list is one stop in the tab order (the current conversation's row, or the
// first); the arrow keys, Home and End move between rows, and Tab from a row's link reaches
// its Rename and Delete buttons.
//
// Events up (bubbling): session-open {id}, session-deleting {id}, session-deleted {id},
// session-delete-failed {id}, session-removed {id} (deleted elsewhere), auth-lost (a call got
// 401), updates-lost (the live channel gave up).
import { html, render } from "../../lib/html.js";
import { absoluteTime, relativeTime } from "../../lib/relative-time.js";
import { SessionUpdates } from "../../lib/session-updates.js";
import { TITLE_MAX, conversationHref, displayTitle, initialList, reduceList, turnStatusLabel, validTitle } from "../../lib/sessions.js";

const READY_WAIT_MS = 1500; // without the channel's `ready` by then, the list is fetched anyway
const TICK_MS = 30_000; // relative times are refreshed this often

function emit(element, type, detail = {}) {
  element.dispatchEvent(new CustomEvent(type, { bubbles: true, detail }));
}

export class SessionSidebar extends HTMLElement {
  #api = null;
  #list = initialList();
  #current = null;
  #updates = null;
  #generation = 0; // counts first-page loads: an answer of an older one is dropped
  #rows = new Map(); // id → {summary, element, current}
  #focusId = null; // the row that holds the list's tab stop
  #editing = null; // {id, saving}
  #deleteId = null; // the conversation the dialog asks about
  #message = ""; // the outcome of the last action, for the status line
  #readyTimer = null;
  #ticker = null;

  connectedCallback() {
    if (this.querySelector("nav")) return;
    render(this, html`<nav class="sessions" aria-labelledby="sessions-heading">
  <h2 id="sessions-heading" tabindex="-1">Conversations</h2>
  <p id="session-list-help" class="visually-hidden">Up and down arrow keys move between conversations; Tab reaches Rename and Delete.</p>
  <p class="sessions-status" id="sessions-status" role="status"></p>
  <ul class="session-list" id="session-list"></ul>
  <button type="button" class="sessions-more secondary" id="sessions-load-more" hidden>Load more</button>
  <button type="button" class="sessions-retry secondary" id="sessions-retry" hidden>Try again</button>
</nav>
<dialog class="confirm-dialog" id="delete-dialog" aria-labelledby="delete-dialog-title" aria-describedby="delete-dialog-text">
  <h2 id="delete-dialog-title">Delete this conversation?</h2>
  <p id="delete-dialog-text"></p>
  <form method="dialog" class="dialog-actions">
    <button type="submit" value="cancel" id="delete-cancel" class="secondary">Cancel</button>
    <button type="submit" value="delete" id="delete-confirm" class="danger">Delete</button>
  </form>
</dialog>`);
    const list = this.querySelector(".session-list");
    list.addEventListener("click", (event) => this.#click(event));
    list.addEventListener("keydown", (event) => this.#keydown(event));
    list.addEventListener("focusin", (event) => {
      const row = event.target.closest(".session-item");
      if (row && row.dataset.sessionId !== this.#focusId) {
        this.#focusId = row.dataset.sessionId;
        this.#updateTabStops();
      }
    });
    list.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#saveRename({ refocus: true });
    });
    list.addEventListener("focusout", (event) => {
      if (event.target.classList.contains("session-rename-input")) this.#saveRename({ refocus: false });
    });
    this.querySelector(".sessions-more").addEventListener("click", () => this.#loadMore());
    this.querySelector(".sessions-retry").addEventListener("click", () => this.#load());
    const dialog = this.querySelector("dialog");
    dialog.addEventListener("close", () => this.#dialogClosed(dialog.returnValue));
    this.#render();
  }

  disconnectedCallback() {
    this.stop();
  }

  /** Starts listing the caller's conversations through `api` (lib/api.js), live from then on. */
  start(api) {
    if (!this.querySelector("nav")) this.connectedCallback();
    this.stop();
    this.#api = api;
    this.#list = initialList();
    this.#message = "";
    this.#updates = new SessionUpdates({
      onReady: () => this.#load(),
      onSession: (summary) => this.#apply({ type: "session", summary }),
      onDeleted: (id) => {
        this.#apply({ type: "session_deleted", id });
        emit(this, "session-removed", { id });
      },
      onLost: () => emit(this, "updates-lost"),
    });
    if (this.#updates.supported) {
      this.#updates.start();
      this.#readyTimer = setTimeout(() => {
        this.#readyTimer = null;
        if (this.#list.status === "idle") this.#load();
      }, READY_WAIT_MS);
    } else {
      this.#load();
    }
    this.#ticker = setInterval(() => this.#refreshTimes(), TICK_MS);
    this.#render();
  }

  /** Stops the live channel (signed out); the list stays as it was until the next start. */
  stop() {
    this.#updates?.stop();
    this.#updates = null;
    this.#generation += 1;
    clearTimeout(this.#readyTimer);
    clearInterval(this.#ticker);
    this.#readyTimer = this.#ticker = null;
  }

  /** The conversation the page shows: marked with aria-current. */
  set current(id) {
    this.#current = id;
    if (!this.#rows.has(this.#focusId)) this.#focusId = null;
    this.#render();
  }

  get current() {
    return this.#current;
  }

  // Data

  #apply(action) {
    const next = reduceList(this.#list, action);
    if (next === this.#list) return;
    this.#list = next;
    this.#render();
  }

  #failed(error, what) {
    if (error?.unauthenticated) emit(this, "auth-lost");
    this.#message = `${what}: ${error?.message ?? error}`;
  }

  async #load() {
    if (!this.#api) return;
    clearTimeout(this.#readyTimer);
    this.#readyTimer = null;
    const generation = ++this.#generation;
    this.#apply({ type: "load" });
    try {
      const page = await this.#api.listSessions();
      if (generation !== this.#generation) return;
      this.#apply({ type: "loaded", page });
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#failed(error, "The conversations could not be loaded");
      this.#apply({ type: "load_failed", error: error?.message ?? error });
      this.#render();
    }
  }

  async #loadMore() {
    const before = this.#list.next;
    if (!this.#api || !before || this.#list.loadingMore) return;
    const generation = this.#generation;
    const known = new Set(this.#list.items.map((s) => s.id));
    const button = this.querySelector(".sessions-more");
    this.#apply({ type: "more" });
    try {
      const page = await this.#api.listSessions({ before });
      if (generation !== this.#generation) return;
      this.#apply({ type: "more_loaded", page });
      // The button goes away with the last page: focus the first of the rows it brought.
      const active = document.activeElement;
      if (this.#list.next === null && (active === button || active === document.body)) {
        const first = this.#list.items.find((s) => !known.has(s.id));
        if (first) this.#focusRow(first.id);
        else this.querySelector("#sessions-heading").focus();
      }
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#failed(error, "More conversations could not be loaded");
      this.#apply({ type: "more_failed", error: error?.message ?? error });
      this.#render();
    }
  }

  // Rename

  #startRename(id) {
    if (this.#editing) return;
    this.#editing = { id, saving: false };
    this.#message = "";
    this.#render();
    const input = this.querySelector(".session-rename-input");
    input?.focus();
    input?.select();
  }

  #cancelRename({ refocus }) {
    const id = this.#editing?.id;
    if (!id || this.#editing.saving) return;
    this.#editing = null;
    this.#render();
    if (refocus) this.#focusRow(id, ".session-rename");
  }

  async #saveRename({ refocus }) {
    const editing = this.#editing;
    if (!editing || editing.saving) return;
    const input = this.querySelector(".session-rename-input");
    const summary = this.#rows.get(editing.id)?.summary;
    const title = validTitle(input?.value ?? "");
    if (!title || !summary || title === summary.title) {
      this.#cancelRename({ refocus });
      return;
    }
    editing.saving = true;
    input.readOnly = true;
    input.setAttribute("aria-busy", "true");
    try {
      const updated = await this.#api.renameSession(editing.id, title);
      this.#editing = null;
      this.#message = `Renamed to “${title}”.`;
      this.#apply({ type: "session", summary: updated });
      this.#render();
      if (refocus || document.activeElement === document.body) this.#focusRow(editing.id, ".session-rename");
    } catch (error) {
      editing.saving = false;
      input.readOnly = false;
      input.removeAttribute("aria-busy");
      this.#failed(error, "The conversation could not be renamed");
      if (!this.#rows.has(editing.id) || error?.status === 404) this.#editing = null;
      this.#render();
      const again = this.querySelector(".session-rename-input");
      if (again && refocus) again.focus();
    }
  }

  // Delete

  #askDelete(id) {
    const summary = this.#rows.get(id)?.summary;
    const dialog = this.querySelector("dialog");
    if (!summary || dialog.open) return;
    this.#deleteId = id;
    this.querySelector("#delete-dialog-text").textContent =
      `“${displayTitle(summary)}” will be deleted with its messages and telemetry. The record of which patient data it read is kept.`;
    dialog.returnValue = "";
    dialog.showModal();
    this.querySelector("#delete-cancel").focus(); // the safe choice first
  }

  #dialogClosed(choice) {
    const id = this.#deleteId;
    this.#deleteId = null;
    if (!id) return;
    if (choice === "delete") this.#delete(id);
    else this.#focusRow(id, ".session-delete");
  }

  async #delete(id) {
    const order = this.#list.items.map((s) => s.id);
    const index = order.indexOf(id);
    const title = displayTitle(this.#rows.get(id)?.summary);
    emit(this, "session-deleting", { id, current: id === this.#current });
    try {
      await this.#api.deleteSession(id);
    } catch (error) {
      this.#failed(error, `“${title}” could not be deleted`);
      this.#render();
      this.#focusRow(id, ".session-delete");
      emit(this, "session-delete-failed", { id });
      return;
    }
    this.#message = `Deleted “${title}”.`;
    this.#apply({ type: "session_deleted", id });
    this.#render();
    // Focus goes to the row that took its place, else the one above, else the list's heading.
    const next = order[index + 1] ?? order[index - 1];
    if (next && this.#rows.has(next)) this.#focusRow(next);
    else this.querySelector("#sessions-heading").focus();
    emit(this, "session-deleted", { id, current: id === this.#current });
  }

  // Keyboard and pointer

  #click(event) {
    const row = event.target.closest(".session-item");
    if (!row) return;
    const id = row.dataset.sessionId;
    if (event.target.closest(".session-rename")) this.#startRename(id);
    else if (event.target.closest(".session-delete")) this.#askDelete(id);
    else if (event.target.closest(".session-link")) {
      // A plain click switches in place; a modified one (new tab, window) is the browser's.
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      emit(this, "session-open", { id });
    }
  }

  #keydown(event) {
    if (event.target.classList.contains("session-rename-input")) {
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        this.#cancelRename({ refocus: true });
      }
      return;
    }
    const ids = [...this.#rows.keys()];
    const row = event.target.closest(".session-item");
    if (!row || ids.length === 0) return;
    const index = ids.indexOf(row.dataset.sessionId);
    const target = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: ids.length - 1 }[event.key];
    if (target === undefined) {
      if (event.key === "F2") {
        event.preventDefault();
        this.#startRename(row.dataset.sessionId);
      }
      return;
    }
    event.preventDefault();
    const id = ids[Math.max(0, Math.min(ids.length - 1, target))];
    this.#focusRow(id);
  }

  #focusRow(id, part = ".session-link") {
    const row = this.#rows.get(id);
    if (!row) return;
    this.#focusId = id;
    this.#updateTabStops();
    (row.element.querySelector(part) ?? row.element.querySelector(".session-link"))?.focus();
  }

  /** Only the focus row's link and buttons are in the tab order. */
  #updateTabStops() {
    const ids = [...this.#rows.keys()];
    const stop = this.#rows.has(this.#focusId) ? this.#focusId : this.#rows.has(this.#current) ? this.#current : ids[0];
    for (const [id, row] of this.#rows) {
      const tabindex = id === stop ? "0" : "-1";
      for (const control of row.element.querySelectorAll("a, button")) control.setAttribute("tabindex", tabindex);
    }
  }

  // View

  #rowMarkup(summary, current) {
    const title = displayTitle(summary);
    if (this.#editing?.id === summary.id) {
      return html`<form class="session-rename-form">
  <label for="rename-input" class="visually-hidden">New title for ${title}</label>
  <input id="rename-input" class="session-rename-input" type="text" value="${summary.title || ""}" maxlength="${TITLE_MAX}" required autocomplete="off" aria-describedby="rename-help">
  <p id="rename-help" class="meta">Enter saves, Escape cancels.</p>
</form>`;
    }
    const status = turnStatusLabel(summary.lastTurnStatus);
    const when = relativeTime(summary.lastActivity);
    return html`<a class="session-link" href="${conversationHref(summary.id, location.href)}" ${current ? html`aria-current="page"` : ""} aria-describedby="session-list-help">
  <span class="session-title">${title}</span>
  <span class="session-meta"><time datetime="${summary.lastActivity ?? ""}" title="${absoluteTime(summary.lastActivity)}">${when}</time>${
    status ? html`<span class="session-turn status-${summary.lastTurnStatus}"> · ${status}</span>` : ""
  }</span>
</a>
<div class="session-actions">
  <button type="button" class="session-rename secondary small" aria-label="Rename ${title}">Rename</button>
  <button type="button" class="session-delete secondary small" aria-label="Delete ${title}">Delete</button>
</div>`;
  }

  #render() {
    const list = this.querySelector(".session-list");
    if (!list) return;
    const focused = this.#focusedPart();
    const items = this.#list.items;
    const keep = new Set(items.map((s) => s.id));
    for (const [id, row] of this.#rows) {
      if (!keep.has(id)) {
        row.element.remove();
        this.#rows.delete(id);
      }
    }
    const rows = new Map();
    let previous = null;
    for (const summary of items) {
      const current = summary.id === this.#current;
      const editing = this.#editing?.id === summary.id;
      let row = this.#rows.get(summary.id);
      if (!row) {
        row = { summary: null, element: document.createElement("li"), current: null, editing: null };
        row.element.className = "session-item";
        row.element.dataset.sessionId = summary.id;
      }
      // A row being renamed keeps its input (and what is typed in it) through live updates.
      if (row.editing !== editing || (!editing && (row.summary !== summary || row.current !== current))) {
        render(row.element, this.#rowMarkup(summary, current));
        row.element.classList.toggle("is-current", current);
        row.element.classList.toggle("is-editing", editing);
      }
      row.summary = summary;
      row.current = current;
      row.editing = editing;
      rows.set(summary.id, row);
      // The row holding the focus (a link, the rename field) stays put and the others move
      // around it: moving it would take its focus away (and end a rename).
      const expected = previous ? previous.nextSibling : list.firstChild;
      if (expected !== row.element && !row.element.contains(document.activeElement)) list.insertBefore(row.element, expected);
      previous = row.element;
    }
    this.#rows = rows;
    this.#updateTabStops();
    if (focused && !this.contains(document.activeElement)) this.#focusRow(focused.id, focused.part);

    const { status, next, loadingMore, error } = this.#list;
    let line = this.#message;
    if (status === "loading" && items.length === 0) line = "Loading conversations…";
    else if (status === "error") line = this.#message || `The conversations could not be loaded: ${error}`;
    else if (status === "ready" && items.length === 0 && !line) line = "No conversations yet.";
    const statusLine = this.querySelector(".sessions-status");
    if (statusLine.textContent !== line) statusLine.textContent = line;
    statusLine.hidden = !line;
    const more = this.querySelector(".sessions-more");
    more.hidden = next === null || status !== "ready";
    more.setAttribute("aria-disabled", String(loadingMore)); // not disabled: that would take its focus away
    more.textContent = loadingMore ? "Loading…" : "Load more";
    this.querySelector(".sessions-retry").hidden = status !== "error";
  }

  /** Which row part has focus, so a re-render can give it back: {id, part} or null. */
  #focusedPart() {
    const active = document.activeElement;
    const row = active?.closest?.(".session-item");
    if (!row || !this.contains(row)) return null;
    const part = [".session-link", ".session-rename", ".session-delete", ".session-rename-input"].find((p) => active.matches(p));
    return part ? { id: row.dataset.sessionId, part } : null;
  }

  #refreshTimes() {
    for (const row of this.#rows.values()) {
      const time = row.element.querySelector("time");
      if (time) time.textContent = relativeTime(row.summary.lastActivity);
    }
  }
}

export function registerSessionSidebar() {
  if (!customElements.get("session-sidebar")) customElements.define("session-sidebar", SessionSidebar);
}
