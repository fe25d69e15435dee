// The per-user live channel `GET /sessions/updates` (server-sent events): `session` (a
// conversation was created, renamed, had activity or a turn changed status) and
// `session_deleted`. Every connection of the channel starts with `ready`; the list is fetched
// then, so nothing that happens between the fetch and the subscription is missed, also after
// a reconnect.
//
// The browser's EventSource reconnects by itself after a drop; when it gives up (the server
// answered with an error, e.g. 401 once the credential ended) `onLost` is told and the channel
// is opened again with backoff until `stop()`. EventSource and timers are injected for tests.

import { Backoff } from "./backoff.js";
import { UPDATES_PATH } from "./sessions.js";

const CLOSED = 2;

export class SessionUpdates {
  #url;
  #EventSource;
  #setTimeout;
  #clearTimeout;
  #handlers;
  #backoff;
  #source = null;
  #timer = null;
  #running = false;

  /**
   * handlers: onReady() at every (re)connection, onSession(summary), onDeleted(id), onLost()
   * when the browser stopped reconnecting by itself.
   */
  constructor({
    url = UPDATES_PATH,
    EventSource = globalThis.EventSource,
    setTimeout = globalThis.setTimeout.bind(globalThis),
    clearTimeout = globalThis.clearTimeout.bind(globalThis),
    random = Math.random,
    onReady = () => {},
    onSession = () => {},
    onDeleted = () => {},
    onLost = () => {},
  } = {}) {
    this.#url = url;
    this.#EventSource = EventSource;
    this.#setTimeout = setTimeout;
    this.#clearTimeout = clearTimeout;
    this.#handlers = { onReady, onSession, onDeleted, onLost };
    this.#backoff = new Backoff({ random, base: 1000 });
  }

  /** Whether the browser has EventSource at all (without it the list is only fetched). */
  get supported() {
    return typeof this.#EventSource === "function";
  }

  get running() {
    return this.#running;
  }

  start() {
    if (this.#running || !this.supported) return;
    this.#running = true;
    this.#open();
  }

  stop() {
    this.#running = false;
    this.#clearTimeout(this.#timer);
    this.#timer = null;
    this.#source?.close();
    this.#source = null;
  }

  #open() {
    const source = new this.#EventSource(this.#url, { withCredentials: true });
    this.#source = source;
    const parse = (event) => {
      try {
        return JSON.parse(event.data);
      } catch {
        return null;
      }
    };
    source.addEventListener("ready", () => {
      if (this.#source !== source) return;
      this.#backoff.reset();
      this.#handlers.onReady();
    });
    source.addEventListener("session", (event) => {
      const summary = parse(event);
      if (this.#source === source && summary && typeof summary === "object") this.#handlers.onSession(summary);
    });
    source.addEventListener("session_deleted", (event) => {
      const data = parse(event);
      if (this.#source === source && typeof data?.id === "string") this.#handlers.onDeleted(data.id);
    });
    source.addEventListener("error", () => {
      if (this.#source !== source || source.readyState !== CLOSED) return; // CONNECTING: the browser retries
      source.close();
      this.#source = null;
      this.#handlers.onLost();
      if (!this.#running) return;
      this.#timer = this.#setTimeout(() => {
        this.#timer = null;
        if (this.#running) this.#open();
      }, this.#backoff.next());
    });
  }
}
