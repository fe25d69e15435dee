// Sign-in awareness without the DOM: what /config.json says about auth, what /auth/me says
// about the caller, and where the Sign-in link goes.

/**
 * The auth part of /config.json: {enabled, modes, loginURL}. Auth is on when a mode other
 * than "none" is listed; a config without `auth` (an older server) means no auth.
 */
export function authFromConfig(config) {
  const auth = config && typeof config === "object" ? config.auth : null;
  const modes = Array.isArray(auth?.modes) ? auth.modes.filter((m) => typeof m === "string" && m) : [];
  const shown = modes.length ? modes : ["none"];
  const loginURL = typeof auth?.login_url === "string" && auth.login_url ? auth.login_url : null;
  return { enabled: shown.some((m) => m !== "none"), modes: shown, loginURL };
}

/**
 * The caller from a 200 of /auth/me, or null when the body is not one:
 * {name, key, issuer, subject, roles, method, expiresAt}. The name falls back to the subject.
 */
export function principalFromMe(body) {
  const p = body && typeof body === "object" ? body.principal : null;
  if (!p || typeof p !== "object" || typeof p.key !== "string") return null;
  const text = (v) => (typeof v === "string" && v ? v : null);
  return {
    key: p.key,
    issuer: text(p.issuer),
    subject: text(p.subject),
    name: text(p.name) ?? text(p.subject) ?? p.key,
    roles: Array.isArray(p.roles) ? p.roles.filter((r) => typeof r === "string") : [],
    method: text(body.method),
    expiresAt: text(body.expires_at),
  };
}

const CHAT_ROLES = new Set(["clinician", "admin"]);

/**
 * Whether the principal may chat (open /ws): the server lets only the clinician and admin
 * roles do so. Roles not listed (an older server's /auth/me) leave it to the server.
 */
export function canChat(principal) {
  const roles = Array.isArray(principal?.roles) ? principal.roles.map((r) => String(r).toLowerCase()) : [];
  return roles.length === 0 || roles.some((r) => CHAT_ROLES.has(r));
}

/**
 * The Sign-in link: `loginURL` with `return_to` set to the page's path and query, so that the
 * server sends the browser back to the same conversation. `here` is the page's URL (a string
 * or URL). Stays relative when the login URL is on the page's origin.
 */
export function signInHref(loginURL, here) {
  const page = new URL(String(here));
  const target = new URL(loginURL, page);
  target.searchParams.set("return_to", `${page.pathname}${page.search}`);
  if (target.origin === page.origin) return `${target.pathname}${target.search}`;
  return target.href;
}

/** A logout_url from POST /auth/logout that the page may navigate to (http or https only), or null. */
export function safeLogoutURL(value, here) {
  if (typeof value !== "string" || !value) return null;
  try {
    const url = new URL(value, String(here));
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}
