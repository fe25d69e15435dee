"""Signing in to Bedside in headless Chromium through a real OpenID provider (glewlwyd, started
on 127.0.0.1 by scripts/oidc-provider.sh) on its own login page, and what each person may then
see: alice's conversation is hers alone, bob reaches none of it by its id, audrey the auditor
reads both and the patient's audit, and a socket ends with the sign-in that opened it.

Bedside is reached at http://localhost:PORT and the provider at 127.0.0.1, so that their cookies
(which belong to a host name, not a port) stay apart. Bedside answers with its offline model,
whose tool calls are the same every time. Each class is skipped when glewlwyd is not installed
(.ci/run installs it).
"""
import datetime
import json
import os
import shutil
import sys
import time
import unittest
import urllib.parse

from axe_selenium_python import Axe
from selenium.webdriver.common.keys import Keys

from support import BrowserTestCase, Provider, Server, browser, free_port, wait

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oidc"))
from login import login_page_offers, sign_in, sign_out  # noqa: E402

SECRET = os.environ.get("BEDSIDE_OIDC_CLIENT_SECRET", "bedside-secret")
NAMES = {"alice": "Alice Clinician", "bob": "Bob Clinician", "audrey": "Audrey Auditor", "ada": "Ada Admin"}

# Every WebSocket the page opens records its URL (test.sockets: [{url, at}]) and its closes
# (test.closes: [{code, reason, at, by}], `by` "page" when the page closed it, "server" for the
# close event) in sessionStorage, which outlives a navigation in the same tab (to the provider
# and back to the same origin).
RECORD_CLOSES = """
(() => {
  const Native = window.WebSocket;
  const record = (entry) => {
    try {
      const list = JSON.parse(sessionStorage.getItem("test.closes") || "[]");
      list.push(entry);
      sessionStorage.setItem("test.closes", JSON.stringify(list));
    } catch {}
  };
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      const opened = JSON.parse(sessionStorage.getItem("test.sockets") || "[]");
      opened.push({url: String(args[0]), at: Date.now()});
      sessionStorage.setItem("test.sockets", JSON.stringify(opened));
      this.addEventListener("close", (e) => record({code: e.code, reason: e.reason, at: Date.now(), by: "server"}));
    }
    close(...args) {
      if (this.readyState < 2) record({code: args[0] ?? null, reason: args[1] ?? "", at: Date.now(), by: "page"});
      return super.close(...args);
    }
  };
})();
"""

# What the signed-out view says each time it is shown, also kept over navigations: [{heading, message, at}].
RECORD_SIGNED_OUT = """
(() => {
  const watch = () => {
    const view = document.getElementById("signed-out-view");
    if (!view) return false;
    const note = () => {
      if (view.hidden) return;
      const list = JSON.parse(sessionStorage.getItem("test.signedOut") || "[]");
      list.push({heading: document.getElementById("signed-out-heading").textContent,
                 message: document.getElementById("signed-out-message").textContent, at: Date.now()});
      sessionStorage.setItem("test.signedOut", JSON.stringify(list));
    };
    new MutationObserver(note).observe(view, {attributes: true, attributeFilter: ["hidden"]});
    note();
    return true;
  };
  if (!watch()) {
    const observer = new MutationObserver(() => { if (watch()) observer.disconnect(); });
    observer.observe(document, {childList: true, subtree: true});
  }
})();
"""

FETCH = """
const [path, method, body, done] = arguments;
const init = {method, credentials: "same-origin", cache: "no-store", headers: {}};
if (body !== null) { init.body = body; init.headers["Content-Type"] = "application/json"; }
fetch(path, init).then(async (r) => done({
  status: r.status, text: await r.text(),
  type: r.headers.get("content-type"), disposition: r.headers.get("content-disposition"),
  authenticate: r.headers.get("www-authenticate")}), (e) => done({status: 0, text: String(e)}));
"""


def epoch_ms(timestamp):
    """Milliseconds since 1970 of a server timestamp (ISO 8601, UTC, `Z`)."""
    return datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() * 1000


class Answer:
    def __init__(self, raw):
        self.status = raw["status"]
        self.text = raw.get("text") or ""
        self.type = raw.get("type") or ""
        self.disposition = raw.get("disposition") or ""
        self.authenticate = raw.get("authenticate") or ""

    def json(self):
        return json.loads(self.text)

    def __repr__(self):
        return f"{self.status} {self.text[:300]}"


