// <bedside-app>: the page. Owns the session (its id is in the URL, so a link opens the same
// conversation in another tab), the connection and the state; hands the parts of the state
// down to the other elements and takes their events up.
//
// With auth on (config.json's `auth.modes` other than "none") it first asks /auth/me: signed
// out, it shows the signed-out view with a Sign-in link back to the same URL instead of
// opening the socket; signed in, the header shows the user and a Sign-out button. When the
// server ends the socket with 4401 it asks /auth/me again before anything else; with 4404 it
// says the conversation was deleted and offers a new one. A principal whose roles may not chat
// (an auditor, an importer) gets a page that says so instead of a socket the server refuses.
//
// A message the server refused (busy, too_many_turns, rate_limited) goes back into the message
// box, and the chat notice (#chat-notice, a status region) says why and when to send it again.
// A turn waiting for a free slot (`queued`) counts as under way: Stop cancels it.
import { Api } from "../../lib/api.js";
import { authFromConfig, canChat, principalFromMe, safeLogoutURL, signInHref } from "../../lib/auth.js";
import { closeNotice } from "../../lib/close-codes.js";
import { Connection, newId } from "../../lib/connection.js";
import { REFUSING_CODES, noticeText, queuedText } from "../../lib/errors.js";
import { html, render } from "../../lib/html.js";
import { initialState, reduce, turnActive } from "../../lib/reducer.js";

const SESSION_PARAM = "session";
const VALID_SESSION = /^[A-Za-z0-9_-]{8,128}$/;
const NARROW = "(max-width: 800px)";
const AUTH_RESUME_GAP_MS = 30_000; // a second 4401 sooner than this after resuming on /auth/me's word means signed out
const UNSENT_PREFIX = "bedside.unsent.";

function sessionFromURL() {
  const id = new URL(location.href).searchParams.get(SESSION_PARAM);
  return id && VALID_SESSION.test(id) ? id : null;
}

function socketBase() {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}`;
}

/** sessionStorage, where a browser allows it: the message kept over a sign-in. */
const unsentStore = {
  take(sessionId, principalKey) {
    try {
      const text = sessionStorage.getItem(UNSENT_PREFIX + sessionId);
      sessionStorage.removeItem(UNSENT_PREFIX + sessionId);
      const kept = text ? JSON.parse(text) : null;
      // Only for the same person: another one signing in here does not send it.
      return kept && kept.principal === principalKey ? kept : null;
    } catch {
      return null;
    }
  },
  put(sessionId, principalKey, frame) {
    try {
      const kept = { content: frame.content, client_message_id: frame.client_message_id, principal: principalKey };
      sessionStorage.setItem(UNSENT_PREFIX + sessionId, JSON.stringify(kept));
    } catch {
      // not kept then
    }
  },
  drop(sessionId) {
    try {
      sessionStorage.removeItem(UNSENT_PREFIX + sessionId);
    } catch {
      // nothing kept
    }
  },
};

export class BedsideApp extends HTMLElement {
  #state = initialState();
  #connection = null;
  #frame = 0;
  #liveFrom = Infinity; // seqs above this arrived live (not replayed): their turn boundaries are announced
  #api = new Api();
  #auth = authFromConfig(null);
  #principal = null; // {key, name, …} when auth is on and the user is signed in
  #signedOut = false; // the signed-out view is shown
  #signingOut = false;
  #checkingAuth = null; // the /auth/me request in flight
  #lastAuthResume = -Infinity;
  #deleting = new Set(); // ids this page is deleting (their 4404 is expected)
  #deleted = false; // the shown conversation was deleted elsewhere
  #restored = null; // {clientMessageId, content}: the refused message put back into the box
  #narrow = matchMedia(NARROW);

  connectedCallback() {
    render(this, html`<header class="app-header">
  <button type="button" class="sidebar-toggle secondary" id="sidebar-toggle" aria-controls="session-sidebar" aria-expanded="false">Conversations</button>
  <h1>Bedside</h1>
  <connection-status></connection-status>
  <div class="session">
    <span class="session-label">Session <code class="session-id"></code></span>
    <button type="button" class="new-chat">New chat</button>
  </div>
  <div class="account" id="account" hidden>
    <span class="account-label">Signed in as <strong class="account-name" id="account-name"></strong></span>
    <button type="button" class="sign-out secondary" id="sign-out">Sign out</button>
    <span class="account-error" id="sign-out-error" role="alert"></span>
  </div>
