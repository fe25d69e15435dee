// The page's one WebSocket to a session: connects, reconnects with backoff, resumes from the
// newest seq it has, resends an unacknowledged message under the same client_message_id and
// drops events it already has, so the page sees every event of the session exactly once.
// Two closes end it instead of a retry (lib/close-codes.js): 4401, the credential ended, and
// 4404, the conversation was deleted; `start()` afterwards resumes from the same seq and
// resends the same unacknowledged message. A socket refused for a connection limit (error
// `too_many_connections`, close 4429) is retried on the slower LIMIT_BACKOFF schedule, and
// either schedule starts over only once a connection has stayed open for STABLE_MS, so a
// server that keeps refusing or dropping sockets is never asked in a hot loop.
//
// A message refused with a refusing code (lib/errors.js: busy, too_many_turns, ...) frees the
// message slot; sending the same text again reuses its client_message_id. One refused with
// shutting_down (KEEPING_CODES) stays unacknowledged: it goes out again, under the same id, once
// the socket the server closes as it stops has been replaced by a new one.
//
// Everything it touches in the outside world (WebSocket, timers, clock, randomness, ids) is
// injected, so the tests drive it with a fake socket and a fake clock.

import { Backoff, LIMIT_BACKOFF } from "./backoff.js";
import { finalClose, isConnectionLimit } from "./close-codes.js";
import { KEEPING_CODES, REFUSING_CODES, TOO_MANY_CONNECTIONS } from "./errors.js";

const OPEN = 1;