class SignInCase(unittest.TestCase):
    """One provider and one Bedside (oidc and keys, and `server_args`) for each class, a browser
    or more for each test, and what a person does on the page."""

    provider = None
    server = None
    server_args = []

    @classmethod
    def setUpClass(cls):
        if not shutil.which("glewlwyd"):
            raise unittest.SkipTest("glewlwyd is not installed (apt-get install glewlwyd): the sign-in tests need a real OpenID provider")
        port = free_port()
        base = f"http://localhost:{port}"
        cls.provider = Provider([base + "/auth/callback"], SECRET)
        try:
            issuer = cls.provider.start()
            cls.server = Server(
                # The offline model's summary then streams for about 3 s: long enough to sign
                # out in the middle of it.
                env={"BEDSIDE_OIDC_CLIENT_SECRET": SECRET, "BEDSIDE_LLM": "offline", "BEDSIDE_OFFLINE_DELTA_MS": "40"},
                args=["--auth", "oidc,keys", "--oidc-issuer", issuer, "--oidc-client-id", "bedside",
                      "--public-url", base] + cls.server_args,
                host="localhost", port=port)
            cls.server.start()
        except Exception:
            cls.tearDownClass()
            raise
        cls.patient = cls.server.example_patient() or "Maria Garcia"

    @classmethod
    def tearDownClass(cls):
        if cls.server:
            cls.server.stop()
        if cls.provider:
            cls.provider.stop()

    def setUp(self):
        self.drivers = []

    def tearDown(self):
        for driver in self.drivers:
            driver.quit()

    # The browser

    def new_browser(self, width=1280, height=900, record=True):
        driver = browser(width, height)
        self.drivers.append(driver)
        if record:
            self.record(driver)
        return driver

    @staticmethod
    def record(driver):
        """Closes and signed-out views of every later document in the driver's current tab."""
        for script in (RECORD_CLOSES, RECORD_SIGNED_OUT):
            driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": script})

    @staticmethod
    def recorded(driver, name):
        return json.loads(driver.execute_script(f"return sessionStorage.getItem('test.{name}') || '[]'"))

    def open_signed_out(self, driver, path="/"):
        driver.get(self.server.url + path)
        wait(driver, lambda d: self.shown(d, "signed-out-view") and self.shown(d, "sign-in-link"), 15,
             "the signed-out view with its Sign-in link did not show")

    def sign_in(self, driver, user, path="/", chats=True):
        """Signs `user` in from the signed-out view at `path`, by its Sign-in link and the
        provider's login page; returns /auth/me."""
        if not self.shown(driver, "sign-in-link"):
            self.open_signed_out(driver, path)
        driver.find_element("id", "sign-in-link").click()
        sign_in(driver, user, f"{user}-password")
        wait(driver, lambda d: d.current_url.startswith(self.server.url) and self.shown(d, "account"), 15,
             f"{user} did not come back signed in")
        self.assertEqual(driver.find_element("id", "account-name").text, NAMES[user])
        if chats:
            wait(driver, lambda d: self.status(d) == "connected", 15, f"{user}'s page never connected")
        me = self.fetch(driver, "/auth/me")
        self.assertEqual(me.status, 200, me)
        return me.json()

    def fetch(self, driver, path, method="GET", body=None):
        return Answer(driver.execute_async_script(FETCH, path, method, None if body is None else json.dumps(body)))

    @staticmethod
    def shown(driver, element_id):
        return driver.execute_script(
            "const e = document.getElementById(arguments[0]); return !!e && e.checkVisibility();", element_id)

    # The page readers the other browser tests use.
    status = staticmethod(BrowserTestCase.status)
    session_id = staticmethod(BrowserTestCase.session_id)
    messages = staticmethod(BrowserTestCase.messages)
    busy = staticmethod(BrowserTestCase.busy)

    @staticmethod
    def sidebar(driver):
        """{id: title} of the sidebar's rows."""
        return driver.execute_script(
            "return Object.fromEntries([...document.querySelectorAll('#session-list li.session-item')].map(li => "
            "[li.dataset.sessionId, li.querySelector('.session-title')?.textContent ?? null]))")

    def ask(self, driver, text):
        box = driver.find_element("id", "composer-input")
        box.click()
        box.send_keys(text)
        driver.find_element("css selector", "chat-composer button.send").click()

    def wait_turns_ended(self, driver, turns, timeout=30):
        wait(driver, lambda d: d.execute_script(
            "return [...document.querySelectorAll('telemetry-panel li.turn')]"
            ".filter(t => !t.classList.contains('status-running')).length") >= turns and not self.busy(d),
            timeout, f"{turns} turn(s) did not end")

    def axe_violations(self, driver):
        axe = Axe(driver)
        axe.inject()
        found = [v for v in axe.run()["violations"] if v.get("impact") in ("serious", "critical")]
        return "\n".join(f"{v['id']} ({v['impact']}): {v['help']} {[n['target'] for n in v['nodes']][:5]}" for v in found)

    def question(self):
        return f"What conditions does {self.patient} have?"

    def assert_history_shown(self, driver, history):
        """The page shows each stored message once: every user message, every final reply
        (and the streamed text of a reply that never got one), nothing more."""
        shown = self.messages(driver)
        seqs = [m[2] for m in shown]
        self.assertEqual(len(seqs), len(set(seqs)), f"doubled: {shown}")
        users = [e["content"] for e in history if e["type"] == "user"]
        finals = [e for e in history if e["type"] == "assistant" and not e["streaming"]]
        streamed_only = {e["message_id"] for e in history if e["type"] == "assistant"} - {e["message_id"] for e in finals}
        errors = [e for e in history if e["type"] == "error"]
        self.assertEqual([m[1] for m in shown if m[0] == "user"], users, f"shown {shown}")
        self.assertEqual(len([m for m in shown if m[0] == "assistant"]), len(finals) + len(streamed_only), f"shown {shown}")
        self.assertEqual(len(shown), len(users) + len(finals) + len(streamed_only) + len(errors), f"shown {shown}")


