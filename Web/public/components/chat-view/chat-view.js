// <chat-view>: the conversation. User messages as typed, the assistant's replies as safe
// Markdown growing while they stream (aria-busy meanwhile), errors as notes; under the message
// of a turn that waits for a free slot on the server, how far it is from the front
// (#turn-queued-status). It is not a live region: the app announces turn boundaries and the
// wait, never tokens.
import { queuedText } from "../../lib/errors.js";
import { html, render } from "../../lib/html.js";
import { renderMarkdown } from "../../lib/markdown.js";

function messageMarkup(message) {
  if (message.role === "assistant") {
    return html`<h3 class="visually-hidden">Bedside</h3><div class="bubble markdown">${renderMarkdown(message.content)}${
      message.streaming ? html`<span class="caret" aria-hidden="true"></span>` : ""
    }</div>${message.cancelled ? html`<p class="meta">Stopped.</p>` : ""}`;
  }
  if (message.role === "error") {
    return html`<div class="bubble"><strong>Could not answer:</strong> ${message.content}${message.code ? html` <span class="code">(${message.code})</span>` : ""}</div>`;
  }
  const waiting = message.queuedPosition === undefined ? "" : html`<p class="meta queued" id="turn-queued-status">${queuedText(message.queuedPosition)}</p>`;
  return html`<h3 class="visually-hidden">You</h3><div class="bubble">${message.content}</div>${message.pending ? html`<p class="meta">Sending…</p>` : ""}${waiting}`;
}

export class ChatView extends HTMLElement {
  #list = null;
  #items = new Map(); // key → {message, element}
  #waitingFor = null; // {message, position, shown}: the same object while nothing changed, so it is not rendered again

  connectedCallback() {
    if (this.#list) return;
    render(this, html`<ol class="messages" aria-label="Messages"></ol><p class="empty">Ask about a patient, for example “What conditions does Maria Garcia have?”</p>`);
    this.#list = this.querySelector("ol");
  }

  /** {messages, pending, queued} from the app's state. */
  set conversation({ messages, pending, queued = null }) {
    if (!this.#list) this.connectedCallback();
    const shown = [
      ...messages.map((m) => (queued && m.role === "user" && m.turnId === queued.turnId ? this.#waiting(m, queued.position) : m)),
      ...pending.map((p) => ({ key: `p-${p.clientMessageId}`, role: "user", content: p.content, pending: true })),
    ];
    const nearBottom = this.scrollHeight - this.scrollTop - this.clientHeight < 80;
    const keep = new Set(shown.map((m) => m.key));
    for (const [key, item] of this.#items) {
      if (!keep.has(key)) {
        item.element.remove();
        this.#items.delete(key);
      }
    }
    let streaming = false;
    let previous = null;
    for (const message of shown) {
      let item = this.#items.get(message.key);
      if (!item) {
        const element = document.createElement("li");
        item = { message: null, element };
        this.#items.set(message.key, item);
      }
      if (item.message !== message) {
        item.message = message;
        const element = item.element;
        element.className = `message ${message.role}${message.pending ? " pending" : ""}`;
        element.dataset.seq = message.seq ?? "";
        if (message.streaming) element.setAttribute("aria-busy", "true");
        else element.removeAttribute("aria-busy");
        render(element, messageMarkup(message));
      }
      streaming ||= message.streaming === true;
      // keep DOM order equal to state order
      const expectedNext = previous ? previous.nextSibling : this.#list.firstChild;
      if (expectedNext !== item.element) this.#list.insertBefore(item.element, expectedNext);
      previous = item.element;
    }
    this.#list.setAttribute("aria-busy", String(streaming));
    this.querySelector(".empty").hidden = shown.length > 0;
    if (nearBottom) this.scrollTop = this.scrollHeight;
  }

  /** The user message of the queued turn with its place in the queue. */
  #waiting(message, position) {
    const last = this.#waitingFor;
    if (last && last.message === message && last.position === position) return last.shown;
    const shown = { ...message, queuedPosition: position };
    this.#waitingFor = { message, position, shown };
    return shown;
  }
}

export function registerChatView() {
  if (!customElements.get("chat-view")) customElements.define("chat-view", ChatView);
}
