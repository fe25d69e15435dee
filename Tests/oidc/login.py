"""Signing in on the test OpenID provider's login page (glewlwyd's, from scripts/oidc-provider.sh)
with selenium.

    sign_in(driver, "alice", "alice-password")

The browser must already be on the provider, having followed the relying party's redirect to the
authorization endpoint. sign_in ends any earlier sign-in at the provider (so the user named is the
one who signs in), fills in the login form, grants the client's scopes if the provider asks, presses
Continue, and returns once the browser has left the provider for the relying party (the redirect
URI, or wherever the relying party sends it from there). It raises SignInFailed with what the page
shows when the provider refuses or nothing happens in time.

    sign_out(driver)

on the provider's end-session page (reached by following the relying party's redirect to the
end_session endpoint with an id_token_hint) confirms "Logout", and returns once the browser is
back at the relying party (the client's registered post-logout URI) or the provider says the
session is closed.
"""
import time
import urllib.parse

from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By

# glewlwyd's session cookie (its config's session_key). Cookies belong to a host, not a port, so
# on 127.0.0.1 the relying party sees this name too; it is the only cookie sign_in removes.
PROVIDER_SESSION_COOKIE = "GLEWLWYD2_SESSION_ID"


class SignInFailed(AssertionError):
    pass


def origin(url):
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _visible(driver, by, value):
    try:
        return [e for e in driver.find_elements(by, value) if e.is_displayed()]
    except (StaleElementReferenceException, WebDriverException):
        return []


def _button(driver, label):
    return _visible(driver, By.XPATH, f"//button[normalize-space(.)={label!r}]")


def _page_text(driver):
    try:
        return " ".join(driver.find_element(By.TAG_NAME, "body").text.split())[:400]
    except WebDriverException:
        return "(no page)"


def _wait(driver, condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise SignInFailed(f"{what} within {seconds} s; at {driver.current_url} the page shows: {_page_text(driver)}")


def login_page_offers(driver, seconds=15):
    """What the provider's login page offers: "form" (username and password) or "continue"
    (someone is still signed in there); None when no login page shows within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if "/login.html" in driver.current_url:
            if _visible(driver, By.ID, "password"):
                return "form"
            if _button(driver, "Continue"):
                return "continue"
        time.sleep(0.05)
    return None


def sign_in(driver, username, password, timeout=20):
    _wait(driver, lambda: "/login.html" in driver.current_url, timeout,
          "the browser did not reach the provider's login page")
    provider = origin(driver.current_url)
    # A user already signed in at the provider would be offered "Continue" as themselves.
    if driver.get_cookie(PROVIDER_SESSION_COOKIE):
        driver.delete_cookie(PROVIDER_SESSION_COOKIE)
        driver.refresh()

    fields = _wait(driver, lambda: (_visible(driver, By.ID, "username") and _visible(driver, By.ID, "password")
                                     and (driver.find_element(By.ID, "username"),
                                          driver.find_element(By.ID, "password"))),
                   timeout, "the login form did not appear")
    fields[0].clear()
    fields[0].send_keys(username)
    fields[1].clear()
    fields[1].send_keys(password)
    driver.find_element(By.ID, "loginbut").click()

    # The page may show Continue for a moment before it has asked whether the user consented,
    # and the provider does not check consent again on Continue; so ask it first, as the page does.
    deadline = time.monotonic() + timeout
    needs_grant = None
    while time.monotonic() < deadline:
        if origin(driver.current_url) != provider:
            return driver.current_url
        if "Authentication error" in _page_text(driver):
            raise SignInFailed(f"the provider refused {username}'s password")
        if needs_grant is None:
            needs_grant = _scopes_to_grant(driver)
        if needs_grant:
            grant = _button(driver, "Grant access")
            if grant:
                for box in _visible(driver, By.CSS_SELECTOR, "input[type=checkbox][id^='grant-']"):
                    if not box.is_selected():
                        box.click()
                grant[0].click()
                _wait(driver, lambda: not _button(driver, "Grant access"), timeout, "the grant was not saved")
                needs_grant = _scopes_to_grant(driver)
                if needs_grant:
                    raise SignInFailed(f"{username} granted the scopes but {needs_grant} are still not granted")
        elif needs_grant is not None:
            proceed = _button(driver, "Continue")
            if proceed:
                try:
                    proceed[0].click()
                except (StaleElementReferenceException, WebDriverException):
                    pass
                _wait(driver, lambda: origin(driver.current_url) != provider or not _button(driver, "Continue"),
                      timeout, "Continue did not leave the provider")
                continue
        time.sleep(0.05)
    raise SignInFailed(f"{username} was not sent back to the relying party within {timeout} s; "
                       f"at {driver.current_url} the page shows: {_page_text(driver)}")


def _scopes_to_grant(driver):
    """The requested scopes other than openid the signed-in user has not granted the client, asked
    of the provider's API from the login page (None while the page's session is not ready)."""
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(driver.current_url).query))
    client_id, scope = query.get("client_id"), query.get("scope")
    if not client_id or not scope:
        raise SignInFailed(f"the login page names no client or scope: {driver.current_url}")
    answer = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch("/api/auth/grant/" + encodeURIComponent(arguments[0]) + "/" + encodeURIComponent(arguments[1]),
              {credentials: "same-origin"})
            .then(r => r.ok ? r.json() : {status: r.status}).then(done, e => done({error: String(e)}));
    """, client_id, scope)
    if not isinstance(answer, dict) or "scope" not in answer:
        return None
    return [s["name"] for s in answer["scope"] if s.get("name") != "openid" and not s.get("granted")]


def sign_out(driver, timeout=20):
    _wait(driver, lambda: "/login.html" in driver.current_url and "prompt=end_session" in driver.current_url,
          timeout, "the browser did not reach the provider's end-session page")
    provider = origin(driver.current_url)
    button = _wait(driver, lambda: _button(driver, "Logout"), timeout, "the end-session page offered no Logout")
    button[0].click()
    _wait(driver, lambda: origin(driver.current_url) != provider or "You are disconnected" in _page_text(driver),
          timeout, "the provider did not end the session")
    return driver.current_url