class SignInTests(SignInCase):
    """What the tests make (alice's conversation, bob's) is kept on the class so that later
    tests build on it, and made afresh when a test runs alone."""

    made = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.made = {}

    # What later tests build on

    def alice_conversation(self, driver=None):
        """alice signs in (in `driver`, else a browser of her own), asks about the seeded patient
        and gets the answer: {id, key, question, patient_id, audit, events} of her conversation.
        Made once per class."""
        if "alice" in self.made and driver is None:
            return self.made["alice"]
        driver = driver or self.new_browser()
        me = self.sign_in(driver, "alice")
        self.assertEqual(me["method"], "cookie")
        cookie = driver.get_cookie("bedside_session")
        self.assertTrue(cookie, driver.get_cookies())
        self.assertEqual((cookie["httpOnly"], cookie.get("sameSite"), cookie["path"], cookie["secure"]),
                         (True, "Lax", "/", False), cookie)
        self.assertNotIn("bedside_session", driver.execute_script("return document.cookie"))
        self.assertEqual(me["principal"]["roles"], ["clinician"])
        self.assertEqual(me["principal"]["name"], NAMES["alice"])
        session = self.session_id(driver)
        self.ask(driver, self.question())
        self.wait_turns_ended(driver, 1)
        audit = self.fetch(driver, f"/sessions/{session}/audit").json()["records"]
        patients = {p for record in audit for p in record["patient_ids"]}
        self.assertEqual(len(patients), 1, audit)
        made = {"id": session, "key": me["principal"]["key"], "question": self.question(),
                "patient_id": patients.pop(), "audit": audit}
        made["events"] = self.fetch(driver, f"/sessions/{session}/events?limit=10000").json()["events"]
        type(self).made["alice"] = made
        return made

    def bob_conversation(self):
        if "bob" not in self.made:
            self.bob_cannot_reach_alice_and_asks_himself()
        return self.made["bob"]

    # The tests, in the order a person would meet them

    def test_1_alice_signs_in_chats_renames_exports_reads_the_audit_and_signs_out(self):
        driver = self.new_browser()
        self.open_signed_out(driver)
        self.assertEqual(driver.find_element("id", "signed-out-heading").text, "Not signed in")
        self.assertFalse(self.shown(driver, "composer-input"), "the chat shows while signed out")
        link = driver.find_element("id", "sign-in-link").get_attribute("href")
        self.assertTrue(link.startswith(self.server.url + "/auth/login?return_to=%2F"), link)
        self.assertEqual(self.fetch(driver, "/sessions").status, 401)

        alice = self.alice_conversation(driver)
        session = alice["id"]
        shown = self.messages(driver)
        self.assertEqual([m[0] for m in shown], ["user", "assistant"], shown)
        self.assertEqual(shown[0][1], alice["question"])
        self.assertIn(self.patient.split()[-1], shown[1][1], "the answer names the patient")
        self.assertIn("Condition/", shown[1][1])

        # The sidebar lists it under its first message; a rename shows there and in GET /sessions.
        wait(driver, lambda d: self.sidebar(d).get(session) == alice["question"], 10,
             f"the sidebar does not list the conversation: {self.sidebar(driver)}")
        row = driver.find_element("css selector", f"li.session-item[data-session-id='{session}']")
        self.assertEqual(row.find_element("css selector", "a.session-link").get_attribute("aria-current"), "page")
        row.find_element("css selector", "button.session-rename").click()
        field = wait(driver, lambda d: d.find_element("id", "rename-input"), 5)
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys("Alice's first conversation, renamed", Keys.ENTER)
        wait(driver, lambda d: self.sidebar(d).get(session) == "Alice's first conversation, renamed", 10,
             f"the sidebar does not show the new title: {self.sidebar(driver)}")
        listed = {s["id"]: s for s in self.fetch(driver, "/sessions").json()["sessions"]}
        self.assertEqual(listed[session]["title"], "Alice's first conversation, renamed")
        self.assertEqual(listed[session]["turn_count"], 1)
        self.assertEqual(listed[session]["last_turn_status"], "completed")
        type(self).made["alice"]["title"] = "Alice's first conversation, renamed"

        # Export: the links of the page, and what they download.
        wait(driver, lambda d: self.shown(d, "export-markdown"), 5, "no export links")
        self.assertTrue(driver.find_element("id", "export-markdown").get_attribute("href")
                        .endswith(f"/sessions/{session}/export?format=markdown"))
        self.assertTrue(driver.find_element("id", "export-json").get_attribute("href")
                        .endswith(f"/sessions/{session}/export?format=json"))
        resources = sorted({r for record in alice["audit"] for r in record["resources"]})
        self.assertTrue(any(r.startswith("Condition/") for r in resources), resources)
        markdown = self.fetch(driver, f"/sessions/{session}/export?format=markdown")
        self.assertEqual(markdown.status, 200, markdown)
        self.assertTrue(markdown.type.startswith("text/markdown"), markdown.type)
        self.assertIn("attachment", markdown.disposition)
        self.assertIn(alice["question"], markdown.text)
        self.assertIn("search_clinical", markdown.text)
        self.assertIn("find_patients", markdown.text)
        for resource in resources:
            self.assertIn(resource, markdown.text, "the transcript names the records read")
        exported = self.fetch(driver, f"/sessions/{session}/export?format=json")
        self.assertEqual(exported.status, 200, exported)
        self.assertIn(f'filename="bedside-{session}.json"', exported.disposition)
        body = exported.json()
        self.assertEqual(body["session"]["id"], session)
        self.assertEqual(body["session"]["title"], "Alice's first conversation, renamed")
        self.assertEqual([e["content"] for e in body["events"] if e["type"] == "user"], [alice["question"]])
        tools = [e["tool_name"] for e in body["events"] if e["type"] == "tool_call"]
        self.assertIn("search_clinical", tools, [e["type"] for e in body["events"]])
        self.assertEqual(sorted({r for record in body["audit"] for r in record["resources"]}), resources)
        self.assertEqual(body["events"], self.fetch(driver, f"/sessions/{session}/events?limit=10000").json()["events"])

        # The access audit view of this conversation.
        driver.find_element("id", "audit-summary").click()
        wait(driver, lambda d: d.find_elements("css selector", "#audit-table tbody tr"), 10, "no audit table")
        rows = driver.find_elements("css selector", "#audit-table tbody tr")
        self.assertEqual(len(rows), len(alice["audit"]))
        table = driver.find_element("id", "audit-table").text
        self.assertIn(alice["patient_id"], table)
        self.assertIn("search_clinical", table)

        # Sign out: the page closes its socket and says so, then the provider ends its own
        # sign-in (its end-session page, confirmed); the cookie no longer signs anyone in.
        before = len(self.recorded(driver, "closes"))
        driver.find_element("id", "sign-out").click()
        sign_out(driver)
        if not driver.current_url.startswith(self.server.url):
            # Where glewlwyd stays without a `state` (test_1b): come back by hand.
            driver.get(self.server.url + "/")
        wait(driver, lambda d: self.shown(d, "signed-out-view"), 10, "no signed-out view after signing out")
        closes = self.recorded(driver, "closes")[before:]
        self.assertTrue(closes, "the socket was not closed")
        self.assertTrue(closes[0]["by"] == "page" or closes[0]["code"] == 4401, closes)
        views = [v for v in self.recorded(driver, "signedOut") if v["heading"] == "Signed out"]
        self.assertTrue(views and views[-1]["message"] == "You signed out.", views)
        self.assertEqual(driver.find_element("id", "signed-out-heading").text, "Not signed in")
        self.assertTrue(self.shown(driver, "sign-in-link"))
        self.assertFalse(self.shown(driver, "account"))
        self.assertFalse(self.shown(driver, "composer-input"))
        me = self.fetch(driver, "/auth/me")
        self.assertEqual(me.status, 401, me)
        self.assertEqual(me.json()["code"], "unauthenticated")
        self.assertEqual(self.fetch(driver, f"/sessions/{session}/events").status, 401)
        self.assertIsNone(driver.get_cookie("bedside_session"), "the sign-in cookie was not cleared")
        # The provider's sign-in ended too: signing in again asks for the password.
        driver.find_element("id", "sign-in-link").click()
        self.assertEqual(login_page_offers(driver), "form")

    def test_1b_signing_out_at_the_provider_comes_back_to_bedside(self):
        driver = self.new_browser()
        self.sign_in(driver, "alice")
        driver.find_element("id", "sign-out").click()
        wait(driver, lambda d: "prompt=end_session" in d.current_url, 15, "the page did not go to the provider's end-session page")
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(driver.current_url).query))
        callback = query.get("callback_url", "")
        self.assertTrue(callback.startswith(self.server.url + "/"), f"post-logout redirect to {callback!r}")
        sign_out(driver)
        back = driver.current_url.startswith(self.server.url)
        self.assertTrue(back, f"the provider did not send the browser back to Bedside: at {driver.current_url}")
        wait(driver, lambda d: self.shown(d, "signed-out-view"), 10, "no signed-out view back at Bedside")
        self.assertEqual(self.fetch(driver, "/auth/me").status, 401)

    def test_2_bob_reaches_nothing_of_alice_by_her_session_id(self):
        self.bob_cannot_reach_alice_and_asks_himself()

    def bob_cannot_reach_alice_and_asks_himself(self):
        alice = self.alice_conversation()
        driver = self.new_browser()
        path = f"/?session={alice['id']}"
        self.open_signed_out(driver, path)
        me = self.sign_in(driver, "bob", path)
        self.assertNotEqual(me["principal"]["key"], alice["key"])
        self.assertEqual(self.session_id(driver), alice["id"], "the page did not come back to the same URL")
        time.sleep(0.5)  # a replay of someone else's events would have arrived by now
        self.assertEqual(self.messages(driver), [])
        page = driver.find_element("tag name", "body").text
        self.assertNotIn(alice["question"], page)
        self.assertNotIn(alice["patient_id"], page)
        self.assertNotIn(alice["id"], self.sidebar(driver))

        events = self.fetch(driver, f"/sessions/{alice['id']}/events?after=0")
        self.assertEqual((events.status, events.json()["events"]), (200, []), events)
        audit = self.fetch(driver, f"/sessions/{alice['id']}/audit")
        self.assertEqual((audit.status, audit.json()["records"]), (200, []), audit)
        for form in ("json", "markdown"):
            exported = self.fetch(driver, f"/sessions/{alice['id']}/export?format={form}")
            self.assertEqual(exported.status, 404, exported)
            self.assertNotIn(alice["question"], exported.text)
        renamed = self.fetch(driver, f"/sessions/{alice['id']}", "PATCH", {"title": "bob was here"})
        self.assertEqual((renamed.status, renamed.json().get("code")), (404, "not_found"), renamed)
        deleted = self.fetch(driver, f"/sessions/{alice['id']}", "DELETE")
        self.assertEqual(deleted.status, 404, deleted)
        self.assertEqual(self.fetch(driver, "/sessions").json()["sessions"], [])
        self.assertEqual(self.fetch(driver, "/principals").status, 403, "a clinician lists the principals")
        self.assertEqual(self.fetch(driver, f"/audit?patient={alice['patient_id']}").status, 403)

        # bob asks about the same patient in a conversation of his own.
        driver.find_element("css selector", "button.new-chat").click()
        wait(driver, lambda d: self.session_id(d) != alice["id"] and self.status(d) == "connected", 10)
        session = self.session_id(driver)
        self.ask(driver, self.question())
        self.wait_turns_ended(driver, 1)
        audit = self.fetch(driver, f"/sessions/{session}/audit").json()["records"]
        self.assertIn(alice["patient_id"], {p for record in audit for p in record["patient_ids"]})
        wait(driver, lambda d: list(self.sidebar(d)) == [session], 10, f"bob's sidebar: {self.sidebar(driver)}")
        type(self).made["bob"] = {"id": session, "key": me["principal"]["key"]}

    def test_2b_one_session_id_under_two_people_is_two_conversations(self):
        alice = self.alice_conversation()
        self.bob_conversation()  # bob has looked for alice's session before he writes to one of that id
        path = f"/?session={alice['id']}"
        hers = self.new_browser()
        self.sign_in(hers, "alice", path)
        wait(hers, lambda d: len(self.messages(d)) == 2, 10, "alice's conversation did not open")
        his = self.new_browser()
        self.sign_in(his, "bob", path)
        self.assertEqual(self.session_id(his), alice["id"])
        # Both pages have a socket on the same id; each one's events reach only its own.
        question = f"Bob, in a session of the same id: which allergies does {self.patient} have?"
        self.ask(his, question)
        self.wait_turns_ended(his, 1)
        follow_up = f"Alice's follow-up: which medications does {self.patient} take?"
        self.ask(hers, follow_up)
        self.wait_turns_ended(hers, 2)
        time.sleep(0.5)  # anything crossing over would have arrived by now
        his_events = self.fetch(his, f"/sessions/{alice['id']}/events?limit=10000").json()["events"]
        her_events = self.fetch(hers, f"/sessions/{alice['id']}/events?limit=10000").json()["events"]
        self.assertEqual([e["content"] for e in his_events if e["type"] == "user"], [question])
        self.assertEqual([e["content"] for e in her_events if e["type"] == "user"], [alice["question"], follow_up])
        self.assertEqual(her_events[:len(alice["events"])], alice["events"], "bob's turn changed alice's history")
        self.assert_history_shown(his, his_events)
        self.assert_history_shown(hers, her_events)
        self.assertNotIn(follow_up, his.find_element("tag name", "body").text)
        self.assertNotIn(question, hers.find_element("tag name", "body").text)
        self.assertEqual(self.sidebar(hers).get(alice["id"]), alice.get("title", alice["question"]),
                         "bob's conversation renamed alice's in her sidebar")
        self.assertEqual(self.sidebar(his).get(alice["id"]), question)
        her_audit = self.fetch(hers, f"/sessions/{alice['id']}/audit").json()["records"]
        his_audit = self.fetch(his, f"/sessions/{alice['id']}/audit").json()["records"]
        for events, audit, who in ((her_events, her_audit, "alice"), (his_events, his_audit, "bob")):
            turns = {e["turn_id"] for e in events if e["type"] == "turn"}
            self.assertTrue(audit and all(r["turn_id"] in turns for r in audit), f"{who}'s audit has others' reads: {audit}")
        type(self).made["alice"].update(events=her_events, audit=her_audit)
        type(self).made["bob_same_id"] = question

    def test_3_audrey_the_auditor_reads_both_and_the_patients_audit(self):
        alice = self.alice_conversation()
        bob = self.bob_conversation()
        driver = self.new_browser()
        me = self.sign_in(driver, "audrey", chats=False)
        self.assertEqual(me["principal"]["roles"], ["auditor"])
        # Her page says she cannot chat, and does not knock on /ws again and again.
        wait(driver, lambda d: self.shown(d, "no-chat-view"), 10, "an auditor's page does not say she cannot chat")
        self.assertIn("auditor", driver.find_element("id", "no-chat-message").text)
        self.assertFalse(self.shown(driver, "composer-input"))
        time.sleep(1.0)
        self.assertEqual(self.recorded(driver, "sockets"), [], "the page opened sockets the server refuses")
        self.assertEqual(self.axe_violations(driver), "", "an auditor's page")
        chat = self.fetch(driver, "/ws?session_id=audrey-tries-to-chat")
        self.assertEqual((chat.status, chat.json().get("code")), (403, "forbidden"), chat)

        principals = self.fetch(driver, "/principals")
        self.assertEqual(principals.status, 200, principals)
        named = {p["key"]: p["name"] for p in principals.json()["principals"]}
        self.assertEqual(named.get(alice["key"]), NAMES["alice"], named)
        self.assertEqual(named.get(bob["key"]), NAMES["bob"], named)

        listed = self.fetch(driver, f"/principals/{alice['key']}/sessions").json()["sessions"]
        self.assertIn(alice["id"], [s["id"] for s in listed])
        title = alice.get("title", alice["question"])
        self.assertEqual({s["id"]: s["title"] for s in listed}[alice["id"]], title)
        events = self.fetch(driver, f"/principals/{alice['key']}/sessions/{alice['id']}/events?limit=10000").json()["events"]
        self.assertEqual(events, alice["events"], "alice's conversation is not as she left it")
        audit = self.fetch(driver, f"/principals/{alice['key']}/sessions/{alice['id']}/audit").json()["records"]
        self.assertEqual(audit, alice["audit"])
        exported = self.fetch(driver, f"/principals/{alice['key']}/sessions/{alice['id']}/export?format=markdown")
        self.assertEqual(exported.status, 200, exported)
        self.assertIn(alice["question"], exported.text)
        bobs = self.fetch(driver, f"/principals/{bob['key']}/sessions").json()["sessions"]
        self.assertIn(bob["id"], [s["id"] for s in bobs])
        if "bob_same_id" in self.made:  # test_2b: bob's own session of alice's id
            self.assertEqual({s["id"]: s["title"] for s in bobs}.get(alice["id"]), self.made["bob_same_id"])
        bob_events = self.fetch(driver, f"/principals/{bob['key']}/sessions/{bob['id']}/events").json()["events"]
        self.assertEqual([e["content"] for e in bob_events if e["type"] == "user"], [self.question()])
        # Her own session of alice's id is another, empty one.
        own = self.fetch(driver, f"/sessions/{alice['id']}/events").json()["events"]
        self.assertEqual(own, [])

        reads = self.fetch(driver, f"/audit?patient={alice['patient_id']}")
        self.assertEqual(reads.status, 200, reads)
        records = reads.json()["records"]
        self.assertEqual(reads.json()["patient_id"], alice["patient_id"])
        by = {(r["principal"]["key"], r["session_id"]) for r in records}
        self.assertIn((alice["key"], alice["id"]), by, records)
        self.assertIn((bob["key"], bob["id"]), by, records)
        self.assertTrue(all(alice["patient_id"] in r["patient_ids"] for r in records), records)
        names = {r["principal"]["key"]: r["principal"]["name"] for r in records}
        self.assertEqual((names[alice["key"]], names[bob["key"]]), (NAMES["alice"], NAMES["bob"]))

    def test_4_signing_out_in_another_tab_ends_the_socket_and_the_page_resumes(self):
        driver = self.new_browser()
        first = driver.current_window_handle
        self.sign_in(driver, "alice")
        session = self.session_id(driver)
        # The offline model's summary is its longest answer: it is still streaming at the sign-out.
        self.ask(driver, f"Summarize {self.patient}")
        wait(driver, lambda d: any(m[0] == "assistant" for m in self.messages(d)), 15, "no reply started")
        self.assertTrue(self.busy(driver), "the turn ended before the sign-out")
        closes_before = len(self.recorded(driver, "closes"))

        driver.switch_to.new_window("tab")
        second = driver.current_window_handle
        driver.get(self.server.url + "/health")
        signed_out_at = driver.execute_script("return Date.now()")
        logout = self.fetch(driver, "/auth/logout", "POST")
        self.assertEqual(logout.status, 200, logout)
        driver.switch_to.window(first)
        wait(driver, lambda d: self.shown(d, "signed-out-view"), 6, "the first tab did not show the signed-out view")
        self.assertEqual(driver.find_element("id", "signed-out-message").text, "You signed out.")
        self.assertEqual(driver.find_element("id", "signed-out-heading").text, "Signed out")
        closes = self.recorded(driver, "closes")[closes_before:]
        ended = [c for c in closes if c["code"] == 4401]
        self.assertTrue(ended, f"no 4401 close: {closes}")
        self.assertEqual(ended[0]["reason"], "signed_out")
        self.assertLessEqual(ended[0]["at"] - signed_out_at, 5000, "closed later than 5 s after the sign-out")
        view = [v for v in self.recorded(driver, "signedOut") if v["heading"] == "Signed out" and v["at"] >= signed_out_at][0]
        self.assertLessEqual(view["at"] - signed_out_at, 5000, "the signed-out view came later than 5 s")

        # Signing in again from this tab comes back to the same conversation, which went on
        # meanwhile: every message once, the reply finished.
        link = driver.find_element("id", "sign-in-link").get_attribute("href")
        self.assertIn("return_to=%2F%3Fsession%3D" + session, link)
        self.sign_in(driver, "alice")
        self.assertEqual(self.session_id(driver), session)
        self.wait_turns_ended(driver, 1)
        history = self.fetch(driver, f"/sessions/{session}/events?limit=10000").json()["events"]
        self.assertEqual([e["status"] for e in history if e["type"] == "turn"], ["started", "completed"])
        completed = [e for e in history if e["type"] == "turn"][-1]
        self.assertGreater(epoch_ms(completed["timestamp"]), signed_out_at, "the turn had ended before the sign-out")
        self.assert_history_shown(driver, history)

        # Once more, and this time alice signs in again in the other tab: this one, shown
        # again, resumes in place from its last seq (no new page load).
        driver.execute_script("window.__samePage = true")
        self.ask(driver, f"Summarize {self.patient} once more")
        wait(driver, lambda d: len([m for m in self.messages(d) if m[0] == "assistant"]) >= 2, 15, "no second reply")
        driver.switch_to.window(second)
        self.assertEqual(self.fetch(driver, "/auth/logout", "POST").status, 200)
        driver.switch_to.window(first)
        wait(driver, lambda d: self.shown(d, "signed-out-view"), 6, "the first tab did not show the signed-out view")
        last_seen = max(int(m[2]) for m in self.messages(driver) if m[2])
        sockets_before = len(self.recorded(driver, "sockets"))
        driver.switch_to.window(second)
        driver.get(self.server.url + "/auth/login?return_to=%2Fhealth")
        sign_in(driver, "alice", "alice-password")
        wait(driver, lambda d: d.current_url == self.server.url + "/health", 10)
        driver.switch_to.window(first)
        driver.execute_script("window.dispatchEvent(new Event('focus'))")
        wait(driver, lambda d: self.shown(d, "account") and self.status(d) == "connected", 10,
             "the first tab did not resume when shown again")
        self.assertTrue(driver.execute_script("return window.__samePage === true"), "the page was loaded again")
        resumed = self.recorded(driver, "sockets")[sockets_before:]
        self.assertEqual(len(resumed), 1, resumed)
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(resumed[0]["url"]).query))
        self.assertEqual(query.get("session_id"), session)
        self.assertGreaterEqual(int(query.get("last_seq", -1)), last_seen, f"not resumed from the last seq: {resumed}")
        self.wait_turns_ended(driver, 2)
        history = self.fetch(driver, f"/sessions/{session}/events?limit=10000").json()["events"]
        self.assertEqual([e["status"] for e in history if e["type"] == "turn"], ["started", "completed"] * 2)
        self.assert_history_shown(driver, history)

    def test_5_a_second_tab_sees_a_new_conversation_appear_rename_and_go_live(self):
        bob = self.new_browser()
        self.sign_in(bob, "bob")
        driver = self.new_browser()
        self.sign_in(driver, "alice")
        first = driver.current_window_handle
        driver.switch_to.new_window("tab")
        second = driver.current_window_handle
        driver.get(self.server.url + "/")
        wait(driver, lambda d: self.status(d) == "connected", 15, "the second tab did not connect")
        wait(driver, lambda d: d.execute_script("return document.querySelector('#sessions-status').textContent !== 'Loading conversations…'"), 10)
        before = self.sidebar(driver)
        driver.switch_to.window(first)
        driver.find_element("css selector", "button.new-chat").click()
        session = self.session_id(driver)
        self.assertNotIn(session, before)
        question = f"Which medications does {self.patient} take?"
        self.ask(driver, question)
        driver.switch_to.window(second)
        wait(driver, lambda d: self.sidebar(d).get(session) == question, 10,
             f"the second tab's sidebar did not show the new conversation: {self.sidebar(driver)}")
        self.assertNotEqual(self.session_id(driver), session, "the second tab switched conversation by itself")
        self.assertEqual(self.messages(driver), [], "the new conversation's events reached another session's tab")
        # bob's page, open all along, got nothing of it: the channel is per user.
        self.assertNotIn(session, self.sidebar(bob), "alice's new conversation reached bob's sidebar")
        self.assertNotIn(question, bob.find_element("tag name", "body").text)
        # A rename in one tab shows in the other too.
        driver.switch_to.window(first)
        self.wait_turns_ended(driver, 1)
        self.assertEqual(self.fetch(driver, f"/sessions/{session}", "PATCH", {"title": "Renamed elsewhere"}).status, 200)
        driver.switch_to.window(second)
        wait(driver, lambda d: self.sidebar(d).get(session) == "Renamed elsewhere", 10,
             f"the rename did not reach the second tab: {self.sidebar(driver)}")

        # Deleted from the second tab's sidebar: the first tab, showing it, is told (4404) and
        # offers a new chat; the events go, the record of what was read stays.
        audit = self.fetch(driver, f"/sessions/{session}/audit").json()["records"]
        self.assertTrue(audit)
        driver.find_element("css selector", f"li.session-item[data-session-id='{session}'] button.session-delete").click()
        wait(driver, lambda d: d.find_element("id", "delete-dialog").get_attribute("open") is not None, 5, "no dialog")
        self.assertEqual(driver.switch_to.active_element.get_attribute("id"), "delete-cancel")
        driver.find_element("id", "delete-confirm").click()
        wait(driver, lambda d: session not in self.sidebar(d), 10, "the row stayed in the second tab")
        driver.switch_to.window(first)
        wait(driver, lambda d: self.shown(d, "session-deleted-notice"), 10, "the first tab was not told of the deletion")
        self.assertEqual(driver.find_element("id", "session-deleted-text").text, "This conversation was deleted.")
        self.assertTrue(self.shown(driver, "deleted-new-chat"))
        closes = [c for c in self.recorded(driver, "closes") if c["by"] == "server"]
        self.assertEqual((closes[-1]["code"], closes[-1]["reason"]), (4404, "session_deleted"), closes)
        self.assertEqual(self.fetch(driver, f"/sessions/{session}/events").json()["events"], [])
        self.assertEqual(self.fetch(driver, f"/sessions/{session}/audit").json()["records"], audit)
        self.assertNotIn(session, [s["id"] for s in self.fetch(driver, "/sessions").json()["sessions"]])
        self.assertEqual(self.fetch(driver, f"/sessions/{session}/export").status, 404)

    def test_6_axe_and_the_narrow_layout_signed_out_and_signed_in(self):
        self.alice_conversation()  # the sidebar has a conversation to show
        driver = self.new_browser()
        for width in (1280, 360):
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": False})
            self.open_signed_out(driver)
            self.assertEqual(self.axe_violations(driver), "", f"signed out at {width} px")
            self.assertLessEqual(self.overflow(driver), 0, f"horizontal scrolling signed out at {width} px")
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False})
        self.sign_in(driver, "alice")
        wait(driver, lambda d: self.sidebar(d), 10, "the sidebar lists nothing")
        self.assertFalse(self.shown(driver, "sidebar-toggle"), "the toggle shows on a wide screen")
        self.assertTrue(self.shown(driver, "session-list"))
        self.assertEqual(self.axe_violations(driver), "", "signed in at 1280 px")

        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 360, "height": 800, "deviceScaleFactor": 1, "mobile": False})
        toggle = wait(driver, lambda d: self.shown(d, "sidebar-toggle") and d.find_element("id", "sidebar-toggle"), 5,
                      "no Conversations toggle at 360 px")
        self.assertEqual(toggle.get_attribute("aria-expanded"), "false")
        self.assertFalse(self.shown(driver, "session-list"), "the sidebar covers the chat at 360 px")
        self.assertTrue(self.shown(driver, "composer-input"))
        self.assertLessEqual(self.overflow(driver), 0, "horizontal scrolling signed in at 360 px")
        self.assertEqual(self.axe_violations(driver), "", "signed in at 360 px, sidebar closed")
        toggle.click()
        wait(driver, lambda d: self.shown(d, "session-list"), 5, "the toggle did not open the sidebar")
        self.assertEqual(toggle.get_attribute("aria-expanded"), "true")
        self.assertLessEqual(self.overflow(driver), 0, "horizontal scrolling with the sidebar open at 360 px")
        self.assertEqual(self.axe_violations(driver), "", "signed in at 360 px, sidebar open")
        alice = self.made["alice"]
        driver.find_element("css selector", f"li.session-item[data-session-id='{alice['id']}'] a.session-link").click()
        wait(driver, lambda d: not self.shown(d, "session-list"), 5, "choosing a conversation did not close the sidebar")
        self.assertEqual(toggle.get_attribute("aria-expanded"), "false")
        self.assertEqual(driver.switch_to.active_element.get_attribute("id"), "composer-input")
        shown = len([e for e in alice["events"] if e["type"] == "user" or (e["type"] == "assistant" and not e["streaming"])])
        wait(driver, lambda d: self.session_id(d) == alice["id"] and len(self.messages(d)) == shown, 10,
             "the chosen conversation did not open")

    def test_7_sign_in_returns_only_to_a_path_on_bedside(self):
        # Targets on other hosts are loopback addresses where nothing listens: a redirect there
        # would show in the URL, and no traffic leaves the machine.
        driver = self.new_browser(record=False)
        for target in ("//127.0.0.2:9/elsewhere", "/\\127.0.0.2:9/elsewhere", "http://127.0.0.2:9/elsewhere"):
            driver.get(f"{self.server.url}/auth/login?return_to={urllib.parse.quote(target, safe='')}")
            sign_in(driver, "alice", "alice-password")
            wait(driver, lambda d: d.current_url.startswith(self.server.url + "/") or "127.0.0.2" in d.current_url, 10)
            landed = urllib.parse.urlsplit(driver.current_url)
            self.assertEqual((landed.netloc, landed.path), (f"localhost:{self.server.port}", "/"),
                             f"return_to={target!r} sent the browser to {driver.current_url}")

    @staticmethod
    def overflow(driver):
        return driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")


