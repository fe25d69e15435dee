"""Proves that the test OpenID provider (scripts/oidc-provider.sh) signs a user in through the
authorization-code flow with PKCE on its real login page, without Bedside: a small relying party
on 127.0.0.1 sends headless Chromium to the provider, the browser signs in as alice, and the relying
party exchanges the code (client_secret_basic) and checks the ID token, its signature against the
provider's JWKS and its `roles` claim, then the refresh, client-credentials and end-session paths.

    python3 Tests/oidc/check_provider.py            # starts its own provider in a temporary directory
    python3 Tests/oidc/check_provider.py DIR        # uses the provider already running in DIR

Prints one line per check and `oidc: N passed, N failed`; exits 1 when a check failed.
Needs glewlwyd, chromium, chromium-driver and the Python packages selenium and cryptography.
"""
import base64
import hashlib
import http.server
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from login import SignInFailed, login_page_offers, sign_in, sign_out  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PROVIDER = os.path.join(ROOT, "scripts", "oidc-provider.sh")
CLIENT_ID = "check-rp"
CLIENT_SECRET = secrets.token_urlsafe(24)
RESOURCE = "http://127.0.0.1/bedside-check-api"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, condition, detail=""):
        if condition:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}{': ' + str(detail) if detail else ''}")
        return bool(condition)