/** How long a connection must stay open before the backoff schedules start over. */
export const STABLE_MS = 10_000;

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
 * "disconnected", attempt, retryInMs, retryAt, reason}; reason is "too_many_connections" while
 * retrying after the server refused the socket for a connection limit, else null.
 *
 * `onEnd({code, reason, kind})` is called when the server closed the socket with 4401 (kind
 * "credential") or 4404 (kind "deleted"): the connection then stays disconnected. A message
 * not yet acknowledged by an earlier page (kept over a sign-in) is handed in as
 * `unacknowledged: {content, client_message_id}` and sent first, under its own id.
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
  #onEnd;
  #backoff;
  #limitBackoff;
  #socket = null;
  #timer = null;
  #stableTimer = null; // resets the backoff once the connection has stayed open
  #limited = false; // this socket was refused for a connection limit
  #refused = null; // the last message frame the server refused, for its client_message_id
  #closed = false;
  #lastSeq;
  #unacked = null; // the message frame sent (or to send) and not yet seen as a `user` event
  #cancelWanted = false;
  #ended = null; // {code, reason, kind} after a 4401 or 4404 close
  #status = { state: "disconnected", attempt: 0, retryInMs: null, retryAt: null, reason: null };

  constructor({
    url,
    sessionId,
    lastSeq = 0,
    onEvent = () => {},
    onStatus = () => {},
    onEnd = () => {},
    unacknowledged = null,
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
    this.#onEnd = onEnd;
    this.#WebSocket = WebSocket;
    this.#setTimeout = setTimeout;
    this.#clearTimeout = clearTimeout;
    this.#now = now;
    this.#newId = makeId;
    this.#backoff = new Backoff({ random });
    this.#limitBackoff = new Backoff({ random, ...LIMIT_BACKOFF });
    if (typeof unacknowledged?.content === "string" && typeof unacknowledged.client_message_id === "string") {
      this.#unacked = { type: "message", session_id: sessionId, content: unacknowledged.content, client_message_id: unacknowledged.client_message_id };
    }
  }

  get status() {
    return this.#status;
  }

  get lastSeq() {
    return this.#lastSeq;
  }

  /** How the server ended the connection ({code, reason, kind}), or null while it may reconnect. */
  get ended() {
    return this.#ended;
  }

  /** The message waiting for its acknowledgement, or null. */
  get unacknowledged() {
    return this.#unacked;
  }

  /**
   * Opens the socket; from then on it reconnects by itself until `close()` or a final close.
   * After either, `start()` again resumes from the newest seq it has.
   */
  start() {
    if (this.#socket) return; // already open or opening
    this.#clearTimeout(this.#timer);
    this.#timer = null;
    this.#closed = false;
    this.#ended = null;
    this.#open(false);
  }

  /**
   * Sends a message; returns its client_message_id, or null while another one is unacknowledged.
   * The text of the message the server last refused goes out under that message's id again.
   */
  send(content) {
    if (this.#unacked) return null;
    const id = this.#refused?.content === content ? this.#refused.client_message_id : this.#newId();
    this.#refused = null;
    const frame = { type: "message", session_id: this.#sessionId, content, client_message_id: id };
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
    this.#drop(); // a retry still connecting gives way to this one
    this.#open(true);
  }

  /** Closes the socket for good (a new chat, the page going away). */
  close() {
    this.#closed = true;
    this.#clearTimeout(this.#timer);
    this.#timer = null;
    this.#clearStable();
    this.#drop();
    this.#setStatus({ state: "disconnected", attempt: 0, retryInMs: null, retryAt: null, reason: null });
  }

  #open(isRetry) {
    const query = `session_id=${encodeURIComponent(this.#sessionId)}&last_seq=${this.#lastSeq}`;
    if (!isRetry) this.#setStatus({ state: "connecting", attempt: 0, retryInMs: null, retryAt: null, reason: null });
    this.#limited = false;
    let socket;
    try {
      socket = new this.#WebSocket(`${this.#url}/ws?${query}`);
    } catch {
      this.#scheduleRetry();
      return;
    }
    this.#socket = socket;
    socket.onmessage = (message) => {
      if (this.#socket === socket) this.#receive(message.data);
    };
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#clearStable(); // it did not stay open long enough to count as a success
      const end = finalClose(event?.code, event?.reason);
      if (end && !this.#closed) {
        // Retrying would be refused (signed out) or would open a new, empty conversation.
        this.#closed = true;
        this.#ended = end;
        this.#setStatus({ state: "disconnected", attempt: 0, retryInMs: null, retryAt: null, reason: null });
        this.#onEnd(end);
        return;
      }
      const limited = this.#limited || isConnectionLimit(event?.code, event?.reason);
      this.#status = { ...this.#status, state: "connecting" };
      if (!this.#closed) this.#scheduleRetry(limited);
    };
    socket.onerror = () => {}; // a close event always follows
  }

  #scheduleRetry(limited = false) {
    const backoff = limited ? this.#limitBackoff : this.#backoff;
    const delay = backoff.next();
    this.#setStatus({
      state: "reconnecting",
      attempt: backoff.attempt,
      retryInMs: delay,
      retryAt: this.#now() + delay,
      reason: limited ? TOO_MANY_CONNECTIONS : null,
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
      this.#clearStable();
      this.#stableTimer = this.#setTimeout(() => {
        this.#stableTimer = null;
        this.#backoff.reset();
        this.#limitBackoff.reset();
      }, STABLE_MS);
      this.#setStatus({ state: "connected", attempt: 0, retryInMs: null, retryAt: null, reason: null });
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
    } else if (event.type === "error" && REFUSING_CODES.has(event.code)) {
      // Refused (or, for rate_limited, perhaps dropped) and not run: the page offers it again.
      if (this.#unacked) this.#refused = this.#unacked;
      this.#unacked = null;
    } else if (event.type === "error" && KEEPING_CODES.has(event.code)) {
      // Not taken, but not the user's to resend: it stays unacknowledged, and the next
      // connection event (a new server) sends it again.
    } else if (event.type === "error" && event.code === TOO_MANY_CONNECTIONS) {
      this.#limited = true; // the 4429 close follows
    }
    this.#onEvent(event);
  }

  /** Closes the current socket, if any, without hearing from it again. */
  #drop() {
    const socket = this.#socket;
    this.#socket = null;
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    socket.close(1000);
  }

  #clearStable() {
    this.#clearTimeout(this.#stableTimer);
    this.#stableTimer = null;
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
