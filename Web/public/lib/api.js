// The page's HTTP calls to its own server: config, who is signed in, sign-out, the caller's
// conversations (list, rename, delete) and a conversation's access audit. `fetch` is injected,
// so the tests answer with a fake server. Every failure is an ApiError carrying the status and
// the server's `code` (`unauthenticated`, `forbidden`, `not_found`, …).

import { auditPath, sessionPath, sessionsPath } from "./sessions.js";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status; // 0 when the server could not be reached
    this.code = code;
  }

  /** The credential is missing or ended: the page shows the signed-out view. */
  get unauthenticated() {
    return this.status === 401;
  }
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: the status says enough
  }
  const code = typeof body?.code === "string" ? body.code : `http_${response.status}`;
  const message = typeof body?.error === "string" && body.error ? body.error : `The server answered ${response.status}.`;
  return new ApiError(response.status, code, message);
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