class RelyingParty:
    """GET /login redirects to the provider's authorization endpoint with a fresh state, nonce and
    PKCE verifier (?resource=URL adds an RFC 8707 resource, ?pkce=no leaves the challenge out);
    GET /callback records what the provider sent back."""

    def __init__(self, discovery, client_id):
        self.discovery = discovery
        self.client_id = client_id
        self.port = free_port()
        self.pending = {}   # state -> {"nonce", "verifier"}
        self.callbacks = []  # query dicts, in arrival order
        party = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                if url.path == "/login":
                    options = dict(urllib.parse.parse_qsl(url.query))
                    state, nonce, verifier = (secrets.token_urlsafe(16), secrets.token_urlsafe(16),
                                              secrets.token_urlsafe(48))
                    party.pending[state] = {"nonce": nonce, "verifier": verifier}
                    parameters = {
                        "response_type": "code", "client_id": party.client_id,
                        "redirect_uri": party.redirect_uri, "scope": "openid profile email",
                        "state": state, "nonce": nonce}
                    if options.get("pkce") != "no":
                        parameters["code_challenge_method"] = "S256"
                        parameters["code_challenge"] = b64url(hashlib.sha256(verifier.encode()).digest())
                    if options.get("resource"):
                        parameters["resource"] = options["resource"]
                    query = urllib.parse.urlencode(parameters)
                    self.send_response(302)
                    self.send_header("Location", f"{party.discovery['authorization_endpoint']}?{query}")
                    self.end_headers()
                elif url.path in ("/callback", "/signed-out"):
                    if url.path == "/callback":
                        party.callbacks.append(dict(urllib.parse.parse_qsl(url.query)))
                    body = b"<!doctype html><title>Relying party</title><p id=done>Back at the relying party</p>"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.send_error(404)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def redirect_uri(self):
        return self.url + "/callback"

    def wait_for_callback(self, count, seconds=10):
        deadline = time.monotonic() + seconds
        while len(self.callbacks) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.callbacks[count - 1] if len(self.callbacks) >= count else None

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def http_json(url, form=None, auth=None, bearer=None):
    """(status, JSON body or text) of a GET, or of a form POST when form is given."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data)
    if auth:
        pair = f"{urllib.parse.quote(auth[0], safe='')}:{urllib.parse.quote(auth[1], safe='')}"
        request.add_header("Authorization", "Basic " + base64.b64encode(pair.encode()).decode())
    if bearer:
        request.add_header("Authorization", "Bearer " + bearer)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            status, text, headers = response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as error:
        status, text, headers = error.code, error.read().decode(errors="replace"), error.headers
    try:
        return status, json.loads(text), headers
    except ValueError:
        return status, text, headers


def verify_jwt(token, jwks):
    """The JWT's header and claims when its RS256 signature verifies against a key of the JWKS
    with its kid; raises ValueError otherwise."""
    try:
        header_part, claims_part, signature_part = token.split(".")
    except ValueError:
        raise ValueError("not a compact JWS")
    header = json.loads(b64url_decode(header_part))
    if header.get("alg") != "RS256":
        raise ValueError(f"signed with {header.get('alg')!r}, not RS256")
    keys = [k for k in jwks.get("keys", []) if k.get("kid") == header.get("kid") and k.get("kty") == "RSA"]
    if not keys:
        raise ValueError(f"no RSA key with kid {header.get('kid')!r} in the JWKS")
    numbers = rsa.RSAPublicNumbers(int.from_bytes(b64url_decode(keys[0]["e"]), "big"),
                                   int.from_bytes(b64url_decode(keys[0]["n"]), "big"))
    try:
        numbers.public_key().verify(b64url_decode(signature_part), f"{header_part}.{claims_part}".encode(),
                                    padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise ValueError("the signature does not verify")
    return header, json.loads(b64url_decode(claims_part))


def browser():
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--lang=en-US", "--window-size=1200,900"):
        options.add_argument(argument)
    binary = os.environ.get("CHROME_BINARY", "/usr/bin/chromium")
    if os.path.exists(binary):
        options.binary_location = binary
    driver_path = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
    service = Service(driver_path) if os.path.exists(driver_path) else Service()
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(20)
    return driver


def sign_in_through(results, driver, party, username, password, label, query=""):
    """Starts at the relying party, signs in on the provider's page; the callback's query or None."""
    before = len(party.callbacks)
    started = time.monotonic()
    driver.get(party.url + "/login" + query)
    try:
        landed = sign_in(driver, username, password)
    except SignInFailed as error:
        results.check(f"{label}: {username} signs in on the provider's login page", False, error)
        return None
    callback = party.wait_for_callback(before + 1)
    results.check(f"{label}: {username} signs in on the login page and is sent back "
                  f"({time.monotonic() - started:.1f} s)",
                  callback is not None and landed.startswith(party.redirect_uri), landed)
    return callback


def exchange(discovery, party, callback, client_secret=CLIENT_SECRET, verifier=None):
    pending = party.pending[callback["state"]]
    return http_json(discovery["token_endpoint"], form={
        "grant_type": "authorization_code", "code": callback["code"], "redirect_uri": party.redirect_uri,
        "code_verifier": verifier if verifier is not None else pending["verifier"]},
        auth=(party.client_id, client_secret))


def run(results, provider_dir):
    issuer_file = os.path.join(provider_dir, "issuer")
    if not results.check(f"{issuer_file} names the issuer", os.path.isfile(issuer_file)):
        return
    with open(issuer_file) as f:
        issuer = f.read().strip()
    status, discovery, _ = http_json(issuer + "/.well-known/openid-configuration")
    results.check("the discovery document answers at <issuer>/.well-known/openid-configuration",
                  status == 200 and isinstance(discovery, dict), status)
    if status != 200:
        return
    results.check("the discovery document names the issuer exactly", discovery.get("issuer") == issuer,
                  discovery.get("issuer"))
    endpoints = {k: discovery.get(k) for k in ("authorization_endpoint", "token_endpoint", "jwks_uri",
                                               "userinfo_endpoint", "end_session_endpoint")}
    results.check("every endpoint is under the issuer, with no doubled slash",
                  all(v and v.startswith(issuer + "/") and "//" not in v.split("://", 1)[1]
                      for v in endpoints.values()), endpoints)
    results.check("S256 is a supported code challenge method",
                  "S256" in discovery.get("code_challenge_methods_supported", []))
    status, jwks, _ = http_json(discovery["jwks_uri"])
    results.check("the JWKS holds an RSA public key and no private part",
                  status == 200 and any(k.get("kty") == "RSA" for k in jwks.get("keys", []))
                  and not any("d" in k for k in jwks.get("keys", [])), jwks)

    party = RelyingParty(discovery, CLIENT_ID)
    registered = subprocess.run(["bash", PROVIDER, "add-client", provider_dir, CLIENT_ID, CLIENT_SECRET,
                                 party.redirect_uri], capture_output=True, text=True,
                                env=dict(os.environ, OIDC_PROVIDER_RESOURCES=RESOURCE,
                                         OIDC_PROVIDER_CLIENT_ROLES="importer",
                                         OIDC_PROVIDER_POST_LOGOUT_REDIRECT_URI=party.url + "/signed-out"))
    if not results.check("add-client registers the relying party", registered.returncode == 0,
                         registered.stderr.strip()):
        party.stop()
        return
    driver = browser()
    try:
        check_code_flow(results, discovery, jwks, party, driver, issuer)
    finally:
        driver.quit()
        party.stop()
    check_client_credentials(results, discovery, jwks)


def check_code_flow(results, discovery, jwks, party, driver, issuer):
    callback = sign_in_through(results, driver, party, "alice", "alice-password", "code flow")
    if not callback:
        return
    results.check("the callback carries a code and the state that was sent",
                  callback.get("code") and callback.get("state") in party.pending, callback)
    if callback.get("state") not in party.pending:
        return
    pending = party.pending[callback["state"]]

    status, tokens, _ = exchange(discovery, party, callback, client_secret="not-the-secret")
    results.check("the token endpoint refuses a wrong client secret", status in (400, 401, 403), (status, tokens))
    status, tokens, _ = exchange(discovery, party, callback, verifier=secrets.token_urlsafe(48))
    results.check("the token endpoint refuses a wrong PKCE verifier", status in (400, 401, 403), (status, tokens))
    status, tokens, _ = exchange(discovery, party, callback)
    if not results.check("the code and its verifier are exchanged with client_secret_basic",
                         status == 200 and isinstance(tokens, dict) and "id_token" in tokens, (status, tokens)):
        return
    status, replay, _ = exchange(discovery, party, callback)
    results.check("the same code cannot be exchanged twice", status in (400, 401, 403), (status, replay))

    try:
        header, claims = verify_jwt(tokens["id_token"], jwks)
        results.check("the ID token's signature verifies against the provider's JWKS", True)
    except ValueError as error:
        results.check("the ID token's signature verifies against the provider's JWKS", False, error)
        return
    head, body, signature = tokens["id_token"].split(".")
    forged = b64url(json.dumps(dict(claims, roles=["admin"])).encode())
    try:
        verify_jwt(f"{head}.{forged}.{signature}", jwks)
        results.check("the same signature over altered claims does not verify", False, "it verified")
    except ValueError as error:
        results.check("the same signature over altered claims does not verify", "does not verify" in str(error), error)
    print(f"     ID token header {json.dumps(header)}")
    print(f"     ID token claims {json.dumps(claims, sort_keys=True)}")
    now = time.time()
    aud = claims.get("aud")
    results.check("iss is the issuer", claims.get("iss") == issuer, claims.get("iss"))
    results.check("aud is the client id", aud == party.client_id or (isinstance(aud, list) and party.client_id in aud),
                  aud)
    results.check("nonce is the one sent", claims.get("nonce") == pending["nonce"], claims.get("nonce"))
    results.check(f"exp is in the future and iat is now (lifetime {claims.get('exp', 0) - claims.get('iat', 0)} s)",
                  claims.get("exp", 0) > now and abs(claims.get("iat", 0) - now) < 120,
                  (claims.get("iat"), claims.get("exp")))
    results.check("roles is alice's role", claims.get("roles") in (["clinician"], "clinician"), claims.get("roles"))
    results.check("sub, name, preferred_username and email are alice's",
                  claims.get("sub") and claims.get("name") == "Alice Clinician"
                  and claims.get("preferred_username") == "alice"
                  and claims.get("email") == "alice@bedside.test", claims)

    try:
        _, access = verify_jwt(tokens["access_token"], jwks)
        results.check("the access token is a JWT signed by the same key", True)
        print(f"     access token claims {json.dumps(access, sort_keys=True)}")
    except ValueError as error:
        results.check("the access token is a JWT signed by the same key", False, error)
    status, userinfo, _ = http_json(discovery["userinfo_endpoint"], bearer=tokens["access_token"])
    results.check("userinfo answers with alice's roles", status == 200 and isinstance(userinfo, dict)
                  and userinfo.get("roles") in (["clinician"], "clinician"), (status, userinfo))

    status, refreshed, _ = http_json(discovery["token_endpoint"], form={
        "grant_type": "refresh_token", "refresh_token": tokens.get("refresh_token", "")},
        auth=(party.client_id, CLIENT_SECRET))
    results.check("the refresh token gives a new access token", status == 200 and isinstance(refreshed, dict)
                  and refreshed.get("access_token") and refreshed["access_token"] != tokens["access_token"],
                  (status, refreshed))

    # Another user in the same browser, asking for an access token for an API (RFC 8707 resource).
    callback = sign_in_through(results, driver, party, "audrey", "audrey-password", "second user",
                               "?" + urllib.parse.urlencode({"resource": RESOURCE}))
    audrey_id_token = None
    if callback:
        status, tokens2, _ = exchange(discovery, party, callback)
        audrey_id_token = tokens2.get("id_token") if status == 200 and isinstance(tokens2, dict) else None
        try:
            _, claims2 = verify_jwt(tokens2["id_token"], jwks) if status == 200 else (None, {})
            _, access2 = verify_jwt(tokens2["access_token"], jwks) if status == 200 else (None, {})
        except ValueError:
            claims2, access2 = {}, {}
        results.check("audrey's ID token says auditor, with her own sub",
                      claims2.get("roles") in (["auditor"], "auditor") and claims2.get("sub") != claims.get("sub"),
                      (status, claims2))
        results.check("her access token's aud is the resource asked for and it says auditor",
                      access2.get("aud") == RESOURCE and access2.get("roles") == "auditor"
                      and access2.get("sub") == claims2.get("sub"), access2)

    # PKCE is required: without a code challenge the provider sends an error back, not a login page.
    status, _, headers = http_json(party.url + "/login?pkce=no")
    location = headers.get("Location", "")
    status, _, headers = http_json(location)
    refused = headers.get("Location", "")
    results.check("an authorization request without a PKCE challenge is refused",
                  refused.startswith(party.redirect_uri) and "error=" in refused, (status, refused))

    # RP-initiated logout: end_session with audrey's ID token, confirmed on the provider's page,
    # back to the registered post-logout URI with the state; her provider session is over.
    end_session = discovery.get("end_session_endpoint")
    if results.check("the discovery document has an end_session_endpoint", end_session) and audrey_id_token:
        driver.get(end_session + "?" + urllib.parse.urlencode({
            "id_token_hint": audrey_id_token, "post_logout_redirect_uri": party.url + "/signed-out",
            "state": "bye"}))
        try:
            landed = sign_out(driver)
            results.check("end_session, confirmed, returns to the post-logout URI with the state",
                          landed == party.url + "/signed-out?state=bye", landed)
        except SignInFailed as error:
            results.check("end_session, confirmed, returns to the post-logout URI with the state", False, error)
        driver.get(party.url + "/login")
        shown = login_page_offers(driver) or f"no login page at {driver.current_url}"
        results.check("after end_session the provider asks for the password again", shown == "form", shown)

    # Consent not given yet: bob withdraws his grant to the client through the provider's own
    # API, then sign_in meets the consent screen and grants the scopes.
    base = origin_of(discovery["issuer"])
    grant_path = f"/api/auth/grant/{party.client_id}/openid%20profile%20email"
    withdrawn, _ = provider_api_as(base, "bob", "bob-password", "PUT", f"/api/auth/grant/{party.client_id}/",
                                   {"scope": ""})
    status, granted = provider_api_as(base, "bob", "bob-password", "GET", grant_path, None)
    results.check("bob's consent to the client is withdrawn", withdrawn == 200 and status == 200
                  and not any(s.get("granted") for s in granted.get("scope", [])), (withdrawn, granted))
    callback = sign_in_through(results, driver, party, "bob", "bob-password", "consent screen")
    if callback:
        status, tokens3, _ = exchange(discovery, party, callback)
        results.check("bob, having granted the scopes on the page, gets his ID token",
                      status == 200 and "id_token" in tokens3, (status, tokens3))
        status, granted = provider_api_as(base, "bob", "bob-password", "GET", grant_path, None)
        results.check("the provider now records bob's grant of profile and email",
                      status == 200 and all(s.get("granted") for s in granted.get("scope", [])
                                            if s.get("name") in ("profile", "email")), granted)

    # A wrong password stays on the provider's page and is reported.
    driver.get(party.url + "/login")
    try:
        sign_in(driver, "bob", "not-bobs-password", timeout=10)
        results.check("a wrong password is refused on the login page", False, "sign_in returned")
    except SignInFailed as error:
        results.check("a wrong password is refused on the login page", "refused" in str(error), error)


def origin_of(url):
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def provider_api_as(base, username, password, method, path, body):
    """(status, JSON body or None) of one call to glewlwyd's own API in a session signed in as the user."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    for step_method, step_path, step_body in (("POST", "/api/auth/", {"username": username, "password": password}),
                                              (method, path, body)):
        data = json.dumps(step_body).encode() if step_body is not None else None
        request = urllib.request.Request(base + step_path, data=data, method=step_method,
                                         headers={"Content-Type": "application/json"})
        try:
            with opener.open(request, timeout=10) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, ""
        if status != 200:
            return status, None
    return status, (json.loads(text) if text.strip() else None)


