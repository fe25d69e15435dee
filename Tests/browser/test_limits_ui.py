"""How the page shows the server's limits: a turn queued for a free slot, a message refused as
too many turns, a socket refused for too many connections (4429), and a reply nested too deep.

The page and its HTTP routes come from a real Bedside server; the WebSocket is a stand-in the
test speaks for (installed before the page's own scripts run), so each answer arrives exactly
when the test wants it, in the protocol's wire format."""
import json
import time

from axe_selenium_python import Axe

from support import BrowserTestCase, browser, wait

# Replaces window.WebSocket before the page loads. Each socket is kept in window.__sockets;
# the test calls serverOpen / deliver / serverClose on it. With window.__refuseAll set, every
# new socket is refused at once the way the server does it (error, then close 4429).
FAKE_WEBSOCKET = """
window.__sockets = [];
window.__refuseAll = false;
class FakeWebSocket {
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.createdAt = performance.now();
    window.__sockets.push(this);
    if (window.__refuseAll) setTimeout(() => this.refuse(), 0);
  }
  send(text) { this.sent.push(JSON.parse(text)); }
  close(code) { this.readyState = 3; this.closedWith = code; }
  serverOpen(latestSeq) {
    this.readyState = 1;
    this.onopen?.();
    this.deliver({type: "connection", session_id: this.sessionId(), status: "connected", resumed_from: null, latest_seq: latestSeq, server_version: "test"});
  }
  deliver(event) { this.onmessage?.({data: JSON.stringify(event)}); }
  serverClose(code, reason) { this.readyState = 3; this.onclose?.({code, reason, wasClean: true}); }
  refuse() {
    this.readyState = 1;
    this.deliver({type: "error", session_id: this.sessionId(), timestamp: new Date().toISOString(),
                  error: "Too many open connections from this address (at most 256).", code: "too_many_connections"});
    this.serverClose(4429, "too_many_connections");
  }
  sessionId() { return new URL(this.url).searchParams.get("session_id"); }
}
FakeWebSocket.CONNECTING = 0; FakeWebSocket.OPEN = 1; FakeWebSocket.CLOSING = 2; FakeWebSocket.CLOSED = 3;
window.WebSocket = FakeWebSocket;
"""

TURN = "7f0c2b9e-1d3a-4c5b-8e6f-0a1b2c3d4e5f"


def stamp():
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


