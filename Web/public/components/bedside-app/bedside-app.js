// <bedside-app>: the page. Owns the session (its id is in the URL, so a link opens the same
// conversation in another tab), the connection and the state; hands the parts of the state
// down to the other elements and takes their events up.
import { Connection, newId } from "../../lib/connection.js";
import { html, render } from "../../lib/html.js";
import { initialState, reduce } from "../../lib/reducer.js";

const SESSION_PARAM = "session";
const VALID_SESSION = /^[A-Za-z0-9_-]{8,128}$/;

function sessionFromURL() {
  const id = new URL(location.href).searchParams.get(SESSION_PARAM);
  return id && VALID_SESSION.test(id) ? id : null;
}

function socketBase() {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}`;
}

export class BedsideApp extends HTMLElement {
  #state = initialState();
  #connection = null;
  #frame = 0;
  #liveFrom = Infinity; // seqs above this arrived live (not replayed): their turn boundaries are announced

  connectedCallback() {
    render(this, html`<header class="app-header">
  <h1>Bedside</h1>
  <connection-status></connection-status>
  <div class="session">
    <span class="session-label">Session <code class="session-id"></code></span>
    <button type="button" class="new-chat">New chat</button>
  </div>
</header>
<main class="layout">
  <section class="chat" aria-labelledby="chat-heading">
    <h2 id="chat-heading" class="visually-hidden">Conversation</h2>
    <p class="notice" hidden></p>
    <chat-view></chat-view>
    <chat-composer></chat-composer>
  </section>
  <aside class="telemetry" aria-labelledby="telemetry-heading">
    <telemetry-panel></telemetry-panel>
  </aside>
  <div class="visually-hidden" role="status" aria-live="polite" id="turn-announcer"></div>
</main>`);
    this.querySelector(".new-chat").addEventListener("click", () => this.#newChat());
    this.addEventListener("compose-send", (event) => this.#send(event.detail.content));
    this.addEventListener("compose-stop", () => this.#connection?.cancel());
    this.addEventListener("retry-now", () => this.#connection?.retryNow());
    window.addEventListener("online", () => this.#connection?.retryNow());
    window.addEventListener("popstate", () => this.#open(sessionFromURL() ?? newId()));
    this.#loadConfig();
    this.#open(sessionFromURL() ?? newId(), true);
  }

  async #loadConfig() {
    try {
      const response = await fetch("/config.json", { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const config = await response.json();
      if (typeof config.trace_url === "string") this.querySelector("telemetry-panel").traceURL = config.trace_url;
    } catch {
      // no trace links then
    }
  }

  #open(sessionId, replaceURL = false) {
    this.#connection?.close();
    const url = new URL(location.href);
    if (url.searchParams.get(SESSION_PARAM) !== sessionId) {
      url.searchParams.set(SESSION_PARAM, sessionId);
      if (replaceURL) history.replaceState(null, "", url);
      else history.pushState(null, "", url);
    }
    this.#state = initialState(sessionId);
    this.#liveFrom = Infinity;
    this.querySelector(".session-id").textContent = sessionId;
    this.dataset.sessionId = sessionId;
    this.#connection = new Connection({
      url: socketBase(),
      sessionId,
      onEvent: (event) => this.#receive(event),
      onStatus: (status) => {
        this.querySelector("connection-status").status = status;
      },
    });
    this.#connection.start();
    this.#schedule();
  }

  #newChat() {
    this.#open(newId());
    this.querySelector("chat-composer").focus();
  }

  #send(content) {
    const id = this.#connection.send(content);
    if (!id) return;
    this.#apply({ type: "client/pending", client_message_id: id, content });
  }

  #receive(event) {
    if (event.type === "connection") {
      // Everything up to the session's newest seq is history being replayed.
      this.#liveFrom = Math.max(event.latest_seq ?? 0, this.#state.lastSeq);
    }
    if (event.type === "error" && event.code === "busy") {
      const pending = this.#state.pending.at(-1);
      if (pending) this.querySelector("chat-composer").restore(pending.content);
    }
    if (event.type === "turn" && typeof event.seq === "number" && event.seq > this.#liveFrom && event.seq > this.#state.lastSeq) {
      this.#announce(event);
    }
    this.#apply(event);
  }

  #announce(event) {
    const messages = {
      started: "Bedside is answering.",
      completed: "Answer complete.",
      cancelled: "Answer stopped.",
      failed: "The answer failed.",
    };
    const text = messages[event.status];
    if (text) this.querySelector("#turn-announcer").textContent = text;
  }

  #apply(event) {
    const next = reduce(this.#state, event);
    if (next === this.#state) return;
    this.#state = next;
    this.#schedule();
  }

  // One render per animation frame, however many events arrived in it.
  #schedule() {
    if (this.#frame) return;
    const run = () => {
      this.#frame = 0;
      this.#render();
    };
    // A hidden tab gets no animation frames; it still keeps up, for when it is shown again.
    this.#frame = document.hidden ? setTimeout(run, 50) : requestAnimationFrame(run);
  }

  #render() {
    const state = this.#state;
    this.querySelector("chat-view").conversation = state;
    this.querySelector("telemetry-panel").state = state;
    const busy = state.runningTurnId !== null;
    this.querySelector("chat-composer").state = { busy, canSend: state.pending.length === 0 };
    this.dataset.busy = String(busy);
    const notice = this.querySelector(".notice");
    notice.hidden = !state.notice || state.notice.code === "resume_gap";
    notice.textContent = state.notice ? state.notice.message : "";
  }
}

export function registerBedsideApp() {
  if (!customElements.get("bedside-app")) customElements.define("bedside-app", BedsideApp);
}