def check_client_credentials(results, discovery, jwks):
    """A program's bearer token: client_credentials with an RFC 8707 resource as its audience."""
    status, tokens, _ = http_json(discovery["token_endpoint"], form={
        "grant_type": "client_credentials", "scope": "openid", "resource": RESOURCE},
        auth=(CLIENT_ID, CLIENT_SECRET))
    if not results.check("client_credentials gives an access token", status == 200 and isinstance(tokens, dict)
                         and tokens.get("access_token"), (status, tokens)):
        return
    try:
        _, claims = verify_jwt(tokens["access_token"], jwks)
    except ValueError as error:
        results.check("the client_credentials token verifies against the JWKS", False, error)
        return
    print(f"     client_credentials token claims {json.dumps(claims, sort_keys=True)}")
    results.check("its aud is the requested resource, its sub the client, its roles the client's",
                  claims.get("aud") == RESOURCE and claims.get("sub") == CLIENT_ID and claims.get("roles") == "importer",
                  claims)


def main(argv):
    os.environ.setdefault("SE_OFFLINE", "true")
    os.environ.setdefault("SE_AVOID_STATS", "true")
    results = Results()
    own = not argv
    provider_dir = os.path.abspath(argv[0]) if argv else tempfile.mkdtemp(prefix="bedside-oidc-")
    keep = False
    try:
        if own:
            env = dict(os.environ, OIDC_PROVIDER_RESOURCES=RESOURCE)
            started = time.monotonic()
            try:
                start = subprocess.run(["bash", PROVIDER, "start", provider_dir], capture_output=True, text=True,
                                       env=env, timeout=60)
                ok, detail = start.returncode == 0, start.stderr.strip()[-2000:]
            except subprocess.TimeoutExpired:
                ok, detail = False, "no answer within 60 s"
            keep = not results.check(f"the provider starts and is configured ({time.monotonic() - started:.1f} s)",
                                     ok, detail)
        if not keep:
            run(results, provider_dir)
    finally:
        if own:
            subprocess.run(["bash", PROVIDER, "stop", provider_dir], capture_output=True, timeout=30)
            if keep or results.failed:
                print(f"     the provider's files (glewlwyd.log) are kept in {provider_dir}")
            else:
                shutil.rmtree(provider_dir, ignore_errors=True)
    print(f"oidc: {results.passed} passed, {results.failed} failed")
    return 1 if results.failed or not results.passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