class LimitsTests(BrowserTestCase):
    def open_fake_page(self, width=1280):
        driver = browser(width, 900)
        self.drivers.append(driver)
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": FAKE_WEBSOCKET})
        driver.get(self.server.url + "/")
        wait(driver, lambda d: d.execute_script("return window.__sockets.length") >= 1, message="the page opened no socket")
        return driver

    def connect(self, driver, latest_seq=0):
        driver.execute_script("window.__sockets.at(-1).serverOpen(arguments[0])", latest_seq)
        wait(driver, lambda d: self.status(d) == "connected", message="the page did not take the connection")

    def deliver(self, driver, event):
        session = self.session_id(driver)
        driver.execute_script("window.__sockets.at(-1).deliver(JSON.parse(arguments[0]))",
                              json.dumps({"session_id": session, "timestamp": stamp(), **event}))

    def sent(self, driver):
        return driver.execute_script("return window.__sockets.at(-1).sent")

    def sent_message(self, driver, count=1):
        wait(driver, lambda d: len([f for f in self.sent(d) if f["type"] == "message"]) >= count, message="no message frame was sent")
        return [f for f in self.sent(driver) if f["type"] == "message"][count - 1]

    def axe_violations(self, driver):
        axe = Axe(driver)
        axe.inject()
        results = axe.run()
        return [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]

    def assertNoAxeViolation(self, driver):
        violations = self.axe_violations(driver)
        self.assertEqual(violations, [], "\n".join(f"{v['id']} ({v['impact']}): {v['help']} {[n['target'] for n in v['nodes']][:5]}" for v in violations))

    def text(self, driver, selector):
        return driver.execute_script("return document.querySelector(arguments[0])?.textContent ?? null", selector)

    def stop_disabled(self, driver):
        return driver.execute_script("return document.querySelector('chat-composer button.stop').disabled")

    def test_a_queued_turn_shows_its_wait_and_stop_cancels_it(self):
        driver = self.open_fake_page()
        self.connect(driver)
        self.ask(driver, "A question while the server is full")
        frame = self.sent_message(driver)
        self.deliver(driver, {"type": "user", "seq": 1, "turn_id": TURN, "content": frame["content"], "client_message_id": frame["client_message_id"]})
        self.deliver(driver, {"type": "queued", "seq": 2, "turn_id": TURN, "position": 2})
        wait(driver, lambda d: "1 ahead" in (self.text(d, "#turn-queued-status") or ""), message="no queue status on the turn")
        self.assertIn("Waiting for a free slot", self.text(driver, "#turn-announcer"), "the wait is announced")
        self.assertTrue(self.busy(driver))
        wait(driver, lambda d: not self.stop_disabled(d), message="Stop is not usable while the turn waits")
        self.deliver(driver, {"type": "queued", "seq": 3, "turn_id": TURN, "position": 1})
        wait(driver, lambda d: "your turn is next" in (self.text(d, "#turn-queued-status") or ""))
        self.assertIn("your turn is next", self.text(driver, "#turn-announcer"))
        for width in (1280, 360):
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": False})
            self.assertNoAxeViolation(driver)
        driver.find_element("css selector", "chat-composer button.stop").click()
        wait(driver, lambda d: self.sent(d)[-1]["type"] == "cancel", message="Stop sent no cancel")
        # The turn ends without ever starting.
        self.deliver(driver, {"type": "turn", "seq": 4, "turn_id": TURN, "status": "cancelled", "reason": "cancelled_by_user", "duration_ms": 0})
        wait(driver, lambda d: self.text(d, "#turn-queued-status") is None and not self.busy(d), message="the wait did not end with the turn")
        wait(driver, lambda d: self.stop_disabled(d))
        self.assertEqual(self.text(driver, "#turn-announcer"), "Answer stopped.")
        self.ask(driver, "Next question")
        self.assertEqual(self.sent_message(driver, 2)["content"], "Next question", "Send works again")

    def test_too_many_turns_gives_the_text_back_and_says_when_to_resend(self):
        driver = self.open_fake_page()
        self.connect(driver)
        self.ask(driver, "Refused for now")
        first = self.sent_message(driver)
        self.deliver(driver, {"type": "error", "error": "Too many turns: at most 30 a minute for you.", "code": "too_many_turns", "retry_after_ms": 12000})
        wait(driver, lambda d: d.find_element("id", "composer-input").get_attribute("value") == "Refused for now", message="the text was not given back")
        notice = self.text(driver, "#chat-notice-text")
        self.assertIn("Too many turns: at most 30 a minute for you.", notice)
        self.assertIn("in 12 s", notice)
        self.assertTrue(driver.find_element("id", "chat-notice-text").is_displayed())
        self.assertEqual(driver.find_element("id", "chat-notice").get_attribute("role"), "status")
        self.assertFalse(any(m[0] == "user" for m in self.messages(driver)), "nothing shows as sent")
        self.assertNoAxeViolation(driver)
        driver.find_element("css selector", "chat-composer button.send").click()
        again = self.sent_message(driver, 2)
        self.assertEqual(again["client_message_id"], first["client_message_id"], "the resend reuses the id: never run twice")
        self.deliver(driver, {"type": "user", "seq": 1, "turn_id": TURN, "content": again["content"], "client_message_id": again["client_message_id"]})
        wait(driver, lambda d: not d.find_element("id", "chat-notice-text").is_displayed(), message="the notice stayed after the message was taken")

    def test_a_socket_refused_for_too_many_connections_is_retried_slowly(self):
        driver = self.open_fake_page()
        driver.execute_script("window.__refuseAll = true; window.__sockets.at(-1).refuse()")
        wait(driver, lambda d: d.execute_script("return document.querySelector('connection-status').dataset.reason ?? null") == "too_many_connections")
        self.assertIn("Too many open connections: retrying in", self.text(driver, "connection-status .status-text"))
        self.assertIn("Too many open connections", self.text(driver, "connection-status [role=status]"))
        self.assertNoAxeViolation(driver)
        # The first retry waits 1–2 s, the second 2–4 s (timers never fire early, so a slow
        # machine only makes the gaps longer): no hot loop.
        wait(driver, lambda d: d.execute_script("return window.__sockets.length") >= 3, 30, "the refused socket was not retried")
        driver.execute_script("window.__refuseAll = false")
        created = driver.execute_script("return window.__sockets.map(s => s.createdAt)")
        gaps = [later - earlier for earlier, later in zip(created, created[1:])]
        self.assertGreaterEqual(gaps[0], 990, gaps)
        self.assertGreaterEqual(gaps[1], 1990, gaps)
        driver.find_element("css selector", "connection-status .retry").click()
        wait(driver, lambda d: d.execute_script("return window.__sockets.at(-1).readyState") == 0)
        self.connect(driver)
        wait(driver, lambda d: d.execute_script("return document.querySelector('connection-status').dataset.reason ?? null") is None)
        self.assertEqual(self.text(driver, "connection-status .status-text"), "Connected")

    def test_a_reply_with_4000_nested_quotes_renders_and_the_chat_goes_on(self):
        driver = self.open_fake_page()
        self.connect(driver)
        deep = ">" * 4000 + " the words at the bottom"
        self.deliver(driver, {"type": "user", "seq": 1, "turn_id": TURN, "content": "quote deeply", "client_message_id": None})
        self.deliver(driver, {"type": "turn", "seq": 2, "turn_id": TURN, "status": "started"})
        self.deliver(driver, {"type": "assistant", "seq": 3, "turn_id": TURN, "content": deep, "streaming": False, "message_id": "m1"})
        self.deliver(driver, {"type": "turn", "seq": 4, "turn_id": TURN, "status": "completed", "duration_ms": 1})
        wait(driver, lambda d: "the words at the bottom" in (self.text(d, "chat-view li.message.assistant .bubble") or ""), message="the reply was not shown")
        self.assertEqual(driver.execute_script("return document.querySelectorAll('chat-view li.message.assistant blockquote').length"), 8)
        self.deliver(driver, {"type": "assistant", "seq": 5, "turn_id": TURN, "content": "and the chat goes on", "streaming": False, "message_id": "m2"})
        wait(driver, lambda d: any(m[1] == "and the chat goes on" for m in self.messages(d)), message="the view broke")