</header>
<main class="signed-out" id="signed-out-view" aria-labelledby="signed-out-heading" hidden>
  <h2 id="signed-out-heading" tabindex="-1">Signed out</h2>
  <p id="signed-out-message"></p>
  <p class="sign-in-line"><a id="sign-in-link" class="button-link" href="/">Sign in</a></p>
  <p class="meta" id="signed-out-help"></p>
</main>
<main class="signed-out" id="no-chat-view" aria-labelledby="no-chat-heading" hidden>
  <h2 id="no-chat-heading">No chat with this role</h2>
  <p id="no-chat-message"></p>
  <p class="meta">Auditors read every conversation and the access audit of a patient through the server's API (<code>GET /principals</code>, <code>GET /audit?patient=…</code>).</p>
</main>
<div class="workspace">
  <session-sidebar id="session-sidebar" data-expanded="false"></session-sidebar>
  <main class="layout">
    <section class="chat" aria-labelledby="chat-heading">
      <h2 id="chat-heading" class="visually-hidden">Conversation</h2>
      <div class="notice-region" id="chat-notice" role="status" aria-live="polite"><p class="notice" id="chat-notice-text" hidden></p></div>
      <div class="deleted-notice" id="session-deleted-notice" role="alert" hidden>
        <p id="session-deleted-text"></p>
        <button type="button" id="deleted-new-chat">New chat</button>
      </div>
      <chat-view></chat-view>
      <chat-composer></chat-composer>
    </section>
    <aside class="telemetry" aria-labelledby="telemetry-heading">
      <session-tools></session-tools>
      <telemetry-panel></telemetry-panel>
    </aside>
    <div class="visually-hidden" role="status" aria-live="polite" id="turn-announcer"></div>
  </main>
