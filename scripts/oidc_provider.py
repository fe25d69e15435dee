"""Configures the glewlwyd OpenID provider that scripts/oidc-provider.sh starts, through glewlwyd's
admin API (as its initial administrator admin/password). Standard library only; the environment
variables are described in scripts/oidc-provider.sh.

    python3 scripts/oidc_provider.py configure DIR BASE_URL
    python3 scripts/oidc_provider.py add-client DIR CLIENT_ID SECRET REDIRECT_URI...

configure waits for the server; adds the `roles` property to the user and client backends, the
scopes `profile` and `email` (all three client scopes need the password), the OpenID Connect
plugin `oidc` (a fresh RSA key made with openssl, code flow with PKCE required, refresh tokens,
client credentials, resource indicators, session management and end_session, the `roles`
claim), the client `bedside` and the test users; has each user consent to the client; checks
the discovery document and the JWKS; and writes DIR/url and DIR/issuer.
"""
import base64
import hashlib
import http.cookiejar
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

PLUGIN = "oidc"
CLIENT_SCOPES = ["openid", "profile", "email"]
# The test users: username -> (name, roles). Each one's password is "<username>-password".
USERS = {
    "alice": ("Alice Clinician", ["clinician"]),
    "bob": ("Bob Clinician", ["clinician"]),
    "audrey": ("Audrey Auditor", ["auditor"]),
    "ada": ("Ada Admin", ["admin"]),
}


CALLBACK = "/auth/callback"


def resources(redirect_uris=()):
    """The resources (RFC 8707) a client may ask an access token for, which become its `aud`:
    OIDC_PROVIDER_RESOURCES (space separated) or else, for each redirect URI ending in
    /auth/callback, the same origin's /mcp. glewlwyd takes only https:// or loopback http:// URLs."""
    explicit = os.environ.get("OIDC_PROVIDER_RESOURCES", "").split()
    if explicit:
        return explicit
    return [uri[:-len(CALLBACK)] + "/mcp" for uri in redirect_uris if uri.endswith(CALLBACK)]


def post_logout_uris(redirect_uris=()):
    """Where end_session may send the browser back to: OIDC_PROVIDER_POST_LOGOUT_REDIRECT_URI
    (space separated) or else, for each redirect URI ending in /auth/callback, its origin's /."""
    explicit = os.environ.get("OIDC_PROVIDER_POST_LOGOUT_REDIRECT_URI", "").split()
    if explicit:
        return explicit
    return [uri[:-len(CALLBACK)] + "/" for uri in redirect_uris if uri.endswith(CALLBACK)]


def password_of(username):
    return f"{username}-password"


class Failure(Exception):
    pass


