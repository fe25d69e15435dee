// The WebSocket close codes a plain reconnect cannot fix, and what the page says about them.
//
// 4401: the credential behind the socket ended (sign-out, an expired or revoked sign-in, an
// expired token); reconnecting with it again would be refused, so the page asks /auth/me
// instead. 4404: the conversation was deleted; reconnecting would open a new, empty one.
// 4429: the server refused the socket because a connection limit is reached (in total, per
// address, per session); it is retried, but slowly (lib/backoff.js LIMIT_BACKOFF).

export const CREDENTIAL_ENDED = 4401;
export const SESSION_DELETED = 4404;
export const TOO_MANY_CONNECTIONS = 4429;

/** Whether a close (or the connection-scoped error before it) says a connection limit is reached. */
export function isConnectionLimit(code, reason = null) {
  return code === TOO_MANY_CONNECTIONS || reason === "too_many_connections";
}

const CREDENTIAL_MESSAGES = {
  signed_out: "You signed out.",
  session_expired: "Your sign-in expired.",
  credential_revoked: "Your sign-in was revoked.",
  token_expired: "Your access token expired.",
};

const SIGNED_OUT_FALLBACK = "You are signed out.";

/**
 * The end of a connection that must not be retried, or null for any other close (a drop, a
 * restart, an overflow: those reconnect with backoff). `{code, reason, kind}`; kind is
 * "credential" (4401) or "deleted" (4404). The reason is the server's close reason, or null.
 */
export function finalClose(code, reason) {
  const text = typeof reason === "string" && reason ? reason : null;
  if (code === CREDENTIAL_ENDED) return { code, reason: text, kind: "credential" };
  if (code === SESSION_DELETED) return { code, reason: text ?? "session_deleted", kind: "deleted" };
  return null;
}

/** What the signed-out view says for a 4401 reason ("You signed out.", "Your sign-in expired.", …). */
export function signedOutMessage(reason) {
  return Object.hasOwn(CREDENTIAL_MESSAGES, reason ?? "") ? CREDENTIAL_MESSAGES[reason] : SIGNED_OUT_FALLBACK;
}

/** What the page shows when a connection ends for good: {kind, title, message}. */
export function closeNotice(end) {
  if (end?.kind === "deleted") {
    return { kind: "deleted", title: "Conversation deleted", message: "This conversation was deleted." };
  }
  return { kind: "signed_out", title: "Signed out", message: signedOutMessage(end?.reason ?? null) };
}
