"""Bedside's page in headless Chromium against a real server (see README: Test)."""
import time

from axe_selenium_python import Axe
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from support import BrowserTestCase, wait

RECORD_ASSISTANT_TEXT = """
window.__bedsideSeen = [];
new MutationObserver(() => {
  const last = [...document.querySelectorAll('chat-view li.message.assistant .bubble')].at(-1);
  if (last && window.__bedsideSeen.at(-1) !== last.textContent) window.__bedsideSeen.push(last.textContent);
}).observe(document.querySelector('chat-view'), {subtree: true, childList: true, characterData: true});
"""

QUESTION = "What conditions does Maria Garcia have?"


class ChatTests(BrowserTestCase):
    def test_a_question_streams_and_ends_with_telemetry(self):
        self.require_model()
        driver = self.open_page()
        driver.execute_script(RECORD_ASSISTANT_TEXT)
        self.ask(driver, QUESTION)
        self.wait_turn_ended(driver, 1)
        seen = driver.execute_script("return window.__bedsideSeen")
        # A partial reply, then the whole: a loaded machine may paint fewer frames in between.
        self.assertGreaterEqual(len(seen), 2, f"intermediate states of the reply: {seen}")
        final = self.messages(driver)[-1]
        self.assertEqual(final[0], "assistant")
        self.assertTrue(final[1].strip())
        self.assertNotEqual(seen[0], final[1], "the first state seen is only part of the reply")
        panel = driver.find_element("css selector", "telemetry-panel")
        spans = panel.find_elements("css selector", "li.span")
        kinds = [s.get_attribute("class") for s in spans]
        self.assertTrue(any("kind-tool" in k for k in kinds), kinds)
        self.assertTrue(any("kind-llm" in k for k in kinds), kinds)
        llm = panel.find_element("css selector", "li.span.kind-llm")
        self.assertRegex(llm.find_element("css selector", ".span-tokens").text, r"\d+ tokens")
        self.assertRegex(llm.find_element("css selector", ".span-duration").text, r"\d+(\.\d+)? (ms|s)")
        tool = panel.find_element("css selector", "li.span.kind-tool")
        self.assertIn("Arguments", tool.text)
        self.assertRegex(panel.find_element("css selector", ".turn-totals").text, r"\d+ tokens")
        self.assertIn("completed", panel.find_element("css selector", "li.turn .badge").text)
        self.assertEqual(driver.find_element("css selector", "chat-view ol").get_attribute("aria-busy"), "false")

    def test_markup_in_messages_is_shown_as_text(self):
        driver = self.open_page()
        payload = 'look <script>window.__bedsideXSS = 1</script> <img src=x onerror="window.__bedsideXSS = 2"> [x](javascript:window.__bedsideXSS=3)'
        self.ask(driver, payload)
        wait(driver, lambda d: any(m[0] == "user" and m[2] for m in self.messages(d)))
        self.wait_turn_ended(driver, 1)
        user = [m for m in self.messages(driver) if m[0] == "user"][-1]
        self.assertEqual(user[1], payload)
        self.assertEqual(len(driver.find_elements("css selector", "chat-view script, chat-view img, chat-view a[href^=javascript]")), 0)
        if self.model is not None and self.fake:
            self.ask(driver, "Show me markup")
            self.wait_turn_ended(driver, 2)
            reply = self.messages(driver)[-1]
            self.assertIn("<script>", reply[1])
            self.assertIn("<img src=x onerror=", reply[1])
            self.assertEqual(len(driver.find_elements("css selector", "chat-view script, chat-view img")), 0)
        # The reply path: the page's own Markdown renderer, over the same text, makes no element of it.
        rendered = driver.execute_async_script(
            "const done = arguments[1]; import('/lib/markdown.js').then(m => {"
            " const box = document.createElement('div'); box.innerHTML = m.renderMarkdown(arguments[0]).toString();"
            " done([box.querySelectorAll('script, img, a').length, box.textContent]); });", payload)
        self.assertEqual(rendered[0], 0)
        self.assertIn("<script>", rendered[1])
        time.sleep(0.3)
        self.assertIsNone(driver.execute_script("return window.__bedsideXSS ?? null"), "a script ran")

    def test_two_windows_on_one_session_stay_in_step(self):
        first = self.open_page()
        session = self.session_id(first)
        second = self.open_page(session)
        self.ask(first, "First question from window one")
        self.wait_turn_ended(first, 1)
        self.wait_turn_ended(second, 1)
        self.ask(second, "Second question from window two")
        self.wait_turn_ended(second, 2)
        self.wait_turn_ended(first, 2)
        wait(first, lambda d: self.messages(d) == self.messages(second), message="the windows differ")
        one = self.messages(first)
        self.assertEqual([m[1] for m in one if m[0] == "user"], ["First question from window one", "Second question from window two"])
        self.assertEqual(len({m[2] for m in one}), len(one), "every event shown once")

    def test_reload_restores_the_conversation_and_new_chat_starts_another(self):
        driver = self.open_page()
        session = self.session_id(driver)
        self.assertIn(f"session={session}", driver.current_url)
        self.ask(driver, "Remember this question")
        self.wait_turn_ended(driver, 1)
        before = self.messages(driver)
        driver.refresh()
        wait(driver, lambda d: self.status(d) == "connected")
        wait(driver, lambda d: self.messages(d) == before, message="reload did not restore the conversation")
        self.assertEqual(self.session_id(driver), session)
        driver.find_element("css selector", "button.new-chat").click()
        wait(driver, lambda d: self.session_id(d) != session and self.messages(d) == [])
        self.assertIn(f"session={self.session_id(driver)}", driver.current_url)

    def test_a_server_killed_mid_turn_loses_and_doubles_nothing(self):
        self.require_model()
        driver = self.open_page()
        session = self.session_id(driver)
        driver.execute_script(
            "window.__bedsideStates = [];"
            "new MutationObserver(() => { const s = document.querySelector('connection-status').dataset.state;"
            " if (window.__bedsideStates.at(-1) !== s) window.__bedsideStates.push(s); })"
            ".observe(document.querySelector('connection-status'), {attributes: true});")
        self.ask(driver, QUESTION)
        wait(driver, lambda d: any(m[0] == "assistant" for m in self.messages(d)) or not self.busy(d), 30)
        self.server.kill()
        wait(driver, lambda d: self.status(d) == "reconnecting", 10, "no reconnecting state")
        time.sleep(1.0)
        self.server.start()
        wait(driver, lambda d: self.status(d) == "connected", 40, "never connected again")
        wait(driver, lambda d: not self.busy(d), 30)
        history = self.server.history(session)
        shown = self.messages(driver)
        seqs = [m[2] for m in shown]
        self.assertEqual(len(seqs), len(set(seqs)), f"doubled: {shown}")
        expected = [e for e in history if e["type"] in ("user", "error") or (e["type"] == "assistant" and not e["streaming"])]
        streamed_only = {e["message_id"] for e in history if e["type"] == "assistant"} - {
            e["message_id"] for e in history if e["type"] == "assistant" and not e["streaming"]}
        self.assertEqual(len(shown), len(expected) + len(streamed_only), f"shown {shown}\nhistory {history}")
        self.assertEqual([m[1] for m in shown if m[0] == "user"], [QUESTION])
        states = driver.execute_script("return window.__bedsideStates")
        self.assertIn("reconnecting", states)
        self.assertEqual(states[-1], "connected")
        last_turn = [e for e in history if e["type"] == "turn"][-1]
        self.assertIn(last_turn["status"], ("completed", "failed"))