if __name__ == "__main__":
    unittest.main()


class SignInExpiryTests(SignInCase):
    """A sign-in left unused past --session-idle-timeout ends, and its socket with it."""

    IDLE_SECONDS = 4
    server_args = ["--session-idle-timeout", str(IDLE_SECONDS)]

    def test_an_idle_sign_in_expires_closes_the_socket_and_signing_in_again_resumes(self):
        driver = self.new_browser()
        self.sign_in(driver, "alice")
        session = self.session_id(driver)
        self.ask(driver, self.question())
        self.wait_turns_ended(driver, 1)
        history = self.fetch(driver, f"/sessions/{session}/events?limit=10000").json()["events"]
        last_use = driver.execute_script("return Date.now()")
        closes_before = len(self.recorded(driver, "closes"))
        # Unused from here on (the socket's pings are no use): the server ends the sign-in
        # after the idle timeout and closes the socket within 5 s of that.
        wait(driver, lambda d: self.shown(d, "signed-out-view"), self.IDLE_SECONDS + 8,
             "the idle sign-in did not end the page's session")
        self.assertEqual(driver.find_element("id", "signed-out-message").text, "Your sign-in expired.")
        closes = [c for c in self.recorded(driver, "closes")[closes_before:] if c["by"] == "server"]
        self.assertTrue(closes, "the server did not close the socket")
        self.assertEqual((closes[0]["code"], closes[0]["reason"]), (4401, "session_expired"), closes)
        self.assertLessEqual(closes[0]["at"] - last_use, (self.IDLE_SECONDS + 5) * 1000 + 500)
        self.assertGreaterEqual(closes[0]["at"] - last_use, self.IDLE_SECONDS * 1000 - 1500, "ended before the idle timeout")
        self.assertEqual(self.fetch(driver, "/auth/me").status, 401)
        self.sign_in(driver, "alice")
        self.assertEqual(self.session_id(driver), session)
        wait(driver, lambda d: len(self.messages(d)) == 2, 10, "the conversation did not come back")
        self.assert_history_shown(driver, history)
