// <connection-status>: the socket's state, always visible; changes of state are announced
// politely once (the countdown to the next try updates on screen only). A socket the server
// refused for a connection limit (4429) says so: "Too many open connections: retrying in 12 s
// (attempt 3)", announced once as such.
import { html, render } from "../../lib/html.js";

const LABELS = { connecting: "Connecting…", connected: "Connected", reconnecting: "Reconnecting", disconnected: "Disconnected" };

export class ConnectionStatus extends HTMLElement {
  #status = { state: "disconnected", attempt: 0, retryAt: null, reason: null };
  #announced = null;
  #ticker = null;

  connectedCallback() {
    render(this, html`<span class="status-dot" aria-hidden="true"></span><span class="status-text"></span><button type="button" class="retry" hidden>Retry now</button><span class="visually-hidden" role="status" aria-live="polite"></span>`);
    this.querySelector(".retry").addEventListener("click", () => this.dispatchEvent(new CustomEvent("retry-now", { bubbles: true })));
    this.#update();
  }

  disconnectedCallback() {
    clearInterval(this.#ticker);
  }

  set status(status) {
    this.#status = status;
    this.#update();
  }

  #update() {
    const text = this.querySelector(".status-text");
    if (!text) return;
    const { state, attempt, retryAt, reason } = this.#status;
    const limited = state === "reconnecting" && reason === "too_many_connections";
    this.dataset.state = state;
    if (limited) this.dataset.reason = reason;
    else delete this.dataset.reason;
    let line = LABELS[state] ?? state;
    if (state === "reconnecting") {
      const seconds = Math.max(0, Math.ceil(((retryAt ?? Date.now()) - Date.now()) / 1000));
      line = limited
        ? `Too many open connections: retrying in ${seconds} s (attempt ${attempt})`
        : `Reconnecting (attempt ${attempt}, next try in ${seconds} s)`;
    }
    text.textContent = line;
    this.querySelector(".retry").hidden = state !== "reconnecting";
    // Announce a change of state once; the attempt count and countdown are for the eye only.
    let announcement = LABELS[state];
    if (limited) announcement = "Too many open connections to Bedside, perhaps from other tabs; retrying by itself, more slowly";
    else if (state === "reconnecting") announcement = "Connection lost, reconnecting";
    if (announcement !== this.#announced && state !== "connecting") {
      this.#announced = announcement;
      this.querySelector("[role=status]").textContent = announcement;
    }
    clearInterval(this.#ticker);
    this.#ticker = state === "reconnecting" ? setInterval(() => this.#update(), 1000) : null;
  }
}

export function registerConnectionStatus() {
  if (!customElements.get("connection-status")) customElements.define("connection-status", ConnectionStatus);
}
