// The page's one WebSocket to a session: connects, reconnects with backoff, resumes from the
// newest seq it has, resends an unacknowledged message under the same client_message_id and
// drops events it already has, so the page sees every event of the session exactly once.
//
// Everything it touches in the outside world (WebSocket, timers, clock, randomness, ids) is
// injected, so the tests drive it with a fake socket and a fake clock.

import { Backoff } from "./backoff.js";

const OPEN = 1;

/** A fresh id for a message: random, valid as a client_message_id. */
export function newId() {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * connection = new Connection({url: "ws://host:port", sessionId, onEvent, onStatus});
 * connection.start(); connection.send("question"); connection.cancel(); connection.close();
 *
 * Status values given to `onStatus`: {state: "connecting" | "connected" | "reconnecting" |
 * "disconnected", attempt, retryInMs, retryAt}.
 */
export class Connection {
  #url;
  #sessionId;
  #WebSocket;
  #setTimeout;
  #clearTimeout;
  #now;
  #newId;
  #onEvent;
  #onStatus;
  #backoff;
  #socket = null;
  #timer = null;
  #closed = false;
  #lastSeq;
  #unacked = null; // the message frame sent (or to send) and not yet seen as a `user` event
  #cancelWanted = false;
  #status = { state: "disconnected", attempt: 0, retryInMs: null, retryAt: null };

  constructor({
    url,
    sessionId,
    lastSeq = 0,
    onEvent = () => {},
    onStatus = () => {},
    WebSocket = globalThis.WebSocket,
    setTimeout = globalThis.setTimeout.bind(globalThis),
    clearTimeout = globalThis.clearTimeout.bind(globalThis),
    now = Date.now,
    random = Math.random,
    newId: makeId = newId,
  }) {
    this.#url = url;
    this.#sessionId = sessionId;
    this.#lastSeq = lastSeq;
    this.#onEvent = onEvent;
    this.#onStatus = onStatus;
    this.#WebSocket = WebSocket;
    this.#setTimeout = setTimeout;
    this.#clearTimeout = clearTimeout;
    this.#now = now;
    this.#newId = makeId;
    this.#backoff = new Backoff({ random });
  }

  get status() {
    return this.#status;
  }

  get lastSeq() {
    return this.#lastSeq;
  }

  /** The message waiting for its acknowledgement, or null. */
  get unacknowledged() {
    return this.#unacked;
  }

  /** Opens the socket; from then on it reconnects by itself until `close()`. */
  start() {
    this.#closed = false;
    this.#open(false);
  }

  /** Sends a message; returns its client_message_id, or null while another one is unacknowledged. */
  send(content) {
    if (this.#unacked) return null;
    const frame = { type: "message", session_id: this.#sessionId, content, client_message_id: this.#newId() };
    this.#unacked = frame;
    this.#write(frame); // if the socket is down it goes out after the next connection event
    return frame.client_message_id;
  }

  /** Asks the server to stop the running turn; sent as soon as the socket is up. */
  cancel() {
    this.#cancelWanted = !this.#write({ type: "cancel", session_id: this.#sessionId });
  }

  /** Tries to reconnect now instead of waiting for the backoff timer (e.g. the browser came online). */
  retryNow() {
    if (this.#closed || this.#status.state !== "reconnecting") return;
    this.#clearTimeout(this.#timer);
    this.#timer = null;
    this.#open(true);
  }

  /** Closes the socket for good (a new chat, the page going away). */
  close() {
    this.#closed = true;
    this.#clearTimeout(this.#timer);
    this.#timer = null;
    const socket = this.#socket;
    this.#socket = null;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      socket.close(1000);
    }
    this.#setStatus({ state: "disconnected", attempt: 0, retryInMs: null, retryAt: null });
  }

  #open(isRetry) {
    const query = `session_id=${encodeURIComponent(this.#sessionId)}&last_seq=${this.#lastSeq}`;
    if (!isRetry) this.#setStatus({ state: "connecting", attempt: 0, retryInMs: null, retryAt: null });
    let socket;
    try {
      socket = new this.#WebSocket(`${this.#url}/ws?${query}`);
    } catch {
      this.#scheduleRetry();
      return;
    }
    this.#socket = socket;
    socket.onmessage = (message) => this.#receive(message.data);
    socket.onclose = () => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#status = { ...this.#status, state: "connecting" };
      if (!this.#closed) this.#scheduleRetry();
    };
    socket.onerror = () => {}; // a close event always follows
  }

  #scheduleRetry() {
    const delay = this.#backoff.next();
    this.#setStatus({
      state: "reconnecting",
      attempt: this.#backoff.attempt,
      retryInMs: delay,
      retryAt: this.#now() + delay,
    });
    this.#timer = this.#setTimeout(() => {
      this.#timer = null;
      this.#open(true);
    }, delay);
  }

  #receive(data) {
    let event;
    try {
      event = JSON.parse(data);
    } catch {
      return; // the server only sends JSON; anything else is not ours to show
    }
    if (!event || typeof event !== "object") return;
    if (event.type === "connection") {
      this.#backoff.reset();
      this.#setStatus({ state: "connected", attempt: 0, retryInMs: null, retryAt: null });
      this.#onEvent(event);
      if (this.#unacked) this.#write(this.#unacked); // same client_message_id: never run twice
      if (this.#cancelWanted) this.cancel();
      return;
    }
    if (typeof event.seq === "number") {
      if (event.seq <= this.#lastSeq) return; // replayed or echoed again: already seen
      this.#lastSeq = event.seq;
      if (event.type === "user" && this.#unacked && event.client_message_id === this.#unacked.client_message_id) {
        this.#unacked = null;
      }
    } else if (event.type === "error" && event.code === "busy") {
      this.#unacked = null; // refused and not consumed: the page may offer it again
    }
    this.#onEvent(event);
  }

  #write(frame) {
    // Only once the server has greeted this socket: a frame sent earlier would be resent anyway.
    if (!this.#socket || this.#socket.readyState !== OPEN || this.#status.state !== "connected") return false;
    this.#socket.send(JSON.stringify(frame));
    return true;
  }

  #setStatus(status) {
    const changed = status.state !== this.#status.state || status.attempt !== this.#status.attempt;
    this.#status = status;
    if (changed || status.state === "reconnecting") this.#onStatus(status);
  }
}