class AccessibilityTests(BrowserTestCase):
    def axe_violations(self, driver):
        axe = Axe(driver)
        axe.inject()
        results = axe.run()
        return [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]

    def test_axe_finds_no_serious_or_critical_violation(self):
        for width, scheme in ((1280, "light"), (360, "dark")):
            driver = self.open_page(width=width, height=800)
            driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
            self.ask(driver, "Accessibility check question with a `code` part")
            self.wait_turn_ended(driver, 1)
            for details in driver.find_elements("css selector", "telemetry-panel details"):
                driver.execute_script("arguments[0].open = true", details)
            violations = self.axe_violations(driver)
            self.assertEqual(violations, [], "\n".join(f"{v['id']} ({v['impact']}): {v['help']} {[n['target'] for n in v['nodes']][:5]}" for v in violations))
            overflow = driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
            self.assertLessEqual(overflow, 0, f"horizontal scrolling at {width} px")

    def test_keyboard_alone_sends_a_message_and_stops_a_turn(self):
        driver = self.open_page()
        body = driver.find_element("tag name", "body")
        body.click()
        actions = ActionChains(driver)
        # Tab from the top of the page to the message box; the skip link comes first.
        for _ in range(12):
            actions.send_keys(Keys.TAB).perform()
            if driver.switch_to.active_element.get_attribute("id") == "composer-input":
                break
        self.assertEqual(driver.switch_to.active_element.get_attribute("id"), "composer-input")
        ActionChains(driver).send_keys("Typed with the keyboard").key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT) \
            .send_keys("second line").perform()
        self.assertEqual(driver.find_element("id", "composer-input").get_attribute("value"), "Typed with the keyboard\nsecond line")
        ActionChains(driver).send_keys(Keys.ENTER).perform()
        wait(driver, lambda d: any(m[0] == "user" and m[1] == "Typed with the keyboard\nsecond line" for m in self.messages(d)))
        self.wait_turn_ended(driver, 1)
        if self.model is None:
            self.skipTest("sending works; stopping a turn needs a model that answers (the server reports \"model\": null)")
        # A summary is the offline model's longest answer; Stop is usable as soon as the message is
        # on its way, and Tab from the box reaches it past Send.
        patient = self.server.example_patient()
        question = f"Summarize {patient}" if patient else QUESTION
        ActionChains(driver).send_keys(question).send_keys(Keys.ENTER).perform()
        # The page renders once per animation frame: keys sent before that frame would find Stop
        # still disabled and skip it.
        wait(driver, lambda d: d.execute_script("return document.querySelector('button.stop')?.disabled === false"))
        ActionChains(driver).send_keys(Keys.TAB, Keys.TAB).perform()
        self.assertIn("stop", driver.switch_to.active_element.get_attribute("class"))
        ActionChains(driver).send_keys(Keys.ENTER).perform()
        self.wait_turn_ended(driver, 2)
        badge = driver.find_elements("css selector", "telemetry-panel li.turn .badge")[-1].text
        self.assertIn("cancelled", badge)