</div>`);
    this.querySelector(".new-chat").addEventListener("click", () => this.#newChat());
    this.querySelector("#deleted-new-chat").addEventListener("click", () => this.#newChat());
    this.querySelector("#sign-out").addEventListener("click", () => this.#signOut());
    this.querySelector("#sidebar-toggle").addEventListener("click", () => this.#toggleSidebar());
    this.addEventListener("compose-send", (event) => this.#send(event.detail.content));
    this.addEventListener("compose-stop", () => this.#connection?.cancel());
    this.addEventListener("retry-now", () => this.#connection?.retryNow());
    this.addEventListener("session-open", (event) => this.#switchTo(event.detail.id));
    this.addEventListener("session-deleting", (event) => this.#deleting.add(event.detail.id));
    this.addEventListener("session-deleted", (event) => this.#afterDelete(event.detail.id, true));
    this.addEventListener("session-delete-failed", (event) => this.#afterDelete(event.detail.id, false));
    this.addEventListener("auth-lost", () => this.#checkSignedIn());
    this.addEventListener("updates-lost", () => this.#checkSignedIn());
    this.querySelector("session-sidebar").addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.#narrow.matches && this.#sidebarExpanded && !event.defaultPrevented) {
        this.#setSidebar(false);
        this.querySelector("#sidebar-toggle").focus();
      }
    });
    window.addEventListener("online", () => this.#connection?.retryNow());
    window.addEventListener("popstate", () => {
      if (!this.#signedOut) this.#open(sessionFromURL() ?? newId());
    });
    // Back in this tab after signing in elsewhere: pick up where it stopped.
    window.addEventListener("focus", () => this.#recheckWhenBack());
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) this.#recheckWhenBack();
    });
    this.querySelector("session-tools").api = this.#api;
    this.#boot();
  }

  async #boot() {
    const config = await this.#loadConfig();
    this.#auth = authFromConfig(config);
    if (this.#auth.enabled) {
      const me = await this.#api.me();
      if (me.state === "signed_out") {
        this.#showSignedOut(null, false);
        return;
      }
      // "unknown" (the server is down): open anyway; the reconnect loop asks again.
      if (me.state === "signed_in") this.#showAccount(principalFromMe(me.body));
    }
    if (this.#showNoChat()) return;
    this.querySelector("session-sidebar").start(this.#api);
    this.#open(sessionFromURL() ?? newId(), true);
  }

  /**
   * Signed in with roles that cannot chat: the server would refuse every socket (403), so the
   * page says so instead of retrying. Returns whether that view is shown.
   */
  #showNoChat() {
    const refused = Boolean(this.#principal) && !canChat(this.#principal);
    this.querySelector("#no-chat-view").hidden = !refused;
    if (!refused) return false;
    const roles = this.#principal.roles.join(", ");
    this.querySelector("#no-chat-message").textContent =
      `You are signed in as ${this.#principal.name} with the role ${roles}: chatting in Bedside needs the clinician role.`;
    this.querySelector(".workspace").hidden = true;
    this.querySelector(".session").hidden = true;
    this.querySelector("#sidebar-toggle").hidden = true;
    this.querySelector("connection-status").hidden = true;
    return true;
  }

  async #loadConfig() {
    try {
      const config = await this.#api.config();
      if (typeof config?.trace_url === "string") this.querySelector("telemetry-panel").traceURL = config.trace_url;
      return config;
    } catch {
      return null; // no trace links, no auth: as an older server
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
    this.#restored = null;
    this.#showDeleted(false);
    this.querySelector(".session-id").textContent = sessionId;
    this.dataset.sessionId = sessionId;
    this.querySelector("session-sidebar").current = sessionId;
    const kept = unsentStore.take(sessionId, this.#principal?.key ?? null);
    const connection = new Connection({
      url: socketBase(),
      sessionId,
      unacknowledged: kept,
      onEvent: (event) => this.#receive(event),
      onStatus: (status) => {
        this.querySelector("connection-status").status = status;
        if (status.state === "reconnecting" && connection === this.#connection) this.#checkSignedIn();
      },
      onEnd: (end) => this.#ended(connection, end),
    });
    this.#connection = connection;
    if (kept) this.#apply({ type: "client/pending", client_message_id: kept.client_message_id, content: kept.content });
    connection.start();
    this.#schedule();
  }

  #newChat() {
    this.#open(newId());
    this.querySelector("chat-composer").focus();
  }

  #switchTo(id) {
    if (id !== this.#state.sessionId || this.#deleted) this.#open(id);
    if (this.#narrow.matches && this.#sidebarExpanded) {
      // On a phone the list covers the chat: close it and go to the message box.
      this.#setSidebar(false);
      this.querySelector("chat-composer").focus();
    }
  }

  #afterDelete(id, deleted) {
    this.#deleting.delete(id);
    if (id !== this.#state.sessionId) return;
    if (deleted) this.#open(newId()); // the sidebar keeps the focus where it was
    else if (this.#connection?.ended?.kind === "deleted") this.#showDeleted(true);
  }

  /** The server ended the connection: 4404 deleted, or 4401 the credential ended. */
  #ended(connection, end) {
    if (connection !== this.#connection) return;
    if (end.kind === "deleted") {
      if (!this.#deleting.has(this.#state.sessionId)) this.#showDeleted(true);
      return;
    }
    if (this.#signingOut) return;
    this.#credentialEnded(end);
  }

  async #credentialEnded(end) {
    const me = await this.#api.me();
    if (this.#signedOut) return;
    const now = Date.now();
    if (me.state !== "signed_out" && now - this.#lastAuthResume > AUTH_RESUME_GAP_MS) {
      // Signed in after all (e.g. signed in again in another tab), or the server cannot say:
      // resume once, from the last seq.
      this.#lastAuthResume = now;
      if (me.state === "signed_in") this.#showAccount(principalFromMe(me.body));
      this.#connection?.start();
      return;
    }
    this.#showSignedOut(end, true);
  }

  /** While reconnecting, or after a 401 elsewhere: is the user still signed in? */
  #checkSignedIn() {
    if (!this.#auth.enabled || this.#signedOut || this.#checkingAuth) return;
    this.#checkingAuth = this.#api.me().then((me) => {
      this.#checkingAuth = null;
      if (me.state === "signed_out" && !this.#signedOut && !this.#signingOut) this.#showSignedOut(null, true);
    });
  }

  async #recheckWhenBack() {
    if (!this.#signedOut || !this.#auth.enabled || this.#checkingAuth) return;
    this.#checkingAuth = this.#api.me();
    const me = await this.#checkingAuth;
    this.#checkingAuth = null;
    if (me.state !== "signed_in" || !this.#signedOut) return;
    const principal = principalFromMe(me.body);
    if (this.#principal && principal && principal.key !== this.#principal.key) {
      location.reload(); // someone else signed in: nothing of the previous user's page stays
      return;
    }
    this.#resumeSignedIn(principal);
  }

  #resumeSignedIn(principal) {
    this.#signedOut = false;
    this.#showAccount(principal);
    this.querySelector("#signed-out-view").hidden = true;
    if (this.#showNoChat()) return;
    this.querySelector(".workspace").hidden = false;
    this.querySelector(".session").hidden = false;
    this.querySelector("#sidebar-toggle").hidden = false;
    this.querySelector("connection-status").hidden = false;
    this.querySelector("session-sidebar").start(this.#api);
    if (this.#connection) {
      unsentStore.drop(this.#state.sessionId); // still held by the connection
      this.#connection.start(); // from its last seq, resending what was not acknowledged
    } else {
      this.#open(sessionFromURL() ?? newId(), true);
    }
  }

  #showAccount(principal) {
    if (!principal) return;
    this.#principal = principal;
    this.querySelector("#account-name").textContent = principal.name;
    this.querySelector("#account").hidden = false;
    this.querySelector("#sign-out").disabled = false;
  }

  /** The signed-out view instead of the chat; `end` is the 4401 close, if that was the cause. */
  #showSignedOut(end, wasInUse) {
    const message = end ? closeNotice(end).message : wasInUse ? closeNotice(null).message : "Sign in to use Bedside.";
    this.querySelector("#signed-out-heading").textContent = wasInUse ? "Signed out" : "Not signed in";
    this.querySelector("#signed-out-message").textContent = message;
    const link = this.querySelector("#sign-in-link");
    const help = this.querySelector("#signed-out-help");
    if (this.#auth.loginURL) {
      link.href = signInHref(this.#auth.loginURL, location.href);
      link.parentElement.hidden = false;
      help.textContent = wasInUse ? "After signing in you come back to this conversation, where it stopped." : "";
    } else {
      link.parentElement.hidden = true;
      help.textContent = "This server offers no sign-in in the browser: use an API key or a token with a program.";
    }
    if (this.#signedOut) return;
    this.#signedOut = true;
    const connection = this.#connection;
    const unacked = connection?.unacknowledged;
    if (connection && unacked && end?.reason !== "signed_out") unsentStore.put(this.#state.sessionId, this.#principal?.key ?? null, unacked);
    connection?.close();
    this.querySelector("session-sidebar").stop();
    this.querySelector("#account").hidden = true;
    this.querySelector("#no-chat-view").hidden = true;
    this.querySelector(".workspace").hidden = true;
    this.querySelector(".session").hidden = true;
    this.querySelector("#sidebar-toggle").hidden = true;
    this.querySelector("connection-status").hidden = true; // no socket is meant to be open
    const view = this.querySelector("#signed-out-view");
    view.hidden = false;
    if (wasInUse) this.querySelector("#signed-out-heading").focus();
  }

  async #signOut() {
    if (this.#signingOut) return;
    this.#signingOut = true;
    const button = this.querySelector("#sign-out");
    button.disabled = true;
    this.querySelector("#sign-out-error").textContent = "";
    let result;
    try {
      result = await this.#api.logout();
    } catch (error) {
      this.#signingOut = false;
      button.disabled = false;
      this.querySelector("#sign-out-error").textContent = `Could not sign out: ${error?.message ?? error}`;
      return;
    }
    const target = safeLogoutURL(result.logoutURL, location.href);
    this.#showSignedOut({ code: 4401, reason: "signed_out", kind: "credential" }, true);
    this.#signingOut = false;
    if (target) location.assign(target); // the provider ends its own sign-in too
  }

  /** 4404: the conversation is gone; the page offers a new one instead of reconnecting. */
  #showDeleted(deleted) {
    this.#deleted = deleted;
    const notice = this.querySelector("#session-deleted-notice");
    if (deleted) this.querySelector("#session-deleted-text").textContent = closeNotice({ kind: "deleted" }).message;
    notice.hidden = !deleted;
    this.querySelector("chat-view").hidden = deleted;
    this.querySelector("chat-composer").hidden = deleted;
    this.#schedule();
  }

  get #sidebarExpanded() {
    return this.querySelector("session-sidebar").dataset.expanded === "true";
  }

  #setSidebar(expanded) {
    this.querySelector("session-sidebar").dataset.expanded = String(expanded);
    this.querySelector("#sidebar-toggle").setAttribute("aria-expanded", String(expanded));
  }

  #toggleSidebar() {
    this.#setSidebar(!this.#sidebarExpanded);
  }

  #send(content) {
    const id = this.#connection?.send(content);
    if (!id) return;
    this.#apply({ type: "client/pending", client_message_id: id, content });
  }

  #receive(event) {
    if (event.type === "connection") {
      // Everything up to the session's newest seq is history being replayed.
      this.#liveFrom = Math.max(event.latest_seq ?? 0, this.#state.lastSeq);
    }
    const composer = this.querySelector("chat-composer");
    if (event.type === "error" && typeof event.seq !== "number" && REFUSING_CODES.has(event.code)) {
      // Not taken: the text goes back into the box (the notice says so and when to resend).
      const pending = this.#state.pending.at(-1);
      if (pending) {
        composer.restore(pending.content);
        this.#restored = { clientMessageId: pending.clientMessageId, content: pending.content };
      }
    }
    if (event.type === "user" && this.#restored && event.client_message_id === this.#restored.clientMessageId) {
      // Taken after all (rate_limited answered another frame): the box need not hold it twice.
      composer.clearIfUnchanged(this.#restored.content);
      this.#restored = null;
    }
    const live = typeof event.seq === "number" && event.seq > this.#liveFrom && event.seq > this.#state.lastSeq;
    if (live && event.type === "turn") this.#announce(event);
    if (live && event.type === "queued") {
      // Once when the wait starts, and again when this turn is next; not at every step between.
      const first = this.#state.queued?.turnId !== event.turn_id;
      if (first || event.position === 1) this.querySelector("#turn-announcer").textContent = queuedText(event.position);
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
    const busy = turnActive(state); // running, or queued for a free slot: Stop applies to both
    this.querySelector("chat-composer").state = { busy, canSend: state.pending.length === 0 };
    this.dataset.busy = String(busy);
    this.dataset.queued = String(state.queued !== null);
    const notice = this.querySelector("#chat-notice-text");
    const text = state.notice && state.notice.code !== "resume_gap" ? noticeText(state.notice) : "";
    notice.hidden = !text;
    if (notice.textContent !== text) notice.textContent = text; // the region announces changes only
    if (state.sessionId) this.querySelector("session-tools").session = { id: state.sessionId, hasEvents: state.lastSeq > 0 && !this.#deleted };
  }
}

export function registerBedsideApp() {
  if (!customElements.get("bedside-app")) customElements.define("bedside-app", BedsideApp);
}
