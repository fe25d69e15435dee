// The page's HTTP calls to its own server: config, who is signed in, sign-out, the caller's
// conversations (list, rename, delete) and a conversation's access audit. `fetch` is injected,
// so the tests answer with a fake server. Every failure is an ApiError carrying the status,
// the server's `code` (`unauthenticated`, `forbidden`, `not_found`, `host_not_allowed`,
// `too_many_requests`, …) and message, taken from the JSON `{"error", "code"}` body or from a
// FHIR OperationOutcome (the body of a refused `POST /patient`), and, from `Retry-After` (a
// 429), how long to wait before trying again.

import { waitText } from "./errors.js";
import { auditPath, sessionPath, sessionsPath } from "./sessions.js";

export class ApiError extends Error {
  constructor(status, code, message, retryAfterMs = null) {
    super(message);
    this.name = "ApiError";
    this.status = status; // 0 when the server could not be reached
    this.code = code;
    this.retryAfterMs = retryAfterMs; // from Retry-After, or null
  }

  /** The credential is missing or ended: the page shows the signed-out view. */
  get unauthenticated() {
    return this.status === 401;
  }
}

/** Milliseconds to wait from a Retry-After value (seconds, or an HTTP date), or null. */
export function retryAfterHeader(value, now = Date.now()) {
  const text = typeof value === "string" ? value.trim() : "";
  if (/^\d{1,9}$/.test(text)) return Number(text) * 1000;
  // Only the HTTP date format (IMF-fixdate), which Date.parse reads the same everywhere.
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(text)) return null;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** The words of a FHIR OperationOutcome's issues (diagnostics, else details.text), or null. */
function outcomeText(body) {
  if (body?.resourceType !== "OperationOutcome" || !Array.isArray(body.issue)) return null;
  const texts = body.issue
    .map((issue) => (typeof issue?.diagnostics === "string" && issue.diagnostics) || (typeof issue?.details?.text === "string" && issue.details.text) || null)
    .filter(Boolean);
  return texts.length ? texts.join(" ") : null;
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: the status says enough
  }
  const status = response.status;
  const code = typeof body?.code === "string" ? body.code : status === 429 ? "too_many_requests" : `http_${status}`;
  let message = (typeof body?.error === "string" && body.error) || outcomeText(body);
  if (!message) message = status === 429 ? "The server has too many requests from you just now." : `The server answered ${status}.`;
  const retryAfterMs = retryAfterHeader(response.headers?.get?.("Retry-After") ?? null);
  if (retryAfterMs !== null) message = `${message} Try again in ${waitText(retryAfterMs)}.`;
  return new ApiError(status, code, message, retryAfterMs);
}

export class Api {
  #fetch;

  constructor({ fetch = globalThis.fetch?.bind(globalThis) } = {}) {
    this.#fetch = fetch;
  }

  async #request(method, path, body) {
    const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await this.#fetch(path, init);
    } catch (error) {
      throw new ApiError(0, "unreachable", `The server could not be reached (${error?.message ?? error}).`);
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  async #json(method, path, body) {
    const response = await this.#request(method, path, body);
    try {
      return await response.json();
    } catch {
      throw new ApiError(response.status, "invalid_response", "The server's answer was not JSON.");
    }
  }

  /** GET /config.json. */
  config() {
    return this.#json("GET", "/config.json");
  }

  /**
   * GET /auth/me: {state: "signed_in", body} on 200, {state: "signed_out"} on 401, and
   * {state: "unknown", error} when the server cannot say (down, 5xx): the page then keeps
   * trying the way it already does instead of claiming a sign-out.
   */
  async me() {
    try {
      return { state: "signed_in", body: await this.#json("GET", "/auth/me") };
    } catch (error) {
      if (error instanceof ApiError && error.unauthenticated) return { state: "signed_out" };
      return { state: "unknown", error };
    }
  }

  /** POST /auth/logout → {logoutURL} (the provider's end-session URL, or null). */
  async logout() {
    const body = await this.#json("POST", "/auth/logout");
    return { logoutURL: typeof body?.logout_url === "string" ? body.logout_url : null };
  }

  /** GET /sessions?limit&before → {sessions, next}. */
  listSessions({ before = null, limit } = {}) {
    return this.#json("GET", sessionsPath({ before, limit }));
  }

  /** PATCH /sessions/{id} {"title"} → the session's summary. */
  renameSession(id, title) {
    return this.#json("PATCH", sessionPath(id), { title });
  }

  /** DELETE /sessions/{id}; a conversation that is already gone (404) counts as deleted. */
  async deleteSession(id) {
    try {
      await this.#request("DELETE", sessionPath(id));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return;
      throw error;
    }
  }

  /** GET /sessions/{id}/audit → {session_id, records}. */
  audit(id) {
    return this.#json("GET", auditPath(id));
  }
}