class Session:
    """One cookie jar against the provider's API."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def call(self, method, path, body=None, expect=(200,)):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with self.opener.open(request, timeout=10) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode(errors="replace")
        if status not in expect:
            raise Failure(f"{method} {path} answered {status}: {text[:500]}")
        return json.loads(text) if text.strip() else None

    def sign_in(self, username, password):
        self.call("POST", "/api/auth/", {"username": username, "password": password})


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rsa_jwks(directory):
    """The directory's 2048-bit RSA key (made with openssl the first time) as a private JWKS with
    one RS256 key and its kid."""
    key_file = os.path.join(directory, "signing-key.pem")
    if not os.path.exists(key_file):
        subprocess.run(["openssl", "genrsa", "-out", key_file + ".new", "2048"], check=True, capture_output=True)
        os.chmod(key_file + ".new", 0o600)
        os.replace(key_file + ".new", key_file)
    text = subprocess.run(["openssl", "rsa", "-in", key_file, "-noout", "-text"], check=True,
                          capture_output=True, text=True).stdout
    fields = {}
    for name, body in re.findall(r"^(\w+):\s*\n((?:\s+[0-9a-f:]+\n?)+)", text, re.M):
        fields[name] = int(re.sub(r"[^0-9a-f]", "", body), 16)
    exponent = re.search(r"^publicExponent: (\d+)", text, re.M)
    if not exponent or len(fields) < 7:
        raise Failure("could not read the RSA key that openssl made")
    fields["publicExponent"] = int(exponent.group(1))

    def encode(number):
        return b64url(number.to_bytes((number.bit_length() + 7) // 8, "big"))

    public = {"e": encode(fields["publicExponent"]), "kty": "RSA", "n": encode(fields["modulus"])}
    # The kid is the key's RFC 7638 thumbprint.
    kid = b64url(hashlib.sha256(json.dumps(public, separators=(",", ":"), sort_keys=True).encode()).digest())
    key = dict(public, kid=kid, alg="RS256", use="sig",
               d=encode(fields["privateExponent"]), p=encode(fields["prime1"]), q=encode(fields["prime2"]),
               dp=encode(fields["exponent1"]), dq=encode(fields["exponent2"]), qi=encode(fields["coefficient"]))
    return json.dumps({"keys": [key]}), kid


def wait_until_up(base, pid_file, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with open(pid_file) as f:
            pid = int(f.read().strip())
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            raise Failure("glewlwyd exited during start")
        try:
            with urllib.request.urlopen(base + "/config/", timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.1)
    raise Failure(f"glewlwyd did not answer on {base} within {seconds} s")


def plugin_parameters(issuer, jwks, kid, resource_list):
    token_seconds = int(os.environ.get("OIDC_PROVIDER_TOKEN_SECONDS", "3600"))
    return {
        "iss": issuer,
        "jwt-type": "rsa",
        "jwt-key-size": "256",
        "jwks-private": jwks,
        "default-kid": kid,
        "jwks-show": True,
        "subject-type": "public",
        "access-token-duration": token_seconds,
        "refresh-token-duration": 1209600,
        "code-duration": 600,
        "refresh-token-rolling": True,
        "allow-non-oidc": True,
        "auth-type-code-enabled": True,
        "auth-type-token-enabled": False,
        "auth-type-id-token-enabled": True,
        "auth-type-none-enabled": False,
        "auth-type-password-enabled": False,
        "auth-type-client-enabled": True,
        "auth-type-device-enabled": False,
        "auth-type-refresh-enabled": True,
        "pkce-allowed": True,
        "pkce-method-plain-allowed": False,
        "pkce-required": True,
        "pkce-required-public-client": True,
        "pkce-scopes": [],
        "allowed-scope": CLIENT_SCOPES,
        "scope": [],
        # Access tokens carry `roles` too: the user's, or for client_credentials the client's
        # (comma separated when there are several).
        "additional-parameters": [
            {"user-parameter": "roles", "token-parameter": "roles", "token-changed": False},
            {"client-parameter": "roles", "token-parameter": "roles", "token-changed": False}],
        "name-claim": "mandatory",
        "name-claim-scope": ["profile"],
        "email-claim": "mandatory",
        "email-claim-scope": ["email"],
        "scope-claim": "no",
        "scope-claim-scope": [],
        "address-claim": {"type": "no", "formatted": "", "street_address": "", "locality": "",
                          "region": "", "postal_code": "", "country": "", "mandatory": False},
        # Every ID token (and /userinfo) carries the user's `roles` property as the claim `roles`,
        # and the username as `preferred_username`.
        "claims": [{"name": "roles", "user-property": "roles", "type": "string",
                    "boolean-value-true": "", "boolean-value-false": "",
                    "mandatory": True, "on-demand": False, "scope": []},
                   {"name": "preferred_username", "user-property": "username", "type": "string",
                    "boolean-value-true": "", "boolean-value-false": "",
                    "mandatory": True, "on-demand": False, "scope": []}],
        "request-parameter-allow": True,
        "request-maximum-exp": 3600,
        "introspection-revocation-allowed": True,
        "introspection-revocation-auth-scope": [],
        "introspection-revocation-allow-target-client": True,
        "session-management-allowed": True,
        "session-cookie-name": "GLEWLWYD2_OIDC_SID",
        "session-cookie-expiration": 3600,
        # The end-session page lists the session's clients through an API that answers 400
        # unless front-channel logout is allowed (no client here has a front-channel URI).
        "front-channel-logout-allowed": True,
        "back-channel-logout-allowed": False,
        "resource-allowed": True,
        "resource-scope": {scope: resource_list for scope in CLIENT_SCOPES} if resource_list else {},
        "resource-client-property": "resource",
        "resource-scope-and-client-property": False,
        "register-client-allowed": False,
        "encrypt-out-token-allow": False,
        "oauth-dpop-allowed": False,
        "oauth-rar-allowed": False,
        "oauth-par-allowed": False,
        "oauth-ciba-allowed": False,
        "service-documentation": "",
    }


def put_or_post(admin, collection, key, body):
    """Creates the object, or replaces it when it exists already."""
    existing = admin.call("GET", f"{collection}{urllib.parse.quote(key)}", expect=(200, 404))
    if existing is None or (isinstance(existing, dict) and existing.get("error")):
        admin.call("POST", collection, body)
    else:
        admin.call("PUT", f"{collection}{urllib.parse.quote(key)}", body)


def add_client(admin, client_id, secret, redirect_uris):
    """A confidential client; OIDC_PROVIDER_CLIENT_ROLES (space separated) become the `roles` of
    its client_credentials tokens."""
    client = {
        "client_id": client_id,
        "name": client_id,
        "description": "Bedside test client",
        "enabled": True,
        "confidential": True,
        "client_secret": secret,
        "token_endpoint_auth_method": ["client_secret_basic", "client_secret_post"],
        "redirect_uri": list(redirect_uris),
        "authorization_type": ["code", "refresh_token", "client_credentials"],
        # Scopes it gets through client_credentials (an access token for the client itself).
        "scope": CLIENT_SCOPES,
    }
    if resources(redirect_uris):
        client["resource"] = resources(redirect_uris)
    roles = os.environ.get("OIDC_PROVIDER_CLIENT_ROLES", "").split()
    if roles:
        client["roles"] = roles
    if post_logout_uris(redirect_uris):
        # end_session reads the plural, a list; the package's client backend knows only the singular.
        client["post_logout_redirect_uris"] = post_logout_uris(redirect_uris)
    put_or_post(admin, "/api/client/", client_id, client)


def grant_consent(base, client_id):
    """Each test user consents to the client's scopes, so the login page goes straight through.
    (The list is space separated, whatever the API description says.)"""
    for username in USERS:
        user = Session(base)
        user.sign_in(username, password_of(username))
        user.call("PUT", f"/api/auth/grant/{urllib.parse.quote(client_id)}/", {"scope": " ".join(CLIENT_SCOPES)})


def configure(directory, base):
    base = base.rstrip("/")
    started = time.monotonic()
    wait_until_up(base, os.path.join(directory, "glewlwyd.pid"))
    issuer = f"{base}/api/{PLUGIN}"
    admin = Session(base)
    admin.sign_in("admin", "password")

    # The database backends keep a multi-valued `roles` property for each user and client, and
    # the list of post-logout redirect URIs for each client.
    for kind, properties in (("user", ["roles"]), ("client", ["roles", "post_logout_redirect_uris"])):
        module = admin.call("GET", f"/api/mod/{kind}/database")
        for name in properties:
            module["parameters"].setdefault("data-format", {})[name] = {
                "multiple": True, "read": True, "write": True, "profile-read": True, "profile-write": False}
        admin.call("PUT", f"/api/mod/{kind}/database", {
            k: module[k] for k in ("module", "name", "display_name", "order_rank", "parameters", "readonly")
            if k in module})
        # The running instance keeps its old data format until it is reset.
        admin.call("PUT", f"/api/mod/{kind}/database/reset")

    # Signing in to the client needs the password (the package's `openid` scope needs none).
    for name, display in (("openid", "Open ID"), ("profile", "Your name"), ("email", "Your e-mail address")):
        put_or_post(admin, "/api/scope/", name, {
            "name": name, "display_name": display, "description": display,
            "password_required": True, "password_max_age": 0, "scheme": {}})

    secret = os.environ.get("BEDSIDE_OIDC_CLIENT_SECRET", "bedside-secret")
    redirects = os.environ.get("BEDSIDE_REDIRECT_URI", "http://127.0.0.1:8080/auth/callback").split()
    jwks, kid = rsa_jwks(directory)
    put_or_post(admin, "/api/mod/plugin/", PLUGIN, {
        "module": "oidc", "name": PLUGIN, "display_name": "Bedside test provider", "enabled": True,
        "parameters": plugin_parameters(issuer, jwks, kid, resources(redirects))})

    add_client(admin, "bedside", secret, redirects)

    for username, (name, roles) in USERS.items():
        put_or_post(admin, "/api/user/", username, {
            "username": username, "password": password_of(username), "name": name,
            "email": f"{username}@bedside.test", "enabled": True,
            "scope": CLIENT_SCOPES + ["g_profile"], "roles": roles})
    grant_consent(base, "bedside")

    with urllib.request.urlopen(issuer + "/.well-known/openid-configuration", timeout=5) as response:
        discovery = json.loads(response.read())
    if discovery.get("issuer") != issuer:
        raise Failure(f"the discovery document names the issuer {discovery.get('issuer')!r}, not {issuer!r}")
    with urllib.request.urlopen(discovery["jwks_uri"], timeout=5) as response:
        if kid not in [k.get("kid") for k in json.loads(response.read()).get("keys", [])]:
            raise Failure("the provider's JWKS does not hold the signing key")
    with open(os.path.join(directory, "url"), "w") as f:
        f.write(base + "\n")
    with open(os.path.join(directory, "issuer"), "w") as f:
        f.write(issuer + "\n")
    print(f"oidc provider: {issuer} configured in {time.monotonic() - started:.1f} s", file=sys.stderr)


def main(argv):
    try:
        if len(argv) == 3 and argv[0] == "configure":
            configure(os.path.abspath(argv[1]), argv[2])
        elif len(argv) >= 5 and argv[0] == "add-client":
            directory, client_id, secret, redirects = argv[1], argv[2], argv[3], argv[4:]
            with open(os.path.join(directory, "url")) as f:
                base = f.read().strip()
            admin = Session(base)
            admin.sign_in("admin", "password")
            add_client(admin, client_id, secret, redirects)
            grant_consent(base, client_id)
        else:
            print(__doc__.split("\n\n")[1], file=sys.stderr)
            return 2
    except (Failure, OSError, subprocess.CalledProcessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
